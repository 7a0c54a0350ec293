"""The CLI bad-input tests' shared parts: a good tiny table and schema, writing a case's file,
running a command while noting the files it creates, and checking a refusal."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from synthgen.cli.main import app

GOOD_CSV = "age,job,income\n25,clerk,<=50K\n40,sales,>50K\n"
GOOD_SCHEMA = """\
name: tiny
missing_values: ["?"]
target: income
columns:
  - {name: age, type: integer, min: 17, max: 90}
  - {name: job, type: categorical, values: [clerk, sales]}
  - {name: income, type: categorical, values: ["<=50K", ">50K"]}
"""


def write_case(path: Path, content: str | bytes | None) -> Path:
    """``content`` at ``path`` (bytes, text, ``"<dir>"`` for a folder, ``None`` for nothing)."""
    if content is None:
        return path
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "<dir>":
        path.mkdir()
    else:
        path.write_text(content)
    return path


def run_noting_files(tmp_path: Path, args: list[str]):
    """The CLI run on ``args``, and the paths under ``tmp_path`` it created."""
    before = set(tmp_path.rglob("*"))
    result = CliRunner().invoke(app, args)
    after = set(tmp_path.rglob("*"))
    return result, after - before


def check_refusal(result, created, exit_code: int, *needles: str) -> None:
    """A refusal: the exit code, one "Error:" message with every needle, no traceback, no file."""
    out = result.output
    assert result.exit_code == exit_code, out
    assert "Traceback" not in out
    assert out.startswith("Error: ")
    flat = " ".join(out.split())
    for needle in needles:
        assert needle in flat, f"{needle!r} not in {flat!r}"
    assert not created, f"files written: {created}"
