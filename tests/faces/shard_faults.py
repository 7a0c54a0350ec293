"""Shard tasks that die like a killed worker (SIGKILL half-way through writing a shard), for
the fault tests of sharded generation. Module-level, so a spawned worker process can import
them by name."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def _die_after_first_chunk() -> None:
    import synthgen.tabular.io as tabular_io

    class Dying(tabular_io.TableWriter):
        def write(self, chunk):
            super().write(chunk)  # the shard's temp file now holds part of its rows
            os.kill(os.getpid(), signal.SIGKILL)

    tabular_io.TableWriter = Dying


def killed_writing_shard_1(task):
    """Shard 1's worker is killed (SIGKILL) after its first chunk; other shards run as usual."""
    from synthgen.jobs.shard_task import write_shard

    if task["index"] == 1:
        _die_after_first_chunk()
    return write_shard(task)


def killed_once(marker: Path):
    """A task function whose first attempt at shard 1 is killed (SIGKILL) half-way; a retry
    (a fresh worker, ``marker`` already there) runs as usual."""
    from synthgen.jobs.shard_task import write_shard

    def task_fn(task):
        if task["index"] == 1 and not marker.exists():
            marker.touch()
            _die_after_first_chunk()
        return write_shard(task)

    return task_fn
