"""The output layout models read: spans of the transformed table and the discrete blocks."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Block:
    """One span placed in the transformed matrix."""

    column: str
    start: int
    width: int
    activation: str  # "tanh" | "linear" | "softmax"

    @property
    def end(self) -> int:
        return self.start + self.width


@dataclass(frozen=True)
class DiscreteBlock:
    """A categorical/boolean column's one-hot block, with training counts per slot."""

    column: str
    start: int
    width: int
    counts: tuple[float, ...]


@dataclass(frozen=True)
class Draw:
    """Sampled rows in span form, what generation decodes (no one-hot matrix is built).

    ``values`` (n, S) float32: one column per scalar span (tanh/linear), in layout order.
    ``codes`` (n, B) int64: the slot drawn in every softmax span, in layout order.
    """

    values: torch.Tensor
    codes: torch.Tensor

    def __len__(self) -> int:
        return len(self.codes)


@dataclass(frozen=True)
class Layout:
    """Everything a model needs to know about the transformed table."""

    blocks: tuple[Block, ...]
    discrete: tuple[DiscreteBlock, ...]

    @property
    def dim(self) -> int:
        return sum(b.width for b in self.blocks)

    @classmethod
    def from_transformer(cls, transformer) -> Layout:
        blocks, pos = [], 0
        for span in transformer.spans_:
            blocks.append(Block(span.column, pos, span.width, span.activation))
            pos += span.width
        discrete = tuple(
            DiscreteBlock(d.column, d.start, len(d.categories), tuple(float(c) for c in d.counts))
            for d in transformer.discrete_columns_
        )
        return cls(tuple(blocks), discrete)

    def subset(self, drop_columns: set[str]) -> Layout:
        """The layout with some columns removed and the rest packed (for VAE condition columns)."""
        blocks, pos = [], 0
        for b in self.blocks:
            if b.column in drop_columns:
                continue
            blocks.append(Block(b.column, pos, b.width, b.activation))
            pos += b.width
        return Layout(tuple(blocks), ())

    @property
    def scalar_blocks(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.activation != "softmax")

    @property
    def softmax_blocks(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.activation == "softmax")

    def to_matrix(self, draw: Draw) -> torch.Tensor:
        """The (n, dim) matrix of a draw: scalars in place, one-hot blocks hard."""
        n = len(draw)
        out = torch.zeros(n, self.dim, device=draw.values.device)
        scalars = self.scalar_blocks
        if scalars:
            pos = torch.tensor([b.start for b in scalars], device=out.device)
            out[:, pos] = draw.values.to(out.dtype)
        softmax = self.softmax_blocks
        if softmax:
            starts = torch.tensor([b.start for b in softmax], device=out.device)
            out.scatter_(1, draw.codes.to(out.device) + starts, 1.0)
        return out

    def columns_index(self, columns: list[str]) -> torch.Tensor:
        """Indices into the matrix of the given columns' blocks, in layout order."""
        idx = [i for b in self.blocks if b.column in columns for i in range(b.start, b.end)]
        return torch.tensor(idx, dtype=torch.long)


def apply_activations(
    raw: torch.Tensor,
    layout: Layout,
    *,
    gumbel_tau: float | None = None,
    generator: torch.Generator | None = None,
    hard_sample: bool = False,
) -> torch.Tensor:
    """Head activations per span: tanh for tanh spans, identity for linear, and for softmax spans
    either Gumbel-softmax (training a GAN), a hard one-hot sample (generation), or softmax."""
    parts = []
    for b in layout.blocks:
        x = raw[:, b.start : b.end]
        if b.activation == "tanh":
            parts.append(torch.tanh(x))
        elif b.activation == "linear":
            parts.append(x)
        elif hard_sample:
            parts.append(sample_one_hot(x, generator))
        elif gumbel_tau is not None:
            parts.append(F.gumbel_softmax(x, tau=gumbel_tau, hard=False))
        else:
            parts.append(torch.softmax(x, dim=1))
    return torch.cat(parts, dim=1)


def sample_one_hot(logits: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Draw one category per row from softmax(logits), as a one-hot matrix."""
    u = torch.rand(len(logits), generator=generator).to(logits.device)
    choice = sample_slots(logits.T, u).long().unsqueeze(1)
    out = torch.zeros(logits.shape, dtype=logits.dtype, device=logits.device)
    return out.scatter_(1, choice, 1.0)


def sample_slots(logits_t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """One slot per column of ``logits_t`` (width, n), drawn from the softmax over its rows by
    inverse CDF with the uniforms ``u`` (n,); int32.

    Needs one exp per logit and one uniform per column, no normalisation and no Gumbel noise:
    the slot is the number of cumulative weights below ``u`` times the total weight. With the
    slots along dim 0 every step is an elementwise pass across the columns.
    """
    weight = logits_t.to(torch.float32, copy=True)  # worked on in place; the input is kept
    cdf = weight.sub_(weight.amax(0)).exp_().cumsum_(0)
    # a handful of whole-block operations (not one per slot): few thread hand-offs
    return (cdf[:-1] < cdf[-1] * u).sum(0, dtype=torch.int32)


def sample_codes(
    raw_t: torch.Tensor, blocks: tuple[Block, ...], generator: torch.Generator | None
) -> torch.Tensor:
    """The drawn slot of every softmax block of transposed logits ``raw_t`` (dim, n), as a
    (len(blocks), n) int64 matrix; the uniforms of all blocks come from one draw."""
    n = raw_t.shape[1]
    codes = torch.empty(len(blocks), n, dtype=torch.long, device=raw_t.device)
    if blocks:
        u = torch.rand(len(blocks), n, generator=generator).to(raw_t.device)
        for j, b in enumerate(blocks):
            codes[j] = sample_slots(raw_t[b.start : b.end], u[j])
    return codes


@functools.cache
def cpu_bf16() -> bool:
    """Whether this CPU has native bfloat16 matmuls (AVX512-BF16 or AMX): decoding in bfloat16
    there is several times faster than float32 and only rounds the logits."""
    check = torch.cpu
    try:
        return bool(check._is_avx512_bf16_supported() or check._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - other torch builds
        return False


def marginal_product(
    columns: list[tuple[torch.Tensor, torch.Tensor]],
    limit: int,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``limit`` likeliest combinations of independent columns and their weights (for a DP
    condition pool: no joint counts of rows). Each column is ``(values, counts)``: one row of
    ``values`` per category (its encoding, e.g. a one-hot row or a slot code) and the
    category's (noisy) count; categories of no weight are left out."""
    pool = torch.zeros(1, 0, dtype=dtype)
    weight = torch.ones(1)
    for values, counts in columns:
        counts = counts.float().clamp_min(0)
        n = len(values)
        total = counts.sum()
        p = counts / total if total > 0 else torch.full_like(counts, 1.0 / n)
        pool = torch.cat([pool.repeat_interleave(n, 0), values.repeat(len(pool), 1)], dim=1)
        weight = (weight.unsqueeze(1) * p.unsqueeze(0)).reshape(-1)
        if len(weight) > limit:
            top = torch.argsort(weight, descending=True)[:limit]
            pool, weight = pool[top], weight[top]
    keep = weight > 0
    if not bool(keep.any()):
        keep[:] = True
    return pool[keep], weight[keep]
