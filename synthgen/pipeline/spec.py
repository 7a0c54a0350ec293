"""Job specs: reading and checking a spec file before anything runs (every key of every step
is checked against its step type), and the records a run produces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.errors import UsageError
from synthgen.parsing import parse_yaml, read_document
from synthgen.schema import MAX_SCHEMA_BYTES


@dataclass(frozen=True)
class StepType:
    """What a step type accepts: required and optional keys, and which keys are paths."""

    run: Callable[[Step, RunContext], StepResult]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()  # path keys read by the step
    outputs: tuple[str, ...] = ()  # path keys written by the step


@dataclass
class Step:
    name: str
    type: str
    options: dict[str, Any]
    index: int


@dataclass
class PipelineSpec:
    path: Path
    name: str
    summary: Path
    steps: list[Step]
    threads: int | None = None

    @property
    def folder(self) -> Path:
        return self.path.parent


@dataclass
class StepResult:
    name: str
    type: str
    status: str = "not run"  # ok | reused | failed | not run
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class RunContext:
    spec: PipelineSpec
    force: bool
    progress: bool


def load_spec(path: str | Path, step_types: dict[str, StepType]) -> PipelineSpec:
    """Read and check a job spec; every key of every step is checked before anything runs."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"Pipeline spec {path} does not exist.")
    if path.is_dir():
        raise UsageError(f"Pipeline spec {path} is a directory; give a .yaml file.")
    where = f"Pipeline spec {path}"
    # duplicate keys, deep nesting and huge files refused (as for schema files)
    text = read_document(path, where, UsageError, MAX_SCHEMA_BYTES)
    doc = parse_yaml(text, where, UsageError, yaml11_booleans=True)
    if not isinstance(doc, dict):
        raise UsageError(f"{where} must be a mapping with a 'steps' list.")
    unknown = sorted(set(doc) - {"name", "summary", "steps", "description", "threads"})
    if unknown:
        raise UsageError(
            f"{where} has unknown key(s) {unknown}; allowed: name, description, summary, "
            "threads, steps."
        )
    threads = doc.get("threads")
    if threads is not None and (type(threads) is not int or threads < 1):
        raise UsageError(f"{where}: 'threads' must be a positive integer, got {threads!r}.")
    raw_steps = doc.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise UsageError(f"{where} needs a non-empty 'steps' list.")
    folder = path.resolve().parent
    steps: list[Step] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_steps, 1):
        step = _parse_step(raw, i, where, folder, step_types)
        if step.name in seen:
            raise UsageError(f"{where}: two steps are named '{step.name}'; names must be unique.")
        seen.add(step.name)
        steps.append(step)
    name = str(doc.get("name") or path.stem)
    summary_raw = doc.get("summary") or f"{path.stem}.run.json"
    if not isinstance(summary_raw, str):
        raise UsageError(f"{where}: 'summary' must be a file path.")
    return PipelineSpec(path.resolve(), name, _resolve(folder, summary_raw), steps, threads)


def _parse_step(
    raw: Any, index: int, where: str, folder: Path, step_types: dict[str, StepType]
) -> Step:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: step {index} must be a mapping with a 'type'.")
    kind = raw.get("type")
    label = f"{where}: step {index} ({raw.get('name') or kind})"
    if kind not in step_types:
        raise UsageError(
            f"{label} has type {kind!r}; step types are: {', '.join(sorted(step_types))}."
        )
    stype = step_types[kind]
    options = {k: v for k, v in raw.items() if k not in ("name", "type")}
    allowed = set(stype.required) | set(stype.optional)
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise UsageError(
            f"{label} has unknown key(s) {unknown}; a {kind} step takes "
            f"{', '.join(stype.required)} (required) and {', '.join(stype.optional) or 'nothing'}."
        )
    missing = [k for k in stype.required if options.get(k) is None]
    if missing:
        raise UsageError(f"{label} is missing required key(s): {', '.join(missing)}.")
    for key in (*stype.inputs, *stype.outputs):
        if key in options and options[key] is not None:
            if not isinstance(options[key], str):
                raise UsageError(f"{label}: '{key}' must be a file path (a string).")
            options[key] = _resolve(folder, options[key])
    name = str(raw.get("name") or kind)
    return Step(name, kind, options, index)


def _resolve(folder: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return (path if path.is_absolute() else folder / path).resolve()


def opt(step: Step, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    """An option of the expected type (bool is not accepted as a number)."""
    value = step.options.get(key, default)
    if value is None:
        return None
    bad_bool = isinstance(value, bool) and bool not in (
        kind if isinstance(kind, tuple) else (kind,)
    )
    if bad_bool or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise UsageError(f"Step '{step.name}': '{key}' must be a {names}, got {value!r}.")
    return value


def str_list(step: Step, key: str) -> list[str] | None:
    """A list of strings, or a mapping written as ``{A: B}`` -> ["A=B"]."""
    value = step.options.get(key)
    if value is None:
        return None
    if isinstance(value, dict):
        return [f"{k}={v}" for k, v in value.items()]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    raise UsageError(f"Step '{step.name}': '{key}' must be a list of strings or a mapping.")
