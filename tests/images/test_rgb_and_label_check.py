"""RGB on real photographs (patches of the two images scikit-learn ships, as a class-per-folder
PNG tree, the benchmark's set at a tiny size) through schema inference, fit, generate and read
back for every image kind; and the ``fvae`` label check: its samples read as their label by its
checker more often than the unchecked draws of the same model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from synthgen.core.kinds import kinds
from synthgen.images.data import ImageSet
from synthgen.images.infer import infer_image_schema
from synthgen.images.io import read_images
from synthgen.images.synthesizer import ImageSynthesizer
from synthgen.jobs.generate import generate_to_file
from synthgen.schema import parse_schema

IMAGE_KINDS = [k.name for k in kinds("image", "generator")]
ROOT = Path(__file__).resolve().parents[2]


def _rgb_patches():
    spec = importlib.util.spec_from_file_location("rgb_patches", ROOT / "benchmarks/rgb_patches.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rgb_folder(tmp_path_factory):
    mod = _rgb_patches()
    (images, labels), _, names = mod.sample_patches(size=8, stride=8, per_class=30)
    root = mod.write_folders(images, labels, names, tmp_path_factory.mktemp("rgb") / "train")
    return root, images, labels, names


def test_rgb_patches_are_real_photographs_split_without_overlap():
    (tr, tr_y), (te, te_y), names = _rgb_patches().sample_patches(size=16, stride=16)
    assert names == ["china", "flower"] and tr.shape[1:] == (16, 16, 3) and tr.dtype == np.uint8
    assert np.bincount(tr_y).tolist() == [780, 780] and np.bincount(te_y).tolist() == [260, 260]
    assert tr.std() > 20  # real photographs, not flat fixtures
    assert tr.reshape(len(tr), -1, 3).std(1).mean() > 5
    # the photographs differ in colour: mean red/blue separates the labels well
    rb = tr.reshape(len(tr), -1, 3).mean(1)
    assert abs(rb[tr_y == 0].mean(0) - rb[tr_y == 1].mean(0)).max() > 10


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_rgb_folder_fits_and_generates_every_kind(kind, rgb_folder, tmp_path):
    root, images, labels, names = rgb_folder
    schema = infer_image_schema(root, name="rgb")
    assert (schema.image.height, schema.image.width, schema.image.channels) == (8, 8, 3)
    assert [str(v) for v in schema.label.values] == names
    data = read_images(root, schema)
    # the folder reader gives back the patches exactly (PNG is lossless), label by folder
    order = np.lexsort(data.images.reshape(len(data), -1).T[::-1])
    ref = np.lexsort(images.reshape(len(images), -1).T[::-1])
    np.testing.assert_array_equal(data.images[order], images[ref])
    np.testing.assert_array_equal(data.labels[order], labels[ref])
    synth = ImageSynthesizer(kind, epochs=1, seed=0, device="cpu", progress=False)
    model = synth.fit(data, schema).save(tmp_path / "m.synth")
    out = tmp_path / "flowers"
    generate_to_file(model, 12, out, fmt="png", conditions={"label": "flower"}, progress=False)
    back = read_images(out, schema)
    assert back.images.shape == (12, 8, 8, 3) and (back.labels == 1).all()
    assert back.images.std() > 0


@pytest.fixture(scope="module")
def checked():
    d = load_digits()
    data = ImageSet((d.images * 15).astype(np.uint8)[..., None], d.target.astype(np.int64))
    schema = parse_schema(
        {
            "name": "digits",
            "kind": "image",
            "image": {"height": 8, "width": 8, "channels": 1},
            "source": {"format": "npz"},
            "label": {"name": "digit", "values": list(range(10))},
        }
    )
    return ImageSynthesizer("fvae", epochs=6, seed=0, device="cpu", progress=False).fit(
        data, schema
    )


def test_label_check_redraws_what_its_checker_does_not_read_as_the_label(checked):
    model = checked.model_
    labels = torch.arange(10).repeat(40)
    gen = torch.Generator().manual_seed(3)
    default = model.config.accept
    accept = model.config.accept = 0.9  # a bar this tiny model's checker reaches often
    try:
        checked_p = model.label_probability(model.sample(labels, gen), labels)
        model.config.accept = 0.0  # the same model without the check
        raw_p = model.label_probability(model.sample(labels, gen), labels)
    finally:
        model.config.accept = default
    assert (checked_p >= accept).float().mean() > (raw_p >= accept).float().mean() + 0.05
    assert checked_p.mean() > raw_p.mean()
    # the checker learnt the real digits (it trains on the same batches as the VAE)
    d = load_digits()
    real = torch.from_numpy(d.images * 15 / 127.5 - 1).float()[:, None]
    real_p = model.label_probability(real, torch.from_numpy(d.target))
    assert (real_p > 0.5).float().mean() > 0.8
