"""Exact parsing of numbers written as text: Arrow's fast paths, and exact integers beyond the
2**53 that float64 holds exactly (used by :mod:`synthgen.tabular.io.coerce`)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_INT64 = (-(2**63), 2**63 - 1)


def exact_integers(
    source: pd.Series, vals: np.ndarray, finite: np.ndarray, exact: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact int64 values of an integer column, and where values do not fit int64. Values
    beyond 2**53 (where float64 is no longer exact) are read again from ``source``."""
    beyond = np.zeros(len(vals), dtype=bool)
    if exact is not None:
        return exact, beyond
    with np.errstate(invalid="ignore"):
        big = finite & (np.abs(vals) >= 2.0**53)
    arr = np.where(finite & ~big, vals, 0).astype("int64")
    for i in np.flatnonzero(big):
        value = _exact_int(source.iloc[i])
        if value is None or not _INT64[0] <= value <= _INT64[1]:
            beyond[i] = True
        else:
            arr[i] = value
    return arr, beyond


def _exact_int(value: Any) -> int | None:
    """The exact integer a value spells ("12345678901234567890", "1e300", 2.0**60), or None."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                number = Decimal(value)
            except InvalidOperation:
                return None
            if not number.is_finite() or number != number.to_integral_value():
                return None
            if number.adjusted() > 40:  # far beyond int64: no need to build the integer
                return 2**64
            return int(number)
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _arrow_strings(strings: pd.Series, missing: np.ndarray) -> pa.Array:
    """The strings as an Arrow array, missing values as nulls."""
    arr = pa.array(strings, type=pa.string(), from_pandas=True)
    if missing.any():
        arr = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), arr)
    return arr


def fast_float(strings: pd.Series, missing: np.ndarray) -> np.ndarray | None:
    """Parse decimal strings with Arrow (fast); None when some value does not parse."""
    try:
        arr = _arrow_strings(strings, missing)
        return np.asarray(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), "float64")
    except (pa.ArrowException, TypeError, ValueError):
        return None


def fast_int(strings: pd.Series, missing: np.ndarray) -> np.ndarray | None:
    """Exact int64 parse of decimal integer strings (missing as 0); None if any is not one."""
    try:
        arr = _arrow_strings(strings, missing)
        if pc.any(pc.match_substring(arr, "x", ignore_case=True)).as_py():
            return None  # Arrow would read hex
        ints = pc.cast(arr, pa.int64())
        return np.asarray(ints.fill_null(0).to_numpy(zero_copy_only=False), "int64")
    except (pa.ArrowException, TypeError, ValueError):
        return None
