"""The ``*.synth`` model file: a zip of ``manifest.json`` and ``weights.safetensors``.

The manifest holds the format version, model kind, config, schema, transformer state, training
summary, library versions and the sha256 of the weights. Loading checks the version and hash and
never unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
import platform
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from synthgen.errors import ModelFileError
from synthgen.outputs import atomic_output
from synthgen.schema import ImageSchema, TableSchema, parse_schema, schema_to_dict

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed entry timestamps: byte-identical files per seed
_MAX_MANIFEST_BYTES = 64 * 1024 * 1024


@dataclass
class LoadedModel:
    """What a model file holds once checked: the manifest, tensors, and the parsed schema."""

    manifest: dict[str, Any]
    tensors: dict[str, torch.Tensor]
    schema: TableSchema | ImageSchema

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

    from synthgen._version import __version__

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


def load_model(path: str | Path, *, expect: str | None = None) -> LoadedModel:
    """Read and check a model file. ``expect`` ("table", "image", "anomaly") narrows the kinds
    accepted, so a detector passed to ``generate`` is refused clearly."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"Model file {path} does not exist.")
    if path.is_dir():
        raise ModelFileError(f"Model path {path} is a directory, not a .synth file.")
    if path.suffix.lower() in (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib"):
        raise _refuse(
            path,
            f"'{path.suffix}' files are pickles, which synthgen never loads because unpickling "
            "can run arbitrary code. Use a .synth file written by synthgen.",
        )
    if not zipfile.is_zipfile(path):
        raise _refuse(path, "it is not a synthgen model file (not a zip archive).")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if MANIFEST not in names:
                raise _refuse(path, f"it has no {MANIFEST}.")
            if WEIGHTS not in names:
                raise _refuse(path, f"it has no {WEIGHTS}.")
            pickles = sorted(n for n in names if n.endswith((".pkl", ".pt", ".pickle", "data.pkl")))
            if pickles:
                raise _refuse(path, f"it contains pickled data ({', '.join(pickles)}).")
            if zf.getinfo(MANIFEST).file_size > _MAX_MANIFEST_BYTES:
                raise _refuse(path, "its manifest is implausibly large.")
            manifest_bytes = zf.read(MANIFEST)
            weights = zf.read(WEIGHTS)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise _refuse(path, f"the archive is corrupt ({err}).") from None
    try:
        manifest = json.loads(manifest_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _refuse(path, "its manifest is not valid JSON.") from None
    if not isinstance(manifest, dict):
        raise _refuse(path, "its manifest is not a JSON object.")
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise _refuse(path, "its manifest has no format_version.")
    if version > FORMAT_VERSION:
        raise _refuse(
            path,
            f"it was written in format version {version}, newer than this synthgen reads "
            f"({FORMAT_VERSION}). Upgrade synthgen.",
        )
    for key in ("kind", "config", "schema", "weights_sha256"):
        if key not in manifest:
            raise _refuse(path, f"its manifest has no '{key}'.")
    if hashlib.sha256(weights).hexdigest() != manifest["weights_sha256"]:
        raise _refuse(
            path,
            "the sha256 of its weights does not match the manifest; the file was modified "
            "or damaged after it was written.",
        )
    try:
        tensors = load_safetensors(weights)
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise _refuse(path, f"its weights are not a valid safetensors file ({err}).") from None
    from synthgen.errors import SchemaError

    try:
        schema = parse_schema(manifest["schema"], f"in {path}")
    except SchemaError as err:
        raise _refuse(path, err.message) from None
    loaded = LoadedModel(manifest=manifest, tensors=tensors, schema=schema)
    if expect is not None and not loaded.kind.startswith(expect):
        raise _refuse(
            path, f"it holds a '{loaded.kind}' model, but this command needs a '{expect}' model."
        )
    return loaded


def peek_kind(path: str | Path) -> str | None:
    """The model kind a file's manifest names, without checking the file (``None`` when it
    cannot be read; ``load_model`` then reports why). Used only to route a command."""
    try:
        with zipfile.ZipFile(path) as zf:
            if zf.getinfo(MANIFEST).file_size > _MAX_MANIFEST_BYTES:
                return None
            kind = json.loads(zf.read(MANIFEST)).get("kind")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, AttributeError):
        return None
    return kind if isinstance(kind, str) else None
