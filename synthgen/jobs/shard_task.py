"""One shard of a sharded generation: the task a local process or a Ray worker runs.

A task is a plain dict (picklable, engine-neutral). The worker loads the model, checks it is
the file the run was planned with, makes the shard's blocks, checks every row, and writes
``part-NNNNN.parquet`` atomically with the run's identity in the Parquet metadata; it returns
the file's row count and sha256 and its share of the great-expectations sample.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from synthgen.device import thread_limit
from synthgen.errors import GenerationError
from synthgen.outputs import file_sha256

IDENTITY_KEY = b"synthgen.shards"  # Parquet key-value metadata: the run's identity (JSON)
SHARD_KEY = b"synthgen.shard"  # this file's shard index, first row and rows (JSON)


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def quiet_worker(threads: int = 1) -> None:
    """A worker process's set-up: few threads, no library warnings (they would reach the
    user's terminal through the worker's stderr)."""
    warnings.simplefilter("ignore")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import torch

    torch.set_num_threads(max(1, int(threads)))


def write_shard(task: dict[str, Any]) -> dict[str, Any]:
    """Make and write one shard (see the module docstring); raises a SynthgenError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        threads = task.get("threads")
        with thread_limit(int(threads) if threads else None):
            return _write(task)


def _write(task: dict[str, Any]) -> dict[str, Any]:
    import json

    from synthgen.jobs.kinds import load_estimator
    from synthgen.outputs import atomic_output
    from synthgen.tabular.checks import OutputValidator
    from synthgen.tabular.io import TableWriter

    model = Path(task["model"])
    if file_sha256(model) != task["model_sha256"]:
        raise GenerationError(
            f"Model file {model} changed while the run was going on; run the command again."
        )
    synth = load_estimator(model, "generator", device=task.get("device", "cpu"))
    first, end, start = task["first_block"], task["end_block"], task["start"]
    chunks = synth.iter_sample(
        task["rows"],
        task["conditions"],
        seed=task["seed"],
        chunk_rows=task.get("chunk_rows", 100_000),
        blocks=(first, end),
    )
    validator = None
    if task["validate"]:
        validator = OutputValidator(
            synth.schema_,
            task["rows"],
            seed=task["index"],
            valid_columns=synth.columns_valid_by_construction(),
        )
    target = Path(task["out_dir"]) / shard_name(task["index"])
    shard_meta = {"index": task["index"], "first_row": start, "rows": task["stop"] - start}
    metadata = {IDENTITY_KEY: task["identity"], SHARD_KEY: json.dumps(shard_meta)}
    with atomic_output(target, overwrite=True) as tmp:
        with TableWriter(tmp, synth.schema_, format="parquet", metadata=metadata) as writer:
            for chunk in chunks:
                if validator is not None:
                    validator.check(chunk)
                writer.write(chunk)
        if writer.rows != task["stop"] - start:  # pragma: no cover - the sampler's guarantee
            raise GenerationError(f"Shard {target.name} has {writer.rows} rows, not {shard_meta}.")
        if validator is not None and validator.problems:
            raise GenerationError(
                f"Generated rows of {target.name} failed the schema checks, so it was not "
                f"written: {validator.problems[0]}"
            )
        digest = file_sha256(tmp)
    sample = validator.sample() if validator is not None and validator.samples else None
    return {
        "file": target.name,
        "index": task["index"],
        "first_row": start,
        "rows": writer.rows,
        "sha256": digest,
        "sample": sample,
    }
