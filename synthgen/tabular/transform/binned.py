"""``BinnedEncoder`` (``numeric="binned"``): a numeric or datetime column as one softmax over
quantile bins, for models in which every column is discrete (``ar``).

Fitting: a column with at most ``n_bins`` distinct values gets one bin per value (decoded
exactly). Otherwise the values are cut at their quantiles into at most ``n_bins`` bins of about
equal counts (never fewer than ``MIN_BIN_ROWS`` rows each), a value is never split between two
bins, and any value holding at least a bin's share of the rows is a bin of its own (so
capital-gain's zeros or hours-per-week's 40 come back exactly, with their exact share).

Decoding: every bin keeps a small table of ``bin_quantiles`` quantiles of the training values in
it; a drawn bin is turned into a value by interpolating that table at a uniform draw. A bin of
one value decodes to it; a bin of many values gives values spread as the training values in it
(not copies of them). A differentially private fit sees no row here: its bins come from the
column's (schema or noisy) range and a noisy quantile table (``_fit_private_values``).
Integers are rounded and values clipped to the column's bounds by
``NumericEncoder``; a nullable column has a last slot for "missing" in the same softmax.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.tabular.transform.base import Span, one_hot
from synthgen.tabular.transform.numeric import NumericEncoder

# a quantile bin holds at least this many training rows: finer bins on a small table were
# learned from a handful of rows each, and early stopping then ended training after a few
# epochs (breast_cancer, Pima, thyroid: trends 0.80-0.93 at 5 rows, 0.93-0.95 at 50)
MIN_BIN_ROWS = 50
# most quantile bins of a private fit: its noisy quantile table comes from a histogram of
# about 50 pieces (``private.QUANTILE_BINS``), and every slot more is one more logit to learn
# under DP-SGD's noise
PRIVATE_BINS = 32


class BinnedEncoder(NumericEncoder):
    """Quantile bins in one softmax span (+ a missing slot); values drawn within a bin."""

    kind = "binned"

    def __init__(self, spec, *, n_bins: int = 100, bin_quantiles: int = 17) -> None:
        if n_bins < 2:
            raise ValueError("n_bins must be at least 2")
        if bin_quantiles < 2:
            raise ValueError("bin_quantiles must be at least 2")
        super().__init__(spec, n_bins=n_bins, bin_quantiles=bin_quantiles)

    # ------------------------------------------------------------------ fitting
    def _fit_values(self, obs: np.ndarray, rng: np.random.Generator) -> None:
        uniq, counts = np.unique(obs, return_counts=True)
        q = self._q
        if len(uniq) <= self.params["n_bins"]:
            self.table_ = np.repeat(uniq[:, None], q, axis=1).astype(np.float64)
            return
        ends = _bin_ends(counts, self.params["n_bins"])
        starts = np.r_[0, ends[:-1] + 1]
        cum = np.r_[0, np.cumsum(counts)]
        sorted_obs = np.sort(obs)
        grid = np.linspace(0.0, 1.0, q)
        table = np.empty((len(ends), q))
        for b, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
            rows = sorted_obs[cum[lo] : cum[hi + 1]]
            table[b] = np.quantile(rows, grid)
        self.table_ = np.maximum.accumulate(table, axis=1)

    def _private_quantile_count(self) -> int:
        return min(PRIVATE_BINS, int(self.params["n_bins"])) * (self._q - 1) + 1

    @property
    def _q(self) -> int:
        return int(self.params["bin_quantiles"])

    def _fit_private_values(self, quantiles: np.ndarray) -> None:
        """Bins of a differentially private fit, from nothing but the column's (schema or
        noisy) range and its noisy quantile table: an integer column whose range fits in
        ``n_bins`` gets one bin per integer of the range; any other column equal-count bins of
        the noisy quantiles, ``bin_quantiles`` of them a bin (a run of bins at the range's
        lower end, a point mass such as capital-gain's zeros, becomes one exact bin)."""
        q, lo, hi = self._q, self.low_, self.high_
        if self.spec.type == "integer" and hi - lo + 1 <= int(self.params["n_bins"]):
            values = np.arange(lo, hi + 1.0)
            self.table_ = np.repeat(values[:, None], q, axis=1).astype(np.float64)
            return
        quantiles = np.asarray(quantiles, dtype=np.float64)
        n = max(1, (len(quantiles) - 1) // (q - 1))
        table = np.stack([quantiles[b * (q - 1) : b * (q - 1) + q] for b in range(n)])
        keep = np.r_[True, np.any(table[1:] != table[:-1], axis=1)]
        self.table_ = np.maximum.accumulate(table[keep], axis=1)

    @property
    def n_bins_(self) -> int:
        return len(self.table_)

    def _build_spans(self) -> None:
        width = self.n_bins_ + int(self.has_missing_)
        self._spans = [Span(self.column, max(width, 1), "softmax", "mode")]

    # ------------------------------------------------------------------ encoding
    def bin_of(self, x: np.ndarray) -> np.ndarray:
        """The bin of each present value: the first bin whose largest value is >= it."""
        upper = self.table_[:, -1]
        return np.minimum(np.searchsorted(upper, x, side="left"), self.n_bins_ - 1)

    def _transform(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        x, miss = self._to_float(values)
        slot = np.full(len(x), self.n_bins_, dtype=np.int64)  # the missing slot
        if (~miss).any():
            slot[~miss] = self.bin_of(x[~miss])
        if not self.has_missing_:
            slot[miss] = -1  # a missing value in a column fitted without one: an all-zero row
        return one_hot(slot, self.width)

    def _inverse_parts(
        self, values: np.ndarray, codes: np.ndarray, rng: np.random.Generator
    ) -> Any:
        slot = np.asarray(codes[:, 0], dtype=np.int64)
        miss = slot >= self.n_bins_
        b = np.minimum(slot, self.n_bins_ - 1)
        table = self.table_
        pos = rng.random(len(slot)) * (table.shape[1] - 1)
        i = np.minimum(pos.astype(np.intp), table.shape[1] - 2)
        lo = table[b, i]
        x = lo + (pos - i) * (table[b, i + 1] - lo)
        if self.spec.type == "integer":
            x = np.round(x)
        x = np.clip(x, self.low_, self.high_)
        return self._from_float(x, miss)

    # ------------------------------------------------------------------ state
    def _values_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"n_bins": self.n_bins_}, {"table": self.table_}

    def _set_values_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        table = np.asarray(arrays["table"], dtype=np.float64)
        if table.ndim != 2 or len(table) != state["n_bins"] or table.shape[1] < 2:
            raise KeyError("table (a bin per row, two quantiles or more)")
        self.table_ = table


def _bin_ends(counts: np.ndarray, n_bins: int) -> np.ndarray:
    """Index of the last distinct value of each bin: cuts at the quantiles, and around every
    value that holds a bin's share of the rows or more."""
    total = int(counts.sum())
    n_bins = int(min(n_bins, max(2, total // MIN_BIN_ROWS)))
    cum = np.cumsum(counts)
    targets = np.arange(1, n_bins) * total / n_bins
    cuts = np.searchsorted(cum, targets, side="left")
    heavy = np.flatnonzero(counts >= total / n_bins)
    ends = np.unique(np.r_[cuts, heavy - 1, heavy, len(counts) - 1])
    return ends[(ends >= 0) & (ends < len(counts))]
