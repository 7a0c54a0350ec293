"""Scoring tables chunk by chunk: typed chunks in (extra columns kept), scored chunks out, a
running summary beside; memory stays flat whatever the input's size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.core.screening import ROW, ScoreSummary
from synthgen.schema import TableSchema
from synthgen.tabular.io import iter_raw, validate_frame

DEFAULT_CHUNK_ROWS = 50_000


def score_chunks(
    detector: Any,
    chunks: Iterable[pd.DataFrame],
    threshold: float,
    summary: ScoreSummary | None = None,
) -> Iterator[pd.DataFrame]:
    """Score each chunk as it comes: the input rows plus the detector's output columns and
    ``input_row`` (the row's 1-based position in the input, as the report numbers it)."""
    offset = 0
    for chunk in chunks:
        scored = detector.score_frame(chunk.drop(columns=[ROW], errors="ignore"), threshold)
        scored[ROW] = np.arange(offset + 1, offset + len(scored) + 1, dtype=np.int64)
        if summary is not None:
            summary.update(scored, offset)
        offset += len(chunk)
        yield scored


def read_chunks(
    schema: TableSchema, path: Path, chunk_rows: int, *, source: str | None = None
) -> Iterator[pd.DataFrame]:
    """Typed chunks of the detector's schema columns, extra columns of the file kept after them.
    Structure is checked (columns, types); values are not (screening scores them)."""
    for offset, raw in iter_raw(path, chunksize=chunk_rows):
        typed = validate_frame(
            raw,
            schema,
            source=source or f"Data file {path}",
            strict_values=False,
            allow_extra=True,
            row_offset=offset,
        )
        extra = [c for c in raw.columns if c not in set(schema.column_names)]
        if extra:
            typed = pd.concat([typed, raw[extra].reset_index(drop=True)], axis=1)
        typed.index = pd.RangeIndex(offset, offset + len(typed))
        yield typed
