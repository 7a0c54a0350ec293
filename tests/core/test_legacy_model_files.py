"""Model files written by synthgen 0.1.0 (commit 6b994ca, before the one-house refactor) still
load, and give what they gave then: the same rows, images and scores for the same seed.

The files and their expected outputs are in tests/fixtures/legacy (made by make_legacy.py.txt
there, with that commit's code). Table rows are compared exactly, numbers to 1e-6: the
expectations hold for both decoding paths (bfloat16 on CPUs that have it, float32 elsewhere),
and float32 matrix products may round their last bits differently on other CPUs.

Since block-seeded generation, a seed's rows come from per-block streams
(synthgen.core.blocks), not from 0.1.0's one stream; the files are checked on that one stream
(the seed fed straight to torch's and numpy's generators, as 0.1.0 did), through the same
drawing, decoding and fresh-id code that block-seeded generation uses.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from synthgen.images.anomaly.detector import ImageAnomalyDetector
from synthgen.images.io import read_images
from synthgen.images.synthesizer import ImageSynthesizer
from synthgen.schema import load_schema
from synthgen.tabular.anomaly.detector import AnomalyDetector
from synthgen.tabular.io import read_table
from synthgen.tabular.models import cgan as cgan_module
from synthgen.tabular.models import vae as vae_module
from synthgen.tabular.models.layout import cpu_bf16
from synthgen.tabular.sampler import Sampler
from synthgen.tabular.synthesizer import TabularSynthesizer

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
EXPECTED = json.loads((LEGACY / "expected.json").read_text())


@pytest.mark.parametrize("bf16", [True, False], ids=["native", "float32"])
@pytest.mark.parametrize("kind", ["vae", "cgan"])
def test_table_generators_give_the_same_rows(kind, bf16, monkeypatch):
    if bf16 and not cpu_bf16():
        pytest.skip("this CPU has no bfloat16 matrix products")
    if not bf16:  # the path of CPUs without bfloat16
        for module in (vae_module, cgan_module):
            monkeypatch.setattr(module, "cpu_bf16", lambda: False)
    want = EXPECTED[f"table-{kind}"]
    synth = TabularSynthesizer.load(LEGACY / f"table-{kind}.synth", device="cpu")
    assert synth.kind_.file_kind == f"table-{kind}"
    sampler = Sampler(synth, want["conditions"], seed=want["seed"])
    assert not sampler.needs_filter  # 0.1.0 drew these rows in one draw
    stream = np.random.default_rng(want["seed"]), torch.Generator().manual_seed(want["seed"])
    rows = sampler._add_fresh_columns(sampler._clip(sampler._draw(want["rows"], *stream)), 0)
    buf = io.StringIO()
    rows.to_csv(buf, index=False)
    got = pd.read_csv(io.StringIO(buf.getvalue()), keep_default_na=False)
    expected = want["csv"] if bf16 else want["csv_fp32"]
    ref = pd.read_csv(LEGACY / expected, keep_default_na=False)
    pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-6)


@pytest.mark.parametrize("kind", ["cgan", "vae"])
def test_image_generators_give_the_same_images(kind):
    want = EXPECTED[f"image-{kind}"]
    synth = ImageSynthesizer.load(LEGACY / f"image-{kind}.synth", device="cpu")
    out = _legacy_stream_images(synth, want["rows"], want["conditions"], want["seed"])
    ref = np.load(LEGACY / f"image-{kind}.expected.npy")
    diff = np.abs(out.images.astype(int) - ref.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01  # rounding of the last bits only
    assert out.labels.tolist() == want["labels"]


def test_table_detector_gives_the_same_scores():
    schema = load_schema(LEGACY / "table.yaml")
    det = AnomalyDetector.load(LEGACY / "anomaly-table.synth", device="cpu")
    assert det.kind_.file_kind == "table-autoencoder"  # "anomaly-table" in 0.1.0
    scores = det.score_samples(read_table(LEGACY / "table.csv", schema, strict_values=False))
    np.testing.assert_allclose(scores, EXPECTED["anomaly-table"]["scores"], rtol=1e-5)


def test_image_detector_gives_the_same_scores():
    schema = load_schema(LEGACY / "images.yaml")
    det = ImageAnomalyDetector.load(LEGACY / "anomaly-image.synth", device="cpu", progress=False)
    assert det.kind_.file_kind == "image-autoencoder"  # "anomaly-image" in 0.1.0
    scores = det.score_samples(read_images(LEGACY / "images.npz", schema))
    np.testing.assert_allclose(scores, EXPECTED["anomaly-image"]["scores"], rtol=1e-5)


def _legacy_stream_images(synth, n, conditions, seed):
    """0.1.0's one stream: the seed straight into torch's generator, labels then noise."""
    from synthgen.images.data import ImageSet

    gen = torch.Generator().manual_seed(seed)
    fixed = synth._fixed_label(conditions)
    if fixed is not None:
        codes = torch.full((n,), fixed, dtype=torch.int64)
    else:
        probs = torch.as_tensor(synth.label_counts_, dtype=torch.float64)
        codes = torch.multinomial(probs, n, replacement=True, generator=gen)
    synth.model_.train(False)
    return ImageSet.from_tensor(synth.model_.sample(codes, gen), codes.numpy())
