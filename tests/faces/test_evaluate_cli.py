"""``synthgen evaluate`` through the CLI: outputs, gates and exit codes, the HTML report."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from synthgen.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory, adult_path, repo_root):
    root = tmp_path_factory.mktemp("evaluate")
    raw = pd.read_csv(adult_path, nrows=900, dtype=str, keep_default_na=False)
    raw.iloc[:400].to_csv(root / "train.csv", index=False)
    raw.iloc[400:700].to_csv(root / "holdout.csv", index=False)
    raw.iloc[:400].to_csv(root / "copy.csv", index=False)  # a memorising "model"
    shutil.copy(repo_root / "schemas" / "adult.yaml", root / "adult.yaml")
    return root


def _args(root, synthetic, *extra):
    return [
        "evaluate",
        "--real",
        str(root / "train.csv"),
        "--synthetic",
        str(root / synthetic),
        "--schema",
        str(root / "adult.yaml"),
        "--holdout",
        str(root / "holdout.csv"),
        *extra,
    ]


def test_failed_gate_exits_3_after_writing_json_and_html(files):
    report, metrics = files / "copy.html", files / "copy.json"
    result = runner.invoke(
        app,
        _args(
            files,
            "copy.csv",
            "--report",
            str(report),
            "--json",
            str(metrics),
            "--fail-under",
            "shapes=0.9",
            "--fail-under",
            "exact_copies_max=0.05",
        ),
    )
    assert result.exit_code == 3, result.output
    assert "exact_copies_max" in result.output and "shapes" not in result.output.split("Error")[-1]
    doc = json.loads(metrics.read_text())
    assert doc["format"] == "synthgen.evaluation/1"
    assert doc["summary"]["exact_copies"] == 1.0
    assert {g["name"]: g["passed"] for g in doc["gates"]} == {
        "shapes": True,
        "exact_copies_max": False,
    }
    assert doc["sampling"]["real_rows_used"] == 400
    page = report.read_text()
    assert page.count("data:image/png;base64,") >= 4
    assert not re.search(r"https?://", page)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page


def test_passing_gates_exit_0_and_existing_outputs_are_kept(files):
    metrics = files / "holdout.json"
    args = _args(
        files,
        "holdout.csv",
        "--json",
        str(metrics),
        "--fail-under",
        "shapes=0.5",
        "--max-rows",
        "200",
        "--target",
        "sex",
    )
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(metrics.read_text())
    assert doc["sampling"]["real_rows_used"] == 200 and doc["target"] == "sex"
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_unknown_gate_is_a_usage_error_listing_valid_names(files):
    result = runner.invoke(app, _args(files, "copy.csv", "--fail-under", "bogus=1"))
    assert result.exit_code == 2
    assert "bogus" in result.output and "dcr_share_max" in result.output
