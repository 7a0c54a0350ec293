"""Columns under the typed-frame convention, for the transformer tests."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

EPOCH = datetime(1970, 1, 1)


def typed(kind: str, values: list) -> pd.Series:
    """A column under the typed-frame convention (None marks a missing value)."""
    if kind == "integer":
        return pd.Series(pd.array(values, dtype="Int64"))
    if kind == "continuous":
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    if kind == "boolean":
        return pd.Series(pd.array(values, dtype="boolean"))
    if kind == "datetime":
        return pd.Series(pd.to_datetime([pd.NaT if v is None else v for v in values])).astype(
            "datetime64[ns]"
        )
    return pd.Series(pd.array(values, dtype="str"))
