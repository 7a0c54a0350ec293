"""Reading members of untrusted zip archives (model files, checkpoints) within bounds."""

from __future__ import annotations

import os
import zipfile

MAX_WEIGHTS_BYTES = int(os.environ.get("SYNTHGEN_MAX_WEIGHTS_BYTES", 4 * 1024**3))
MAX_RATIO = 200  # uncompressed / compressed size of a member; more is a zip bomb


def read_member(zf: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes, decompressed a chunk at a time: never more than its declared (and
    checked) size plus one chunk, even when the archive lies about that size (``zf.read``
    may inflate gigabytes in one call before cutting the result to the declared size)."""
    chunks = []
    with zf.open(name) as member:
        while chunk := member.read(1 << 20):
            chunks.append(chunk)
    return b"".join(chunks)
