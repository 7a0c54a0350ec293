"""Planted anomalies on small synthetic tables of several shapes, at the detector's defaults:
each ranks in the top 5 % of its batch and is attributed to the corrupted column; the output
reports both signals; refits are byte-identical; newer detector files are refused."""

from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from synthgen.core.modelfile import MANIFEST, WEIGHTS, _content_hash
from synthgen.errors import ModelFileError
from synthgen.schema import TableSchema
from synthgen.tabular.anomaly.detector import AnomalyDetector

N_FIT, N_SCORE = 600, 200
QUICK = {"cross_steps": 50}


def _schema(frame: pd.DataFrame) -> TableSchema:
    cols = [
        {"name": c, "type": "categorical" if frame[c].dtype == object else "continuous"}
        for c in frame.columns
    ]
    return TableSchema.model_validate({"name": "t", "columns": cols})


def _numeric(rng: np.random.Generator, n: int, width: int = 6) -> pd.DataFrame:
    """Columns driven by two latent factors plus a little noise (each predictable from the
    rest)."""
    z = rng.normal(size=(n, 2))
    w = rng.normal(size=(2, width))
    x = z @ w + 0.1 * rng.normal(size=(n, width))
    return pd.DataFrame(x, columns=[f"n{i}" for i in range(width)])


_CITY = {"Paris": "France", "Lyon": "France", "Rome": "Italy", "Milan": "Italy", "Oslo": "Norway"}


def _categorical(rng: np.random.Generator, n: int) -> pd.DataFrame:
    city = rng.choice(list(_CITY), size=n)
    return pd.DataFrame(
        {
            "city": city,
            "country": [_CITY[c] for c in city],
            "plan": rng.choice(["basic", "pro", "team"], size=n),
            "channel": rng.choice(["web", "shop"], size=n),
        }
    ).astype(object)


def _mixed(rng: np.random.Generator, n: int) -> pd.DataFrame:
    cat = _categorical(rng, n)
    num = _numeric(rng, n, 4)
    # a number that depends on a category: prices are higher in Norway
    num["price"] = np.where(cat["country"] == "Norway", 100.0, 50.0) + rng.normal(0, 2, n)
    return pd.concat([cat, num], axis=1)


