"""``synthgen evaluate``: fidelity, utility, privacy and validity of a synthetic table."""

from __future__ import annotations

from pathlib import Path

import typer


def evaluate_cmd(
    real: Path = typer.Option(..., "--real", help="Real (training) table: .csv, .parquet, .jsonl."),
    synthetic: Path = typer.Option(..., "--synthetic", help="Synthetic table to evaluate."),
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
        "detection_auc_max, dcr_share_max, exact_copies_max, mmd_max, ...",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    seed: int = typer.Option(0, "--seed", help="Seed for subsampling and the models."),
    max_rows: int = typer.Option(
        30_000, "--max-rows", min=10, help="Subsample each table to at most this many rows."
    ),
) -> None:
    """Evaluate SYNTHETIC against REAL: column shapes and pair trends (as SDMetrics defines
    them), distances and MMD; TSTR vs TRTR and detection; exact copies, DCR and NNDR; the
    schema's great-expectations suite. Reports and JSON are written even when a gate fails.

    Example: synthgen evaluate --real train.csv --synthetic synth.csv --schema adult.yaml
    --holdout test.csv --report report.html --json metrics.json --fail-under quality=0.8
    --fail-under dcr_share_max=0.6
    """
    from synthgen.evaluate.gates import check_gates, enforce, parse_gates
    from synthgen.io import read_table
    from synthgen.outputs import atomic_output, check_output
    from synthgen.schema import TableSchema, load_schema

    gates = parse_gates(fail_under)
    inputs = [p for p in (real, synthetic, schema_path, holdout) if p is not None]
    outputs = [p for p in (report, json_out) if p is not None]
    if report is not None and json_out is not None and report.resolve() == json_out.resolve():
        from synthgen.errors import UsageError

        raise UsageError("--report and --json name the same file; give two paths.")
    for out in outputs:
        check_output(out, overwrite=overwrite, inputs=inputs)
    schema = load_schema(schema_path)
    if not isinstance(schema, TableSchema):
        from synthgen.errors import UsageError

        raise UsageError(f"Schema {schema_path} describes images; synthgen evaluate reads tables.")

    def read(path: Path):
        return read_table(path, schema, strict_values=False)

    from synthgen.evaluate.api import run_evaluation

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
        from synthgen.evaluate.report import write_json

        with atomic_output(json_out, overwrite=overwrite, inputs=inputs) as tmp:
            write_json(ev.doc, tmp)
    if report is not None:
        from synthgen.evaluate.report import write_html

        with atomic_output(report, overwrite=overwrite, inputs=inputs) as tmp:
            write_html(ev, tmp)
    _print_summary(ev.doc, outputs)
    enforce(ev.doc["gates"])


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
