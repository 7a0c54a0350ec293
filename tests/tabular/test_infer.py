"""Schema inference: types, missing tokens, ranges, category sets, ids."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import DataError
from synthgen.tabular.infer import infer_schema
from synthgen.tabular.io import read_table

ADULT_INTEGERS = {
    "age",
    "fnlwgt",
    "education-num",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
}


def test_adult_types(adult_path):
    start = time.perf_counter()
    schema = infer_schema(adult_path, target="income")
    elapsed = time.perf_counter() - start
    types = {c.name: c.type for c in schema.columns}
    assert {n for n, t in types.items() if t == "integer"} == ADULT_INTEGERS
    assert {n for n, t in types.items() if t != "integer"} == set(types) - ADULT_INTEGERS
    assert all(t in ("integer", "categorical") for t in types.values())
    assert "?" in schema.missing_values
    nullable = {c.name for c in schema.columns if c.nullable}
    assert nullable == {"workclass", "occupation", "native-country"}
    assert schema.column("education-num").min == 1 and schema.column("education-num").max == 16
    assert schema.column("age").min == 17
    assert schema.column("income").categories == ["<=50K", ">50K"]
    assert "?" not in schema.column("workclass").categories
    assert schema.target == "income" and schema.conditions == ["income"]
    assert elapsed < 2.0, f"infer took {elapsed:.2f}s on adult"
    # the inferred schema accepts its own data
    assert len(read_table(adult_path, schema)) == 26048


def _infer(frame: pd.DataFrame, tmp_path, suffix=".csv", **kw):
    path = tmp_path / f"data{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    schema = infer_schema(path, **kw)
    read_table(path, schema)  # inferred schemas always accept their own data
    return schema


@pytest.fixture()
def mixed() -> pd.DataFrame:
    n = 60
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "user_id": np.arange(1000, 1000 + n),
            "order_key": [f"K{i:05d}" for i in range(n)],
            "weight": rng.normal(70, 10, n).round(3),
            "amount": rng.permutation(n) * 7 + 3,  # unique integers, not an id by name
            "flag": ["yes", "no"] * (n // 2),
            "is01": [0, 1, 1] * (n // 3),
            "when": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "stamp": pd.date_range("2020-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M:%S"),
            "color": ["red", "green", "blue"] * (n // 3),
            "note": [f"free text {i % 45}" for i in range(n)],
            "score": ["1.5", "NA", "2.5", "N/A", "3"] * (n // 5),
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_types_on_mixed(tmp_path, mixed, suffix):
    schema = _infer(mixed, tmp_path, suffix)
    types = {c.name: c.type for c in schema.columns}
    assert types["user_id"] == "id"
    assert types["order_key"] == "id"
    assert types["weight"] == "continuous"
    assert types["amount"] == "integer"
    assert types["flag"] == "boolean"
    assert types["is01"] == "integer"
    assert types["when"] == "datetime" and schema.column("when").format == "%Y-%m-%d"
    assert types["stamp"] == "datetime"
    assert schema.column("stamp").format == "%Y-%m-%d %H:%M:%S"
    assert types["color"] == "categorical"
    assert schema.column("color").categories == ["blue", "green", "red"]
    assert schema.column("note").high_cardinality and schema.column("note").values is None
    assert types["score"] == "continuous" and schema.column("score").nullable


def test_nearly_unique_numbers_are_not_ids():
    frame = pd.DataFrame({"fnlwgt": np.arange(500) * 13 + 7, "id": np.arange(500)})
    schema = infer_schema(frame)
    assert schema.column("fnlwgt").type == "integer"
    assert schema.column("id").type == "id"


def test_cardinality_cap():
    frame = pd.DataFrame({"city": [f"c{i % 30}" for i in range(300)]})
    assert infer_schema(frame, max_categories=10).column("city").high_cardinality
    assert len(infer_schema(frame).column("city").categories) == 30


def test_missing_tokens_found_and_recorded():
    frame = pd.DataFrame({"a": ["1", "?", "2", "-"], "b": ["x", "-", "y", "x"]})
    schema = infer_schema(frame)
    assert schema.column("a").type == "integer" and schema.column("a").nullable
    assert "?" in schema.missing_values and "-" in schema.missing_values
    # missing_values is table-wide: once "-" is missing in numeric a, it is missing in b too
    assert schema.column("b").categories == ["x", "y"] and schema.column("b").nullable
    assert "-" in infer_schema(frame[["b"]]).column("b").categories


def test_none_category_not_read_as_missing():
    frame = pd.DataFrame({"diagnosis": ["None", "flu", "cold", "flu"] * 10})
    schema = infer_schema(frame)
    assert "None" in schema.column("diagnosis").categories
    assert "None" not in schema.missing_values


@pytest.mark.parametrize("token", ["None", "-"])
def test_none_kept_in_id_or_high_cardinality_column_is_not_missing(tmp_path, token):
    """Found by the fuzz test: "None" kept as a value of an id column (which lists no
    categories) stayed in the table's missing tokens, so the file failed its own schema."""
    ids = pd.DataFrame({"id": ["0", "1", token, "x"], "a": ["0", "0", "0", "0"]})
    many = pd.DataFrame({"name": [token] + [f"n{i % 30}" for i in range(59)]})
    for frame in (ids, many):
        path = tmp_path / "t.csv"
        frame.to_csv(path, index=False)
        schema = infer_schema(path)
        assert token not in schema.missing_values
        assert len(read_table(path, schema)) == len(frame)


