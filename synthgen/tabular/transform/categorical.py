"""One-hot encoders for categorical and boolean columns.

Slot layout of a column's one-hot block: the kept categories, then an "other" slot when rare
categories were grouped (more than ``max_categories`` of them), then a missing slot when the
column is nullable (or held missing values when fitted).

* Grouped categories are never dropped: they encode to the "other" slot, and decoding that slot
  samples one of them by its training frequency (stored in the state).
* A value the encoder has never seen (possible only when data was not validated strictly, e.g.
  when scoring anomalies) encodes as an all-zero block: nothing crashes, and an autoencoder's
  reconstruction error for that row is high. A missing value in a column fitted without a
  missing slot encodes the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from synthgen.dtypes import STRING_DTYPE
from synthgen.schema import category_label
from synthgen.tabular.transform.base import ColumnEncoder, Span, one_hot
from synthgen.tabular.transform.private import (
    RARE,
    noisy_threshold,
    private_categories,
)

OTHER = "<other>"


def labels_of(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Category labels (object array of str, None where missing) and the missing mask."""
    s = pd.Series(values)
    miss = s.isna().to_numpy()
    out = np.empty(len(s), dtype=object)
    present = s[~miss]
    if len(present):
        uniq = pd.unique(present)
        if all(isinstance(u, str) for u in uniq):
            out[~miss] = present.to_numpy(dtype=object)
        else:
            mapping = {u: u if isinstance(u, str) else category_label(u) for u in uniq}
            out[~miss] = present.map(mapping).to_numpy(dtype=object)
    out[miss] = None
    return out, miss


