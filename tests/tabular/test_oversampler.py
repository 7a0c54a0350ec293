"""``SyntheticOverSampler``: imbalanced-learn's sampler contract, on frames and arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

from synthgen.errors import DataError, UsageError
from synthgen.tabular.oversampler import SyntheticOverSampler, resolve_sampling_strategy

DATA = Path(__file__).resolve().parents[2] / "synthgen" / "data" / "census.csv"
NUMERIC = ["age", "education-num", "hours-per-week", "capital-gain"]


@pytest.fixture(scope="module")
def census() -> pd.DataFrame:
    torch.set_num_threads(1)
    return pd.read_csv(DATA, nrows=400, keep_default_na=False, na_values=["?", ""])


def test_dataframe_in_dataframe_out(census):
    X, y = census.drop(columns="income"), census["income"]
    sampler = SyntheticOverSampler(epochs=2, batch_size=100, seed=1)
    X_res, y_res = sampler.fit_resample(X, y)
    counts = y.value_counts()
    assert y_res.value_counts().to_dict() == {c: counts.max() for c in counts.index}
    assert sampler.sampling_strategy_ == {counts.idxmin(): counts.max() - counts.min()}
    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
    assert y_res.name == "income" and list(X_res.columns) == list(X.columns)
    assert (X_res.dtypes == X.dtypes).all()
    # original rows first and unchanged; new rows are of the minority class only
    pd.testing.assert_frame_equal(X_res.iloc[: len(X)], X)
    assert (y_res.iloc[len(y) :] == counts.idxmin()).all()
    new = X_res.iloc[len(X) :]
    assert new["sex"].isin(X["sex"].unique()).all()
    assert new["age"].between(17, 90).all()
    # same seed, same rows; random_state (scikit-learn's name) and the seed alias agree
    X_again, _ = clone(sampler).fit_resample(X, y)
    pd.testing.assert_frame_equal(X_res, X_again)
    X_rs, _ = SyntheticOverSampler(epochs=2, batch_size=100, random_state=1).fit_resample(X, y)
    pd.testing.assert_frame_equal(X_res, X_rs)


def test_numpy_arrays_and_integer_labels(census):
    X = census[NUMERIC].to_numpy(dtype="float64")
    y = (census["income"] == ">50K").to_numpy(dtype="int64")
    X_res, y_res = SyntheticOverSampler(
        sampling_strategy={1: 250}, epochs=2, batch_size=100
    ).fit_resample(X, y)
    assert isinstance(X_res, np.ndarray) and X_res.dtype == np.float64
    assert y_res.dtype == np.int64
    assert np.bincount(y_res).tolist() == [int((y == 0).sum()), 250]
    np.testing.assert_array_equal(X_res[: len(X)], X)


def test_sampling_strategy_rules():
    y = np.array(["a"] * 10 + ["b"] * 4 + ["c"] * 2)
    assert resolve_sampling_strategy("auto", y) == {"b": 6, "c": 8}
    assert resolve_sampling_strategy("minority", y) == {"c": 8}
    assert resolve_sampling_strategy("all", y) == {"a": 0, "b": 6, "c": 8}
    assert resolve_sampling_strategy({"b": 5}, y) == {"b": 1}
    assert resolve_sampling_strategy(lambda _: {"c": 3}, y) == {"c": 1}
    assert resolve_sampling_strategy(0.5, np.array([0] * 10 + [1] * 2)) == {1: 3}
    for bad in ("most", {"b": 1}, {"z": 20}, 0.5):
        with pytest.raises(UsageError):
            resolve_sampling_strategy(bad, y)
    with pytest.raises(DataError):
        resolve_sampling_strategy("auto", np.array(["a", "a"]))


def test_imblearn_pipeline_with_cross_val_score(census):
    imblearn = pytest.importorskip("imblearn")
    from imblearn.pipeline import Pipeline
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    assert imblearn.base.is_sampler(SyntheticOverSampler())
    X, y = census[NUMERIC], census["income"]
    pipe = Pipeline(
        [
            ("over", SyntheticOverSampler(epochs=2, batch_size=100, random_state=0)),
            ("clf", HistGradientBoostingClassifier(max_iter=20, random_state=0)),
        ]
    )
    cv = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    scores = cross_val_score(pipe, X, y, cv=cv, scoring="balanced_accuracy")
    assert scores.shape == (2,) and np.all((scores > 0) & (scores <= 1))
    # fitted in the pipeline, the sampler really adds rows; predicting does not resample
    pipe.fit(X, y)
    over = pipe.named_steps["over"]
    assert over.sampling_strategy_ == {">50K": int((y == "<=50K").sum() - (y == ">50K").sum())}
    assert hasattr(over, "synthesizer_")
    pred = pipe.predict(X.iloc[:20])
    assert len(pred) == 20 and set(pred) <= set(y.unique())
