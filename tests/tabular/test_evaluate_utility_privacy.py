"""Utility, detection and privacy on constructed cases with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.core import gates
from synthgen.tabular.evaluate import privacy, utility
from synthgen.tabular.evaluate.frames import column_kinds, prepare
from synthgen.tabular.evaluate.gates import parse_table_gates


@pytest.fixture(scope="module")
def parts(adult_path, adult_schema):
    raw = pd.read_csv(adult_path, nrows=1500, na_values=["?"])
    frame = prepare(raw, adult_schema, "real")
    kinds = column_kinds(adult_schema)
    return (
        frame.iloc[:500],
        frame.iloc[500:1000].reset_index(drop=True),
        frame.iloc[1000:].reset_index(drop=True),
        kinds,
    )


def test_identical_tables_are_undetectable_and_keep_utility(parts):
    train, holdout, _, kinds = parts
    det = utility.detection(train, train.copy(), kinds, np.random.default_rng(0), seed=0)
    assert det["auc"] == pytest.approx(0.5, abs=0.1)
    res = utility.tstr(train, train.copy(), holdout, kinds, "income", seed=0)
    assert res["task"] == "classification"
    hgb = res["models"]["hist_gradient_boosting"]
    assert hgb["tstr"] == hgb["trtr"]
    assert res["tstr_ratio"] == pytest.approx(1.0)
    assert 0.7 < hgb["trtr"]["roc_auc"] <= 1.0


def test_a_synthetic_column_with_no_values_is_scored(parts):
    """A generator that leaves a numeric column entirely missing still gets a TSTR figure
    (gradient boosting cannot bin an empty column; it is a constant, no information)."""
    train, holdout, _, kinds = parts
    synthetic = train.copy()
    synthetic["capital-gain"] = np.nan
    res = utility.tstr(train, synthetic, holdout, kinds, "income", seed=0)
    assert 0.6 < res["models"]["hist_gradient_boosting"]["tstr"]["roc_auc"] <= 1.0


def test_noise_is_detected_and_useless(parts):
    train, holdout, _, kinds = parts
    rng = np.random.default_rng(1)
    noise = train.copy()
    for name, kind in kinds.items():
        if kind == "numeric":
            noise[name] = rng.uniform(-1e3, 1e3, len(noise))
    noise = noise.apply(lambda col: col.to_numpy()[rng.permutation(len(col))])
    det = utility.detection(train, noise, kinds, np.random.default_rng(0), seed=0)
    assert det["auc"] > 0.95 and det["score"] < 0.1
    res = utility.tstr(train, noise, holdout, kinds, "income", seed=0)
    assert res["tstr_ratio"] < 0.8


def test_regression_target_reports_r2_and_mae(parts):
    train, holdout, _, kinds = parts
    res = utility.tstr(train, train, holdout, kinds, "education-num", seed=0)
    assert res["task"] == "regression" and res["primary_metric"] == "r2"
    assert set(res["models"]["linear"]["trtr"]) == {"r2", "mae"}
    assert res["models"]["hist_gradient_boosting"]["trtr"]["r2"] > 0.7  # education decides it


def _privacy_gates():
    return parse_table_gates(["exact_copies_max=0.02", "dcr_share_max=0.6", "nndr=0.2"])


def test_memoriser_fails_the_privacy_gate(parts):
    train, holdout, _, kinds = parts
    res = privacy.privacy(train, train.copy(), holdout, kinds, np.random.default_rng(0))
    assert res["exact_copies"] == pytest.approx(1.0)
    assert res["dcr_share"] > 0.95 and res["dcr_share_of_a_copy"] == pytest.approx(1.0)
    assert res["nndr"] == 0.0
    results = gates.check_gates(res, _privacy_gates())
    assert not any(r["passed"] for r in results)
    with pytest.raises(gates.GateFailed) as err:
        gates.enforce(results)
    assert err.value.exit_code == 3
    for name in ("exact_copies_max", "dcr_share_max", "nndr"):
        assert name in err.value.message


def test_fresh_real_data_passes_the_privacy_gate(parts):
    train, holdout, fresh, kinds = parts
    res = privacy.privacy(train, fresh, holdout, kinds, np.random.default_rng(0))
    assert res["exact_copies"] < 0.02
    assert res["dcr_share"] == pytest.approx(0.5, abs=0.08)
    gates.enforce(gates.check_gates(res, _privacy_gates()))


def test_gate_parsing():
    parsed = parse_table_gates(["shapes=0.9", "detection_auc_max=0.7"])
    assert [(g.name, g.threshold, g.upper) for g in parsed] == [
        ("shapes", 0.9, False),
        ("detection_auc_max", 0.7, True),
    ]
    with pytest.raises(gates.UsageError, match="Valid gates: shapes"):
        parse_table_gates(["bogus=1"])
    with pytest.raises(gates.UsageError, match="NAME=VALUE"):
        parse_table_gates(["shapes"])
    with pytest.raises(gates.UsageError, match="not a number"):
        parse_table_gates(["shapes=high"])
    missing = gates.check_gates({"dcr_share": None}, parse_table_gates(["dcr_share_max=0.6"]))
    with pytest.raises(gates.GateFailed, match="not computed"):
        gates.enforce(missing)
