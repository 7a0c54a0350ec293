"""Reading table files without a schema: CSV values as stripped strings, Parquet and JSONL
as stored; structural problems (ragged rows, bad encoding, corrupt files) refused clearly."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from synthgen.errors import DataError
from synthgen.tabular.io.formats import DEFAULT_CHUNKSIZE, check_file, nullable_mapper


def read_raw(path: str | Path, *, max_rows: int | None = None) -> pd.DataFrame:
    """Read a table file without a schema: CSV values as stripped strings, Parquet and JSONL
    as stored. Structural problems (ragged rows, bad encoding, corrupt file, no rows) raise
    DataError. Duplicate header names are kept as duplicate columns."""
    chunks = []
    n = 0
    for _, chunk in iter_raw(path, chunksize=DEFAULT_CHUNKSIZE * 5):
        chunks.append(chunk)
        n += len(chunk)
        if max_rows is not None and n >= max_rows:
            break
    frame = chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)
    if max_rows is not None:
        frame = frame.iloc[:max_rows]
    return frame


def iter_raw(
    path: str | Path, *, chunksize: int = DEFAULT_CHUNKSIZE
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Yield ``(first_row_index, chunk)`` of an untyped table (see :func:`read_raw`)."""
    path, fmt = check_file(path)
    if chunksize < 1:
        raise DataError(f"chunksize must be positive, got {chunksize}.")
    reader = {"csv": _iter_csv, "parquet": _iter_parquet, "jsonl": _iter_jsonl}[fmt]
    offset = 0
    for chunk in reader(path, chunksize):
        if offset == 0:
            _check_names(path, [str(c) for c in chunk.columns])
        yield offset, chunk
        offset += len(chunk)
    if offset == 0:
        raise DataError(f"Data file {path} has a header but no rows.")


def _csv_header(path: Path) -> list[str]:
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            header = next(csv.reader(text, skipinitialspace=True), None)
        except UnicodeDecodeError:
            raise DataError(_utf8_message(path)) from None
        except csv.Error as err:
            raise DataError(f"Data file {path}: the CSV header cannot be parsed ({err}).") from None
    if header is None or not any(h.strip() for h in header):
        raise DataError(f"Data file {path} has no CSV header line (the first line is blank).")
    names = [h.strip() for h in header]
    _check_names(path, names)
    blank = [i + 1 for i, h in enumerate(names) if not h]
    if blank:
        raise DataError(
            f"Data file {path}: CSV header has blank column name(s) at position(s) "
            f"{', '.join(map(str, blank[:5]))}."
        )
    return names


def _check_names(path: Path, names: list[str]) -> None:
    """Refuse column names holding a NUL character: CSV readers (Arrow's among them) lose
    rows after such a header, so the table could not be written and read back intact."""
    bad = [i + 1 for i, name in enumerate(names) if "\x00" in name]
    if bad:
        shown = ", ".join(f"{i} ({names[i - 1]!r})" for i in bad[:5])
        raise DataError(
            f"Data file {path}: column name(s) at position(s) {shown} hold a NUL character "
            "(\\x00); rename the column(s) without it."
        )


def _utf8_message(path: Path) -> str:
    line, offset = _first_bad_utf8(path)
    where = f" (line {line}, byte offset {offset})" if line else ""
    return (
        f"Data file {path} is not UTF-8 text{where}; re-save it as UTF-8 "
        "(e.g. iconv -f latin1 -t utf-8)."
    )


def _first_bad_utf8(path: Path) -> tuple[int | None, int | None]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as err:
                return lineno, offset + err.start
            offset += len(line)
    return None, None


def _ragged_message(path: Path, width: int) -> str:
    bad: list[tuple[int, int]] = []
    count = 0
    with open(path, encoding="utf-8-sig", newline="", errors="replace") as fh:
        reader = csv.reader(fh, skipinitialspace=True)
        next(reader, None)
        for row in reader:
            if not row:  # blank line
                continue
            if len(row) != width:
                count += 1
                if len(bad) < 3:
                    bad.append((reader.line_num, len(row)))
    if not bad:
        return f"Data file {path} is not a well-formed CSV file (rows of unequal length)."
    shown = ", ".join(f"line {ln} has {n} fields" for ln, n in bad)
    return (
        f"Data file {path} is a ragged CSV: the header has {width} fields but {count} row(s) "
        f"do not ({shown})."
    )


def _iter_csv(path: Path, chunksize: int) -> Iterator[pd.DataFrame]:
    names = _csv_header(path)
    read_opts = pa_csv.ReadOptions(
        # skip the header as a CSV row (a quoted name may hold a line break), not as a line
        column_names=names,
        skip_rows_after_names=1,
        block_size=1 << 24,
        use_threads=True,
    )
    parse_opts = pa_csv.ParseOptions(newlines_in_values=True)
    conv_opts = pa_csv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        reader = pa_csv.open_csv(
            path, read_options=read_opts, parse_options=parse_opts, convert_options=conv_opts
        )
        for batch in _rebatch(reader, chunksize):
            yield _arrow_to_frame(batch, strip=True)
    except pa.ArrowInvalid as err:
        msg = str(err)
        if "UTF8" in msg or "UTF-8" in msg:
            raise DataError(_utf8_message(path)) from None
        if "Expected" in msg and "columns" in msg:
            raise DataError(_ragged_message(path, len(names))) from None
        if "Empty CSV" in msg:
            raise DataError(f"Data file {path} has a header but no rows.") from None
        raise DataError(f"Data file {path} is not a readable CSV file.") from None


