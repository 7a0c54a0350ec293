"""How the one training loop treats the rows: the hooks where an open fit and a private one
differ, so that the loop (``core/train.py``) reads the same for both.

``OpenTraining`` (the default) holds out a slice whose loss picks the weights and stops early,
and draws shuffled mini-batches; ``privacy.DPTraining`` (DP-SGD) overrides every hook: no
held-out slice, Poisson batches, clipped and noised private optimisers, a fixed number of steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch


class OpenTraining:
    """The loop's hooks for a fit without differential privacy."""

    private = False  # True: no loss on the rows decides anything; the run is step-bounded

    def held_out(self, val_fraction: float) -> float:
        """Share of the rows held out for the validation loss."""
        return val_fraction

    def total_steps(self, planned: int) -> int:
        """Optimiser steps of the run, given the ones the loop's settings plan."""
        return planned

    def prepare(self, model: Any) -> None:
        """Change the model before its optimisers are made (DP-SGD: private layers)."""

    def wrap(self, model: Any, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, Any]:
        """The optimisers the model steps."""
        return optimizers

    def run_key(self) -> dict[str, Any]:
        """What a checkpoint must have been written under to be resumed, beyond data and loop."""
        return {}

    def batches(
        self, model: Any, data: Any, batch_size: int, generator: torch.Generator
    ) -> Iterator[Any]:
        """One epoch of training batches."""
        return model.batches(data, batch_size, generator)

    def close(self) -> None:
        """Undo what ``wrap`` hooked into the model (the run ended or failed)."""

    def summary(self, steps_done: int) -> dict[str, Any]:
        """Entries for the training summary."""
        return {}
