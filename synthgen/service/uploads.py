"""Scoring uploads: received only once a slot is held, streamed to a private temporary folder
under a size cap and a deadline, and scored from there; whatever goes wrong with the upload is
a 4xx with a JSON error that names no server path, and the folder is always removed."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from fastapi import HTTPException, Request
from starlette.requests import ClientDisconnect

from synthgen.errors import DataError, SynthgenError
from synthgen.service.limits import BodyTooLarge
from synthgen.service.streams import UPLOAD_TYPES

log = logging.getLogger("synthgen.service")

SOURCE = "The uploaded data"
_FORMAT_NAMES = {"csv": "CSV", "jsonl": "JSONL", "parquet": "Parquet"}
_UNSUPPORTED = (
    "Send the rows as CSV (Content-Type: text/csv), JSONL (application/x-ndjson) "
    "or Parquet (application/vnd.apache.parquet)."
)


def upload_format(content_type: str) -> str | None:
    return UPLOAD_TYPES.get(content_type.split(";")[0].strip().lower())


def check_upload_headers(request: Request) -> None:
    """What can be refused from the headers alone, before a slot is taken."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise HTTPException(
            415,
            f"Content-Encoding '{encoding[:40]}' is not accepted; send the rows uncompressed.",
        )
    if request.headers.get("content-length", "").strip() == "0":
        raise HTTPException(422, "The request body is empty; send the rows to score.")


class Upload:
    """An upload received into a private temporary folder (removed by ``close``)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="synthgen-upload-"))
        self.path: Path | None = None
        self.fmt: str | None = None

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    async def receive(self, request: Request, limit: int, seconds: float) -> None:
        """Stream the body to disk: 413 past ``limit`` bytes, 408 past ``seconds``, 422 when
        empty, 415 when its format is neither declared nor recognisable."""
        fmt = upload_format(request.headers.get("content-type", ""))
        part = self.folder / "upload.part"
        size = 0
        head = b""
        deadline = time.monotonic() + seconds
        try:
            with open(part, "wb") as fh:
                async for block in _within(request.stream(), deadline, seconds):
                    size += len(block)
                    if size > limit:
                        raise BodyTooLarge(limit, "uploads (--max-upload-mb)")
                    if len(head) < 4:
                        head = (head + block)[:4]
                    fh.write(block)
        except ClientDisconnect:
            raise HTTPException(400, "The client closed the connection mid-upload.") from None
        if size == 0:
            raise HTTPException(422, "The request body is empty; send the rows to score.")
        if fmt is None and head == b"PAR1":
            fmt = "parquet"
        if fmt is None:
            raise HTTPException(415, _UNSUPPORTED)
        self.path = part.rename(self.folder / f"upload.{fmt}")
        self.fmt = fmt

    def reword(self, err: BaseException) -> SynthgenError:
        """A reading/scoring failure as a DataError about the upload, without server paths.
        Anything that is not a SynthgenError is the upload's fault too: this runs only on
        the uploaded bytes, with a detector that loaded and checked fine."""
        if isinstance(err, SynthgenError):
            message, kind, name = err.template, type(err), err.param
        else:
            kind, name = DataError, None
            log.warning("upload could not be scored", exc_info=err)
            what = _FORMAT_NAMES.get(self.fmt or "", "a table")
            if isinstance(err, RecursionError):
                why = "it is nested too deeply"
            elif isinstance(err, MemoryError):
                why = "it needs more memory than the server has"
            else:
                why = f"{type(err).__name__}: {str(err)[:200]}"
            message = f"{SOURCE} could not be read as {what} ({why})."
        for text in filter(None, (str(self.path or ""), str(self.folder))):
            message = message.replace(f"Data file {text}", SOURCE).replace(text, "the upload")
        return kind(message, param=name)


async def _within(stream: AsyncIterator[bytes], deadline: float, seconds: float):
    while True:
        left = deadline - time.monotonic()
        try:
            with anyio.fail_after(max(left, 0)):
                block = await stream.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise HTTPException(
                408,
                f"The upload did not arrive within {seconds:g} s (the server's limit for "
                "receiving one upload); send it faster or in smaller parts.",
            ) from None
        yield block
