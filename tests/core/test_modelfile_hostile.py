"""Hostile model files: tampering anywhere, zip bombs, huge declared networks, deep or malformed
manifests, and a fuzz test. Loading either works or raises a SynthgenError naming the file;
never another exception, never a large allocation."""

from __future__ import annotations

import hashlib
import hmac
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import synthgen.jobs.kinds  # noqa: F401  (the complete registry of kinds)
from synthgen.cli.main import app
from synthgen.core import modelfile
from synthgen.core.modelfile import MANIFEST, WEIGHTS
from synthgen.errors import ModelFileError, SynthgenError
from synthgen.jobs.kinds import load_estimator
from synthgen.schema import parse_schema
from synthgen.tabular.synthesizer import TabularSynthesizer

SCHEMA = parse_schema(
    {
        "name": "tiny",
        "target": "income",
        "columns": [
            {"name": "age", "type": "integer", "min": 17, "max": 90},
            {"name": "job", "type": "categorical", "values": ["clerk", "sales"]},
            {"name": "income", "type": "categorical", "values": ["<=50K", ">50K"]},
        ],
    }
)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.integers(17, 91, 80),
            "job": rng.choice(["clerk", "sales"], 80),
            "income": rng.choice(["<=50K", ">50K"], 80),
        }
    )
    synth = TabularSynthesizer(
        "vae",
        epochs=1,
        batch_size=40,
        seed=0,
        progress=False,
        device="cpu",
        model_options={"hidden": [8], "latent_dim": 4, "prior_components": 2},
    )
    synth.fit(frame, SCHEMA)
    return synth.save(tmp_path_factory.mktemp("m") / "tiny.synth")


def _parts(path: Path) -> tuple[dict[str, Any], bytes]:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read(MANIFEST)), zf.read(WEIGHTS)


