"""The ``*.synth`` model file: a zip of ``manifest.json`` and ``weights.safetensors``.

The manifest holds the format version, the model kind, its config, schema, transformer state,
training summary and library versions. ``content_sha256`` covers everything that is loaded:
the canonical JSON of the manifest (without the hash itself) and the weights; with
``SYNTHGEN_MODEL_KEY`` set, ``signature`` is an HMAC-SHA256 of that hash, and loading then
requires it. Loading checks member sizes and compression ratios before reading anything,
validates the manifest's structure, checks the hash, and never unpickles.

Format 1 files (synthgen 0.1.0) hash only their weights; they still load.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import platform
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from synthgen._version import __version__
from synthgen.core.kinds import Kind, kind_of_file
from synthgen.core.zipread import MAX_WEIGHTS_BYTES, member_size_problem, read_member
from synthgen.errors import ModelFileError, SchemaError
from synthgen.outputs import atomic_output
from synthgen.parsing import MAX_DEPTH, nesting_depth
from synthgen.schema import ImageSchema, TableSchema, parse_schema, schema_to_dict

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
KEY_ENV = "SYNTHGEN_MODEL_KEY"
_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed entry timestamps: byte-identical files per seed
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 16  # a model file has two; a long central directory is itself a bomb
_PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib")


class Manifest(BaseModel):
    """The structure a manifest must have before any of it is used."""

    model_config = ConfigDict(extra="allow")

    format_version: StrictInt = Field(ge=1)
    kind: str
    config: dict[str, Any]
    schema_: dict[str, Any]
    weights_sha256: str
    transformer: dict[str, Any] | None = None
    training: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    libraries: dict[str, Any] = {}
    content_sha256: str | None = None
    signature: str | None = None


@dataclass
class LoadedModel:
    """What a model file holds once checked: the manifest, tensors, the parsed schema, and the
    registry entry of its kind."""

    manifest: dict[str, Any]
    tensors: dict[str, torch.Tensor]
    schema: TableSchema | ImageSchema
    entry: Kind
    path: Path

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def config(self) -> dict[str, Any]:
        return self.manifest["config"]

    def prefixed(self, prefix: str) -> dict[str, torch.Tensor]:
        """Tensors whose name starts with ``prefix.``, with the prefix stripped."""
        cut = len(prefix) + 1
        return {k[cut:]: v for k, v in self.tensors.items() if k.startswith(prefix + ".")}

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Like ``prefixed`` but as numpy arrays (for transformer state)."""
        return {k: v.numpy() for k, v in self.prefixed(prefix).items()}


def library_versions() -> dict[str, str]:
    """Versions recorded in the manifest (informational)."""
    import pandas
    import sklearn

    return {
        "synthgen": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__.split("+")[0],
        "numpy": np.__version__,
        "pandas": pandas.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _to_tensors(
    prefix: str, arrays: dict[str, np.ndarray | torch.Tensor]
) -> dict[str, torch.Tensor]:
    out = {}
    for name, value in arrays.items():
        t = (
            value
            if isinstance(value, torch.Tensor)
            else torch.from_numpy(np.ascontiguousarray(value))
        )
        out[f"{prefix}.{name}"] = t.detach().to("cpu").contiguous()
    return out


def _canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k not in ("content_sha256", "signature")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _content_hash(manifest: dict[str, Any], weights: bytes) -> str:
    digest = hashlib.sha256(_canonical(manifest))
    digest.update(b"\0")
    digest.update(weights)
    return digest.hexdigest()


def _key() -> bytes | None:
    key = os.environ.get(KEY_ENV)
    return key.encode("utf-8") if key else None


def save_model(
    path: str | Path,
    *,
    kind: str,
    config: dict[str, Any],
    schema: TableSchema | ImageSchema,
    tensors: dict[str, torch.Tensor],
    transformer_state: dict[str, Any] | None = None,
    transformer_arrays: dict[str, np.ndarray] | None = None,
    training: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    overwrite: bool = False,
    inputs: tuple[str | Path, ...] = (),
) -> Path:
    """Write a model file atomically. ``tensors`` are the module weights (state_dict-like);
    ``transformer_arrays`` are stored beside them under the ``transformer.`` prefix."""
    all_tensors = _to_tensors("model", tensors)
    all_tensors.update(_to_tensors("transformer", transformer_arrays or {}))
    weights = save_safetensors(dict(sorted(all_tensors.items())))
    manifest = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": config,
        "schema": schema_to_dict(schema),
        "transformer": transformer_state,
        "training": training or {},
        "extra": extra or {},
        "libraries": library_versions(),
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    try:
        manifest["content_sha256"] = _content_hash(manifest, weights)
    except ValueError as err:  # NaN or infinity in a summary: a bug, not the user's fault
        raise ModelFileError(f"Model file {path} cannot be written: {err}.") from None
    key = _key()
    if key is not None:
        manifest["signature"] = hmac.new(
            key, manifest["content_sha256"].encode(), "sha256"
        ).hexdigest()
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False).encode()
    with atomic_output(path, overwrite=overwrite, inputs=inputs) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, payload in ((MANIFEST, manifest_bytes), (WEIGHTS, weights)):
                info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, payload)
    return Path(path)


def _refuse(path: Path, why: str) -> ModelFileError:
    return ModelFileError(f"Model file {path} cannot be loaded: {why}")


def _check_member(path: Path, info: zipfile.ZipInfo, limit: int) -> None:
    why = member_size_problem(info, limit)
    if why:
        raise _refuse(path, why)


