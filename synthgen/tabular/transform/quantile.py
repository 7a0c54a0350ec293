"""Quantile-to-normal encoding of numeric columns (``numeric="quantile"``): a fitted quantile
table mapped to a standard normal (one linear span); the inverse interpolates the table, so a
value that holds 92% of the rows (a run of equal quantiles) comes back exactly, with its exact
share. The encoding a differentially private fit uses (its table is a noisy one)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from synthgen.tabular.transform.base import Span
from synthgen.tabular.transform.numeric import NumericEncoder


class QuantileEncoder(NumericEncoder):
    """Quantile-to-normal: one linear span, ``z = Phi^-1(F(x))`` with F a fitted quantile table."""

    kind = "quantile"
    EPS = 1e-6  # u in [0, 1] is squeezed to [EPS, 1 - EPS] so z stays within about +-4.75

    def __init__(self, spec, *, n_quantiles: int = 1000) -> None:
        if n_quantiles < 2:
            raise ValueError("n_quantiles must be at least 2")
        super().__init__(spec, n_quantiles=n_quantiles)

    def _fit_private_values(self, quantiles: np.ndarray) -> None:
        self.quantiles_ = np.asarray(quantiles, dtype=np.float64)

    def _fit_values(self, obs: np.ndarray, rng: np.random.Generator) -> None:
        nq = int(min(self.params["n_quantiles"], len(obs)))
        q = np.quantile(obs, np.linspace(0.0, 1.0, nq)) if nq > 1 else obs[:1].astype(float)
        self.quantiles_ = np.maximum.accumulate(q)

    @property
    def _refs(self) -> np.ndarray:
        return (
            np.linspace(0.0, 1.0, len(self.quantiles_))
            if len(self.quantiles_) > 1
            else np.array([0.5])
        )

    def _value_spans(self) -> list[Span]:
        return [Span(self.column, 1, "linear", "value")]

    def _missing_fill(self) -> np.ndarray:
        return np.zeros(1, dtype=np.float32)

    def _encode(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        q, refs = self.quantiles_, self._refs
        x = np.clip(obs, q[0], q[-1])
        # average of the forward and backward interpolation: a run of equal quantiles (a point
        # mass) maps to the middle of its run, so decoding gives back exactly that value
        u = 0.5 * (np.interp(x, q, refs) - np.interp(-x, -q[::-1], -refs[::-1]))
        z = ndtri(self.EPS + (1.0 - 2.0 * self.EPS) * u)
        return z.reshape(-1, 1)

    def _decode(self, value: np.ndarray, codes: np.ndarray) -> np.ndarray:
        u = (ndtr(value) - self.EPS) / (1.0 - 2.0 * self.EPS)
        q = self.quantiles_
        if len(q) < 2:
            return np.full(len(u), q[0])
        # the references are an even grid: the interval is found by arithmetic, no search
        pos = np.clip(u, 0.0, 1.0) * (len(q) - 1)
        i = np.minimum(pos.astype(np.intp), len(q) - 2)
        lo = q[i]
        return lo + (pos - i) * (q[i + 1] - lo)

    def _values_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"quantiles": self.quantiles_}

    def _set_values_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.quantiles_ = np.asarray(arrays["quantiles"], dtype=np.float64)
        if len(self.quantiles_) < 1:
            raise KeyError("quantiles (non-empty)")
