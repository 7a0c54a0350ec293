"""Encode typed chunks to CSV, JSONL or Parquet bytes, one chunk at a time.

``ChunkEncoder`` is a ``TableWriter`` whose sink is memory that is drained after every chunk,
so the bytes are exactly what ``synthgen generate`` writes to a file, but they can be
streamed. Parquet streams too: each chunk becomes one row group, and the footer
follows the last one; the footer grows by a few hundred bytes per row group, so memory stays
flat whatever the number of rows.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthgen.schema import TableSchema
from synthgen.tabular.io.formats import frame_dtypes
from synthgen.tabular.io.write import TableWriter

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}


class _Sink:
    """A write-only file object that keeps what was written until drained (``tell`` counts
    every byte ever written, as Parquet's offsets need)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._pos = 0
        self.closed = False

    def write(self, data) -> int:
        b = bytes(data)
        self._parts.append(b)
        self._pos += len(b)
        return len(b)

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


class ChunkEncoder(TableWriter):
    """``encode(chunk) -> bytes`` for each chunk, then ``finish() -> bytes`` (footer, or the
    header of an empty table)."""

    def __init__(self, fmt: str, schema: TableSchema) -> None:
        super().__init__(f"stream.{fmt}", schema, format=fmt)
        self._sink = _Sink()
        self._native = pa.PythonFile(self._sink, mode="w")

    def encode(self, frame: pd.DataFrame) -> bytes:
        table = self._to_arrow(frame)
        if self.format == "parquet":
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._native, table.schema, compression="snappy")
            self._writer.write_table(table)
        elif self.format == "csv":
            self._sink.write(self._csv_chunk(table))
            self._fh = True  # marks "something written" for TableWriter.close()
        else:
            if table.num_rows:
                self._sink.write(self._jsonl_text(table, frame).encode("utf-8"))
            self._fh = True  # marks "something written" for TableWriter.close()
        self.rows += table.num_rows
        return self._sink.drain()

    def write(self, frame: pd.DataFrame) -> None:  # TableWriter API: keep the bytes pending
        self._sink.write(self.encode(frame))

    def finish(self) -> bytes:
        """Close the format (Parquet footer; CSV header when no rows were written)."""
        head = b""
        if self._writer is None and self._arrow is None:
            head = self.encode(self.schema_frame())
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._fh = None
        return head + self._sink.drain()

    def close(self) -> None:
        self.finish()

    def schema_frame(self) -> pd.DataFrame:
        """An empty typed frame of the schema (so an empty result still has its columns)."""
        dtypes = frame_dtypes(self.schema)
        return pd.DataFrame({n: pd.Series(dtype=t) for n, t in dtypes.items()})
