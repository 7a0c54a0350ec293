"""``synthgen evaluate``: fidelity, utility, privacy and validity of a synthetic table, or
fidelity, conditional accuracy and TSTR of synthetic images (for an image schema)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from synthgen.schema import ImageSchema


def evaluate_cmd(
    real: Path = typer.Option(
        ...,
        "--real",
        help="Real (training) table: .csv, .parquet, .jsonl; images: .npz or a PNG folder.",
    ),
    synthetic: Path = typer.Option(..., "--synthetic", help="Synthetic table or images."),
    schema_path: Path = typer.Option(..., "--schema", help="Schema file (YAML or JSON)."),
    holdout: Path | None = typer.Option(
        None, "--holdout", help="Real rows the generator never saw (utility test set, DCR)."
    ),
    target: str | None = typer.Option(
        None, "--target", help="Target column for TSTR/TRTR (default: the schema's target)."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Write a self-contained HTML report."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the metrics as JSON."),
    fail_under: list[str] | None = typer.Option(
        None,
        "--fail-under",
        metavar="NAME=VALUE",
        help="Gate (repeatable): exit 3 when a figure is below VALUE (above it for *_max "
        "gates). Names: shapes, trends, quality, tstr_ratio, detection, nndr, validity, "
        "detection_auc_max, dcr_share_max, exact_copies_max, mmd_max, ...; for images: "
        "conditional_accuracy, tstr, tstr_ratio, precision, recall, frechet_max, fid_max.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    seed: int = typer.Option(0, "--seed", help="Seed for subsampling and the models."),
    max_rows: int | None = typer.Option(
        None,
        "--max-rows",
        min=10,
        help="Subsample each table to at most this many rows (default 30,000), each image set "
        "to at most this many images (default 10,000).",
        show_default=False,
    ),
    inception_weights: Path | None = typer.Option(
        None,
        "--inception-weights",
        help="Images only: local safetensors file of Inception-v3 weights (torchvision key "
        "names) for an Inception FID; converted once, never downloaded (see "
        "synthgen/images/inception.py).",
    ),
    epochs: int | None = typer.Option(
        None, "--epochs", min=1, help="Images only: epochs of the evaluation CNNs (default 4)."
    ),
    device: str | None = typer.Option(
        None, "--device", help="Images only: auto, cpu or cuda for the evaluation CNNs (auto)."
    ),
) -> None:
    """Evaluate SYNTHETIC against REAL: column shapes and pair trends (as SDMetrics defines
    them), distances and MMD; TSTR vs TRTR and detection; exact copies, DCR and NNDR; the
    schema's great-expectations suite. Reports and JSON are written even when a gate fails.

    Example: synthgen evaluate --real train.csv --synthetic synth.csv --schema adult.yaml
    --holdout test.csv --report report.html --json metrics.json --fail-under quality=0.8
    --fail-under dcr_share_max=0.6

    Image schemas: --real, --synthetic and --holdout are .npz files or PNG folders; a CNN
    trained on the real images gives the feature space for a Fréchet distance and
    precision/recall (with the real-vs-real floor), conditional accuracy and TSTR vs TRTR.
    Gates: conditional_accuracy, tstr, tstr_ratio, precision, recall, frechet_max, fid_max.
    """
    from synthgen.core.gates import check_gates, enforce, parse_gates
    from synthgen.outputs import atomic_output, check_output
    from synthgen.schema import ImageSchema, load_schema
    from synthgen.tabular.io.read import read_table

    schema = load_schema(schema_path)
    if isinstance(schema, ImageSchema):
        _evaluate_images(
            real,
            synthetic,
            schema,
            schema_path,
            holdout=holdout,
            target=target,
            report=report,
            json_out=json_out,
            fail_under=fail_under,
            overwrite=overwrite,
            seed=seed,
            max_images=max_rows,
            inception_weights=inception_weights,
            epochs=epochs,
            device=device,
        )
        return
    max_rows = 30_000 if max_rows is None else max_rows
    for option, value in (
        ("--inception-weights", inception_weights),
        ("--epochs", epochs),
        ("--device", device),
    ):
        if value is not None:
            from synthgen.errors import UsageError

            raise UsageError(f"{option} applies to image schemas only; {schema_path} is a table.")
    gates = parse_gates(fail_under)
    inputs = [p for p in (real, synthetic, schema_path, holdout) if p is not None]
    outputs = [p for p in (report, json_out) if p is not None]
    if report is not None and json_out is not None and report.resolve() == json_out.resolve():
        from synthgen.errors import UsageError

        raise UsageError("--report and --json name the same file; give two paths.")
    for out in outputs:
        check_output(out, overwrite=overwrite, inputs=inputs)

    def read(path: Path):
        return read_table(path, schema, strict_values=False)

    from synthgen.tabular.evaluate.evaluation import run_evaluation

    ev = run_evaluation(
        read(real),
        read(synthetic),
        schema,
        holdout=None if holdout is None else read(holdout),
        target=target,
        max_rows=max_rows,
        seed=seed,
    )
    ev.doc["gates"] = check_gates(ev.doc["summary"], gates)
    if json_out is not None:
        from synthgen.tabular.evaluate.report import write_json

        with atomic_output(json_out, overwrite=overwrite, inputs=inputs) as tmp:
            write_json(ev.doc, tmp)
    if report is not None:
        from synthgen.tabular.evaluate.report import write_html

        with atomic_output(report, overwrite=overwrite, inputs=inputs) as tmp:
            write_html(ev, tmp)
    _print_summary(ev.doc, outputs)
    enforce(ev.doc["gates"])


def _evaluate_images(
    real: Path,
    synthetic: Path,
    schema: ImageSchema,
    schema_path: Path,
    *,
    holdout: Path | None,
    target: str | None,
    report: Path | None,
    json_out: Path | None,
    fail_under: list[str] | None,
    overwrite: bool,
    seed: int,
    max_images: int | None,
    inception_weights: Path | None,
    epochs: int | None,
    device: str | None,
) -> None:
    """``synthgen evaluate`` on an image schema: read, evaluate, write JSON/HTML, gate."""
    from synthgen.errors import UsageError
    from synthgen.images.evaluate.evaluation import (
        DEFAULT_MAX_IMAGES,
        check_image_gates,
        enforce_image_gates,
        parse_image_gates,
        run_image_evaluation,
    )
    from synthgen.images.evaluate.report import write_image_html
    from synthgen.images.io.read import read_images
    from synthgen.outputs import atomic_output, check_output
    from synthgen.tabular.evaluate.report import write_json

    if target is not None:
        raise UsageError(
            f"--target applies to tables; image schema '{schema.name}' is evaluated against "
            "its label."
        )
    gates = parse_image_gates(fail_under)
    inputs = [p for p in (real, synthetic, schema_path, holdout, inception_weights) if p]
    outputs = [p for p in (report, json_out) if p is not None]
    if report is not None and json_out is not None and report.resolve() == json_out.resolve():
        raise UsageError("--report and --json name the same file; give two paths.")
    for out in outputs:
        check_output(out, overwrite=overwrite, inputs=inputs)
    ev = run_image_evaluation(
        read_images(real, schema, source_label="Real data"),
        read_images(synthetic, schema, source_label="Synthetic data"),
        schema,
        holdout=None if holdout is None else read_images(holdout, schema, source_label="Holdout"),
        seed=seed,
        inception_weights=inception_weights,
        epochs=epochs,
        max_images=DEFAULT_MAX_IMAGES if max_images is None else max_images,
        device="auto" if device is None else device,
        progress=True,
    )
    ev.doc["gates"] = check_image_gates(ev.doc, gates)
    if json_out is not None:
        with atomic_output(json_out, overwrite=overwrite, inputs=inputs) as tmp:
            write_json(ev.doc, tmp)
    if report is not None:
        with atomic_output(report, overwrite=overwrite, inputs=inputs) as tmp:
            write_image_html(ev, tmp)
    _print_summary(ev.doc, outputs)
    enforce_image_gates(ev.doc["gates"])


def _print_summary(doc: dict, outputs: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    gates = {g["metric"]: g for g in doc["gates"]}
    table = Table(title=f"synthgen evaluate: {doc['schema']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("gate")
    for key, value in doc["summary"].items():
        shown = (
            "-" if value is None else (f"{value:.4f}" if isinstance(value, float) else str(value))
        )
        gate = gates.get(key)
        verdict = ""
        if gate is not None:
            sign = "<=" if gate["bound"] == "max" else ">="
            verdict = (
                f"[green]pass[/] ({sign} {gate['threshold']:g})"
                if gate["passed"]
                else f"[red]FAIL[/] ({sign} {gate['threshold']:g})"
            )
        table.add_row(key, shown, verdict)
    console = Console()
    console.print(table)
    for out in outputs:
        console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``synthgen evaluate`` to the synthgen app."""
    app.command("evaluate")(evaluate_cmd)
