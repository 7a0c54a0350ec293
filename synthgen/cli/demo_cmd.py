"""``synthgen demo``: fit, generate and evaluate on data embedded in the package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from synthgen.cli.options import Overwrite, Quiet, Threads

console = Console(stderr=True)


def demo(
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", metavar="DIR", help="Folder for the files.")
    ] = Path("synthgen-demo"),
    kind: Annotated[
        str, typer.Option("--kind", "-k", metavar="KIND", help="Model kind: vae, cgan or ar.")
    ] = "vae",
    model: Annotated[str | None, typer.Option("--model", "-m", hidden=True)] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs", metavar="N", help="Most epochs (default: planned).", show_default=False
        ),
    ] = None,
    data_only: Annotated[
        bool,
        typer.Option(
            "--data-only",
            help="Only write the example files the --help examples use (census table and "
            "schema, digit images and schema), made without any download.",
            show_default=False,
        ),
    ] = False,
    threads: Threads = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Fit, generate and evaluate on a small census table embedded in the package.

    \b
    Examples:
      synthgen demo -o demo-out
      synthgen demo --data-only -o examples
    """
    from synthgen.jobs.demo import run_demo, write_example_data

    if data_only:
        written = write_example_data(output_dir, overwrite=overwrite)
        console.print(f"[green]wrote[/] {', '.join(str(p) for p in written)}")
        return
    run_demo(
        output_dir,
        model=model or kind,
        overwrite=overwrite,
        epochs=epochs,
        threads=threads,
        progress=not quiet,
    )


def register(app: typer.Typer) -> None:
    """Add demo to the synthgen app."""
    app.command("demo", short_help="Fit, generate and evaluate on embedded data.")(demo)
