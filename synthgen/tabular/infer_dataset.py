"""Schema inference on a Parquet dataset (a folder of Parquet files) larger than memory.

One streaming pass over the files, chunk by chunk, keeps two bounded things: a uniform sample of
``sample_rows`` rows (a seeded bottom-k reservoir) and per-column statistics: the null count,
numeric minimum and maximum, and the distinct values of each text or integer column up to
``max_categories`` (past that the column is marked as having many). The types, missing tokens,
ids, targets and fixed combinations are inferred from the sample with the rules of
:func:`synthgen.tabular.infer.infer_schema`; the ranges, category sets and nullability then come
from the pass over every row. The files must agree on their columns and stored types; the first
that does not is named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from synthgen.errors import DataError
from synthgen.schema import ColumnSpec, TableSchema
from synthgen.tabular.infer import _sort_key, infer_schema
from synthgen.tabular.io.dataset import dataset_files
from synthgen.tabular.io.raw import iter_raw
from synthgen.tabular.stream_source import Reservoir

SAMPLE_ROWS = 100_000


class _Column:
    """Streaming statistics of one column (bounded: at most ``cap`` + 1 distinct values)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.nulls = 0
        self.lo = np.inf
        self.hi = -np.inf
        self.values: set[str] | None = set()  # None: more than cap distinct

    def add(self, col: pd.Series) -> None:
        self.nulls += int(col.isna().sum())
        present = col.dropna()
        if not len(present):
            return
        uniques = pd.unique(present)
        text = pd.Series(uniques).astype(str).str.strip()
        nums = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
        finite = nums[np.isfinite(nums)]
        if len(finite):
            self.lo, self.hi = min(self.lo, finite.min()), max(self.hi, finite.max())
        if self.values is not None:
            self.values.update(text)
            if len(self.values) > self.cap:
                self.values = None


def infer_dataset_schema(
    path: str | Path,
    *,
    target: str | None = None,
    name: str | None = None,
    max_categories: int = 100,
    sample_rows: int = SAMPLE_ROWS,
    seed: int = 0,
) -> TableSchema:
    """The schema of the Parquet dataset folder ``path``, inferred in one streaming pass."""
    path = Path(path)
    files = dataset_files(path)
    first = pq.ParquetFile(files[0]).schema_arrow
    sample = Reservoir(sample_rows)
    stats: dict[str, _Column] = {}
    rng = np.random.default_rng(seed)
    for file in files:
        arrow = pq.ParquetFile(file).schema_arrow
        _check_same(path, files[0], first, file, arrow)
        for _, chunk in iter_raw(file):
            sample.add(chunk, rng.random(len(chunk)))
            for col in chunk.columns:
                stats.setdefault(col, _Column(max_categories)).add(chunk[col])
    schema = infer_schema(
        sample.frame, target=target, name=name or path.name, max_categories=max_categories
    )
    tokens = set(schema.missing_values)
    columns = [_widen(spec, stats[spec.name], tokens, max_categories) for spec in schema.columns]
    doc = schema.model_dump(exclude_none=True)
    return TableSchema.model_validate({**doc, "columns": [c.model_dump() for c in columns]})


def _check_same(folder: Path, ref_file: Path, ref, file: Path, arrow) -> None:
    if arrow.names != ref.names:
        missing = [n for n in ref.names if n not in arrow.names]
        extra = [n for n in arrow.names if n not in ref.names]
        what = "; ".join(
            part
            for part in (
                f"missing column(s) {', '.join(map(repr, missing))}" if missing else "",
                f"extra column(s) {', '.join(map(repr, extra))}" if extra else "",
                "the same columns in another order" if not (missing or extra) else "",
            )
            if part
        )
        raise DataError(
            f"Data file {file} disagrees with {ref_file.name}, the first file of the dataset "
            f"{folder}: {what}. Every file of a dataset must have the same columns."
        )
    for field, other in zip(ref, arrow, strict=True):
        if field.type != other.type:
            raise DataError(
                f"Data file {file}: column '{field.name}' is stored as {other.type}, but as "
                f"{field.type} in {ref_file.name}, the first file of the dataset {folder}. "
                "Every file of a dataset must store each column with one type."
            )


def _widen(spec: ColumnSpec, col: _Column, tokens: set[str], cap: int) -> ColumnSpec:
    """``spec`` (inferred from the sample) with the range, category set and nullability of
    every row."""
    update: dict = {}
    values = None if col.values is None else col.values - tokens
    if col.nulls or (col.values is not None and col.values & tokens):
        update["nullable"] = True
    if spec.type in ("integer", "continuous") and np.isfinite(col.lo):
        update["min"] = float(min(col.lo, spec.min if spec.min is not None else col.lo))
        update["max"] = float(max(col.hi, spec.max if spec.max is not None else col.hi))
    if spec.type == "categorical" and spec.values is not None:
        if values is None or len(values) > cap:
            update.update(values=None, high_cardinality=True)
        else:
            labels = {str(v) for v in spec.values} | values
            update["values"] = sorted(labels, key=_sort_key)
    return spec.model_copy(update=update) if update else spec
