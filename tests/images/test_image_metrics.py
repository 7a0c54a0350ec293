"""The image fidelity metrics on constructed sets: Fréchet distance (against scipy's) and
k-NN precision/recall."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from synthgen.errors import DataError
from synthgen.images.evaluate.metrics import frechet_distance, precision_recall


def _scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1 + s2 - 2 * covmean))


def test_frechet_distance_zero_for_itself_and_grows_with_shift_and_noise():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 16))
    b = rng.normal(size=(400, 16))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    # a pure mean shift of 0.5 in 16 dims adds exactly 16 * 0.25 = 4
    assert frechet_distance(a, a + 0.5) == pytest.approx(4.0, rel=1e-6)
    same = frechet_distance(a, b)
    noisy = frechet_distance(a, b * 1.5 + rng.normal(size=b.shape))
    assert 0 < same < noisy
    assert same == pytest.approx(_scipy_frechet(a, b), rel=1e-6)
    # fewer samples than dimensions: singular covariances stay finite and non-negative
    small = frechet_distance(a[:5], b[:7])
    assert np.isfinite(small) and small >= 0
    with pytest.raises(DataError, match="at least 2 samples"):
        frechet_distance(a[:1], b)


def test_precision_recall_on_constructed_sets():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(600, 4))
    same = precision_recall(real, rng.normal(size=(600, 4)))
    assert same["precision"] > 0.8 and same["recall"] > 0.8 and same["k"] == 3
    far = precision_recall(real, rng.normal(size=(600, 4)) + 20)
    assert far["precision"] == 0.0 and far["recall"] == 0.0
    # mode collapse: synthetic samples all near one real point -> precise, no recall
    collapsed = real[0] + 0.01 * rng.normal(size=(600, 4))
    pr = precision_recall(real, collapsed)
    assert pr["precision"] > 0.9 and pr["recall"] < 0.1
    capped = precision_recall(real, real, max_samples=100)
    assert capped["n_real"] == capped["n_fake"] == 100
    with pytest.raises(DataError, match="more than 3 samples"):
        precision_recall(real[:3], real)
