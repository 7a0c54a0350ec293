"""Reading, validating and writing tables (CSV, Parquet, JSONL).

Typed-frame convention (what ``read_table`` returns and what ``TableWriter`` expects), one pandas
column per schema column, in schema order:

==============  ==========================  ===============
column type     pandas dtype                missing value
==============  ==========================  ===============
integer         ``Int64`` (nullable)        ``pd.NA``
continuous      ``float64``                 ``NaN``
categorical     ``str`` (pandas string)     ``NaN``
id              ``str`` (pandas string)     ``NaN``
boolean         ``boolean`` (nullable)      ``pd.NA``
datetime        ``datetime64[ns]``          ``NaT``
==============  ==========================  ===============

Categories are held as strings (``category_label``: 3 -> "3", 3.0 -> "3", True -> "True").

Reading is strict by default: every problem found in the data (missing/extra/duplicate columns,
wrong types, out-of-range values, unknown categories, nulls in non-nullable columns, NaN/inf,
unparsable datetimes) is collected into one :class:`DataError`. ``strict_values=False`` checks
structure and types only and keeps out-of-range values and unseen categories (anomaly screening
scores them).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from synthgen.dtypes import STRING_DTYPE
from synthgen.errors import DataError
from synthgen.outputs import atomic_output
from synthgen.schema import ColumnSpec, TableSchema, category_label

__all__ = [
    "FORMATS",
    "TableWriter",
    "arrow_schema",
    "frame_dtypes",
    "iter_raw",
    "iter_table",
    "read_raw",
    "read_table",
    "table_format",
    "validate_frame",
    "write_table",
]

#: File suffix -> table format.
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_FORMAT_NAMES = ("csv", "parquet", "jsonl")
DEFAULT_CHUNKSIZE = 100_000
_MAX_PROBLEMS = 40
_TRUE = ("true", "yes", "1", "t")
_FALSE = ("false", "no", "0", "f")
_NAN_WORDS = ("nan", "+nan", "-nan")

_DTYPES = {
    "integer": "Int64",
    "continuous": "float64",
    "categorical": STRING_DTYPE,
    "id": STRING_DTYPE,
    "boolean": "boolean",
    "datetime": "datetime64[ns]",
}
_ARROW_TYPES = {
    "integer": pa.int64(),
    "continuous": pa.float64(),
    "categorical": pa.string(),
    "id": pa.string(),
    "boolean": pa.bool_(),
    "datetime": pa.timestamp("us"),
}


# --------------------------------------------------------------------------------------------
# formats and file checks


def table_format(path: str | Path, fmt: str | None = None) -> str:
    """The table format of ``path``: ``fmt`` if given, else from the suffix; unknown is refused."""
    if fmt is not None:
        if fmt not in _FORMAT_NAMES:
            raise DataError(
                f"Unknown table format {fmt!r}; expected one of {', '.join(_FORMAT_NAMES)}."
            )
        return fmt
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        shown = f"extension '{path.suffix}'" if path.suffix else "no extension"
        raise DataError(
            f"{path} has {shown}; synthgen reads and writes tables as "
            ".csv, .parquet/.pq or .jsonl/.ndjson."
        )
    return FORMATS[suffix]


def frame_dtypes(schema: TableSchema) -> dict[str, str]:
    """The pandas dtype of every column under the typed-frame convention."""
    return {c.name: _DTYPES[c.type] for c in schema.columns}


def arrow_schema(schema: TableSchema) -> pa.Schema:
    """The Arrow schema that tables of ``schema`` are written with (stable across chunks)."""
    return pa.schema(
        [pa.field(c.name, _ARROW_TYPES[c.type], nullable=True) for c in schema.columns]
    )


def _check_file(path: str | Path) -> tuple[Path, str]:
    path = Path(path)
    fmt = table_format(path)
    if not path.exists():
        raise DataError(f"Data file {path} does not exist.")
    if path.is_dir():
        raise DataError(f"Data path {path} is a directory; give a {fmt} file.")
    try:
        size = path.stat().st_size
    except OSError as err:  # pragma: no cover - permissions etc.
        raise DataError(f"Data file {path} cannot be read: {err.strerror}.") from None
    if size == 0:
        raise DataError(f"Data file {path} is empty (0 bytes).")
    return path, fmt


# --------------------------------------------------------------------------------------------
# raw reading (untyped: CSV as strings, Parquet/JSONL as stored)


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
    path, fmt = _check_file(path)
    if chunksize < 1:
        raise DataError(f"chunksize must be positive, got {chunksize}.")
    reader = {"csv": _iter_csv, "parquet": _iter_parquet, "jsonl": _iter_jsonl}[fmt]
    offset = 0
    for chunk in reader(path, chunksize):
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
    blank = [i + 1 for i, h in enumerate(names) if not h]
    if blank:
        raise DataError(
            f"Data file {path}: CSV header has blank column name(s) at position(s) "
            f"{', '.join(map(str, blank[:5]))}."
        )
    return names


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
        column_names=names, skip_rows=1, block_size=1 << 24, use_threads=True
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


def _nullable_mapper(dtype: pa.DataType) -> Any:
    if pa.types.is_integer(dtype):
        return pd.Int64Dtype()
    if pa.types.is_boolean(dtype):
        return pd.BooleanDtype()
    return None


def _arrow_to_frame(table: pa.Table, *, strip: bool = False) -> pd.DataFrame:
    if strip:
        table = pa.Table.from_arrays(
            [pc.ascii_trim_whitespace(col) for col in table.columns], names=table.column_names
        )
    names = table.column_names
    if len(set(names)) != len(names):
        # pandas cannot build from duplicate names directly: go through positional names
        tmp = table.rename_columns([f"_{i}" for i in range(len(names))])
        frame = tmp.to_pandas(types_mapper=_nullable_mapper)
        frame.columns = names
        return frame
    return table.to_pandas(types_mapper=_nullable_mapper)


def _iter_parquet(path: Path, chunksize: int) -> Iterator[pd.DataFrame]:
    try:
        pfile = pq.ParquetFile(path)
    except (pa.ArrowException, OSError):
        raise DataError(
            f"Data file {path} is not a valid Parquet file (corrupt or truncated)."
        ) from None
    try:
        for batch in pfile.iter_batches(batch_size=chunksize):
            if batch.num_rows:
                yield _arrow_to_frame(pa.Table.from_batches([batch]))
    except (pa.ArrowException, OSError):
        raise DataError(
            f"Data file {path} is a corrupt Parquet file (a page cannot be read)."
        ) from None


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
                rec = json.loads(line)
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


# --------------------------------------------------------------------------------------------
# typed reading and validation


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


def validate_frame(
    frame: pd.DataFrame,
    schema: TableSchema,
    *,
    source: str = "Data",
    strict_values: bool = True,
    allow_extra: bool = False,
    row_offset: int = 0,
) -> pd.DataFrame:
    """Convert ``frame`` (strings or stored types) to the typed-frame convention of ``schema``.

    Collects every problem into one DataError whose message starts with ``source``. Rows are
    numbered from 1 (``row_offset`` is added, for chunks). Returns a new frame in schema order;
    with ``allow_extra`` columns not in the schema are dropped instead of refused.
    """
    problems: list[str] = []
    names = [str(c) for c in frame.columns]
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    dups = [n for n, k in counts.items() if k > 1]
    if dups:
        problems.append(f"duplicate column name(s) in the header: {_names(dups)}")
    expected = schema.column_names
    missing = [n for n in expected if n not in counts]
    extra = [n for n in counts if n not in set(expected)]
    if missing:
        problems.append(f"missing column(s): {_names(missing)}")
    if extra and not allow_extra:
        problems.append(f"extra column(s) not in the schema: {_names(extra)}")
    tokens = list(schema.missing_values)
    out: dict[str, pd.Series] = {}
    positions = {n: i for i, n in enumerate(names)}
    for spec in schema.columns:
        if spec.name not in counts:
            continue
        col = frame.iloc[:, positions[spec.name]]
        if counts[spec.name] > 1:
            continue  # reported as duplicate; values ambiguous
        values, col_problems = _convert(col, spec, tokens, strict_values, row_offset)
        out[spec.name] = values
        problems.extend(f"column '{spec.name}': {p}" for p in col_problems)
    if problems:
        shown = problems[:_MAX_PROBLEMS]
        more = len(problems) - len(shown)
        tail = f"; and {more} more problem(s)" if more > 0 else ""
        raise DataError(
            f"{source} does not match schema '{schema.name}': " + "; ".join(shown) + tail + "."
        )
    result = pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
    return result[expected]


def _names(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    if len(names) > limit:
        shown += f" and {len(names) - limit} more"
    return shown


def _show(value: Any) -> str:
    text = (
        value
        if isinstance(value, str)
        else category_label(value)
        if _is_scalar(value)
        else str(value)
    )
    if len(text) > 40:
        text = text[:37] + "..."
    return repr(text)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _examples(col: pd.Series, mask: np.ndarray, row_offset: int, what: str) -> str:
    idx = np.flatnonzero(mask)
    count = len(idx)
    shown = ", ".join(f"{_show(col.iloc[i])} (row {row_offset + i + 1})" for i in idx[:3])
    return f"{count} value(s) {what}: {shown}"


def _as_strings(col: pd.Series) -> pd.Series:
    """Values as stripped strings (NaN where missing); non-strings via category_label."""
    if isinstance(col.dtype, pd.StringDtype):
        try:  # ASCII whitespace, in Arrow: ~10x faster than str.strip() on large columns
            arr = pa.array(col, type=pa.string(), from_pandas=True)
            return pd.Series(pc.ascii_trim_whitespace(arr).to_pandas(), index=col.index)
        except (pa.ArrowException, TypeError, ValueError):
            return col.str.strip()
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    labels = np.array(
        [u.strip() if isinstance(u, str) else _label(u) for u in uniques], dtype=object
    )
    if len(labels) == 0:
        return pd.Series(
            np.full(len(col), np.nan, dtype=object), index=col.index, dtype=STRING_DTYPE
        )
    out = np.where(codes >= 0, labels[np.maximum(codes, 0)], None)
    return pd.Series(out, index=col.index, dtype=STRING_DTYPE)


def _label(value: Any) -> str:
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return category_label(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _convert(
    col: pd.Series, spec: ColumnSpec, tokens: list[str], strict: bool, row_offset: int
) -> tuple[pd.Series, list[str]]:
    col = col.reset_index(drop=True)
    problems: list[str] = []
    exact: np.ndarray | None = None  # int64 values when known exactly (beyond 2**53)
    kind = spec.type
    dtype = col.dtype
    native_numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    native_bool = pd.api.types.is_bool_dtype(dtype)
    native_dt = pd.api.types.is_datetime64_any_dtype(dtype)

    if kind in ("integer", "continuous") and native_numeric:
        vals = (
            col.astype("float64")
            if not isinstance(dtype, pd.Int64Dtype)
            else col.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
        )
        vals = np.asarray(vals, dtype="float64")
        missing = np.isnan(vals)
        strings = col
        if kind == "integer" and pd.api.types.is_integer_dtype(dtype):
            exact = col.to_numpy(dtype="int64", na_value=0)
        wrong = np.zeros(len(col), dtype=bool)
        nonfinite = np.isinf(vals)
    elif kind == "boolean" and native_bool:
        values = col.astype("boolean")
        missing = values.isna().to_numpy()
        return _finish(values, spec, missing, problems, col, row_offset)
    elif kind == "datetime" and native_dt:
        values = col
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        values = values.astype("datetime64[ns]")
        missing = values.isna().to_numpy()
        return _finish(values, spec, missing, problems, col, row_offset)
    else:
        strings = _as_strings(col)
        missing = (strings.isna() | strings.isin(tokens)).to_numpy()
        if kind in ("categorical", "id"):
            values = strings.where(~missing)
            if strict and spec.values is not None:
                cats = spec.categories or []
                unknown = ~missing & ~values.isin(cats).to_numpy()
                if unknown.any():
                    known = ", ".join(repr(c) for c in cats[:8])
                    if len(cats) > 8:
                        known += f", ... ({len(cats)} in all)"
                    problems.append(
                        _examples(strings, unknown, row_offset, "not in the category set")
                        + f" (known: {known})"
                    )
            return _finish(values, spec, missing, problems, strings, row_offset)
        if kind == "boolean":
            low = strings.str.lower()
            is_true = low.isin(_TRUE).to_numpy()
            is_false = low.isin(_FALSE).to_numpy()
            wrong = ~missing & ~is_true & ~is_false
            if wrong.any():
                problems.append(
                    _examples(strings, wrong, row_offset, "not boolean (true/false/yes/no/1/0)")
                )
            arr = pd.array(np.where(is_true, True, False), dtype="boolean")
            arr[~(is_true | is_false)] = pd.NA
            return _finish(pd.Series(arr), spec, missing, problems, strings, row_offset)
        if kind == "datetime":
            return _parse_datetime(strings, spec, missing, problems, row_offset)
        # numeric from strings
        vals = _fast_float(strings, missing)
        if kind == "integer" and vals is not None:
            exact = _fast_int(strings, missing)
        if vals is not None:  # every value parsed: NaN now means a "nan" literal
            nan_word = np.isnan(vals) & ~missing
            wrong = np.zeros(len(vals), dtype=bool)
        else:
            masked = strings.where(~missing)
            vals = pd.to_numeric(masked, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            nan_word = strings.str.lower().isin(_NAN_WORDS).to_numpy() & ~missing
            wrong = np.isnan(vals) & ~missing & ~nan_word
        nonfinite = np.isinf(vals) | nan_word
        if wrong.any():
            noun = "integers" if kind == "integer" else "numbers"
            problems.append(_examples(strings, wrong, row_offset, f"are not {noun}"))
        vals = np.where(wrong | nan_word, np.nan, vals)

    # numeric (both paths)
    if nonfinite.any():
        problems.append(_examples(strings, nonfinite, row_offset, "are NaN or infinite"))
    finite = ~missing & ~wrong & ~nonfinite
    if kind == "integer":
        with np.errstate(invalid="ignore"):
            frac = finite & (vals != np.floor(vals))
        if frac.any():
            problems.append(_examples(strings, frac, row_offset, "are not integers"))
            finite &= ~frac
    if strict:
        with np.errstate(invalid="ignore"):
            low = finite & (vals < spec.min) if spec.min is not None else None
            high = finite & (vals > spec.max) if spec.max is not None else None
        out = None
        if low is not None:
            out = low
        if high is not None:
            out = high if out is None else (out | high)
        if out is not None and out.any():
            problems.append(_examples(strings, out, row_offset, f"out of range [{_rng(spec)}]"))
    if problems:
        return pd.Series(dtype="float64"), problems
    if kind == "integer":
        arr = exact if exact is not None else np.where(finite, vals, 0).round().astype("int64")
        values = pd.Series(pd.arrays.IntegerArray(arr, ~finite))
    else:
        values = pd.Series(np.where(finite, vals, np.nan))
    return _finish(values, spec, missing, problems, strings, row_offset)


def _fast_float(strings: pd.Series, missing: np.ndarray) -> np.ndarray | None:
    """Parse decimal strings with Arrow (fast); None when some value does not parse."""
    try:
        arr = pa.array(strings, type=pa.string(), from_pandas=True)
        if missing.any():
            arr = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), arr)
        return np.asarray(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), "float64")
    except (pa.ArrowException, TypeError, ValueError):
        return None


def _fast_int(strings: pd.Series, missing: np.ndarray) -> np.ndarray | None:
    """Exact int64 parse of decimal integer strings (missing as 0); None if any is not one."""
    try:
        arr = pa.array(strings, type=pa.string(), from_pandas=True)
        if missing.any():
            arr = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), arr)
        if pc.any(pc.match_substring(arr, "x", ignore_case=True)).as_py():
            return None  # Arrow would read hex
        ints = pc.cast(arr, pa.int64())
        return np.asarray(ints.fill_null(0).to_numpy(zero_copy_only=False), "int64")
    except (pa.ArrowException, TypeError, ValueError):
        return None


def _rng(spec: ColumnSpec) -> str:
    lo = "-inf" if spec.min is None else f"{spec.min:g}"
    hi = "inf" if spec.max is None else f"{spec.max:g}"
    return f"{lo}, {hi}"


def _parse_datetime(
    strings: pd.Series,
    spec: ColumnSpec,
    missing: np.ndarray,
    problems: list[str],
    row_offset: int,
) -> tuple[pd.Series, list[str]]:
    fmt = spec.format or "ISO8601"
    masked = strings.where(~missing)
    try:
        parsed = pd.to_datetime(masked, format=fmt, errors="coerce")
    except (ValueError, TypeError):
        parsed = pd.to_datetime(masked, format=fmt, errors="coerce", utc=True)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = ~missing & parsed.isna().to_numpy()
    if bad.any():
        shown = f"format '{spec.format}'" if spec.format else "an ISO 8601 format"
        problems.append(
            _examples(strings, bad, row_offset, f"cannot be parsed as dates in {shown}")
        )
        return pd.Series(dtype="datetime64[ns]"), problems
    try:
        parsed = parsed.astype("datetime64[ns]")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        problems.append("dates outside the supported range (years 1677-2262)")
        return pd.Series(dtype="datetime64[ns]"), problems
    return _finish(parsed, spec, missing, problems, strings, row_offset)


def _finish(
    values: pd.Series,
    spec: ColumnSpec,
    missing: np.ndarray,
    problems: list[str],
    shown: pd.Series,
    row_offset: int,
) -> tuple[pd.Series, list[str]]:
    if not spec.nullable and missing.any():
        idx = np.flatnonzero(missing)
        rows = ", ".join(str(row_offset + i + 1) for i in idx[:3])
        problems.append(
            f"{len(idx)} missing value(s) in a column that is not nullable (rows {rows}"
            f"{', ...' if len(idx) > 3 else ''}); mark it 'nullable: true' or fix the data"
        )
    if problems:
        return values, problems
    target = _DTYPES[spec.type]
    if str(values.dtype) != target:
        values = values.astype(target)
    return values.reset_index(drop=True), problems


# --------------------------------------------------------------------------------------------
# writing


class TableWriter:
    """Stream typed chunks to one CSV, Parquet or JSONL file at ``path``.

    ``TableWriter(path, fmt, schema)``: ``path`` is written as given (callers pass the temp path
    from ``atomic_output``, so give ``fmt`` when its suffix is not the table's; ``None`` takes
    it from the suffix). Schema columns are written with :func:`arrow_schema` types, so chunks
    always concatenate; other columns of the first chunk (e.g. ``anomaly_score``) keep the
    Arrow type inferred from it. Use as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        path: str | Path,
        fmt: str | TableSchema | None = None,
        schema: TableSchema | None = None,
        *,
        format: str | None = None,
    ) -> None:
        if isinstance(fmt, TableSchema):  # TableWriter(path, schema, format=...) also works
            fmt, schema = format, fmt
        self.path = Path(path)
        self.schema = schema
        self.format = table_format(self.path, fmt or format)
        self.rows = 0
        self._arrow: pa.Schema | None = None
        self._writer: Any = None
        self._fh: Any = None
        self._formats: dict[str, str] = {}
        if schema is not None:
            self._formats = {c.name: c.format for c in schema.columns if c.format}

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, frame: pd.DataFrame) -> None:
        """Append one chunk (a frame with every schema column; extra columns are kept)."""
        table = self._to_arrow(frame)
        if self.format == "parquet":
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema, compression="snappy")
            self._writer.write_table(table)
        elif self.format == "csv":
            table = self._csv_ready(table)
            if self._writer is None:
                self._writer = pa_csv.CSVWriter(
                    self.path, table.schema, write_options=pa_csv.WriteOptions(include_header=True)
                )
            self._writer.write_table(table)
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
            self._arrow = arrow_schema(self.schema)
            empty = self._arrow.empty_table()
            if self.format == "parquet":
                self._writer = pq.ParquetWriter(self.path, self._arrow)
            elif self.format == "csv":
                empty = self._csv_ready(empty)
                self._writer = pa_csv.CSVWriter(self.path, empty.schema)
                self._writer.write_table(empty)
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
            self._arrow = self._first_schema(frame)
        arrays = []
        for field in self._arrow:
            if field.name not in frame.columns:
                raise DataError(f"Cannot write {self.path}: the frame lacks column '{field.name}'.")
            arrays.append(_column_to_arrow(frame[field.name], field.type, field.name))
        return pa.Table.from_arrays(arrays, schema=self._arrow)

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

    def _jsonl_text(self, table: pa.Table, frame: pd.DataFrame) -> str:
        out = table.to_pandas(types_mapper=_nullable_mapper)
        for field in table.schema:
            if pa.types.is_timestamp(field.type):
                out[field.name] = _datetime_text(out[field.name], self._formats.get(field.name))
        text = out.to_json(orient="records", lines=True, force_ascii=False, double_precision=15)
        return text if text.endswith("\n") else text + "\n"


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
    labels = np.array([_label(u) for u in uniques], dtype=object)
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
        with TableWriter(tmp, fmt, schema) as writer:
            for chunk in chunks:
                writer.write(chunk)
    return Path(path)
