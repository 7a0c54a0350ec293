"""Writing typed frames to CSV, Parquet or JSONL, streamed chunk by chunk and atomically."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthgen.errors import DataError
from synthgen.outputs import atomic_output
from synthgen.schema import TableSchema
from synthgen.tabular.io.csvtext import csv_header, csv_rows
from synthgen.tabular.io.formats import arrow_schema, nullable_mapper, table_format, value_label


class TableWriter:
    """Stream typed chunks to one CSV, Parquet or JSONL file at ``path``.

    ``TableWriter(path, schema, format=...)``: ``path`` is written as given (callers pass the
    temp path from ``atomic_output``, so give ``format`` when its suffix is not the table's;
    ``None`` takes it from the suffix). Schema columns are written with :func:`arrow_schema`
    types, so chunks always concatenate; other columns of the first chunk (e.g.
    ``anomaly_score``) keep the Arrow type inferred from it. Use as a context manager, or call
    ``close()``.
    """

    def __init__(
        self,
        path: str | Path,
        schema: TableSchema | None = None,
        *,
        format: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.metadata = metadata  # Parquet key-value metadata (sharded outputs' identity)
        self.schema = schema
        self.format = table_format(self.path, format)
        self.rows = 0
        self._arrow: pa.Schema | None = None
        self._writer: Any = None
        self._fh: Any = None
        self._formats: dict[str, str] = {}
        self._tokens: dict[str, tuple[str, str]] = {}
        self._header_done = False
        if schema is not None:
            self._formats = {c.name: c.format for c in schema.columns if c.format}
            self._tokens = {
                c.name: (c.true_false[0], c.true_false[1]) for c in schema.columns if c.true_false
            }

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # unwinding an error: release the file, never mask the error with another
            self.close()
        except (DataError, OSError, ValueError):
            pass

    def write(self, frame: pd.DataFrame) -> None:
        """Append one chunk (a frame with every schema column; extra columns are kept)."""
        table = self._to_arrow(frame)
        if self.format == "parquet":
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema, compression="snappy")
            self._writer.write_table(table)
        elif self.format == "csv":
            if self._fh is None:
                self._fh = open(self.path, "wb")
            self._fh.write(self._csv_chunk(table))
        else:
            if self._fh is None:
                self._fh = open(self.path, "w", encoding="utf-8", newline="\n")
            if table.num_rows:
                self._fh.write(self._jsonl_text(table, frame))
        self.rows += table.num_rows

    def close(self) -> None:
        """Finish the file (writes a header/empty file if nothing was written)."""
        if self._writer is None and self._fh is None and self._arrow is None:
            if self.schema is None:
                raise DataError(f"Nothing was written to {self.path} and no schema is known.")
            self._arrow = self._with_metadata(arrow_schema(self.schema))
            empty = self._arrow.empty_table()
            if self.format == "parquet":
                self._writer = pq.ParquetWriter(self.path, self._arrow)
            elif self.format == "csv":
                self._fh = open(self.path, "wb")
                self._fh.write(self._csv_chunk(empty))
            else:
                self._fh = open(self.path, "w", encoding="utf-8")
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    # -- conversion -----------------------------------------------------------------------

    def _to_arrow(self, frame: pd.DataFrame) -> pa.Table:
        if self._arrow is None:
            self._arrow = self._with_metadata(self._first_schema(frame))
        arrays = []
        for field in self._arrow:
            if field.name not in frame.columns:
                raise DataError(f"Cannot write {self.path}: the frame lacks column '{field.name}'.")
            col = frame[field.name]
            if field.name in self._tokens:
                col = _boolean_text(col, self._tokens[field.name])
            arrays.append(_column_to_arrow(col, field.type, field.name))
        return pa.Table.from_arrays(arrays, schema=self._arrow)

    def _with_metadata(self, schema: pa.Schema) -> pa.Schema:
        return schema.with_metadata(self.metadata) if self.metadata else schema

    def _first_schema(self, frame: pd.DataFrame) -> pa.Schema:
        if len(set(map(str, frame.columns))) != len(frame.columns):
            raise DataError(f"Cannot write {self.path}: the frame has duplicate column names.")
        fields = list(arrow_schema(self.schema)) if self.schema is not None else []
        known = {f.name for f in fields}
        for name in frame.columns:
            if name in known:
                continue
            col = frame[name]
            try:
                typ = pa.Array.from_pandas(col.iloc[:1000]).type
            except (pa.ArrowException, TypeError, ValueError):
                typ = pa.string()
            if pa.types.is_null(typ):
                typ = pa.string()
            fields.append(pa.field(str(name), typ))
        return pa.schema(fields)

    def _csv_ready(self, table: pa.Table) -> pa.Table:
        cols = []
        for field, col in zip(table.schema, table.columns, strict=True):
            if pa.types.is_timestamp(field.type):
                series = pd.Series(col.to_pandas(), dtype="datetime64[us]")
                text = _datetime_text(series, self._formats.get(field.name))
                col = pa.array(text, type=pa.string(), from_pandas=True)
            elif pa.types.is_nested(field.type):
                col = pa.array(
                    [None if v is None else ";".join(map(str, v)) for v in col.to_pylist()],
                    type=pa.string(),
                )
            cols.append(col)
        return pa.Table.from_arrays(cols, names=table.column_names)

    def _csv_chunk(self, table: pa.Table) -> bytes:
        """CSV bytes of a chunk (the header before the first), minimally quoted."""
        table = self._csv_ready(table)
        head = b"" if self._header_done else csv_header(table.column_names)
        self._header_done = True
        return head + csv_rows(table)

    def _jsonl_text(self, table: pa.Table, frame: pd.DataFrame) -> str:
        out = table.to_pandas(types_mapper=nullable_mapper)
        for field in table.schema:
            if pa.types.is_timestamp(field.type):
                out[field.name] = _datetime_text(out[field.name], self._formats.get(field.name))
        # json.dumps, not DataFrame.to_json: that rounds floats to 15 digits, so a value at a
        # column's max could be written above it and fail its own schema
        names = [str(c) for c in out.columns]
        columns = [_json_values(out[c]) for c in out.columns]
        lines = [
            json.dumps(
                dict(zip(names, row, strict=True)), ensure_ascii=False, separators=(",", ":")
            )
            for row in zip(*columns, strict=True)
        ]
        return "\n".join(lines) + "\n"


def _json_values(col: pd.Series) -> list:
    """Plain Python values of a column for json.dumps: nulls and non-finite floats as None."""
    values = col.astype(object).tolist()
    return [
        None
        if v is None or v is pd.NA or (isinstance(v, float) and not math.isfinite(v))
        else v.item()
        if isinstance(v, np.generic)
        else v
        for v in values
    ]


def _datetime_text(series: pd.Series, fmt: str | None) -> pd.Series:
    """Datetimes as text: the column's format, else the shortest ISO 8601 form that is exact."""
    if fmt is None:
        valid = series.dropna()
        if (valid.dt.microsecond != 0).any() or (valid.dt.nanosecond != 0).any():
            fmt = "%Y-%m-%dT%H:%M:%S.%f"
        elif (valid != valid.dt.normalize()).any():
            fmt = "%Y-%m-%dT%H:%M:%S"
        else:
            fmt = "%Y-%m-%d"
    return series.dt.strftime(fmt)


