"""Calibration: the fitting data's score distribution, and thresholds read from it."""

from __future__ import annotations

import math

import numpy as np

from synthgen.errors import UsageError, param

# Up to this many fitting rows the exact sorted scores are kept (so a contamination threshold
# flags the stated share of the fitting data to the row); beyond it, an evenly spaced quantile
# grid of this size.
MAX_POINTS = 50_001


class ScoreCalibration:
    """Sorted fitting-data scores (or a quantile grid of them) and the row count they describe."""

    def __init__(self, sorted_scores: np.ndarray, n_rows: int) -> None:
        self.sorted_scores = np.asarray(sorted_scores, dtype=np.float64)
        self.n_rows = int(n_rows)
        if self.sorted_scores.ndim != 1 or len(self.sorted_scores) == 0:
            raise ValueError("a calibration needs at least one score")

    @classmethod
    def from_scores(cls, scores: np.ndarray, max_points: int = MAX_POINTS) -> ScoreCalibration:
        s = np.sort(np.asarray(scores, dtype=np.float64))
        if len(s) > max_points:
            s = np.quantile(s, np.linspace(0.0, 1.0, max_points))
        return cls(s, len(scores))

    @property
    def exact(self) -> bool:
        return len(self.sorted_scores) == self.n_rows

    def threshold(self, contamination: float) -> float:
        """The score above which ``contamination`` of the fitting rows lie (``score > t``)."""
        q = check_contamination(contamination)
        s = self.sorted_scores
        if self.exact:
            n = len(s)
            k = int(round(q * n))
            if k <= 0:
                return float(s[-1])
            if k >= n:
                return float(np.nextafter(s[0], -np.inf))
            return float(s[n - k - 1])
        return float(np.quantile(s, 1.0 - q))

    def share_above(self, threshold: float) -> float:
        """Share of the fitting rows whose score exceeds ``threshold``."""
        s = self.sorted_scores
        if self.exact:
            return float(len(s) - np.searchsorted(s, threshold, side="right")) / len(s)
        grid = np.linspace(0.0, 1.0, len(s))
        return float(1.0 - np.interp(threshold, s, grid, left=0.0, right=1.0))

    def quantiles(self, qs: np.ndarray) -> np.ndarray:
        return np.quantile(self.sorted_scores, qs)


def check_contamination(q: float) -> float:
    q = float(q)
    if not (math.isfinite(q) and 0.0 < q < 1.0):
        raise UsageError(
            f"{param('contamination')} must be a share between 0 and 1 (e.g. 0.01 for 1 %), "
            f"not {q:g}.",
            param="contamination",
        )
    return q


def check_threshold(t: float) -> float:
    t = float(t)
    if not math.isfinite(t) or t < 0:
        raise UsageError(
            f"{param('threshold')} must be a finite score >= 0, not {t:g}.", param="threshold"
        )
    return t


def resolve_threshold(
    calibration: ScoreCalibration,
    *,
    contamination: float | None,
    threshold: float | None,
    default_contamination: float,
) -> tuple[float, str]:
    """The threshold to flag by, and how it was chosen (for reports)."""
    if contamination is not None and threshold is not None:
        raise UsageError(
            f"Give either {param('contamination')} or {param('threshold')}, not both.",
            param="threshold",
        )
    if threshold is not None:
        t = check_threshold(threshold)
        return t, f"explicit threshold {t:.6g}"
    q = default_contamination if contamination is None else contamination
    q = check_contamination(q)
    return calibration.threshold(q), f"contamination {q:g} of the fitting data"