def _zip(dst: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return dst


def _rehash(manifest: dict[str, Any], weights: bytes) -> dict[str, Any]:
    """What an attacker can do without the key: recompute both hashes."""
    manifest = dict(manifest)
    manifest["weights_sha256"] = hashlib.sha256(weights).hexdigest()
    try:
        manifest["content_sha256"] = modelfile._content_hash(manifest, weights)
    except (ValueError, TypeError, RecursionError):
        pass  # not canonical JSON: the loader must refuse it anyway
    return manifest


def _write(dst: Path, manifest: Any, weights: bytes, *, rehash: bool = True) -> Path:
    if rehash and isinstance(manifest, dict):
        manifest = _rehash(manifest, weights)
    return _zip(dst, {MANIFEST: json.dumps(manifest).encode(), WEIGHTS: weights})


def _refused(path: Path, *needles: str) -> str:
    """Load through the estimator (what every command does): a ModelFileError naming the file."""
    with pytest.raises(ModelFileError) as info:
        load_estimator(path, "generator", device="cpu")
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, message
    return message


# ---------------------------------------------------------------- cause 3: the hash covers all


def test_renamed_label_in_manifest_is_refused(model_file, tmp_path):
    manifest, weights = _parts(model_file)
    text = json.dumps(manifest).replace('">50K"', '"HACKED"')
    assert "HACKED" in text
    bad = _zip(tmp_path / "hacked.synth", {MANIFEST: text.encode(), WEIGHTS: weights})
    _refused(bad, "sha256 of its contents does not match")
    result = CliRunner().invoke(app, ["generate", str(bad), "--rows", "5", "-o", "x.csv"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "modified or damaged" in result.output and not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["config"]["train"].update(seed=7),
        lambda m: m["training"].update(epochs_run=99),
        lambda m: m["extra"].update(injected=True),
        lambda m: m["schema"]["columns"][0].update(max=1000),
    ],
    ids=["config", "training", "extra", "range"],
)
def test_any_manifest_edit_is_refused(model_file, tmp_path, edit):
    manifest, weights = _parts(model_file)
    edit(manifest)
    _refused(_write(tmp_path / "e.synth", manifest, weights, rehash=False), "sha256")


def test_keyed_signature(model_file, tmp_path, monkeypatch):
    manifest, weights = _parts(model_file)
    monkeypatch.setenv(modelfile.KEY_ENV, "s3cret")
    _refused(model_file, "not signed with the key in SYNTHGEN_MODEL_KEY")  # unsigned file
    manifest = _rehash(manifest, weights)
    good = dict(manifest)
    good["signature"] = hmac.new(b"s3cret", good["content_sha256"].encode(), "sha256").hexdigest()
    signed = _write(tmp_path / "signed.synth", good, weights, rehash=False)
    assert load_estimator(signed, "generator", device="cpu").schema_.name == "tiny"
    forged = dict(manifest, signature="0" * 64)
    _refused(_write(tmp_path / "forged.synth", forged, weights, rehash=False), "not signed")


# ---------------------------------------------------------------- cause 4: size limits


def test_zip_bomb_refused_before_reading(model_file, tmp_path, monkeypatch):
    manifest, weights = _parts(model_file)
    bomb = _zip(
        tmp_path / "bomb.synth",
        {MANIFEST: json.dumps(manifest).encode(), WEIGHTS: b"\0" * (8 << 20)},
    )
    assert bomb.stat().st_size < 100_000
    _refused(bomb, "zip bomb", "200 times")
    monkeypatch.setattr(modelfile, "MAX_WEIGHTS_BYTES", 1 << 20)
    _refused(bomb, "declares 8,388,608 bytes, over the limit of 1,048,576")


def test_too_many_members_refused(model_file, tmp_path):
    manifest, weights = _parts(model_file)
    members = {MANIFEST: json.dumps(manifest).encode(), WEIGHTS: weights}
    members.update({f"junk{i}": b"" for i in range(5000)})
    _refused(_zip(tmp_path / "many.synth", members), "5,002 members")


@pytest.mark.parametrize("hidden", [[20000, 20000], [10**9], [2**40, 4]])
def test_huge_declared_network_refused_before_allocating(model_file, tmp_path, hidden):
    manifest, weights = _parts(model_file)
    manifest["config"]["model_config"]["hidden"] = hidden
    bad = _write(tmp_path / "huge.synth", manifest, weights)
    assert bad.stat().st_size < 1_000_000
    _refused(bad, "larger than the weights it holds")


# ---------------------------------------------------------------- causes 10 and 11: structure


@pytest.mark.parametrize("depth", [70, 5_000, 200_000])
def test_deeply_nested_manifest_refused(model_file, tmp_path, depth):
    _, weights = _parts(model_file)
    text = '{"kind": "table-vae", "extra": ' + "[" * depth + "]" * depth + "}"
    bad = _zip(tmp_path / "deep.synth", {MANIFEST: text.encode(), WEIGHTS: weights})
    _refused(bad, "nested more than 64 levels")
    listed = CliRunner().invoke(app, ["generate", str(bad), "--rows", "2", "-o", "o.csv"])
    assert listed.exit_code == 1 and "Traceback" not in listed.output


MALFORMED = {
    "kind-int": (lambda m: m.update(kind=7), "kind"),
    "config-list": (lambda m: m.update(config=[1, 2]), "config"),
    "train-missing": (lambda m: m["config"].pop("train"), "train"),
    "transformer-null": (lambda m: m.update(transformer=None), "does not match"),
    "schema-string": (lambda m: m.update(schema="tiny"), "schema"),
    "model-config-null": (lambda m: m["config"].update(model_config=None), "does not match"),
    "hidden-strings": (
        lambda m: m["config"]["model_config"].update(hidden=["a"]),
        "does not match",
    ),
    "no-format": (lambda m: m.pop("format_version"), "format_version"),
    "format-bool": (lambda m: m.update(format_version=True), "format_version"),
    "format-zero": (lambda m: m.update(format_version=0), "format_version"),
    "unknown-kind": (lambda m: m.update(kind="table-evil"), "unknown model kind"),
    "infinity": (lambda m: m["schema"]["columns"][0].update(max=float("inf")), "not valid JSON"),
    "nan": (lambda m: m["training"].update(best_val_loss=float("nan")), "not valid JSON"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_manifest_refused(model_file, tmp_path, case):
    edit, needle = MALFORMED[case]
    manifest, weights = _parts(model_file)
    edit(manifest)
    _refused(_write(tmp_path / f"{case}.synth", manifest, weights), needle)


def test_weights_of_another_shape_refused(model_file, tmp_path):
    from safetensors.torch import load, save

    manifest, weights = _parts(model_file)
    tensors = load(weights)
    name = next(k for k in sorted(tensors) if k.startswith("model.") and tensors[k].numel() > 1)
    tensors[name] = tensors[name].flatten()[:1].clone()
    _refused(_write(tmp_path / "shape.synth", manifest, save(tensors)), "does not match")


# ---------------------------------------------------------------- fuzz


def _loads_or_refuses(path: Path) -> None:
    try:
        load_estimator(path, "generator", device="cpu")
    except SynthgenError as err:
        assert str(err)
    # anything else (KeyError, AttributeError, MemoryError, RecursionError...) fails the test


@FUZZ
@given(data=st.data())
def test_fuzz_flipped_bytes_and_truncation(model_file, tmp_path, data):
    raw = bytearray(model_file.read_bytes())
    if data.draw(st.booleans(), "truncate"):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1), "length")]
    else:
        for _ in range(data.draw(st.integers(1, 8), "flips")):
            pos = data.draw(st.integers(0, len(raw) - 1), "position")
            raw[pos] ^= data.draw(st.integers(1, 255), "mask")
    path = tmp_path / "fuzz.synth"
    path.write_bytes(bytes(raw))
    _loads_or_refuses(path)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value[:4]):
            out += _paths(child, (*prefix, i))
    return out


