"""Attack-based privacy in table evaluation: singling out, linkability and inference against
the training rows with the holdout as control; rare training values; gates; report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.errors import GateFailed
from synthgen.jobs.evaluate import evaluate_files
from synthgen.schema import ColumnSpec, TableSchema
from synthgen.tabular.evaluate.attacks import risk, wilson
from synthgen.tabular.evaluate.evaluation import evaluate

SCHEMA = TableSchema(
    name="people",
    kind="table",
    target="smoker",
    columns=[
        ColumnSpec(name="age", type="integer"),
        ColumnSpec(name="income", type="continuous"),
        ColumnSpec(name="city", type="categorical"),
        ColumnSpec(name="job", type="categorical"),
        ColumnSpec(name="smoker", type="categorical"),
    ],
)


def _people(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": pd.array(rng.integers(18, 90, n), dtype="Int64"),
            "income": rng.lognormal(10, 0.6, n).round(2),
            "city": rng.choice([f"c{i}" for i in range(12)], n),
            "job": rng.choice([f"j{i}" for i in range(9)], n),
            "smoker": rng.choice(["yes", "no"], n),
        }
    )


@pytest.fixture(scope="module")
def frames():
    return _people(400, 1), _people(400, 2), _people(400, 3)


def test_memoriser_is_caught_and_fresh_rows_are_not(frames):
    train, holdout, fresh = frames
    copied = evaluate(train, train.sample(frac=1.0, random_state=0), SCHEMA, holdout=holdout)
    att = copied["privacy"]["attacks"]
    assert att["singling_out"]["risk"] > 0.5 or att["linkability"]["risk"] > 0.5
    assert att["singling_out"]["ci"][0] > 0.2 and att["inference"]["risk"] > 0.3
    # rows from the same population the model never saw: no leak
    clean = evaluate(train, fresh, SCHEMA, holdout=holdout)["privacy"]["attacks"]
    for name in ("singling_out", "linkability", "inference"):
        assert clean[name]["risk"] < 0.15, (name, clean[name])
        assert clean[name]["ci"][0] == 0.0
    assert copied["summary"]["singling_out_risk"] == att["singling_out"]["risk"]
    assert att["rows"]["train"] == len(holdout) and att["rows"]["attacks"] == 500


def test_rare_training_values_are_counted(frames):
    train, holdout, fresh = frames
    train = train.copy()
    train.loc[0, "city"] = "Tiny-town"
    fresh = fresh.copy()
    fresh.loc[:9, "city"] = "Tiny-town"
    doc = evaluate(train, fresh, SCHEMA, holdout=holdout)
    rare = doc["privacy"]["rare_in_train"]
    assert rare["per_column"]["city"] == 10 and rare["count"] == 10
    cells = 3 * len(fresh)  # three category columns
    assert doc["summary"]["rare_in_train"] == pytest.approx(10 / cells)


def test_without_holdout_there_is_no_attack_and_a_gate_on_it_fails(frames, tmp_path):
    train, _, fresh = frames
    doc = evaluate(train, fresh, SCHEMA)
    assert doc["privacy"]["attacks"] is None and doc["summary"]["linkability_risk"] is None
    paths = []
    for name, frame in (("train", train), ("syn", train)):
        paths.append(tmp_path / f"{name}.csv")
        frame.to_csv(paths[-1], index=False)
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "schema_version: 1\nname: p\nkind: table\ntarget: smoker\ncolumns:\n"
        "  - {name: age, type: integer}\n  - {name: income, type: continuous}\n"
        "  - {name: city, type: categorical}\n  - {name: job, type: categorical}\n"
        "  - {name: smoker, type: categorical}\n"
    )
    hold = tmp_path / "hold.csv"
    frames[1].to_csv(hold, index=False)
    report = tmp_path / "r.html"
    with pytest.raises(GateFailed, match="singling_out_risk"):
        evaluate_files(
            paths[0],
            paths[1],
            spec,
            holdout=hold,
            report=report,
            fail_under=["singling_out_risk_max=0.2"],
            progress=False,
        )
    text = report.read_text()
    assert "Privacy attacks" in text and "95 % confidence interval" in text
    assert "HIGH" in text


def test_risk_interval_arithmetic():
    p, lo, hi = wilson(50, 100)
    assert p == 0.5 and lo < 0.5 < hi
    r = risk((90, 100), (10, 100))
    assert r["risk"] == pytest.approx((0.9 - 0.1) / 0.9)
    assert 0 < r["ci"][0] < r["risk"] < r["ci"][1] <= 1
    assert risk((5, 100), (10, 100))["risk"] == 0.0
