"""``synthgen augment``: real rows plus synthetic rows made by exact conditional generation."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from synthgen.cli.options import FileSeed

console = Console(stderr=True)


def augment(
    data: Path = typer.Argument(
        ..., metavar="DATA", help="Real table to augment (CSV, Parquet or JSONL)."
    ),
    model: Path = typer.Option(
        ..., "--model", "-m", metavar="MODEL", help="Model file written by synthgen fit."
    ),
    balance: str | None = typer.Option(
        None,
        "--balance",
        metavar="COL",
        help="Bring every class of COL up to the majority class's count.",
    ),
    rows: int | None = typer.Option(
        None, "--rows", "-n", metavar="N", help="Add N synthetic rows drawn without conditions."
    ),
    ratio: list[str] | None = typer.Option(
        None,
        "--ratio",
        metavar="COL=VALUE:r",
        help="COL=VALUE:r adds round(r x count(VALUE)) rows with COL=VALUE (repeatable).",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="OUT",
        help="Output file (default: DATA-stem.augmented + DATA suffix).",
    ),
    seed: FileSeed = None,
    no_provenance: bool = typer.Option(
        False, "--no-provenance", help="Leave out the boolean _synthetic column."
    ),
    device: str = typer.Option(
        "auto", "--device", metavar="auto|cpu|cuda", help="Where to compute."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Write DATA's rows plus synthetic rows from MODEL, with a _synthetic column.

    \b
    Examples:
      synthgen augment train.csv --model adult.synth --balance income -o balanced.csv
      synthgen augment train.csv --model adult.synth --ratio 'income=>50K:0.5' -o more.csv
    """
    from synthgen.jobs.augment import augment_to_file

    out = output or data.with_name(f"{data.stem}.augmented{data.suffix or '.csv'}")
    result = augment_to_file(
        data,
        model,
        out,
        balance=balance,
        rows=rows,
        ratios=ratio,
        seed=seed,
        provenance=not no_provenance,
        device=device,
        overwrite=overwrite,
        progress=not quiet,
    )
    added = ", ".join(f"{k}: +{v}" for k, v in result["added"].items()) or "nothing to add"
    console.print(
        f"[green]wrote[/] {result['rows']} rows to {out} ({result['real_rows']} real, "
        f"{result['synthetic_rows']} synthetic; {added})"
    )


def register(app: typer.Typer) -> None:
    """Add ``synthgen augment`` to the synthgen app."""
    app.command("augment", short_help="Add synthetic rows to a real table.")(augment)