@FUZZ
@given(data=st.data())
def test_fuzz_manifest_values_and_types(model_file, tmp_path, data):
    """Any value anywhere in the manifest replaced (or removed), with the hashes recomputed as
    an attacker would: a clean refusal or a working model."""
    manifest, weights = _parts(model_file)
    paths = [p for p in _paths(manifest) if p and p[0] not in ("content_sha256",)]
    where = data.draw(st.sampled_from(paths), "path")
    parent = manifest
    for step in where[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and data.draw(st.booleans(), "remove"):
        del parent[where[-1]]
    else:
        parent[where[-1]] = data.draw(JSON, "value")
    path = _write(tmp_path / "fuzz.synth", manifest, weights)
    _loads_or_refuses(path)


def _lie_about_size(path: Path, member: str, declared: int) -> None:
    """Patch the local and central headers of ``member`` to declare ``declared`` bytes."""
    raw = bytearray(path.read_bytes())
    name = member.encode()
    local = raw.find(b"PK\x03\x04")
    while local != -1:
        n = int.from_bytes(raw[local + 26 : local + 28], "little")
        if raw[local + 30 : local + 30 + n] == name:
            raw[local + 22 : local + 26] = declared.to_bytes(4, "little")
        local = raw.find(b"PK\x03\x04", local + 4)
    central = raw.find(b"PK\x01\x02")
    while central != -1:
        n = int.from_bytes(raw[central + 28 : central + 30], "little")
        if raw[central + 46 : central + 46 + n] == name:
            raw[central + 24 : central + 28] = declared.to_bytes(4, "little")
        central = raw.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("member", [MANIFEST, WEIGHTS])
def test_bomb_lying_about_its_size_is_never_inflated(model_file, tmp_path, member):
    """A member declaring 1 KB that inflates to 300 MB: refused, with memory bounded."""
    import tracemalloc

    manifest, weights = _parts(model_file)
    members = {MANIFEST: json.dumps(manifest).encode(), WEIGHTS: weights}
    members[member] = b"\0" * (300 << 20)
    bomb = _zip(tmp_path / "liar.synth", members)
    _lie_about_size(bomb, member, 1024)
    tracemalloc.start()
    try:
        _refused(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, f"peak {peak:,} bytes"


@pytest.mark.parametrize("case", ["kind-int", "config-list", "schema-string", "format-bool"])
def test_summary_of_a_malformed_manifest_is_a_clean_error(model_file, tmp_path, case):
    """What listing a folder of models reads (``model_summary``): a ModelFileError, so one
    broken file can be shown as broken beside the others."""
    from synthgen.jobs.kinds import model_summary

    edit, needle = MALFORMED[case]
    manifest, weights = _parts(model_file)
    edit(manifest)
    path = _write(tmp_path / "m.synth", manifest, weights)
    with pytest.raises(ModelFileError, match=needle):
        model_summary(path)
    assert model_summary(model_file)["kind"] == "table-vae"


@FUZZ
@given(data=st.data())
def test_fuzz_tensors_shapes_dtypes_values(model_file, tmp_path, data):
    """Any stored tensor (weights, prior, transformer tables) dropped, reshaped, retyped or
    filled with NaN/inf, hashes recomputed: refused at load, or the model generates."""
    import torch
    from safetensors.torch import load, save

    manifest, weights = _parts(model_file)
    tensors = load(weights)
    name = data.draw(st.sampled_from(sorted(tensors)), "tensor")
    op = data.draw(st.sampled_from(["drop", "shape", "dtype", "values"]), "op")
    old = tensors[name]
    if op == "drop":
        del tensors[name]
    elif op == "shape":
        shape = data.draw(st.lists(st.integers(0, 5), max_size=3), "shape")
        tensors[name] = torch.zeros(shape, dtype=old.dtype)
    elif op == "dtype":
        kinds = [torch.int64, torch.float16, torch.bool, torch.int8, torch.float64]
        tensors[name] = old.to(data.draw(st.sampled_from(kinds), "dtype"))
    else:
        value = data.draw(st.sampled_from([float("nan"), float("inf"), -1e30, -5.0, 1e9]))
        tensors[name] = torch.full_like(old.double(), value).to(old.dtype)
    path = _write(tmp_path / "fuzz.synth", manifest, save(tensors))
    try:
        est = load_estimator(path, "generator", device="cpu")
    except SynthgenError as err:
        assert str(path) in str(err)
        return
    assert len(est.sample(5, seed=1)) == 5


def test_allocation_budget_is_per_thread():
    """The budget counts the loading thread only: a server generating in another thread while
    a model loads is not refused."""
    import threading

    import torch

    from synthgen.core.allocation import SLACK_ELEMENTS, allocation_budget

    other = []
    with allocation_budget(0, "m.synth"):
        worker = threading.Thread(target=lambda: other.append(torch.zeros(SLACK_ELEMENTS * 2)))
        worker.start()
        worker.join()
        with pytest.raises(ModelFileError, match="m.synth"):
            torch.empty(SLACK_ELEMENTS + 1)
    assert other and other[0].numel() == SLACK_ELEMENTS * 2
