"""The step types of job specs; each step calls one job of :mod:`synthgen.jobs`.

Step types and their keys (``*`` = required):

* ``fit``: data*, schema*, output*, model, epochs, batch_size, seed, device, model_options,
  threads. Reuses an up-to-date model (see :mod:`synthgen.pipeline.fingerprint`).
* ``generate``: model*, rows*, output*, conditions (mapping or COL=VALUE list), seed, format,
  device.
* ``validate``: data*, schema*, output (the result as JSON, written even when validation
  fails). Fails with a DataError naming the failed expectations.
* ``evaluate``: real*, synthetic*, schema*, holdout, target, json, report, fail_under (mapping
  gate -> value; a failed gate fails the step after the reports are written), max_rows, seed.
* ``augment``: data*, model*, output*, and one of balance, rows or ratio (list of
  COL=VALUE:r, or mapping "COL=VALUE": r); seed, provenance (default true), format, device.
* ``anomalies_fit``: data*, schema*, output*, device, model_options and the detector's
  settings (epochs, batch_size, contamination, top_k, seed; hidden, bottleneck and members are
  model options, accepted here too). Reuses an up-to-date detector like ``fit``.
* ``anomalies_score``: data*, model*, and at least one of output (every row scored), flagged
  (only the flagged rows) and report (HTML); contamination or threshold; chunk_rows; device.
"""

from __future__ import annotations

import json
from typing import Any

from synthgen.errors import DataError, UsageError
from synthgen.jobs.augment import augment_to_file
from synthgen.jobs.conditions import parse_conditions
from synthgen.jobs.evaluate import evaluate_files, validate_file
from synthgen.jobs.fit import fit_to_file
from synthgen.jobs.generate import generate_to_file
from synthgen.jobs.screen import fit_detector_to_file, score_to_file
from synthgen.outputs import atomic_output
from synthgen.pipeline.fingerprint import compute_fingerprint, record_fingerprint, reuse, sidecar
from synthgen.pipeline.spec import RunContext, Step, StepResult, StepType, opt, str_list
from synthgen.schema import load_table_schema

# how a step names the parameters the jobs' messages refer to
NAMES = {"json_out": "json", "random_state": "seed", "model_path": "model", "ratios": "ratio"}


def _run_fit(step: Step, ctx: RunContext) -> StepResult:
    o = step.options
    schema = load_table_schema(o["schema"])
    settings = {
        "model": opt(step, "model", str, "vae"),
        "epochs": opt(step, "epochs", int),
        "batch_size": opt(step, "batch_size", int),
        "seed": opt(step, "seed", int, 0),
        "model_options": opt(step, "model_options", dict),
        "privacy": {
            "dp_epsilon": opt(step, "dp_epsilon", (int, float)),
            "dp_delta": opt(step, "dp_delta", (int, float)),
            "rare_values": opt(step, "rare_values", str),
            "rare_min_count": opt(step, "rare_min_count", int),
        },
    }
    fingerprint = compute_fingerprint(step, o["data"], schema, settings)
    outputs = [str(o["output"]), str(sidecar(o["output"]))]
    reused = reuse(step, ctx, fingerprint, outputs)
    if reused is not None:
        return reused
    summary = fit_to_file(
        o["data"],
        o["schema"],
        o["output"],
        device=opt(step, "device", str, "auto"),
        overwrite=True,
        progress=ctx.progress,
        threads=opt(step, "threads", int),
        **settings,
    )
    record_fingerprint(o["output"], fingerprint, step)
    details = {"reused": False, "fingerprint": fingerprint}
    details.update({k: summary.get(k) for k in ("epochs_run", "stopped_early", "fit_seconds")})
    if summary.get("privacy"):
        dp = summary["privacy"]
        details["privacy"] = {k: dp[k] for k in ("epsilon", "delta", "epsilon_spent")}
    return StepResult(step.name, step.type, "ok", outputs=outputs, details=details)


def _run_generate(step: Step, ctx: RunContext) -> StepResult:
    o = step.options
    result = generate_to_file(
        o["model"],
        opt(step, "rows", int),
        o["output"],
        fmt=opt(step, "format", str),
        conditions=parse_conditions(str_list(step, "conditions")),
        seed=opt(step, "seed", int),
        device=opt(step, "device", str, "auto"),
        overwrite=True,
        progress=ctx.progress,
    )
    details = {"rows": result["rows"], "validation": result["validation"]}
    return StepResult(step.name, step.type, "ok", outputs=[str(o["output"])], details=details)


def _run_validate(step: Step, ctx: RunContext) -> StepResult:
    o = step.options
    rows, result = validate_file(o["data"], o["schema"])
    doc = {"data": str(o["data"]), "rows": rows, **result.to_dict()}
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
    details = {"rows": rows, "statistics": result.statistics}
    return StepResult(step.name, step.type, "ok", outputs=outputs, details=details)


