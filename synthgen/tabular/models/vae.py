"""``vae``: a TVAE-family conditional VAE with per-span reconstruction losses.

The schema's condition columns are inputs to encoder and decoder, never outputs, so conditional
generation is exact by construction. After training, a Gaussian mixture is fitted to the
aggregate posterior of the training rows and used as the sampling prior (ex-post density
estimation), which closes most of the gap between the VAE prior and the data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthgen.tabular.models.base import TabularModel
from synthgen.tabular.models.layout import Draw, Layout, cpu_bf16, sample_codes
from synthgen.tabular.models.vae_conditions import VAEConditions, merge_orders
from synthgen.tabular.models.vae_prior import (
    condition_groups,
    fit_mixture,
    frequent_groups,
    private_condition_pool,
    sample_active,
)


@dataclass
class VAEConfig:
    """Network and loss settings of the VAE."""

    latent_dim: int = 64
    hidden: tuple[int, ...] = (128, 128)
    lr: float = 1e-3
    weight_decay: float = 1e-5
    beta: float = 1.0  # KL weight
    loss_factor: float = 2.0  # reconstruction weight, as TVAE
    prior_components: int = 30  # 0 = standard normal prior
    dropout: float = 0.0


def _mlp(sizes: list[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.SiLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    def __init__(self, x_dim: int, c_dim: int, cfg: VAEConfig) -> None:
        super().__init__()
        self.body = _mlp([x_dim + c_dim, *cfg.hidden], cfg.dropout)
        self.mu = nn.Linear(cfg.hidden[-1], cfg.latent_dim)
        self.logvar = nn.Linear(cfg.hidden[-1], cfg.latent_dim)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(torch.cat([x, c], dim=1))
        return self.mu(h), self.logvar(h).clamp(-12, 8)


class Decoder(nn.Module):
    def __init__(self, x_dim: int, c_dim: int, n_scalar: int, cfg: VAEConfig) -> None:
        super().__init__()
        self.body = _mlp([cfg.latent_dim + c_dim, *reversed(cfg.hidden)], cfg.dropout)
        self.out = nn.Linear(cfg.hidden[0], x_dim)
        self.log_sigma = nn.Parameter(torch.full((max(n_scalar, 1),), -1.0))

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(torch.cat([z, c], dim=1)))


class TabularVAE(VAEConditions, TabularModel):
    """Conditional VAE over the transformed table."""

    kind = "vae"
    config_cls = VAEConfig

    def __init__(self, config: VAEConfig, layout: Layout, condition_columns: list[str]) -> None:
        super().__init__(config, layout, condition_columns)
        self.x_layout = layout.subset(set(condition_columns))
        self.c_layout = Layout(tuple(b for b in layout.blocks if b.column in condition_columns), ())
        self.x_index = layout.columns_index(
            [b.column for b in layout.blocks if b.column not in condition_columns]
        )
        self.c_index = layout.columns_index(list(condition_columns))
        scalars = [b for b in self.x_layout.blocks if b.activation != "softmax"]
        if any(b.width != 1 for b in scalars):
            raise ValueError("the VAE expects scalar spans of width 1")
        self.scalar_pos = torch.tensor([b.start for b in scalars], dtype=torch.long)
        self.scalar_tanh = torch.tensor([b.activation == "tanh" for b in scalars], dtype=torch.bool)
        x_dim, c_dim = self.x_layout.dim, len(self.c_index)
        self._value_order, self._code_order = merge_orders(layout, set(condition_columns))
        self.encoder = Encoder(x_dim, c_dim, config)
        self.decoder = Decoder(x_dim, c_dim, len(self.scalar_pos), config)
        self.prior_active = torch.zeros(config.latent_dim, dtype=torch.bool)
        self.prior_group = torch.zeros(0, dtype=torch.long)  # pool index per component, -1 all
        self.prior_weights = torch.zeros(0)
        self.prior_means = torch.zeros(0, config.latent_dim)
        self.prior_chol = torch.zeros(0, config.latent_dim, config.latent_dim)
        # distinct condition vectors seen in training, with their counts (sampling pool)
        self.c_pool = torch.zeros(0, c_dim)
        self.c_counts = torch.zeros(0)

    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "decoder": self.decoder}

    # --- differential privacy --------------------------------------------------------------
    supports_privacy = True

    def make_private(self) -> None:
        """DP-SGD on encoder and decoder; a standard-normal prior (no mixture fitted to the
        rows), condition vectors drawn from the transformer's noisy counts, and a fixed
        decoder noise scale (Opacus clips per-sample gradients of layers only)."""
        super().make_private()
        self.config = dataclasses.replace(self.config, prior_components=0)
        self.decoder.log_sigma.requires_grad_(False)

    def private_optimizers(self) -> list[str]:
        return ["vae"]

    def private_modules(self, optimizer: str) -> list[nn.Module]:
        return [self.encoder, self.decoder]

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {
            "prior_active": self.prior_active,
            "prior_group": self.prior_group,
            "prior_weights": self.prior_weights,
            "prior_means": self.prior_means,
            "prior_chol": self.prior_chol,
            "c_pool": self.c_pool,
            "c_counts": self.c_counts,
        }

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        self.prior_active = tensors["prior_active"].bool()
        self.prior_group = tensors["prior_group"].long()
        self.prior_weights = tensors["prior_weights"]
        self.prior_means = tensors["prior_means"]
        self.prior_chol = tensors["prior_chol"]
        self.c_pool = tensors["c_pool"]
        self.c_counts = tensors["c_counts"]

    def to(self, device: torch.device) -> TabularVAE:
        super().to(device)
        for name in (
            "x_index",
            "c_index",
            "scalar_pos",
            "scalar_tanh",
            "prior_active",
            "prior_group",
            "prior_weights",
            "prior_means",
            "prior_chol",
            "c_pool",
            "c_counts",
        ):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = list(self.encoder.parameters()) + list(self.decoder.parameters())
        return {
            "vae": torch.optim.AdamW(
                params, lr=self.config.lr, weight_decay=self.config.weight_decay
            )
        }

    # --- loss ------------------------------------------------------------------------------
    def _split(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return batch[:, self.x_index], batch[:, self.c_index]

    def _reconstruction(self, recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-row negative log-likelihood: Gaussian with a learned sigma per scalar span
        (vectorised over all of them), cross-entropy per one-hot span."""
        total = torch.zeros(x.shape[0], device=x.device, dtype=torch.float32)
        if len(self.scalar_pos):
            pred = recon[:, self.scalar_pos].float()
            pred = torch.where(self.scalar_tanh, torch.tanh(pred), pred)
            log_sigma = self.decoder.log_sigma
            err = (x[:, self.scalar_pos] - pred) ** 2
            total = total + (err / (2 * torch.exp(2 * log_sigma)) + log_sigma).sum(1)
        for b in self.x_layout.blocks:
            if b.activation == "softmax":
                target = x[:, b.start : b.end].argmax(1)
                logits = recon[:, b.start : b.end].float()
                total = total + F.cross_entropy(logits, target, reduction="none")
        return total

    def _loss(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, c = self._split(batch)
        mu, logvar = self.encoder(x, c)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        recon = self.decoder(z, c)
        rec = self._reconstruction(recon, x).mean()
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
        return self.config.loss_factor * rec + self.config.beta * kl, rec, kl

    def train_step(self, batch, optimizers):
        opt = optimizers["vae"]
        opt.zero_grad(set_to_none=True)
        with self.autocast():
            loss, rec, kl = self._loss(batch)
        loss.backward()
        opt.step()
        with torch.no_grad():
            self.decoder.log_sigma.clamp_(-4.0, 1.0)
        return {"loss": loss.item(), "rec": rec.item(), "kl": kl.item()}

    def validation_loss(self, data: torch.Tensor) -> float:
        total, n = 0.0, 0
        for start in range(0, len(data), 4096):
            chunk = data[start : start + 4096]
            x, c = self._split(chunk)
            mu, logvar = self.encoder(x, c)
            rec = self._reconstruction(self.decoder(mu, c), x)
            kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
            total += (rec + kl).sum().item()
            n += len(chunk)
        return total / max(n, 1)

    # --- prior -----------------------------------------------------------------------------
    finish_description = "fitting latent prior"

    def finish_steps(self, data: torch.Tensor) -> int:
        if self.config.prior_components <= 0:
            return 0
        return 1 + len(frequent_groups(condition_groups(data, self.c_index)[2]))

    def finish(self, data: torch.Tensor, advance=lambda n=1: None) -> None:
        """Store the training condition vectors and fit the latent mixture prior.

        A Gaussian mixture is fitted to the encoded training rows of each frequent condition
        vector (and one to all rows, for the rest), so sampled latents agree with the condition
        they are decoded with. Only active latent dimensions (mean KL above a floor) are
        modelled; collapsed ones keep the standard normal prior. Fits take seconds.
        """
        if self.private:
            pool, counts = private_condition_pool(self.layout, self.condition_columns)
            self.c_pool, self.c_counts = pool.to(data.device), counts.to(data.device)
            return
        pool, inverse, counts = condition_groups(data, self.c_index)
        self.c_pool, self.c_counts = pool.float(), counts.float()
        if self.config.prior_components <= 0:
            return
        mus, kls = [], []
        for start in range(0, len(data), 4096):
            x, c = self._split(data[start : start + 4096])
            mu, logvar = self.encoder(x, c)
            mus.append(mu.float().cpu())
            kls.append((-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).float().cpu())
        active = torch.cat(kls).mean(0) > 0.05
        if not bool(active.any()):
            return
        z = torch.cat(mus)[:, active].numpy().astype(np.float64)
        groups = [(-1, np.arange(len(z)))]
        inverse = inverse.cpu().numpy()
        groups += [(int(g), np.flatnonzero(inverse == g)) for g in frequent_groups(counts)]
        k = self.config.prior_components
        parts = []
        for g, rows in groups:
            parts.append(fit_mixture(z, rows, g, k))
            advance(1)
        dev = data.device
        self.prior_active = active.to(dev)
        self.prior_group = torch.as_tensor(np.concatenate([p[0] for p in parts]), device=dev)
        self.prior_weights = torch.as_tensor(
            np.concatenate([p[1] for p in parts]), dtype=torch.float32, device=dev
        )
        self.prior_means = torch.as_tensor(
            np.concatenate([p[2] for p in parts]), dtype=torch.float32, device=dev
        )
        self.prior_chol = torch.as_tensor(
            np.concatenate([p[3] for p in parts]), dtype=torch.float32, device=dev
        )

    def _decoder_input(
        self, c: torch.Tensor, pick: torch.Tensor, generator: torch.Generator, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The decoder's input rows in ``dtype`` and the order of its columns: [z, c], or, with
        the mixture prior, [active latents, other latents, c] (no scatter into z; the first
        layer's weight columns are permuted to match instead)."""
        n, d = len(c), self.config.latent_dim
        inputs = torch.empty(n, d + c.shape[1], dtype=dtype, device=self.device)
        inputs[:, d:] = c
        if len(self.prior_weights) == 0:
            inputs[:, :d] = torch.randn(n, d, generator=generator)
            return inputs, None
        mask = self.prior_active
        k = int(mask.sum())
        prior = {
            "active": self.prior_active,
            "group": self.prior_group,
            "weights": self.prior_weights,
            "means": self.prior_means,
            "chol": self.prior_chol,
        }
        inputs[:, :k] = sample_active(prior, pick, generator)
        inputs[:, k:d] = torch.randn(n, d - k, generator=generator)
        columns = torch.cat(
            [
                mask.nonzero().squeeze(1),
                (~mask).nonzero().squeeze(1),
                torch.arange(d, d + c.shape[1], device=mask.device),
            ]
        )
        return inputs, columns

    def _decode_t(self, inputs: torch.Tensor, columns: torch.Tensor | None) -> torch.Tensor:
        """Decoder logits, transposed (x_dim, n) so that every span is a contiguous slab.

        The layers run in the inputs' dtype: bfloat16 where the hardware has it (CUDA, or a CPU
        with AVX512-BF16 / AMX; several times faster than float32, it only rounds the logits),
        float32 otherwise. The last layer writes the transposed output directly.
        """
        dt = inputs.dtype
        h = inputs
        first = True
        for layer in self.decoder.body:
            if isinstance(layer, nn.Linear):
                weight = layer.weight if not first or columns is None else layer.weight[:, columns]
                h = F.linear(h, weight.to(dt), layer.bias.to(dt))
                first = False
            elif isinstance(layer, nn.SiLU):
                h = F.silu(h, inplace=True)
            elif not isinstance(layer, nn.Dropout):  # dropout is the identity when sampling
                h = layer(h)
        out = self.decoder.out
        return torch.addmm(out.bias.to(dt).unsqueeze(1), out.weight.to(dt), h.T)

    # --- generation ------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, fixed: dict[str, int], generator: torch.Generator) -> torch.Tensor:
        return self.layout.to_matrix(self.sample_draw(n, fixed, generator))

    @torch.no_grad()
    def sample_draw(self, n: int, fixed: dict[str, int], generator: torch.Generator) -> Draw:
        """``n`` rows in span form (scalar values and drawn slots), in layout order."""
        self.train(False)
        c, pick = self._sample_conditions(n, fixed, generator)
        dev = self.device
        fast = dev.type == "cuda" or (dev.type == "cpu" and cpu_bf16())
        dtype = torch.bfloat16 if fast else torch.float32
        inputs, columns = self._decoder_input(c, pick, generator, dtype)
        raw = self._decode_t(inputs, columns)  # (x_dim, n)
        del inputs
        if len(self.scalar_pos):
            pred = raw[self.scalar_pos].float()
            tanh = self.scalar_tanh.unsqueeze(1)
            pred = torch.where(tanh, torch.tanh(pred), pred)
            noise = torch.randn(pred.shape, generator=generator).to(pred.device)
            sigma = torch.exp(self.decoder.log_sigma).float().unsqueeze(1)
            value = pred.addcmul_(noise, sigma)
            x_values = torch.where(tanh, value.clamp(-1, 1), value)
        else:
            x_values = raw.new_zeros(0, n)
        x_codes = sample_codes(raw, self.x_layout.softmax_blocks, generator)
        del raw
        c_values, c_codes = self._condition_parts(c)
        values = torch.cat([x_values, c_values], 0)[self._value_order]
        codes = torch.cat([x_codes, c_codes], 0)[self._code_order]
        return Draw(values.T, codes.T)
