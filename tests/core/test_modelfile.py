"""The .synth model file: safetensors + JSON, checked on load, never unpickled."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import synthgen.jobs.kinds  # noqa: F401  (the complete registry: the file runs alone too)
from synthgen.cli.main import app
from synthgen.core.modelfile import FORMAT_VERSION, MANIFEST, WEIGHTS, load_model, save_model
from synthgen.errors import ModelFileError
from synthgen.schema import parse_schema

SCHEMA = parse_schema(
    {"name": "t", "columns": [{"name": "a", "type": "continuous"}, {"name": "b", "type": "id"}]}
)


def _write(path: Path, **kw) -> Path:
    tensors = {"net.weight": torch.arange(12, dtype=torch.float32).reshape(3, 4)}
    return save_model(path, kind="table-vae", config={"x": 1}, schema=SCHEMA, tensors=tensors, **kw)


def _rewrite(src: Path, dst: Path, *, manifest=None, weights=None, drop=(), add=None) -> Path:
    with zipfile.ZipFile(src) as zf:
        parts = {n: zf.read(n) for n in zf.namelist() if n not in drop}
    if manifest is not None:
        parts[MANIFEST] = json.dumps(manifest).encode()
    if weights is not None:
        parts[WEIGHTS] = weights
    parts.update(add or {})
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return dst


def test_round_trip(tmp_path):
    path = _write(tmp_path / "m.synth", training={"epochs_run": 3})
    loaded = load_model(path)
    assert loaded.kind == "table-vae"
    assert loaded.manifest["format_version"] == FORMAT_VERSION
    assert loaded.manifest["training"] == {"epochs_run": 3}
    assert torch.equal(loaded.prefixed("model")["net.weight"], torch.arange(12.0).reshape(3, 4))
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == [MANIFEST, WEIGHTS]


def test_same_content_same_bytes(tmp_path):
    a = _write(tmp_path / "a.synth").read_bytes()
    b = _write(tmp_path / "b.synth").read_bytes()
    assert a == b


def test_tampered_weight_byte_refused(tmp_path):
    path = _write(tmp_path / "m.synth")
    with zipfile.ZipFile(path) as zf:
        weights = bytearray(zf.read(WEIGHTS))
    weights[-1] ^= 0x01  # flip one bit of the last weight
    bad = _rewrite(path, tmp_path / "bad.synth", weights=bytes(weights))
    with pytest.raises(ModelFileError, match="sha256"):
        load_model(bad)


def test_newer_format_refused(tmp_path):
    path = _write(tmp_path / "m.synth")
    manifest = load_model(path).manifest
    manifest["format_version"] = FORMAT_VERSION + 1
    bad = _rewrite(path, tmp_path / "new.synth", manifest=manifest)
    with pytest.raises(ModelFileError, match="newer"):
        load_model(bad)


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("no_manifest", "no manifest.json"),
        ("pickle_inside", "pickled"),
        ("not_zip", "not a zip"),
        ("pt_file", "pickles"),
        ("missing", "does not exist"),
        ("bad_json", "not valid JSON"),
    ],
)
def test_bad_files_refused(tmp_path, case, needle):
    good = _write(tmp_path / "m.synth")
    if case == "no_manifest":
        path = _rewrite(good, tmp_path / "x.synth", drop=(MANIFEST,))
    elif case == "pickle_inside":
        path = _rewrite(good, tmp_path / "x.synth", add={"data.pkl": b"\x80\x04."})
    elif case == "not_zip":
        path = tmp_path / "x.synth"
        path.write_bytes(b"\x80\x04\x95 not a model")
    elif case == "pt_file":
        path = tmp_path / "model.pt"
        path.write_bytes(good.read_bytes())
    elif case == "missing":
        path = tmp_path / "nope.synth"
    else:
        path = _rewrite(good, tmp_path / "x.synth", add={MANIFEST: b"{not json"})
    with pytest.raises(ModelFileError, match=needle):
        load_model(path)


def test_cli_refuses_tampered_model_cleanly(tmp_path):
    path = _write(tmp_path / "m.synth")
    with zipfile.ZipFile(path) as zf:
        weights = bytearray(zf.read(WEIGHTS))
    weights[len(weights) // 2] ^= 0xFF
    bad = _rewrite(path, tmp_path / "bad.synth", weights=bytes(weights))
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(app, ["generate", str(bad), "--rows", "5", "-o", str(out)])
    assert res.exit_code == 1
    assert "sha256" in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_detector_refused_by_generate(tmp_path):
    path = save_model(
        tmp_path / "d.synth",
        kind="anomaly-table",
        config={},
        schema=SCHEMA,
        tensors={"w": torch.zeros(2)},
    )
    with pytest.raises(ModelFileError, match="but this needs a generator"):
        load_model(path, role="generator")
