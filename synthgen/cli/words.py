"""How the CLI words library errors: parameters named as flags, one paragraph on stderr."""

from __future__ import annotations

import shutil
import textwrap

import typer

from synthgen.errors import SynthgenError

# API parameter -> the flag that sets it (others: --name-with-dashes)
FLAGS = {
    "model": "--kind",
    "model_path": "--model",
    "model_options": "--model-option",
    "conditions": "--condition",
    "random_state": "--seed",
    "json_out": "--json",
    "provenance": "--no-provenance",
    "ratios": "--ratio",
    "data": "DATA",
    "output": "--output",
}


def flag(name: str) -> str:
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def worded(err: SynthgenError | str) -> str:
    """The message with every parameter reference worded as its flag."""
    return err.render(flag) if isinstance(err, SynthgenError) else err


def print_error(err: SynthgenError | str) -> None:
    """``Error: ...`` on stderr, wrapped to the terminal's width (one paragraph, whole words;
    not wrapped at all when stderr is not a terminal)."""
    text = f"Error: {worded(err)}"
    if typer.get_text_stream("stderr").isatty():
        width = max(40, min(shutil.get_terminal_size((100, 20)).columns, 100))
        text = textwrap.fill(text, width=width, break_on_hyphens=False, break_long_words=False)
    typer.echo(text, err=True)
