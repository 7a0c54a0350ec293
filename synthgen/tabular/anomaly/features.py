"""The detector's encoding of a table: the shared TableTransformer plus unclipped numeric values.

Categorical and boolean columns, and the missing indicators of nullable numeric columns, are
encoded by :class:`~synthgen.tabular.transform.TableTransformer` exactly as the generators see
them (an unseen category encodes as an all-zero block). The value of a numeric column is the one
thing the detector encodes differently: the transformer's quantile and mode encodings clip
values to the fitted range, which would hide precisely the out-of-range values a screening job
looks for (and measured worse on ADBench: mean ROC-AUC 0.67 with quantile values against 0.86
standardised), so the detector scales them itself: ``(x - median) / (IQR / 1.349)`` by default
("robust"; mean and standard deviation when the IQR is 0, or with ``scaling="standard"``),
extrapolating linearly beyond the fitting range, clipped at +-``clip`` so one absurd value
cannot overflow training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.errors import DataError, ModelFileError
from synthgen.schema import TableSchema
from synthgen.tabular.anomaly.reconstruction import SpanLayout
from synthgen.tabular.anomaly.scaling import (
    apply_quantile,
    centre_scale,
    fit_quantile,
    pack,
    unpack,
)
from synthgen.tabular.transform import TableTransformer

NUMERIC = ("continuous", "integer", "datetime")
_NS_PER_S = 1e9


def numeric_values(values: pd.Series, spec_type: str, name: str, fmt: str | None) -> np.ndarray:
    """float64 values of a numeric/datetime column (NaN where missing; datetimes as seconds)."""
    if spec_type == "datetime":
        s = values
        if not pd.api.types.is_datetime64_any_dtype(s):
            try:
                s = pd.to_datetime(s, format=fmt)
            except (ValueError, TypeError):
                raise DataError(f"Column '{name}' has unparsable datetimes.") from None
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        s = s.astype("datetime64[ns]")
        miss = s.isna().to_numpy()
        ns = s.to_numpy().view(np.int64)
        return np.where(miss, np.nan, ns / _NS_PER_S)
    try:
        x = pd.to_numeric(values).to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError):
        raise DataError(f"Column '{name}' ({spec_type}) has non-numeric values.") from None
    return x


class TableEncoding:
    """Typed frame -> float32 matrix + the :class:`SpanLayout` the error measure reads."""

    def __init__(
        self,
        schema: TableSchema,
        *,
        clip: float = 1000.0,
        scaling: str = "robust",
        quantiles: bool = False,
    ) -> None:
        self.schema = schema
        self.clip = float(clip)
        self.scaling = scaling
        self.quantiles = quantiles  # also fit quantile-normal tables (the neighbour space)

    # ------------------------------------------------------------------ fitting
    def fit(self, frame: pd.DataFrame, *, seed: int = 0) -> TableEncoding:
        # the transformer's own numeric values are replaced by the detector's (below), so its
        # quantile tables are kept minimal: fitting 1,000 quantiles per column cost seconds on
        # wide tables (InternetAds: 1,555 columns) and megabytes in the model file
        self.transformer_ = TableTransformer(
            self.schema, numeric="quantile", n_quantiles=2, seed=seed
        ).fit(frame)
        self._layout()
        centre, scale, tables = [], [], []
        for name in self.numeric_columns_:
            x = self._values(frame, name)
            x = x[~np.isnan(x)]
            c, s = centre_scale(x, self.scaling)
            centre.append(c)
            scale.append(s)
            if self.quantiles:
                tables.append(fit_quantile(x, s))
        self.centre_ = np.asarray(centre, dtype=np.float64)
        self.scale_ = np.asarray(scale, dtype=np.float64)
        self.quantiles_ = tables
        return self

    def _layout(self) -> None:
        tf = self.transformer_
        numeric_idx, numeric_col, onehot = [], [], []
        self.columns_ = list(tf.columns_)
        self.numeric_columns_ = []
        self.value_index_ = []
        for ci, name in enumerate(self.columns_):
            spec = self.schema.column(name)
            sl = tf.column_slices_[name]
            pos = sl.start
            for span in tf.encoders_[name].spans:
                if span.activation == "softmax":
                    onehot.append((pos, pos + span.width, ci))
                else:
                    numeric_idx.append(pos)
                    numeric_col.append(ci)
                    if spec.type in NUMERIC and span.role == "value":
                        self.numeric_columns_.append(name)
                        self.value_index_.append(pos)
                pos += span.width
        self.layout_ = SpanLayout(
            n_features=int(tf.output_dim_),
            numeric_idx=numeric_idx,
            numeric_col=numeric_col,
            onehot=onehot,
            n_columns=len(self.columns_),
        )

    def _values(self, frame: pd.DataFrame, name: str) -> np.ndarray:
        if not hasattr(self, "_specs"):
            self._specs = {c.name: c for c in self.schema.columns}
        spec = self._specs[name]
        return numeric_values(frame[name], spec.type, name, spec.format)

    # ------------------------------------------------------------------ transforming
    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode a typed frame (validated against the schema) to float32 ``(n, n_features)``."""
        return self.transform_both(frame)[0]

    def transform_both(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """The autoencoder's matrix (z-scored numbers) and, if quantile tables were fitted, the
        neighbour space's (the same but with quantile-normal numbers; else ``None``)."""
        out = self.transformer_.transform(frame)
        other = out.copy() if self.quantiles else None
        for j, (name, idx) in enumerate(zip(self.numeric_columns_, self.value_index_, strict=True)):
            x = self._values(frame, name)
            z = (x - self.centre_[j]) / self.scale_[j]
            out[:, idx] = np.clip(np.nan_to_num(z, nan=0.0), -self.clip, self.clip)
            if other is not None:
                q = apply_quantile(x, *self.quantiles_[j])
                other[:, idx] = np.clip(np.nan_to_num(q, nan=0.0), -self.clip, self.clip)
        return out, other

    # ------------------------------------------------------------------ state
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(transformer state, transformer arrays, scaler arrays)."""
        state, arrays = self.transformer_.to_state()
        scaler = {"centre": self.centre_, "scale": self.scale_}
        if self.quantiles:
            scaler.update({f"q.{k}": v for k, v in pack(self.quantiles_).items()})
        return state, arrays, scaler

    @classmethod
    def from_state(
        cls,
        schema: TableSchema,
        state: dict[str, Any],
        arrays: dict[str, np.ndarray],
        scaler: dict[str, np.ndarray],
        *,
        clip: float,
        scaling: str = "robust",
    ) -> TableEncoding:
        self = cls(schema, clip=clip, scaling=scaling)
        self.transformer_ = TableTransformer.from_state(schema, state, arrays)
        self._layout()
        self.centre_ = np.asarray(scaler["centre"], dtype=np.float64)
        self.scale_ = np.asarray(scaler["scale"], dtype=np.float64)
        self.quantiles = any(k.startswith("q.") for k in scaler)
        self.quantiles_ = []
        if self.quantiles:
            self.quantiles_ = unpack({k[2:]: v for k, v in scaler.items() if k.startswith("q.")})
        if len(self.centre_) != len(self.numeric_columns_) or (
            self.quantiles and len(self.quantiles_) != len(self.numeric_columns_)
        ):
            raise ModelFileError("The detector's numeric scaler does not match its schema.")
        return self


def _codes(values: pd.Series, spec_type: str, name: str, fmt: str | None) -> np.ndarray:
    """Discrete codes of a column for dependence tests: categories as they are, numbers with few
    distinct values as they are, other numbers in 16 quantile bins (missing = its own code)."""
    if spec_type in NUMERIC:
        x = numeric_values(values, spec_type, name, fmt)
        ok = ~np.isnan(x)
        codes = np.full(len(x), -1, dtype=np.int64)
        uniq = np.unique(x[ok])
        if len(uniq) <= 32:
            codes[ok] = np.searchsorted(uniq, x[ok])
        elif ok.any():
            edges = np.unique(np.quantile(x[ok], np.linspace(0, 1, 17)[1:-1]))
            codes[ok] = np.searchsorted(edges, x[ok], side="left")
        return codes
    return pd.factorize(values.astype(object), use_na_sentinel=True)[0].astype(np.int64)


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def _determines(a: np.ndarray, b: np.ndarray) -> float:
    """Uncertainty coefficient U(b | a) = 1 - H(b | a) / H(b): 1 when ``a`` determines ``b``
    (0 for a constant ``b``, which carries nothing to group by)."""
    hb = _entropy(np.bincount(b - b.min()))
    if hb <= 1e-12:
        return 0.0
    a, b = a - a.min(), b - b.min()
    joint = np.unique(a * (int(b.max()) + 1) + b, return_counts=True)[1]
    ha = _entropy(np.bincount(a))
    return 1.0 - (_entropy(joint) - ha) / hb


def cross_groups(
    frame: pd.DataFrame,
    schema: TableSchema,
    columns: list[str],
    threshold: float = 0.9,
    max_rows: int = 20_000,
) -> np.ndarray:
    """Masking groups for the cross-column model, one id per column (-1: never masked).

    Every categorical/boolean column is masked, together with the columns it determines or
    that determine it (uncertainty coefficient >= ``threshold`` on the fitting data, e.g.
    Adult's education and education-num): masking one of two redundant columns would let the
    model read it back from the other and miss a value that contradicts the rest of the row.
    Numeric columns join only through such a categorical partner.
    """
    n = len(columns)
    specs = [schema.column(c) for c in columns]
    categorical = [s.type not in NUMERIC for s in specs]
    if not any(categorical):
        return np.full(n, -1, dtype=np.int64)
    if len(frame) > max_rows:  # evenly spaced rows: enough to see a near-determination
        frame = frame.iloc[np.linspace(0, len(frame) - 1, max_rows).astype(np.int64)]
    codes = [_codes(frame[c], s.type, c, s.format) for c, s in zip(columns, specs, strict=True)]
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # a column with a code for almost every row "determines" everything; it groups nothing
    few = [len(np.unique(c)) <= max(2, len(frame) // 20) for c in codes]

    def linked(i: int, j: int) -> bool:
        return (few[i] and _determines(codes[i], codes[j]) >= threshold) or (
            few[j] and _determines(codes[j], codes[i]) >= threshold
        )

    for i in range(n):
        if not categorical[i]:
            continue
        for j in range(n):
            if j == i or (categorical[j] and j < i):
                continue
            if linked(i, j):
                parent[find(j)] = find(i)
    roots = sorted({find(i) for i in range(n) if categorical[i]})
    ids = {r: g for g, r in enumerate(roots)}
    return np.array([ids.get(find(i), -1) for i in range(n)], dtype=np.int64)
