"""Block-seeded generation: rows ``[i*B, (i+1)*B)`` are a pure function of (model, seed,
conditions, i).

Each block ``i`` draws from its own random stream, ``numpy.random.SeedSequence(seed)``'s child
``i`` (the same as ``SeedSequence(seed).spawn(i + 1)[i]``), so any block can be made alone, in
any process, in any order: one process, K shards and a resumed run give the same rows. The
block size is fixed per data kind (tables :data:`TABLE_BLOCK_ROWS`, images
:data:`IMAGE_BLOCK_ROWS`) and recorded with sharded outputs; changing it changes the rows, so
it is part of the output's identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from synthgen.errors import UsageError, param

TABLE_BLOCK_ROWS = 65_536
IMAGE_BLOCK_ROWS = 64
# candidate rows drawn per step inside a table block: fixed sizes that cover the block, so a
# block cut short (the last block of N rows) is the first rows of the same block made in full;
# small requests draw little, a full block takes three draws (then top-ups sized from the
# block's own acceptance so far, never from the rows asked for). Odd sizes on purpose: a
# draw of a power-of-two rows ran 30-40 % slower (its (columns, rows) tensors alias in cache).
TABLE_PIECES = (999, 7001, 57539)


def block_seed_sequence(seed: int, index: int) -> np.random.SeedSequence:
    """The stream of block ``index`` (child ``index`` of ``SeedSequence(seed)``)."""
    return np.random.SeedSequence(int(seed), spawn_key=(int(index),))


def block_generators(seed: int, index: int) -> tuple[np.random.Generator, torch.Generator]:
    """A numpy and a CPU torch generator for block ``index``, both from its stream."""
    return _generators(block_seed_sequence(seed, index))


def probe_generators(seed: int) -> tuple[np.random.Generator, torch.Generator]:
    """Generators for work that must not touch any block's stream (a rejection-rate probe):
    from the root ``SeedSequence(seed)``, which no block uses."""
    return _generators(np.random.SeedSequence(int(seed)))


def _generators(seq: np.random.SeedSequence) -> tuple[np.random.Generator, torch.Generator]:
    words = seq.generate_state(2, np.uint64)
    torch_gen = torch.Generator(device="cpu")
    torch_gen.manual_seed(int(words[0]) & (2**63 - 1))
    return np.random.default_rng(np.random.SeedSequence(int(words[1]))), torch_gen


def next_piece(step: int, have: int, drawn: int, block_rows: int) -> int:
    """Candidate rows to draw at ``step`` of a table block that has kept ``have`` of ``drawn``
    rows: the fixed schedule, then enough for the rest of the whole block at the acceptance
    seen so far (+10 %). A function of the block's own history only, so a block cut short
    takes the same steps as the full one up to where it stops."""
    if step < len(TABLE_PIECES):
        return TABLE_PIECES[step]
    rate = max(have / max(drawn, 1), 1e-3)
    need = max(block_rows - have, 1)
    return int(min(max(-(-need * 11 // 10) / rate, TABLE_PIECES[0]), 4 * block_rows))


def n_blocks(rows: int, block_rows: int) -> int:
    return -(-int(rows) // int(block_rows))


def block_length(rows: int, block_rows: int, index: int) -> int:
    """Rows of block ``index`` in an output of ``rows`` rows (the last may be short)."""
    return max(0, min(block_rows, rows - index * block_rows))


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of a sharded output: blocks ``[first_block, end_block)``, rows
    ``[start, stop)``."""

    index: int
    first_block: int
    end_block: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start


def plan_shards(rows: int, shards: int, block_rows: int) -> list[Shard]:
    """Split ``rows`` into ``shards`` runs of whole blocks, as even as blocks allow (refused:
    zero shards, or more shards than blocks)."""
    blocks = n_blocks(rows, block_rows)
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise UsageError(f"{param('shards')} must be at least 1, got {shards}.", param="shards")
    if shards > blocks:
        raise UsageError(
            f"{param('shards')} {shards} is more than the {blocks} block(s) of {block_rows} rows "
            f"that {rows} rows make; a shard holds whole blocks, so use at most {blocks}.",
            param="shards",
        )
    out = []
    for j in range(shards):
        first = j * blocks // shards
        end = (j + 1) * blocks // shards
        out.append(Shard(j, first, end, first * block_rows, min(rows, end * block_rows)))
    return out
