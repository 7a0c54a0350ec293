"""Property tests of the reversible table transformer (synthgen.transform)."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import safetensors.numpy as stn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typed_columns import EPOCH, typed

from synthgen.errors import DataError, ModelFileError
from synthgen.schema import TableSchema, parse_schema
from synthgen.tabular.transform import Span, TableTransformer

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TYPES = ("continuous", "integer", "categorical", "boolean", "datetime", "id")


# ---------------------------------------------------------------------------- typed frames
def _values(draw, kind: str, n: int, i: int) -> list:
    if kind == "continuous":
        elem = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
    elif kind == "integer":
        lo = draw(st.integers(-10_000, 10_000))
        elem = st.integers(lo, lo + draw(st.sampled_from([3, 50, 10_000])))
    elif kind == "categorical":
        pool = draw(st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=6, unique=True))
        elem = st.sampled_from(pool)
    elif kind == "boolean":
        elem = st.booleans()
    elif kind == "datetime":
        elem = st.integers(0, 60 * 365 * 86_400).map(lambda s: EPOCH + timedelta(seconds=s))
    else:
        return [f"id-{i}-{r}" for r in range(n)]
    return draw(st.lists(elem, min_size=n, max_size=n))


@st.composite
def tables(draw, types=TYPES, min_rows=1, max_rows=40):
    n = draw(st.integers(min_rows, max_rows))
    kinds = draw(st.lists(st.sampled_from(types), min_size=1, max_size=5))
    columns, data = [], {}
    for i, kind in enumerate(kinds):
        name = f"c{i}_{kind}"
        vals = _values(draw, kind, n, i)
        nullable = kind != "id" and draw(st.booleans())
        if nullable:
            holes = draw(st.lists(st.booleans(), min_size=n, max_size=n))
            vals = [None if h else v for v, h in zip(vals, holes, strict=True)]
        columns.append({"name": name, "type": kind, "nullable": nullable})
        data[name] = typed(kind, vals)
    return parse_schema({"name": "t", "columns": columns}), pd.DataFrame(data)


def _check_round_trip(
    schema: TableSchema, df: pd.DataFrame, back: pd.DataFrame, exact_ints: bool
) -> None:
    modelled = [c for c in schema.columns if c.type != "id"]
    assert list(back.columns) == [c.name for c in modelled]
    assert len(back) == len(df)
    for spec in modelled:
        a, b = df[spec.name], back[spec.name]
        np.testing.assert_array_equal(a.isna().to_numpy(), b.isna().to_numpy(), spec.name)
        ok = ~a.isna().to_numpy()
        want = {
            "integer": "Int64",
            "continuous": "float64",
            "categorical": "str",
            "boolean": "boolean",
            "datetime": "datetime64[ns]",
        }[spec.type]
        assert str(b.dtype) == want, (spec.name, b.dtype)
        if spec.type in ("categorical", "boolean") or (spec.type == "integer" and exact_ints):
            assert a[ok].tolist() == b[ok].tolist(), spec.name
        elif ok.any():
            if spec.type == "datetime":
                x = a[ok].astype("int64").to_numpy() / 1e9
                y = b[ok].astype("int64").to_numpy() / 1e9
            else:
                x = a[ok].to_numpy(dtype=float)
                y = b[ok].to_numpy(dtype=float)
            span = float(x.max() - x.min())
            np.testing.assert_allclose(y, x, rtol=0, atol=1e-4 * span + 1e-6, err_msg=spec.name)


# ---------------------------------------------------------------------------- round trips
@FAST
@given(tables())
def test_round_trip_quantile(table):
    schema, df = table
    tt = TableTransformer(schema, numeric="quantile").fit(df)
    X = tt.transform(df)
    assert X.dtype == np.float32 and X.shape == (len(df), tt.output_dim_)
    _check_round_trip(schema, df, tt.inverse_transform(X), exact_ints=True)


@FAST
@given(tables())
def test_round_trip_mode(table):
    """Mode-specific: discrete columns exact, NaN positions kept, numbers in range."""
    schema, df = table
    tt = TableTransformer(schema, numeric="mode").fit(df)
    back = tt.inverse_transform(tt.transform(df))
    for spec in schema.columns:
        if spec.type == "id":
            assert spec.name not in back.columns
            continue
        a, b = df[spec.name], back[spec.name]
        np.testing.assert_array_equal(a.isna().to_numpy(), b.isna().to_numpy())
        ok = ~a.isna().to_numpy()
        if spec.type in ("categorical", "boolean"):
            assert a[ok].tolist() == b[ok].tolist()
        elif spec.type == "integer" and a[ok].nunique() <= 10:
            assert a[ok].tolist() == b[ok].tolist()  # few distinct values: exact point masses
        elif ok.any() and spec.type != "datetime":
            assert b[ok].min() >= a[ok].min() and b[ok].max() <= a[ok].max()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=12, max_size=200, unique=True))
def test_mode_round_trip_continuous_within_tolerance(values):
    schema = parse_schema({"columns": [{"name": "x", "type": "continuous"}]})
    df = pd.DataFrame({"x": np.asarray(values, dtype=float) / 7.0})
    tt = TableTransformer(schema, numeric="mode").fit(df)
    back = tt.inverse_transform(tt.transform(df))
    np.testing.assert_allclose(back["x"].to_numpy(), df["x"].to_numpy(), atol=1e-3)


def test_missing_positions_in_every_type_both_modes():
    df = pd.DataFrame(
        {
            "i": typed("integer", [1, None, 3, 4, None, 6]),
            "f": typed("continuous", [0.5, 1.5, None, 2.5, 3.5, None]),
            "c": typed("categorical", ["a", None, "b", "a", None, "b"]),
            "b": typed("boolean", [True, False, None, True, None, False]),
            "d": typed("datetime", [None, EPOCH, EPOCH + timedelta(days=3), None, EPOCH, EPOCH]),
        }
    )
    cols = [
        {"name": n, "type": t, "nullable": True}
        for n, t in zip(
            "ifcbd", ["integer", "continuous", "categorical", "boolean", "datetime"], strict=True
        )
    ]
    schema = parse_schema({"columns": cols})
    for numeric in ("mode", "quantile"):
        tt = TableTransformer(schema, numeric=numeric).fit(df)
        back = tt.inverse_transform(tt.transform(df))
        pd.testing.assert_frame_equal(back.isna(), df.isna())
        missing_spans = [s for s in tt.spans_ if s.role == "missing"]
        assert [s.column for s in missing_spans] == ["i", "f", "d"]
        assert all(s.width == 2 and s.activation == "softmax" for s in missing_spans)
        assert None in tt.discrete_columns_[0].categories


# ---------------------------------------------------------------------------- layout
@FAST
@given(tables(), st.sampled_from(["mode", "quantile"]))
def test_spans_cover_the_output(table, numeric):
    schema, df = table
    tt = TableTransformer(schema, numeric=numeric).fit(df)
    assert sum(s.width for s in tt.spans_) == tt.output_dim_
    assert all(isinstance(s, Span) for s in tt.spans_)
    pos = 0
    for name, sl in tt.column_slices_.items():
        assert sl.start == pos
        assert sum(s.width for s in tt.spans_ if s.column == name) == sl.stop - sl.start
        pos = sl.stop
    assert pos == tt.output_dim_
    discrete = [c.name for c in schema.columns if c.type in ("categorical", "boolean")]
    assert [d.column for d in tt.discrete_columns_] == discrete
    for d in tt.discrete_columns_:
        sl = tt.column_slices_[d.column]
        assert (d.start, d.start + len(d.categories)) == (sl.start, sl.stop)
        assert d.counts.sum() == len(df) and len(d.counts) == len(d.categories)
        for j, label in enumerate(d.categories):
            if label is not None:
                assert tt.category_index(d.column, label) == j
    X = tt.transform(df)
    for s, start in zip(tt.spans_, np.cumsum([0] + [s.width for s in tt.spans_])[:-1], strict=True):
        block = X[:, start : start + s.width]
        if s.activation == "softmax":
            assert np.all(block.sum(axis=1) == 1.0)  # every row is one-hot (seen data)
        if s.activation == "tanh":
            assert np.all(np.abs(block) <= 1.0)


def test_span_validation():
    with pytest.raises(ValueError):
        Span("x", 0, "softmax", "category")
    with pytest.raises(ValueError):
        Span("x", 1, "sigmoid", "value")
    with pytest.raises(ValueError):
        Span("x", 3, "tanh", "category")


# ---------------------------------------------------------------------------- state
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(min_rows=5), st.sampled_from(["mode", "quantile"]))
def test_state_round_trip_through_json_and_safetensors(table, numeric):
    schema, df = table
    tt = TableTransformer(schema, numeric=numeric, seed=3).fit(df)
    state, arrays = tt.to_state()
    state2 = json.loads(json.dumps(state))
    arrays2 = stn.load(stn.save(arrays))
    tt2 = TableTransformer.from_state(schema, state2, arrays2)
    assert tt2.spans_ == tt.spans_ and tt2.output_dim_ == tt.output_dim_
    X = tt.transform(df)
    np.testing.assert_array_equal(tt2.transform(df), X)
    noisy = X + np.random.default_rng(1).normal(0, 0.3, X.shape).astype(np.float32)
    pd.testing.assert_frame_equal(
        tt2.inverse_transform(noisy, np.random.default_rng(5)),
        tt.inverse_transform(noisy, np.random.default_rng(5)),
    )


def test_state_mismatch_refused():
    schema = parse_schema({"columns": [{"name": "a", "type": "integer"}]})
    tt = TableTransformer(schema).fit(pd.DataFrame({"a": typed("integer", [1, 2, 3])}))
    state, arrays = tt.to_state()
    other = parse_schema({"columns": [{"name": "b", "type": "integer"}]})
    with pytest.raises(ModelFileError):
        TableTransformer.from_state(other, state, arrays)
    with pytest.raises(ModelFileError):
        TableTransformer.from_state(schema, state, {})
    with pytest.raises(ModelFileError):
        TableTransformer.from_state(schema, {**state, "format": 99}, arrays)


# ---------------------------------------------------------------------------- determinism etc.
def _mixed(n=500, seed=0):
    rng = np.random.default_rng(seed)
    schema = parse_schema(
        {
            "columns": [
                {"name": "id", "type": "id"},
                {"name": "x", "type": "continuous"},
                {"name": "k", "type": "integer", "nullable": True},
                {"name": "c", "type": "categorical"},
            ]
        }
    )
    k = rng.integers(0, 1000, n).astype(object)
    k[rng.random(n) < 0.1] = None
    df = pd.DataFrame(
        {
            "id": typed("id", [f"r{i}" for i in range(n)]),
            "x": np.concatenate([rng.normal(0, 1, n // 2), rng.normal(10, 3, n - n // 2)]),
            "k": typed("integer", list(k)),
            "c": typed("categorical", rng.choice(list("abcde"), n).tolist()),
        }
    )
    return schema, df


def test_same_seed_same_arrays():
    schema, df = _mixed()
    a = TableTransformer(schema, seed=7).fit(df)
    b = TableTransformer(schema, seed=7).fit(df)
    np.testing.assert_array_equal(a.transform(df), b.transform(df))
    np.testing.assert_array_equal(a.transform(df), a.transform(df))
    sa, aa = a.to_state()
    sb, ab = b.to_state()
    assert sa == sb and all(np.array_equal(aa[k], ab[k]) for k in aa)
    X = a.transform(df)
    pd.testing.assert_frame_equal(a.inverse_transform(X), b.inverse_transform(X))
    c = TableTransformer(schema, seed=8).fit(df)
    assert not np.array_equal(a.transform(df), c.transform(df))  # modes sampled differently


def test_id_columns_not_modelled_and_frame_checked():
    schema, df = _mixed(50)
    tt = TableTransformer(schema).fit(df)
    assert "id" not in tt.column_slices_ and all(s.column != "id" for s in tt.spans_)
    tt.transform(df.drop(columns="id"))  # ids are not needed to transform
    with pytest.raises(DataError, match="x"):
        tt.transform(df.drop(columns="x"))
    with pytest.raises(ValueError):
        tt.inverse_transform(np.zeros((3, tt.output_dim_ + 1)))
    with pytest.raises(RuntimeError):
        TableTransformer(schema).transform(df)
    with pytest.raises(ValueError):
        TableTransformer(schema, numeric="bogus").fit(df)
