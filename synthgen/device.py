"""Choosing the torch device ('auto' takes CUDA when present, 'cuda' never falls back) and
limiting CPU threads."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from synthgen.errors import UsageError, param


def resolve_device(device: str) -> torch.device:
    """'auto' picks CUDA when present; 'cuda' without a GPU is refused (no silent fallback)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if isinstance(device, str) and device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(
                f"{param('device')} {device} was asked for, but no CUDA GPU is available on this "
                "machine (torch.cuda.is_available() is False). Use cpu or auto.",
                param="device",
            )
        return torch.device(device)
    raise UsageError(
        f"Unknown {param('device')} '{device}'; use auto, cpu or cuda.", param="device"
    )


@contextlib.contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Run with at most ``threads`` torch and OpenMP/BLAS threads (``None``: unchanged), then
    restore the previous settings."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        with threadpool_limits(int(threads)):
            yield
    finally:
        torch.set_num_threads(before)
