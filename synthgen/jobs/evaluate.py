"""Evaluate synthetic data against real data from files: tables or images, JSON and HTML
reports, gates (exit 3 when one fails, after the reports are written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.core.estimator import check_seed
from synthgen.core.html import write_json
from synthgen.errors import UsageError, param
from synthgen.images.evaluate.evaluation import DEFAULT_MAX_IMAGES, run_image_evaluation
from synthgen.images.evaluate.gates import enforce_image_gates, parse_image_gates
from synthgen.images.evaluate.report import write_image_html
from synthgen.jobs.kinds import model_summary, read_data, schema_of
from synthgen.outputs import atomic_output, check_output
from synthgen.schema import ImageSchema, load_table_schema
from synthgen.tabular.evaluate.evaluation import DEFAULT_MAX_ROWS, run_evaluation
from synthgen.tabular.evaluate.gates import enforce_table_gates, gate_results, parse_table_gates
from synthgen.tabular.evaluate.report import write_html
from synthgen.tabular.evaluate.validity import validate_synthetic

TABLE_ONLY = ("target",)
IMAGE_ONLY = ("inception_weights", "epochs", "device")


def evaluate_files(
    real: str | Path,
    synthetic: str | Path,
    schema_path: str | Path,
    *,
    holdout: str | Path | None = None,
    target: str | None = None,
    report: str | Path | None = None,
    json_out: str | Path | None = None,
    fail_under: list[str] | None = None,
    overwrite: bool = False,
    seed: int = 0,
    max_rows: int | None = None,
    inception_weights: str | Path | None = None,
    epochs: int | None = None,
    device: str | None = None,
    progress: bool = True,
    model: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluate ``synthetic`` against ``real`` (and ``holdout``); write ``json_out`` and
    ``report``; raise GateFailed when a ``fail_under`` gate fails. Returns the document.

    ``model``: the model file the synthetic rows came from; its privacy record (differential
    privacy accounting, value protection) goes into the document and the report."""
    check_seed(seed, "seed")
    schema = schema_of(schema_path)
    image = isinstance(schema, ImageSchema)
    given = {"target": target, "inception_weights": inception_weights, "epochs": epochs}
    given["device"] = device
    wrong = [k for k in (TABLE_ONLY if image else IMAGE_ONLY) if given[k] is not None]
    if wrong:
        what = "table" if image else "image"
        raise UsageError(
            f"{param(wrong[0])} applies to {what} schemas only; {schema_path} describes "
            f"{'images' if image else 'a table'}.",
            param=wrong[0],
        )
    gates = parse_image_gates(fail_under) if image else parse_table_gates(fail_under)
    inputs = [Path(p) for p in (real, synthetic, schema_path, holdout, inception_weights) if p]
    outputs = [Path(p) for p in (report, json_out) if p is not None]
    if len(outputs) == 2 and outputs[0].resolve() == outputs[1].resolve():
        raise UsageError(
            f"{param('report')} and {param('json_out')} name the same file; give two paths.",
            param="json_out",
        )
    for out in outputs:
        check_output(out, overwrite=overwrite, inputs=inputs)
    model_privacy = None
    if model is not None:
        model_privacy = model_summary(model).get("privacy") or None
        inputs.append(Path(model))
    if image:
        ev = run_image_evaluation(
            read_data(real, schema, source="Real data"),
            read_data(synthetic, schema, source="Synthetic data"),
            schema,
            holdout=None if holdout is None else read_data(holdout, schema, source="Holdout"),
            seed=seed,
            inception_weights=inception_weights,
            epochs=epochs,
            max_images=DEFAULT_MAX_IMAGES if max_rows is None else max_rows,
            device="auto" if device is None else device,
            progress=progress,
        )
        writer = write_image_html
    else:

        def read(path: str | Path):
            return read_data(path, schema, strict_values=False)

        ev = run_evaluation(
            read(real),
            read(synthetic),
            schema,
            holdout=None if holdout is None else read(holdout),
            target=target,
            max_rows=DEFAULT_MAX_ROWS if max_rows is None else max_rows,
            seed=seed,
            progress=progress,
        )
        writer = write_html
    if model is not None:
        ev.doc["model_privacy"] = model_privacy
    ev.doc["gates"] = gate_results(ev.doc["summary"], gates)
    if json_out is not None:
        with atomic_output(json_out, overwrite=overwrite, inputs=inputs) as tmp:
            write_json(ev.doc, tmp)
    if report is not None:
        with atomic_output(report, overwrite=overwrite, inputs=inputs) as tmp:
            writer(ev, tmp)
    (enforce_image_gates if image else enforce_table_gates)(ev.doc["gates"], ev.doc)
    return ev.doc


def evaluate_frames(real: Any, synthetic: Any, schema: Any, **kw: Any) -> dict[str, Any]:
    """The metrics document of in-memory tables (see ``synthgen.evaluate``)."""
    return run_evaluation(real, synthetic, schema, **kw).doc


def validate_file(data: str | Path, schema_path: str | Path) -> tuple[int, Any]:
    """Check a table file's types and structure against its schema, then run the schema's
    great-expectations suite on it; (rows, result)."""
    schema = load_table_schema(schema_path)
    frame = read_data(data, schema, strict_values=False)
    return len(frame), validate_synthetic(frame, schema)
