"""Multi-process training under torchrun: two gloo CPU processes fit one model together, end
with the same weights, and rank 0 alone writes the model file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synthgen.cli.main import app

REPO = Path(__file__).resolve().parents[2]
CENSUS = REPO / "synthgen" / "data" / "census.csv"
CENSUS_SCHEMA = REPO / "synthgen" / "data" / "census.yaml"

# Each rank runs the fit job as `synthgen fit` would, and records the weights it ended with.
RANK_SCRIPT = """
import hashlib, os, sys
import synthgen.core.synthesizer as synthesizer
from synthgen.jobs.fit import fit_to_file

original = synthesizer.fit_model

def recording(network, *args, **kwargs):
    summary = original(network, *args, **kwargs)
    digest = hashlib.sha256()
    for key, value in sorted(network.state_tensors().items()):
        digest.update(key.encode() + value.numpy().tobytes())
    out = os.path.join(sys.argv[3], "rank%s.sha" % os.environ["RANK"])
    open(out, "w").write(digest.hexdigest())
    return summary

synthesizer.fit_model = recording
summary = fit_to_file(sys.argv[1], sys.argv[2], os.path.join(sys.argv[4], "model.synth"),
    model="cgan", epochs=2, batch_size=60, device="cpu", progress=False, threads=1,
    model_options={"pac": 3})
print("rank", os.environ["RANK"], "written", summary["written"], summary["steps"])
"""


def _weights_sha(tensors) -> str:
    digest = hashlib.sha256()
    for key, value in sorted(tensors.items()):
        digest.update(key.encode() + value.numpy().tobytes())
    return digest.hexdigest()


def test_two_gloo_processes_fit_one_model(tmp_path):
    from synthgen.tabular.synthesizer import TabularSynthesizer

    data = tmp_path / "data"
    data.mkdir()
    lines = CENSUS.read_text().splitlines(keepends=True)
    (data / "train.csv").write_text("".join(lines[:201]))
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         str(script), str(data / "train.csv"), str(CENSUS_SCHEMA), str(tmp_path), str(out)],
        capture_output=True, text=True, env=env, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    # cgan: two optimisers, batches shared in multiples of pac (60 rows: 30 per process)
    assert "rank 0 written True" in run.stdout and "rank 1 written False" in run.stdout
    assert sorted(p.name for p in out.iterdir()) == ["model.synth"]  # one file, no checkpoint
    assert sorted(p.name for p in data.iterdir()) == ["train.csv"]
    rank0, rank1 = ((tmp_path / f"rank{r}.sha").read_text() for r in (0, 1))
    assert rank0 == rank1  # identical weights on both ranks
    model = TabularSynthesizer.load(out / "model.synth")
    assert _weights_sha(model.model_.state_tensors()) == rank0  # ... and in the file
    assert model.training_["steps"] == 2 * 3  # 180 training rows / 60 a batch, two epochs
    assert len(model.sample(20, seed=1)) == 20


def test_what_torchrun_cannot_combine_is_refused(tmp_path, monkeypatch):
    for name, value in (("RANK", "1"), ("WORLD_SIZE", "2"), ("LOCAL_RANK", "1")):
        monkeypatch.setenv(name, value)
    out = tmp_path / "m.synth"
    base = ["fit", str(CENSUS), "--schema", str(CENSUS_SCHEMA), "-o", str(out), "-q"]
    for extra, needle in (
        (["--dp-epsilon", "3"], "--dp-epsilon cannot be combined with multi-process"),
        (["--resume"], "--resume is not supported under torchrun"),
    ):
        result = CliRunner().invoke(app, base + extra)
        assert result.exit_code == 2, result.output
        assert needle in " ".join(result.output.split()), result.output
        assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("world,granule,n", [(2, 1, 5), (3, 10, 60), (2, 10, 10)])
def test_batch_shares_are_disjoint_and_cover_the_batch(world, granule, n):
    import torch

    from synthgen.core.distributed import Group
    from synthgen.errors import UsageError

    batch = torch.arange(n).view(n, 1)
    if n // granule < world:
        with pytest.raises(UsageError, match="cannot be shared by"):
            Group(0, world, torch.device("cpu")).share(batch, granule)
        return
    parts, weights = [], []
    for rank in range(world):
        group = Group(rank, world, torch.device("cpu"))
        part = group.share(batch, granule)
        assert len(part) % granule == 0 or rank == world - 1
        parts.append(part)
        weights.append(group._share)
    assert torch.equal(torch.cat(parts), batch)
    assert abs(sum(weights) - 1) < 1e-12
