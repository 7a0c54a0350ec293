"""Reading, validating and writing tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthgen.errors import DataError, OutputError
from synthgen.schema import TableSchema
from synthgen.tabular.io import (
    TableWriter,
    arrow_schema,
    frame_dtypes,
    iter_table,
    read_raw,
    read_table,
    table_format,
    validate_frame,
    write_table,
)


@pytest.fixture()
def schema() -> TableSchema:
    return TableSchema(
        name="mixed",
        missing_values=["?", ""],
        columns=[
            {"name": "n", "type": "integer", "min": 0, "max": 100, "nullable": True},
            {"name": "x", "type": "continuous", "nullable": True},
            {"name": "c", "type": "categorical", "values": ["a", "b", "c"], "nullable": True},
            {"name": "b", "type": "boolean", "nullable": True},
            {"name": "d", "type": "datetime", "format": "%Y-%m-%d", "nullable": True},
            {"name": "t", "type": "datetime", "nullable": True},
            {"name": "k", "type": "id"},
        ],
    )


@pytest.fixture()
def frame(schema) -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "n": ["1", "?", "3.0", "100"],
            "x": ["0.1", "-2.5e3", "", "3"],
            "c": ["a", "b", "?", " c "],
            "b": ["yes", "F", "", "TRUE"],
            "d": ["2020-01-31", "", "1999-12-01", "2024-02-29"],
            "t": ["2020-01-31T10:11:12", "2020-02-01 00:00:01.5", "?", "2021-03-04"],
            "k": ["u1", "u2", "u3", "u4"],
        }
    )
    return validate_frame(raw, schema)


def test_typed_frame_convention(frame, schema):
    assert {c: str(t) for c, t in frame.dtypes.items()} == frame_dtypes(schema)
    assert frame["n"].tolist()[0] == 1 and frame["n"].isna().tolist() == [False, True, False, False]
    assert frame["n"].iloc[2] == 3  # "3.0" is an integer
    assert frame["c"].tolist()[3] == "c" and pd.isna(frame["c"].iloc[2])
    assert frame["b"].tolist()[:2] == [True, False] and pd.isna(frame["b"].iloc[2])
    assert frame["d"].iloc[3] == pd.Timestamp("2024-02-29")
    assert frame["t"].iloc[1] == pd.Timestamp("2020-02-01 00:00:01.5")


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_round_trip(tmp_path, frame, schema, suffix):
    path = tmp_path / f"out{suffix}"
    write_table(frame, path, schema)
    back = read_table(path, schema)
    pd.testing.assert_frame_equal(back, frame)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_chunked_writer_and_iter_table(tmp_path, frame, schema, suffix):
    path = tmp_path / f"out{suffix}"
    big = pd.concat([frame] * 25, ignore_index=True)
    with TableWriter(path, schema) as writer:
        for start in range(0, len(big), 30):
            writer.write(big.iloc[start : start + 30])
    assert writer.rows == len(big)
    chunks = list(iter_table(path, schema, chunksize=40))
    assert [len(c) for c in chunks] == [40, 40, 20]
    assert chunks[1].index[0] == 40
    pd.testing.assert_frame_equal(pd.concat(chunks), big)


def test_writer_on_temp_path_with_fmt(tmp_path, frame, schema):
    from synthgen.outputs import atomic_output

    target = tmp_path / "out.csv"
    with atomic_output(target) as tmp, TableWriter(tmp, schema, format="csv") as writer:
        writer.write(frame)
    pd.testing.assert_frame_equal(read_table(target, schema), frame)
    with pytest.raises(DataError, match="extension '.tmp'"):
        TableWriter(tmp_path / "x.tmp", schema)


def test_parquet_arrow_schema_is_stable(tmp_path, frame, schema):
    path = tmp_path / "out.parquet"
    write_table(frame.iloc[:0], path, schema, overwrite=True)  # empty first: still typed
    assert pq.read_schema(path).equals(arrow_schema(schema))
    with TableWriter(path.with_name("two.parquet"), schema, format="parquet") as writer:
        all_null = frame.copy()
        all_null["n"] = pd.array([pd.NA] * len(frame), dtype="Int64")
        writer.write(all_null)
        writer.write(frame)
    file_schema = pq.read_schema(path.with_name("two.parquet"))
    assert str(file_schema.field("n").type) == "int64"
    assert str(file_schema.field("c").type) == "string"
    assert str(file_schema.field("d").type).startswith("timestamp")


def test_csv_datetime_written_with_format(tmp_path, frame, schema):
    path = tmp_path / "out.csv"
    write_table(frame, path, schema)
    text = path.read_text()
    assert "2020-01-31" in text and "2020-01-31 00:00:00" not in text


def test_writer_keeps_extra_columns(tmp_path, frame, schema):
    scored = frame.assign(anomaly_score=np.linspace(0, 1, len(frame)), is_anomaly=True)
    path = tmp_path / "scored.parquet"
    write_table(scored, path, schema)
    back = pd.read_parquet(path)
    assert list(back.columns)[-2:] == ["anomaly_score", "is_anomaly"]


def test_write_table_atomic_rules(tmp_path, frame, schema):
    path = tmp_path / "out.parquet"
    write_table(frame, path, schema)
    with pytest.raises(OutputError, match="already exists"):
        write_table(frame, path, schema)
    write_table(frame, path, schema, overwrite=True)
    with pytest.raises(OutputError, match="same file as the input"):
        write_table(frame, path, schema, overwrite=True, inputs=[path])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def test_adult_reads_with_schema(adult_path, adult_test_path, adult_schema):
    train = read_table(adult_path, adult_schema)
    test = read_table(adult_test_path, adult_schema)
    assert train.shape == (26048, 15) and test.shape == (6513, 15)
    assert str(train["age"].dtype) == "Int64"
    assert train["workclass"].isna().sum() > 0  # '?' became missing
    assert "?" not in set(train["occupation"].dropna())


def _raw(**cols):
    base = {
        "n": ["1"],
        "x": ["1.5"],
        "c": ["a"],
        "b": ["t"],
        "d": ["2020-01-01"],
        "t": ["2020-01-01"],
        "k": ["id1"],
    }
    base.update(cols)
    return pd.DataFrame(base)


@pytest.mark.parametrize(
    ("cols", "expected"),
    [
        ({"n": ["3.5"]}, "column 'n': 1 value(s) are not integers: '3.5' (row 1)"),
        ({"n": ["abc"]}, "'abc'"),
        ({"n": ["101"]}, "out of range [0, 100]"),
        ({"x": ["inf"]}, "NaN or infinite"),
        ({"x": ["nan"]}, "NaN or infinite"),
        ({"c": ["zzz"]}, "not in the category set: 'zzz' (row 1) (known: 'a', 'b', 'c')"),
        ({"b": ["maybe"]}, "not boolean"),
        ({"d": ["31/01/2020"]}, "format '%Y-%m-%d'"),
        ({"t": ["yesterday"]}, "ISO 8601"),
        ({"k": ["?"]}, "column 'k': 1 missing value(s) in a column that is not nullable"),
    ],
)
def test_value_problems(schema, cols, expected):
    with pytest.raises(DataError) as err:
        validate_frame(_raw(**cols), schema, source="Data f.csv")
    assert expected in err.value.message
    assert err.value.message.startswith("Data f.csv does not match schema 'mixed'")


def test_every_problem_in_one_error(schema):
    raw = pd.DataFrame(
        {
            "n": [str(i) for i in range(10)] + ["x1", "x2", "x3", "x4"],
            "x": ["1"] * 14,
            "c": ["a"] * 13 + ["q"],
            "b": ["t"] * 14,
            "zz": ["1"] * 14,
            "k": ["?"] * 14,
            "t": ["2020-01-01"] * 14,
        }
    )
    with pytest.raises(DataError) as err:
        validate_frame(raw, schema)
    msg = err.value.message
    assert "missing column(s): 'd'" in msg
    assert "extra column(s) not in the schema: 'zz'" in msg
    assert "4 value(s) are not integers: 'x1' (row 11), 'x2' (row 12), 'x3' (row 13)" in msg
    assert "'x4'" not in msg  # first three only
    assert "'q' (row 14)" in msg
    assert "14 missing value(s)" in msg


def test_duplicate_headers(tmp_path, schema):
    path = tmp_path / "dup.csv"
    path.write_text("n,n,x\n1,2,3\n")
    with pytest.raises(DataError, match="duplicate column name.*'n'"):
        read_table(path, schema)


def test_structure_only_keeps_unseen_values(schema):
    raw = _raw(n=["500"], c=["new"])
    with pytest.raises(DataError):
        validate_frame(raw, schema)
    out = validate_frame(raw, schema, strict_values=False)
    assert out["n"].iloc[0] == 500 and out["c"].iloc[0] == "new"
    with pytest.raises(DataError, match="not integers"):
        validate_frame(_raw(n=["abc"]), schema, strict_values=False)


@pytest.mark.parametrize(
    "text",
    ["true", "False", "YES", "no", "1", "0", "t", "F"],
)
def test_boolean_spellings(schema, text):
    out = validate_frame(_raw(b=[text]), schema)
    assert out["b"].iloc[0] == (text.lower() in ("true", "yes", "1", "t"))


def test_csv_strips_whitespace(tmp_path, schema):
    path = tmp_path / "s.csv"
    path.write_text("n, x, c, b, d, t, k\n 1 , 2.5,  b , yes, 2020-01-01, 2020-01-01, k1 \n")
    out = read_table(path, schema)
    assert out["c"].iloc[0] == "b" and out["k"].iloc[0] == "k1" and out["n"].iloc[0] == 1


def test_typed_parquet_input_is_checked(tmp_path, schema, frame):
    path = tmp_path / "bad.parquet"
    bad = frame.astype({"n": "float64"})
    bad.loc[0, "n"] = 2.5
    bad.to_parquet(path)
    with pytest.raises(DataError, match="'2.5' \\(row 1\\)"):
        read_table(path, schema)


def test_jsonl_mixed_types(tmp_path, schema):
    path = tmp_path / "m.jsonl"
    path.write_text(
        '{"n": 1, "x": 2, "c": "a", "b": true, "d": "2020-01-01", "t": null, "k": 7}\n'
        '{"n": "?", "x": null, "c": null, "b": "no", "d": null, "t": "2020-01-01", "k": "z"}\n'
    )
    out = read_table(path, schema)
    assert out["n"].isna().tolist() == [False, True]
    assert out["k"].tolist() == ["7", "z"] and out["b"].tolist() == [True, False]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"a": 1}\n[1, 2]\n', "line 2 is a JSON list"),
        ('{"a": 1}\n{"a": \n', "line 2 is not valid JSON"),
    ],
)
def test_bad_jsonl(tmp_path, content, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=expected):
        read_raw(path)


def test_ragged_csv_names_lines(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n")
    with pytest.raises(DataError) as err:
        read_raw(path)
    assert "line 3 has 2 fields" in err.value.message
    assert "line 5 has 4 fields" in err.value.message


def test_non_utf8_names_line(tmp_path):
    path = tmp_path / "l1.csv"
    path.write_bytes("a,b\n1,x\n2,Andr\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8 text \\(line 3"):
        read_raw(path)


def test_unknown_extension():
    with pytest.raises(DataError, match="extension '.xlsx'"):
        table_format("data.xlsx")


def test_uint64_parquet_is_read_not_called_corrupt(tmp_path):
    """Cause 16 (and 1): uint64 columns read; values beyond int64 refused by an integer
    schema with the value and row named, read exactly below it."""
    path = tmp_path / "u.parquet"
    big = 2**64 - 1
    pq.write_table(pa.table({"u": pa.array([1, big, 7], pa.uint64())}), path)
    assert read_raw(path)["u"].tolist() == [1, big, 7]
    ints = TableSchema(columns=[{"name": "u", "type": "integer"}])
    with pytest.raises(DataError) as err:
        read_table(path, ints)
    assert f"column 'u': 1 value(s) are beyond the 64-bit integer range: '{big}' (row 2)" in (
        err.value.message
    )
    floats = TableSchema(columns=[{"name": "u", "type": "continuous"}])
    assert read_table(path, floats)["u"].iloc[1] == float(big)
    pq.write_table(pa.table({"u": pa.array([1, 2**63 - 1], pa.uint64())}), path)
    assert read_table(path, ints)["u"].tolist() == [1, 2**63 - 1]


def test_native_dates_outside_datetime64ns(tmp_path):
    """Cause 17: a Parquet timestamp of year 1500 is named, not a traceback."""
    import datetime as dt

    path = tmp_path / "old.parquet"
    stamps = [dt.datetime(2000, 1, 1), dt.datetime(1500, 1, 1)]
    pq.write_table(pa.table({"d": pa.array(stamps, pa.timestamp("us"))}), path)
    schema = TableSchema(columns=[{"name": "d", "type": "datetime"}])
    with pytest.raises(DataError, match=r"column 'd'.*years 1677-2262.*1500-01-01.*\(row 2\)"):
        read_table(path, schema)


def test_declared_boolean_tokens_read_and_written(tmp_path):
    schema = TableSchema(
        columns=[{"name": "b", "type": "boolean", "nullable": True, "true_false": ["Si", "No"]}]
    )
    out = validate_frame(pd.DataFrame({"b": ["Si", "no", "", "true", "NO"]}), schema)
    assert out["b"].tolist() == [True, False, pd.NA, True, False]
    with pytest.raises(DataError, match=r"not boolean \(Si/No/true/false"):
        validate_frame(pd.DataFrame({"b": ["maybe"]}), schema)
    write_table(out, tmp_path / "b.csv", schema)
    # a lone empty field is written "" (a blank line would be no row at all)
    assert (tmp_path / "b.csv").read_text() == 'b\nSi\nNo\n""\nSi\nNo\n'
    assert read_table(tmp_path / "b.csv", schema)["b"].tolist() == out["b"].tolist()


def test_quoted_header_with_line_break(tmp_path):
    """Found by the fuzz test: the header was skipped as one line, so the rest of a quoted
    name holding a line break came back as a data row."""
    path = tmp_path / "h.csv"
    path.write_text('"a\nb",c\n1,2\n"x\ny",3\n')
    frame = read_raw(path)
    assert list(frame.columns) == ["a\nb", "c"] and frame["c"].tolist() == ["2", "3"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_nul_in_column_name_refused(tmp_path, suffix):
    """Found by the fuzz test in CI: after a CSV header holding NUL, Arrow dropped a data row
    (3 rows read as 2), so the table was not read and written back intact."""
    path = tmp_path / f"t{suffix}"
    if suffix == ".csv":
        path.write_bytes(b"a\x00b,c\n1,2\n3,4\n5,6\n")
    else:
        path.write_text('{"a\\u0000b": 1, "c": 2}\n')
    with pytest.raises(DataError, match=r"position\(s\) 1 .*NUL") as err:
        read_raw(path)
    assert str(path) in err.value.message
