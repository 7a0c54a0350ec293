"""The HTTP/1.1 connection handling under uvicorn, guarded against slow and idle clients.

uvicorn times out a kept-alive connection between requests, but not a connection that never
finishes its request headers (slowloris): one byte now and then cancels even its keep-alive
timer. ``GuardedH11Protocol`` adds what it lacks, before any request reaches the app (and so
before the token check):

- a header deadline: a connection must deliver a request's complete headers within
  ``header_seconds`` of opening (or of its previous response), however it trickles them in;
- a cap on open connections: past ``max_connections``, the connection that has waited longest
  for its headers is closed to make room (an idle flood cannot lock out real clients); when
  every connection is busy with a request, the newcomer is closed instead.
"""

from __future__ import annotations

import asyncio
import resource
from collections import OrderedDict
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

# asyncio accepts up to BACKLOG connections in one go, before any protocol sees them: the
# connection cap leaves room for that burst, and for model files, uploads and logs
BACKLOG = 128
FD_RESERVE = 64 + BACKLOG


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard limit; returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        want = 65536 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError):  # pragma: no cover - not allowed here
            pass
    return soft


def connection_cap(wanted: int) -> int:
    """``wanted`` connections, fewer when the process may not open that many files."""
    return max(8, min(wanted, raise_fd_limit() - FD_RESERVE))


def guarded_protocol(header_seconds: float, max_connections: int) -> type[H11Protocol]:
    """An ``H11Protocol`` class with the header deadline and connection cap (for
    ``uvicorn.Config(http=...)``)."""

    class Guarded(GuardedH11Protocol):
        HEADER_SECONDS = header_seconds
        MAX_CONNECTIONS = max_connections

    return Guarded


class GuardedH11Protocol(H11Protocol):
    HEADER_SECONDS: float = 10.0
    MAX_CONNECTIONS: int = 1000

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._header_timer: asyncio.TimerHandle | None = None
        self._waiting_for: object = None  # the request cycle current when the timer was armed

    # connections waiting for request headers, oldest first (shared by the server's
    # connections through its state object)
    def _waiting(self) -> OrderedDict[GuardedH11Protocol, None]:
        waiting = getattr(self.server_state, "synthgen_waiting", None)
        if waiting is None:
            waiting = OrderedDict()
            self.server_state.synthgen_waiting = waiting  # type: ignore[attr-defined]
        return waiting

    def _arm(self) -> None:
        self._disarm()
        self._waiting_for = self.cycle
        self._header_timer = self.loop.call_later(self.HEADER_SECONDS, self._headers_too_slow)
        self._waiting()[self] = None

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        self._waiting().pop(self, None)

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        self._waiting().pop(self, None)
        if not self.transport.is_closing():
            self.transport.close()

    # --- the protocol's events --------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.MAX_CONNECTIONS:
            waiting = self._waiting()
            if waiting:
                oldest = next(iter(waiting))
                oldest._headers_too_slow()
                self.connections.discard(oldest)
            else:
                self.connections.discard(self)
                transport.close()
                return
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._header_timer is not None and self.cycle is not self._waiting_for:
            self._disarm()  # a new request's headers are complete

    def on_response_complete(self) -> None:
        before = self.cycle
        super().on_response_complete()
        if not self.transport.is_closing() and self.cycle is before:
            self._arm()  # waiting for the next request's headers

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
