"""``vae``: a conditional convolutional VAE with a per-class latent prior, for images."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from synthgen.images.models.base import ImageModel, to_unit
from synthgen.images.nets import ImageDecoder, ImageEncoder


@dataclass
class ImageVAEConfig:
    """Networks and loss of the conditional VAE (Gaussian decoder with a calibrated scale)."""

    latent_dim: int = 32
    width: int = 32  # channels at full resolution; doubled per down-sampling stage
    max_width: int = 256
    embed_dim: int = 32
    lr: float = 1e-3
    beta: float = 1.0  # KL weight
    min_sigma: float = 0.3  # floor of the decoder's noise scale (on the [-1, 1] pixel scale)


class ImageVAE(ImageModel):
    """Conditional convolutional VAE: the class enters the encoder as one-hot channels and the
    decoder as an embedding and class-conditional norms. The decoder's Gaussian scale is the
    batch's optimal one (sigma-VAE) above a floor. Sampling uses a per-class Gaussian fitted to
    the training latents after training (see ``finish``)."""

    kind = "vae"
    config_cls = ImageVAEConfig

    def __init__(self, config: ImageVAEConfig, shape, n_classes: int) -> None:
        super().__init__(config, shape, n_classes)
        c = config
        self.encoder = ImageEncoder(self.n_classes, self.shape, c.width, c.max_width, c.latent_dim)
        self.decoder = ImageDecoder(
            c.latent_dim, self.n_classes, self.shape, c.width, c.max_width, c.embed_dim
        )
        self.prior_mean = torch.zeros(self.n_classes, c.latent_dim)
        self.prior_chol = torch.eye(c.latent_dim).repeat(self.n_classes, 1, 1)

    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "decoder": self.decoder}

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {"prior_mean": self.prior_mean, "prior_chol": self.prior_chol}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        self.prior_mean = tensors["prior_mean"].clone().float()
        self.prior_chol = tensors["prior_chol"].clone().float()

    def finish(self, data, advance=lambda n=1: None) -> None:
        """Fit the sampling prior: per class, a full-covariance Gaussian to the aggregate
        posterior of its training images (ex-post density estimation). Sampling then draws
        latents where the decoder saw that class, which keeps images on-label and sharp.
        Covariances shrink toward the standard normal for rare classes."""
        images, labels = data
        mus, variances = [], []
        for start in range(0, len(images), 500):
            x = to_unit(images[start : start + 500])
            with self.autocast():
                mu, logvar = self.encoder(x, labels[start : start + 500])
            mus.append(mu.double().cpu())
            variances.append(logvar.double().exp().cpu())
        mu_all, var_all = torch.cat(mus), torch.cat(variances)
        codes = labels.cpu()
        d = self.config.latent_dim
        eye = torch.eye(d, dtype=torch.float64)
        means = torch.zeros(self.n_classes, d, dtype=torch.float64)
        chols = eye.repeat(self.n_classes, 1, 1)
        for k in range(self.n_classes):
            m, v = mu_all[codes == k], var_all[codes == k]
            if len(m) == 0:
                continue
            centred = m - m.mean(0)
            cov = centred.T @ centred / len(m) + torch.diag(v.mean(0))
            shrink = d / (len(m) + d)
            cov = (1 - shrink) * cov + shrink * eye + 1e-6 * eye
            means[k] = m.mean(0)
            chols[k] = torch.linalg.cholesky(cov)
        self.prior_mean, self.prior_chol = means.float(), chols.float()

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = [*self.encoder.parameters(), *self.decoder.parameters()]
        return {"vae": torch.optim.Adam(params, lr=self.config.lr)}

    def _loss(self, images, labels, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Negative ELBO per pixel (nats)."""
        x = to_unit(images)
        with self.autocast():
            mu, logvar = self.encoder(x, labels)
            mu, logvar = mu.float(), logvar.float()
            eps = torch.randn_like(mu) if noise is None else noise
            z = mu + eps * torch.exp(0.5 * logvar)
            recon = self.decoder(z, labels).float()
        mse = (recon - x).pow(2).mean()
        log_sigma = 0.5 * torch.log(mse.detach().clamp_min(self.config.min_sigma**2))
        nll = 0.5 * (recon - x).pow(2).mean() / torch.exp(2 * log_sigma) + log_sigma
        nll = nll + 0.5 * math.log(2 * math.pi)
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1).mean() / x[0].numel()
        return nll + self.config.beta * kl

    def train_step(self, batch, optimizers):
        images, labels = batch
        loss = self._loss(images, labels)
        optimizers["vae"].zero_grad(set_to_none=True)
        loss.backward()
        optimizers["vae"].step()
        return {"loss": loss.item()}

    def validation_loss(self, data) -> float:
        images, labels = data
        gen = torch.Generator(device="cpu")
        gen.manual_seed(0)
        total = 0.0
        for start in range(0, len(images), 500):
            part, y = images[start : start + 500], labels[start : start + 500]
            noise = torch.randn(len(part), self.config.latent_dim, generator=gen)
            total += float(self._loss(part, y, noise.to(part.device))) * len(part)
        return total / max(len(images), 1)

    @torch.no_grad()
    def sample(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        eps = torch.randn(len(labels), self.config.latent_dim, generator=generator)
        codes = labels.cpu()
        z = self.prior_mean[codes] + (self.prior_chol[codes] @ eps[:, :, None]).squeeze(2)
        with self.autocast():
            out = self.decoder(z.to(self.device), labels.to(self.device))
        return out.float()