def read_manifest(path: str | Path) -> tuple[dict[str, Any], int]:
    """The manifest (a dict) of a model file and the file's size, read without its weights;
    used to route a command or list a folder. Raises ModelFileError naming what is wrong."""
    manifest, _ = _read(Path(path), weights=False)
    _validate(Path(path), manifest)  # its structure, so a listing can rely on it
    return manifest, Path(path).stat().st_size


def _read(path: Path, *, weights: bool) -> tuple[dict[str, Any], bytes]:
    if not path.exists():
        raise ModelFileError(f"Model file {path} does not exist.")
    if path.is_dir():
        raise ModelFileError(f"Model path {path} is a directory, not a .synth file.")
    if path.suffix.lower() in _PICKLE_SUFFIXES:
        raise _refuse(
            path,
            f"'{path.suffix}' files are pickles, which synthgen never loads because unpickling "
            "can run arbitrary code. Use a .synth file written by synthgen.",
        )
    if not zipfile.is_zipfile(path):
        raise _refuse(path, "it is not a synthgen model file (not a zip archive).")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise _refuse(path, f"it has {len(infos):,} members; a synthgen model file has 2.")
            names = {info.filename for info in infos}
            pickles = sorted(n for n in names if n.endswith((*_PICKLE_SUFFIXES, "data.pkl")))
            if pickles:
                raise _refuse(path, f"it contains pickled data ({', '.join(pickles)}).")
            for member in (MANIFEST, WEIGHTS):
                if member not in names:
                    raise _refuse(path, f"it has no {member}.")
            _check_member(path, zf.getinfo(MANIFEST), MAX_MANIFEST_BYTES)
            _check_member(path, zf.getinfo(WEIGHTS), MAX_WEIGHTS_BYTES)
            manifest_bytes = read_member(zf, MANIFEST)
            blob = read_member(zf, WEIGHTS) if weights else b""
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        EOFError,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ) as err:
        raise _refuse(path, f"the archive is corrupt ({err}).") from None
    try:
        manifest = json.loads(manifest_bytes, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError):
        raise _refuse(path, "its manifest is not valid JSON.") from None
    except RecursionError:
        raise _refuse(
            path,
            f"its manifest is nested more than {MAX_DEPTH} levels deep, which no synthgen "
            "manifest is.",
        ) from None
    if not isinstance(manifest, dict):
        raise _refuse(path, "its manifest is not a JSON object.")
    if nesting_depth(manifest, MAX_DEPTH) > MAX_DEPTH:
        raise _refuse(
            path,
            f"its manifest is nested more than {MAX_DEPTH} levels deep, which no synthgen "
            "manifest is.",
        )
    return manifest, blob


def _not_json(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")  # NaN and Infinity: Python reads them, JSON has none


def _validate(path: Path, manifest: dict[str, Any]) -> Manifest:
    version = manifest.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise _refuse(
            path,
            f"it was written in format version {version}, newer than this synthgen reads "
            f"({FORMAT_VERSION}). Upgrade synthgen.",
        )
    try:
        return Manifest.model_validate({**manifest, "schema_": manifest.get("schema")})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]).replace("schema_", "schema")
        raise _refuse(path, f"its manifest is malformed ({where}: {first['msg']}).") from None
    except RecursionError:
        raise _refuse(path, "its manifest is nested too deeply.") from None


def load_model(
    path: str | Path, *, role: str | None = None, data: str | None = None
) -> LoadedModel:
    """Read and check a model file. ``role`` (generator, detector, judge) and ``data`` (table,
    image) narrow the kinds accepted, so a detector passed to ``generate`` is refused clearly."""
    path = Path(path)
    manifest, weights = _read(path, weights=True)
    checked = _validate(path, manifest)
    if hashlib.sha256(weights).hexdigest() != checked.weights_sha256:
        raise _refuse(
            path,
            "the sha256 of its weights does not match the manifest; the file was modified "
            "or damaged after it was written.",
        )
    if checked.format_version >= 2:
        if checked.content_sha256 != _content_hash(manifest, weights):
            raise _refuse(
                path,
                "the sha256 of its contents does not match the manifest; the file was modified "
                "or damaged after it was written.",
            )
    key = _key()
    if key is not None:
        want = hmac.new(key, str(checked.content_sha256).encode(), "sha256").hexdigest()
        if checked.signature is None or not hmac.compare_digest(checked.signature, want):
            raise _refuse(
                path,
                f"it is not signed with the key in {KEY_ENV} (a file from elsewhere, or one "
                "written before the key was set).",
            )
    entry = kind_of_file(checked.kind, path)
    if role is not None and entry.role != role:
        raise _refuse(
            path,
            f"it holds a '{checked.kind}' {entry.role}, but this needs a {data or ''}"
            f"{' ' if data else ''}{role}.",
        )
    if data is not None and entry.data != data:
        raise _refuse(path, f"it holds a '{checked.kind}' model for {entry.data}s, not {data}s.")
    try:
        tensors = load_safetensors(weights)
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise _refuse(path, f"its weights are not a valid safetensors file ({err}).") from None
    try:
        schema = parse_schema(manifest["schema"], f"in {path}")
    except SchemaError as err:
        raise _refuse(path, err.message) from None
    return LoadedModel(manifest=manifest, tensors=tensors, schema=schema, entry=entry, path=path)


def peek_kind(path: str | Path) -> str | None:
    """The model kind a file's manifest names, without checking the file (``None`` when it
    cannot be read; ``load_model`` then reports why). Used only to route a command."""
    try:
        manifest, _ = _read(Path(path), weights=False)
    except ModelFileError:
        return None
    kind = manifest.get("kind")
    return kind if isinstance(kind, str) else None
