"""Parquet datasets (a folder of Parquet files, as Spark, Dask, DuckDB and ``synthgen generate
--shards`` write them) read piece by piece, never whole: out-of-core fitting and inference.

The files are the folder's ``*.parquet`` files in name order (names starting with ``_`` or
``.``, such as ``_manifest.json`` or temporary files, are not data). A *piece* is one row group
of one file; each is read in chunks of at most ``chunk_rows`` rows, so memory is bounded by the
chunk, not by the file or the dataset. Every chunk is checked against the schema like a single
file's; a file that disagrees is named in the error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthgen.errors import DataError
from synthgen.schema import TableSchema
from synthgen.tabular.io.coerce import validate_frame
from synthgen.tabular.io.raw import _arrow_to_frame

CHUNK_ROWS = 16_384


def dataset_files(path: str | Path) -> list[Path]:
    """The data files of the Parquet dataset folder ``path`` (DataError when it has none)."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"Data path {path} is not a folder of Parquet files.")
    files = sorted(
        p for p in path.iterdir() if p.suffix.lower() == ".parquet" and p.name[0] not in "_."
    )
    if not files:
        raise DataError(
            f"Data folder {path} holds no Parquet files (*.parquet); a table dataset is a folder "
            "of Parquet files with the same columns."
        )
    return files


def is_parquet_dataset(path: str | Path) -> bool:
    """A folder holding at least one ``*.parquet`` data file (and so not an image folder)."""
    path = Path(path)
    return path.is_dir() and any(
        p.suffix.lower() == ".parquet" and p.name[0] not in "_." for p in path.iterdir()
    )


@dataclass(frozen=True)
class Piece:
    """One row group of one file: ``file`` (index in the dataset), ``group``, ``rows``, and
    ``offset``, the number of the file's rows before it (errors number rows within the file)."""

    file: int
    group: int
    rows: int
    offset: int


class ParquetDataset:
    """A Parquet dataset folder checked against a table schema: its files, pieces and row
    count come from the files' footers (nothing else is read until the pieces are)."""

    def __init__(self, path: str | Path, schema: TableSchema, chunk_rows: int = CHUNK_ROWS):
        self.path = Path(path)
        self.schema = schema
        self.chunk_rows = int(chunk_rows)
        self.files = dataset_files(self.path)
        self.pieces: list[Piece] = []
        self.stamp: list[tuple[str, int, int, int]] = []  # name, size, mtime, rows: fingerprint
        for i, f in enumerate(self.files):
            meta = self._footer(f)
            self._check_columns(f, meta.schema.to_arrow_schema())
            offset = 0
            for g in range(meta.num_row_groups):
                rows = meta.row_group(g).num_rows
                if rows:
                    self.pieces.append(Piece(i, g, rows, offset))
                offset += rows
            st = f.stat()
            self.stamp.append((f.name, st.st_size, st.st_mtime_ns, offset))
        self.n_rows = sum(p.rows for p in self.pieces)
        if not self.n_rows:
            raise DataError(f"Data folder {self.path}: its Parquet files hold no rows.")

    def __len__(self) -> int:
        return self.n_rows

    @staticmethod
    def _footer(path: Path) -> pq.FileMetaData:
        try:
            return pq.ParquetFile(path).metadata
        except (pa.ArrowException, OSError):
            raise DataError(
                f"Data file {path} is not a valid Parquet file (corrupt or truncated)."
            ) from None

    def _check_columns(self, path: Path, arrow: pa.Schema) -> None:
        """Refuse a file whose column names disagree with the schema (the values are checked
        as they are read)."""
        names = list(arrow.names)
        expected = self.schema.column_names
        missing = [n for n in expected if n not in names]
        extra = [n for n in names if n not in set(expected)]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(repr(n) for n in missing[:20])}")
            if extra:
                parts.append(f"extra column(s) {', '.join(repr(n) for n in extra[:20])}")
            raise DataError(
                f"Data file {path} does not match schema '{self.schema.name}': "
                + "; ".join(parts)
                + f". Every file of the dataset {self.path} must have the schema's columns."
            )

    def read_piece(
        self, piece: Piece, *, strict_values: bool = True
    ) -> Iterator[tuple[int, pd.DataFrame]]:
        """``(chunk number, typed frame)`` for each chunk of ``piece`` (the same chunks on every
        read), checked against the schema; DataError naming the file and column otherwise."""
        path = self.files[piece.file]
        try:
            batches = pq.ParquetFile(path).iter_batches(
                batch_size=self.chunk_rows, row_groups=[piece.group]
            )
            done = 0
            for number, batch in enumerate(batches):
                frame = _frame(pa.Table.from_batches([batch]))
                typed = validate_frame(
                    frame,
                    self.schema,
                    source=f"Data file {path}",
                    strict_values=strict_values,
                    row_offset=piece.offset + done,
                )
                done += len(typed)
                yield number, typed
        except (pa.ArrowException, OSError, OverflowError) as err:
            raise DataError(
                f"Data file {path} cannot be read (row group {piece.group}: "
                f"{str(err).splitlines()[0][:200]})."
            ) from None


def _frame(table: pa.Table) -> pd.DataFrame:
    """The chunk as a frame; where the pandas types recorded in the file disagree with the
    values stored (a column rewritten by another tool), the stored values, for the schema
    check to name the column."""
    try:
        return _arrow_to_frame(table)
    except (ValueError, TypeError):
        return _arrow_to_frame(table.replace_schema_metadata(None))
