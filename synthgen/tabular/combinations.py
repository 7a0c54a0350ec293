"""fixed_combinations constraints at generation: the combinations seen at fit time, checked
on every drawn row, and repaired where one column of the constraint determines the others.

When one column's value fixes the whole combination (Adult's education fixes education-num),
the other columns are set from it, so a drawn row is valid without being drawn again; rows
whose determining value is not a known one are still checked and rejected. A constraint where
no column determines the rest is enforced by rejection alone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def combination_keys(frame: pd.DataFrame, columns: list[str]) -> pd.MultiIndex:
    """The rows' value combinations as labels (str, None for missing), vectorised: what
    fixed_combinations constraints store at fit time and check at generation."""
    labels = {name: _labels(frame[name]) for name in columns}
    return pd.MultiIndex.from_arrays([labels[name] for name in columns], names=columns)


def _labels(column: pd.Series) -> np.ndarray:
    return column.astype("string").to_numpy(dtype=object, na_value=None)


_MISSING = "\x00missing"  # the lookup key of a missing value (None does not hash reliably)


def _keys(labels: np.ndarray) -> np.ndarray:
    keys = labels.copy()
    keys[pd.isna(keys)] = _MISSING
    return keys


def _plain(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


class FixedCombination:
    """One constraint: its allowed combinations, and the column that determines the rest."""

    def __init__(self, columns: list[str], values: list[list[Any]]) -> None:
        self.columns = list(columns)
        combos = [tuple(_plain(v) for v in row) for row in values]
        self.allowed = pd.MultiIndex.from_tuples(combos, names=self.columns)
        self.source: int | None = None
        for i in range(len(self.columns)):
            keys = [c[i] for c in combos]
            if len(set(keys)) == len(keys):  # this column's value fixes the combination
                self.source = i
                self._keys = pd.Index(_keys(np.array(keys, dtype=object)))
                self._arrow_keys = pa.array(keys, type=pa.large_string())
                self._targets = {
                    j: [c[j] for c in combos] for j in range(len(self.columns)) if j != i
                }
                break
        self._typed: dict[int, Any] = {}

    def repair(self, df: pd.DataFrame) -> pd.DataFrame:
        """Set the determined columns from the determining one, where its value is known."""
        return self.repair_valid(df)[0]

    def repair_valid(self, df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """``repair``, and which rows it made valid by construction (every determined column
        set from a known, non-missing determining value): ``accept`` need not look at them."""
        valid = np.zeros(len(df), dtype=bool)
        if self.source is None or not len(df):
            return df, valid
        pos, missing = self._positions(df[self.columns[self.source]])
        hit = pos >= 0
        if not hit.any():
            return df, valid
        complete = True
        for j, targets in self._targets.items():
            name = self.columns[j]
            typed = self._typed_values(j, targets, df[name])
            if typed is None:  # a dtype the labels cannot be read back into: reject instead
                complete = False
                continue
            column = df[name].array.copy()
            column[hit] = typed[pos[hit]]
            df[name] = column
        if complete:
            valid = hit & ~missing
        return df, valid

    def _positions(self, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Where each row's determining value is among the combinations (-1: nowhere; a
        missing value matches a missing key), and which rows miss it. A string column is
        looked up in Arrow (no Python strings); others through their labels."""
        if isinstance(column.dtype, pd.StringDtype):
            try:
                arr = pa.array(column.array, type=pa.large_string())
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
                arr = None
            if arr is not None:
                pos = pc.index_in(arr, value_set=self._arrow_keys, skip_nulls=False)
                missing = arr.is_null().to_numpy(zero_copy_only=False)
                return pos.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64), missing
        labels = _labels(column)
        return self._keys.get_indexer(_keys(labels)), np.asarray(pd.isna(labels), dtype=bool)

    def accept(self, df: pd.DataFrame, valid: np.ndarray | None = None) -> np.ndarray:
        """Which rows hold an allowed combination (rows marked ``valid`` by ``repair_valid``
        are allowed by construction and not looked up)."""
        if valid is None or not len(valid) == len(df):
            return np.asarray(combination_keys(df, self.columns).isin(self.allowed), dtype=bool)
        ok = np.ones(len(df), dtype=bool)
        rest = ~valid
        if rest.any():
            keys = combination_keys(df.iloc[np.flatnonzero(rest)], self.columns)
            ok[rest] = np.asarray(keys.isin(self.allowed), dtype=bool)
        return ok

    def _typed_values(self, j: int, labels: list[str | None], column: pd.Series) -> Any:
        """The labels as values of the column's dtype (cached per dtype), or None."""
        if j not in self._typed:
            try:
                if pd.api.types.is_bool_dtype(column.dtype):
                    flags = {"True": True, "False": False, None: None}
                    typed = pd.array([flags[v] for v in labels], dtype="boolean")
                    typed = typed.astype(column.dtype)
                else:
                    typed = pd.array(labels, dtype="string").astype(column.dtype)
                back = pd.Series(typed).astype("string").to_numpy(dtype=object, na_value=None)
                ok = list(back) == labels  # the round trip must give the same labels
            except (TypeError, ValueError, KeyError):
                typed, ok = None, False
            self._typed[j] = typed if ok else None
        return self._typed[j]
