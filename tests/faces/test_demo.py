"""`synthgen demo` runs end to end on the embedded data and writes its four files."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from synthgen.cli.main import app


def test_demo_writes_model_data_and_report(tmp_path):
    out = tmp_path / "demo"
    res = CliRunner().invoke(app, ["demo", "-o", str(out), "--epochs", "2"])
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["census.synthetic.csv", "census.vae.synth", "metrics.json", "report.html"]
    summary = json.loads((out / "metrics.json").read_text())["summary"]
    assert 0.0 < summary["shapes"] <= 1.0
    assert summary["valid"] is True
    again = CliRunner().invoke(app, ["demo", "-o", str(out), "--epochs", "2"])
    assert again.exit_code == 1
    assert "--overwrite" in again.output
