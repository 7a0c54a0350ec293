"""Distribution metrics on image feature vectors: Fréchet distance and k-NN precision/recall.

* ``frechet_distance(a, b)``: ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` between
  Gaussians fitted to two feature sets (the FID formula of Heusel et al. 2017). With any
  factors ``S_a = X'X`` and ``S_b = Y'Y``, ``tr((S_a S_b)^(1/2))`` is the sum of the singular
  values of ``X Y'``; ``X`` is the centred sample matrix when there are fewer samples than
  dimensions, else the symmetric square root of ``S_a`` (an eigen-decomposition). No complex
  ``sqrtm`` round-off, exact for singular covariances, and cheap for small sets.
* ``precision_recall(real, fake, k=3)``: improved precision and recall (Kynkäänniemi et al.
  2019). Each sample's k-NN radius within its own set spans a ball; precision is the share of
  fake samples inside at least one real ball, recall the share of real samples inside at least
  one fake ball. Each set is subsampled to ``max_samples`` for speed.
"""

from __future__ import annotations

import numpy as np
import torch

from synthgen.errors import DataError


def _as_features(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise DataError(f"{what} features must be a 2-D array (samples, dims), got {x.shape}.")
    if len(x) < 2:
        raise DataError(f"{what} needs at least 2 samples for a Fréchet distance, got {len(x)}.")
    if not np.isfinite(x).all():
        raise DataError(f"{what} features contain NaN or infinite values.")
    return x


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    vals, vecs = (t.numpy() for t in torch.linalg.eigh(torch.from_numpy((m + m.T) / 2)))
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def gaussian_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of a feature set."""
    x = _as_features(x, "The feature set")
    return x.mean(0), np.cov(x, rowvar=False)


def frechet_from_stats(
    mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """Fréchet distance between two Gaussians (means and covariances)."""
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    root_a = _sqrt_psd(cov_a)
    inner = torch.from_numpy(root_a @ cov_b @ root_a)
    cross = np.sqrt(np.clip(torch.linalg.eigvalsh((inner + inner.T) / 2).numpy(), 0, None)).sum()
    diff = mu_a - mu_b
    value = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)
    return max(value, 0.0)


def _cov_factor(x: np.ndarray) -> np.ndarray:
    """A matrix ``F`` with ``F' F`` = the sample covariance of ``x`` (the smaller of two)."""
    n, d = x.shape
    centred = x - x.mean(0)
    if n - 1 <= d:
        return centred / np.sqrt(n - 1)
    return _sqrt_psd(centred.T @ centred / (n - 1))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a`` and ``b`` (N, D)."""
    a, b = _as_features(a, "The first set"), _as_features(b, "The second set")
    if a.shape[1] != b.shape[1]:
        raise DataError(f"Feature sets differ in width: {a.shape[1]} vs {b.shape[1]}.")
    fa, fb = _cov_factor(a), _cov_factor(b)
    # torch's LAPACK follows torch.set_num_threads (numpy's BLAS may oversubscribe the CPU)
    cross = float(torch.linalg.svdvals(torch.from_numpy(fa @ fb.T)).sum())
    diff = a.mean(0) - b.mean(0)
    value = float(diff @ diff + np.sum(fa * fa) + np.sum(fb * fb) - 2 * cross)
    return max(value, 0.0)


def _kth_radius(x: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row."""
    out = []
    for start in range(0, len(x), chunk):
        d = torch.cdist(x[start : start + chunk], x)
        out.append(d.kthvalue(k + 1, dim=1).values)  # +1: the row itself at distance 0
    return torch.cat(out)


def _covered(query: torch.Tensor, ref: torch.Tensor, radii: torch.Tensor, chunk: int) -> float:
    """Share of ``query`` rows inside at least one ball (ref row, its radius)."""
    hits = 0
    for start in range(0, len(query), chunk):
        d = torch.cdist(query[start : start + chunk], ref)
        hits += int((d <= radii[None, :]).any(dim=1).sum())
    return hits / len(query)


def precision_recall(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    k: int = 3,
    max_samples: int = 5000,
    seed: int = 0,
    chunk: int = 1024,
) -> dict[str, float | int]:
    """Improved precision/recall of ``fake`` against ``real`` features (Kynkäänniemi 2019).

    Returns ``{"precision", "recall", "k", "n_real", "n_fake"}`` (sizes after subsampling).
    """
    real = np.asarray(real, dtype=np.float32)
    fake = np.asarray(fake, dtype=np.float32)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise DataError(
            f"Precision/recall needs two 2-D feature sets of equal width, got {real.shape} "
            f"and {fake.shape}."
        )
    if k < 1:
        raise DataError(f"Precision/recall needs k >= 1, got {k}.")
    if min(len(real), len(fake)) <= k:
        raise DataError(
            f"Precision/recall with k={k} needs more than {k} samples per set, got "
            f"{len(real)} real and {len(fake)} synthetic."
        )
    rng = np.random.default_rng(seed)
    if len(real) > max_samples:
        real = real[np.sort(rng.choice(len(real), max_samples, replace=False))]
    if len(fake) > max_samples:
        fake = fake[np.sort(rng.choice(len(fake), max_samples, replace=False))]
    r, f = torch.from_numpy(real), torch.from_numpy(fake)
    r_radius, f_radius = _kth_radius(r, k, chunk), _kth_radius(f, k, chunk)
    return {
        "precision": _covered(f, r, r_radius, chunk),
        "recall": _covered(r, f, f_radius, chunk),
        "k": k,
        "n_real": len(real),
        "n_fake": len(fake),
    }
