"""Reading tables typed and checked against their schema, whole or in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from synthgen.schema import TableSchema
from synthgen.tabular.io.coerce import validate_frame
from synthgen.tabular.io.formats import DEFAULT_CHUNKSIZE
from synthgen.tabular.io.raw import iter_raw


def read_table(
    path: str | Path,
    schema: TableSchema,
    *,
    strict_values: bool = True,
    allow_extra: bool = False,
) -> pd.DataFrame:
    """Read ``path`` and return the typed frame of ``schema``; every problem in one DataError."""
    chunks = list(
        iter_table(
            path,
            schema,
            chunksize=DEFAULT_CHUNKSIZE * 5,
            strict_values=strict_values,
            allow_extra=allow_extra,
        )
    )
    if len(chunks) == 1:
        return chunks[0]
    return pd.concat(chunks, ignore_index=True)


def iter_table(
    path: str | Path,
    schema: TableSchema,
    *,
    chunksize: int = DEFAULT_CHUNKSIZE,
    strict_values: bool = True,
    allow_extra: bool = False,
) -> Iterator[pd.DataFrame]:
    """Stream typed, validated chunks of at most ``chunksize`` rows (row index continues across
    chunks). Each chunk is validated like :func:`read_table`; the first bad chunk raises."""
    for offset, raw in iter_raw(path, chunksize=chunksize):
        frame = validate_frame(
            raw,
            schema,
            source=f"Data file {path}",
            strict_values=strict_values,
            allow_extra=allow_extra,
            row_offset=offset,
        )
        frame.index = pd.RangeIndex(offset, offset + len(frame))
        yield frame