def _plant(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    bad = frame.copy()
    bad.loc[row, column] = value
    return bad


def _check(fit: pd.DataFrame, batch: pd.DataFrame, row: int, columns: set[str]) -> pd.DataFrame:
    det = AnomalyDetector(random_state=0, device="cpu").fit(fit, _schema(fit))
    scored = det.score(batch, contamination=0.02)
    rank = scored["anomaly_score"].rank(ascending=False)[row]
    assert rank <= 0.05 * len(batch), (rank, scored.loc[row].to_dict())
    top = scored.loc[row, "top_columns"].split(", ")
    assert columns & set(top[:2]), top
    return scored


def test_numeric_only_broken_correlation():
    rng = np.random.default_rng(0)
    data = _numeric(rng, N_FIT + N_SCORE)
    fit, batch = data.iloc[:N_FIT], data.iloc[N_FIT:].reset_index(drop=True)
    # a value within the column's range that contradicts the other five columns
    value = -np.sign(batch.loc[7, "n2"]) * batch["n2"].abs().quantile(0.9)
    _check(fit, _plant(batch, 7, "n2", value), 7, {"n2"})


def test_numeric_only_out_of_range_value_leads_the_attribution():
    rng = np.random.default_rng(1)
    data = _numeric(rng, N_FIT + N_SCORE)
    fit, batch = data.iloc[:N_FIT], data.iloc[N_FIT:].reset_index(drop=True)
    scored = _check(fit, _plant(batch, 3, "n4", data["n4"].max() * 4), 3, {"n4"})
    assert scored.loc[3, "top_columns"].startswith("n4")
    assert scored.loc[3, "is_anomaly"]


def test_categorical_only_contradiction():
    rng = np.random.default_rng(2)
    data = _categorical(rng, N_FIT + N_SCORE)
    fit, batch = data.iloc[:N_FIT], data.iloc[N_FIT:].reset_index(drop=True)
    row = int(np.flatnonzero(batch["city"] == "Paris")[0])
    _check(fit, _plant(batch, row, "country", "Italy"), row, {"country", "city"})


def test_mixed_number_that_contradicts_its_category():
    rng = np.random.default_rng(3)
    data = _mixed(rng, N_FIT + N_SCORE)
    fit, batch = data.iloc[:N_FIT], data.iloc[N_FIT:].reset_index(drop=True)
    row = int(np.flatnonzero(batch["country"] != "Norway")[0])
    _check(fit, _plant(batch, row, "price", 100.0), row, {"price", "country", "city"})


def test_wide_table():
    rng = np.random.default_rng(4)
    data = _numeric(rng, N_FIT + N_SCORE, width=150)
    fit, batch = data.iloc[:N_FIT], data.iloc[N_FIT:].reset_index(drop=True)
    value = batch.loc[11, "n77"] + 6 * data["n77"].std()
    det = AnomalyDetector(random_state=0, device="cpu").fit(fit, _schema(fit))
    assert det.ae_config_.hidden <= 128 and det.ae_config_.bottleneck <= 16  # the model stays small
    scored = det.score(_plant(batch, 11, "n77", value), contamination=0.02)
    assert scored["anomaly_score"].rank(ascending=False)[11] <= 0.05 * len(batch)
    assert scored.loc[11, "top_columns"].startswith("n77")


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(5)
    data = _mixed(rng, 400)
    return data, _schema(data)


def test_output_reports_each_signal_and_their_blend(small):
    data, schema = small
    det = AnomalyDetector(random_state=0, epochs=3, model_options=QUICK, device="cpu")
    scored = det.fit(data, schema).score(data.iloc[:50])
    signals = dict(det.score_signals())
    assert list(signals) == ["reconstruction_score", "neighbour_score"]
    w = det.options_.neighbour_weight
    assert signals["neighbour_score"] == w
    blend = (1 - w) * scored["reconstruction_score"] + w * scored["neighbour_score"]
    np.testing.assert_allclose(scored["anomaly_score"], blend, rtol=1e-12)
    # each signal is in units of its typical fitting level (mean winsorised at the 99th pct)
    fitted = det.score(data)
    for name in ("reconstruction_score",):  # fitting rows score themselves as at fit time
        v = fitted[name].to_numpy()
        assert abs(np.minimum(v, np.quantile(v, 0.99)).mean() - 1.0) < 1e-6
    off = AnomalyDetector(
        random_state=0, epochs=3, model_options={**QUICK, "neighbours": 0}, device="cpu"
    )
    plain = off.fit(data, schema).score(data.iloc[:50])
    assert "neighbour_score" not in plain.columns
    np.testing.assert_allclose(plain["anomaly_score"], plain["reconstruction_score"])


def test_refit_gives_a_byte_identical_file(small, tmp_path):
    data, schema = small
    digests = []
    for name in ("a", "b"):
        det = AnomalyDetector(random_state=1, epochs=3, model_options=QUICK, device="cpu")
        det.fit(data, schema)
        path = det.save(tmp_path / f"{name}.synth")
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    again = AnomalyDetector.load(tmp_path / "a.synth", device="cpu")
    np.testing.assert_array_equal(again.score_samples(data), det.score_samples(data))


def test_a_newer_detector_format_is_refused_with_a_request_to_refit(small, tmp_path):
    data, schema = small
    det = AnomalyDetector(random_state=0, epochs=2, model_options=QUICK, device="cpu")
    det.fit(data, schema)
    path = det.save(tmp_path / "d.synth")
    with zipfile.ZipFile(path) as zf:
        items = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(items[MANIFEST])
    manifest["config"]["detector_format"] = 99
    manifest["content_sha256"] = _content_hash(manifest, items[WEIGHTS])  # a well-formed file
    items[MANIFEST] = json.dumps(manifest).encode()
    newer = tmp_path / "newer.synth"
    with zipfile.ZipFile(newer, "w") as zf:
        for name, payload in items.items():
            zf.writestr(name, payload)
    with pytest.raises(ModelFileError, match="refit the detector"):
        AnomalyDetector.load(newer, device="cpu")


def test_cli_fit_twice_gives_byte_identical_files(small, tmp_path):
    """``anomalies fit`` with one seed: the same bytes (no timings or dates in the file)."""
    from typer.testing import CliRunner

    from synthgen.cli.main import app
    from synthgen.schema import schema_to_dict

    data, schema = small
    data.iloc[:150].to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "s.json").write_text(json.dumps(schema_to_dict(schema)))
    for name in ("a", "b"):
        args = ["anomalies", "fit", str(tmp_path / "d.csv"), "-s", str(tmp_path / "s.json")]
        args += ["-o", str(tmp_path / f"{name}.synth"), "--epochs", "1", "-O", "cross_steps=20"]
        result = CliRunner().invoke(app, [*args, "--seed", "3", "-q", "--device", "cpu"])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "a.synth").read_bytes() == (tmp_path / "b.synth").read_bytes()
