"""Property test of the data-file readers: whatever a CSV, JSONL or Parquet file holds,
reading and inferring give a table or a DataError (never another exception); and what
``infer_schema`` accepts, the schema it writes accepts too (``schema infer`` never writes a
schema that its own file then fails), and writes back readable."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthgen.errors import DataError
from synthgen.tabular.infer import infer_schema
from synthgen.tabular.io import read_raw, read_table, write_table

FUZZ = settings(
    max_examples=int(os.environ.get("SYNTHGEN_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# cells a hostile table is made of: numbers at and past the limits, boolean and missing
# tokens, dates in and out of datetime64[ns], text that needs quoting
TOKENS = [
    "0", "1", "-7", "3.5", "1e300", "1e400", "inf", "-Infinity", "nan", "NaN",
    "9223372036854775807", "9223372036854775808", "-9223372036854775809", "0x1F", "007",
    "yes", "no", "Y", "N", "True", "false", "t", "F", "", "?", "NA", "null", "None", "-",
    "2020-01-31", "1500-01-01", "2999-12-31", "2020-02-30", "2021-03-04 10:11:12",
    "a,b", 'say "hi"', "two\nlines", " padded ", "é", "x",
]  # fmt: skip
CELLS = st.sampled_from(TOKENS) | st.text(max_size=6)
JSON_CELLS = st.one_of(
    CELLS,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
NAMES = st.lists(
    st.sampled_from(["a", "b", "id", "flag", "when", "x y", "a,b"])
    | st.text(min_size=1, max_size=4),
    min_size=1,
    max_size=4,
)


def _tables(cells):
    return NAMES.flatmap(
        lambda names: st.tuples(
            st.just(names),
            st.lists(st.lists(cells, min_size=len(names), max_size=len(names)), max_size=12),
        )
    )


def _check(path: Path) -> None:
    """read -> infer -> read with the inferred schema -> write -> read back."""
    try:
        read_raw(path)
        schema = infer_schema(path)
    except DataError as err:
        assert str(path) in err.message or path.name in err.message
        return
    frame = read_table(path, schema)  # must not raise: infer accepted this file
    out = path.with_name("out" + path.suffix)
    write_table(frame, out, schema, overwrite=True)
    again = read_table(out, schema)
    assert len(again) == len(frame)


def _run(suffix: str, write) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"t{suffix}"
        write(path)
        _check(path)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([".csv", ".jsonl", ".parquet"]))
def test_arbitrary_bytes(raw, suffix):
    _run(suffix, lambda p: p.write_bytes(raw))


@FUZZ
@given(_tables(CELLS))
def test_csv_tables(table):
    names, rows = table

    def write(path: Path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(names)
            writer.writerows(rows)

    _run(".csv", write)


@FUZZ
@given(_tables(JSON_CELLS))
def test_jsonl_tables(table):
    names, rows = table
    lines = [json.dumps(dict(zip(names, row, strict=True))) for row in rows]
    _run(".jsonl", lambda p: p.write_text("\n".join(lines) + "\n", encoding="utf-8"))


COLUMNS = st.one_of(
    st.lists(st.sampled_from(TOKENS) | st.none(), min_size=3, max_size=3).map(pa.array),
    st.lists(st.integers(0, 2**64 - 1) | st.none(), min_size=3, max_size=3).map(
        lambda v: pa.array(v, pa.uint64())
    ),
    st.lists(st.floats() | st.none(), min_size=3, max_size=3).map(pa.array),
    st.lists(st.booleans() | st.none(), min_size=3, max_size=3).map(pa.array),
    st.lists(st.integers(-(10**6), 10**6), min_size=3, max_size=3).map(
        lambda v: pa.array([x * 86_400_000_000 for x in v], pa.timestamp("us"))
    ),
    st.lists(st.lists(st.integers(-9, 9), max_size=2), min_size=3, max_size=3).map(pa.array),
    st.just(pa.array([b"\x00", b"\xff", None], pa.binary())),
    st.just(pa.array([None, None, None], pa.null())),
)


@FUZZ
@given(st.lists(COLUMNS, min_size=1, max_size=4))
def test_parquet_tables(columns):
    table = pa.table({f"c{i}": col for i, col in enumerate(columns)})
    _run(".parquet", lambda p: pq.write_table(table, p))
