"""``synthgen pipeline run``: steps in order, atomic outputs, failure naming the step, reuse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from synthgen.cli.main import app
from synthgen.pipeline import load_spec

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "synthgen" / "data"
runner = CliRunner()


def _text(res) -> str:
    """CLI output with line wrapping undone (errors are wrapped at 100 columns)."""
    return " ".join(res.output.split())


FIT = {
    "name": "fit",
    "type": "fit",
    "data": "in/train.csv",
    "schema": "in/census.yaml",
    "output": "out/census.synth",
    "epochs": 2,
    "batch_size": 100,
}
GENERATE = {
    "name": "generate",
    "type": "generate",
    "model": "out/census.synth",
    "rows": 120,
    "output": "out/synthetic.csv",
    "seed": 1,
}


@pytest.fixture()
def job(tmp_path: Path) -> Path:
    """A job folder with 300 census rows and the census schema under in/."""
    torch.set_num_threads(1)
    (tmp_path / "in").mkdir()
    with open(DATA / "census.csv") as src, open(tmp_path / "in" / "train.csv", "w") as dst:
        for i, line in enumerate(src):
            if i > 300:
                break
            dst.write(line)
    shutil.copy(DATA / "census.yaml", tmp_path / "in" / "census.yaml")
    return tmp_path


def _write(folder: Path, steps: list[dict], name: str = "job") -> Path:
    spec = folder / f"{name}.yaml"
    doc = {"name": name, "summary": "out/run.json", "threads": 1, "steps": steps}
    spec.write_text(yaml.safe_dump(doc))
    return spec


def _run(spec: Path, *extra: str):
    return runner.invoke(app, ["pipeline", "run", str(spec), "-q", *extra])


def _summary(folder: Path) -> dict:
    return json.loads((folder / "out" / "run.json").read_text())


def test_rerun_reuses_the_model_and_force_refits(job):
    spec = _write(job, [FIT, GENERATE])
    res = _run(spec)
    assert res.exit_code == 0, res.output
    first = _summary(job)
    assert first["status"] == "ok"
    assert [s["status"] for s in first["steps"]] == ["ok", "ok"]
    assert first["steps"][0]["details"]["reused"] is False
    model = job / "out" / "census.synth"
    stat, payload = model.stat(), model.read_bytes()
    assert len(pd.read_csv(job / "out" / "synthetic.csv")) == 120

    res = _run(spec)
    assert res.exit_code == 0, res.output
    second = _summary(job)
    assert [s["status"] for s in second["steps"]] == ["reused", "ok"]
    assert "reused" in _text(res)
    assert model.stat().st_mtime_ns == stat.st_mtime_ns and model.read_bytes() == payload

    # a changed step setting (or --force) refits
    res = _run(_write(job, [{**FIT, "seed": 7}, GENERATE]))
    assert res.exit_code == 0, res.output
    assert _summary(job)["steps"][0]["status"] == "ok"
    assert model.read_bytes() != payload
    res = _run(spec, "--force")
    assert res.exit_code == 0, res.output
    assert _summary(job)["steps"][0]["status"] == "ok"
    assert _run(spec).exit_code == 0
    assert _summary(job)["steps"][0]["status"] == "reused"
    # a model file replaced by hand, or a damaged sidecar, no longer matches: refit
    model.write_bytes(model.read_bytes() + b"\0")
    assert _run(spec).exit_code == 0
    assert _summary(job)["steps"][0]["status"] == "ok"
    (job / "out" / "census.synth.fingerprint.json").write_text("{}")
    assert _run(spec).exit_code == 0
    assert _summary(job)["steps"][0]["status"] == "ok"


def test_failed_middle_step_names_the_step_and_keeps_earlier_outputs(job):
    steps = [
        FIT,
        GENERATE,
        {
            "name": "check-synthetic",
            "type": "validate",
            "data": "out/synthetic.csv",
            "schema": "in/missing-schema.yaml",
            "output": "out/validation.json",
        },
        {
            "name": "balance",
            "type": "augment",
            "data": "in/train.csv",
            "model": "out/census.synth",
            "balance": "income",
            "output": "out/balanced.csv",
        },
    ]
    res = _run(_write(job, steps))
    assert res.exit_code == 1
    assert "step 'check-synthetic'" in _text(res) and "missing-schema.yaml" in _text(res)
    assert "Traceback" not in res.output
    summary = _summary(job)
    assert summary["status"] == "failed" and summary["failed_step"] == "check-synthetic"
    assert [s["status"] for s in summary["steps"]] == ["ok", "ok", "failed", "not run"]
    assert "missing-schema.yaml" in summary["steps"][2]["error"]
    # earlier outputs are intact and usable; nothing of the failed or later steps exists
    assert len(pd.read_csv(job / "out" / "synthetic.csv")) == 120
    from synthgen.tabular.synthesizer import TabularSynthesizer

    TabularSynthesizer.load(job / "out" / "census.synth").sample(5)
    assert not (job / "out" / "validation.json").exists()
    assert not (job / "out" / "balanced.csv").exists()
    assert not list((job / "out").glob(".*.tmp"))


def test_augment_and_anomaly_steps(job):
    steps = [
        FIT,
        {
            "name": "balance",
            "type": "augment",
            "data": "in/train.csv",
            "model": "out/census.synth",
            "balance": "income",
            "output": "out/balanced.parquet",
        },
        {
            "name": "detector",
            "type": "anomalies_fit",
            "data": "in/train.csv",
            "schema": "in/census.yaml",
            "output": "out/detector.synth",
            "epochs": 2,
            "members": 2,
        },
        {
            "name": "screen",
            "type": "anomalies_score",
            "data": "in/train.csv",
            "model": "out/detector.synth",
            "contamination": 0.05,
            "flagged": "out/flagged.csv",
            "report": "out/screen.html",
        },
    ]
    res = _run(_write(job, steps))
    assert res.exit_code == 0, res.output
    summary = _summary(job)
    balanced = pd.read_parquet(job / "out" / "balanced.parquet")
    counts = balanced["income"].value_counts()
    assert counts.nunique() == 1 and balanced["_synthetic"].sum() > 0
    flagged = pd.read_csv(job / "out" / "flagged.csv")
    assert len(flagged) == summary["steps"][3]["details"]["flagged"] > 0
    assert flagged["is_anomaly"].all()
    assert (job / "out" / "screen.html").read_text().lstrip().startswith("<!")
    assert summary["steps"][2]["details"]["reused"] is False


def test_bad_specs_are_refused_before_anything_runs(job):
    for steps, words in (
        ([FIT, {"type": "train"}], "step types are"),
        ([FIT, {**GENERATE, "rowz": 3}], "rowz"),
        ([FIT, {"type": "generate", "model": "out/census.synth"}], "rows, output"),
        ([FIT, FIT], "two steps are named 'fit'"),
    ):
        res = _run(_write(job, steps))
        assert res.exit_code == 2, res.output
        assert words in _text(res)
        assert not (job / "out").exists()
    assert _run(job / "nope.yaml").exit_code == 2
    spec = job / "threads.yaml"
    spec.write_text(yaml.safe_dump({"threads": 0, "steps": [FIT]}))
    assert _run(spec).exit_code == 2 and "'threads' must be a positive integer" in _text(_run(spec))
    # hostile spec files: a key given twice, nesting past Python's limit
    good = yaml.safe_dump({"steps": [FIT]})
    for text, words in (
        (good + "steps: []\n", "found the key 'steps' twice"),
        ("steps: " + "[" * 100_000 + "]" * 100_000 + "\n", "levels deep"),
    ):
        spec.write_text(text)
        res = _run(spec)
        assert res.exit_code == 2, res.output
        assert words in _text(res) and "Traceback" not in res.output
        assert not (job / "out").exists()


def test_repository_job_specs_load_with_paths_beside_the_spec():
    shared = (REPO.parent / "shared" / "data" / "adult").resolve()  # ../shared may be a link
    for name in ("augment-adult", "screen-anomalies"):
        spec = load_spec(REPO / "pipelines" / f"{name}.yaml")
        runs = REPO / "runs" / name
        assert spec.summary.parent == runs
        inputs = [
            value
            for step in spec.steps
            for key, value in step.options.items()
            if isinstance(value, Path)
        ]
        assert REPO / "schemas" / "adult.yaml" in inputs
        assert shared / "train.csv" in inputs
        assert all(p.parent in (shared, runs, REPO / "schemas") for p in inputs)
