"""Generate exactly N rows (tables) or images from a model file, streamed to disk atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from synthgen.core.estimator import check_seed
from synthgen.core.progress import phase
from synthgen.errors import UsageError, param
from synthgen.images.io import IMAGE_FORMATS, ImageWriter, image_format
from synthgen.jobs.kinds import file_entry, load_estimator
from synthgen.outputs import atomic_output, check_output
from synthgen.tabular.checks import OutputValidator
from synthgen.tabular.io import FORMATS, MEDIA_TYPES, ChunkEncoder, TableWriter, table_format

TABLE_FORMATS = ("parquet", "csv", "jsonl")


def output_data(model_path: str | Path) -> str:
    """``table`` or ``image``: what a model file generates (for default output names)."""
    return file_entry(model_path, "generator").data


def generate_to_file(
    model_path: str | Path,
    rows: int,
    output: str | Path,
    *,
    fmt: str | None = None,
    conditions: dict[str, str] | None = None,
    seed: int | None = None,
    device: str = "auto",
    overwrite: bool = False,
    chunk_rows: int | None = None,
    progress: bool = True,
    validate: bool = True,
) -> dict[str, Any]:
    """Generate ``rows`` rows or images from a table or image model file into ``output``."""
    _check_rows(rows)
    if seed is not None:
        check_seed(seed, "seed")
    data = output_data(model_path)
    if data == "image":
        if fmt is not None and fmt not in IMAGE_FORMATS:
            raise UsageError(
                f"{param('format')} {fmt} does not apply to images; use npz or png.",
                param="format",
            )
        return _images(
            model_path,
            rows,
            output,
            fmt,
            conditions,
            seed,
            device,
            overwrite,
            chunk_rows or 1000,
            progress,
        )
    if fmt is not None and fmt not in TABLE_FORMATS:
        raise UsageError(
            f"{param('format')} {fmt} does not apply to tables; use parquet, csv or jsonl.",
            param="format",
        )
    return _table(
        model_path,
        rows,
        output,
        fmt,
        conditions,
        seed,
        device,
        overwrite,
        chunk_rows or 100_000,
        progress,
        validate,
    )


def open_stream(
    estimator: Any,
    rows: int,
    conditions: dict[str, str] | None,
    seed: int | None,
    chunk_rows: int,
) -> Iterator[Any]:
    """Chunks of exactly ``rows`` from a loaded generator (bad conditions refused now)."""
    _check_rows(rows)
    return estimator.iter_sample(rows, conditions, seed=seed, chunk_rows=chunk_rows)


def draw_threads() -> int:
    """Blocks drawn at once by one generating process: its cores, at most 4 (each block in
    flight holds its rows; more cores are better used by shards)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def _check_rows(rows: Any) -> None:
    if isinstance(rows, bool) or not isinstance(rows, int) or rows <= 0:
        raise UsageError(
            f"{param('rows')} must be a positive number of rows, got {rows}.", param="rows"
        )


def _table(
    model_path,
    rows,
    output,
    fmt,
    conditions,
    seed,
    device,
    overwrite,
    chunk_rows,
    progress,
    validate,
) -> dict[str, Any]:
    check_output(output, overwrite=overwrite, inputs=[model_path])
    fmt = table_format(output, fmt)
    synth = load_estimator(model_path, "generator", device=device)
    # conditions checked now; blocks drawn on the cores beside the writer, same rows
    chunks = synth.iter_sample(
        rows, conditions, seed=seed, chunk_rows=chunk_rows, threads=draw_threads()
    )
    # great-expectations is imported only when the rows are done: importing it in a thread
    # while they are drawn holds the GIL against the generator and was slower overall
    validator = None
    if validate:
        trusted = synth.columns_valid_by_construction()
        validator = OutputValidator(synth.schema_, rows, seed=0, valid_columns=trusted)
    # the block size and seed the rows come from, recorded in a Parquet file's metadata
    recorded = {
        "seed": synth.random_seed if seed is None else seed,
        "block_rows": synth.block_rows,
        "rows": rows,
        "conditions": dict(sorted((conditions or {}).items())),
    }
    metadata = {b"synthgen.generation": json.dumps(recorded)} if fmt == "parquet" else None
    with atomic_output(output, overwrite=overwrite, inputs=[model_path]) as tmp:
        with (
            TableWriter(tmp, synth.schema_, format=fmt, metadata=metadata) as writer,
            phase(progress, "generating", rows) as advance,
            ThreadPoolExecutor(1, thread_name_prefix="synthgen-write") as pool,
        ):

            def store(chunk: pd.DataFrame) -> None:
                if validator is not None:
                    validator.check(chunk)
                writer.write(chunk)
                advance(len(chunk))

            # one chunk is checked and written (mostly in Arrow, without the GIL) while the
            # next is drawn; at most one is pending, so memory stays flat
            pending: Future | None = None
            for chunk in chunks:
                if pending is not None:
                    pending.result()
                pending = pool.submit(store, chunk)
            if pending is not None:
                pending.result()
        result = validator.finish(output, overwrite=overwrite) if validator is not None else None
    return {
        "rows": rows,
        "output": str(output),
        "format": fmt,
        "validation": result,
        "block_rows": synth.block_rows,
    }


def _images(
    model_path, rows, output, fmt, conditions, seed, device, overwrite, chunk_rows, progress
) -> dict[str, Any]:
    fmt = image_format(output, fmt)
    check_output(output, overwrite=overwrite, inputs=[model_path], directory=fmt == "png")
    synth = load_estimator(model_path, "generator", device=device)
    chunks = open_stream(synth, rows, conditions, seed, chunk_rows)  # conditions checked now
    with (
        ImageWriter(
            output, synth.schema_, fmt=fmt, overwrite=overwrite, inputs=[model_path]
        ) as writer,
        phase(progress, "generating", rows) as advance,
    ):
        for chunk in chunks:
            writer.write(chunk)
            advance(len(chunk))
    return {"rows": rows, "output": str(output), "format": fmt, "validation": None}


def default_output(model_path: Path, fmt: str | None) -> Path:
    """``MODEL-stem.synthetic.FORMAT`` (a folder for png)."""
    image = output_data(model_path) == "image"
    suffix = {"png": ""}.get(fmt or "", f".{fmt or ('npz' if image else 'parquet')}")
    return Path(f"{model_path.stem}.synthetic{suffix}")


__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "ChunkEncoder",
    "default_output",
    "generate_to_file",
    "open_stream",
    "output_data",
]
