"""The ``binned`` numeric encoding and the ``ar`` model built on it."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import UsageError
from synthgen.schema import ColumnSpec, parse_schema
from synthgen.tabular.synthesizer import TabularSynthesizer
from synthgen.tabular.transform import BinnedEncoder, ColumnEncoder, TableTransformer


def _encode_decode(enc: BinnedEncoder, values: pd.Series, seed: int = 0):
    block = enc.transform(values)
    codes = block.argmax(1)[:, None]
    return block, enc.inverse_parts(np.zeros((len(values), 0)), codes, np.random.default_rng(seed))


def test_binned_point_masses_and_few_values_come_back_exactly():
    rng = np.random.default_rng(0)
    gain = np.where(rng.random(5000) < 0.9, 0, rng.integers(1, 99_999, 5000))
    spec = ColumnSpec(name="gain", type="integer", min=0, max=99_999)
    enc = BinnedEncoder(spec, n_bins=50).fit(pd.Series(gain))
    assert enc.width <= 52  # quantile bins, plus at most a couple around heavy values
    _, back = _encode_decode(enc, pd.Series(gain))
    back = np.asarray(back, dtype=np.int64)
    assert (back == 0).sum() == (gain == 0).sum()  # the zeros are one bin, decoded exactly
    assert back.min() >= 0 and back.max() <= 99_999
    # a column of few values: every value is its own bin and decodes to itself
    small = pd.Series(rng.choice([1, 5, 40, 99], 300))
    enc = BinnedEncoder(ColumnSpec(name="h", type="integer"), n_bins=50).fit(small)
    assert enc.width == 4
    _, back = _encode_decode(enc, small)
    np.testing.assert_array_equal(np.asarray(back, dtype=np.int64), small.to_numpy())


def test_binned_continuous_values_stay_in_their_bin_and_are_not_copies():
    rng = np.random.default_rng(1)
    x = pd.Series(rng.lognormal(3.0, 1.0, 4000))
    enc = BinnedEncoder(ColumnSpec(name="x", type="continuous"), n_bins=40).fit(x)
    block, back = _encode_decode(enc, x)
    bins = block.argmax(1)
    assert np.array_equal(enc.bin_of(np.asarray(back)), bins)  # decoded within the same bin
    assert np.mean(np.isin(np.asarray(back), x.to_numpy())) < 0.05
    counts = np.bincount(bins, minlength=enc.width)
    assert counts.min() >= 50 and counts.max() <= 200  # about equal quantile bins


def test_binned_datetimes_and_missing_values():
    days = pd.to_datetime("2020-01-01") + pd.to_timedelta(np.arange(400) % 200, unit="D")
    values = pd.Series(days).where(np.arange(400) % 10 != 0)  # every tenth row missing
    spec = ColumnSpec(name="d", type="datetime", nullable=True, format="%Y-%m-%d")
    enc = BinnedEncoder(spec, n_bins=30).fit(values)
    block, back = _encode_decode(enc, values)
    assert block.shape[1] == enc.n_bins_ + 1  # the missing slot closes the same softmax
    back = pd.Series(back)
    pd.testing.assert_series_equal(back.isna(), values.isna(), check_names=False)
    present = back.dropna()
    assert (present == present.dt.normalize()).all()  # whole days, as in the data
    assert present.min() >= days.min() and present.max() <= days.max()


def test_binned_state_round_trip_decodes_the_same():
    x = pd.Series(np.random.default_rng(2).normal(size=1000))
    enc = BinnedEncoder(ColumnSpec(name="x", type="continuous"), n_bins=20).fit(x)
    state, arrays = enc.get_state()
    again = ColumnEncoder.from_state(enc.spec, state, arrays)
    _, a = _encode_decode(enc, x, seed=3)
    _, b = _encode_decode(again, x, seed=3)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(Exception, match="table"):
        ColumnEncoder.from_state(enc.spec, {**state, "n_bins": 3}, arrays)


def _table(n: int = 400) -> tuple[pd.DataFrame, object]:
    rng = np.random.default_rng(0)
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    flag = np.where(group == "a", rng.random(n) < 0.9, rng.random(n) < 0.1)
    amount = np.where(group == "c", 100.0, rng.gamma(2.0, 10.0, n))
    frame = pd.DataFrame(
        {
            "group": group,
            "flag": np.where(flag, "yes", "no"),
            "amount": amount,
            "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        }
    )
    frame.loc[::7, "count"] = pd.NA
    schema = parse_schema(
        {
            "name": "t",
            "target": "group",
            "conditions": ["group", "flag"],
            "columns": [
                {"name": "group", "type": "categorical", "values": ["a", "b", "c"]},
                {"name": "flag", "type": "categorical", "values": ["no", "yes"]},
                {"name": "amount", "type": "continuous"},
                {"name": "count", "type": "integer", "nullable": True},
            ],
        }
    )
    return frame, schema


@pytest.fixture(scope="module")
def fitted():
    frame, schema = _table()
    return TabularSynthesizer("ar", epochs=20, seed=0, progress=False).fit(frame, schema)


def test_conditioning_on_condition_columns_is_exact_and_conditional(fitted):
    assert fitted.model_.conditionable == ["group", "flag"]
    out = fitted.sample(2000, {"flag": "yes"}, seed=1)
    assert (out["flag"] == "yes").all()
    # group is drawn given flag=yes (mostly "a"), not from its own margin (half "a")
    assert (out["group"] == "a").mean() > 0.75
    both = fitted.sample(300, {"group": "c", "flag": "yes"}, seed=2)
    assert (both["group"] == "c").all() and (both["flag"] == "yes").all()
    rows_c = fitted.sample(1000, {"group": "c"}, seed=3)
    assert (rows_c["amount"] == 100.0).mean() > 0.7  # what "c" rows hold in the data


def test_missing_values_and_integers_are_generated(fitted):
    out = fitted.sample(3000, seed=3)
    share = out["count"].isna().mean()
    assert 0.08 < share < 0.22  # one row in seven is missing in the data
    assert set(out["count"].dropna().astype(int)) <= {0, 1, 2, 3, 4}


def test_save_load_gives_the_same_rows_and_bad_conditions_are_refused(fitted, tmp_path):
    path = fitted.save(tmp_path / "m.synth")
    loaded = TabularSynthesizer.load(path, device="cpu")
    pd.testing.assert_frame_equal(loaded.sample(500, seed=4), fitted.sample(500, seed=4))
    with pytest.raises(UsageError, match="Known values"):
        loaded.sample(10, {"group": "z"})


def test_same_seed_same_model_file():
    frame, schema = _table()
    digests = []
    for _ in range(2):
        synth = TabularSynthesizer("ar", epochs=3, seed=5, progress=False).fit(frame, schema)
        model = synth.model_
        digests.append(
            hashlib.sha256(
                b"".join(t.numpy().tobytes() for t in model.state_tensors().values())
            ).hexdigest()
        )
    assert digests[0] == digests[1]


def test_ar_needs_binned_numbers_and_fits_ten_rows():
    frame, schema = _table()
    with pytest.raises(UsageError, match="binned"):
        TabularSynthesizer("ar", epochs=1, progress=False, numeric_encoding="quantile").fit(
            frame, schema
        )
    tiny = frame.iloc[:10].reset_index(drop=True)
    synth = TabularSynthesizer("ar", progress=False).fit(tiny, schema)
    out = synth.sample(50, seed=0)
    assert len(out) == 50 and list(out.columns) == schema.column_names
    tt = TableTransformer(schema, numeric="binned").fit(frame)
    assert tt.to_state()[0]["params"]["n_bins"] == 100