def _boolean_text(col: pd.Series, tokens: tuple[str, str]) -> pd.Series:
    """A boolean column as the tokens it was read with (``yes``/``no``...), nulls kept."""
    try:
        flags = col.astype("boolean")
    except (TypeError, ValueError):
        return col  # already text
    missing = flags.isna().to_numpy()
    text = np.where(flags.fillna(False).to_numpy(dtype=bool), tokens[0], tokens[1]).astype(object)
    text[missing] = None
    return pd.Series(text, index=col.index, dtype=object)


def _column_to_arrow(col: pd.Series, typ: pa.DataType, name: str) -> pa.Array:
    try:
        if pa.types.is_string(typ):
            if isinstance(col.dtype, pd.StringDtype):
                return pa.array(col, type=typ, from_pandas=True)
            if col.dtype == object:
                try:  # plain Python strings (and None/NaN): no per-value work in Python
                    return pa.array(col, type=typ, from_pandas=True)
                except (pa.ArrowException, TypeError, ValueError):
                    pass
            return pa.array(_as_strings_raw(col), type=typ, from_pandas=True)
        if pa.types.is_integer(typ):
            if pd.api.types.is_integer_dtype(col.dtype):
                return pa.array(col, type=typ, from_pandas=True)
            vals = pd.to_numeric(col, errors="raise").to_numpy(dtype="float64", na_value=np.nan)
            mask = np.isnan(vals)
            return pa.array(np.where(mask, 0, np.rint(vals)).astype("int64"), mask=mask, type=typ)
        if pa.types.is_floating(typ):
            vals = pd.to_numeric(col, errors="raise").to_numpy(dtype="float64", na_value=np.nan)
            return pa.array(vals, type=typ, from_pandas=True)
        if pa.types.is_boolean(typ):
            return pa.array(col.astype("boolean"), type=typ, from_pandas=True)
        if pa.types.is_timestamp(typ):
            dt = pd.to_datetime(col)
            if getattr(dt.dt, "tz", None) is not None:
                dt = dt.dt.tz_convert("UTC").dt.tz_localize(None)
            return pa.array(dt, from_pandas=True).cast(typ, safe=False)
        return pa.array(col, type=typ, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError) as err:
        raise DataError(
            f"Cannot write column '{name}' as {typ}: {type(err).__name__} converting its values."
        ) from None


def _as_strings_raw(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    labels = np.array([value_label(u) for u in uniques], dtype=object)
    if len(labels) == 0:
        return pd.Series([None] * len(col), dtype=object)
    return pd.Series(np.where(codes >= 0, labels[np.maximum(codes, 0)], None), dtype=object)


def write_table(
    frame: pd.DataFrame | Iterable[pd.DataFrame],
    path: str | Path,
    schema: TableSchema | None = None,
    fmt: str | None = None,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Write a frame (or an iterable of chunks) atomically to ``path``; returns ``path``.

    The format comes from ``fmt`` or the suffix of ``path``. An existing output is kept unless
    ``overwrite``; an output equal to one of ``inputs`` is refused.
    """
    fmt = table_format(path, fmt)
    chunks = [frame] if isinstance(frame, pd.DataFrame) else frame
    with atomic_output(path, overwrite=overwrite, inputs=inputs) as tmp:
        with TableWriter(tmp, schema, format=fmt) as writer:
            for chunk in chunks:
                writer.write(chunk)
    return Path(path)
