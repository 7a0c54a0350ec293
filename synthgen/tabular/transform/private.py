"""What the transformer learns from the rows, protected.

Two levels, both set per fit by a :class:`Protection`:

* **value protection** (every fit, DP or not): a category held by fewer than ``min_count``
  rows (a noisy threshold: ``min_count`` plus Laplace(1) noise, at least 2) gets no slot of
  its own -- its rows train a "rare" slot that generates a placeholder (``rare_values=
  "placeholder"``, for columns without a declared category list) or one of the common
  categories (``"sample"``); numbers are clipped to the k-th smallest and k-th largest value
  (the same noisy k), so an outlier such as one very high salary is never reproduced;
* **differential privacy** (``epsilon`` set): every statistic is a noisy one, or comes from
  the schema. Categories: Laplace noise on the counts; categories the schema does not declare
  are released only above the partition-selection threshold ``1 + ln(1/(2 delta))/epsilon``
  (and never below ``min_count``); declared ones are kept when their noisy count reaches
  ``max(min_count, 2/epsilon)``. Numbers: the range is the schema's ``min``/``max`` or, where it
  has none, noisy bounds from a histogram over powers of two (the lowest and highest bins whose
  noisy count passes a threshold, so outliers are cut off); quantiles come from a noisy
  histogram over that range, with the range's lower end as a bin of its own (exact zeros).

Each row falls in one bin of every histogram, so each has sensitivity 1; the column budgets
compose sequentially (the synthesizer splits its statistics budget evenly over the columns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RARE = "<rare>"
RARE_VALUES = ("placeholder", "sample")
EXP_MIN, EXP_MAX = -10, 62  # power-of-two bins for noisy bounds: 2^-10 .. 2^63
QUANTILE_BINS = 48


@dataclass(frozen=True)
class Protection:
    """How a column's statistics are protected: value protection (``min_count``: 0 = off),
    and differential privacy when ``epsilon`` is set (this column's share)."""

    min_count: int = 5
    rare_values: str = "placeholder"
    epsilon: float | None = None
    delta: float | None = None

    @property
    def private(self) -> bool:
        return self.epsilon is not None

    def per_column(self, n_columns: int) -> Protection:
        """One column's share of a DP budget (columns compose sequentially)."""
        if self.epsilon is None:
            return self
        n = max(1, n_columns)
        delta = None if self.delta is None else self.delta / n
        return Protection(self.min_count, self.rare_values, self.epsilon / n, delta)


def noisy_threshold(k: int, rng: np.random.Generator) -> float:
    """``k`` plus Laplace(1) noise, at least 2: the exact cut-off is not known to a reader."""
    return max(2.0, k + float(rng.laplace(0.0, 1.0)))


# ---------------------------------------------------------------------------- categories
def private_categories(
    present: np.ndarray,
    n_missing: int,
    declared: list[str] | None,
    keep_undeclared: bool,
    prot: Protection,
    rng: np.random.Generator,
) -> tuple[list[str], np.ndarray, int, int]:
    """Released categories (in the declared order, then sorted), their noisy counts, the noisy
    count of the rows in no released category, and the noisy count of missing values."""
    eps = float(prot.epsilon)
    uniq, cnt = np.unique(present.astype(str), return_counts=True) if len(present) else ([], [])
    counts = dict(zip((str(u) for u in uniq), (int(c) for c in cnt), strict=True))
    cats: list[str] = []
    noisy: list[float] = []
    public_cut = max(prot.min_count, 2.0 / eps) if prot.min_count else 0.0
    for c in declared or []:
        value = counts.get(c, 0) + rng.laplace(0.0, 1.0 / eps)
        if value >= public_cut or not keep_undeclared:  # booleans keep both slots
            cats.append(c)
            noisy.append(value)
    if keep_undeclared:
        delta = float(prot.delta or 0.0)
        tau = 1.0 + math.log(1.0 / (2.0 * delta)) / eps if delta > 0 else math.inf
        tau = max(tau, float(prot.min_count))
        known = set(declared or [])
        for c in sorted(set(counts) - known):
            value = counts[c] + rng.laplace(0.0, 1.0 / eps)
            if value > tau:
                cats.append(c)
                noisy.append(value)
    released = np.maximum(np.round(np.asarray(noisy, dtype=float)), 0).astype(np.int64)
    missing = max(0, int(round(n_missing + rng.laplace(0.0, 1.0 / eps))))
    # the row count is public: what the released counts do not hold is "rare"
    rest = max(0, len(present) + n_missing - int(released.sum()) - missing)
    return cats, released, rest, missing


# ---------------------------------------------------------------------------- numbers
def protected_range(obs: np.ndarray, k: int, rng: np.random.Generator) -> tuple[float, float]:
    """The k-th smallest and k-th largest value (noisy k): the range numbers are clipped to."""
    if k <= 0 or len(obs) == 0:
        return -math.inf, math.inf
    t = int(round(noisy_threshold(k, rng)))
    if len(obs) < 2 * t:
        return -math.inf, math.inf
    part = np.partition(obs, (t - 1, len(obs) - t))
    return float(part[t - 1]), float(part[len(obs) - t])


def _bin_of(x: np.ndarray) -> np.ndarray:
    """Power-of-two bin of every value: 0 for |x| < 2^EXP_MIN, +-(1 + exponent - EXP_MIN)."""
    mag = np.abs(x)
    exp = np.floor(np.log2(np.maximum(mag, 2.0**EXP_MIN)))
    idx = 1 + np.clip(exp, EXP_MIN, EXP_MAX) - EXP_MIN
    idx = np.where(mag < 2.0**EXP_MIN, 0, idx)
    return (np.sign(x) * idx).astype(np.int64)


def _bin_edges(b: int) -> tuple[float, float]:
    if b == 0:
        return 0.0, 0.0
    lo, hi = 2.0 ** (abs(b) - 1 + EXP_MIN), 2.0 ** (abs(b) + EXP_MIN)
    return (lo, hi) if b > 0 else (-hi, -lo)


def private_bounds(
    obs: np.ndarray, eps: float, k: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Noisy bounds: the lowest and highest power-of-two bins whose noisy count passes
    ``max(k, ln(bins / 0.1) / eps)`` (a bin without rows passes with probability below 5 %
    over all bins together; the fullest bin when none passes)."""
    span = EXP_MAX - EXP_MIN + 1
    bins = np.arange(-span, span + 1)
    counts = np.zeros(len(bins))
    if len(obs):
        np.add.at(counts, _bin_of(obs) + span, 1.0)
    noisy = counts + rng.laplace(0.0, 1.0 / eps, size=len(counts))
    ok = np.flatnonzero(noisy >= max(float(k), math.log(len(bins) / 0.1) / eps))
    if len(ok) == 0:
        ok = np.array([int(np.argmax(noisy))])
    lo = _bin_edges(int(bins[ok[0]]))[0]
    hi = _bin_edges(int(bins[ok[-1]]))[1]
    return lo, hi


def private_quantiles(
    obs: np.ndarray,
    lo: float,
    hi: float,
    eps: float,
    n_quantiles: int,
    integer: bool,
    rng: np.random.Generator,
) -> np.ndarray:
    """A quantile table of ``n_quantiles`` points from a noisy histogram over [lo, hi]: the
    value ``lo`` exactly, then equal-width bins (one per integer for a small integer range);
    quantiles interpolate within bins."""
    if hi <= lo:
        return np.full(max(n_quantiles, 2), lo)
    x = np.clip(obs, lo, hi)
    if integer and hi - lo + 1 <= 2 * QUANTILE_BINS:
        edges = np.arange(lo - 0.5, hi + 1.0, 1.0)
        edges[0] = lo  # the first integer bin is the exact value lo
        at_lo = np.zeros(0)
    else:
        edges = np.linspace(lo, hi, QUANTILE_BINS + 1)
        at_lo = np.array([np.sum(x == lo)], dtype=float)
        x = x[x != lo]
    hist = np.histogram(x, bins=edges)[0].astype(float)
    counts = np.concatenate([at_lo, hist])
    counts = np.maximum(counts + rng.laplace(0.0, 1.0 / eps, size=len(counts)), 0.0)
    if counts.sum() <= 0:
        counts[:] = 1.0
    # piecewise-linear CDF: a point mass at lo (when it has its own bin), then the bins
    if len(at_lo):
        xs = np.concatenate([[lo, lo], edges[1:]])
        cdf = np.concatenate([[0.0], np.cumsum(counts)])
    else:
        xs = np.concatenate([[lo], edges[1:]])
        cdf = np.concatenate([[0.0], np.cumsum(counts)])
        xs[1] = lo if integer else xs[1]
    cdf = cdf / cdf[-1]
    levels = np.linspace(0.0, 1.0, max(n_quantiles, 2))
    q = np.interp(levels, cdf, xs)
    return np.maximum.accumulate(np.clip(q, lo, hi))
