"""Running a job spec: every step in order; a failed step stops the run (its error names the
step); the run summary is written in every case."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from synthgen.device import thread_limit
from synthgen.errors import SynthgenError
from synthgen.outputs import atomic_output, make_folder
from synthgen.pipeline.spec import PipelineSpec, RunContext, Step, StepResult
from synthgen.pipeline.spec import load_spec as _load_spec
from synthgen.pipeline.steps import NAMES, STEP_TYPES

SUMMARY_FORMAT = "synthgen.pipeline-run/1"


def load_spec(path: str | Path) -> PipelineSpec:
    """Read and check a job spec; every key of every step is checked before anything runs."""
    return _load_spec(path, STEP_TYPES)


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
    with thread_limit(spec.threads):
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
            f"step {failed_step.index} of {len(spec.steps)}): {failure.render(NAMES)} Outputs of "
            f"earlier steps are kept; the run summary is in {spec.summary}."
        )
        err = type(failure)(message, param=failure.param)
        err.exit_code = failure.exit_code
        raise err from None
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
            make_folders(step)
            done = STEP_TYPES[step.type].run(step, ctx)
            result.status, result.outputs, result.details = done.status, done.outputs, done.details
        except BaseException as err:  # noqa: BLE001 - recorded, then re-raised by the caller
            result.status = "failed" if not isinstance(err, KeyboardInterrupt) else "interrupted"
            result.error = err.render(NAMES) if isinstance(err, SynthgenError) else repr(err)
            failure = err
        result.seconds = round(time.perf_counter() - t0, 3)
        if on_step is not None:
            on_step(result)
        if failure is not None:
            return failure, step
    return None, None


def make_folders(step: Step) -> None:
    for key in STEP_TYPES[step.type].outputs:
        target = step.options.get(key)
        if target is not None:
            make_folder(target.parent)


def _write_summary(path: Path, summary: dict[str, Any]) -> None:
    make_folder(path.parent)
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
