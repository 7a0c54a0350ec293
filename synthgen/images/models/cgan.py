"""``cgan``: a conditional DCGAN with a projection discriminator, for images."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from synthgen.core.trainable import update_average
from synthgen.images.models.base import ImageModel, to_unit
from synthgen.images.nets import ImageDecoder, ProjectionDiscriminator

VAL_SAMPLE = 1000  # images generated for the GAN's monitoring figure


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
