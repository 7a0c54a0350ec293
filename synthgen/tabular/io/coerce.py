"""Coercing a raw frame to the typed-frame convention of a schema, with every problem found
collected into one DataError (see :mod:`synthgen.tabular.io.formats`).

Strict by default: missing/extra/duplicate columns, wrong types, out-of-range values, unknown
categories, nulls in non-nullable columns, NaN/inf and unparsable datetimes are refused.
``strict_values=False`` checks structure and types only and keeps out-of-range values and unseen
categories (anomaly screening scores them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from synthgen.dtypes import STRING_DTYPE
from synthgen.errors import DataError
from synthgen.schema import ColumnSpec, TableSchema, category_label
from synthgen.tabular.io.formats import DTYPES, WHITESPACE, value_label
from synthgen.tabular.io.numbers import exact_integers, fast_float, fast_int

_MAX_PROBLEMS = 40
_TRUE = ("true", "yes", "1", "t", "y")
_FALSE = ("false", "no", "0", "f", "n")
_NAN_WORDS = ("nan", "+nan", "-nan")
_DT_RANGE = "are dates outside the supported range (years 1677-2262)"


def validate_frame(
    frame: pd.DataFrame,
    schema: TableSchema,
    *,
    source: str = "Data",
    strict_values: bool = True,
    allow_extra: bool = False,
    row_offset: int = 0,
) -> pd.DataFrame:
    """Convert ``frame`` (strings or stored types) to the typed-frame convention of ``schema``.

    Collects every problem into one DataError whose message starts with ``source``. Rows are
    numbered from 1 (``row_offset`` is added, for chunks). Returns a new frame in schema order;
    with ``allow_extra`` columns not in the schema are dropped instead of refused.
    """
    problems: list[str] = []
    names = [str(c) for c in frame.columns]
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    dups = [n for n, k in counts.items() if k > 1]
    if dups:
        problems.append(f"duplicate column name(s) in the header: {_names(dups)}")
    expected = schema.column_names
    missing = [n for n in expected if n not in counts]
    extra = [n for n in counts if n not in set(expected)]
    if missing:
        problems.append(f"missing column(s): {_names(missing)}")
    if extra and not allow_extra:
        problems.append(f"extra column(s) not in the schema: {_names(extra)}")
    tokens = list(schema.missing_values)
    out: dict[str, pd.Series] = {}
    positions = {n: i for i, n in enumerate(names)}
    for spec in schema.columns:
        if spec.name not in counts:
            continue
        col = frame.iloc[:, positions[spec.name]]
        if counts[spec.name] > 1:
            continue  # reported as duplicate; values ambiguous
        values, col_problems = _convert(col, spec, tokens, strict_values, row_offset)
        out[spec.name] = values
        problems.extend(f"column '{spec.name}': {p}" for p in col_problems)
    if problems:
        shown = problems[:_MAX_PROBLEMS]
        more = len(problems) - len(shown)
        tail = f"; and {more} more problem(s)" if more > 0 else ""
        raise DataError(
            f"{source} does not match schema '{schema.name}': " + "; ".join(shown) + tail + "."
        )
    result = pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
    return result[expected]


def _names(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    if len(names) > limit:
        shown += f" and {len(names) - limit} more"
    return shown


def _show(value: Any) -> str:
    text = (
        value
        if isinstance(value, str)
        else category_label(value)
        if _is_scalar(value)
        else str(value)
    )
    if len(text) > 40:
        text = text[:37] + "..."
    return repr(text)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _examples(col: pd.Series, mask: np.ndarray, row_offset: int, what: str) -> str:
    idx = np.flatnonzero(mask)
    count = len(idx)
    shown = ", ".join(f"{_show(col.iloc[i])} (row {row_offset + i + 1})" for i in idx[:3])
    return f"{count} value(s) {what}: {shown}"


def _as_strings(col: pd.Series) -> pd.Series:
    """Values as stripped strings (NaN where missing); non-strings via category_label."""
    if isinstance(col.dtype, pd.StringDtype):
        try:  # ASCII whitespace, in Arrow: ~10x faster than str.strip() on large columns
            arr = pa.array(col, type=pa.string(), from_pandas=True)
            return pd.Series(pc.ascii_trim_whitespace(arr).to_pandas(), index=col.index)
        except (pa.ArrowException, TypeError, ValueError):
            return col.str.strip(WHITESPACE)
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    labels = np.array(
        [u.strip(WHITESPACE) if isinstance(u, str) else value_label(u) for u in uniques],
        dtype=object,
    )
    if len(labels) == 0:
        return pd.Series(
            np.full(len(col), np.nan, dtype=object), index=col.index, dtype=STRING_DTYPE
        )
    out = np.where(codes >= 0, labels[np.maximum(codes, 0)], None)
    return pd.Series(out, index=col.index, dtype=STRING_DTYPE)


def _convert(
    col: pd.Series, spec: ColumnSpec, tokens: list[str], strict: bool, row_offset: int
) -> tuple[pd.Series, list[str]]:
    col = col.reset_index(drop=True)
    problems: list[str] = []
    exact: np.ndarray | None = None  # int64 values when known exactly (beyond 2**53)
    kind = spec.type
    dtype = col.dtype
    native_numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    native_bool = pd.api.types.is_bool_dtype(dtype)
    native_dt = pd.api.types.is_datetime64_any_dtype(dtype)

    if kind in ("integer", "continuous") and native_numeric:
        vals = (
            col.astype("float64")
            if not isinstance(dtype, pd.Int64Dtype)
            else col.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
        )
        vals = np.asarray(vals, dtype="float64")
        missing = np.isnan(vals)
        strings = col
        if kind == "integer" and pd.api.types.is_signed_integer_dtype(dtype):
            exact = col.to_numpy(dtype="int64", na_value=0)
        wrong = np.zeros(len(col), dtype=bool)
        nonfinite = np.isinf(vals)
    elif kind == "boolean" and native_bool:
        values = col.astype("boolean")
        missing = values.isna().to_numpy()
        return _finish(values, spec, missing, problems, col, row_offset)
    elif kind == "datetime" and native_dt:
        values = col
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        missing = values.isna().to_numpy()
        outside = _outside_ns(values)
        if outside.any():
            problems.append(_examples(col, outside, row_offset, _DT_RANGE))
            return pd.Series(dtype="datetime64[ns]"), problems
        values = values.astype("datetime64[ns]")
        return _finish(values, spec, missing, problems, col, row_offset)
    else:
        strings = _as_strings(col)
        missing = (strings.isna() | strings.isin(tokens)).to_numpy()
        if kind in ("categorical", "id"):
            values = strings.where(~missing)
            if strict and spec.values is not None:
                cats = spec.categories or []
                unknown = ~missing & ~values.isin(cats).to_numpy()
                if unknown.any():
                    known = ", ".join(repr(c) for c in cats[:8])
                    if len(cats) > 8:
                        known += f", ... ({len(cats)} in all)"
                    problems.append(
                        _examples(strings, unknown, row_offset, "not in the category set")
                        + f" (known: {known})"
                    )
            return _finish(values, spec, missing, problems, strings, row_offset)
        if kind == "boolean":
            low = strings.str.lower()
            t, f = (x.strip().lower() for x in spec.true_false or ("true", "false"))
            is_true = ((low == t) | (low.isin(_TRUE) & (low != f))).to_numpy(bool, na_value=False)
            is_false = ((low == f) | (low.isin(_FALSE) & (low != t))).to_numpy(bool, na_value=False)
            wrong = ~missing & ~is_true & ~is_false
            if wrong.any():
                words = "/".join(spec.true_false) + "/" if spec.true_false else ""
                problems.append(
                    _examples(
                        strings, wrong, row_offset, f"not boolean ({words}true/false/yes/no/1/0)"
                    )
                )
            arr = pd.array(np.where(is_true, True, False), dtype="boolean")
            arr[~(is_true | is_false)] = pd.NA
            return _finish(pd.Series(arr), spec, missing, problems, strings, row_offset)
        if kind == "datetime":
            return _parse_datetime(strings, spec, missing, problems, row_offset)
        # numeric from strings
        vals = fast_float(strings, missing)
        if kind == "integer" and vals is not None:
            exact = fast_int(strings, missing)
        if vals is not None:  # every value parsed: NaN now means a "nan" literal
            nan_word = np.isnan(vals) & ~missing
            wrong = np.zeros(len(vals), dtype=bool)
        else:
            masked = strings.where(~missing)
            vals = pd.to_numeric(masked, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            nan_word = strings.str.lower().isin(_NAN_WORDS).to_numpy() & ~missing
            wrong = np.isnan(vals) & ~missing & ~nan_word
        nonfinite = np.isinf(vals) | nan_word
        if wrong.any():
            noun = "integers" if kind == "integer" else "numbers"
            problems.append(_examples(strings, wrong, row_offset, f"are not {noun}"))
        vals = np.where(wrong | nan_word, np.nan, vals)

    # numeric (both paths)
    if nonfinite.any():
        problems.append(_examples(strings, nonfinite, row_offset, "are NaN or infinite"))
    finite = ~missing & ~wrong & ~nonfinite
    if kind == "integer":
        with np.errstate(invalid="ignore"):
            frac = finite & (vals != np.floor(vals))
        if frac.any():
            problems.append(_examples(strings, frac, row_offset, "are not integers"))
            finite &= ~frac
        exact, beyond = exact_integers(strings, vals, finite, exact)
        if beyond.any():
            problems.append(
                _examples(strings, beyond, row_offset, "are beyond the 64-bit integer range")
                + "; type the column as continuous"
            )
            finite &= ~beyond
    if strict:
        with np.errstate(invalid="ignore"):
            low = finite & (vals < spec.min) if spec.min is not None else None
            high = finite & (vals > spec.max) if spec.max is not None else None
        out = None
        if low is not None:
            out = low
        if high is not None:
            out = high if out is None else (out | high)
        if out is not None and out.any():
            problems.append(_examples(strings, out, row_offset, f"out of range [{_rng(spec)}]"))
    if problems:
        return pd.Series(dtype="float64"), problems
    if kind == "integer":
        values = pd.Series(pd.arrays.IntegerArray(np.where(finite, exact, 0), ~finite))
    else:
        values = pd.Series(np.where(finite, vals, np.nan))
    return _finish(values, spec, missing, problems, strings, row_offset)


def _outside_ns(values: pd.Series) -> np.ndarray:
    """Where datetimes lie outside what datetime64[ns] holds (years 1677-2262)."""
    valid = values.notna()
    if not valid.any():
        return np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        low = values < pd.Timestamp.min
        high = values > pd.Timestamp.max
    return ((low | high) & valid).to_numpy(dtype=bool)


def _rng(spec: ColumnSpec) -> str:
    lo = "-inf" if spec.min is None else f"{spec.min:g}"
    hi = "inf" if spec.max is None else f"{spec.max:g}"
    return f"{lo}, {hi}"


def _parse_datetime(
    strings: pd.Series,
    spec: ColumnSpec,
    missing: np.ndarray,
    problems: list[str],
    row_offset: int,
) -> tuple[pd.Series, list[str]]:
    fmt = spec.format or "ISO8601"
    masked = strings.where(~missing)
    try:
        parsed = pd.to_datetime(masked, format=fmt, errors="coerce")
    except (ValueError, TypeError):
        parsed = pd.to_datetime(masked, format=fmt, errors="coerce", utc=True)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = ~missing & parsed.isna().to_numpy()
    if bad.any():
        shown = f"format '{spec.format}'" if spec.format else "an ISO 8601 format"
        problems.append(
            _examples(strings, bad, row_offset, f"cannot be parsed as dates in {shown}")
        )
        return pd.Series(dtype="datetime64[ns]"), problems
    outside = _outside_ns(parsed)
    if outside.any():
        problems.append(_examples(strings, outside, row_offset, _DT_RANGE))
        return pd.Series(dtype="datetime64[ns]"), problems
    try:
        parsed = parsed.astype("datetime64[ns]")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        problems.append(_DT_RANGE.replace("are ", "some values are ", 1))
        return pd.Series(dtype="datetime64[ns]"), problems
    return _finish(parsed, spec, missing, problems, strings, row_offset)


def _finish(
    values: pd.Series,
    spec: ColumnSpec,
    missing: np.ndarray,
    problems: list[str],
    shown: pd.Series,
    row_offset: int,
) -> tuple[pd.Series, list[str]]:
    if not spec.nullable and missing.any():
        idx = np.flatnonzero(missing)
        rows = ", ".join(str(row_offset + i + 1) for i in idx[:3])
        problems.append(
            f"{len(idx)} missing value(s) in a column that is not nullable (rows {rows}"
            f"{', ...' if len(idx) > 3 else ''}); mark it 'nullable: true' or fix the data"
        )
    if problems:
        return values, problems
    target = DTYPES[spec.type]
    if str(values.dtype) != target:
        values = values.astype(target)
    return values.reset_index(drop=True), problems
