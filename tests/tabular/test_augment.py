"""``synthgen augment`` and the augment API: class counts, provenance, ratios, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from synthgen.cli.main import app
from synthgen.errors import UsageError
from synthgen.schema import load_schema
from synthgen.tabular.augment import PROVENANCE, augment, parse_ratio
from synthgen.tabular.io import read_table
from synthgen.tabular.synthesizer import TabularSynthesizer

DATA = Path(__file__).resolve().parents[2] / "synthgen" / "data"
runner = CliRunner()


def _text(res) -> str:
    """CLI output with line wrapping undone (errors are wrapped at 100 columns)."""
    return " ".join(res.output.split())


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """400 census rows (about 1 in 4 is >50K), a VAE fitted for 2 epochs, saved."""
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("augment")
    schema = load_schema(DATA / "census.yaml")
    frame = read_table(DATA / "census.csv", schema).iloc[:400].reset_index(drop=True)
    data = folder / "train.csv"
    frame.to_csv(data, index=False)
    synth = TabularSynthesizer("vae", epochs=2, batch_size=100, progress=False).fit(frame, schema)
    model = synth.save(folder / "census.synth")
    return {"folder": folder, "data": data, "model": model, "frame": frame, "synth": synth}


def _run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_balance_brings_every_class_to_the_majority(fitted):
    out = fitted["folder"] / "balanced.csv"
    res = _run(
        "augment",
        fitted["data"],
        "--model",
        fitted["model"],
        "--balance",
        "income",
        "-o",
        out,
        "-q",
        "--seed",
        "3",
    )
    assert res.exit_code == 0, res.output
    before = fitted["frame"]["income"].value_counts()
    got = pd.read_csv(out, keep_default_na=False, na_values=[""])
    after = got["income"].value_counts()
    assert set(after.index) == set(before.index)
    assert (after == before.max()).all()
    assert len(got) == before.max() * len(before)
    # provenance: the real rows come first, unchanged, marked False; the rest are synthetic
    assert got[PROVENANCE].dtype == bool
    n = len(fitted["frame"])
    assert not got[PROVENANCE].iloc[:n].any() and got[PROVENANCE].iloc[n:].all()
    real = got.iloc[:n].drop(columns=PROVENANCE)
    expected = pd.read_csv(fitted["data"], keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(real, expected, check_dtype=False)
    minority = before.idxmin()
    synthetic = got[got[PROVENANCE]]
    assert (synthetic["income"] == minority).all()
    assert len(synthetic) == before.max() - before.min()


def test_no_provenance_and_parquet_output(fitted):
    out = fitted["folder"] / "plain.parquet"
    res = _run(
        "augment",
        fitted["data"],
        "--model",
        fitted["model"],
        "--rows",
        "37",
        "--no-provenance",
        "-o",
        out,
        "-q",
    )
    assert res.exit_code == 0, res.output
    got = pd.read_parquet(out)
    schema = fitted["synth"].schema_
    assert list(got.columns) == schema.column_names
    assert len(got) == len(fitted["frame"]) + 37
    read_table(out, schema)  # every row, real and synthetic, is valid under the schema


def test_ratio_adds_r_times_the_class_count(fitted):
    frame = fitted["frame"]
    counts = frame["income"].value_counts()
    out = augment(frame, fitted["synth"], ratios=["income=>50K:0.5", "income=<=50K:0.1"], seed=1)
    added = out[out[PROVENANCE]]["income"].value_counts()
    assert added[">50K"] == round(0.5 * counts[">50K"])
    assert added["<=50K"] == round(0.1 * counts["<=50K"])
    assert len(out) == len(frame) + added.sum()
    assert str(out[PROVENANCE].dtype) == "boolean"
    # same seed, same rows
    again = augment(frame, fitted["synth"], ratios=["income=>50K:0.5", "income=<=50K:0.1"], seed=1)
    pd.testing.assert_frame_equal(out, again)


def test_parse_ratio():
    assert parse_ratio("income=>50K:1.5") == ("income", ">50K", 1.5)
    assert parse_ratio("t=a:b:2") == ("t", "a:b", 2.0)
    for bad in ("income>50K:1", "income=>50K", "income=>50K:x", "income=>50K:0", "=a:1"):
        with pytest.raises(UsageError):
            parse_ratio(bad)


def test_bad_usage_is_refused_with_one_message(fitted):
    base = ["augment", fitted["data"], "--model", fitted["model"], "-q"]
    out = fitted["folder"] / "never.csv"
    res = _run(*base, "--balance", "income", "--rows", "5", "-o", out)
    assert res.exit_code == 2 and "exactly one of" in _text(res)
    res = _run(*base, "--balance", "nosuch", "-o", out)
    assert res.exit_code == 2 and "nosuch" in _text(res)
    res = _run(*base, "--ratio", "income=rich:1", "-o", out)
    assert res.exit_code == 2 and "income=rich" in _text(res)
    assert not out.exists()
    res = _run(*base, "--rows", "5", "-o", fitted["data"])
    assert res.exit_code == 1 and "same file as the input" in _text(res)
    existing = fitted["folder"] / "exists.csv"
    existing.write_text("keep me")
    res = _run(*base, "--rows", "5", "-o", existing)
    assert res.exit_code == 1 and "--overwrite" in _text(res)
    assert existing.read_text() == "keep me"
    assert not list(fitted["folder"].glob(".*.tmp"))


def test_package_exports_are_lazy():
    code = (
        "import sys, synthgen; assert 'torch' not in sys.modules; "
        "from synthgen import TabularSynthesizer, SyntheticOverSampler, AnomalyDetector, evaluate;"
        "import synthgen.tabular.synthesizer as s, synthgen.tabular.evaluate.evaluation as e;"
        "assert TabularSynthesizer is s.TabularSynthesizer; assert callable(evaluate);"
        "assert synthgen.evaluate is e.evaluate; print('ok')"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"
