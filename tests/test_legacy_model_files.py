"""Model files written by synthgen 0.1.0 (commit 6b994ca, before the one-house refactor) still
load, and give what they gave then: the same rows, images and scores for the same seed.

The files and their expected outputs are in tests/fixtures/legacy (made by make_legacy.py.txt
there, with that commit's code).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from synthgen.images.anomaly.detector import ImageAnomalyDetector
from synthgen.images.io.read import read_images
from synthgen.images.synthesizer import ImageSynthesizer
from synthgen.schema import load_schema
from synthgen.tabular.anomaly import AnomalyDetector
from synthgen.tabular.io.read import read_table
from synthgen.tabular.synthesizer import TabularSynthesizer

LEGACY = Path(__file__).resolve().parent / "fixtures" / "legacy"
EXPECTED = json.loads((LEGACY / "expected.json").read_text())


@pytest.mark.parametrize("kind", ["vae", "cgan"])
def test_table_generators_give_the_same_rows(kind):
    want = EXPECTED[f"table-{kind}"]
    synth = TabularSynthesizer.load(LEGACY / f"table-{kind}.synth", device="cpu")
    rows = synth.sample(want["rows"], want["conditions"], seed=want["seed"])
    buf = io.StringIO()
    rows.to_csv(buf, index=False)
    assert buf.getvalue() == (LEGACY / want["csv"]).read_text()


@pytest.mark.parametrize("kind", ["cgan", "vae"])
def test_image_generators_give_the_same_images(kind):
    want = EXPECTED[f"image-{kind}"]
    synth = ImageSynthesizer.load(LEGACY / f"image-{kind}.synth", device="cpu")
    out = synth.sample(want["rows"], want["conditions"], seed=want["seed"])
    digest = hashlib.sha256(np.ascontiguousarray(out.images).tobytes()).hexdigest()
    assert digest == want["sha256"]
    assert out.labels.tolist() == want["labels"]


def test_table_detector_gives_the_same_scores():
    schema = load_schema(LEGACY / "table.yaml")
    det = AnomalyDetector.load(LEGACY / "anomaly-table.synth", device="cpu")
    scores = det.score_samples(read_table(LEGACY / "table.csv", schema, strict_values=False))
    np.testing.assert_allclose(scores, EXPECTED["anomaly-table"]["scores"], rtol=1e-6)


def test_image_detector_gives_the_same_scores():
    schema = load_schema(LEGACY / "images.yaml")
    det = ImageAnomalyDetector.load(LEGACY / "anomaly-image.synth", device="cpu", progress=False)
    scores = det.score_samples(read_images(LEGACY / "images.npz", schema))
    np.testing.assert_allclose(scores, EXPECTED["anomaly-image"]["scores"], rtol=1e-6)
