"""``synthgen serve`` in a process of its own for a test: started on a free port of 127.0.0.1,
its address read from its log, and stopped with SIGTERM in teardown (bounded waits)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def serve_process(args: list[str], env: dict[str, str], **popen: Any) -> Iterator[tuple]:
    """Yields ``(process, url)`` once the server logs the address it listens on; the rest of
    its stderr is the caller's to read (or drain)."""
    cmd = [sys.executable, "-c", "from synthgen.cli.main import main; main()", "serve", *args]
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True, **popen
    )
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", proc.stderr.readline())
            url = found.group(1) if found else None
        assert url, f"server did not start (exit {proc.poll()})"
        yield proc, url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait(timeout=5)
