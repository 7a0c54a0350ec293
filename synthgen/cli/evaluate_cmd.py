"""``synthgen evaluate``: fidelity, utility, privacy and validity of a synthetic table, or
fidelity, conditional accuracy and TSTR of synthetic images (for an image schema)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthgen.cli.options import Overwrite, Quiet, SchemaFile, Seed
from synthgen.outputs import require_file


def evaluate_cmd(
    real: Annotated[
        Path,
        typer.Option(
            "--real",
            metavar="REAL",
            help="Real (training) table: .csv, .parquet, .jsonl; images: .npz or a PNG folder.",
        ),
    ],
    synthetic: Annotated[
        Path, typer.Option("--synthetic", metavar="SYNTH", help="Synthetic table or images.")
    ],
    schema_path: SchemaFile,
    holdout: Annotated[
        Path | None,
        typer.Option(
            "--holdout",
            metavar="TEST",
            help="Real rows the generator never saw (utility test set, DCR).",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="COL",
            help="Target column for TSTR/TRTR (default: the schema's target).",
            show_default=False,
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="HTML",
            help="Write a self-contained HTML report.",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json", metavar="JSON", help="Write the metrics as JSON.", show_default=False
        ),
    ] = None,
    fail_under: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-under",
            metavar="NAME=VALUE",
            help="Gate (repeatable): exit 3 when a figure is below VALUE (above it for *_max "
            "gates). Tables: shapes, trends, quality, tstr_ratio, detection, nndr, validity, "
            "detection_auc_max, dcr_share_max, exact_copies_max, mmd_max, singling_out_risk_max, "
            "linkability_risk_max, inference_risk_max, rare_in_train_max. Images: "
            "conditional_accuracy, tstr, tstr_ratio, precision, recall, frechet_max, fid_max.",
            show_default=False,
        ),
    ] = None,
    max_rows: Annotated[
        int | None,
        typer.Option(
            "--max-rows",
            min=10,
            metavar="N",
            help="Subsample each table to at most N rows (default 30,000), each image set to "
            "at most N images (default 10,000).",
            show_default=False,
        ),
    ] = None,
    inception_weights: Annotated[
        Path | None,
        typer.Option(
            "--inception-weights",
            metavar="FILE",
            help="Images only: local safetensors file of Inception-v3 weights (torchvision key "
            "names) for an Inception FID; never downloaded.",
            show_default=False,
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs",
            min=1,
            metavar="N",
            help="Images only: epochs of the evaluation CNNs (default 4).",
            show_default=False,
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(
            "--device",
            metavar="auto|cpu|cuda",
            help="Images only: where the evaluation CNNs run (default auto).",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            metavar="MODEL",
            help="Tables: the model file SYNTH came from; its privacy record (DP accounting, "
            "value protection) goes into the report and JSON.",
            show_default=False,
        ),
    ] = None,
    seed: Seed = 0,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Evaluate SYNTH against REAL: column shapes and pair trends (as SDMetrics defines
    them), distances and MMD; TSTR vs TRTR and detection; exact copies, DCR and NNDR; the
    singling-out, linkability and inference attacks with the holdout as control (risks with
    95% intervals); rare training values reproduced; the schema's great-expectations suite.
    Reports and JSON are written even when a gate fails.

    Images: a CNN trained on the real images gives the feature space for a Fréchet distance and
    precision/recall (with the real-vs-real floor), conditional accuracy and TSTR vs TRTR.

    \b
    Examples:
      synthgen evaluate --real train.csv --synthetic synthetic.csv --schema adult.yaml \\
          --holdout test.csv --report report.html --json metrics.json --fail-under quality=0.5
      synthgen evaluate --real train.npz --synthetic digits.npz --schema mnist.yaml \\
          --report digits.html
    """
    for path, what in ((real, "Data file"), (synthetic, "Data file"), (schema_path, "Schema file")):
        require_file(path, what)
    if model is not None:
        require_file(model, "Model file")  # cheap checks first: the heavy imports take seconds
    from synthgen.errors import GateFailed
    from synthgen.jobs.evaluate import evaluate_files

    try:
        doc = evaluate_files(
            real,
            synthetic,
            schema_path,
            holdout=holdout,
            target=target,
            report=report,
            json_out=json_out,
            fail_under=fail_under,
            overwrite=overwrite,
            seed=seed,
            max_rows=max_rows,
            inception_weights=inception_weights,
            epochs=epochs,
            device=device,
            progress=not quiet,
            model=model,
        )
    except GateFailed as failed:
        _print_summary(failed.document, [p for p in (report, json_out) if p is not None])
        raise
    _print_summary(doc, [p for p in (report, json_out) if p is not None])


def _print_summary(doc: dict | None, outputs: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    if doc is None:
        return
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
    app.command("evaluate", short_help="Evaluate synthetic data against real data.")(evaluate_cmd)
