"""Out-of-core fitting of a table generator: a Parquet dataset as the training loop's
``StreamSource`` (see :mod:`synthgen.core.training_data`).

One streaming pass over the dataset (:class:`~synthgen.tabular.io.dataset.ParquetDataset`,
checked against the schema chunk by chunk) before training:

* holds out rows for validation: each row of a chunk independently, with probability
  ``min(val_fraction, val_rows / rows)`` from a generator seeded by (seed, file, row group,
  chunk), so the same rows are held out on every later pass and never trained on; at most
  ``val_rows`` of them are kept (a bottom-k reservoir);
* draws a uniform sample of ``sample_rows`` training rows (a bottom-k reservoir on seeded
  random keys: at most ``sample_rows`` rows held at any time beside one chunk): the transformer
  is fitted on it, and it is what the network's ``prepare``/``finish`` see (the VAE's latent
  prior, the condition combinations and their frequencies);
* gathers what generation needs from every row (id styles, fixed combinations, row count).

An epoch is then one pass over the training rows: the row groups in an order drawn from the
loop's generator, each read in chunks, transformed, and shuffled within a buffer of
``buffer_rows`` rows. Memory is bounded by the sample, the validation rows, the buffer and one
chunk, whatever the number of rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthgen.core.training_data import StreamSource
from synthgen.errors import UsageError, param
from synthgen.tabular.io.dataset import ParquetDataset, Piece
from synthgen.tabular.transform import TableTransformer

SAMPLE_ROWS = 50_000
VAL_ROWS = 10_000
BUFFER_ROWS = 32_768


class Reservoir:
    """A uniform sample of at most ``cap`` rows of a stream of frames: every row gets a random
    key, and the ``cap`` rows with the smallest keys are kept (bottom-k sampling)."""

    def __init__(self, cap: int) -> None:
        self.cap = int(cap)
        self.frame: pd.DataFrame | None = None
        self.keys = np.empty(0)
        self.seen = 0

    def add(self, frame: pd.DataFrame, keys: np.ndarray) -> None:
        self.seen += len(frame)
        if len(self.keys) >= self.cap:  # full: only rows below the largest kept key can enter
            enter = keys < self.keys.max()
            frame, keys = frame[enter], keys[enter]
        if not len(frame):
            return
        frame = frame.reset_index(drop=True)
        both = frame if self.frame is None else pd.concat([self.frame, frame], ignore_index=True)
        keys = np.concatenate([self.keys, keys])
        if len(keys) > self.cap:
            keep = np.sort(np.argpartition(keys, self.cap - 1)[: self.cap])
            both, keys = both.iloc[keep].reset_index(drop=True), keys[keep]
        self.frame, self.keys = both, keys

    def __len__(self) -> int:
        return len(self.keys)


class ParquetSource(StreamSource):
    """A Parquet dataset streamed through a transformer fitted on a reservoir sample of it."""

    def __init__(
        self,
        dataset: ParquetDataset,
        transformer: TableTransformer,
        *,
        seed: int,
        val_fraction: float = 0.1,
        sample_rows: int = SAMPLE_ROWS,
        val_rows: int = VAL_ROWS,
        buffer_rows: int = BUFFER_ROWS,
        on_chunk: Callable[[pd.DataFrame], None] | None = None,
    ) -> None:
        self.dataset = dataset
        self.transformer = transformer
        self.seed = int(seed)
        self.buffer_rows = int(buffer_rows)
        self.settings = {
            "seed": self.seed,
            "val_fraction": val_fraction,
            "sample_rows": int(sample_rows),
            "val_rows": int(val_rows),
            "buffer_rows": self.buffer_rows,
            "chunk_rows": dataset.chunk_rows,
        }
        total = len(dataset)
        self.held_fraction = min(float(val_fraction), val_rows / total) if total >= 50 else 0.0
        train, held = Reservoir(sample_rows), Reservoir(val_rows)
        for piece in dataset.pieces:
            for number, frame in dataset.read_piece(piece):
                if on_chunk is not None:
                    on_chunk(frame)
                rng = self._chunk_rng(piece, number)
                out = rng.random(len(frame)) < self.held_fraction
                keys = rng.random(len(frame))
                train.add(frame[~out], keys[~out])
                held.add(frame[out], keys[out])
        self.n_rows = train.seen
        self.n_held = held.seen
        transformer.fit(train.frame)
        self._sample = transformer.transform(train.frame)
        empty = train.frame.iloc[:0] if held.frame is None else held.frame
        self._validation = transformer.transform(empty)

    def _chunk_rng(self, piece: Piece, number: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, 15, piece.file, piece.group, number])

    def fingerprint(self) -> str:
        doc = {"files": self.dataset.stamp, **self.settings}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def sample(self) -> np.ndarray:
        return self._sample

    def validation(self) -> np.ndarray:
        return self._validation

    def record(self) -> dict[str, Any]:
        """What the model file records of the streaming fit."""
        return {
            "dataset_rows": len(self.dataset),
            "files": len(self.dataset.files),
            "train_rows": self.n_rows,
            "held_out_rows": self.n_held,
            **self.settings,
        }

    def batches(self, batch_size: int, generator: torch.Generator) -> Iterator[np.ndarray]:
        """One epoch: row groups in a random order, rows shuffled within the buffer."""
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
        pieces = self.dataset.pieces
        keep = max(self.buffer_rows // 2, batch_size)
        parts: list[np.ndarray] = []
        buffered = 0
        for i in rng.permutation(len(pieces)):
            piece = pieces[int(i)]
            for number, frame in self.dataset.read_piece(piece):
                out = self._chunk_rng(piece, number).random(len(frame)) < self.held_fraction
                if out.any():
                    frame = frame[~out]
                parts.append(self.transformer.transform(frame, rng=rng.spawn(1)[0]))
                buffered += len(parts[-1])
                if buffered < self.buffer_rows:
                    continue
                rows = np.concatenate(parts)
                parts.clear()  # the buffer is held once: rows, then what stays of them
                order = rng.permutation(len(rows))
                n_out = (len(rows) - keep) // batch_size * batch_size
                for start in range(0, n_out, batch_size):
                    yield rows[order[start : start + batch_size]]
                parts, buffered = [rows[order[n_out:]]], len(rows) - n_out
                del rows
        rows = np.concatenate(parts) if parts else np.empty((0, self.transformer.output_dim_))
        order = rng.permutation(len(rows))
        n = len(rows)
        # the last partial batch only when over half a batch, or when it is the only one
        stop = max(n - batch_size // 2, min(n, 1)) if n == self.n_rows else n - batch_size // 2
        for start in range(0, max(stop, 0), batch_size):
            yield rows[order[start : start + batch_size]]


def check_streaming(kind: Any, dp_epsilon: float | None, dataset: ParquetDataset) -> None:
    """Refuse an out-of-core fit that needs the whole table in memory."""
    if not getattr(kind.network, "streams", True):
        raise UsageError(
            f"The table kind '{kind.name}' trains by sampling real rows by category, which "
            f"needs the whole table in memory; {dataset.path} is a Parquet dataset fitted out "
            "of core. Fit 'ar' or 'vae' on it, or fit this kind on one file that fits in memory.",
            param="model",
        )
    if dp_epsilon is not None:
        raise UsageError(
            f"{param('dp_epsilon')}: differentially private training samples batches from the "
            f"whole table in memory; {dataset.path} is a Parquet dataset fitted out of core. "
            "Fit it without a privacy budget, or fit one file that fits in memory.",
            param="dp_epsilon",
        )
