"""``cgan``: a CTGAN-family conditional GAN.

A conditional vector over the discrete columns with training-by-sampling (a column uniformly,
then a category by log-frequency, then a real row holding it), a PacGAN critic trained with
WGAN-GP, and output heads per transformer span (tanh for mode-specific scalars, identity for
quantile-normal ones, Gumbel-softmax for one-hots). The registry encodes numbers quantile-normal
for it by default (one span per column: faster steps, and on Adult higher quality and TSTR than
CTGAN's mode-specific encoding); ``numeric_encoding="mode"`` gives CTGAN's.
Rows are drawn from an exponential moving average of the generator's weights (``ema_decay``),
which smooths the oscillation of adversarial training.
Row sampling by category is vectorised on the device: no per-row Python.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from synthgen.core.trainable import update_average
from synthgen.tabular.models.base import TabularModel
from synthgen.tabular.models.cgan_private import private_step
from synthgen.tabular.models.layout import Draw, Layout, apply_activations, cpu_bf16, sample_codes

SAMPLE_SLICE_ROWS = 16_384  # rows per generator pass when sampling


@dataclass
class CGANConfig:
    """Network and optimiser settings of the conditional GAN."""

    embedding_dim: int = 128
    generator_dim: tuple[int, ...] = (256, 256)
    discriminator_dim: tuple[int, ...] = (256, 256)
    generator_lr: float = 2e-4
    discriminator_lr: float = 2e-4
    weight_decay: float = 1e-6
    pac: int = 10
    gp_lambda: float = 10.0
    gumbel_tau: float = 0.2
    discriminator_steps: int = 1
    ema_decay: float = 0.999  # 0 samples from the trained generator itself

    # model files written before a field existed were trained without it
    written_before: ClassVar[dict[str, Any]] = {"ema_decay": 0.0}


class Residual(nn.Module):
    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.fc = nn.Linear(i, o)
        self.bn = nn.BatchNorm1d(o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    def __init__(self, in_dim: int, dims: tuple[int, ...], out_dim: int) -> None:
        super().__init__()
        layers, d = [], in_dim
        for h in dims:
            layers.append(Residual(d, h))
            d += h
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(d, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x))


class Critic(nn.Module):
    def __init__(self, in_dim: int, dims: tuple[int, ...], pac: int) -> None:
        super().__init__()
        self.pac = pac
        layers: list[nn.Module] = []
        d = in_dim * pac
        for h in dims:
            layers += [nn.Linear(d, h), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            d = h
        layers.append(nn.Linear(d, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.reshape(-1, x.shape[1] * self.pac))


class TabularCGAN(TabularModel):
    """Conditional WGAN-GP over the transformed table."""

    kind = "cgan"
    config_cls = CGANConfig
    select_best = False  # adversarial losses do not rank weights; the EMA keeps the last ones
    streams = False  # training-by-sampling picks real rows by category: all rows in memory

    def __init__(self, config: CGANConfig, layout: Layout, condition_columns: list[str]) -> None:
        super().__init__(config, layout, condition_columns)
        self.cond_dim = sum(d.width for d in layout.discrete)
        self.generator = Generator(
            config.embedding_dim + self.cond_dim, config.generator_dim, layout.dim
        )
        self.critic = Critic(layout.dim + self.cond_dim, config.discriminator_dim, config.pac)
        self.ema: Generator | None = None
        self._ema_steps = torch.zeros((), dtype=torch.long)
        if config.ema_decay > 0:
            self.ema = copy.deepcopy(self.generator).requires_grad_(False)
        # per discrete column: offset in the cond vector, start in the data, width
        self.cond_offsets, off = [], 0
        for d in layout.discrete:
            self.cond_offsets.append(off)
            off += d.width
        counts = [torch.tensor(d.counts, dtype=torch.float32) for d in layout.discrete]
        self.freq = [c / c.sum().clamp_min(1) for c in counts]
        self.log_freq = [torch.log1p(c) / torch.log1p(c).sum().clamp_min(1e-8) for c in counts]

    def modules(self) -> dict[str, nn.Module]:
        out = {"generator": self.generator, "critic": self.critic}
        if self.ema is not None:
            out["generator_ema"] = self.ema
        return out

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {"ema_steps": self._ema_steps} if self.ema is not None else {}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        if self.ema is not None:
            self._ema_steps = tensors["ema_steps"].clone()

    # --- differential privacy --------------------------------------------------------------
    supports_privacy = True

    def make_private(self) -> None:
        """DP-SGD on the critic only (the generator learns through it: post-processing).
        Each critic input is one row (no packing, which would put several rows in one
        clipped gradient), the loss is the logistic GAN loss (Opacus cannot clip the gradient
        penalty's second derivatives), one critic step per generator step, and real rows come
        from the Poisson batch (no training-by-sampling index over the rows)."""
        super().make_private()
        self.config = dataclasses.replace(self.config, pac=1, discriminator_steps=1, gp_lambda=0.0)
        self.critic = Critic(self.layout.dim + self.cond_dim, self.config.discriminator_dim, 1)
        self.critic.to(self.device)

    def private_optimizers(self) -> list[str]:
        return ["critic"]

    def private_modules(self, optimizer: str) -> list[nn.Module]:
        return [self.critic]

    def _private_step(self, real: torch.Tensor, optimizers) -> dict[str, float]:
        return private_step(self, real, optimizers)

    @property
    def sampler(self) -> Generator:
        """The generator rows are drawn from: the weight average when there is one."""
        return self.ema if self.ema is not None else self.generator

    def _update_ema(self) -> None:
        if self.ema is None:
            return
        update_average(self.ema, self.generator, int(self._ema_steps), self.config.ema_decay)
        self._ema_steps += 1

    @property
    def conditionable(self) -> list[str]:
        return [d.column for d in self.layout.discrete]

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        return {
            "generator": torch.optim.Adam(
                self.generator.parameters(),
                lr=c.generator_lr,
                betas=(0.5, 0.9),
                weight_decay=c.weight_decay,
            ),
            "critic": torch.optim.Adam(
                self.critic.parameters(),
                lr=c.discriminator_lr,
                betas=(0.5, 0.9),
                weight_decay=c.weight_decay,
            ),
        }

    # --- training-by-sampling --------------------------------------------------------------
    def prepare(self, data: torch.Tensor) -> None:
        """Index rows by (column, category) so a real row with a category is one gather."""
        self._data = data
        n_disc = len(self.layout.discrete)
        if n_disc == 0:
            return
        width = max(d.width for d in self.layout.discrete)
        self._freq_t = torch.zeros(n_disc, width, device=data.device)
        for j, p in enumerate(self.freq):
            self._freq_t[j, : len(p)] = p.to(data.device)
        if self.private:
            return
        cats = torch.stack(
            [data[:, d.start : d.start + d.width].argmax(1) for d in self.layout.discrete], 1
        )  # (n, n_disc)
        order, starts, sizes = [], [], []
        for j, d in enumerate(self.layout.discrete):
            o = torch.argsort(cats[:, j], stable=True)
            order.append(o)
            size = torch.bincount(cats[:, j], minlength=d.width)
            sizes.append(size)
            starts.append(torch.cumsum(size, 0) - size)
        self._order = torch.stack(order)  # (n_disc, n)
        width = max(d.width for d in self.layout.discrete)
        self._starts = torch.stack([F.pad(s, (0, width - len(s))) for s in starts])
        self._sizes = torch.stack([F.pad(s, (0, width - len(s))) for s in sizes])
        lf = torch.zeros(n_disc, width, device=data.device)
        for j, p in enumerate(self.log_freq):
            lf[j, : len(p)] = p.to(data.device)
        self._log_freq = lf

    def _cond_batch(
        self, n: int, private: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample (cond vector, column index, category) by log-frequency (by the noisy
        frequency in a private fit, where real rows' conditions follow the data)."""
        dev = self._data.device
        n_disc = len(self.layout.discrete)
        col = torch.randint(0, n_disc, (n,), device=dev)
        table = self._freq_t if private else self._log_freq
        cat = torch.multinomial(table[col], 1).squeeze(1)
        cond = torch.zeros(n, self.cond_dim, device=dev)
        offsets = torch.tensor(self.cond_offsets, device=dev)
        cond[torch.arange(n, device=dev), offsets[col] + cat] = 1.0
        return cond, col, cat

    def _rows_with(self, col: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        start = self._starts[col, cat]
        size = self._sizes[col, cat].clamp_min(1)
        pick = start + (torch.rand(len(col), device=col.device) * size).long().clamp_max(size - 1)
        return self._data[self._order[col, pick]]

    def steps_per_epoch(self, n_rows: int, batch_size: int) -> int:
        return max(1, n_rows // batch_size)

    def batch_granule(self) -> int:
        return self.config.pac

    def batches(self, data, batch_size, generator):
        n_steps = self.steps_per_epoch(len(data), batch_size)
        bs = max(self.config.pac, batch_size // self.config.pac * self.config.pac)
        for _ in range(n_steps):
            yield torch.empty(bs, 0, device=data.device)  # only the size is used

    # --- steps -----------------------------------------------------------------------------
    def _fake(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn(len(cond), self.config.embedding_dim, device=cond.device)
        with self.autocast():
            raw = self.generator(torch.cat([z, cond], 1)).float()
        return raw, apply_activations(raw, self.layout, gumbel_tau=self.config.gumbel_tau)

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        pac = self.config.pac
        alpha = torch.rand(real.shape[0] // pac, 1, 1, device=real.device)
        alpha = alpha.repeat(1, pac, real.shape[1]).view(-1, real.shape[1])
        inter = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        out = self.critic(inter)
        grad = torch.autograd.grad(out.sum(), inter, create_graph=True)[0]
        grad = grad.view(-1, pac * real.shape[1])
        return ((grad.norm(2, dim=1) - 1) ** 2).mean()

    def _cond_loss(self, raw: torch.Tensor, col: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        losses = []
        for j, d in enumerate(self.layout.discrete):
            mask = col == j
            logits = raw[:, d.start : d.start + d.width]
            ce = F.cross_entropy(logits, cat.clamp_max(d.width - 1), reduction="none")
            losses.append(ce * mask)
        return torch.stack(losses, 1).sum(1).mean()

    def train_step(self, batch, optimizers):
        if self.private:
            return self._private_step(batch, optimizers)
        n = batch.shape[0]
        dev = self._data.device
        has_cond = self.cond_dim > 0
        for _ in range(self.config.discriminator_steps):
            if has_cond:
                cond, col, cat = self._cond_batch(n)
                perm = torch.randperm(n, device=dev)
                real = self._rows_with(col[perm], cat[perm])
                real_cond = cond[perm]
            else:
                cond = real_cond = torch.zeros(n, 0, device=dev)
                real = self._data[torch.randint(0, len(self._data), (n,), device=dev)]
            _, fake = self._fake(cond)
            fake_in = torch.cat([fake, cond], 1)
            real_in = torch.cat([real, real_cond], 1)
            loss_d = self.critic(fake_in.detach()).mean() - self.critic(real_in).mean()
            gp = self._gradient_penalty(real_in, fake_in.detach())
            optimizers["critic"].zero_grad(set_to_none=True)
            (loss_d + self.config.gp_lambda * gp).backward()
            optimizers["critic"].step()
        if has_cond:
            cond, col, cat = self._cond_batch(n)
        raw, fake = self._fake(cond)
        loss_g = -self.critic(torch.cat([fake, cond], 1)).mean()
        if has_cond:
            loss_g = loss_g + self._cond_loss(raw, col, cat)
        optimizers["generator"].zero_grad(set_to_none=True)
        loss_g.backward()
        optimizers["generator"].step()
        self._update_ema()
        return {"g": loss_g.item(), "d": loss_d.item()}

    def validation_loss(self, data: torch.Tensor) -> float:
        """Gap to the held-out slice: mean |E[real] - E[fake]| per output dimension, the gap of
        per-dimension standard deviations (tracks mode collapse), and the mean gap of the
        pairwise correlations between output dimensions (tracks how columns move together)."""
        gen = torch.Generator(device="cpu")
        gen.manual_seed(0)
        fake = self.sample(len(data), {}, gen)
        gap = (data.mean(0) - fake.mean(0)).abs().mean() + (data.std(0) - fake.std(0)).abs().mean()
        return float(gap + (_correlation(data) - _correlation(fake)).abs().mean())

    # --- generation ------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, fixed: dict[str, int], generator: torch.Generator) -> torch.Tensor:
        return self.layout.to_matrix(self.sample_draw(n, fixed, generator))

    @torch.no_grad()
    def sample_draw(self, n: int, fixed: dict[str, int], generator: torch.Generator) -> Draw:
        """``n`` rows in span form (scalar values and drawn slots), in layout order."""
        self.train(False)
        dev = self.device
        cond = torch.zeros(n, self.cond_dim, device=dev)
        if self.cond_dim:
            if fixed:
                for j, d in enumerate(self.layout.discrete):
                    if d.column in fixed:
                        cond[:, self.cond_offsets[j] + fixed[d.column]] = 1.0
                        break
            else:
                col = torch.randint(0, len(self.layout.discrete), (n,), generator=generator)
                cat = self._sample_categories(col, generator)
                idx = torch.tensor(self.cond_offsets)[col] + cat
                cond[torch.arange(n), idx.to(dev)] = 1.0
        z = torch.randn(n, self.config.embedding_dim, generator=generator).to(dev)
        fast = dev.type == "cpu" and cpu_bf16()  # bfloat16 matmuls where the CPU has them
        inputs = torch.cat([z, cond], 1)
        del z, cond
        # (dim, n): every span a contiguous slab. The network runs on slices of rows: its
        # residual layers hold every hidden width side by side, which for a whole chunk would
        # be the largest allocation of generation (rows are independent in eval mode)
        raw_t = torch.empty(self.layout.dim, n, device=dev)
        with torch.autocast("cpu", dtype=torch.bfloat16) if fast else self.autocast():
            for start in range(0, n, SAMPLE_SLICE_ROWS):
                part = inputs[start : start + SAMPLE_SLICE_ROWS]
                raw_t[:, start : start + len(part)] = self.sampler(part).float().T
        del inputs
        scalars = self.layout.scalar_blocks
        if any(b.width != 1 for b in scalars):  # pragma: no cover - transformer invariant
            raise ValueError("the GAN expects scalar spans of width 1")
        values = raw_t[[b.start for b in scalars]]
        tanh = torch.tensor(
            [b.activation == "tanh" for b in scalars], dtype=torch.bool, device=dev
        ).unsqueeze(1)
        values = torch.where(tanh, torch.tanh(values), values)
        softmax = self.layout.softmax_blocks
        codes = sample_codes(raw_t, softmax, generator)
        starts = [b.start for b in softmax]
        for d in self.layout.discrete:
            if d.column in fixed:
                codes[starts.index(d.start)] = fixed[d.column]
        return Draw(values.T, codes.T)

    def _sample_categories(self, col: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Category per row by the training frequency of the row's column (vectorised)."""
        width = max(d.width for d in self.layout.discrete)
        table = torch.zeros(len(self.layout.discrete), width)
        for j, p in enumerate(self.freq):
            table[j, : len(p)] = p
        return torch.multinomial(table[col], 1, generator=generator).squeeze(1)


def _correlation(x: torch.Tensor) -> torch.Tensor:
    """Pearson correlations between the columns of ``x``; constant columns correlate 0."""
    x = x - x.mean(0)
    x = x / x.norm(dim=0).clamp_min(1e-8)
    return x.T @ x
