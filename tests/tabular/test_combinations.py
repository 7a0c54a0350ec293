"""fixed_combinations at generation: repair from the determining column, rejection otherwise."""

from __future__ import annotations

import pandas as pd
import pytest

from synthgen.tabular.combinations import FixedCombination, combination_keys


def _train() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "edu": pd.array(["HS", "BA", "MA", None], dtype="string"),
            "num": pd.array([9, 13, 14, None], dtype="Int64"),
            "flag": pd.array([True, False, True, None], dtype="boolean"),
        }
    )


def _constraint(frame: pd.DataFrame, columns: list[str]) -> FixedCombination:
    seen = combination_keys(frame, columns).unique()
    return FixedCombination(columns, [list(v) for v in seen])


def test_determined_columns_are_set_from_the_determining_one_in_their_own_dtype():
    combo = _constraint(_train(), ["edu", "num", "flag"])
    assert combo.columns[combo.source] == "edu"
    drawn = pd.DataFrame(
        {
            "edu": pd.array(["HS", "MA", "PhD", None, "BA"], dtype="string"),
            "num": pd.array([1, 2, 3, 4, 5], dtype="Int64"),
            "flag": pd.array([False, False, True, True, True], dtype="boolean"),
        }
    )
    out = combo.repair(drawn.copy())
    assert out["num"].dtype == "Int64" and out["flag"].dtype == "boolean"
    assert out["num"].tolist()[:2] == [9, 14] and out["num"].tolist()[4] == 13
    assert out["flag"].tolist()[:2] == [True, True]
    assert out["num"].isna()[3] and out["flag"].isna()[3]  # the all-missing combination
    assert out["num"][2] == 3  # 'PhD' is no known value: left for rejection
    assert combo.accept(out).tolist() == [True, True, False, True, True]
    assert out["edu"].equals(drawn["edu"])  # the determining column is never changed


def test_no_determining_column_means_rejection_only():
    frame = pd.DataFrame(
        {
            "a": pd.array(["x", "x", "y"], dtype="string"),
            "b": pd.array(["1", "2", "1"], dtype="string"),
        }
    )
    combo = _constraint(frame, ["a", "b"])
    assert combo.source is None
    drawn = pd.DataFrame(
        {"a": pd.array(["y", "x"], dtype="string"), "b": pd.array(["2", "2"], dtype="string")}
    )
    out = combo.repair(drawn.copy())
    assert out.equals(drawn)
    assert combo.accept(out).tolist() == [False, True]


def test_rows_repaired_are_valid_by_construction_and_the_rest_still_checked():
    combo = FixedCombination(["level", "code"], [["low", "1"], ["mid", "2"], ["high", "3"]])
    df = pd.DataFrame(
        {
            "level": pd.array(["low", "odd", None, "high", "mid"], dtype="string"),
            "code": pd.array(["3", "1", "2", "9", "2"], dtype="string"),
        }
    )
    df, valid = combo.repair_valid(df)
    assert valid.tolist() == [True, False, False, True, True]  # unknown and missing: checked
    assert df["code"].tolist() == ["1", "1", "2", "3", "2"]
    assert combo.accept(df, valid).tolist() == combo.accept(df).tolist()
    assert combo.accept(df, valid).tolist() == [True, False, False, True, True]


@pytest.mark.parametrize("dtype", ["string", object])
def test_arrow_lookup_of_the_determining_value_equals_the_label_lookup(dtype):
    # a missing determining value that is itself a known combination is repaired from it
    combo = FixedCombination(["level", "code"], [["low", "1"], [None, "0"], ["high", "3"]])
    df = pd.DataFrame(
        {
            "level": pd.array(["low", "odd", None, "high", "low"], dtype=dtype),
            "code": pd.array(["3", "1", "2", "9", "1"], dtype="string"),
        }
    )
    df, valid = combo.repair_valid(df)
    assert df["code"].tolist() == ["1", "1", "0", "3", "1"]
    assert valid.tolist() == [True, False, False, True, True]  # missing: still checked
