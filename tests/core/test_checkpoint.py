"""Training checkpoints (OUTPUT.ckpt): a folder, a damaged or hostile checkpoint, or someone
else's file at that path is refused cleanly and left as it was."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from safetensors.torch import save
from typer.testing import CliRunner

import synthgen.jobs.kinds  # noqa: F401  (the complete registry of kinds)
from synthgen.cli.main import app
from synthgen.core.checkpoint import load_checkpoint
from synthgen.errors import ModelFileError

CSV = "age,job\n" + "".join(f"{20 + i % 50},{'clerk' if i % 3 else 'sales'}\n" for i in range(60))
SCHEMA = """\
name: tiny
columns:
  - {name: age, type: integer, min: 17, max: 90}
  - {name: job, type: categorical, values: [clerk, sales]}
"""
TINY = ["--epochs", "1", "-O", "hidden=8", "-O", "latent_dim=4", "-q", "--device", "cpu"]


def _ckpt(path: Path, meta: bytes, tensors: bytes) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", meta)
        zf.writestr("tensors.safetensors", tensors)
    return path


GOOD_TENSORS = save({})
HOSTILE = {
    "garbage-weights": (b"{}", b"\x00" * 64, "cannot be read"),
    "truncated-weights": (b"{}", b"\x10\x00\x00\x00\x00\x00\x00\x00{", "cannot be read"),
    "deep-meta": (b"[" * 100_000 + b"]" * 100_000, GOOD_TENSORS, "cannot be read"),
    "deep-dict-meta": (
        b'{"a":' * 200 + b"1" + b"}" * 200,
        GOOD_TENSORS,
        "not a synthgen checkpoint",
    ),
    "list-meta": (b"[1, 2]", GOOD_TENSORS, "not a synthgen checkpoint"),
    "bad-json": (b"{nope", GOOD_TENSORS, "cannot be read"),
    "bomb": (b"{}", b"\0" * (64 << 20), "zip bomb"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_checkpoint_refused(tmp_path, case):
    meta, tensors, needle = HOSTILE[case]
    path = _ckpt(tmp_path / "m.synth.ckpt", meta, tensors)
    with pytest.raises(ModelFileError, match=needle) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_checkpoint_folder_refused(tmp_path):
    with pytest.raises(ModelFileError, match="is a folder"):
        load_checkpoint(tmp_path)


def _fit(tmp_path: Path, *extra: str):
    data, schema = tmp_path / "d.csv", tmp_path / "s.yaml"
    if not data.exists():
        data.write_text(CSV)
        schema.write_text(SCHEMA)
    out = tmp_path / "m.synth"
    result = CliRunner().invoke(
        app, ["fit", str(data), "-s", str(schema), "-o", str(out), *TINY, *extra]
    )
    return result, out


@pytest.mark.parametrize(
    "content",
    ["folder", "text", "hostile-checkpoint", "symlink"],
)
def test_fit_never_replaces_or_reads_a_bad_ckpt(tmp_path, content):
    ckpt = tmp_path / "m.synth.ckpt"
    (tmp_path / "d.csv").write_text(CSV)
    (tmp_path / "s.yaml").write_text(SCHEMA)
    if content == "folder":
        ckpt.mkdir()
        (ckpt / "keep.txt").write_text("mine")
    elif content == "text":
        ckpt.write_text("my notes, not a checkpoint\n")
    elif content == "symlink":
        (tmp_path / "elsewhere.txt").write_text("mine")
        ckpt.symlink_to(tmp_path / "elsewhere.txt")
    else:
        _ckpt(ckpt, json.dumps({"key": 1}).encode(), b"\x00" * 64)
    before = {p: (p.read_bytes() if p.is_file() else None) for p in tmp_path.rglob("*")}
    result, out = _fit(tmp_path, "--resume")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.output.startswith("Error: ")
    assert "m.synth.ckpt" in result.output
    assert not out.exists()
    after = {p: (p.read_bytes() if p.is_file() else None) for p in tmp_path.rglob("*")}
    assert after == before  # nothing written, nothing deleted: their file is as it was


def test_fit_keeps_an_earlier_checkpoint_unless_told(tmp_path):
    ckpt = tmp_path / "m.synth.ckpt"
    _ckpt(ckpt, b"{}", GOOD_TENSORS)
    result, out = _fit(tmp_path)
    assert result.exit_code == 1 and "--resume" in result.output and "--overwrite" in result.output
    assert ckpt.read_bytes() and not out.exists()
    result, out = _fit(tmp_path, "--overwrite")
    assert result.exit_code == 0, result.output
    assert out.exists() and not ckpt.exists()  # its own checkpoint, removed once done
