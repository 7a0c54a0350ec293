"""What every network provides to the one training loop (``TrainableModel``): generators,
detectors' autoencoders and judges alike."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any, ClassVar, TypeAlias

import torch
from torch import nn

Batch: TypeAlias = torch.Tensor | tuple[torch.Tensor, ...]
"""Training data on the device: one matrix, or a tuple of aligned tensors (e.g. images and
label codes); a batch has the same form."""


class TrainableModel(ABC):
    """A torch model the training loop in ``train.py`` drives: named modules built from a
    dataclass config, optimizers, mini-batches and one optimisation step at a time.

    Hooks with defaults: ``prepare`` (once, with the training data), ``batches`` and
    ``steps_per_epoch`` (one epoch of mini-batches), ``make_schedulers`` (learning-rate
    schedules stepped after every step), ``after_step`` (e.g. weight snapshots),
    ``validation_loss`` (early stopping; ``None`` where there is nothing to rank) and
    ``finish`` (once, after training).
    """

    kind: ClassVar[str]
    config_cls: ClassVar[type]
    select_best: ClassVar[bool] = True
    """Keep the weights of the best validation loss and stop early on a plateau. Models whose
    validation figure does not rank weights (a GAN) set this False and keep their last weights."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.device = torch.device("cpu")

    # --- modules and state -------------------------------------------------------------
    @abstractmethod
    def modules(self) -> dict[str, nn.Module]:
        """Named modules whose weights make up the model file."""

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Non-module tensors saved with the model (e.g. a fitted latent prior)."""
        return {}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what ``extra_state`` returned."""

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """All weights as one flat dict ``module.param -> tensor`` (CPU)."""
        out = {}
        for name, module in self.modules().items():
            for key, value in module.state_dict().items():
                out[f"{name}.{key}"] = value.detach().cpu()
        for key, value in self.extra_state().items():
            out[f"extra.{key}"] = value.detach().cpu()
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load weights strictly: a missing or unexpected tensor is an error."""
        for name, module in self.modules().items():
            cut = len(name) + 1
            part = {k[cut:]: v for k, v in tensors.items() if k.startswith(name + ".")}
            module.load_state_dict(part, strict=True)
        cut = len("extra.")
        self.load_extra_state({k[cut:]: v for k, v in tensors.items() if k.startswith("extra.")})
        known = set(self.state_tensors())
        unexpected = sorted(set(tensors) - known)
        if unexpected:
            raise KeyError(f"unexpected tensors {unexpected[:3]}")

    def to(self, device: torch.device) -> TrainableModel:
        self.device = device
        for module in self.modules().values():
            module.to(device)
        return self

    def train(self, mode: bool = True) -> None:
        for module in self.modules().values():
            module.train(mode)

    def autocast(self) -> contextlib.AbstractContextManager:
        """bfloat16 mixed precision on CUDA (no loss scaling needed); a no-op on CPU."""
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)

    # --- training ------------------------------------------------------------------------
    @abstractmethod
    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimizers, by name (their state is checkpointed for --resume)."""

    def prepare(self, data: Batch) -> None:
        """Called once with the (device-resident) training data before the first step."""

    def batches(self, data: Batch, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        """One epoch of mini-batches: a random permutation, on the data's device. A tuple of
        tensors is permuted together. A last batch of less than half ``batch_size`` rows is
        dropped, unless it is the only one (fewer rows than that: one batch of all of them)."""
        first = data[0] if isinstance(data, tuple) else data
        n = first.shape[0]
        perm = torch.randperm(n, generator=generator, device="cpu").to(first.device)
        for start in range(0, max(n - batch_size // 2, min(n, 1)), batch_size):
            idx = perm[start : start + batch_size]
            yield tuple(t[idx] for t in data) if isinstance(data, tuple) else data[idx]

    def batch_granule(self) -> int:
        """Rows a batch is made of in whole multiples (a GAN's pac); multi-process training
        gives each process a share of this many rows at a time."""
        return 1

    def steps_per_epoch(self, n_rows: int, batch_size: int) -> int:
        """How many batches ``batches`` yields for ``n_rows`` rows (for planning and progress)."""
        return len(range(0, max(n_rows - batch_size // 2, min(n_rows, 1)), batch_size))

    def make_schedulers(
        self, optimizers: dict[str, torch.optim.Optimizer], total_steps: int
    ) -> list[Any]:
        """Learning-rate schedulers stepped after every optimiser step (none by default)."""
        return []

    def after_step(self, step: int, total_steps: int) -> None:
        """Called after every optimiser step (``step`` counts from 1)."""

    @abstractmethod
    def train_step(
        self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, float]:
        """One optimisation step; returns losses to show on the progress bar."""

    def validation_loss(self, data: Batch) -> float | None:
        """Loss on the held-out slice (lower is better) for early stopping; ``None`` when the
        model has no validation figure."""
        return None

    # --- differential privacy (DP-SGD in the loop, see core/privacy.py) ---------------------
    supports_privacy: ClassVar[bool] = False
    private: bool = False
    private_hooks: list[Any] = []

    def make_private(self) -> None:
        """Switch to the private variant before DP-SGD wraps the model: every step must take
        its rows from the batch it is given (Poisson sampled), and nothing may be fitted to
        the rows outside the private optimisers (e.g. a latent prior)."""
        if not self.supports_privacy:
            raise NotImplementedError(f"{self.kind} has no differentially private training")
        self.private = True

    def private_optimizers(self) -> list[str]:
        """The optimisers whose gradients see rows."""
        raise NotImplementedError

    def private_modules(self, optimizer: str) -> list[nn.Module]:
        """The modules a private optimiser trains (their per-sample gradients are clipped)."""
        raise NotImplementedError

    def set_private_hooks(self, enabled: bool) -> None:
        """Turn per-sample gradient capture on or off (off while a non-private optimiser
        backpropagates through a private module)."""
        for hook in self.private_hooks:
            hook.enable_hooks() if enabled else hook.disable_hooks()

    finish_description: ClassVar[str] = "finishing"

    def finish_steps(self, data: Batch) -> int:
        """How many steps ``finish`` reports (0: it is quick, no progress bar)."""
        return 0

    def finish(self, data: Batch, advance: Callable[[int], None] = lambda n=1: None) -> None:
        """Called once after training with the full training data (e.g. fit a latent prior);
        ``advance`` reports progress (``finish_steps`` steps in all)."""


@torch.no_grad()
def update_average(average: nn.Module, live: nn.Module, step: int, decay: float) -> None:
    """One step of an exponential moving average of ``live``'s weights into ``average``.

    The decay ramps up as ``(1 + step) / (10 + step)`` to at most ``decay``, so a short fit is not
    dominated by the initial weights; buffers (batch-norm statistics) are copied as they are.
    """
    rate = 1.0 - min(decay, (1.0 + step) / (10.0 + step))
    for avg, p in zip(average.parameters(), live.parameters(), strict=True):
        avg.lerp_(p, rate)
    for avg, buf in zip(average.buffers(), live.buffers(), strict=True):
        avg.copy_(buf)


class DropLastBatches:
    """Epochs of full mini-batches in a fresh random order (a last partial batch is dropped)."""

    def steps_per_epoch(self, n_rows: int, batch_size: int) -> int:
        return max(1, n_rows // batch_size)

    def batches(self, data, batch_size, generator):
        first = data[0] if isinstance(data, tuple) else data
        n = first.shape[0]
        order = torch.randperm(n, generator=generator).to(first.device)
        for start in range(0, max(n - batch_size + 1, 1), batch_size):
            idx = order[start : start + batch_size]
            yield tuple(t[idx] for t in data) if isinstance(data, tuple) else data[idx]