class CategoricalEncoder(ColumnEncoder):
    """One softmax span over the categories (+ "other" + missing slots)."""

    kind = "categorical"
    _keep_undeclared = True  # data values outside the declared set get slots (not validated)

    def __init__(self, spec, *, max_categories: int = 100) -> None:
        if max_categories < 2:
            raise ValueError("max_categories must be at least 2")
        super().__init__(spec, max_categories=max_categories)

    # ------------------------------------------------------------------ layout
    @property
    def slot_labels(self) -> list[str | None]:
        """Label of every slot: categories, ``other_label_`` if grouped, None for missing."""
        labels: list[str | None] = list(self.categories_)
        if self.grouped_:
            labels.append(self.other_label_)
        if self.rare_:
            labels.append(self.rare_label_)
        if self.has_missing_:
            labels.append(None)
        return labels

    @property
    def output_labels(self) -> list[str | None]:
        """Every value decoding can give (None: missing): the categories, the grouped ones
        and the rare placeholder."""
        return self._values.to_pylist()

    @property
    def slot_counts(self) -> np.ndarray:
        """Training count of every slot (int64), in slot order."""
        return self.counts_.copy()

    def slot_index(self, value: Any) -> int:
        """Slot of one value (None/NaN = the missing slot); KeyError when it has none."""
        self._check_fitted()
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            if self.has_missing_:
                return len(self.counts_) - 1
            raise KeyError(f"column '{self.column}' has no missing slot")
        label = self._label(value)
        idx = self._lookup.get(label)
        if idx is None:
            raise KeyError(f"{value!r} is not a category of column '{self.column}'")
        return idx

    def _label(self, value: Any) -> str:
        return value if isinstance(value, str) else category_label(value)

    def _build(self) -> None:
        k = len(self.categories_)
        self._lookup = {c: i for i, c in enumerate(self.categories_)}
        self._lookup.update({c: k for c in self.grouped_})
        self._index = pd.Index(list(self.categories_) + list(self.grouped_), dtype=object)
        self._slot_of = np.array(list(range(k)) + [k] * len(self.grouped_), dtype=np.int64)
        rare = [self.rare_label_] if self.rare_ else []
        self._values = pa.array(
            [*self.categories_, *self.grouped_, *rare, None], type=pa.large_string()
        )
        self._spans = [Span(self.column, len(self.counts_), "softmax", "category")]
        self._rare_slot = k + bool(self.grouped_)

    # ------------------------------------------------------------------ hooks
    def _declared(self) -> list[str] | None:
        return self.spec.categories

    def _fit(self, values: pd.Series, rng: np.random.Generator) -> None:
        labels, miss = self._labels(values)
        declared = self._declared()
        prot = getattr(self, "protection", None)
        rare_count = 0
        if prot is not None and prot.private:
            cats, freq, rare_count, n_missing = private_categories(
                labels[~miss], int(miss.sum()), declared, self._keep_undeclared, prot, rng
            )
            has_missing = bool(self.spec.nullable)
            self.rare_ = self._keep_undeclared  # always there: its presence says nothing
        else:
            counts = pd.Series(labels[~miss], dtype=object).value_counts()
            if declared is not None:
                extra = sorted(set(counts.index) - set(declared)) if self._keep_undeclared else []
                cats = list(declared) + extra
            else:
                cats = sorted(counts.index)
            freq = counts.reindex(cats, fill_value=0).to_numpy(dtype=np.int64)
            if prot is not None and prot.min_count > 0 and self._keep_undeclared:
                common = freq >= noisy_threshold(prot.min_count, rng)
                rare_count = int(freq[~common].sum())
                cats = [c for c, k in zip(cats, common, strict=True) if k]
                freq = freq[common]
            has_missing = bool(self.spec.nullable or miss.any())
            n_missing = int(miss.sum())
            self.rare_ = rare_count > 0
        self.rare_mode_ = "sample"
        if prot is not None and prot.rare_values == "placeholder" and declared is None:
            self.rare_mode_ = "placeholder"
        rare_label = RARE
        while rare_label in cats:
            rare_label = f"<{rare_label}>"
        self.rare_label_ = rare_label
        cap = self.params["max_categories"]
        if len(cats) > cap:
            ranked = np.argsort(-freq, kind="stable")
            keep = np.zeros(len(cats), dtype=bool)
            keep[ranked[: cap - 1]] = True
        else:
            keep = np.ones(len(cats), dtype=bool)
        self.categories_ = [c for c, k in zip(cats, keep, strict=True) if k]
        self.grouped_ = [c for c, k in zip(cats, keep, strict=True) if not k]
        self.grouped_counts_ = freq[~keep]
        other = OTHER
        while other in cats:
            other = f"<{other}>"
        self.other_label_ = other
        self.has_missing_ = has_missing
        slot_counts = list(freq[keep])
        if self.grouped_:
            slot_counts.append(int(self.grouped_counts_.sum()))
        if self.rare_:
            slot_counts.append(int(rare_count))
        if self.has_missing_:
            slot_counts.append(n_missing)
        self.counts_ = np.asarray(slot_counts, dtype=np.int64)
        self._build()

    def _labels(self, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        return labels_of(values)

    def _transform(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        labels, miss = self._labels(values)
        slot = np.full(len(labels), -1, dtype=np.int64)
        if (~miss).any():
            pos = self._index.get_indexer(labels[~miss])
            unknown = self._rare_slot if self.rare_ else -1  # rare values train the rare slot
            known = self._slot_of[np.maximum(pos, 0)] if len(self._slot_of) else unknown
            slot[~miss] = np.where(pos >= 0, known, unknown)
        if self.has_missing_:
            slot[miss] = len(self.counts_) - 1
        return one_hot(slot, len(self.counts_))

    def _decode_slots(self, slot: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Drawn slots -> positions in ``_values`` (the categories, the grouped categories, then
        None): a grouped "other" slot becomes one of its categories, by training frequency."""
        k = len(self.categories_)
        index = slot.astype(np.int32)
        if self.grouped_:
            other = np.flatnonzero(slot == k)
            if len(other):
                total = self.grouped_counts_.sum()
                p = self.grouped_counts_ / total if total > 0 else None
                index[other] = k + rng.choice(len(self.grouped_), size=len(other), p=p)
        if self.rare_:
            rare = np.flatnonzero(slot == self._rare_slot)
            if len(rare) and self.rare_mode_ == "placeholder":
                index[rare] = len(self._values) - 2
            elif len(rare):  # one of the common categories, by frequency
                common = self.counts_[:k].astype(float)
                p = common / common.sum() if common.sum() > 0 else None
                index[rare] = rng.choice(k, size=len(rare), p=p) if k else len(self._values) - 1
        if self.has_missing_:
            index[slot == len(self.counts_) - 1] = len(self._values) - 1
        return index

    def _inverse_parts(
        self, values: np.ndarray, codes: np.ndarray, rng: np.random.Generator
    ) -> Any:
        # one Arrow take from the labels: no Python strings, no per-value work
        taken = self._values.take(self._decode_slots(codes[:, 0], rng))
        return STRING_DTYPE.__from_arrow__(taken)  # typed-frame convention: str, NaN missing

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {
            "categories": list(self.categories_),
            "grouped": list(self.grouped_),
            "other_label": self.other_label_,
            "has_missing": self.has_missing_,
            "rare": self.rare_,
            "rare_label": self.rare_label_,
            "rare_mode": self.rare_mode_,
        }, {
            "counts": self.counts_,
            "grouped_counts": np.asarray(self.grouped_counts_, dtype=np.int64),
        }

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.categories_ = [str(c) for c in state["categories"]]
        self.grouped_ = [str(c) for c in state["grouped"]]
        self.other_label_ = str(state["other_label"])
        self.has_missing_ = bool(state["has_missing"])
        self.rare_ = bool(state.get("rare", False))  # files written before value protection
        self.rare_label_ = str(state.get("rare_label", RARE))
        self.rare_mode_ = str(state.get("rare_mode", "sample"))
        if self.rare_mode_ not in ("sample", "placeholder"):
            raise KeyError("rare_mode (sample or placeholder)")
        self.counts_ = np.asarray(arrays["counts"], dtype=np.int64)
        self.grouped_counts_ = np.asarray(arrays["grouped_counts"], dtype=np.int64)
        width = len(self.categories_) + bool(self.grouped_) + self.rare_ + self.has_missing_
        if len(self.counts_) != width or len(self.grouped_counts_) != len(self.grouped_):
            raise KeyError("counts matching the categories")
        self._build()


class BooleanEncoder(CategoricalEncoder):
    """A 2-slot one-hot [False, True] (+ a missing slot); decodes to pandas' "boolean" dtype."""

    kind = "boolean"
    _keep_undeclared = False
    _TRUE = {"true", "t", "yes", "y", "1", "1.0"}
    _FALSE = {"false", "f", "no", "n", "0", "0.0"}

    def __init__(self, spec, **params: Any) -> None:
        super().__init__(spec, max_categories=2)

    def _declared(self) -> list[str] | None:
        return ["False", "True"]

    def _label(self, value: Any) -> str:
        low = str(value).strip().lower()
        if low in self._TRUE:
            return "True"
        if low in self._FALSE:
            return "False"
        return str(value)

    def _labels(self, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        s = pd.Series(values)
        miss = s.isna().to_numpy()
        out = np.empty(len(s), dtype=object)
        if pd.api.types.is_bool_dtype(s.dtype):
            flags = s.fillna(False).to_numpy(dtype=bool)
            out[:] = np.where(flags, "True", "False")
        else:
            present = s[~miss]
            mapping = {u: self._label(u) for u in pd.unique(present)}
            out[~miss] = present.map(mapping).to_numpy(dtype=object)
        out[miss] = None
        return out, miss

    def _inverse_parts(
        self, values: np.ndarray, codes: np.ndarray, rng: np.random.Generator
    ) -> Any:
        slot = codes[:, 0]
        miss = slot == len(self.counts_) - 1 if self.has_missing_ else np.zeros(len(slot), bool)
        flags = slot == self.categories_.index("True")
        return pd.arrays.BooleanArray(flags & ~miss, miss)
