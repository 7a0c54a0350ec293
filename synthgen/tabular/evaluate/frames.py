"""Analysis frames: every evaluated column as float64 (numbers, datetimes) or label strings.

Evaluation works on a copy of each table in which numeric columns are float64 (datetimes as
epoch seconds), categorical and boolean columns are object arrays of label strings (the form
``synthgen.schema.category_label`` gives; booleans read ``"True"``/``"False"``), and every
missing value is NaN. ``id`` and ``pii`` columns are left out: they are generated fresh, never
learned, so comparing them with the real data says nothing.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from synthgen.errors import DataError
from synthgen.schema import ColumnSpec, TableSchema, category_label

Kind = Literal["numeric", "datetime", "categorical", "boolean"]
CONTINUOUS_KINDS = ("numeric", "datetime")
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def column_kinds(schema: TableSchema) -> dict[str, Kind]:
    """The evaluated columns (schema order) and how each is compared."""
    kinds: dict[str, Kind] = {}
    for col in schema.columns:
        if col.type == "id" or col.pii:
            continue
        if col.type in ("continuous", "integer"):
            kinds[col.name] = "numeric"
        else:
            kinds[col.name] = col.type  # type: ignore[assignment]
    return kinds


def _as_float(values: pd.Series, spec: ColumnSpec) -> np.ndarray:
    if spec.type == "datetime":
        s = values
        if not pd.api.types.is_datetime64_any_dtype(s):
            s = pd.to_datetime(s.astype(object), format=spec.format, errors="coerce")
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        s = s.astype("datetime64[ns]")
        miss = s.isna().to_numpy()
        ns = s.to_numpy().view(np.int64).astype(np.float64)
        return np.where(miss, np.nan, ns / 1e9)
    out = pd.to_numeric(values, errors="coerce")
    return pd.Series(out).to_numpy(dtype=np.float64, na_value=np.nan)


def _as_labels(values: pd.Series, spec: ColumnSpec, missing: set[str]) -> np.ndarray:
    def label(v: object) -> object:
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            return np.nan
        if spec.type == "boolean":
            text = str(v).strip().lower()
            if text in _TRUE:
                return "True"
            if text in _FALSE:
                return "False"
        text = category_label(v) if isinstance(v, (bool, int, float, np.generic)) else str(v)
        return np.nan if text in missing else text

    inverse, uniq = pd.factorize(values.astype(object), use_na_sentinel=True)
    labels = np.array(
        [label(v.item() if isinstance(v, np.generic) else v) for v in uniq] + [np.nan], dtype=object
    )
    return labels[inverse]  # sentinel -1 picks the trailing NaN


def prepare(df: pd.DataFrame, schema: TableSchema, what: str) -> pd.DataFrame:
    """The analysis frame of ``df`` (see the module doc); DataError if a column is absent."""
    kinds = column_kinds(schema)
    absent = [name for name in kinds if name not in df.columns]
    if absent:
        raise DataError(
            f"The {what} table lacks column(s) {', '.join(absent)} named in the schema."
        )
    missing = set(schema.missing_values)
    out = {}
    for name, kind in kinds.items():
        spec = schema.column(name)
        values = df[name].reset_index(drop=True)
        if kind in CONTINUOUS_KINDS:
            out[name] = _as_float(values, spec)
        else:
            out[name] = _as_labels(values, spec, missing)
    return pd.DataFrame(out)


def subsample(df: pd.DataFrame, n: int | None, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``n`` rows drawn without replacement (all rows, in order, when it is enough)."""
    if n is None or len(df) <= n:
        return df.reset_index(drop=True)
    idx = np.sort(rng.choice(len(df), size=n, replace=False))
    return df.iloc[idx].reset_index(drop=True)
