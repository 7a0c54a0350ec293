"""Job specs: YAML files listing steps that call synthgen's Python API, run in order.

A spec::

    name: augment-adult               # optional (default: the file's stem)
    summary: ../runs/adult/run.json   # optional (default: SPEC-stem.run.json beside the spec)
    threads: 1                        # optional: torch/OpenMP threads for the run
    steps:
      - {name: fit, type: fit, data: ../data/train.csv, schema: adult.yaml,
         output: ../runs/adult/model.synth, model: vae, epochs: 30}
      - {name: synth, type: generate, model: ../runs/adult/model.synth, rows: 1000,
         output: ../runs/adult/synthetic.csv}

Rules:

* Relative paths are relative to the spec file's folder. Output folders are created.
* Every output is written atomically (temp file, renamed when complete). A run replaces the
  outputs its steps declare: they belong to the job.
* A step that fails stops the run: later steps do not run, earlier outputs stay as they are, and
  the error (of the same kind, so the same exit code) names the step.
* ``fit`` and ``anomalies_fit`` keep a fingerprint beside the model (``MODEL.fingerprint.json``):
  sha256 of the data file, the parsed schema and the step's settings, plus the model file's own
  sha256. When all match, the model is reused instead of refitted (status ``reused``);
  ``force=True`` (``--force``) refits anyway.
* A run summary (JSON: steps, status, seconds, outputs, details) is written at the end, also
  when a step fails.

Step types and their keys (``*`` = required) are in :data:`STEP_TYPES`; see docs in each
``_run_*`` function.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from synthgen.dtypes import STRING_DTYPE
from synthgen.errors import DataError, SynthgenError, UsageError

__all__ = ["STEP_TYPES", "PipelineSpec", "Step", "StepResult", "load_spec", "run_pipeline"]

FINGERPRINT_SUFFIX = ".fingerprint.json"
FINGERPRINT_FORMAT = "synthgen.fingerprint/1"
SUMMARY_FORMAT = "synthgen.pipeline-run/1"


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


# ---------------------------------------------------------------------------------- loading


def load_spec(path: str | Path) -> PipelineSpec:
    """Read and check a job spec; every key of every step is checked before anything runs."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"Pipeline spec {path} does not exist.")
    if path.is_dir():
        raise UsageError(f"Pipeline spec {path} is a directory; give a .yaml file.")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise UsageError(f"Pipeline spec {path} is not valid YAML ({err}).") from None
    where = f"Pipeline spec {path}"
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
        step = _parse_step(raw, i, where, folder)
        if step.name in seen:
            raise UsageError(f"{where}: two steps are named '{step.name}'; names must be unique.")
        seen.add(step.name)
        steps.append(step)
    name = str(doc.get("name") or path.stem)
    summary_raw = doc.get("summary") or f"{path.stem}.run.json"
    if not isinstance(summary_raw, str):
        raise UsageError(f"{where}: 'summary' must be a file path.")
    return PipelineSpec(path.resolve(), name, _resolve(folder, summary_raw), steps, threads)


def _parse_step(raw: Any, index: int, where: str, folder: Path) -> Step:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: step {index} must be a mapping with a 'type'.")
    kind = raw.get("type")
    label = f"{where}: step {index} ({raw.get('name') or kind})"
    if kind not in STEP_TYPES:
        raise UsageError(
            f"{label} has type {kind!r}; step types are: {', '.join(sorted(STEP_TYPES))}."
        )
    stype = STEP_TYPES[kind]
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


# ---------------------------------------------------------------------------------- running


def run_pipeline(
    path: str | Path,
    *,
    force: bool = False,
    progress: bool = True,
    on_step: Callable[[StepResult], None] | None = None,
) -> dict[str, Any]:
    """Run a job spec; return the run summary (also written to the spec's summary file).

    A failing step raises an error of the same kind as its cause (same exit code), naming the
    step; the summary is written first.
    """
    spec = load_spec(path)
    ctx = RunContext(spec, force, progress)
    results = [StepResult(s.name, s.type) for s in spec.steps]
    started = datetime.now(timezone.utc)
    t_run = time.perf_counter()
    with _thread_limit(spec.threads):
        failure, failed_step = _run_steps(spec, ctx, results, on_step)
    summary = {
        "format": SUMMARY_FORMAT,
        "pipeline": spec.name,
        "spec": str(spec.path),
        "status": "ok" if failure is None else "failed",
        "failed_step": failed_step.name if failed_step is not None else None,
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t_run, 3),
        "force": force,
        "steps": [dataclasses.asdict(r) for r in results],
    }
    _write_summary(spec.summary, summary)
    if failure is None:
        return summary
    if isinstance(failure, SynthgenError) and failed_step is not None:
        message = (
            f"Pipeline '{spec.name}' stopped at step '{failed_step.name}' ({failed_step.type}, "
            f"step {failed_step.index} of {len(spec.steps)}): {failure.message} Outputs of "
            f"earlier steps are kept; the run summary is in {spec.summary}."
        )
        raise type(failure)(message) from None
    raise failure


