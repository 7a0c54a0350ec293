"""Anomaly screening: determinism, calibration, corrupted Adult rows, refusals, CLI, report."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from synthgen.cli.main import app
from synthgen.errors import DataError, UsageError
from synthgen.jobs.screen import score_to_file
from synthgen.schema import load_schema
from synthgen.tabular.anomaly.detector import AnomalyDetector
from synthgen.tabular.io import read_table

ROOT = Path(__file__).resolve().parents[2]
ADULT = ROOT.parent / "shared" / "data" / "adult" / "train.csv"
SCHEMA = ROOT / "schemas" / "adult.yaml"

pytestmark = pytest.mark.skipif(not ADULT.exists(), reason="shared Adult data not present")


@pytest.fixture(scope="module")
def schema():
    return load_schema(SCHEMA)


@pytest.fixture(scope="module")
def adult(schema) -> pd.DataFrame:
    return read_table(ADULT, schema).iloc[:4000].reset_index(drop=True)


@pytest.fixture(scope="module")
def fit_rows(adult) -> pd.DataFrame:
    return adult.iloc[:2000].reset_index(drop=True)


@pytest.fixture(scope="module")
def detector(fit_rows, schema) -> AnomalyDetector:
    return AnomalyDetector(random_state=0, device="cpu", progress=False).fit(fit_rows, schema)


def _corrupt(batch: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
    """Corrupt 10 rows; returns the batch and, per corrupted row, the column that was broken."""
    bad = batch.copy()
    broken: dict[int, str] = {}
    # start from unremarkable rows (no capital gain or loss, a 40-hour week), so what makes a
    # corrupted row stand out is the corruption
    plain = (bad["capital-gain"] == 0) & (bad["capital-loss"] == 0) & (bad["hours-per-week"] == 40)
    married_men = bad.index[plain & (bad["relationship"] == "Husband")][:3]
    for i in married_men:  # a husband who is female
        bad.loc[i, "sex"] = "Female"
        broken[i] = "sex"
    young = bad.index[plain & (bad["age"] > 30) & (bad["education"] == "HS-grad")][:3]
    for i in young:  # a 17-year-old with a doctorate
        bad.loc[i, ["age", "education", "education-num"]] = [17, "Doctorate", 16]
        broken[i] = "education"
    for i in [i for i in bad.index[plain] if i not in broken][
        :4
    ]:  # 99 hours a week with the maximum capital gain
        bad.loc[i, ["hours-per-week", "capital-gain"]] = [99, 99999]
        broken[i] = "capital-gain"
    return bad, broken


def _small_fit(rows: pd.DataFrame, schema, seed: int) -> np.ndarray:
    det = AnomalyDetector(
        random_state=seed, epochs=5, model_options={"cross_steps": 60}, device="cpu"
    ).fit(rows, schema)
    return det.score_samples(rows)


def test_scores_deterministic_for_a_seed(fit_rows, schema):
    small = fit_rows.iloc[:400]
    a = _small_fit(small, schema, 3)
    b = _small_fit(small, schema, 3)
    c = _small_fit(small, schema, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_scores_do_not_depend_on_the_batch(detector, adult):
    rows = adult.iloc[2000:2300]
    whole = detector.score_samples(rows)
    alone = np.concatenate([detector.score_samples(rows.iloc[i : i + 7]) for i in range(0, 300, 7)])
    np.testing.assert_allclose(whole, alone, rtol=1e-5)


@pytest.mark.parametrize("q", [0.01, 0.05, 0.1])
def test_contamination_flags_the_stated_share_of_the_fitting_data(detector, adult, fit_rows, q):
    # the calibration holds each fitting row's score as new data would get it (a fitting row is
    # not its own neighbour), and the threshold cuts the stated share of those scores
    t = detector.threshold(contamination=q)
    cal = detector.calibration_
    assert cal.n_rows == len(fit_rows)
    assert abs(cal.share_above(t) * len(fit_rows) - q * len(fit_rows)) <= 1
    # new rows from the same source are flagged at about that rate, somewhat more (measured
    # 1.8-2.2 q: the autoencoder reconstructs its own rows a little better than new ones)
    fresh = detector.score(adult.iloc[2000:4000], contamination=q)["is_anomaly"].mean()
    assert 0.5 * q <= fresh <= 2.5 * q, fresh


def test_explicit_threshold_and_both_refused(detector, fit_rows):
    scored = detector.score(fit_rows.iloc[:50], threshold=1.5)
    assert (scored["is_anomaly"] == (scored["anomaly_score"] > 1.5)).all()
    with pytest.raises(UsageError):
        detector.score(fit_rows.iloc[:5], contamination=0.1, threshold=2.0)
    with pytest.raises(UsageError):
        detector.score(fit_rows.iloc[:5], contamination=1.5)


_RELATED = {  # the broken column, or the column it contradicts
    "sex": {"sex", "relationship"},
    "education": {"education", "education-num", "age"},
    "capital-gain": {"capital-gain", "hours-per-week"},
}


def test_corrupted_adult_rows_are_caught_with_the_right_columns(detector, adult):
    batch = adult.iloc[2000:4000].reset_index(drop=True)
    bad, broken = _corrupt(batch)
    assert len(broken) == 10
    clean = detector.score(batch, contamination=0.01)
    scored = detector.score(bad, contamination=0.01)
    rank = scored["anomaly_score"].rank(ascending=False)
    for i, column in broken.items():
        top = scored.loc[i, "top_columns"].split(", ")
        # every corrupted row scores above its own clean version, ranks in the top 5 % of the
        # 2,000 scored rows, and names the broken column (or the one it contradicts)
        assert scored.loc[i, "anomaly_score"] > clean.loc[i, "anomaly_score"], (i, column)
        assert rank[i] <= 0.05 * len(bad), (i, column, rank[i])
        assert _RELATED[column] & set(top), (i, column, top)
        if column == "capital-gain":  # out-of-pattern numbers: at the very top, flagged
            assert rank[i] <= 0.01 * len(bad), (i, rank[i])
            assert scored.loc[i, "is_anomaly"]
            assert top[0] == "capital-gain"
        if column == "sex":  # a female husband: the contradiction itself is named first
            assert top[0] in _RELATED["sex"], (i, top)
    others = scored.index[~scored.index.isin(list(broken))]
    assert scored.loc[others, "is_anomaly"].mean() < 0.03


def test_redundant_columns_are_masked_together(detector):
    groups = dict(zip(detector.encoding_.columns_, detector.cross_.layout.groups, strict=True))
    assert groups["education"] == groups["education-num"] >= 0  # one determines the other
    assert groups["sex"] != groups["relationship"]  # related, but neither determines the other
    assert groups["fnlwgt"] == groups["age"] == -1  # numbers are not predicted on their own


def test_cross_column_model_can_be_turned_off(fit_rows, schema, tmp_path):
    small = fit_rows.iloc[:300]
    options = {"cross_weight": 0, "neighbours": 0}
    det = AnomalyDetector(random_state=0, epochs=2, model_options=options, device="cpu")
    det.fit(small, schema)
    assert det.cross_ is None and det.neighbours_ is None
    errors = det._group_errors(det.encoding_.transform(small))
    plain = det._recon_from_errors(errors)[0] / det.scales_.reconstruction
    np.testing.assert_allclose(det.score_samples(small), plain)
    # a file without a cross-column model (as written before there was one) loads and scores
    again = AnomalyDetector.load(det.save(tmp_path / "plain.synth"), device="cpu")
    assert again.cross_ is None
    np.testing.assert_array_equal(again.score_samples(small), det.score_samples(small))


def test_unseen_categories_and_out_of_range_values_are_scored(detector, adult):
    rows = adult.iloc[2000:2010].copy()
    rows["workclass"] = rows["workclass"].astype(object)
    rows.loc[rows.index[0], "workclass"] = "Martian"
    rows.loc[rows.index[1], "age"] = 250
    scored = detector.score(rows, contamination=0.01)
    assert scored.loc[rows.index[0], "top_columns"].startswith("workclass")
    assert scored.loc[rows.index[1], "top_columns"].startswith("age")
    assert scored["is_anomaly"].iloc[:2].all()


def test_schema_mismatch_is_refused_with_the_column_named(detector, adult):
    with pytest.raises(DataError, match="hours-per-week"):
        detector.score(adult.iloc[:20].drop(columns=["hours-per-week"]))
    wrong = adult.iloc[:20].copy()
    wrong["age"] = wrong["age"].astype(object)
    wrong.loc[wrong.index[3], "age"] = "old"
    with pytest.raises(DataError, match="age"):
        detector.score(wrong)


def test_save_load_round_trip_gives_identical_scores(detector, adult, tmp_path):
    path = detector.save(tmp_path / "det.synth")
    again = AnomalyDetector.load(path, device="cpu")
    rows = adult.iloc[2000:2200]
    np.testing.assert_array_equal(detector.score_samples(rows), again.score_samples(rows))
    assert again.threshold(contamination=0.05) == detector.threshold(contamination=0.05)


def test_streaming_matches_whole_frame_scoring(detector, adult, tmp_path):
    rows = adult.iloc[2000:3000].reset_index(drop=True)
    src = tmp_path / "batch.csv"
    rows.to_csv(src, index=False)
    out = tmp_path / "scored.csv"
    model = detector.save(tmp_path / "det.synth")
    summary = score_to_file(
        src, model, output=out, contamination=0.05, chunk_rows=128, device="cpu", progress=False
    )
    got = pd.read_csv(out)
    want = detector.score(rows, contamination=0.05)
    assert summary.rows == len(rows) == len(got)
    np.testing.assert_allclose(got["anomaly_score"], want["anomaly_score"], rtol=1e-5)
    assert (got["is_anomaly"] == want["is_anomaly"]).all()
    assert summary.flagged == int(want["is_anomaly"].sum())


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu_is_refused(fit_rows, schema):
    with pytest.raises(UsageError, match="cuda"):
        AnomalyDetector(device="cuda").fit(fit_rows.iloc[:50], schema)


# ------------------------------------------------------------------------------------ CLI


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory, detector, adult):
    d = tmp_path_factory.mktemp("cli")
    model = detector.save(d / "det.synth")
    batch = d / "batch.csv"
    _corrupt(adult.iloc[2000:2600].reset_index(drop=True))[0].to_csv(batch, index=False)
    return d, model, batch


def test_cli_fit_writes_a_detector(tmp_path, adult):
    data = tmp_path / "fit.csv"
    adult.iloc[:300].to_csv(data, index=False)
    out = tmp_path / "d.synth"
    res = CliRunner().invoke(
        app,
        [
            "anomalies",
            "fit",
            str(data),
            "--schema",
            str(SCHEMA),
            "-o",
            str(out),
            "--epochs",
            "3",
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.exists()
    again = CliRunner().invoke(
        app, ["anomalies", "fit", str(data), "--schema", str(SCHEMA), "-o", str(out)]
    )
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_cli_score_writes_output_and_self_contained_report(cli_files):
    d, model, batch = cli_files
    out, rep = d / "scored.parquet", d / "report.html"
    res = CliRunner().invoke(
        app,
        [
            "anomalies",
            "score",
            str(batch),
            "--model",
            str(model),
            "--contamination",
            "0.02",
            "-o",
            str(out),
            "--report",
            str(rep),
        ],
    )
    assert res.exit_code == 0, res.output
    scored = pd.read_parquet(out)
    assert {"anomaly_score", "is_anomaly", "top_columns"} <= set(scored.columns)
    assert len(scored) == 600
    html = rep.read_text()
    assert "data:image/png;base64," in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html
    assert "Rows flagged" in html


def test_cli_score_failure_leaves_no_output(cli_files):
    d, model, batch = cli_files
    broken = d / "broken.csv"
    pd.read_csv(batch).drop(columns=["age"]).to_csv(broken, index=False)
    out, rep = d / "never.csv", d / "never.html"
    before = set(d.iterdir())
    res = CliRunner().invoke(
        app,
        [
            "anomalies",
            "score",
            str(broken),
            "--model",
            str(model),
            "-o",
            str(out),
            "--report",
            str(rep),
        ],
    )
    assert res.exit_code == 1
    assert "age" in res.output
    assert set(d.iterdir()) == before  # no output, no report, no temp file left behind


def test_cli_score_refuses_both_threshold_flags(cli_files):
    d, model, batch = cli_files
    out = d / "both.csv"
    res = CliRunner().invoke(
        app,
        [
            "anomalies",
            "score",
            str(batch),
            "--model",
            str(model),
            "--contamination",
            "0.1",
            "--threshold",
            "2",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 2
    assert not out.exists()
