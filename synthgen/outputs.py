"""Atomic outputs: write to a temp file beside the target, rename into place when complete."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from synthgen.errors import OutputError


def check_output(
    target: str | Path, *, overwrite: bool = False, inputs: Iterable[str | Path] = ()
) -> Path:
    """Refuse an output that equals an input, exists (without overwrite) or has no folder."""
    target = Path(target)
    resolved = target.resolve()
    for src in inputs:
        if src is not None and Path(src).resolve() == resolved:
            raise OutputError(
                f"Output {target} is the same file as the input {src}; "
                "synthgen never overwrites its inputs. Choose another output path."
            )
    if target.exists() and not overwrite:
        raise OutputError(f"Output {target} already exists; pass --overwrite to replace it.")
    if target.is_dir():
        raise OutputError(f"Output {target} is a directory; give a file path.")
    if not target.parent.exists():
        raise OutputError(f"Output folder {target.parent} does not exist.")
    return target


@contextlib.contextmanager
def atomic_output(
    target: str | Path,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path] = (),
    directory: bool = False,
) -> Iterator[Path]:
    """Yield a temp path beside ``target``; rename it onto ``target`` only if the block succeeds.

    On any exception (including KeyboardInterrupt) the temp file is removed and nothing is left.
    With ``directory=True`` the temp path is a fresh folder (for PNG folder outputs).
    """
    target = check_output(target, overwrite=overwrite, inputs=inputs)
    parent = target.parent
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    else:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        if directory and target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise
