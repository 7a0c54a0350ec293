"""Training checkpoints (OUTPUT.ckpt): a folder, a damaged or hostile checkpoint, or someone
else's file at that path is refused cleanly and left as it was."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch
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


def _tiny_fit(frame, checkpoint: Path, resume: bool = False, epochs: int = 2):
    from synthgen.schema import parse_schema
    from synthgen.tabular.synthesizer import TabularSynthesizer

    schema = parse_schema(
        {
            "name": "tiny",
            "columns": [
                {"name": "age", "type": "integer", "min": 17, "max": 90},
                {"name": "job", "type": "categorical", "values": ["clerk", "sales"]},
            ],
        }
    )
    synth = TabularSynthesizer(
        "vae", epochs=epochs, batch_size=30, seed=0, progress=False, device="cpu",
        model_options={"hidden": [8], "latent_dim": 4, "prior_components": 2},
    )  # fmt: skip
    return synth.fit(frame, schema, checkpoint=checkpoint, resume=resume)


def _set_tensor(tensors, pick, value):
    name = next(k for k in sorted(tensors) if pick(k))
    if value is None:
        del tensors[name]
    else:
        tensors[name] = value(tensors[name])


TAMPERED = {
    "weight-shape": (
        None,
        lambda t: _set_tensor(
            t, lambda k: k.startswith("model."), lambda v: v.flatten()[:1].clone()
        ),
    ),
    "weight-missing": (None, lambda t: _set_tensor(t, lambda k: k.startswith("model."), None)),
    "weight-dtype": (
        None,
        lambda t: _set_tensor(t, lambda k: k.startswith("model."), lambda v: v.to(torch.int8)),
    ),
    "rng-garbage": (
        None,
        lambda t: _set_tensor(t, lambda k: k == "rng.cpu", lambda v: v[:3].clone()),
    ),
    "optimizer-state-shape": (
        None,
        lambda t: _set_tensor(
            t, lambda k: k.startswith("opt."), lambda v: v.reshape(-1)[:1].clone()
        ),
    ),
    "epoch-text": (lambda m: m.update(epoch="abc"), None),
    "optimizers-list": (lambda m: m.update(optimizers=[1]), None),
    "scalars-list": (lambda m: [o.update(scalars=[1]) for o in m["optimizers"].values()], None),
    "history-dict": (lambda m: m.update(history={"a": 1}), None),
    "schedulers-garbage": (lambda m: m.update(schedulers=["x", 1]), None),
    "param-groups-empty": (
        lambda m: [o.update(param_groups=[]) for o in m["optimizers"].values()],
        None,
    ),
}


@pytest.fixture(scope="module")
def real_checkpoint(tmp_path_factory):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"age": rng.integers(17, 91, 90), "job": rng.choice(["clerk", "sales"], 90)}
    )
    path = tmp_path_factory.mktemp("ck") / "m.synth.ckpt"
    _tiny_fit(frame, path)
    assert path.exists()
    return frame, path


@pytest.mark.parametrize("case", list(TAMPERED))
def test_resume_from_a_damaged_checkpoint_is_refused(real_checkpoint, tmp_path, case):
    from safetensors.torch import load

    frame, good = real_checkpoint
    with zipfile.ZipFile(good) as zf:
        meta = json.loads(zf.read("meta.json"))
        tensors = load(zf.read("tensors.safetensors"))
    meta.update(epoch=1, stopped_early=False)  # so the resumed run trains one more epoch
    edit_meta, edit_tensors = TAMPERED[case]
    if edit_meta:
        edit_meta(meta)
    if edit_tensors:
        edit_tensors(tensors)
    bad = _ckpt(tmp_path / "m.synth.ckpt", json.dumps(meta).encode(), save(tensors))
    before = bad.read_bytes()
    try:
        _tiny_fit(frame, bad, resume=True)
    except ModelFileError as err:
        assert str(bad) in str(err) and "delete it" in str(err).lower()
        assert bad.read_bytes() == before
    else:  # resumed and trained on: a value that training tolerates
        assert case in ("weight-dtype", "history-dict", "schedulers-garbage"), case
