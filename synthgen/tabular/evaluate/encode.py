"""Numeric encodings of analysis frames for distance- and model-based metrics.

* :class:`OneHotEncoding` -- scaled numbers (standardised, or divided by the real range) with a
  missing indicator, plus a one-hot of the most frequent real categories (the rest, and unseen
  values, share an "other" slot). Fitted on the real data only. Used by MMD, the privacy
  distances and the linear utility models.
* :class:`OrdinalEncoding` -- numbers as they are (NaN kept) and categories as integer codes,
  with a mask of which features are categorical. Used by HistGradientBoosting.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from synthgen.tabular.evaluate.frames import CONTINUOUS_KINDS, Kind


def _top_categories(values: pd.Series, limit: int) -> list[str]:
    counts = values.dropna().value_counts(sort=True)
    return [str(v) for v in counts.index[:limit]]


def _codes(values: pd.Series, categories: list[str]) -> np.ndarray:
    """Index of each value in ``categories``; -1 for other values and missing ones."""
    index = pd.Index(list(categories))
    return np.asarray(index.get_indexer(values.astype(object).to_numpy()), dtype=np.int64)


class OneHotEncoding:
    """Scaled numeric + one-hot encoding fitted on a real frame."""

    def __init__(
        self,
        kinds: dict[str, Kind],
        *,
        scale: Literal["standard", "range"] = "standard",
        max_categories: int = 50,
    ) -> None:
        self.kinds = kinds
        self.scale = scale
        self.max_categories = max_categories

    def fit(self, real: pd.DataFrame) -> OneHotEncoding:
        self.numeric_: dict[str, tuple[float, float, bool]] = {}
        self.categories_: dict[str, list[str]] = {}
        for name, kind in self.kinds.items():
            col = real[name]
            if kind in CONTINUOUS_KINDS:
                x = col.to_numpy(dtype=np.float64)
                obs = x[~np.isnan(x)]
                if len(obs) == 0:
                    obs = np.zeros(1)
                if self.scale == "standard":
                    centre, width = float(obs.mean()), float(obs.std())
                else:
                    centre, width = float(obs.min()), float(obs.max() - obs.min())
                self.numeric_[name] = (centre, width if width > 0 else 1.0, bool(np.isnan(x).any()))
            else:
                cats = _top_categories(col, self.max_categories)
                self.categories_[name] = cats + ["<other>", "<missing>"]
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        blocks = []
        for name, kind in self.kinds.items():
            col = df[name]
            if kind in CONTINUOUS_KINDS:
                centre, width, has_missing = self.numeric_[name]
                x = col.to_numpy(dtype=np.float64)
                miss = np.isnan(x)
                blocks.append(np.where(miss, 0.0, (x - centre) / width)[:, None])
                if has_missing:
                    blocks.append(miss[:, None].astype(np.float64))
            else:
                cats = self.categories_[name]
                codes = _codes(col, cats[:-2])
                codes[codes == -1] = len(cats) - 2
                codes[col.isna().to_numpy()] = len(cats) - 1
                block = np.zeros((len(col), len(cats)))
                block[np.arange(len(col)), codes] = 1.0
                blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((len(df), 0))


class OrdinalEncoding:
    """Numbers as they are, categories as codes (missing -> NaN), for gradient boosting."""

    def __init__(self, kinds: dict[str, Kind], *, max_categories: int = 250) -> None:
        self.kinds = kinds
        self.max_categories = max_categories

    def fit(self, *frames: pd.DataFrame) -> OrdinalEncoding:
        self.categories_: dict[str, list[str]] = {}
        for name, kind in self.kinds.items():
            if kind not in CONTINUOUS_KINDS:
                values = pd.concat([f[name] for f in frames], ignore_index=True)
                cats = _top_categories(values, self.max_categories - 1)
                self.categories_[name] = cats
        return self

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array([k not in CONTINUOUS_KINDS for k in self.kinds.values()])

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        cols = []
        for name, kind in self.kinds.items():
            if kind in CONTINUOUS_KINDS:
                cols.append(df[name].to_numpy(dtype=np.float64))
            else:
                cats = self.categories_[name]
                codes = _codes(df[name], cats).astype(np.float64)
                codes[codes == -1] = len(cats)
                codes[df[name].isna().to_numpy()] = np.nan
                cols.append(codes)
        return np.column_stack(cols) if cols else np.zeros((len(df), 0))
