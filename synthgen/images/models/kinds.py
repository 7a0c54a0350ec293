"""The image model kinds: ``cgan`` (conditional DCGAN with a projection discriminator) and
``vae`` (conditional convolutional VAE), and their registry ``IMAGE_MODELS``.

Both train through ``synthgen.models.train.fit_model`` on a tuple ``(images, labels)``: uint8
``(N, C, H, W)`` images (scaled to [-1, 1] a batch at a time, so the data set stays small on the
device) and int64 class codes (all zero for an unlabelled set: one class, unconditional).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from synthgen.core.train import TrainConfig
from synthgen.core.trainable import GenerativeModel, update_average
from synthgen.images.nets import ImageDecoder, ImageEncoder, ProjectionDiscriminator

VAL_SAMPLE = 1000  # images generated for the GAN's monitoring figure


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 NCHW -> float32 in [-1, 1] (the ``ImageSet.to_tensor`` scale)."""
    return images.float().div(127.5).sub(1.0)


class ImageModel(GenerativeModel):
    """A conditional generative model of ``(height, width, channels)`` images over
    ``n_classes`` labels."""

    def __init__(self, config, shape: tuple[int, int, int], n_classes: int) -> None:
        super().__init__(config)
        self.shape = tuple(int(s) for s in shape)
        self.n_classes = int(n_classes)

    def sample(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Images in [-1, 1], float32 ``(n, C, H, W)`` on the model's device, one per label
        code; all randomness comes from ``generator`` (CPU)."""
        raise NotImplementedError


# --- cgan ------------------------------------------------------------------------------------
@dataclass
class ImageCGANConfig:
    """Networks and optimiser of the conditional GAN (hinge loss, spectral-norm critic)."""

    latent_dim: int = 64
    generator_width: int = 32  # channels at full resolution; doubled per down-sampling stage
    discriminator_width: int = 32
    max_width: int = 256
    embed_dim: int = 32
    generator_lr: float = 2e-4
    discriminator_lr: float = 2e-4
    beta1: float = 0.0
    beta2: float = 0.9
    ema_decay: float = 0.999  # generator weights averaged over steps; sampling uses the average
    diversity_weight: float = 1.0  # mode-seeking term (MSGAN) against within-class collapse
    class_weight: float = 1.0  # auxiliary classifier term (AC-GAN): images match their label


class ImageCGAN(ImageModel):
    """Conditional DCGAN: class embedding + class-conditional batch norm in the generator, a
    projection discriminator with spectral norm and an auxiliary class head (AC-GAN term, which
    makes images match their label early in training), hinge loss, a mode-seeking term (Mao et al.
    2019: two latents per label, penalising images that differ less than their latents), and an
    exponential moving average of the generator's weights for sampling."""

    kind = "cgan"
    config_cls = ImageCGANConfig
    select_best = False  # a GAN's losses do not rank its weights: keep the last ones

    def __init__(self, config: ImageCGANConfig, shape, n_classes: int) -> None:
        super().__init__(config, shape, n_classes)
        c = config
        self.generator = ImageDecoder(
            c.latent_dim, self.n_classes, self.shape, c.generator_width, c.max_width, c.embed_dim
        )
        self.discriminator = ProjectionDiscriminator(
            self.n_classes, self.shape, c.discriminator_width, c.max_width
        )
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self.ema_steps = torch.zeros((), dtype=torch.int64)

    def modules(self) -> dict[str, nn.Module]:
        return {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "generator_ema": self.generator_ema,
        }

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {"ema_steps": self.ema_steps}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        self.ema_steps = tensors["ema_steps"].clone().to(torch.int64)

    def train(self, mode: bool = True) -> None:
        super().train(mode)
        self.generator_ema.train(False)

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        betas = (c.beta1, c.beta2)
        return {
            "generator": torch.optim.Adam(self.generator.parameters(), c.generator_lr, betas=betas),
            "discriminator": torch.optim.Adam(
                self.discriminator.parameters(), c.discriminator_lr, betas=betas
            ),
        }

    def train_step(self, batch, optimizers):
        images, labels = batch
        real = to_unit(images)
        n = len(real)
        with self.autocast():
            z = torch.randn(n, self.config.latent_dim, device=real.device)
            fake = self.generator(z, labels)
            d_real, c_real = self.discriminator(real, labels, logits=True)
            d_fake = self.discriminator(fake.detach(), labels).float()
            loss_d = F.relu(1.0 - d_real.float()).mean() + F.relu(1.0 + d_fake).mean()
            if self.config.class_weight > 0 and self.n_classes > 1:
                loss_d = loss_d + self.config.class_weight * F.cross_entropy(c_real.float(), labels)
        optimizers["discriminator"].zero_grad(set_to_none=True)
        loss_d.backward()
        optimizers["discriminator"].step()
        half = max(1, n // 2)
        pair_labels = labels[:half].repeat(2)  # two latents per label: a mode-seeking pair
        with self.autocast():
            z = torch.randn(2 * half, self.config.latent_dim, device=real.device)
            fake = self.generator(z, pair_labels)
            score, logits = self.discriminator(fake, pair_labels, logits=True)
            loss_g = -score.float().mean()
            if self.config.class_weight > 0 and self.n_classes > 1:
                loss_g = loss_g + self.config.class_weight * F.cross_entropy(
                    logits.float(), pair_labels
                )
        if self.config.diversity_weight > 0:
            fake = fake.float()
            ratio = (fake[:half] - fake[half:]).abs().mean() / (z[:half] - z[half:]).abs().mean()
            loss_g = loss_g + self.config.diversity_weight / (ratio + 1e-5)
        optimizers["generator"].zero_grad(set_to_none=True)
        loss_g.backward()
        optimizers["generator"].step()
        self._update_ema()
        return {"g": loss_g.item(), "d": loss_d.item()}

    def _update_ema(self) -> None:
        self.ema_steps += 1
        update_average(
            self.generator_ema, self.generator, int(self.ema_steps), self.config.ema_decay
        )

    def validation_loss(self, data) -> float:
        """Gap between real and generated pixel means and standard deviations (monitoring only:
        ``select_best`` is off)."""
        images, labels = data[0][:VAL_SAMPLE], data[1][:VAL_SAMPLE]
        real = to_unit(images)
        gen = torch.Generator(device="cpu")
        gen.manual_seed(0)
        fake = self.sample(labels, gen)
        gap = (real.mean(0) - fake.mean(0)).abs().mean() + (real.std(0) - fake.std(0)).abs().mean()
        return float(gap)

    @torch.no_grad()
    def sample(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        z = torch.randn(len(labels), self.config.latent_dim, generator=generator)
        with self.autocast():
            out = self.generator_ema(z.to(self.device), labels.to(self.device))
        return out.float()


# --- vae -------------------------------------------------------------------------------------
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

    def finish(self, data) -> None:
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


# --- registry --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageModelKind:
    """A registry entry: the model class and its loop defaults. Without ``--epochs`` a fit runs
    enough epochs for about ``target_steps`` optimiser steps, clamped to
    ``[train_defaults.min_epochs, train_defaults.epochs]``."""

    cls: type[ImageModel]
    train_defaults: TrainConfig
    target_steps: int

    def default_epochs(self, n_rows: int, batch_size: int) -> int:
        train_rows = int(n_rows * (1 - self.train_defaults.val_fraction))
        steps_per_epoch = max(1, train_rows // batch_size)
        wanted = -(-self.target_steps // steps_per_epoch)
        return int(min(max(wanted, self.train_defaults.min_epochs), self.train_defaults.epochs))


IMAGE_MODELS: dict[str, ImageModelKind] = {
    "cgan": ImageModelKind(
        ImageCGAN,
        TrainConfig(epochs=400, batch_size=64, val_fraction=0.0, eval_every=5, min_epochs=5),
        target_steps=2500,
    ),
    "vae": ImageModelKind(
        ImageVAE,
        TrainConfig(
            epochs=300, batch_size=64, val_fraction=0.1, eval_every=2, patience=5, min_epochs=10
        ),
        target_steps=3000,
    ),
}
