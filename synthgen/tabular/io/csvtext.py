"""CSV text as a CSV writer normally writes it: values quoted only when they must be (a
delimiter, a quote or a line break inside), like Python's ``csv`` module and pandas.

Arrow's CSV writer quotes every string (``"Private"``), which downstream tools read the same
but which no longer looks like the input. Rows are encoded by Arrow without quotes (fast); a
chunk holding a value that needs quotes falls back to Python's ``csv`` module.
"""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

_UNQUOTED = pa_csv.WriteOptions(include_header=False, quoting_style="none")


def csv_header(names: list[str]) -> bytes:
    """The header line, minimally quoted."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(names)
    return out.getvalue().encode("utf-8")


def csv_rows(table: pa.Table) -> bytes:
    """The rows of ``table`` (no header), minimally quoted; nulls as empty fields."""
    if table.num_rows == 0:
        return b""
    if table.num_columns > 1 or not _has_empty(table.column(0)):
        buf = pa.BufferOutputStream()
        try:
            pa_csv.write_csv(table, buf, _UNQUOTED)
            return buf.getvalue().to_pybytes()
        except pa.ArrowInvalid:  # a value holds a delimiter, a quote or a line break
            pass
    # (a one-column row with an empty value must be written "": a blank line is no row)
    columns = [pc.cast(col, pa.string()).to_pylist() for col in table.columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in zip(*columns, strict=True):
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode("utf-8")


def _has_empty(col: pa.ChunkedArray) -> bool:
    if col.null_count:
        return True
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return bool(pc.any(pc.equal(pc.utf8_length(col), 0)).as_py())
    return False
