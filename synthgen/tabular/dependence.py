"""Columns that determine each other: a value of one fixes the value of the other in the data
(Adult's education and education-num). ``schema infer`` proposes a ``fixed_combinations``
constraint for each such pair, and evaluation reports synthetic rows whose combination of them
never occurs in the real data."""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_VALUES = 100  # columns with more distinct values are not checked
MIN_ROWS_PER_VALUE = 10  # a determining column's values must each be seen about this often
MIN_ROWS = 50


def codes(values: pd.Series) -> np.ndarray:
    """int64 codes of a column's values (missing is a value of its own)."""
    out, _ = pd.factorize(values.astype(object), use_na_sentinel=False)
    return np.asarray(out, dtype=np.int64)


def determines(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether every value of ``a`` comes with one value of ``b`` only (``b`` not constant)."""
    if len(np.unique(b)) < 2:
        return False
    width = int(b.max()) + 1
    pairs = np.unique(a * width + b)
    return len(pairs) == len(np.unique(a))


def dependent_pairs(frame: pd.DataFrame, columns: list[str]) -> list[list[str]]:
    """Pairs ``[a, b]`` (in ``columns`` order) of which one determines the other in ``frame``,
    among columns of at most ``MAX_VALUES`` distinct values whose determining column is seen
    at least ``MIN_ROWS_PER_VALUE`` times per value on average (so that chance, on small data,
    is not taken for a rule). Each pair once."""
    n = len(frame)
    if n < MIN_ROWS:
        return []
    coded = {}
    for name in columns:
        c = codes(frame[name])
        k = len(np.unique(c))
        if 2 <= k <= MAX_VALUES:
            coded[name] = (c, k)
    names = list(coded)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            (ca, ka), (cb, kb) = coded[a], coded[b]
            forward = ka * MIN_ROWS_PER_VALUE <= n and determines(ca, cb)
            backward = kb * MIN_ROWS_PER_VALUE <= n and determines(cb, ca)
            if forward or backward:
                pairs.append([a, b])
    return pairs


def unseen_share(real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Per synthetic row, whether its combination of ``columns`` never occurs in ``real``."""

    def keys(frame: pd.DataFrame) -> pd.Index:
        parts = [frame[c].astype("string").fillna("\0missing") for c in columns]
        return pd.MultiIndex.from_arrays(parts)

    return ~keys(synthetic).isin(keys(real))
