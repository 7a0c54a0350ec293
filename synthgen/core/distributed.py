"""Multi-process data-parallel training under ``torchrun`` (the one loop in ``train.py``).

``torchrun --nproc-per-node P -m synthgen fit ...`` starts P processes with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR``/``MASTER_PORT`` in their environment; that is
how a run knows it is one of several. Each process reads the same data and builds the same
network; then, as DistributedDataParallel does:

* the process group is gloo on a CPU and NCCL on a GPU (each process on ``cuda:LOCAL_RANK``);
* rank 0's initial weights are broadcast to every rank;
* every global mini-batch the loop draws (the same seeded order on every rank) is split into P
  disjoint shares, one per rank, so the ranks together train on exactly the rows one process
  would, with the same batch size, steps and schedules;
* before each optimiser step the gradients are all-reduced, weighted by each share's rows, so
  every rank takes the same step (the full batch's gradient); buffers (batch-norm statistics)
  follow rank 0's after every step, and the final weights are rank 0's;
* random draws inside a step (noise, a GAN's sampled rows) use a stream of their own per rank;
* rank 0 alone shows progress and writes the model file; the validation loss is averaged over
  the ranks so every rank stops at the same point.

The reduction is done by an optimiser pre-step hook rather than by wrapping modules in
``torch.nn.parallel.DistributedDataParallel``: the wrapper needs each module called once per
backward pass, while the kinds call theirs several times per step (a GAN's critic on real,
fake and interpolated rows, with a gradient penalty's double backward), and it would rename
every weight in the model file. The hook gives the same synchronous gradients for every kind.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from synthgen.core.trainable import Batch, TrainableModel
from synthgen.errors import UsageError, param

ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


def launched() -> bool:
    """True in a process that ``torchrun`` (or an equivalent launcher) started."""
    return all(os.environ.get(name, "").strip() for name in ENV)


def rank() -> int:
    """This process's rank (0 when not launched as one of several)."""
    return int(os.environ["RANK"]) if launched() else 0


def is_main() -> bool:
    """The process that shows progress and writes outputs."""
    return rank() == 0


def refuse_unsupported(*, resume: bool = False, private: bool = False) -> None:
    """Refuse, before any data is read, what multi-process training does not combine with."""
    if not launched():
        return
    if private:
        raise UsageError(
            f"{param('dp_epsilon')} cannot be combined with multi-process training (torchrun): "
            "the privacy accounting assumes one process drawing the Poisson batches. Fit a "
            "private model in one process (plain `synthgen fit`).",
            param="dp_epsilon",
        )
    if resume:
        raise UsageError(
            f"{param('resume')} is not supported under torchrun: multi-process fits write no "
            "checkpoint. Start the fit afresh, or resume a one-process fit without torchrun.",
            param="resume",
        )


class Group:
    """This process's part in a data-parallel run: its rank, the world, its device."""

    def __init__(self, rank: int, world: int, device: torch.device) -> None:
        self.rank = rank
        self.world = world
        self.device = device
        self._share = 1.0  # this rank's fraction of the current global batch

    # --- weights ---------------------------------------------------------------------------
    def broadcast_state(self, model: TrainableModel) -> None:
        """Every rank takes rank 0's weights (parameters, buffers and extra state, such as a
        latent prior fitted after training, whatever its shape on the other ranks)."""
        box = [model.state_tensors() if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0, device=self._object_device())
        if self.rank != 0:
            model.load_state_tensors(box[0])
            model.to(self.device)

    def _object_device(self) -> torch.device | None:
        return self.device if self.device.type == "cuda" else None

    def broadcast_buffers(self, model: TrainableModel) -> None:
        """Batch-norm statistics (and other buffers) follow rank 0's, as DDP's do."""
        for module in model.modules().values():
            for buffer in module.buffers():
                dist.broadcast(buffer.data, 0)

    def attach(self, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        """All-reduce each optimiser's gradients (weighted by the ranks' shares) before it
        steps, so every rank applies the gradient of the whole global batch."""
        for opt in optimizers.values():
            opt.register_step_pre_hook(self._reduce)

    def _reduce(self, opt: torch.optim.Optimizer, args, kwargs) -> None:
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return
        flat = _flatten_dense_tensors(grads)
        flat.mul_(self._share)
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        for grad, reduced in zip(grads, _unflatten_dense_tensors(flat, grads), strict=True):
            grad.copy_(reduced)

    # --- batches and figures ---------------------------------------------------------------
    def share(self, batch: Batch, granule: int = 1) -> Batch:
        """This rank's disjoint, contiguous share of a global batch (shares are multiples of
        ``granule`` rows, e.g. a GAN's pac)."""
        first = batch[0] if isinstance(batch, tuple) else batch
        n = int(first.shape[0])
        units = n // granule
        bounds = [i * units // self.world * granule for i in range(self.world + 1)]
        bounds[-1] = n
        lo, hi = bounds[self.rank], bounds[self.rank + 1]
        if min(b - a for a, b in zip(bounds, bounds[1:], strict=False)) <= 0:
            raise UsageError(
                f"A mini-batch of {n} rows cannot be shared by {self.world} training processes "
                f"(each needs at least {granule} row{'s' if granule > 1 else ''}); raise "
                f"{param('batch_size')} or start fewer processes.",
                param="batch_size",
            )
        self._share = (hi - lo) / n
        return tuple(t[lo:hi] for t in batch) if isinstance(batch, tuple) else batch[lo:hi]

    def mean(self, value: float) -> float:
        """The mean of a figure over the ranks (every rank gets the same number back)."""
        tensor = torch.tensor([float(value)], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return float(tensor.item()) / self.world

    def seed_steps(self, seed: int) -> None:
        """A random stream of this rank's own for the draws inside steps."""
        torch.manual_seed(int(np.random.SeedSequence([seed, self.rank]).generate_state(1)[0]))


@contextlib.contextmanager
def session(device: torch.device) -> Iterator[Group | None]:
    """The process group of a torchrun launch for the length of a fit (``None`` when this
    process was not launched as one of several): gloo on a CPU, NCCL on a GPU, where each
    process takes ``cuda:LOCAL_RANK``."""
    if not launched():
        yield None
        return
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    started = dist.is_initialized()
    if not started:
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30))
    try:
        yield Group(dist.get_rank(), dist.get_world_size(), device)
    finally:
        if not started:
            dist.destroy_process_group()
