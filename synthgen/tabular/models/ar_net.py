"""The network of the ``ar`` kind: per-column embeddings and one head per generated column.

Columns are placed in a fixed order (the schema's condition columns first). Every column's slot
is embedded (``emb`` dims each); the head of the column at position ``j`` reads the embeddings of
the columns before it only, through a masked first layer, and ends in that column's logits.
Training computes every head in one pass (a masked matmul, then batched per-head layers);
sampling runs one head at a time on the columns drawn so far.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NEG = -1e4  # logit of a padding slot (a column with fewer slots than the widest)


class ARNet(nn.Module):
    """Embeddings of ``widths`` columns (in generation order); heads for the columns from
    ``first_head`` on."""

    def __init__(
        self,
        widths: list[int],
        first_head: int,
        emb: int,
        hidden: int,
        depth: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.widths = list(widths)
        self.first_head = first_head
        self.emb_dim, self.hidden, self.depth = emb, hidden, depth
        n_cols, n_heads = len(widths), len(widths) - first_head
        self.n_heads = n_heads
        kmax = max(widths[first_head:], default=1)
        self.embedding = nn.Embedding(max(sum(widths), 1), emb)
        nn.init.normal_(self.embedding.weight, std=1.0)
        self.first = nn.Linear(n_cols * emb, n_heads * hidden)
        self.mid_weight = nn.Parameter(torch.empty(depth, n_heads, hidden, hidden))
        self.mid_bias = nn.Parameter(torch.zeros(depth, n_heads, 1, hidden))
        self.out_weight = nn.Parameter(torch.empty(n_heads, hidden, kmax))
        self.out_bias = nn.Parameter(torch.zeros(n_heads, 1, kmax))
        bound = hidden**-0.5
        nn.init.uniform_(self.mid_weight, -bound, bound)
        nn.init.uniform_(self.out_weight, -bound, bound)
        self.dropout = nn.Dropout(dropout)
        offsets = torch.tensor([0, *widths[:-1]], dtype=torch.long).cumsum(0)
        self.register_buffer("offsets", offsets, persistent=False)
        mask = torch.zeros(n_heads * hidden, n_cols * emb)
        for h in range(n_heads):
            mask[h * hidden : (h + 1) * hidden, : (first_head + h) * emb] = 1.0
        self.register_buffer("mask", mask, persistent=False)
        pad = torch.zeros(n_heads, 1, kmax)
        for h in range(n_heads):
            pad[h, 0, widths[first_head + h] :] = NEG
        self.register_buffer("pad", pad, persistent=False)

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """(n, n_cols) slot codes -> (n, n_cols * emb) embeddings side by side."""
        return self.embedding(codes + self.offsets).flatten(1)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """Logits of every head, (n_heads, n, kmax) (padding slots at ``NEG``)."""
        x = self.dropout(self.embed(codes))
        h = F.silu(F.linear(x, self.first.weight * self.mask, self.first.bias))
        h = h.view(len(codes), self.n_heads, self.hidden).transpose(0, 1)  # (heads, n, hidden)
        for d in range(self.depth):
            h = F.silu(torch.baddbmm(self.mid_bias[d], self.dropout(h), self.mid_weight[d]))
        return torch.baddbmm(self.out_bias + self.pad, self.dropout(h), self.out_weight)

    def nll(self, codes: torch.Tensor) -> torch.Tensor:
        """Per-row negative log-likelihood of the generated columns, (n,)."""
        logp = F.log_softmax(self.forward(codes).float(), dim=2)  # faster than logsumexp on CPU
        target = codes[:, self.first_head :].T.unsqueeze(2)  # (heads, n, 1)
        return -logp.gather(2, target).squeeze(2).sum(0)

    def head_weights(self, dtype: torch.dtype) -> list[tuple[torch.Tensor, ...]]:
        """Each head's weights in ``dtype``, cut to what it reads and writes (for sampling on
        transposed activations): first weight and bias, the per-head layers' (transposed)
        weights and biases (biases as columns), output weight and bias."""
        heads = []
        for head in range(self.n_heads):
            cols = (self.first_head + head) * self.emb_dim
            rows = slice(head * self.hidden, (head + 1) * self.hidden)
            width = self.widths[self.first_head + head]
            parts = [self.first.weight[rows, :cols], self.first.bias[rows, None]]
            for d in range(self.depth):
                parts += [self.mid_weight[d, head].T, self.mid_bias[d, head, 0, :, None]]
            parts += [self.out_weight[head, :, :width], self.out_bias[head, 0, :width]]
            heads.append(tuple(p.to(dtype).contiguous() for p in parts))
        return heads

    @staticmethod
    def head_logits(x_t: torch.Tensor, weights: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Logits (n, width) of one head (``head_weights``) from the transposed embeddings
        ``x_t`` (>= its inputs, n) of the columns drawn so far."""
        w, b = weights[0], weights[1]
        h = F.silu(torch.addmm(b, w, x_t[: w.shape[1]]), inplace=True)
        for i in range(2, len(weights) - 2, 2):
            h = F.silu(torch.addmm(weights[i + 1], weights[i], h), inplace=True)
        return torch.addmm(weights[-1], h.T, weights[-2])
