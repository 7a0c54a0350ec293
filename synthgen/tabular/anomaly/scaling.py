"""Numeric value scalings for the detector: robust z-scores and quantile-normal scores.

``quantile`` (the neighbour signal's space): each value is mapped to the normal score of its
mid-rank in the fitting data (ties share one score, so a discrete column keeps one value per
level), by linear interpolation between at most :data:`MAX_KNOTS` knots. Beyond the fitted
range the map goes on linearly with the slope of the column's own tail (the secant from the
quartile to the extreme knot), so an out-of-range value still scores by how far out it is, and
a heavy-tailed column does not turn a value just past its maximum into a huge error. ``robust``
(the autoencoder's): ``(x - median) / (IQR / 1.349)`` (mean and standard deviation when the IQR
is 0).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

MAX_KNOTS = 257


def centre_scale(x: np.ndarray, scaling: str) -> tuple[float, float]:
    """Centre and scale of non-missing values ``x`` for robust/standard z-scores."""
    if len(x) == 0:
        return 0.0, 1.0
    c, s = float(np.mean(x)), float(np.std(x))
    if scaling in ("robust", "quantile"):
        q1, med, q3 = np.percentile(x, [25, 50, 75])
        if q3 - q1 > 1e-12 * max(1.0, abs(med)):
            c, s = float(med), float((q3 - q1) / 1.349)
    if not np.isfinite(s) or s <= 1e-12 * max(1.0, abs(c)):
        s = 1.0
    return c, s


def _tail_slope(x_edge: float, z_edge: float, x_q: float, z_q: float, scale: float) -> float:
    """Normal-score units per raw unit beyond the fitted range (the tail's own secant)."""
    if abs(x_edge - x_q) > 1e-12 * max(1.0, abs(x_edge)):
        return abs(z_edge - z_q) / abs(x_edge - x_q)
    return 1.0 / scale


def fit_quantile(x: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Knots (raw values), their normal scores, and the (low, high) tail slopes."""
    v = np.sort(np.asarray(x, dtype=np.float64))
    n = len(v)
    if n == 0:
        return np.zeros(1), np.zeros(1), np.full(2, 1.0 / scale)
    uniq = np.unique(v)
    knots = (
        uniq if len(uniq) <= MAX_KNOTS else np.unique(np.quantile(v, np.linspace(0, 1, MAX_KNOTS)))
    )
    mid = (np.searchsorted(v, knots, "left") + np.searchsorted(v, knots, "right")) / (2.0 * n)
    z = ndtri(np.clip(mid, 0.5 / n, 1.0 - 0.5 / n))
    if len(knots) == 1:
        return knots, np.zeros(1), np.full(2, 1.0 / scale)
    q1, q3 = np.percentile(v, [25, 75])
    zq1, zq3 = np.interp([q1, q3], knots, z)
    slopes = np.array(
        [
            _tail_slope(knots[0], z[0], q1, zq1, scale),
            _tail_slope(knots[-1], z[-1], q3, zq3, scale),
        ]
    )
    return knots, z, slopes


def apply_quantile(
    x: np.ndarray, knots: np.ndarray, z: np.ndarray, slopes: np.ndarray
) -> np.ndarray:
    """Quantile-normal scores of raw values ``x`` (NaN stays NaN)."""
    out = np.interp(x, knots, z)
    out = np.where(x > knots[-1], z[-1] + (x - knots[-1]) * slopes[1], out)
    out = np.where(x < knots[0], z[0] - (knots[0] - x) * slopes[0], out)
    return np.where(np.isnan(x), np.nan, out)


def pack(tables: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-column knot tables as flat float64 arrays (for the model file)."""
    if not tables:
        return {
            "knots": np.zeros(0),
            "z": np.zeros(0),
            "slopes": np.zeros((0, 2)),
            "sizes": np.zeros(0, np.int64),
        }
    return {
        "knots": np.concatenate([t[0] for t in tables]),
        "z": np.concatenate([t[1] for t in tables]),
        "slopes": np.stack([t[2] for t in tables]),
        "sizes": np.array([len(t[0]) for t in tables], dtype=np.int64),
    }


def unpack(arrays: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Inverse of :func:`pack` (raises ValueError if the arrays do not fit together)."""
    sizes = np.asarray(arrays["sizes"], dtype=np.int64)
    knots, z = np.asarray(arrays["knots"]), np.asarray(arrays["z"])
    slopes = np.asarray(arrays["slopes"]).reshape(-1, 2)
    if sizes.sum() != len(knots) or len(knots) != len(z) or len(slopes) != len(sizes):
        raise ValueError("quantile tables do not fit together")
    ends = np.cumsum(sizes)
    return [
        (knots[e - s : e], z[e - s : e], slopes[i])
        for i, (s, e) in enumerate(zip(sizes, ends, strict=True))
    ]
