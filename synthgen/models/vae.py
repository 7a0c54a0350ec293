"""``vae``: a TVAE-family conditional VAE with per-span reconstruction losses.

The schema's condition columns are inputs to encoder and decoder, never outputs, so conditional
generation is exact by construction. After training, a Gaussian mixture is fitted to the
aggregate posterior of the training rows and used as the sampling prior (ex-post density
estimation), which closes most of the gap between the VAE prior and the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthgen.models.base import TabularModel
from synthgen.models.layout import Layout, sample_one_hot


@dataclass
class VAEConfig:
    """Network and loss settings of the VAE."""

    latent_dim: int = 64
    hidden: tuple[int, ...] = (256, 256)
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


class TabularVAE(TabularModel):
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
        self.scalar_pos = torch.tensor(
            [b.start for b in self.x_layout.blocks if b.activation != "softmax"], dtype=torch.long
        )
        x_dim, c_dim = self.x_layout.dim, len(self.c_index)
        self.encoder = Encoder(x_dim, c_dim, config)
        self.decoder = Decoder(x_dim, c_dim, len(self.scalar_pos), config)
        self.prior_active = torch.zeros(config.latent_dim, dtype=torch.bool)
        self.prior_weights = torch.zeros(0)
        self.prior_means = torch.zeros(0, config.latent_dim)
        self.prior_chol = torch.zeros(0, config.latent_dim, config.latent_dim)
        # distinct condition vectors seen in training, with their counts (sampling pool)
        self.c_pool = torch.zeros(0, c_dim)
        self.c_counts = torch.zeros(0)

    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "decoder": self.decoder}

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {
            "prior_active": self.prior_active,
            "prior_weights": self.prior_weights,
            "prior_means": self.prior_means,
            "prior_chol": self.prior_chol,
            "c_pool": self.c_pool,
            "c_counts": self.c_counts,
        }

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        self.prior_active = tensors["prior_active"].bool()
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
        """Per-row negative log-likelihood summed over spans."""
        total = torch.zeros(x.shape[0], device=x.device)
        sigma_i = 0
        log_sigma = self.decoder.log_sigma
        for b in self.x_layout.blocks:
            target = x[:, b.start : b.end]
            pred = recon[:, b.start : b.end]
            if b.activation == "softmax":
                total = total + F.cross_entropy(pred, target.argmax(1), reduction="none")
            else:
                if b.activation == "tanh":
                    pred = torch.tanh(pred)
                ls = log_sigma[sigma_i]
                sigma_i += 1
                err = ((target - pred) ** 2).sum(1)
                total = total + err / (2 * torch.exp(2 * ls)) + ls * b.width
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
    def finish(self, data: torch.Tensor) -> None:
        """Store the training condition vectors and fit the latent mixture prior.

        The mixture is fitted on the active latent dimensions only (mean KL above a floor);
        collapsed dimensions carry no information and keep the standard normal prior. This
        keeps the fit to seconds whatever ``latent_dim`` is.
        """
        pool, counts = torch.unique(data[:, self.c_index], dim=0, return_counts=True)
        self.c_pool, self.c_counts = pool.float(), counts.float()
        k = self.config.prior_components
        if k <= 0:
            return
        from sklearn.mixture import GaussianMixture

        mus, kls = [], []
        for start in range(0, len(data), 4096):
            x, c = self._split(data[start : start + 4096])
            mu, logvar = self.encoder(x, c)
            mus.append(mu.float().cpu())
            kls.append((-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).float().cpu())
        z = torch.cat(mus)
        active = torch.cat(kls).mean(0) > 0.05
        if not bool(active.any()):
            return
        z = z[:, active].numpy().astype(np.float64)
        rng = np.random.default_rng(0)
        if len(z) > 10000:
            z = z[rng.choice(len(z), 10000, replace=False)]
        k = min(k, max(1, len(z) // 50))
        gmm = GaussianMixture(
            n_components=k, covariance_type="full", reg_covar=1e-3, max_iter=60, random_state=0
        ).fit(z)
        dev = data.device
        self.prior_active = active.to(dev)
        self.prior_weights = torch.as_tensor(gmm.weights_, dtype=torch.float32, device=dev)
        self.prior_means = torch.as_tensor(gmm.means_, dtype=torch.float32, device=dev)
        chol = np.linalg.cholesky(gmm.covariances_)
        self.prior_chol = torch.as_tensor(chol, dtype=torch.float32, device=dev)

    def _sample_z(self, n: int, generator: torch.Generator) -> torch.Tensor:
        d = self.config.latent_dim
        z = torch.randn(n, d, generator=generator).to(self.device)
        if len(self.prior_weights) == 0:
            return z
        k = int(self.prior_active.sum())
        eps = torch.randn(n, k, generator=generator).to(self.device)
        counts = torch.bincount(
            torch.multinomial(self.prior_weights.cpu(), n, replacement=True, generator=generator),
            minlength=len(self.prior_weights),
        ).tolist()
        parts, start = [], 0
        for j, size in enumerate(counts):  # contiguous rows per mixture component
            if size:
                seg = eps[start : start + size]
                parts.append(torch.addmm(self.prior_means[j], seg, self.prior_chol[j].T))
                start += size
        perm = torch.randperm(n, generator=generator).to(self.device)
        z[:, self.prior_active] = torch.cat(parts)[perm]
        return z

    # --- generation ------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, fixed: dict[str, int], generator: torch.Generator) -> torch.Tensor:
        self.train(False)
        c = self._sample_conditions(n, fixed, generator)
        z = self._sample_z(n, generator)
        raw = self.decoder(z, c).float()
        x = torch.empty_like(raw)
        sigma = torch.exp(self.decoder.log_sigma).float()
        sigma_i = 0
        for b in self.x_layout.blocks:
            part = raw[:, b.start : b.end]
            if b.activation == "softmax":
                x[:, b.start : b.end] = sample_one_hot(part, generator)
                continue
            noise = torch.randn(part.shape, generator=generator).to(part.device)
            value = (torch.tanh(part) if b.activation == "tanh" else part) + sigma[sigma_i] * noise
            sigma_i += 1
            x[:, b.start : b.end] = value.clamp(-1, 1) if b.activation == "tanh" else value
        out = torch.zeros(n, self.layout.dim, device=self.device)
        out[:, self.x_index] = x
        out[:, self.c_index] = c
        return out

    def _sample_conditions(
        self, n: int, fixed: dict[str, int], generator: torch.Generator
    ) -> torch.Tensor:
        """Draw condition vectors from the training pool, restricted to rows matching ``fixed``."""
        pool, counts = self.c_pool, self.c_counts
        if fixed:
            keep = torch.ones(len(pool), dtype=torch.bool, device=pool.device)
            offset = 0
            for b in self.c_layout.blocks:
                if b.column in fixed:
                    keep &= pool[:, offset + fixed[b.column]] > 0.5
                offset += b.width
            pool, counts = pool[keep], counts[keep]
            if len(pool) == 0:
                return self._fixed_vector(n, fixed)
        if pool.shape[1] == 0:
            return torch.zeros(n, 0, device=self.device)
        pick = torch.multinomial(counts.cpu(), n, replacement=True, generator=generator)
        return pool[pick.to(pool.device)]

    def _fixed_vector(self, n: int, fixed: dict[str, int]) -> torch.Tensor:
        """Conditions never seen together in training: build the vector directly."""
        c = torch.zeros(n, len(self.c_index), device=self.device)
        offset = 0
        for b in self.c_layout.blocks:
            slot = fixed.get(b.column, 0)
            c[:, offset + slot] = 1.0
            offset += b.width
        return c