def _run_evaluate(step: Step, ctx: RunContext) -> StepResult:
    o = step.options
    outputs = [str(o[k]) for k in ("json", "report") if o.get(k) is not None]
    doc = evaluate_files(
        o["real"],
        o["synthetic"],
        o["schema"],
        holdout=o.get("holdout"),
        target=opt(step, "target", str),
        report=o.get("report"),
        json_out=o.get("json"),
        fail_under=str_list(step, "fail_under"),
        overwrite=True,
        seed=opt(step, "seed", int, 0),
        max_rows=opt(step, "max_rows", int),
        progress=ctx.progress,
    )
    details = {"summary": dict(doc["summary"]), "gates": doc["gates"]}
    return StepResult(step.name, step.type, "ok", outputs=outputs, details=details)


def _run_augment(step: Step, ctx: RunContext) -> StepResult:
    o = step.options
    ratio = o.get("ratio")
    if isinstance(ratio, dict):
        ratio = [f"{k}:{v}" for k, v in ratio.items()]
    elif ratio is not None:
        ratio = str_list(step, "ratio")
    result = augment_to_file(
        o["data"],
        o["model"],
        o["output"],
        balance=opt(step, "balance", str),
        rows=opt(step, "rows", int),
        ratios=ratio,
        fmt=opt(step, "format", str),
        seed=opt(step, "seed", int),
        provenance=opt(step, "provenance", bool, True),
        device=opt(step, "device", str, "auto"),
        overwrite=True,
        progress=ctx.progress,
    )
    keep = ("rows", "real_rows", "synthetic_rows", "added", "counts_before", "counts_after")
    details = {k: result[k] for k in keep}
    return StepResult(step.name, step.type, "ok", outputs=[str(o["output"])], details=details)


_DETECTOR_PARAMS = ("epochs", "batch_size", "contamination", "top_k", "seed")
_DETECTOR_OPTIONS = ("hidden", "bottleneck", "members")


def _run_anomalies_fit(step: Step, ctx: RunContext) -> StepResult:
    o = step.options
    schema = load_table_schema(o["schema"])
    params = {k: o[k] for k in _DETECTOR_PARAMS if o.get(k) is not None}
    options = dict(opt(step, "model_options", dict) or {})
    options.update({k: o[k] for k in _DETECTOR_OPTIONS if o.get(k) is not None})
    settings = {**params, **({"model_options": options} if options else {})}
    fingerprint = compute_fingerprint(step, o["data"], schema, settings)
    outputs = [str(o["output"]), str(sidecar(o["output"]))]
    reused = reuse(step, ctx, fingerprint, outputs)
    if reused is not None:
        return reused
    seed = params.pop("seed", 0)
    try:
        detector = fit_detector_to_file(
            o["data"],
            o["schema"],
            o["output"],
            seed=seed,
            device=opt(step, "device", str, "auto"),
            overwrite=True,
            progress=ctx.progress,
            model_options=options or None,
            **params,
        )
    except TypeError as err:
        raise UsageError(f"Step '{step.name}': bad detector setting ({err}).") from None
    record_fingerprint(o["output"], fingerprint, step)
    training = getattr(detector, "training_", {}) or {}
    details: dict[str, Any] = {"reused": False, "fingerprint": fingerprint}
    details.update({k: training.get(k) for k in ("rows", "epochs_run", "steps")})
    details["fit_seconds"] = detector.fit_seconds_
    return StepResult(step.name, step.type, "ok", outputs=outputs, details=details)


def _run_anomalies_score(step: Step, ctx: RunContext) -> StepResult:
    o = step.options
    targets = {k: o[k] for k in ("output", "flagged", "report") if o.get(k) is not None}
    if not targets:
        raise UsageError(f"Step '{step.name}' writes nothing; give output, flagged and/or report.")
    summary = score_to_file(
        o["data"],
        o["model"],
        output=o.get("output"),
        flagged=o.get("flagged"),
        report=o.get("report"),
        contamination=opt(step, "contamination", (float, int)),
        threshold=opt(step, "threshold", (float, int)),
        overwrite=True,
        chunk_rows=opt(step, "chunk_rows", int, 50_000),
        device=opt(step, "device", str, "auto"),
        progress=ctx.progress,
    )
    details = {
        "rows": summary.rows,
        "flagged": summary.flagged,
        "threshold": summary.threshold,
        "rule": summary.threshold_rule,
    }
    outputs = [str(p) for p in targets.values()]
    return StepResult(step.name, step.type, "ok", outputs=outputs, details=details)


STEP_TYPES: dict[str, StepType] = {
    "fit": StepType(
        _run_fit,
        ("data", "schema", "output"),
        (
            "model",
            "epochs",
            "batch_size",
            "seed",
            "device",
            "model_options",
            "threads",
            "dp_epsilon",
            "dp_delta",
            "rare_values",
            "rare_min_count",
        ),
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
        (*_DETECTOR_PARAMS, *_DETECTOR_OPTIONS, "model_options", "device"),
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
