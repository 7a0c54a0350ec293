"""The complete registry, and the one place that routes between tables and images.

Importing this module registers every kind and estimator (tables and images, generators,
detectors and judges). Jobs ask it which estimator fits a schema, which one loads a model file,
and which reader reads a data path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import synthgen.images.anomaly.detector  # noqa: F401  (registers image detectors)
import synthgen.images.evaluate.classifier  # noqa: F401  (registers the image judge)
import synthgen.images.synthesizer  # noqa: F401  (registers image generators)
import synthgen.tabular.anomaly.detector  # noqa: F401  (registers table detectors)
import synthgen.tabular.synthesizer  # noqa: F401  (registers table generators)
from synthgen.core.estimator import Estimator
from synthgen.core.kinds import Kind, estimator_for, get_kind, kind_of_file, kinds
from synthgen.core.modelfile import load_model, peek_kind, read_manifest
from synthgen.errors import ModelFileError, SchemaError, UsageError, param
from synthgen.images.io import read_images
from synthgen.schema import ImageSchema, TableSchema, load_schema, parse_schema
from synthgen.tabular.io import FORMATS, read_table

__all__ = [
    "Kind",
    "all_kinds",
    "data_of",
    "default_kind",
    "estimator_class",
    "file_entry",
    "get_kind",
    "load_estimator",
    "model_summary",
    "read_data",
    "schema_of",
]

DEFAULTS = {
    ("table", "generator"): "vae",
    ("image", "generator"): "fvae",
    ("table", "detector"): "autoencoder",
    ("image", "detector"): "autoencoder",
    ("image", "judge"): "cnn",
}


def all_kinds() -> list[Kind]:
    """Every registered kind."""
    return kinds()


def data_of(schema: TableSchema | ImageSchema) -> str:
    """``table`` or ``image``: what a schema describes."""
    return "image" if isinstance(schema, ImageSchema) else "table"


def schema_of(path: str | Path) -> TableSchema | ImageSchema:
    """A schema file, either kind."""
    return load_schema(path)


def default_kind(data: str, role: str) -> str:
    return DEFAULTS[(data, role)]


def estimator_class(data: str, role: str) -> type[Estimator]:
    """The estimator that fits ``role`` models of ``data``."""
    return estimator_for(get_kind(data, role, default_kind(data, role)))


def file_entry(path: str | Path, role: str | None = None) -> Kind:
    """The registry entry of a model file's kind (read from its manifest), checked against
    ``role``; the file itself is checked when it is loaded."""
    kind = peek_kind(path)
    if kind is None:  # unreadable: loading it says why, naming the file
        load_model(path)
        raise ModelFileError(f"Model file {path} cannot be read.")
    entry = kind_of_file(kind, path)
    if role is not None and entry.role != role:
        raise ModelFileError(
            f"Model file {path} holds a '{entry.file_kind}' {entry.role}, but this needs a {role}."
        )
    return entry


def load_estimator(path: str | Path, role: str, *, device: str = "auto", **kw: Any) -> Any:
    """Load a model file of ``role`` with the estimator its kind names."""
    entry = file_entry(path, role)
    return estimator_for(entry).load(path, device=device, **kw)


def is_image_source(path: str | Path) -> bool:
    """An .npz file, or a folder (unless named like a table, which the table reader refuses)."""
    path = Path(path)
    suffix = path.suffix.lower()
    return suffix == ".npz" or (path.is_dir() and suffix not in FORMATS)


def read_data(
    path: str | Path,
    schema: TableSchema | ImageSchema,
    *,
    strict_values: bool = True,
    source: str | None = None,
) -> Any:
    """The data at ``path`` read and checked with ``schema``: a typed frame or an ImageSet."""
    if isinstance(schema, ImageSchema):
        return read_images(path, schema, source_label=source or "Data")
    if not isinstance(schema, TableSchema):
        raise UsageError(f"{param('schema')} is not a table or image schema.", param="schema")
    return read_table(path, schema, strict_values=strict_values)


def model_summary(path: str | Path) -> dict[str, Any]:
    """What a model file's manifest says (kind, role, data, schema, training, versions),
    read without its weights; ModelFileError naming the problem for a broken file."""
    manifest, _ = read_manifest(path)
    kind = manifest.get("kind")
    if not isinstance(kind, str):
        raise ModelFileError(f"Model file {path} has no valid manifest (no kind).")
    entry = kind_of_file(kind, path)
    try:
        schema = parse_schema(manifest.get("schema"), f"in {path}")
    except SchemaError as err:
        raise ModelFileError(err.message) from None
    except RecursionError:
        raise ModelFileError(f"Model file {path}: its schema is nested too deeply.") from None
    return {
        "kind": entry.file_kind,
        "role": entry.role,
        "data": entry.data,
        "schema": schema,
        "training": _dict(manifest.get("training")),
        "format_version": manifest.get("format_version"),
        "weights_sha256": str(manifest.get("weights_sha256", "")),
        "libraries": _dict(manifest.get("libraries")),
        "privacy": _dict(_dict(manifest.get("extra")).get("privacy")),
    }


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}
