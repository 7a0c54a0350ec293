"""Model files in MODELS_DIR: safe name resolution, manifest summaries, load-once caching.

A model's name is its file name without ``.synth``. Names are validated against a strict pattern
before they touch the file system, resolved, and must land on a regular file inside MODELS_DIR
(a symlink is followed only when its target is inside MODELS_DIR too). Each model is loaded once,
lazily, and shared between requests; a changed file (mtime or size) is loaded again. A file
that fails to read or load is remembered as broken, with its error, for that same version.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.errors import ModelFileError, SynthgenError
from synthgen.jobs.kinds import load_estimator, model_summary
from synthgen.parsing import nesting_depth
from synthgen.schema import TableSchema

SUFFIX = ".synth"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_NAME_RE = re.compile(NAME_PATTERN)
log = logging.getLogger("synthgen.service")


class NotFound(Exception):
    """No model of the wanted kind under that name (maps to 404)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WrongKind(Exception):
    """The name exists but holds another kind of model (maps to 422)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Key:
    path: Path
    mtime_ns: int
    size: int


@dataclass
class ModelInfo:
    """What /models shows about one file (read from its manifest only; weights untouched)."""

    name: str
    kind: str
    family: str
    schema: dict[str, Any]
    training: dict[str, Any]
    format_version: int
    size_bytes: int
    weights_sha256: str
    libraries: dict[str, Any]

    def brief(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "family": self.family,
            "schema": _schema_brief(self.schema),
            "training": self.training,
        }

    def detail(self) -> dict[str, Any]:
        return {
            **self.brief(),
            "schema": self.schema,
            "format_version": self.format_version,
            "size_bytes": self.size_bytes,
            "weights_sha256": self.weights_sha256,
            "libraries": self.libraries,
        }


def _schema_brief(schema: dict[str, Any]) -> dict[str, Any]:
    cols = schema.get("columns") or []
    return {
        "name": schema.get("name"),
        "kind": schema.get("kind"),
        "n_columns": len(cols),
        "columns": [{"name": c.get("name"), "type": c.get("type")} for c in cols],
        "target": schema.get("target"),
        "conditions": schema.get("conditions"),
    }


def _schema_detail(schema: TableSchema | Any) -> dict[str, Any]:
    """The schema as JSON, with the columns generation may be conditioned on."""
    out = schema.model_dump(mode="json", exclude_none=True)
    if isinstance(schema, TableSchema):
        out["condition_columns"] = schema.condition_columns
    return out


MAX_SUMMARY_DEPTH = 32  # a training summary is a few levels deep; deeper is not ours


def _json_safe(value: Any) -> Any:
    """Training summaries are JSON already; drop anything that is not plainly serialisable
    or nested deeper than a summary ever is (it would fail when the response is encoded)."""
    try:
        if nesting_depth(value, MAX_SUMMARY_DEPTH) > MAX_SUMMARY_DEPTH:
            return {}
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        return {}


def _broken(name: str, path: Path, err: BaseException) -> str:
    """The message for a file that failed to read or load, without the server's path."""
    if isinstance(err, SynthgenError):
        text = err.message
    elif isinstance(err, RecursionError):
        text = f"Model file {path} cannot be read: it is nested too deeply."
    elif isinstance(err, MemoryError):
        text = f"Model file {path} cannot be read: it needs more memory than the server has."
    else:
        log.warning("model file '%s' failed to load", name, exc_info=err)
        text = f"Model file {path} cannot be read ({type(err).__name__}: {str(err)[:200]})."
    return text.replace(str(path), f"'{name}'").replace(str(path.parent), "the models folder")


