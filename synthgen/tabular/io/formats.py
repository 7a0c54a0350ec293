"""Table formats and the typed-frame convention.

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
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from synthgen.dtypes import STRING_DTYPE
from synthgen.errors import DataError
from synthgen.schema import TableSchema, category_label

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
#: The whitespace stripped around values: ASCII only, as Arrow's trim (Python's str.strip()
#: also strips \x1c-\x1f and Unicode spaces, so infer and read would disagree).
WHITESPACE = " \t\n\r\x0b\x0c"
DTYPES = {
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
    return {c.name: DTYPES[c.type] for c in schema.columns}


def arrow_schema(schema: TableSchema) -> pa.Schema:
    """The Arrow schema that tables of ``schema`` are written with (stable across chunks)."""
    return pa.schema(
        [
            # a boolean column read as yes/no (true_false) is written back as that text
            pa.field(c.name, pa.string() if c.true_false else _ARROW_TYPES[c.type], nullable=True)
            for c in schema.columns
        ]
    )


def check_file(path: str | Path) -> tuple[Path, str]:
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


def nullable_mapper(dtype: pa.DataType) -> Any:
    if pa.types.is_uint64(dtype):  # values up to 2**64 - 1 do not fit Int64
        return pd.UInt64Dtype()
    if pa.types.is_integer(dtype):
        return pd.Int64Dtype()
    if pa.types.is_boolean(dtype):
        return pd.BooleanDtype()
    return None


def value_label(value: Any) -> str:
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return category_label(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)
