"""The ``synthgen`` command: thin Typer commands over the Python API.

Every SynthgenError raised below a command is caught here, at one boundary, and printed as one
paragraph on stderr with its exit code; no traceback, no local variables.
"""

from __future__ import annotations

import os
import sys
import textwrap

import typer
from typer.core import TyperGroup

from synthgen.errors import SynthgenError

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


class _ErrorBoundary(TyperGroup):
    """Top-level group that turns domain errors into a message and an exit code."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except SynthgenError as err:
            _print_error(err.message)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            _print_error("Interrupted; no partial output was left behind.")
            ctx.exit(130)


def _print_error(message: str) -> None:
    width = 100
    text = textwrap.fill(
        f"Error: {message}", width=width, break_on_hyphens=False, break_long_words=False
    )
    typer.echo(text, err=True)


app = typer.Typer(
    cls=_ErrorBoundary,
    name="synthgen",
    help="Synthetic tabular and image data: fit, generate, evaluate, screen for anomalies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    from synthgen.cli import (
        anomaly_cmd,
        augment_cmd,
        evaluate_cmd,
        model_cmd,
        pipeline_cmd,
        schema_cmd,
        serve_cmd,
    )

    for module in (
        schema_cmd,
        model_cmd,
        evaluate_cmd,
        anomaly_cmd,
        serve_cmd,
        augment_cmd,
        pipeline_cmd,
    ):
        module.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())


if __name__ == "__main__":
    main()
