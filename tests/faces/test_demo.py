"""`synthgen demo` runs end to end on the embedded data and writes its four files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from synthgen.cli.main import app


def test_demo_writes_model_data_and_report_and_no_library_warning(tmp_path):
    # a real process, as a user runs it: Python's default warning filters, stderr captured
    out = tmp_path / "demo"
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    res = subprocess.run(
        [sys.executable, "-m", "synthgen", "demo", "-o", str(out), "--epochs", "2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr
    text = res.stdout + res.stderr
    for word in ("Warning", "warnings.warn", "Traceback"):
        assert word not in text, text
    names = sorted(p.name for p in out.iterdir())
    assert names == ["census.synthetic.csv", "census.vae.synth", "metrics.json", "report.html"]
    summary = json.loads((out / "metrics.json").read_text())["summary"]
    assert 0.0 < summary["shapes"] <= 1.0
    assert summary["valid"] is True
    again = CliRunner().invoke(app, ["demo", "-o", str(out), "--epochs", "2"])
    assert again.exit_code == 1
    assert "--overwrite" in again.output


def test_data_only_writes_the_download_free_examples(tmp_path):
    out = tmp_path / "examples"
    res = CliRunner().invoke(app, ["demo", "--data-only", "-o", str(out)])
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["adult.yaml", "mnist.yaml", "test.csv", "test.npz", "train.csv", "train.npz"]
    fit = CliRunner().invoke(
        app,
        ["schema", "validate", str(out / "adult.yaml"), "--data", str(out / "test.csv")],
    )
    assert fit.exit_code == 0, fit.output
