"""The bodies of the service's streamed responses: generation chunk by chunk (stopping when
the client leaves), and scoring an upload all or nothing before the first byte is sent."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import anyio
import pandas as pd
import torch
from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from synthgen.errors import SynthgenError
from synthgen.jobs.generate import ChunkEncoder, open_stream
from synthgen.jobs.screen import score_table_bytes

log = logging.getLogger("synthgen.service")

UPLOAD_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json-lines": "jsonl",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
}
_SPOOL_BYTES = 8 * 1024 * 1024
_READ_BLOCK = 1024 * 1024


class Stream(StreamingResponse):
    """A streamed response that always closes its body and frees its slot, even when the
    client goes away before or during the body."""

    def __init__(self, content: AsyncIterator[bytes], *, on_close: Callable[[], None], **kw):
        super().__init__(content, **kw)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            try:
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
            finally:
                self._on_close()


def once(fn: Callable[[], None]) -> Callable[[], None]:
    """``fn`` made safe to call twice (the second call does nothing)."""
    done = False

    def run() -> None:
        nonlocal done
        if not done:
            done = True
            fn()

    return run


# --- generation ------------------------------------------------------------------------------
def start_generation(
    synth, conditions: dict[str, str], seed: int | None, rows: int, chunk_rows: int, fmt: str
) -> tuple[Iterator[pd.DataFrame], ChunkEncoder, bytes]:
    """Check the conditions (UsageError -> 422), draw and encode the first chunk (so a
    GenerationError on the first chunk is a 422 too, before any byte is sent)."""
    with torch.no_grad():
        chunks = open_stream(synth, rows, conditions, seed, chunk_rows)  # its own generators
        encoder = ChunkEncoder(fmt, synth.schema_)
        try:
            first = encoder.encode(next(chunks))
        except BaseException:
            chunks.close()
            raise
    return chunks, encoder, first


def _step(chunks: Iterator[pd.DataFrame], encoder: ChunkEncoder) -> tuple[bytes, bool]:
    with torch.no_grad():
        chunk = next(chunks, None)
    if chunk is None:
        return encoder.finish(), True
    return encoder.encode(chunk), False


async def generation_body(
    request: Request,
    chunks: Iterator[pd.DataFrame],
    encoder: ChunkEncoder,
    first: bytes,
    name: str,
) -> AsyncIterator[bytes]:
    finished = False
    try:
        yield first
        while True:
            if await request.is_disconnected():
                log.info("client left; generation from '%s' stopped", name)
                return
            data, finished = await anyio.to_thread.run_sync(_step, chunks, encoder)
            if data:
                yield data
            if finished:
                return
    except SynthgenError as err:  # mid-stream: the status is sent; cut the stream short
        log.warning("generation from '%s' failed midway: %s", name, err.message)
        raise
    finally:
        if not finished:
            chunks.close()


# --- scoring -----------------------------------------------------------------------------------
def score_upload(
    detector,
    lock,
    path: Path,
    fmt_out: str,
    contamination: float | None,
    threshold: float | None,
):
    """Score the upload at ``path`` into a spooled file first (all or nothing: a bad row
    anywhere is a 422, never a cut stream). Returns (file, rows, flagged, threshold)."""
    cut = detector.threshold(contamination=contamination, threshold=threshold)
    out = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
    rows = flagged = 0
    try:
        with lock, torch.no_grad():
            parts = score_table_bytes(detector, path, cut, fmt_out, source="The uploaded data")
            for block, n, hits in parts:
                rows += n
                flagged += hits
                out.write(block)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out, rows, flagged, float(cut)


async def file_body(fh) -> AsyncIterator[bytes]:
    while True:
        block = await anyio.to_thread.run_sync(fh.read, _READ_BLOCK)
        if not block:
            return
        yield block
