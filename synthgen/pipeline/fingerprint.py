"""Model reuse in pipelines: a fingerprint beside each model (``MODEL.fingerprint.json``):
sha256 of the data file, the parsed schema and the step's settings, plus the model file's own
sha256. When all match, the model is reused instead of refitted."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from synthgen.errors import DataError
from synthgen.outputs import atomic_output, file_sha256
from synthgen.pipeline.spec import RunContext, Step, StepResult
from synthgen.schema import schema_to_dict

FINGERPRINT_SUFFIX = ".fingerprint.json"
FINGERPRINT_FORMAT = "synthgen.fingerprint/1"


def compute_fingerprint(step: Step, data: Path, schema: Any, settings: dict[str, Any]) -> str:
    if not data.exists():
        raise DataError(f"Data file {data} does not exist.")
    doc = {
        "step": step.type,
        "data_sha256": file_sha256(data),
        "schema": schema_to_dict(schema),
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def sidecar(model: Path) -> Path:
    return model.with_name(model.name + FINGERPRINT_SUFFIX)


def _up_to_date(model: Path, fingerprint: str) -> bool:
    side = sidecar(model)
    if not model.exists() or not side.exists():
        return False
    try:
        doc = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(doc, dict)
        and doc.get("fingerprint") == fingerprint
        and doc.get("model_sha256") == file_sha256(model)
    )


def record_fingerprint(model: Path, fingerprint: str, step: Step) -> Path:
    side = sidecar(model)
    doc = {
        "format": FINGERPRINT_FORMAT,
        "fingerprint": fingerprint,
        "model_sha256": file_sha256(model),
        "step": step.name,
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    with atomic_output(side, overwrite=True) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return side


def reuse(step: Step, ctx: RunContext, fingerprint: str, outputs: list[str]) -> StepResult | None:
    """The "reused" result when the step's model is up to date (and not --force), else None."""
    if ctx.force or not _up_to_date(step.options["output"], fingerprint):
        return None
    return StepResult(
        step.name,
        step.type,
        "reused",
        outputs=outputs,
        details={"reused": True, "fingerprint": fingerprint},
    )
