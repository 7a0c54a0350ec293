"""Fidelity metrics on constructed cases with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.schema import parse_schema
from synthgen.tabular.evaluate import fidelity
from synthgen.tabular.evaluate.frames import column_kinds, prepare


@pytest.fixture(scope="module")
def adult(adult_path, adult_schema):
    raw = pd.read_csv(adult_path, nrows=600, na_values=["?"])
    return prepare(raw, adult_schema, "real"), column_kinds(adult_schema)


def _shuffle_columns(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: df[c].to_numpy()[rng.permutation(len(df))] for c in df.columns})


def test_identical_tables_score_perfectly(adult):
    frame, kinds = adult
    doc = fidelity.fidelity(frame, frame.copy(), kinds, np.random.default_rng(0))
    assert doc["shapes"] == pytest.approx(1.0)
    assert doc["trends"] == pytest.approx(1.0)
    assert doc["quality"] == pytest.approx(1.0)
    assert all(c["wasserstein"] in (None, 0.0) for c in doc["columns"])
    assert all(c["js_distance"] == pytest.approx(0.0, abs=1e-6) for c in doc["columns"])
    assert doc["mmd"]["mmd2"] == pytest.approx(0.0, abs=1e-9)


def test_shuffled_columns_keep_shapes_but_lose_trends(adult):
    frame, kinds = adult
    shuffled = _shuffle_columns(frame)
    doc = fidelity.fidelity(frame, shuffled, kinds, np.random.default_rng(0))
    assert doc["shapes"] == pytest.approx(1.0)
    assert doc["trends"] < 0.93
    assert doc["trends_strong"] < 0.85  # strongly associated real pairs lose the most
    worst = doc["pairs"][0]
    assert worst["score"] == min(p["score"] for p in doc["pairs"])
    half_a, half_b = frame.iloc[:300], frame.iloc[300:].reset_index(drop=True)
    same = fidelity.mmd(half_a, half_b, kinds, np.random.default_rng(0))["mmd2"]
    broken = fidelity.mmd(half_a, _shuffle_columns(half_b), kinds, np.random.default_rng(0))
    assert broken["mmd2"] > 2 * same


def test_disjoint_categories_give_tv_complement_zero():
    real = pd.Series(["a", "b", "a", "c"], dtype=object)
    syn = pd.Series(["x", "y", "y", "z"], dtype=object)
    assert fidelity.tv_complement(real, syn) == pytest.approx(0.0, abs=1e-9)
    assert fidelity.tv_complement(real, real) == pytest.approx(1.0)


def test_ks_complement_known_value_and_missing_values_dropped():
    real = np.arange(10, dtype=float)
    syn = np.r_[np.arange(5, 15, dtype=float), np.nan, np.nan]
    assert fidelity.ks_complement(real, syn) == pytest.approx(0.5)


def test_correlation_similarity_known_values():
    x = np.linspace(0, 1, 50)
    assert fidelity.correlation_similarity((x, x), (x, -x))[0] == pytest.approx(0.0)
    assert fidelity.correlation_similarity((x, x), (x, 2 * x + 1))[0] == pytest.approx(1.0)
    const = np.ones(50)
    assert np.isnan(fidelity.correlation_similarity((x, x), (x, const))[0])


def test_contingency_similarity_known_value():
    a = pd.Series(["u", "u", "v", "v"], dtype=object)
    b = pd.Series(["p", "q", "p", "q"], dtype=object)
    b_flipped = pd.Series(["p", "p", "q", "q"], dtype=object)
    # real pairs (u,p)(u,q)(v,p)(v,q) vs synthetic (u,p)(u,p)(v,q)(v,q): TV = 0.5
    score, _ = fidelity.contingency_similarity((a, b), (a, b_flipped))
    assert score == pytest.approx(0.5)


def test_wasserstein_is_scaled_by_the_real_range_and_worst_columns_come_first():
    schema = parse_schema(
        {"columns": [{"name": "x", "type": "continuous"}, {"name": "c", "type": "categorical"}]}
    )
    real = pd.DataFrame({"x": np.linspace(0, 100, 101), "c": ["a"] * 101})
    syn = pd.DataFrame({"x": np.linspace(10, 110, 101), "c": ["a"] * 50 + ["b"] * 51})
    kinds = column_kinds(schema)
    rows = fidelity.column_report(prepare(real, schema, "r"), prepare(syn, schema, "s"), kinds)
    by_name = {r["column"]: r for r in rows}
    assert by_name["x"]["wasserstein"] == pytest.approx(0.1)
    assert rows[0]["column"] == "c"  # TV complement ~0.5 is worse than KS complement 0.9
