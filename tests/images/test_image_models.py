"""Image models on a tiny set (scikit-learn's 8x8 digits): exact counts and labels, refusals,
determinism, save/load, unlabelled sets, resume, and network shapes for odd image sizes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from synthgen.errors import DataError, UsageError
from synthgen.images.data import ImageSet
from synthgen.images.nets import ImageDecoder, ImageEncoder, ProjectionDiscriminator, plan
from synthgen.images.synthesizer import ImageSynthesizer

KINDS = ("cgan", "vae", "fvae")


@pytest.fixture(scope="module")
def small(digits) -> ImageSet:
    return digits.subset(np.arange(400))


@pytest.fixture(scope="module", params=KINDS)
def fitted(request, digits, digits_schema) -> ImageSynthesizer:
    synth = ImageSynthesizer(request.param, epochs=2, seed=0, device="cpu", progress=False)
    return synth.fit(digits, digits_schema())


def test_exact_counts_and_conditioned_labels(fitted):
    out = fitted.sample(137, seed=1)
    assert out.images.shape == (137, 8, 8, 1) and out.images.dtype == np.uint8
    assert out.labels is not None and len(out.labels) == 137
    chunks = list(fitted.iter_sample(53, {"digit": 7}, seed=2, chunk_rows=20))
    assert [len(c) for c in chunks] == [20, 20, 13]
    assert all((c.labels == 7).all() for c in chunks)
    assert fitted.sample(0).images.shape == (0, 8, 8, 1)


def test_unconditioned_labels_follow_training_frequencies(fitted, digits):
    out = fitted.sample(3000, seed=3)
    freq = np.bincount(out.labels, minlength=10) / 3000
    real = np.bincount(digits.labels, minlength=10) / len(digits)
    assert np.abs(freq - real).max() < 0.03


def test_unknown_label_refused_with_known_values(fitted):
    with pytest.raises(UsageError, match=r"Known values: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9"):
        fitted.sample(5, {"digit": 12})
    with pytest.raises(UsageError, match="only on the label 'digit'"):
        fitted.sample(5, {"colour": "red"})
    with pytest.raises(UsageError, match="one label only"):
        fitted.sample(5, {"digit": 1, "other": 2})


def test_save_load_samples_equal(fitted, tmp_path):
    before = fitted.sample(40, {"digit": 3}, seed=5)
    path = fitted.save(tmp_path / "m.synth")
    loaded = ImageSynthesizer.load(path, device="cpu")
    after = loaded.sample(40, {"digit": 3}, seed=5)
    np.testing.assert_array_equal(before.images, after.images)
    np.testing.assert_array_equal(before.labels, after.labels)
    assert loaded.schema_ == fitted.schema_
    assert loaded.training_["epochs_run"] == 2


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_identical_model_file_other_seed_differs(kind, small, digits_schema, tmp_path):
    files, samples = [], []
    for name, seed in (("a", 4), ("b", 4), ("c", 5)):
        synth = ImageSynthesizer(kind, epochs=1, seed=seed, device="cpu", progress=False)
        synth.fit(small, digits_schema())
        files.append(synth.save(tmp_path / f"{name}.synth").read_bytes())
        samples.append(synth.sample(30).images)
    assert files[0] == files[1]
    np.testing.assert_array_equal(samples[0], samples[1])
    assert files[0] != files[2]
    assert not np.array_equal(samples[0], samples[2])


@pytest.mark.parametrize("kind", KINDS)
def test_unlabelled_schema(kind, small, digits_schema):
    unlabelled = ImageSet(small.images)
    synth = ImageSynthesizer(kind, epochs=1, device="cpu", progress=False)
    synth.fit(unlabelled, digits_schema(labelled=False))
    out = synth.sample(21, seed=0)
    assert out.labels is None and out.images.shape == (21, 8, 8, 1)
    with pytest.raises(UsageError, match="has no label"):
        synth.sample(3, {"digit": 1})


def test_bad_inputs_refused(small, digits_schema):
    with pytest.raises(DataError, match="declares 8x8"):
        ImageSynthesizer("vae", epochs=1, progress=False).fit(
            ImageSet(np.zeros((20, 9, 8, 1), np.uint8)), digits_schema()
        )
    with pytest.raises(DataError, match="have no labels"):
        unlabelled = ImageSet(small.images)
        ImageSynthesizer("vae", epochs=1, progress=False).fit(unlabelled, digits_schema())
    with pytest.raises(UsageError, match="Unknown image generator kind 'tvae'"):
        ImageSynthesizer("tvae").fit(small, digits_schema())
    with pytest.raises(UsageError, match="epochs must be at least 1"):
        ImageSynthesizer("cgan", epochs=0).check_params()
    with pytest.raises(UsageError, match="not fitted"):
        ImageSynthesizer("cgan").sample(3)


def test_device_cuda_without_gpu_refused(small, digits_schema):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(UsageError, match="no CUDA GPU"):
        synth = ImageSynthesizer("cgan", epochs=1, device="cuda", progress=False)
        synth.fit(small, digits_schema())


def test_default_epochs_follow_data_size():
    synth = ImageSynthesizer("cgan")
    big, tiny = synth.train_config(8000), synth.train_config(40)
    assert big.epochs < tiny.epochs
    assert tiny.batch_size <= 40


def test_resume_continues_to_same_model(small, digits_schema, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    straight = ImageSynthesizer("cgan", epochs=4, batch_size=50, progress=False, device="cpu")
    straight.fit(small, digits_schema())
    first = ImageSynthesizer("cgan", epochs=4, batch_size=50, progress=False, device="cpu")
    cfg = dataclasses.replace(first.train_config(len(small)), epochs=2)
    first.train_config = lambda n_images=None: cfg  # stop after 2 epochs, as if killed
    first.fit(small, digits_schema(), checkpoint=ckpt)
    assert ckpt.exists()
    resumed = ImageSynthesizer("cgan", epochs=4, batch_size=50, progress=False, device="cpu")
    resumed.fit(small, digits_schema(), checkpoint=ckpt, resume=True)
    assert resumed.training_["epochs_run"] == 4
    np.testing.assert_array_equal(straight.sample(20).images, resumed.sample(20).images)


@pytest.mark.parametrize("shape", [(28, 28, 1), (8, 8, 1), (32, 32, 3), (30, 22, 3), (5, 7, 1)])
def test_networks_handle_any_size(shape):
    h, w, c = shape
    stages, base_h, base_w = plan(h, w)
    assert base_h * 2**stages >= h and base_w * 2**stages >= w
    y = torch.tensor([0, 2, 1])
    x = ImageDecoder(8, 3, shape, 8, 32, 4)(torch.randn(3, 8), y)
    assert x.shape == (3, c, h, w) and x.abs().max() <= 1
    assert ProjectionDiscriminator(3, shape, 8, 32)(x, y).shape == (3,)
    mu, logvar = ImageEncoder(3, shape, 8, 32, 6)(x, y)
    assert mu.shape == logvar.shape == (3, 6)
