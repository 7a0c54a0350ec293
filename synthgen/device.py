"""Choosing the torch device: 'auto' takes CUDA when present, 'cuda' never falls back."""

from __future__ import annotations

import torch

from synthgen.errors import UsageError


def resolve_device(device: str) -> torch.device:
    """'auto' picks CUDA when present; 'cuda' without a GPU is refused (no silent fallback)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(
                f"--device {device} was asked for, but no CUDA GPU is available on this machine "
                "(torch.cuda.is_available() is False). Use --device cpu or --device auto."
            )
        return torch.device(device)
    raise UsageError(f"Unknown device '{device}'; use auto, cpu or cuda.")
