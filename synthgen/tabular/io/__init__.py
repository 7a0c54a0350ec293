"""Tables in and out: CSV, Parquet and JSONL read (raw), coerced to a schema's types (coerce),
and written (write); formats and the typed-frame convention in ``formats``."""

from synthgen.tabular.io.coerce import validate_frame
from synthgen.tabular.io.formats import FORMATS, arrow_schema, frame_dtypes, table_format
from synthgen.tabular.io.raw import iter_raw, read_raw
from synthgen.tabular.io.read import iter_table, read_table
from synthgen.tabular.io.stream import MEDIA_TYPES, ChunkEncoder
from synthgen.tabular.io.write import TableWriter, write_table

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "ChunkEncoder",
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
