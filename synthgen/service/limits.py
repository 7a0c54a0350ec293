"""Request limits: rows per request, body sizes, concurrent generations."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from synthgen.errors import UsageError


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server.

    max_rows:        rows per generation request (422 above it).
    max_upload_mb:   body size of a scoring upload (413 above it).
    max_json_kb:     body size of any other request, e.g. a generation request (413).
    max_concurrent:  generations (and scorings) running at once; more wait in line.
    max_waiting:     requests waiting in line; one more gets 429 at once.
    queue_seconds:   how long a request waits in line before it gets 429.
    chunk_rows:      rows per streamed chunk (bounds the memory of one generation).
    header_seconds:  a connection's request headers must arrive within this time (slowloris).
    keepalive_seconds: an idle kept-alive connection is closed after this time.
    max_connections: open connections at once (past it the longest-idle one is closed).
    upload_seconds:  a scoring upload must arrive within this time once its turn comes (408).
    """

    max_rows: int = 1_000_000
    max_upload_mb: float = 32.0
    max_json_kb: int = 64
    max_concurrent: int = 4
    max_waiting: int = 256
    queue_seconds: float = 60.0
    chunk_rows: int = 10_000
    header_seconds: float = 10.0
    keepalive_seconds: float = 5.0
    max_connections: int = 1000
    upload_seconds: float = 120.0

    def __post_init__(self) -> None:
        checks = {
            "max_rows": self.max_rows >= 1,
            "max_upload_mb": self.max_upload_mb > 0,
            "max_json_kb": self.max_json_kb >= 1,
            "max_concurrent": self.max_concurrent >= 1,
            "max_waiting": self.max_waiting >= 0,
            "queue_seconds": self.queue_seconds >= 0,
            "chunk_rows": self.chunk_rows >= 1,
            "header_seconds": self.header_seconds > 0,
            "keepalive_seconds": self.keepalive_seconds > 0,
            "max_connections": self.max_connections >= 1,
            "upload_seconds": self.upload_seconds > 0,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise UsageError(
                f"Server limit(s) {', '.join(bad)} must be positive "
                f"(got {', '.join(f'{k}={getattr(self, k)}' for k in bad)})."
            )

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


class SlotLimiter:
    """A first-come, first-served counting limiter with a bounded queue. Loop-agnostic (a
    threading lock and short polls), so one limiter serves any event loop or thread."""

    def __init__(self, slots: int, max_waiting: int = 256) -> None:
        self.slots = slots
        self.max_waiting = max_waiting
        self._used = 0
        self._next_ticket = 0
        self._waiting: list[int] = []  # tickets in arrival order
        self._lock = threading.Lock()

    @property
    def in_use(self) -> int:
        with self._lock:
            return self._used

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def try_acquire(self) -> bool:
        """Take a slot now if one is free and nobody is queued before us."""
        with self._lock:
            if self._used >= self.slots or self._waiting:
                return False
            self._used += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._used = max(0, self._used - 1)

    def _enqueue(self) -> int | None:
        with self._lock:
            if self._used < self.slots and not self._waiting:
                self._used += 1
                return -1  # got a slot at once
            if len(self._waiting) >= self.max_waiting:
                return None
            ticket = self._next_ticket
            self._next_ticket += 1
            self._waiting.append(ticket)
            return ticket

    def _take(self, ticket: int) -> bool:
        with self._lock:
            if self._waiting[0] == ticket and self._used < self.slots:
                self._waiting.pop(0)
                self._used += 1
                return True
            return False

    def _leave(self, ticket: int) -> None:
        with self._lock:
            if ticket in self._waiting:
                self._waiting.remove(ticket)

    async def acquire(self, timeout: float) -> bool:
        """Wait in line up to ``timeout`` seconds for a slot; False when the wait ran out or
        the line is full."""
        ticket = self._enqueue()
        if ticket is None:
            return False
        if ticket < 0:
            return True
        deadline = time.monotonic() + timeout
        delay = 0.002
        try:
            while not self._take(ticket):
                if time.monotonic() >= deadline:
                    return False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.02)
            return True
        finally:
            self._leave(ticket)  # no-op once taken; frees the place on timeout or cancel


class BodyTooLarge(HTTPException):
    """A request body over its limit (413). An HTTPException so that FastAPI re-raises it
    while reading a JSON body instead of turning it into a 400."""

    def __init__(self, limit: int, what: str) -> None:
        super().__init__(
            413,
            f"The request body is larger than the server's limit for {what} ({_size(limit)}).",
            headers={"Connection": "close"},  # the rest of the body is never read
        )


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MiB"
    return f"{n / 1024:g} KiB"


class BodyLimitMiddleware:
    """Refuse bodies over the limit: by Content-Length up front, else while they stream in."""

    def __init__(self, app: ASGIApp, *, upload_bytes: int, json_bytes: int) -> None:
        self.app = app
        self.upload_bytes = upload_bytes
        self.json_bytes = json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope.get("path", "").startswith("/detectors/")
        limit = self.upload_bytes if upload else self.json_bytes
        what = "uploads (--max-upload-mb)" if upload else "request bodies"
        declared = None
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        if declared is not None and declared > limit:
            await _send_json(send, 413, "body_too_large", BodyTooLarge(limit, what).detail)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit, what)
            return message

        await self.app(scope, limited, send)


async def _send_json(send: Send, status: int, error: str, detail: str) -> None:
    import json

    body = json.dumps({"error": error, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
