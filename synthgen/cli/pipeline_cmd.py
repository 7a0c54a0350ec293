"""``synthgen pipeline run``: run a YAML job spec step by step."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)

pipeline = typer.Typer(
    rich_markup_mode=None,
    name="pipeline",
    help="Run YAML job specs (fit, generate, validate, evaluate, augment, anomaly screening).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_STYLE = {"ok": "green", "reused": "cyan", "failed": "red", "interrupted": "red"}


@pipeline.command("run", short_help="Run a job spec.")
def run_cmd(
    spec: Path = typer.Argument(
        ..., metavar="SPEC", help="Job spec (YAML); its paths are relative to it."
    ),
    force: bool = typer.Option(
        False, "--force", help="Refit models even when their fingerprint is up to date."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Run every step of a job spec in order; a failed step stops the run (exit 1, or 3 for a
    failed gate) and names the step. A run summary JSON is written in every case.

    \b
    Example:
      synthgen pipeline run spec.yaml
    """
    from synthgen.pipeline import StepResult, load_spec, run_pipeline

    spec_doc = load_spec(spec)

    def show(result: StepResult) -> None:
        style = _STYLE.get(result.status, "white")
        console.print(
            f"[{style}]{result.status:>7}[/] {result.name} ({result.type}) {result.seconds:.1f} s"
        )

    summary = run_pipeline(spec, force=force, progress=not quiet, on_step=show)
    console.print(
        f"[green]pipeline {summary['pipeline']} done[/] in {summary['seconds']:.1f} s; "
        f"summary: {spec_doc.summary}"
    )


def register(app: typer.Typer) -> None:
    """Add the ``pipeline`` group to the synthgen app."""
    app.add_typer(pipeline, name="pipeline", short_help="Run YAML job specs.")
