"""The great-expectations suite built from the schema, on typed frames."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from synthgen.schema import parse_schema
from synthgen.tabular.evaluate.validity import validate_synthetic
from synthgen.tabular.io import read_table


@pytest.fixture(scope="module")
def typed(tmp_path_factory, adult_path, adult_schema):
    path = tmp_path_factory.mktemp("gx") / "slice.csv"
    pd.read_csv(adult_path, nrows=300, dtype=str, keep_default_na=False).to_csv(path, index=False)
    return read_table(path, adult_schema)


def _failed(result):
    return {(r["expectation"], r["column"]) for r in result.results if not r["success"]}


def test_clean_typed_frame_passes(typed, adult_schema):
    result = validate_synthetic(typed, adult_schema)
    assert result.success, result.summary()
    kinds = {r["expectation"] for r in result.results}
    assert {
        "expect_table_columns_to_match_set",
        "expect_column_values_to_be_in_type_list",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_null",
    } <= kinds
    json.dumps(result.to_dict())


def test_cell_mutated_out_of_range_is_rejected(typed, adult_schema):
    bad = typed.copy()
    bad.loc[7, "age"] = 200
    result = validate_synthetic(bad, adult_schema)
    assert not result.success
    assert _failed(result) == {("expect_column_values_to_be_between", "age")}
    assert "200" in result.summary()


def test_unknown_category_null_and_missing_column_are_rejected(typed, adult_schema):
    bad = typed.copy()
    bad.loc[3, "sex"] = "Robot"
    bad.loc[4, "education"] = None
    bad = bad.drop(columns=["race"])
    failed = _failed(validate_synthetic(bad, adult_schema))
    assert ("expect_column_values_to_be_in_set", "sex") in failed
    assert ("expect_column_values_to_not_be_null", "education") in failed
    assert ("expect_table_columns_to_match_set", None) in failed


def test_ids_must_be_unique_and_types_must_match():
    schema = parse_schema(
        {
            "columns": [
                {"name": "uid", "type": "id"},
                {"name": "n", "type": "integer"},
                {"name": "flag", "type": "boolean"},
                {"name": "when", "type": "datetime"},
                {"name": "lo", "type": "continuous"},
                {"name": "hi", "type": "continuous"},
            ],
            "constraints": [{"type": "inequality", "low": "lo", "high": "hi"}],
        }
    )
    good = pd.DataFrame(
        {
            "uid": pd.array(["a", "b", "c"], dtype="str"),
            "n": pd.array([1, 2, 3], dtype="Int64"),
            "flag": pd.array([True, False, True], dtype="boolean"),
            "when": pd.to_datetime(["2020-01-01", "2020-02-01", "2021-01-01"]),
            "lo": [0.0, 1.0, 2.0],
            "hi": [1.0, 1.0, 3.0],
        }
    )
    assert validate_synthetic(good, schema).success
    bad = good.assign(uid=["a", "a", "c"], n=[1.5, 2.0, 3.0], hi=[1.0, 0.5, 3.0])
    failed = _failed(validate_synthetic(bad, schema))
    assert failed == {
        ("expect_column_values_to_be_unique", "uid"),
        ("expect_column_values_to_be_in_type_list", "n"),
        ("expect_column_pair_values_a_to_be_greater_than_b", None),
    }


def test_output_validator_sample_keeps_rows_and_dtypes(typed, adult_schema, tmp_path):
    """The sample kept while streaming is the picked rows with their dtypes, also when one
    chunk has a column that is missing in every row or is held in several Arrow chunks."""
    import pyarrow as pa

    from synthgen.tabular.checks import OutputValidator

    chunks = [typed.iloc[i : i + 50].reset_index(drop=True) for i in range(0, 300, 50)]
    chunks[2]["workclass"] = pd.Series([None] * 50, dtype=typed["workclass"].dtype)
    text = chunks[1]["education"].astype(object).tolist()
    big = pa.large_string()
    pieces = pa.chunked_array([pa.array(text[:20], big), pa.array(text[20:], big)])
    chunks[1]["education"] = pd.Series(typed["education"].dtype.__from_arrow__(pieces))
    validator = OutputValidator(adult_schema, 300, sample_rows=300)
    for chunk in chunks:
        validator.check(chunk)
    sample = validator.sample()
    pd.testing.assert_frame_equal(sample, pd.concat(chunks, ignore_index=True))
    assert validator.finish(tmp_path / "out.parquet")["gx_sample_rows"] == 300