class ModelRegistry:
    """Resolves names to files in ``models_dir`` and caches loaded models (thread-safe)."""

    def __init__(self, models_dir: str | Path, *, device: str = "cpu") -> None:
        root = Path(models_dir)
        if not root.is_dir():
            raise ModelFileError(f"Models folder {root} does not exist or is not a folder.")
        self.root = root.resolve()
        self.device = device
        self._lock = threading.Lock()
        self._load_locks: dict[Path, threading.Lock] = {}
        self._infos: dict[str, tuple[_Key, ModelInfo | str]] = {}
        self._loaded: dict[Path, tuple[_Key, Any, threading.Lock]] = {}

    # --- names and paths ----------------------------------------------------------------------
    def resolve(self, name: str) -> Path:
        """The model file for ``name``, or NotFound. Never leaves ``models_dir``."""
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise NotFound(
                f"'{name}' is not a valid model name (letters, digits, '.', '_' and '-', "
                "starting with a letter or digit, at most 128 characters)."
            )
        if name.lower().endswith(SUFFIX):
            name = name[: -len(SUFFIX)]
        candidate = self.root / f"{name}{SUFFIX}"
        if candidate.parent != self.root:  # pragma: no cover - the pattern forbids separators
            raise NotFound(f"No model named '{name}'.")
        try:
            target = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            raise NotFound(f"No model named '{name}' in the models folder.") from None
        if not target.is_relative_to(self.root):
            raise NotFound(
                f"No model named '{name}' in the models folder (its file is a link to a place "
                "outside the folder, which the server refuses to follow)."
            )
        if not target.is_file():
            raise NotFound(f"No model named '{name}' in the models folder (not a regular file).")
        return target

    def names(self) -> list[str]:
        """Names of the model files in the folder (safe names only, links out skipped)."""
        out = []
        for entry in sorted(self.root.iterdir()):
            if entry.suffix != SUFFIX or not _NAME_RE.fullmatch(entry.name):
                continue
            try:
                self.resolve(entry.stem)
            except NotFound:
                continue
            out.append(entry.stem)
        return out

    @staticmethod
    def _key(path: Path) -> _Key:
        st = path.stat()
        return _Key(path, st.st_mtime_ns, st.st_size)

    # --- manifests ----------------------------------------------------------------------------
    def info(self, name: str) -> ModelInfo:
        """Summary of one model (NotFound for unknown names; ModelFileError for a bad file)."""
        path = self.resolve(name)
        key = self._key(path)
        with self._lock:
            cached = self._infos.get(name)
        if cached is None or cached[0] != key:
            try:
                value: ModelInfo | str = self._read_info(name, path, key)
            except Exception as err:  # noqa: BLE001 - a broken file is listed as broken
                value = _broken(name, path, err)
            with self._lock:
                self._infos[name] = (key, value)
        else:
            value = cached[1]
        if isinstance(value, str):
            raise ModelFileError(value)
        return value

    def _read_info(self, name: str, path: Path, key: _Key) -> ModelInfo:
        summary = model_summary(path)
        return ModelInfo(
            name=name,
            kind=summary["kind"],
            family=summary["role"],
            schema=_schema_detail(summary["schema"]),
            training=_json_safe(summary["training"]),
            format_version=int(summary["format_version"] or 0),
            size_bytes=key.size,
            weights_sha256=summary["weights_sha256"],
            libraries=_json_safe(summary["libraries"]),
        )

    def infos(self) -> list[ModelInfo | dict[str, str]]:
        """Every model's summary; a file that cannot be read is listed with its error."""
        out: list[ModelInfo | dict[str, str]] = []
        for name in self.names():
            try:
                out.append(self.info(name))
            except ModelFileError as err:
                out.append({"name": name, "status": "broken", "error": err.message})
            except (NotFound, OSError):  # removed meanwhile
                continue
        return out

    # --- loaded models ------------------------------------------------------------------------
    def get(self, name: str, want: str) -> tuple[Any, threading.Lock]:
        """The loaded model of family ``want`` ('generator' or 'detector') and its lock.

        Loaded once per file version (concurrent first requests wait for one load)."""
        info = self.info(name)
        if info.family != want:
            where = {"generator": "/models/{name}/generate", "detector": "/detectors/{name}/score"}
            hint = where.get(info.family, "")
            raise WrongKind(
                f"Model '{name}' is of kind '{info.kind}', not a "
                f"{'generator' if want == 'generator' else 'anomaly detector'}"
                + (f"; use {hint.format(name=name)}." if hint else ".")
            )
        path = self.resolve(name)
        key = self._key(path)
        with self._lock:
            cached = self._loaded.get(path)
            if cached is not None and cached[0] == key:
                return _model_or_raise(cached)
            load_lock = self._load_locks.setdefault(path, threading.Lock())
        with load_lock:
            with self._lock:
                cached = self._loaded.get(path)
                if cached is not None and cached[0] == key:
                    return _model_or_raise(cached)
            try:
                model = self._load(path, want)
            except Exception as err:  # noqa: BLE001 - cached: the next request does not pay again
                failed = (key, _Failed(_broken(name, path, err)), threading.Lock())
                with self._lock:
                    self._loaded[path] = failed
                return _model_or_raise(failed)
            entry = (key, model, threading.Lock())
            with self._lock:
                self._loaded[path] = entry
            return model, entry[2]

    def _load(self, path: Path, want: str) -> Any:
        return load_estimator(path, want, device=self.device)

    @property
    def loaded_count(self) -> int:
        with self._lock:
            return sum(not isinstance(e[1], _Failed) for e in self._loaded.values())


@dataclass(frozen=True)
class _Failed:
    """A file version that failed to load (kept so that each request does not retry it)."""

    message: str


def _model_or_raise(entry: tuple[_Key, Any, threading.Lock]) -> tuple[Any, threading.Lock]:
    if isinstance(entry[1], _Failed):
        raise ModelFileError(entry[1].message)
    return entry[1], entry[2]
