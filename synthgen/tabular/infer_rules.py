"""Rules of schema inference about single values: boolean spellings, integers beyond int64,
infinite numbers and dates outside datetime64[ns] (refused: validation would refuse them), and
personal data."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from synthgen.errors import DataError
from synthgen.schema import BOOLEAN_PAIRS
from synthgen.tabular.io.formats import WHITESPACE

INT64_MAX = 2**63 - 1
_TRUE_WORDS = {"true", "yes", "t", "y"}


def json_booleans(col: pd.Series) -> bool:
    data = col.dropna()
    return len(data) > 0 and all(isinstance(v, (bool, np.bool_)) for v in data)


def true_false(spellings: list[str]) -> list[str] | None:
    """The tokens a boolean column is written with (``[yes, no]``, ``[Y, N]``), when each of
    true and false has one spelling in the data; the missing one is paired in the same case."""
    trues = [v for v in spellings if v.lower() in _TRUE_WORDS]
    falses = [v for v in spellings if v.lower() not in _TRUE_WORDS]
    if len(trues) > 1 or len(falses) > 1:
        return None
    pairs = {**BOOLEAN_PAIRS, **{f: t for t, f in BOOLEAN_PAIRS.items()}}
    if trues and falses:
        if pairs[trues[0].lower()] != falses[0].lower():
            return None  # yes with false: not one pair of words
        return [trues[0], falses[0]]
    one = (trues or falses)[0]
    other = pairs[one.lower()]
    if one.isupper():
        other = other.upper()
    elif one[:1].isupper():
        other = other.capitalize()
    return [one, other] if trues else [other, one]


def beyond_int64(uniques: pd.Series) -> bool:
    """Whether integer literals (``[+-]digits``) include one that int64 cannot hold."""
    long = [str(u) for u in uniques if len(str(u).lstrip("+-").lstrip("0")) >= 19]
    return any(not -(2**63) <= int(u) <= INT64_MAX for u in long)


def _first_row(col: pd.Series, value: Any) -> str:
    text = (
        col.astype(str).str.strip(WHITESPACE)
        if col.dtype == object or isinstance(col.dtype, pd.StringDtype)
        else col
    )
    hits = np.flatnonzero((text == value).to_numpy(dtype=bool, na_value=False))
    return f" (row {hits[0] + 1})" if len(hits) else ""


def refuse_infinite(name: str, col: pd.Series, uniques: pd.Series, nums: np.ndarray) -> None:
    bad = np.flatnonzero(np.isinf(nums))
    if len(bad):
        value = uniques.iloc[bad[0]]
        raise DataError(
            f"column '{name}' holds an infinite value: {str(value)!r}{_first_row(col, value)}; "
            "synthgen models finite numbers only. Replace such values, or list the token in "
            "the schema's missing_values to read it as missing."
        )


def refuse_outside_ns(name: str, col: pd.Series, uniques: pd.Series, parsed: pd.Series) -> None:
    with np.errstate(invalid="ignore"):
        outside = ((parsed < pd.Timestamp.min) | (parsed > pd.Timestamp.max)).to_numpy(
            dtype=bool, na_value=False
        )
    bad = np.flatnonzero(outside)
    if len(bad):
        value = uniques.iloc[bad[0]]
        raise DataError(
            f"column '{name}' holds a date outside the supported range (years 1677-2262): "
            f"{str(value)!r}{_first_row(col, value)}; fix or drop such dates, or read the "
            "column as text (type: categorical)."
        )


_PII_NAMES = {
    "email",
    "e_mail",
    "mail",
    "phone",
    "phone_number",
    "telephone",
    "mobile",
    "ssn",
    "first_name",
    "last_name",
    "full_name",
    "surname",
    "address",
    "street",
    "ip_address",
}
_EMAIL_RE = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"


def looks_like_pii(name: str, uniques: list[str]) -> bool:
    """Personal data (e-mail addresses, names, phones) is flagged so it is never copied."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.strip()).lower()
    snake = re.sub(r"[\-\s.]+", "_", snake)
    if snake in _PII_NAMES:
        return True
    sample = uniques[:200]
    return bool(sample) and all(re.fullmatch(_EMAIL_RE, v) for v in sample)
