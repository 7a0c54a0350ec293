"""``vae``: a conditional convolutional VAE with a per-class latent prior, for images (the
``fvae`` kind builds on it)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
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
    likelihood: str = "gaussian"  # the decoder's pixel noise: "gaussian" or "laplace"
    prior_components: int = 1  # Gaussians per class in the sampling prior (fitted after training)
    prior_scale: float = 1.0  # spread of the sampling prior's draws around each component

    def __post_init__(self) -> None:
        if self.likelihood not in ("gaussian", "laplace"):
            raise ValueError(f"likelihood is 'gaussian' or 'laplace', not {self.likelihood!r}")


class ImageVAE(ImageModel):
    """Conditional convolutional VAE: the class enters the encoder as one-hot channels and the
    decoder as an embedding and class-conditional norms. The decoder's Gaussian scale (or
    Laplace scale, ``likelihood="laplace"``) is the batch's optimal one (sigma-VAE) above a
    floor. Sampling uses a per-class Gaussian (or a
    mixture of ``prior_components``) fitted to the training latents after training (see
    ``finish``)."""

    kind = "vae"
    config_cls = ImageVAEConfig

    def __init__(self, config: ImageVAEConfig, shape, n_classes: int) -> None:
        super().__init__(config, shape, n_classes)
        c = config
        self.encoder = ImageEncoder(self.n_classes, self.shape, c.width, c.max_width, c.latent_dim)
        self.decoder = ImageDecoder(
            c.latent_dim, self.n_classes, self.shape, c.width, c.max_width, c.embed_dim
        )
        self.prior_weight, self.prior_mean, self.prior_chol = (
            t.float() for t in self._standard_prior()
        )

    def _standard_prior(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Weights, means and Cholesky factors of ``prior_components`` standard normals per
        class (float64): the prior before ``finish`` fits it."""
        k, d = max(1, int(self.config.prior_components)), self.config.latent_dim
        weight = torch.full((self.n_classes, k), 1.0 / k, dtype=torch.float64)
        mean = torch.zeros(self.n_classes, k, d, dtype=torch.float64)
        return weight, mean, torch.eye(d, dtype=torch.float64).repeat(self.n_classes, k, 1, 1)

    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "decoder": self.decoder}

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {
            "prior_weight": self.prior_weight,
            "prior_mean": self.prior_mean,
            "prior_chol": self.prior_chol,
        }

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        mean, chol = tensors["prior_mean"].clone().float(), tensors["prior_chol"].clone().float()
        if mean.dim() == 2:  # a file from before the mixture prior: one Gaussian per class
            mean, chol = mean[:, None], chol[:, None]
        weight = tensors.get("prior_weight")
        if weight is None:
            weight = torch.ones(mean.shape[:2])
        self.prior_weight, self.prior_mean, self.prior_chol = weight.clone().float(), mean, chol

    def finish(self, data, advance=lambda n=1: None) -> None:
        """Fit the sampling prior to the aggregate posterior of each class's training images
        (ex-post density estimation): ``prior_components`` full-covariance Gaussians per class
        (one: the class's mean and covariance; more: a Gaussian mixture fitted by EM), each
        widened by the mean posterior variance. Sampling then draws latents where the decoder
        saw that class, which keeps images on-label and sharp. Covariances shrink toward the
        standard normal where a component has few images."""
        images, labels = data
        mu_all, var_all = self.posterior_moments(images, labels)
        codes = labels.cpu()
        weight, mean, chol = self._standard_prior()  # as many components as the config asks
        for k in range(self.n_classes):
            m, v = mu_all[codes == k], var_all[codes == k]
            if len(m) > 0:
                weight[k], mean[k], chol[k] = _class_prior(m, v, weight.shape[1])
        self.prior_weight = weight.float()
        self.prior_mean, self.prior_chol = mean.float(), chol.float()

    @torch.no_grad()
    def posterior_moments(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior means and variances ``(N, latent_dim)`` (CPU float64) of uint8 NCHW
        ``images`` with their class codes, 500 at a time."""
        mus, variances = [], []
        for start in range(0, len(images), 500):
            x = to_unit(images[start : start + 500])
            with self.autocast():
                mu, logvar = self.encoder(x, labels[start : start + 500])
            mus.append(mu.double().cpu())
            variances.append(logvar.double().exp().cpu())
        return torch.cat(mus), torch.cat(variances)

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
        if self.config.likelihood == "laplace":  # the batch's optimal scale b = mean |error|
            err = (recon - x).abs().mean()
            b = err.detach().clamp_min(self.config.min_sigma / math.sqrt(2))
            nll = err / b + torch.log(2 * b)
        else:
            mse = (recon - x).pow(2).mean()
            log_sigma = 0.5 * torch.log(mse.detach().clamp_min(self.config.min_sigma**2))
            nll = 0.5 * mse / torch.exp(2 * log_sigma) + log_sigma
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
        eps = eps * self.config.prior_scale
        codes = labels.cpu()
        comp = torch.zeros_like(codes)
        if self.prior_weight.shape[1] > 1 and len(codes):
            comp = torch.multinomial(self.prior_weight[codes], 1, generator=generator).squeeze(1)
        mean, chol = self.prior_mean[codes, comp], self.prior_chol[codes, comp]
        z = mean + (chol @ eps[:, :, None]).squeeze(2)
        with self.autocast():
            out = self.decoder(z.to(self.device), labels.to(self.device))
        return out.float()


def _class_prior(
    m: torch.Tensor, v: torch.Tensor, components: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weights ``(K,)``, means ``(K, d)`` and Cholesky factors ``(K, d, d)`` of one class's
    prior from its posterior means ``m`` and variances ``v`` (float64)."""
    n, d = m.shape
    eye = torch.eye(d, dtype=torch.float64)
    k = min(components, max(1, n // (2 * d)))  # at least 2*d images per component
    if k == 1:
        centred = m - m.mean(0)
        weights, means, covs = torch.ones(1), m.mean(0)[None], (centred.T @ centred / n)[None]
    else:
        gmm = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=0)
        with warnings.catch_warnings():  # EM that stops at max_iter is still a usable prior
            warnings.simplefilter("ignore", ConvergenceWarning)
            gmm.fit(m.numpy())
        weights = torch.from_numpy(gmm.weights_)
        means, covs = torch.from_numpy(gmm.means_), torch.from_numpy(gmm.covariances_)
    out_w = torch.zeros(components, dtype=torch.float64)
    out_m = torch.zeros(components, d, dtype=torch.float64)
    out_c = eye.repeat(components, 1, 1)
    out_w[:k] = weights / weights.sum()
    for j in range(k):
        size = float(weights[j]) * n
        shrink = d / (size + d)
        cov = covs[j] + torch.diag(v.mean(0))
        cov = (1 - shrink) * cov + shrink * eye + 1e-6 * eye
        out_m[j], out_c[j] = means[j], torch.linalg.cholesky(cov)
    return out_w, out_m, out_c
