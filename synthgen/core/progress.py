"""Live progress bars: one look for every long job (fit, generate, evaluate, screen)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(enabled: bool) -> Progress:
    """A bar with the phase named, a count, live figures (``losses`` field), elapsed and left."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[losses]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )


@contextlib.contextmanager
def phase(enabled: bool, description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A bar for one phase of a job; yields ``advance(n)``."""
    with progress_bar(enabled) as bar:
        task = bar.add_task(description, total=total, losses="")
        yield lambda n=1: bar.advance(task, n)