def _rebatch(batches: Iterable[pa.RecordBatch], chunksize: int) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    n = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        n += batch.num_rows
        while n >= chunksize:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunksize)
            rest = table.slice(chunksize)
            pending = rest.to_batches() if rest.num_rows else []
            n = rest.num_rows
    if n:
        yield pa.Table.from_batches(pending)


def _arrow_to_frame(table: pa.Table, *, strip: bool = False) -> pd.DataFrame:
    if strip:
        table = pa.Table.from_arrays(
            [pc.ascii_trim_whitespace(col) for col in table.columns], names=table.column_names
        )
    names = table.column_names
    if len(set(names)) != len(names):
        # pandas cannot build from duplicate names directly: go through positional names
        tmp = table.rename_columns([f"_{i}" for i in range(len(names))])
        frame = tmp.to_pandas(types_mapper=nullable_mapper)
        frame.columns = names
        return frame
    return table.to_pandas(types_mapper=nullable_mapper)


def _iter_parquet(path: Path, chunksize: int) -> Iterator[pd.DataFrame]:
    try:
        pfile = pq.ParquetFile(path)
        arrow = pfile.schema_arrow
    except (pa.ArrowException, OSError):
        raise DataError(
            f"Data file {path} is not a valid Parquet file (corrupt or truncated)."
        ) from None
    nested = [f for f in arrow if pa.types.is_nested(f.type)]
    if nested:
        shown = ", ".join(f"'{f.name}' ({f.type})" for f in nested[:5])
        raise DataError(
            f"Data file {path}: column(s) {shown} hold nested values (lists, structs or maps); "
            f"{_FLAT}"
        )
    batches = pfile.iter_batches(batch_size=chunksize)
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError):
            raise DataError(
                f"Data file {path} is a corrupt Parquet file (a page cannot be read)."
            ) from None
        if batch is None:
            return
        if not batch.num_rows:
            continue
        try:
            frame = _arrow_to_frame(pa.Table.from_batches([batch]))
        except (pa.ArrowException, OverflowError, ValueError, TypeError) as err:
            raise DataError(
                f"Data file {path}: a column's values cannot be read "
                f"({str(err).splitlines()[0][:200]})."
            ) from None
        yield frame


_FLAT = (
    "synthgen reads flat tables, one scalar (text, number, boolean, date or null) per cell: "
    "flatten those columns or drop them."
)


class _Nested(Exception):
    def __init__(self, key: str, value: object) -> None:
        super().__init__(key)
        self.key = key
        self.kind = "an object" if isinstance(value, dict) else "an array"


class _Duplicate(Exception):
    pass


def _record(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object of a JSONL line: called for inner objects first, so a nested value shows
    up here as a dict or list under the outer object's key."""
    out: dict = {}
    for key, value in pairs:
        if isinstance(value, (dict, list)):
            raise _Nested(key, value)
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _iter_jsonl(path: Path, chunksize: int) -> Iterator[pd.DataFrame]:
    records: list[dict] = []
    seen_line = False
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                raise DataError(
                    f"Data file {path} is not UTF-8 text (line {lineno}); re-save it as UTF-8."
                ) from None
            if not line.strip():
                continue
            seen_line = True
            try:
                rec = json.loads(line, object_pairs_hook=_record)
            except _Nested as err:
                raise DataError(
                    f"Data file {path}: line {lineno}, column '{err.key}' holds {err.kind}; {_FLAT}"
                ) from None
            except _Duplicate as err:
                raise DataError(
                    f"Data file {path}: line {lineno} gives the key '{err}' twice; each column "
                    "once per line."
                ) from None
            except RecursionError:
                raise DataError(
                    f"Data file {path}: line {lineno} nests JSON too deeply; {_FLAT}"
                ) from None
            except ValueError:
                raise DataError(
                    f"Data file {path}: line {lineno} is not valid JSON; JSONL needs one "
                    "JSON object per line."
                ) from None
            if not isinstance(rec, dict):
                raise DataError(
                    f"Data file {path}: line {lineno} is a JSON {type(rec).__name__}, "
                    "not an object; JSONL needs one JSON object per line."
                )
            records.append(rec)
            if len(records) >= chunksize:
                yield _records_frame(records)
                records = []
    if not seen_line:
        raise DataError(f"Data file {path} has no rows (only blank lines).")
    if records:
        yield _records_frame(records)


def _records_frame(records: list[dict]) -> pd.DataFrame:
    # object columns keep JSON's own types (ints stay ints beside nulls and "?" tokens)
    return pd.DataFrame(records, dtype=object)
