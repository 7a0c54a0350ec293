"""The table transformer's per-column encodings: categories (known, unknown, rare, boolean)
and numbers (point masses, few distinct integers, bounds, datetimes)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typed_columns import EPOCH, typed

from synthgen.schema import parse_schema
from synthgen.tabular.transform import OTHER, Span, TableTransformer


# ---------------------------------------------------------------------------- categories
def _cat_table(data, **spec):
    schema = parse_schema({"columns": [{"name": "c", "type": "categorical", **spec}]})
    return schema, pd.DataFrame({"c": typed("categorical", data)})


def test_unknown_category_encodes_as_zeros():
    schema, df = _cat_table(["a", "b", "a", "c"])
    tt = TableTransformer(schema).fit(df)
    X = tt.transform(pd.DataFrame({"c": typed("categorical", ["b", "zzz", None])}))
    np.testing.assert_array_equal(X[0], [0, 1, 0])
    np.testing.assert_array_equal(X[1], [0, 0, 0])
    np.testing.assert_array_equal(X[2], [0, 0, 0])  # missing in a column without a missing slot
    with pytest.raises(KeyError):
        tt.category_index("c", "zzz")
    with pytest.raises(KeyError):
        tt.category_index("c", None)
    with pytest.raises(KeyError):
        tt.category_index("nope", "a")


def test_schema_values_fix_the_slots():
    schema, df = _cat_table(["2", "1", "2"], values=[3, 1, 2], nullable=True)
    tt = TableTransformer(schema).fit(df)
    d = tt.discrete_columns_[0]
    assert d.categories == ["3", "1", "2", None]
    assert d.counts.tolist() == [0, 1, 2, 0]
    assert tt.category_index("c", 3) == 0 and tt.category_index("c", 2.0) == 2
    assert tt.category_index("c", None) == 3


@settings(max_examples=10, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**16))
def test_rare_categories_grouped_and_reachable(cap, seed):
    rng = np.random.default_rng(seed)
    cats = [f"k{j:02d}" for j in range(12)]
    freq = np.arange(12, 0, -1) * 10  # k0 most frequent ... k11 rarest
    values = np.repeat(cats, freq).tolist()
    schema, df = _cat_table(list(rng.permutation(values)), nullable=True)
    tt = TableTransformer(schema, max_categories=cap).fit(df)
    d = tt.discrete_columns_[0]
    kept, grouped = cats[: cap - 1], cats[cap - 1 :]
    assert d.categories == [*kept, OTHER, None]
    assert d.grouped == tuple(grouped)
    assert d.counts.tolist() == [*freq[: cap - 1], freq[cap - 1 :].sum(), 0]
    other = len(kept)
    assert all(tt.category_index("c", g) == other for g in grouped)
    # transform: grouped categories land in the "other" slot; round trip keeps kept ones exact
    X = tt.transform(df)
    assert X[:, other].sum() == freq[cap - 1 :].sum()
    back = tt.inverse_transform(X, np.random.default_rng(seed))["c"]
    is_kept = df["c"].isin(kept).to_numpy()
    assert back[is_kept].tolist() == df["c"][is_kept].tolist()
    assert set(back[~is_kept]) <= set(grouped)
    # decoding the "other" slot samples every grouped category, by training frequency
    Z = np.zeros((20_000, tt.output_dim_), dtype=np.float32)
    Z[:, other] = 1.0
    drawn = tt.inverse_transform(Z, np.random.default_rng(seed))["c"].value_counts()
    assert set(drawn.index) == set(grouped)
    share = freq[cap - 1 :] / freq[cap - 1 :].sum()
    np.testing.assert_allclose(drawn.reindex(grouped).to_numpy() / 20_000, share, atol=0.02)


def test_inverse_reads_logits_or_probabilities():
    schema, df = _cat_table(["a", "b", "c", "b"])
    tt = TableTransformer(schema).fit(df)
    logits = np.random.default_rng(0).normal(0, 3, (50, 3))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    a = tt.inverse_transform(logits)["c"]
    assert a.tolist() == tt.inverse_transform(probs)["c"].tolist()
    assert a.tolist() == np.asarray(["a", "b", "c"])[logits.argmax(axis=1)].tolist()


def test_boolean_two_slots():
    schema = parse_schema({"columns": [{"name": "b", "type": "boolean"}]})
    df = pd.DataFrame({"b": typed("boolean", [True, False, True])})
    tt = TableTransformer(schema).fit(df)
    assert tt.spans_ == [Span("b", 2, "softmax", "category")]
    assert tt.discrete_columns_[0].categories == ["False", "True"]
    assert tt.category_index("b", True) == 1 and tt.category_index("b", "False") == 0


# ---------------------------------------------------------------------------- numbers
def test_point_mass_reproduced_exactly_quantile():
    rng = np.random.default_rng(0)
    n = 20_000
    gain = np.where(rng.random(n) < 0.92, 0, rng.lognormal(8, 1, n).round()).astype(np.int64)
    schema = parse_schema({"columns": [{"name": "g", "type": "integer", "min": 0}]})
    df = pd.DataFrame({"g": typed("integer", gain.tolist())})
    tt = TableTransformer(schema, numeric="quantile").fit(df)
    assert tt.spans_ == [Span("g", 1, "linear", "value")]
    Z = rng.standard_normal((n, 1)).astype(np.float32)  # what a perfect model would emit
    back = tt.inverse_transform(Z)["g"].to_numpy(dtype=float)
    assert abs((back == 0).mean() - (gain == 0).mean()) < 0.01
    assert back.min() >= 0 and back.max() <= gain.max()


def test_point_mass_mode_decodes_exactly():
    rng = np.random.default_rng(0)
    n = 20_000
    gain = np.where(rng.random(n) < 0.92, 0.0, rng.lognormal(8, 1, n))
    schema = parse_schema({"columns": [{"name": "g", "type": "continuous"}]})
    tt = TableTransformer(schema, numeric="mode").fit(pd.DataFrame({"g": gain}))
    X = tt.transform(pd.DataFrame({"g": gain}))
    noisy = X.copy()
    noisy[:, 0] += rng.normal(0, 0.05, n).astype(np.float32)  # a model is never exact
    back = tt.inverse_transform(noisy)["g"].to_numpy()
    assert abs((back == 0).mean() - (gain == 0).mean()) < 0.005
    width = tt.spans_[1].width
    assert 2 <= width <= 10


def test_few_distinct_integers_need_few_modes():
    schema = parse_schema({"columns": [{"name": "e", "type": "integer"}]})
    vals = np.random.default_rng(0).integers(1, 17, 5000)  # education-num: 16 values
    tt = TableTransformer(schema, numeric="mode").fit(
        pd.DataFrame({"e": typed("integer", vals.tolist())})
    )
    assert tt.spans_[1].width <= 10
    three = np.random.default_rng(0).choice([1, 5, 9], 500)
    tt = TableTransformer(schema, numeric="mode").fit(
        pd.DataFrame({"e": typed("integer", three.tolist())})
    )
    assert tt.spans_[1].width == 3


@pytest.mark.parametrize("numeric", ["mode", "quantile"])
def test_inverse_clips_to_schema_bounds_and_rounds(numeric):
    schema = parse_schema(
        {
            "columns": [
                {"name": "age", "type": "integer", "min": 17, "max": 90},
                {"name": "x", "type": "continuous"},
            ]
        }
    )
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"age": typed("integer", rng.integers(17, 91, 300).tolist()), "x": rng.normal(5, 2, 300)}
    )
    tt = TableTransformer(schema, numeric=numeric).fit(df)
    X = rng.normal(0, 50, (1000, tt.output_dim_))
    back = tt.inverse_transform(X)
    assert back["age"].min() >= 17 and back["age"].max() <= 90
    assert str(back["age"].dtype) == "Int64"
    assert back["x"].min() >= df["x"].min() and back["x"].max() <= df["x"].max()


def test_datetime_decodes_to_datetime64ns_at_learnt_resolution():
    days = [EPOCH + timedelta(days=int(d)) for d in np.random.default_rng(0).integers(0, 9000, 200)]
    schema = parse_schema({"columns": [{"name": "d", "type": "datetime"}]})
    df = pd.DataFrame({"d": typed("datetime", days)})
    for numeric in ("mode", "quantile"):
        tt = TableTransformer(schema, numeric=numeric).fit(df)
        back = tt.inverse_transform(tt.transform(df))["d"]
        assert str(back.dtype) == "datetime64[ns]"
        assert (back == back.dt.normalize()).all()
        noisy = tt.inverse_transform(np.random.default_rng(1).normal(0, 1, (100, tt.output_dim_)))
        assert (noisy["d"] == noisy["d"].dt.normalize()).all()
