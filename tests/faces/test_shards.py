"""``synthgen generate --shards K``: a Parquet dataset whose rows, read in order, are those of
one process; a manifest written last; a re-run resumes; bad requests refused with nothing
marked complete."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from synthgen.cli.main import app
from synthgen.core.blocks import TABLE_BLOCK_ROWS
from synthgen.outputs import file_sha256

try:  # imported before the test that hides it, so hiding and restoring it is clean
    import ray
except ImportError:  # pragma: no cover - CI installs the ray extra
    ray = None

ROWS = TABLE_BLOCK_ROWS + 300  # two blocks, the second short


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_sharded_equals_one_process_and_resumes(models_dir, two_block_rows, tmp_path):
    rows, single, path = two_block_rows
    assert rows == ROWS
    recorded = json.loads(pq.read_schema(path).metadata[b"synthgen.generation"])
    assert recorded == {"seed": 0, "block_rows": TABLE_BLOCK_ROWS, "rows": ROWS, "conditions": {}}
    model = models_dir / "census.synth"
    out = tmp_path / "ds"
    args = ("generate", model, "-n", ROWS, "--shards", 2, "--workers", 2, "-o", out, "-q")
    result = _cli(*args)
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["rows"] == ROWS and manifest["block_rows"] == TABLE_BLOCK_ROWS
    assert manifest["model_sha256"] == file_sha256(model) and manifest["seed"] == 0
    assert [f["rows"] for f in manifest["files"]] == [TABLE_BLOCK_ROWS, 300]
    for entry in manifest["files"]:
        assert file_sha256(out / entry["file"]) == entry["sha256"]
    assert manifest["validation"]["success"]
    pd.testing.assert_frame_equal(pd.read_parquet(out), single)  # values and row order

    # a deleted shard: the re-run makes it again, byte for byte, and keeps the other
    kept = (out / "part-00000.parquet").stat()
    (out / "part-00001.parquet").unlink()
    result = _cli(*args)
    assert result.exit_code == 0, result.output
    assert (out / "part-00000.parquet").stat().st_mtime_ns == kept.st_mtime_ns
    again = json.loads((out / "_manifest.json").read_text())
    assert again["files"] == manifest["files"]
    pd.testing.assert_frame_equal(pd.read_parquet(out), single)


def test_sharded_refusals(models_dir, tmp_path, monkeypatch):
    model = models_dir / "census.synth"
    for shards, needle in ((0, "at least 1"), (3, "at most 2")):
        result = _cli("generate", model, "-n", ROWS, "--shards", shards, "-o", tmp_path / "x")
        assert result.exit_code == 2 and needle in result.output, result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "x").exists()

    # a folder holding another run's shards is refused, and left as it was
    out = tmp_path / "ds"
    result = _cli("generate", model, "-n", 500, "--shards", 1, "--seed", 5, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = _cli("generate", model, "-n", 500, "--shards", 1, "-o", out, "-q")
    assert result.exit_code != 0 and "seed 5 (now 0)" in result.output, result.output
    other = models_dir / "census-det.synth"  # not a generator: refused before the folder
    result = _cli("generate", other, "-n", 500, "--shards", 1, "-o", out, "-q")
    assert result.exit_code != 0 and "generator" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    # Ray missing: the extra to install is named; an address nobody answers at is refused
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "ray", None)
        result = _cli("generate", model, "-n", 500, "--shards", 1, "--engine", "ray", "-o", out)
    assert result.exit_code == 2 and "synthgen[ray]" in result.output, result.output
    if ray is None:  # pragma: no cover
        pytest.skip("ray is not installed")
    result = _cli(
        "generate", model, "-n", 500, "--shards", 1, "--engine", "ray",
        "--ray-address", "127.0.0.1:1", "-o", tmp_path / "y",
    )  # fmt: skip
    assert result.exit_code == 2 and "No Ray cluster answers" in result.output, result.output
    assert not (tmp_path / "y").exists()


def test_killed_local_worker_fails_cleanly_and_rerun_resumes(
    models_dir, two_block_rows, tmp_path, monkeypatch
):
    import shard_faults

    from synthgen.jobs import engines

    rows, single, _ = two_block_rows
    model = models_dir / "census.synth"
    out = tmp_path / "ds"
    args = ("generate", model, "-n", rows, "--shards", 2, "--workers", 2, "-o", out, "-q")
    with monkeypatch.context() as patch:  # shard 1's process is SIGKILLed mid-write
        patch.setattr(engines, "write_shard", shard_faults.killed_writing_shard_1)
        result = _cli(*args)
    assert result.exit_code != 0
    assert "worker process ended abruptly" in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    left = sorted(p.name for p in out.iterdir())
    assert left in ([], ["part-00000.parquet"])  # no manifest, no temp file, no partial shard
    result = _cli(*args)  # the same command again resumes and completes
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "_manifest.json", "part-00000.parquet", "part-00001.parquet"
    ]  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_parquet(out), single)