def test_target_errors():
    frame = pd.DataFrame({"a": [1, 2, 3], "k": ["x", "y", "z"]})
    with pytest.raises(DataError, match="target 'nope' is not a column"):
        infer_schema(frame, target="nope")
    measure = pd.DataFrame({"a": range(30), "k": ["x", "y", "z"] * 10})
    numeric = infer_schema(measure, target="a")  # more than MAX_TARGET_CLASSES values
    assert numeric.column("a").type == "integer"
    assert numeric.target == "a" and numeric.conditions is None


@pytest.mark.parametrize(
    "codes",
    [
        [0, 1] * 20,  # int64 storage
        ["0", "1", "2", "?"] * 10,  # text with a missing-value token
        pd.array([0, 1, None, 1] * 10, dtype="Int64"),  # nullable, missing as null
    ],
)
def test_integer_class_codes_as_target_are_categorical(codes):
    """``--target y`` with a few integer codes is a class label (as scikit-learn reads it):
    categorical, conditioned on; the same column without --target stays integer."""
    frame = pd.DataFrame({"x": np.linspace(0, 1, 40), "y": codes})
    schema = infer_schema(frame, target="y")
    spec = schema.column("y")
    assert spec.type == "categorical" and "?" not in spec.categories
    assert spec.categories == sorted(spec.categories) and set(spec.categories) <= {"0", "1", "2"}
    assert spec.nullable == bool(frame["y"].isin(["?"]).any() or frame["y"].isna().any())
    assert schema.condition_columns == ["y"]
    assert infer_schema(frame).column("y").type == "integer"


def test_personal_data_flagged():
    frame = pd.DataFrame(
        {
            "contact": [f"user{i % 30}@example.com" for i in range(60)],
            "firstName": [f"name{i % 5}" for i in range(60)],
            "team": [f"t{i % 5}" for i in range(60)],
        }
    )
    schema = infer_schema(frame)
    assert schema.column("contact").pii and schema.column("firstName").pii
    assert not schema.column("team").pii


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["yes", "no", "yes"], ["yes", "no"]),
        (["Y", "N", None], ["Y", "N"]),
        (["TRUE", "FALSE"], ["TRUE", "FALSE"]),
        (["t", "f"], ["t", "f"]),
        (["Yes", "Yes"], ["Yes", "No"]),  # one value seen: its pair in the same case
        (["N", "N"], ["Y", "N"]),
        (["false"], ["true", "false"]),
    ],
)
def test_boolean_spelling_recorded(values, expected):
    """Cause 1b: a boolean column records how it spells true and false (true_false)."""
    schema = infer_schema(pd.DataFrame({"b": pd.array(values, dtype=object)}))
    assert schema.column("b").type == "boolean"
    assert schema.column("b").true_false == expected


@pytest.mark.parametrize(
    "values", [["yes", "Yes", "no"], ["true", "false", "yes"], ["yes", "false"], ["T", "t", "F"]]
)
def test_several_spellings_stay_categorical(values):
    """Two spellings of one value cannot be written back from a boolean: keep them as text."""
    spec = infer_schema(pd.DataFrame({"b": values})).column("b")
    assert spec.type == "categorical" and sorted(spec.categories) == sorted(set(values))


def test_json_booleans_need_no_tokens(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"b": true}\n{"b": false}\n{"b": null}\n')
    spec = infer_schema(path).column("b")
    assert spec.type == "boolean" and spec.nullable and spec.true_false is None


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (["1", "9223372036854775807", "-9223372036854775808"], "integer"),
        (["1", "9223372036854775808"], "continuous"),
        (["1", "-99999999999999999999999"], "continuous"),
        (["1", "000000000000000000000000000001"], "integer"),
    ],
)
def test_integers_beyond_int64_are_continuous(column, expected):
    """Cause 1: what int64 cannot hold is typed continuous, so nothing is corrupted."""
    assert infer_schema(pd.DataFrame({"v": column})).column("v").type == expected
