"""How a text column's distinct values read: the counts of their stripped forms, and whether
they are all booleans, integers, numbers or dates (and in which format)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.schema import category_label
from synthgen.tabular.io.formats import WHITESPACE

#: Datetime formats tried, most specific first.
DATETIME_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
)

_INT_RE = r"[+-]?\d+"
_FLOAT_RE = r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity)"
_BOOL_WORDS = {"true", "false", "yes", "no", "t", "f", "y", "n"}


def text_counts(col: pd.Series) -> pd.Series:
    """value -> count over the stripped string forms of a text (or mixed object) column."""
    if isinstance(col.dtype, pd.StringDtype):
        counts = col.str.strip(WHITESPACE).value_counts(dropna=True)
        n_na = int(col.isna().sum())
    else:
        counts_raw = col.value_counts(dropna=True)
        labels = [
            v.strip(WHITESPACE)
            if isinstance(v, str)
            else category_label(v)
            if _plain(v)
            else str(v)
            for v in counts_raw.index
        ]
        counts = pd.Series(counts_raw.to_numpy(), index=labels).groupby(level=0).sum()
        n_na = int(col.isna().sum())
    counts.index = counts.index.astype(object)
    if n_na:
        # JSON null / Parquet null: count as the empty token
        counts = counts.add(pd.Series({"": n_na}), fill_value=0).astype("int64")
    return counts


def _plain(value: Any) -> bool:
    if isinstance(value, np.generic):
        value = value.item()
    return isinstance(value, (str, int, float, bool))


def text_kind(uniques: pd.Series) -> tuple[str, str | None]:
    if len(uniques) == 0:
        return "empty", None
    text = uniques.astype(str)
    if text.str.lower().isin(_BOOL_WORDS).all() and not text.str.fullmatch(r"[01]").all():
        return "boolean", None
    if text.str.fullmatch(_INT_RE).all():
        return "integer", None
    if text.str.lower().str.fullmatch(_FLOAT_RE).all():
        return "continuous", None
    fmt = datetime_format(text)
    if fmt is not None:
        return "datetime", fmt or None
    return "categorical", None


def datetime_format(text: pd.Series) -> str | None:
    if not text.str.contains(r"^\d", regex=True).all():
        return None
    sample = text.iloc[:2000]
    matches = []
    for fmt in DATETIME_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().all():
            matches.append(fmt)
    if not matches:
        # other ISO 8601 forms (time zones, offsets): read with format=None as ISO 8601
        try:
            parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        except (ValueError, TypeError):
            return None
        return "" if parsed.notna().all() else None
    fmt = matches[0]
    if len(text) > len(sample):
        if pd.to_datetime(text, format=fmt, errors="coerce").isna().any():
            return None
    return fmt
