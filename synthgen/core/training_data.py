"""Training data as the one loop takes it: a matrix or a tuple of aligned arrays."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TypeAlias

import numpy as np
import torch

from synthgen.core.trainable import Batch

TrainData: TypeAlias = np.ndarray | tuple[np.ndarray, ...]


def data_fingerprint(data: TrainData) -> str:
    """sha256 of the training data (ties a checkpoint to its data). For a tuple, each array's
    dtype and shape are hashed with its bytes."""
    if not isinstance(data, tuple):
        return hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()
    digest = hashlib.sha256()
    for array in data:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def n_rows(data: TrainData) -> int:
    """The number of rows (every array of a tuple must have as many)."""
    if not isinstance(data, tuple):
        return len(data)
    sizes = {len(a) for a in data}
    if len(sizes) != 1:
        raise ValueError(f"training arrays differ in length: {sorted(sizes)}")
    return sizes.pop()


def place(data: TrainData, idx: np.ndarray, device: torch.device) -> Batch:
    """Rows ``idx`` on ``device``: a matrix as float32; in a tuple, floating arrays as float32
    and the others (uint8 images, int64 codes) in their own dtype."""
    if not isinstance(data, tuple):
        return torch.as_tensor(data[idx], dtype=torch.float32, device=device)
    out = []
    for array in data:
        dtype = torch.float32 if np.issubdtype(array.dtype, np.floating) else None
        out.append(torch.as_tensor(np.ascontiguousarray(array[idx]), dtype=dtype, device=device))
    return tuple(out)


def split_rows(
    n: int, fraction: float, seed: int, max_val: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, held-out rows), both sorted: ``fraction`` of the rows held out (none
    below 50 rows), at most ``max_val``."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_val = int(round(n * fraction)) if n >= 50 else 0
    if max_val is not None:
        n_val = min(n_val, int(max_val))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


class StreamSource(ABC):
    """Training data that does not fit in memory (out-of-core fitting): the loop iterates it
    instead of permuting a resident matrix.

    What the loop needs of it: ``n_rows`` training rows, a bounded in-memory ``sample`` of them
    (what ``prepare`` and ``finish`` see: a latent prior, condition counts), a bounded held-out
    ``validation`` slice (disjoint from the training rows), a ``fingerprint`` for checkpoints,
    and ``batches``: one epoch, i.e. one pass over every training row in an order drawn from
    ``generator`` (so a resumed run continues the same stream), in batches of ``batch_size``
    rows; the last partial batch is kept only when it has more than half a batch (or is the
    only one), as for a resident matrix, so ``steps_per_epoch`` is exact. Memory must not grow
    with ``n_rows``.
    """

    n_rows: int

    @abstractmethod
    def fingerprint(self) -> str:
        """Identifies the data and the source's settings (ties a checkpoint to them)."""

    @abstractmethod
    def sample(self) -> TrainData:
        """A bounded sample of the training rows, in memory."""

    @abstractmethod
    def validation(self) -> TrainData:
        """The bounded held-out rows, in memory (may be empty)."""

    @abstractmethod
    def batches(self, batch_size: int, generator: torch.Generator) -> Iterator[TrainData]:
        """One epoch of training batches (host arrays; the loop places them)."""

    def steps_per_epoch(self, batch_size: int) -> int:
        n = self.n_rows
        return len(range(0, max(n - batch_size // 2, min(n, 1)), batch_size))


def all_rows(data: TrainData) -> slice:
    """Every row of ``data``, as ``place`` takes an index (a view: the array is not copied)."""
    return slice(None)