def _run_steps(
    spec: PipelineSpec,
    ctx: RunContext,
    results: list[StepResult],
    on_step: Callable[[StepResult], None] | None,
) -> tuple[BaseException | None, Step | None]:
    """Run the steps in order until one fails; return that failure and its step."""
    for step, result in zip(spec.steps, results, strict=True):
        t0 = time.perf_counter()
        failure: BaseException | None = None
        try:
            _make_folders(step)
            done = STEP_TYPES[step.type].run(step, ctx)
            result.status, result.outputs, result.details = done.status, done.outputs, done.details
        except BaseException as err:  # noqa: BLE001 - recorded, then re-raised by the caller
            result.status = "failed" if not isinstance(err, KeyboardInterrupt) else "interrupted"
            result.error = err.message if isinstance(err, SynthgenError) else repr(err)
            failure = err
        result.seconds = round(time.perf_counter() - t0, 3)
        if on_step is not None:
            on_step(result)
        if failure is not None:
            return failure, step
    return None, None


@contextlib.contextmanager
def _thread_limit(threads: int | None) -> Iterator[None]:
    """Limit torch and OpenMP/BLAS threads for the run (a spec's ``threads``), then restore."""
    if threads is None:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            yield
    finally:
        torch.set_num_threads(before)


def _reuse(step: Step, ctx: RunContext, fingerprint: str, outputs: list[str]) -> StepResult | None:
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


def _make_folders(step: Step) -> None:
    for key in STEP_TYPES[step.type].outputs:
        target = step.options.get(key)
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)


