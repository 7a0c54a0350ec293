"""Encoders for continuous, integer and datetime columns.

:class:`NumericEncoder` turns a column into float64 values (datetimes as epoch seconds), keeps
a [present, missing] one-hot for nullable columns, clips decoded values to the schema's bounds
(or the observed range when the schema has none), rounds integers and converts back to the
column's dtype. Two normalisations of the present values sit on top:

* :class:`ModeSpecificEncoder` (``"mode"``) -- CTGAN's mode-specific normalisation: a Bayesian
  Gaussian mixture (fitted on a subsample, few iterations, modes with weight <= 0.005 pruned);
  each row gets a mode sampled from its posterior (restricted to modes within 4 std when there
  are any) and is encoded as ``(x - mean) / (4 * std)`` in a tanh span plus a one-hot of the
  mode. Exact point masses: every value of a column with at most ``max_modes`` distinct
  values, any single value holding >= 5% of the rows (capital-gain's zeros, hours-per-week's
  40; the mixture is then fitted on the remaining rows) and any mixture mode whose rows all hold
  one value. A point-mass mode decodes to its value exactly, whatever the tanh value says.
* :class:`QuantileEncoder` (``"quantile"``) -- a fitted quantile table mapped to a standard
  normal (one linear span); the inverse interpolates the table, so a value that holds 92% of the
  rows (a run of equal quantiles) comes back exactly, with its exact share.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from synthgen.errors import DataError
from synthgen.tabular.transform.base import ColumnEncoder, Span, one_hot
from synthgen.tabular.transform.private import (
    private_bounds,
    private_quantiles,
    protected_range,
)

NS_PER_S = 1_000_000_000
DAY_S = 86_400


class NumericEncoder(ColumnEncoder):
    """Shared handling of continuous/integer/datetime columns; subclasses normalise values."""

    def __init__(self, spec, **params: Any) -> None:
        if spec.type not in ("continuous", "integer", "datetime"):
            raise ValueError(f"{type(self).__name__} cannot encode a {spec.type} column")
        super().__init__(spec, **params)

    # ------------------------------------------------------------------ conversion
    def _to_float(self, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """float64 values (NaN where missing) and the missing mask."""
        if self.spec.type == "datetime":
            s = values
            if not pd.api.types.is_datetime64_any_dtype(s):
                try:
                    s = pd.to_datetime(s, format=self.spec.format)
                except (ValueError, TypeError) as err:
                    raise DataError(f"Column '{self.column}' has unparsable datetimes.") from err
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            s = s.astype("datetime64[ns]")
            miss = s.isna().to_numpy()
            ns = s.to_numpy().view(np.int64)
            x = np.where(miss, np.nan, ns / NS_PER_S)
            return x, miss
        try:
            x = pd.to_numeric(values).to_numpy(dtype=np.float64, na_value=np.nan)
        except (ValueError, TypeError) as err:
            raise DataError(
                f"Column '{self.column}' ({self.spec.type}) has non-numeric values."
            ) from err
        miss = np.isnan(x)
        if np.isinf(x).any():
            raise DataError(f"Column '{self.column}' holds infinite values.")
        return x, miss

    def _from_float(self, x: np.ndarray, miss: np.ndarray) -> Any:
        if self.spec.type == "integer":
            ints = np.where(miss, 0, x).astype(np.int64)
            return pd.arrays.IntegerArray(ints, miss.copy())
        if self.spec.type == "datetime":
            res = self.resolution_
            if res > 0:
                x = np.round(x / res) * res
            ns = np.where(miss, 0, np.round(x * NS_PER_S)).astype(np.int64)
            out = ns.view("datetime64[ns]").copy()
            out[miss] = np.datetime64("NaT")
            return out
        return np.where(miss, np.nan, x)

    # ------------------------------------------------------------------ ColumnEncoder hooks
    def _fit(self, values: pd.Series, rng: np.random.Generator) -> None:
        x, miss = self._to_float(values)
        obs = x[~miss]
        prot = getattr(self, "protection", None)
        if prot is not None and prot.private:
            self._fit_private(obs, prot, rng)
            return
        self.has_missing_ = bool(self.spec.nullable or miss.any())
        if len(obs) == 0:
            obs = np.zeros(1)
        lo, hi = float(obs.min()), float(obs.max())
        if prot is not None and prot.min_count > 0:  # outliers are not reproduced
            low, high = protected_range(obs, prot.min_count, rng)
            lo, hi = max(lo, low), min(hi, high)
            obs = np.clip(obs, lo, hi)
        if self.spec.min is not None:
            lo = max(float(self.spec.min), lo) if prot is not None else float(self.spec.min)
        if self.spec.max is not None:
            hi = min(float(self.spec.max), hi) if prot is not None else float(self.spec.max)
        if self.spec.type == "integer":
            lo, hi = float(math.ceil(lo)), float(math.floor(hi))
        self.low_, self.high_ = lo, hi
        self.resolution_ = 0
        if self.spec.type == "datetime":
            ns = np.round(obs * NS_PER_S).astype(np.int64)
            if np.all(ns % (DAY_S * NS_PER_S) == 0):
                self.resolution_ = DAY_S
            elif np.all(ns % NS_PER_S == 0):
                self.resolution_ = 1
        self._fit_values(obs, rng)
        self._build_spans()

    def _fit_private(self, obs: np.ndarray, prot, rng: np.random.Generator) -> None:
        """Differentially private statistics: the schema's range or noisy bounds (half the
        column's budget), then a noisy quantile table; missing values are modelled when the
        schema says the column is nullable."""
        eps = float(prot.epsilon)
        self.has_missing_ = bool(self.spec.nullable)
        lo, hi = self.spec.min, self.spec.max
        if lo is None or hi is None:
            eps = eps / 2
            low, high = private_bounds(obs, eps, prot.min_count, rng)
            lo = low if lo is None else float(lo)
            hi = high if hi is None else float(hi)
        lo, hi = float(lo), float(hi)
        if self.spec.type == "integer":
            lo, hi = float(math.ceil(lo)), float(math.floor(hi))
        hi = max(hi, lo)
        self.low_, self.high_ = lo, hi
        self.resolution_ = 0
        if self.spec.type == "datetime":
            fmt = self.spec.format or ""
            self.resolution_ = DAY_S if fmt and "%H" not in fmt else 1
        integer = self.spec.type == "integer"
        n_q = self._private_quantile_count()
        self._fit_private_values(private_quantiles(obs, lo, hi, eps, n_q, integer, rng))
        self._build_spans()

    def _private_quantile_count(self) -> int:
        """Points of the noisy quantile table a private fit reads."""
        return 100

    def _fit_private_values(self, quantiles: np.ndarray) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no private fit")

    def _build_spans(self) -> None:
        self._spans = self._value_spans()
        if self.has_missing_:
            self._spans.append(Span(self.column, 2, "softmax", "missing"))

    def _transform(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        x, miss = self._to_float(values)
        width = sum(s.width for s in self._value_spans())
        out = np.empty((len(x), width), dtype=np.float32)
        out[miss] = self._missing_fill()
        if (~miss).any():
            out[~miss] = self._encode(x[~miss], rng)
        if self.has_missing_:
            out = np.concatenate([out, one_hot(miss.astype(np.int64), 2)], axis=1)
        return out

    def _inverse_parts(
        self, values: np.ndarray, codes: np.ndarray, rng: np.random.Generator
    ) -> Any:
        if self.has_missing_:
            miss = codes[:, -1] == 1
            codes = codes[:, :-1]
        else:
            miss = np.zeros(len(values), dtype=bool)
        x = self._decode(np.asarray(values[:, 0], dtype=np.float64), codes)
        if self.spec.type == "integer":
            x = np.round(x)
        x = np.clip(x, self.low_, self.high_)
        return self._from_float(x, miss)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state, arrays = self._values_state()
        state.update(
            has_missing=self.has_missing_,
            low=self.low_,
            high=self.high_,
            resolution=self.resolution_,
        )
        return state, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.has_missing_ = bool(state["has_missing"])
        self.low_, self.high_ = float(state["low"]), float(state["high"])
        self.resolution_ = int(state["resolution"])
        self._set_values_state(state, arrays)
        self._build_spans()

    # ------------------------------------------------------------------ normaliser hooks
    def _fit_values(self, obs: np.ndarray, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def _value_spans(self) -> list[Span]:
        raise NotImplementedError

    def _missing_fill(self) -> np.ndarray:
        """The value-part encoding given to missing rows (their missing slot says the rest)."""
        raise NotImplementedError

    def _encode(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _decode(self, value: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """float64 values from the value span (n,) and the slots of the value spans' softmax
        parts (n, k), missing slot excluded."""
        raise NotImplementedError

    def _values_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        raise NotImplementedError

    def _set_values_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError


class ModeSpecificEncoder(NumericEncoder):
    """CTGAN-style mode-specific normalisation (tanh value span + softmax mode span)."""

    kind = "mode"
    WEIGHT_THRESHOLD = 0.005
    MAX_ITER = 60
    POINT_STD = 0.05  # a mode narrower than this (in column std units) may be a point mass
    POINT_SHARE = 0.05  # a single value holding this share of the rows is its own exact mode

    def __init__(self, spec, *, max_modes: int = 10, gmm_sample: int = 3000) -> None:
        if max_modes < 1:
            raise ValueError("max_modes must be at least 1")
        if gmm_sample < 10:
            raise ValueError("gmm_sample must be at least 10")
        super().__init__(spec, max_modes=max_modes, gmm_sample=gmm_sample)

    def _fit_values(self, obs: np.ndarray, rng: np.random.Generator) -> None:
        max_modes, gmm_sample = self.params["max_modes"], self.params["gmm_sample"]
        uniq, counts = np.unique(obs, return_counts=True)
        spread = float(uniq[-1] - uniq[0]) or 1.0
        share = counts / counts.sum()
        # heavy point masses (capital-gain = 0, hours-per-week = 40) are exact modes; with few
        # distinct values every value is one
        if len(uniq) <= max_modes:
            heavy = np.ones(len(uniq), dtype=bool)
        else:
            heavy = np.zeros(len(uniq), dtype=bool)
            top = np.argsort(-share, kind="stable")[: max_modes - 1]
            heavy[top[share[top] >= self.POINT_SHARE]] = True
        means, weights = uniq[heavy].astype(np.float64), share[heavy]
        stds = np.full(len(means), 1e-3 * spread)
        point = np.ones(len(means), dtype=bool)
        if not heavy.all():
            rest = obs[~np.isin(obs, means)] if heavy.any() else obs
            g_means, g_stds, g_weights, g_point = self._fit_mixture(
                rest, max_modes - len(means), gmm_sample, rng
            )
            # prune modes by their weight within the mixture (as CTGAN does)
            keep = g_weights > self.WEIGHT_THRESHOLD
            if not keep.any():
                keep = g_weights == g_weights.max()
            g_weights = g_weights * (1.0 - weights.sum())
            means = np.concatenate([means, g_means[keep]])
            stds = np.concatenate([stds, g_stds[keep]])
            weights = np.concatenate([weights, g_weights[keep]])
            point = np.concatenate([point, g_point[keep]])
        order = np.argsort(means, kind="stable")
        self.means_, self.stds_ = means[order], stds[order]
        self.weights_ = weights[order] / weights.sum()
        self.point_ = point[order]

    def _fit_mixture(
        self, obs: np.ndarray, n_modes: int, gmm_sample: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Bayesian GMM on a subsample: means, stds, weights (sum 1), point-mass flags."""
        sample = obs if len(obs) <= gmm_sample else rng.choice(obs, gmm_sample, replace=False)
        loc = float(sample.mean())
        scale = float(sample.std()) or 1.0
        z = ((sample - loc) / scale).reshape(-1, 1)
        n_comp = int(min(n_modes, len(np.unique(sample))))
        from sklearn.mixture import BayesianGaussianMixture

        gm = BayesianGaussianMixture(
            n_components=n_comp,
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.001,
            max_iter=self.MAX_ITER,
            n_init=1,
            random_state=int(rng.integers(2**31 - 1)),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gm.fit(z)
        means = gm.means_.ravel() * scale + loc
        stds = np.maximum(np.sqrt(gm.covariances_.ravel()), 1e-3) * scale
        weights = gm.weights_ / gm.weights_.sum()
        point = np.zeros(len(means), dtype=bool)
        # a narrow mode whose sample rows all hold one value is a point mass too
        assign = self._log_density(sample, means, stds, np.maximum(weights, 1e-300)).argmax(1)
        for j in np.flatnonzero(stds < self.POINT_STD * scale):
            vals = sample[assign == j]
            if len(vals) and vals.min() == vals.max() and vals[0] not in means[point]:
                point[j] = True
                means[j] = vals[0]
        return means, stds, weights, point

    @staticmethod
    def _log_density(x, means, stds, weights) -> np.ndarray:
        d = (x[:, None] - means[None, :]) / stds[None, :]
        return np.log(weights)[None, :] - np.log(stds)[None, :] - 0.5 * d * d

    def _value_spans(self) -> list[Span]:
        return [
            Span(self.column, 1, "tanh", "value"),
            Span(self.column, len(self.means_), "softmax", "mode"),
        ]

    def _missing_fill(self) -> np.ndarray:
        fill = np.zeros(1 + len(self.means_), dtype=np.float32)
        fill[1 + int(self.weights_.argmax())] = 1.0
        return fill

    def _encode(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, k = len(obs), len(self.means_)
        mode = np.full(n, -1, dtype=np.int64)
        value = np.zeros(n)
        pts = np.flatnonzero(self.point_)
        if len(pts):
            hit = obs[:, None] == self.means_[pts][None, :]
            matched = hit.any(axis=1)
            mode[matched] = pts[hit[matched].argmax(axis=1)]
        rest = np.flatnonzero(mode < 0)
        if len(rest):
            comps = np.flatnonzero(~self.point_)
            if len(comps) == 0:  # only point masses, and a value none of them holds
                comps = np.arange(k)
            xr = obs[rest]
            means, stds = self.means_[comps], self.stds_[comps]
            d = (xr[:, None] - means[None, :]) / stds[None, :]
            logp = np.log(self.weights_[comps])[None, :] - np.log(stds)[None, :] - 0.5 * d * d
            # sample the mode from the posterior, among the modes that can encode the value
            # (|d| <= 4, so the tanh value needs no clipping) whenever there is one
            within = np.abs(d) <= 4.0
            logp = np.where(within | ~within.any(axis=1, keepdims=True), logp, -np.inf)
            logp -= logp.max(axis=1, keepdims=True)
            p = np.exp(logp)
            cdf = np.cumsum(p, axis=1)
            u = rng.random(len(rest)) * cdf[:, -1]
            pick = np.minimum((cdf < u[:, None]).sum(axis=1), len(comps) - 1)
            mode[rest] = comps[pick]
            value[rest] = d[np.arange(len(rest)), pick] / 4.0
        out = np.empty((n, 1 + k), dtype=np.float32)
        out[:, 0] = np.clip(value, -1.0, 1.0)
        out[:, 1:] = one_hot(mode, k)
        return out

    def _decode(self, value: np.ndarray, codes: np.ndarray) -> np.ndarray:
        mode = codes[:, 0]
        mean = self.means_[mode]
        x = np.clip(value, -1.0, 1.0) * 4.0 * self.stds_[mode] + mean
        return np.where(self.point_[mode], mean, x)

    def _values_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"n_modes": len(self.means_)}, {
            "means": self.means_,
            "stds": self.stds_,
            "weights": self.weights_,
            "point": self.point_.astype(np.uint8),
        }

    def _set_values_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.means_ = np.asarray(arrays["means"], dtype=np.float64)
        self.stds_ = np.asarray(arrays["stds"], dtype=np.float64)
        self.weights_ = np.asarray(arrays["weights"], dtype=np.float64)
        self.point_ = np.asarray(arrays["point"]).astype(bool)
        if not (
            len(self.means_)
            == len(self.stds_)
            == len(self.weights_)
            == len(self.point_)
            == state["n_modes"]
        ):
            raise KeyError("mode arrays of one length")
