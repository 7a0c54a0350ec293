"""The ``synthgen`` command: thin Typer commands over :mod:`synthgen.jobs`.

Every SynthgenError raised below a command is caught here, at one boundary, and printed as one
paragraph on stderr with its exit code, its parameters named as this face names them (flags);
no traceback. Ctrl-C, SIGTERM and SIGHUP unwind the same way, so outputs in progress are
removed (exit 130, 143 and 129).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from synthgen._version import __version__
from synthgen.cli.words import print_error
from synthgen.errors import SynthgenError
from synthgen.outputs import hold_signal

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# OpenMP threads that wait passively do not spin against other busy processes (a fit on a
# shared machine ran three times faster); set before torch is imported, below this module
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C (outputs in progress are removed)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: object) -> None:
    if hold_signal(signum):  # a temp output is being named: raised as soon as it is
        return
    # a second SIGTERM/SIGHUP (an impatient supervisor) must not interrupt the clean-up the
    # first one started; SIGKILL still ends the process at once
    for sig in _SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


_SIGNALS = tuple(s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)


class _ErrorBoundary(TyperGroup):
    """Top-level group that turns domain errors into a message and an exit code."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except SynthgenError as err:
            print_error(err)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            print_error(_stopped("Interrupted"))
            ctx.exit(130)
        except Terminated as sig:
            name = signal.Signals(sig.signum).name
            print_error(_stopped(f"Stopped by {name}"))
            ctx.exit(128 + sig.signum)


def _stopped(what: str) -> str:
    return (
        f"{what}; outputs in progress were removed (a fit's checkpoint OUTPUT.ckpt is kept for "
        "--resume)."
    )


app = typer.Typer(
    rich_markup_mode=None,
    cls=_ErrorBoundary,
    name="synthgen",
    help="Synthetic tabular and image data: fit, generate, evaluate, screen for anomalies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"synthgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Synthetic tabular and image data: fit, generate, evaluate, screen for anomalies."""


def _register() -> None:
    from synthgen.cli import (
        anomaly_cmd,
        augment_cmd,
        demo_cmd,
        evaluate_cmd,
        info_cmd,
        model_cmd,
        pipeline_cmd,
        schema_cmd,
        serve_cmd,
    )

    for module in (
        schema_cmd,
        model_cmd,
        demo_cmd,
        info_cmd,
        evaluate_cmd,
        anomaly_cmd,
        serve_cmd,
        augment_cmd,
        pipeline_cmd,
    ):
        module.register(app)


_register()


def _on_interrupt(signum: int, frame: object) -> None:
    if hold_signal(signum):
        return
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point: SIGTERM/SIGHUP unwind like Ctrl-C."""
    for sig in _SIGNALS:
        signal.signal(sig, _on_signal)
    signal.signal(signal.SIGINT, _on_interrupt)
    sys.exit(app())


if __name__ == "__main__":
    main()