def _write_summary(path: Path, summary: dict[str, Any]) -> None:
    from synthgen.outputs import atomic_output

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------- helpers


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fingerprint(step: Step, data: Path, schema: Any, settings: dict[str, Any]) -> str:
    from synthgen.schema import schema_to_dict

    if not data.exists():
        raise DataError(f"Data file {data} does not exist.")
    doc = {
        "step": step.type,
        "data_sha256": file_sha256(data),
        "schema": schema_to_dict(schema),
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _sidecar(model: Path) -> Path:
    return model.with_name(model.name + FINGERPRINT_SUFFIX)


def _up_to_date(model: Path, fingerprint: str) -> bool:
    side = _sidecar(model)
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


def _record_fingerprint(model: Path, fingerprint: str, step: Step) -> Path:
    from synthgen.outputs import atomic_output

    side = _sidecar(model)
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


def _table_schema(path: Path) -> Any:
    from synthgen.jobs.fit import load_table_schema

    return load_table_schema(path)


def _opt(step: Step, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
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


def _str_list(step: Step, key: str) -> list[str] | None:
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


# ---------------------------------------------------------------------------------- steps

_FIT_SETTINGS = ("model", "epochs", "batch_size", "seed", "model_options")


def _run_fit(step: Step, ctx: RunContext) -> StepResult:
    """Fit a TabularSynthesizer: data*, schema*, output*, model, epochs, batch_size, seed,
    device, model_options. Reuses an up-to-date model (see the module docstring)."""
    from synthgen.jobs.fit import fit_to_file

    o = step.options
    schema = _table_schema(o["schema"])
    settings = {
        "model": _opt(step, "model", str, "vae"),
        "epochs": _opt(step, "epochs", int),
        "batch_size": _opt(step, "batch_size", int),
        "seed": _opt(step, "seed", int, 0),
        "model_options": _opt(step, "model_options", dict),
    }
    fingerprint = _fingerprint(step, o["data"], schema, settings)
    outputs = [str(o["output"]), str(_sidecar(o["output"]))]
    reused = _reuse(step, ctx, fingerprint, outputs)
    if reused is not None:
        return reused
    if settings["model_options"] is None:
        summary = fit_to_file(
            o["data"],
            o["schema"],
            o["output"],
            model=settings["model"],
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            device=_opt(step, "device", str, "auto"),
            seed=settings["seed"],
            overwrite=True,
            progress=ctx.progress,
        )
    else:
        summary = _fit_with_options(o, settings, ctx)
    _record_fingerprint(o["output"], fingerprint, step)
    details = {"reused": False, "fingerprint": fingerprint}
    details.update({k: summary.get(k) for k in ("epochs_run", "stopped_early", "fit_seconds")})
    return StepResult(step.name, step.type, "ok", outputs=outputs, details=details)


def _fit_with_options(o: dict[str, Any], settings: dict[str, Any], ctx: RunContext) -> dict:
    """``fit_to_file`` without model_options support: the same steps, with options."""
    from synthgen.tabular.io.read import read_table
    from synthgen.tabular.synthesizer import TabularSynthesizer

    schema = _table_schema(o["schema"])
    synth = TabularSynthesizer(
        settings["model"],
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        seed=settings["seed"],
        device=o.get("device", "auto"),
        progress=ctx.progress,
        model_options=settings["model_options"],
    )
    synth.train_config()
    synth.fit(read_table(o["data"], schema), schema)
    synth.save(o["output"], overwrite=True, inputs=[o["data"], o["schema"]])
    return {**synth.training_, "fit_seconds": synth.fit_seconds_}


def _run_generate(step: Step, ctx: RunContext) -> StepResult:
    """Generate rows: model*, rows*, output*, conditions (mapping or COL=VALUE list), seed,
    format, device."""
    from synthgen.tabular.sampler import generate_to_file, parse_conditions

    o = step.options
    result = generate_to_file(
        o["model"],
        _opt(step, "rows", int),
        o["output"],
        fmt=_opt(step, "format", str),
        conditions=parse_conditions(_str_list(step, "conditions")),
        seed=_opt(step, "seed", int),
        device=_opt(step, "device", str, "auto"),
        overwrite=True,
        progress=ctx.progress,
    )
    return StepResult(
        step.name,
        step.type,
        "ok",
        outputs=[str(o["output"])],
        details={"rows": result["rows"], "validation": result["validation"]},
    )


def _run_validate(step: Step, ctx: RunContext) -> StepResult:
    """Check a table against a schema (types and structure, then the schema's
    great-expectations suite): data*, schema*, output (the result as JSON, written even when
    validation fails). Fails with a DataError naming the failed expectations."""
    from synthgen.outputs import atomic_output
    from synthgen.tabular.evaluate.validity import validate_synthetic
    from synthgen.tabular.io.read import read_table

    o = step.options
    schema = _table_schema(o["schema"])
    frame = read_table(o["data"], schema, strict_values=False)
    result = validate_synthetic(frame, schema)
    doc = {"data": str(o["data"]), "rows": len(frame), **result.to_dict()}
    outputs = []
    if o.get("output") is not None:
        with atomic_output(o["output"], overwrite=True, inputs=[o["data"], o["schema"]]) as tmp:
            tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
        outputs.append(str(o["output"]))
    if not result.success:
        where = f" (details in {o['output']})" if o.get("output") is not None else ""
        raise DataError(
            f"{o['data']} failed validation against schema {o['schema']}{where}: {result.summary()}"
        )
    return StepResult(
        step.name,
        step.type,
        "ok",
        outputs=outputs,
        details={"rows": len(frame), "statistics": result.statistics},
    )


def _run_evaluate(step: Step, ctx: RunContext) -> StepResult:
    """Evaluate synthetic against real rows: real*, synthetic*, schema*, holdout, target,
    json, report, fail_under (mapping gate -> value; a failed gate fails the step after the
    reports are written), max_rows, seed."""
    from synthgen.core.gates import check_gates, enforce, parse_gates
    from synthgen.outputs import atomic_output
    from synthgen.tabular.evaluate.evaluation import DEFAULT_MAX_ROWS, run_evaluation
    from synthgen.tabular.evaluate.report import write_html, write_json
    from synthgen.tabular.io.read import read_table

    o = step.options
    gates = parse_gates(_str_list(step, "fail_under"))
    schema = _table_schema(o["schema"])
    inputs = [o[k] for k in ("real", "synthetic", "schema", "holdout") if o.get(k) is not None]

    def read(path: Path):
        return read_table(path, schema, strict_values=False)

    ev = run_evaluation(
        read(o["real"]),
        read(o["synthetic"]),
        schema,
        holdout=None if o.get("holdout") is None else read(o["holdout"]),
        target=_opt(step, "target", str),
        max_rows=_opt(step, "max_rows", int, DEFAULT_MAX_ROWS),
        seed=_opt(step, "seed", int, 0),
    )
    ev.doc["gates"] = check_gates(ev.doc["summary"], gates)
    outputs = []
    writers = {"json": lambda p: write_json(ev.doc, p), "report": lambda p: write_html(ev, p)}
    for key, writer in writers.items():
        if o.get(key) is not None:
            with atomic_output(o[key], overwrite=True, inputs=inputs) as tmp:
                writer(tmp)
            outputs.append(str(o[key]))
    summary = {k: v for k, v in ev.doc["summary"].items()}
    enforce(ev.doc["gates"])
    return StepResult(
        step.name,
        step.type,
        "ok",
        outputs=outputs,
        details={"summary": summary, "gates": ev.doc["gates"]},
    )


def _run_augment(step: Step, ctx: RunContext) -> StepResult:
    """Real rows plus synthetic ones: data*, model*, output*, and one of balance (column),
    rows (N) or ratio (list of COL=VALUE:r, or mapping "COL=VALUE": r); seed, provenance
    (default true), format, device."""
    from synthgen.tabular.augment import augment_to_file

    o = step.options
    ratio = o.get("ratio")
    if isinstance(ratio, dict):
        ratio = [f"{k}:{v}" for k, v in ratio.items()]
    elif ratio is not None:
        ratio = _str_list(step, "ratio")
    result = augment_to_file(
        o["data"],
        o["model"],
        o["output"],
        balance=_opt(step, "balance", str),
        rows=_opt(step, "rows", int),
        ratios=ratio,
        fmt=_opt(step, "format", str),
        seed=_opt(step, "seed", int),
        provenance=_opt(step, "provenance", bool, True),
        device=_opt(step, "device", str, "auto"),
        overwrite=True,
        progress=ctx.progress,
    )
    keep = ("rows", "real_rows", "synthetic_rows", "added", "counts_before", "counts_after")
    return StepResult(
        step.name, step.type, "ok", outputs=[str(o["output"])], details={k: result[k] for k in keep}
    )


_DETECTOR_SETTINGS = (
    "epochs",
    "hidden",
    "bottleneck",
    "members",
    "batch_size",
    "contamination",
    "top_k",
    "seed",
)


def _run_anomalies_fit(step: Step, ctx: RunContext) -> StepResult:
    """Fit an AnomalyDetector on trusted rows: data*, schema*, output*, device and the
    detector's settings (epochs, hidden, bottleneck, members, batch_size, contamination, top_k,
    seed). Reuses an up-to-date detector like ``fit``."""
    from synthgen.tabular.anomaly import AnomalyDetector
    from synthgen.tabular.io.read import read_table

    o = step.options
    schema = _table_schema(o["schema"])
    settings = {k: o[k] for k in _DETECTOR_SETTINGS if o.get(k) is not None}
    fingerprint = _fingerprint(step, o["data"], schema, settings)
    outputs = [str(o["output"]), str(_sidecar(o["output"]))]
    reused = _reuse(step, ctx, fingerprint, outputs)
    if reused is not None:
        return reused
    try:
        detector = AnomalyDetector(**settings, device=_opt(step, "device", str, "auto"))
    except TypeError as err:
        raise UsageError(f"Step '{step.name}': bad detector setting ({err}).") from None
    frame = read_table(o["data"], schema, strict_values=False)
    detector.fit(frame, schema)
    detector.save(o["output"], overwrite=True, inputs=(o["data"], o["schema"]))
    _record_fingerprint(o["output"], fingerprint, step)
    training = getattr(detector, "training_", {}) or {}
    details = {"reused": False, "fingerprint": fingerprint}
    details.update({k: training.get(k) for k in ("rows", "epochs_run", "fit_seconds")})
    return StepResult(step.name, step.type, "ok", outputs=outputs, details=details)


def _run_anomalies_score(step: Step, ctx: RunContext) -> StepResult:
    """Screen rows with a detector: data*, model*, and at least one of output (every row with
    anomaly_score, is_anomaly, top_columns), flagged (only the flagged rows) and report (HTML);
    contamination or threshold; chunk_rows; device."""
    from synthgen.core.calibration import resolve_threshold
    from synthgen.outputs import atomic_output
    from synthgen.tabular.anomaly import AnomalyDetector
    from synthgen.tabular.anomaly.detector import FLAG, TOP
    from synthgen.tabular.anomaly.report import write_report_html
    from synthgen.tabular.anomaly.stream import ScoreSummary, score_chunks
    from synthgen.tabular.io.read import TableWriter, iter_table, table_format

    o = step.options
    targets = {k: o[k] for k in ("output", "flagged", "report") if o.get(k) is not None}
    if not targets:
        raise UsageError(f"Step '{step.name}' writes nothing; give output, flagged and/or report.")
    paths = [p.resolve() for p in targets.values()]
    if len(set(paths)) != len(paths):
        raise UsageError(f"Step '{step.name}': output, flagged and report must be distinct files.")
    detector = AnomalyDetector.load(o["model"], device=_opt(step, "device", str, "auto"))
    threshold, rule = resolve_threshold(
        detector.calibration_,
        contamination=_opt(step, "contamination", (float, int)),
        threshold=_opt(step, "threshold", (float, int)),
        default_contamination=detector.contamination,
    )
    summary = ScoreSummary.for_detector(detector, threshold, rule)
    inputs = (o["data"], o["model"])
    chunk_rows = _opt(step, "chunk_rows", int, 50_000)
    schema = detector.schema_
    with contextlib.ExitStack() as stack:
        tmps = {
            key: stack.enter_context(atomic_output(path, overwrite=True, inputs=inputs))
            for key, path in targets.items()
        }
        writers = {
            key: stack.enter_context(TableWriter(tmps[key], table_format(targets[key]), schema))
            for key in ("output", "flagged")
            if key in tmps
        }
        chunks = iter_table(
            o["data"], schema, chunksize=chunk_rows, strict_values=False, allow_extra=True
        )
        last = None
        for scored in score_chunks(detector, chunks, threshold, summary):
            last = scored
            if "output" in writers:
                writers["output"].write(scored)
            flagged = scored[scored[FLAG].to_numpy(dtype=bool)]
            if "flagged" in writers and len(flagged):
                writers["flagged"].write(flagged)
        if "flagged" in writers and writers["flagged"].rows == 0 and last is not None:
            writers["flagged"].write(last.iloc[:0].astype({TOP: STRING_DTYPE}))  # header only
        for key in ("output", "flagged"):
            if key in writers:
                writers.pop(key).close()
        if "report" in tmps:
            write_report_html(
                tmps["report"], summary, title=f"Anomaly screening of {o['data'].name}"
            )
    return StepResult(
        step.name,
        step.type,
        "ok",
        outputs=[str(p) for p in targets.values()],
        details={
            "rows": summary.rows,
            "flagged": summary.flagged,
            "threshold": summary.threshold,
            "rule": rule,
        },
    )


STEP_TYPES: dict[str, StepType] = {
    "fit": StepType(
        _run_fit,
        ("data", "schema", "output"),
        ("model", "epochs", "batch_size", "seed", "device", "model_options"),
        inputs=("data", "schema"),
        outputs=("output",),
    ),
    "generate": StepType(
        _run_generate,
        ("model", "rows", "output"),
        ("conditions", "seed", "format", "device"),
        inputs=("model",),
        outputs=("output",),
    ),
    "validate": StepType(
        _run_validate,
        ("data", "schema"),
        ("output",),
        inputs=("data", "schema"),
        outputs=("output",),
    ),
    "evaluate": StepType(
        _run_evaluate,
        ("real", "synthetic", "schema"),
        ("holdout", "target", "json", "report", "fail_under", "max_rows", "seed"),
        inputs=("real", "synthetic", "schema", "holdout"),
        outputs=("json", "report"),
    ),
    "augment": StepType(
        _run_augment,
        ("data", "model", "output"),
        ("balance", "rows", "ratio", "seed", "provenance", "format", "device"),
        inputs=("data", "model"),
        outputs=("output",),
    ),
    "anomalies_fit": StepType(
        _run_anomalies_fit,
        ("data", "schema", "output"),
        (*_DETECTOR_SETTINGS, "device"),
        inputs=("data", "schema"),
        outputs=("output",),
    ),
    "anomalies_score": StepType(
        _run_anomalies_score,
        ("data", "model"),
        ("output", "flagged", "report", "contamination", "threshold", "chunk_rows", "device"),
        inputs=("data", "model"),
        outputs=("output", "flagged", "report"),
    ),
}
