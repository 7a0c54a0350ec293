"""``ar``: an autoregressive network over the columns (the TabularARGN family).

Every column is discrete: categories and booleans as they are, numbers and datetimes as quantile
bins (``numeric_encoding="binned"``, see ``synthgen.transform.binned``). The model factorises a
row as p(c) * prod_j p(x_j | c, x_<j), with the schema's condition columns c first. The
condition vectors are drawn from the training rows' own combinations (restricted to the fixed
ones when conditioning), so conditioning on condition columns is exact and any subset of them
gets its right conditional distribution; each other column is drawn from its head, one network
pass per column over all rows at once. With ``dp_epsilon`` the network trains by DP-SGD
(``ar_private``: the clipped gradient sum for Opacus' optimiser) and the condition pool comes
from the transformer's noisy counts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from synthgen.core.trainable import update_average
from synthgen.errors import UsageError
from synthgen.tabular.models.ar_net import ARNet
from synthgen.tabular.models.ar_private import private_condition_codes, private_step
from synthgen.tabular.models.base import TabularModel
from synthgen.tabular.models.layout import Draw, Layout

BLOCK_ROWS = 8192  # rows drawn together on CPU


@dataclass
class ARConfig:
    """Network and optimiser settings of the autoregressive model."""

    embedding_dim: int = 8  # per column
    hidden: int = 32  # units of each column's head
    depth: int = 0  # per-head hidden layers after the first
    dropout: float = 0.1
    lr: float = 2e-3
    weight_decay: float = 1e-5
    # rows, validation and early stopping use this weight average; its decay ramps up as
    # (1 + step) / (10 + step), so in a fit of under ~2,000 steps the ramp, not this cap, sets it
    ema_decay: float = 0.995


class TabularAR(TabularModel):
    """Autoregressive model over the discrete columns of the transformed table."""

    kind = "ar"
    config_cls = ARConfig

    def __init__(self, config: ARConfig, layout: Layout, condition_columns: list[str]) -> None:
        super().__init__(config, layout, condition_columns)
        scalar = [b.column for b in layout.blocks if b.activation != "softmax"]
        if scalar:
            raise UsageError(
                "The 'ar' model needs every column discrete: fit it with numeric_encoding "
                f"'binned' (columns {', '.join(sorted(set(scalar)))} are scalar spans)."
            )
        blocks = list(layout.blocks)
        conds = [i for i, b in enumerate(blocks) if b.column in condition_columns]
        rest = [i for i, b in enumerate(blocks) if b.column not in condition_columns]
        self.order = conds + rest  # generation position -> layout block index
        self.n_cond = len(conds)
        self.widths = [blocks[i].width for i in self.order]
        self.net = ARNet(
            self.widths,
            self.n_cond,
            config.embedding_dim,
            config.hidden,
            config.depth,
            config.dropout,
        )
        self.ema = copy.deepcopy(self.net).requires_grad_(False)
        self._ema_steps = torch.zeros((), dtype=torch.long)
        dim = layout.dim
        slot_value = torch.zeros(dim, len(blocks))  # one-hot matrix @ this = codes per block
        for pos, i in enumerate(self.order):
            b = blocks[i]
            slot_value[b.start : b.end, pos] = torch.arange(b.width, dtype=torch.float32)
        self.slot_value = slot_value
        self.inverse_order = torch.argsort(torch.tensor(self.order, dtype=torch.long))
        self.c_pool = torch.zeros(0, self.n_cond, dtype=torch.long)  # condition combinations
        self.c_counts = torch.zeros(0)

    # --- modules and state ---------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"net": self.net, "net_ema": self.ema}

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {"c_pool": self.c_pool, "c_counts": self.c_counts, "ema_steps": self._ema_steps}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        self._ema_steps = tensors["ema_steps"].clone()
        pool = tensors["c_pool"].long()
        if pool.ndim != 2 or pool.shape[1] != self.n_cond:
            raise ValueError("condition pool of the wrong shape")
        self.c_pool, self.c_counts = pool, tensors["c_counts"].float()

    def to(self, device: torch.device) -> TabularAR:
        super().to(device)
        self.slot_value = self.slot_value.to(device)
        self.c_pool, self.c_counts = self.c_pool.to(device), self.c_counts.to(device)
        return self

    # --- differential privacy --------------------------------------------------------------
    supports_privacy = True

    def make_private(self) -> None:
        """DP-SGD on the network, each row's gradient clipped by ``ar_private`` (no Opacus
        hooks); the condition pool from the transformer's noisy counts."""
        super().make_private()

    def private_optimizers(self) -> list[str]:
        return ["ar"]

    def private_modules(self, optimizer: str) -> list[nn.Module]:
        return []  # no Opacus hooks: ``ar_private.private_step`` clips the rows itself

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opt = torch.optim.AdamW(
            self.net.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        return {"ar": opt}

    # --- training --------------------------------------------------------------------------
    def codes(self, matrix: torch.Tensor) -> torch.Tensor:
        """Slot codes (n, columns) in generation order from one-hot rows (one matmul)."""
        return (matrix @ self.slot_value).round_().long()

    def train_step(self, batch, optimizers):
        if self.private:
            return private_step(self, batch, optimizers)
        opt = optimizers["ar"]
        opt.zero_grad(set_to_none=True)
        with self.autocast():
            loss = self.net.nll(self.codes(batch)).mean()
        loss.backward()
        opt.step()
        update_average(self.ema, self.net, int(self._ema_steps), self.config.ema_decay)
        self._ema_steps += 1
        return {"nll": loss.item()}

    def validation_loss(self, data: torch.Tensor) -> float:
        total = 0.0
        for start in range(0, len(data), 4096):
            total += self.ema.nll(self.codes(data[start : start + 4096])).sum().item()
        return total / max(len(data), 1)

    def finish(self, data: torch.Tensor, advance=lambda n=1: None) -> None:
        """Store the training rows' condition combinations and their counts (a private fit:
        the product of the condition columns' noisy counts)."""
        if self.private:
            pool, counts = private_condition_codes(self.layout, self.order, self.n_cond)
            self.c_pool, self.c_counts = pool.to(data.device), counts.to(data.device)
            return
        cond = self.codes(data)[:, : self.n_cond]
        if self.n_cond:
            pool, counts = torch.unique(cond, dim=0, return_counts=True)
        else:
            pool = cond[:1]
            counts = torch.tensor([len(data)], device=data.device)
        self.c_pool, self.c_counts = pool.long(), counts.float()

    # --- generation ------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, fixed: dict[str, int], generator: torch.Generator) -> torch.Tensor:
        return self.layout.to_matrix(self.sample_draw(n, fixed, generator))

    @torch.no_grad()
    def sample_draw(self, n: int, fixed: dict[str, int], generator: torch.Generator) -> Draw:
        """``n`` rows as slot codes in layout order (no scalar spans): the condition columns
        from the training combinations, then one head per column.

        Rows are drawn in blocks of ``BLOCK_ROWS``, so that each head's logits and cumulative
        weights stay in the CPU's cache; the random numbers are drawn for all rows at once, so
        the rows do not depend on the block size."""
        self.train(False)
        dev = self.device
        # bfloat16 on a GPU; on CPU float32 measured faster than bfloat16 here (the heads are
        # small, and the slot draw needs float32 logits anyway)
        dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
        n_cols = len(self.widths)
        codes = torch.empty(n_cols, n, dtype=torch.long, device=dev)
        codes[: self.n_cond] = self._sample_conditions(n, fixed, generator).T
        u = torch.rand(n_cols - self.n_cond, n, generator=generator).to(dev)
        heads = self.ema.head_weights(dtype)
        table_t = self.ema.embedding.weight.T.to(dtype).contiguous()  # (emb, slots)
        block = n if dev.type == "cuda" else BLOCK_ROWS
        for start in range(0, n, block):
            rows = slice(start, min(start + block, n))
            codes[:, rows] = self._draw_block(codes[:, rows], u[:, rows], heads, table_t, dtype)
        layout_codes = codes[self.inverse_order.to(dev)]
        return Draw(torch.zeros(n, 0, device=dev), layout_codes.T)

    def _draw_block(self, cond, u, heads, table_t, dtype) -> torch.Tensor:
        """Codes (n_cols, rows) of a block whose condition rows are set in ``cond``.

        Everything runs transposed, rows along the last dimension: each column's embeddings
        are gathered straight into their rows of ``x_t``; every head's logits come out as
        (rows, width), which is the layout the slot draw wants."""
        n_cols, emb, offsets = len(self.widths), self.net.emb_dim, self.ema.offsets
        codes = cond.contiguous()
        x_t = torch.empty(n_cols * emb, codes.shape[1], dtype=dtype, device=codes.device)
        for pos in range(n_cols - 1):  # the last column's embedding is never read
            if pos >= self.n_cond:
                head = pos - self.n_cond
                codes[pos] = _draw_slots(ARNet.head_logits(x_t, heads[head]), u[head])
            out = x_t[pos * emb : (pos + 1) * emb]
            torch.index_select(table_t, 1, codes[pos] + offsets[pos], out=out)
        if n_cols > self.n_cond:
            codes[-1] = _draw_slots(ARNet.head_logits(x_t, heads[-1]), u[-1])
        return codes

    def _sample_conditions(
        self, n: int, fixed: dict[str, int], generator: torch.Generator
    ) -> torch.Tensor:
        """(n, n_cond) condition codes: training combinations drawn by their counts, among
        those that match ``fixed``; when none does, the fixed slots with the others drawn
        from their own training margins."""
        pool, counts = self.c_pool.cpu(), self.c_counts.cpu()
        if self.n_cond == 0:
            return torch.zeros(n, 0, dtype=torch.long, device=self.device)
        names = [self.layout.blocks[i].column for i in self.order[: self.n_cond]]
        keep = torch.ones(len(pool), dtype=torch.bool)
        for pos, name in enumerate(names):
            if name in fixed:
                keep &= pool[:, pos] == fixed[name]
        if keep.any():
            index = keep.nonzero().squeeze(1)
            pick = index[torch.multinomial(counts[keep], n, replacement=True, generator=generator)]
            return pool[pick].to(self.device)
        out = torch.empty(n, self.n_cond, dtype=torch.long)
        for pos, name in enumerate(names):
            if name in fixed:
                out[:, pos] = fixed[name]
                continue
            margin = torch.zeros(self.widths[pos]).index_add_(0, pool[:, pos], counts)
            out[:, pos] = torch.multinomial(margin, n, replacement=True, generator=generator)
        return out.to(self.device)


def _draw_slots(logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """One slot per row of fresh ``logits`` (n, width) from their softmax, by inverse CDF with
    the uniforms ``u`` (n,): the cumulative weights along each row, then a binary search for
    ``u`` times the row's total (worked on in place; int64)."""
    weight = logits if logits.dtype == torch.float32 else logits.float()
    cdf = torch.cumsum(weight.sub_(weight.amax(1, keepdim=True)).exp_(), 1)
    slot = torch.searchsorted(cdf, (cdf[:, -1] * u).unsqueeze(1)).squeeze(1)
    return slot.clamp_(max=logits.shape[1] - 1)
