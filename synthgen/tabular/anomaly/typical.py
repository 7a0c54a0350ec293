"""What a typical fitting value of each column looks like, for the screening report to show
beside a flagged row's values: the central 90 % range and median of numbers and dates, the most
common categories and their shares."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgen.schema import TableSchema

NUMERIC = ("continuous", "integer")
MAX_ROWS = 100_000  # evenly spaced rows beyond this: plenty for quantiles and shares


def _number(x: float, integer: bool) -> str:
    return f"{round(x):,}" if integer else f"{x:.4g}"


def describe_column(values: pd.Series, spec_type: str) -> str:
    """One short phrase describing a column's fitting values."""
    present = values.dropna()
    if len(present) == 0:
        return "always missing"
    missing = 1.0 - len(present) / len(values)
    tail = f"; {100 * missing:.0f} % missing" if missing >= 0.005 else ""
    if spec_type in NUMERIC:
        x = pd.to_numeric(present, errors="coerce").dropna().to_numpy(dtype=np.float64)
        if len(x) == 0:
            return "no numeric values"
        lo, med, hi = np.quantile(x, [0.05, 0.5, 0.95])
        integer = spec_type == "integer"
        return (
            f"{_number(lo, integer)} to {_number(hi, integer)} (90 %), median "
            f"{_number(med, integer)}{tail}"
        )
    if spec_type == "datetime":
        t = pd.to_datetime(present, errors="coerce").dropna()
        if len(t) == 0:
            return "no dates"
        lo, med, hi = t.quantile([0.05, 0.5, 0.95])
        return f"{lo:%Y-%m-%d} to {hi:%Y-%m-%d} (90 %), median {med:%Y-%m-%d}{tail}"
    shares = present.astype(str).value_counts(normalize=True).head(3)
    common = ", ".join(f"{k} ({100 * v:.0f} %)" for k, v in shares.items())
    return f"most often {common}{tail}"


def typical_values(frame: pd.DataFrame, schema: TableSchema) -> dict[str, str]:
    """A phrase per modelled column (id columns left out)."""
    if len(frame) > MAX_ROWS:
        frame = frame.iloc[np.linspace(0, len(frame) - 1, MAX_ROWS).astype(np.int64)]
    return {
        c.name: describe_column(frame[c.name], c.type)
        for c in schema.columns
        if c.type != "id" and c.name in frame.columns
    }
