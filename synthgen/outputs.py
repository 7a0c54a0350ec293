"""Atomic outputs: write to a temp file beside the target, rename into place when complete."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from synthgen.errors import OutputError, param


def check_output(
    target: str | Path,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path] = (),
    directory: bool = False,
) -> Path:
    """Refuse an output that equals an input, exists (without overwrite) or has no folder.

    A file output may not be an existing directory. A ``directory`` output (a folder of PNGs)
    may replace an existing folder with ``overwrite``, but never one that holds an input, and
    it may not be written inside an input folder.
    """
    target = Path(target)
    resolved = target.resolve()
    for src in inputs:
        if src is None:
            continue
        src_resolved = Path(src).resolve()
        if src_resolved == resolved:
            raise OutputError(
                f"Output {target} is the same file as the input {src}; "
                "synthgen never overwrites its inputs. Choose another output path."
            )
        if directory and src_resolved.is_relative_to(resolved):
            raise OutputError(
                f"Output folder {target} holds the input {src}; replacing the folder would "
                "delete it. Choose another output path."
            )
        if src_resolved.is_dir() and resolved.is_relative_to(src_resolved):
            raise OutputError(
                f"Output {target} lies inside the input folder {src}; synthgen never changes "
                "its inputs. Choose a path outside it."
            )
    if (target.exists() or target.is_symlink()) and not overwrite:  # a dangling link too
        raise OutputError(
            f"Output {target} already exists; pass {param('overwrite')} to replace it."
        )
    if target.is_dir() and not directory:
        raise OutputError(f"Output {target} is a directory; give a file path.")
    if not target.parent.exists():
        raise OutputError(f"Output folder {target.parent} does not exist.")
    if not target.parent.is_dir():
        raise OutputError(f"Output folder {target.parent} is not a folder.")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise _unwritable(target)
    return target


def make_folder(folder: str | Path) -> Path:
    """Create an output folder (and its parents), refusing with an OutputError, not an
    OSError traceback, when that is not possible."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"Output folder {folder} cannot be created ({err.strerror or type(err).__name__}). "
            "Choose another output path or fix the permissions."
        ) from None
    return folder


def _unwritable(target: Path, why: str = "") -> OutputError:
    return OutputError(
        f"Output {target} cannot be written: the folder {target.parent or '.'} is not "
        f"writable{f' ({why})' if why else ''}. Choose another output path or fix the folder's "
        "permissions."
    )


_held = 0  # how many temp outputs are being created and named right now
_pending: list[int] = []


def hold_signal(signum: int) -> bool:
    """For signal handlers: True while a temp output is being created and named; the signal is
    then kept, and the handler is called again when that is done, so a temp file never exists
    without the code that removes it."""
    if _held:
        _pending.append(signum)
        return True
    return False


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Keep signals whose handlers call :func:`hold_signal` until the block ends; the first one
    kept is then handled (its handler raises, at the end of this block)."""
    global _held
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending:
            signum = _pending[0]
            _pending.clear()
            handler = signal.getsignal(signum)
            if callable(handler):
                handler(signum, None)


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
    With ``directory=True`` the temp path is a fresh folder (for PNG folder outputs); an existing
    target (with ``overwrite``) is moved aside, the new folder renamed in, then the old one
    removed, so the target is never missing or half-written.
    """
    inputs = list(inputs)
    target = check_output(target, overwrite=overwrite, inputs=inputs, directory=directory)
    parent = target.parent
    tmp: Path | None = None
    try:
        with signals_deferred():  # a signal is raised when the block ends: inside this try
            try:
                if directory:
                    name = tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
                else:
                    fd, name = tempfile.mkstemp(
                        prefix=f".{target.name}.", suffix=".tmp", dir=parent
                    )
                    os.close(fd)
                tmp = Path(name)
            except OSError as err:  # read-only file system, a folder that changed under us...
                raise _unwritable(target, err.strerror or type(err).__name__) from None
        yield tmp
        _default_permissions(tmp)
        try:
            if directory and target.exists():
                _replace_with_folder(tmp, target)
            else:
                os.replace(tmp, target)
        except PermissionError as err:
            raise _unwritable(target, err.strerror or "permission denied") from None
    except BaseException:
        if tmp is not None:
            _remove(tmp)
        raise


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide, not thread-safe


def _default_permissions(path: Path) -> None:
    """Give a finished temp output the permissions a plainly created one would have: mkstemp
    and mkdtemp make them private (0600/0700), which would surprise the user."""
    if path.exists() and not path.is_symlink():
        path.chmod((0o777 if path.is_dir() else 0o666) & ~_UMASK)


def _replace_with_folder(tmp: Path, target: Path) -> None:
    """Swap the finished folder ``tmp`` in for an existing ``target`` (file or folder)."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
    os.close(fd)
    old = Path(name)
    old.unlink()
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        raise
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def require_file(path: str | Path, what: str) -> Path:
    """``path`` must exist (cheap checks the CLI makes before importing the heavy libraries):
    ``what`` names it in the error ("Data file", "Schema file", "Model file")."""
    path = Path(path)
    if not path.exists():
        from synthgen.errors import DataError, ModelFileError, SchemaError

        error = {"Schema file": SchemaError, "Model file": ModelFileError}.get(what, DataError)
        raise error(f"{what} {path} does not exist.")
    return path


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
