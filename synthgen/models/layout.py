"""The output layout models read: spans of the transformed table and the discrete blocks."""

from __future__ import annotations

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
    """Draw one category per row from softmax(logits), as a one-hot matrix.

    Gumbel-max: argmax(logits + G) with G = -log(-log U), U uniform; no softmax or cumulative
    sum is needed, and uniform draws are several times cheaper than exponential ones on CPU.
    """
    neg_gumbel = torch.rand(logits.shape, generator=generator).log_().neg_().log_()
    choice = torch.argmax(logits.float() - neg_gumbel.to(logits.device), dim=1, keepdim=True)
    out = torch.zeros(logits.shape, dtype=logits.dtype, device=logits.device)
    return out.scatter_(1, choice, 1.0)
