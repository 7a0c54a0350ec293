"""Reading members of untrusted zip archives (model files, checkpoints) within bounds."""

from __future__ import annotations

import os
import zipfile

MAX_WEIGHTS_BYTES = int(os.environ.get("SYNTHGEN_MAX_WEIGHTS_BYTES", 4 * 1024**3))
MAX_RATIO = 200  # uncompressed / compressed size of a member; more is a zip bomb


def member_size_problem(info: zipfile.ZipInfo, limit: int) -> str | None:
    """Why a member's declared size is refused (over ``limit``, or a zip bomb's expansion
    ratio), or None; checked before anything is read."""
    if info.file_size > limit:
        declared = f"{info.file_size:,}"
        return f"its {info.filename} declares {declared} bytes, over the limit of {limit:,}."
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > 1 << 20 and ratio > MAX_RATIO:
        return (
            f"its {info.filename} would expand {ratio:,.0f} times (a zip bomb?); synthgen "
            f"refuses more than {MAX_RATIO} times."
        )
    return None


def read_member(zf: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes, decompressed a chunk at a time: never more than its declared (and
    checked) size plus one chunk, even when the archive lies about that size (``zf.read``
    may inflate gigabytes in one call before cutting the result to the declared size)."""
    chunks = []
    with zf.open(name) as member:
        while chunk := member.read(1 << 20):
            chunks.append(chunk)
    return b"".join(chunks)
