"""``fvae``: the conditional VAE with a label check on its samples (the default image kind).

A classifier (``LabelChecker``) trains beside the VAE in the same loop, on the same real
batches (random shifts as augmentation). Sampling draws from the VAE and redraws, up to
``max_rounds`` times, every image the classifier does not give its own label a probability of
at least ``accept``; an image never accepted keeps its best-scored draw. So the images a user
gets are read as their label by a classifier trained on the real images, not only by the
decoder's conditioning. The classifier is part of the model file; no evaluation judge is used.
Latents come from a 10-Gaussian mixture per class fitted to the training images' posteriors
(``vae``'s prior has one): more of each class's variety is drawn.

The defaults (10 components, ``accept`` 0.99, the step budget) were chosen on MNIST10k's train
split alone, with synthgen's own classifier on a held-out tenth (``benchmarks/
image_validation.py``), never on the benchmark's judges or test split.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from synthgen.images.models.base import to_unit
from synthgen.images.models.vae import ImageVAE, ImageVAEConfig
from synthgen.images.nets import LabelChecker, random_shift


@dataclass
class ImageFilteredVAEConfig(ImageVAEConfig):
    """The VAE's options, plus the label check's."""

    check_width: int = 16  # the checker's channels at full resolution
    check_lr: float = 1e-3
    check_shift: float = 1 / 14  # random shifts of its training images (share of the side)
    accept: float = 0.99  # probability of its label an image needs to be kept (0: no check)
    max_rounds: int = 10  # draws per image at most
    prior_components: int = 10  # a 10-Gaussian mixture per class (the VAE's default is one)


class ImageFilteredVAE(ImageVAE):
    """Conditional VAE (see ``ImageVAE``) whose samples a classifier trained with it checks."""

    kind = "fvae"
    config_cls = ImageFilteredVAEConfig

    def __init__(self, config: ImageFilteredVAEConfig, shape, n_classes: int) -> None:
        super().__init__(config, shape, n_classes)
        c = config
        self.checker = LabelChecker(self.n_classes, self.shape, c.check_width, c.max_width)

    def modules(self) -> dict[str, nn.Module]:
        return {**super().modules(), "checker": self.checker}

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts = super().make_optimizers()
        opts["checker"] = torch.optim.Adam(self.checker.parameters(), lr=self.config.check_lr)
        return opts

    def train_step(self, batch, optimizers):
        out = super().train_step(batch, optimizers)
        if self.n_classes > 1:
            images, labels = batch
            px = round(self.config.check_shift * min(self.shape[0], self.shape[1]))
            x = random_shift(to_unit(images), px)
            with self.autocast():
                loss = F.cross_entropy(self.checker(x).float(), labels)
            optimizers["checker"].zero_grad(set_to_none=True)
            loss.backward()
            optimizers["checker"].step()
            out["check"] = loss.item()
        return out

    @torch.no_grad()
    def label_probability(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The checker's probability of each image's label (CPU float32)."""
        with self.autocast():
            logits = self.checker(images.to(self.device)).float()
        probs = F.softmax(logits, 1).cpu()
        return probs.gather(1, labels.cpu()[:, None]).squeeze(1)

    @torch.no_grad()
    def sample(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        labels = labels.cpu()
        out = super().sample(labels, generator)
        if self.n_classes <= 1 or self.config.accept <= 0 or len(labels) == 0:
            return out
        best = self.label_probability(out, labels)
        for _ in range(max(0, self.config.max_rounds - 1)):
            todo = torch.nonzero(best < self.config.accept).squeeze(1)
            if len(todo) == 0:
                break
            again = super().sample(labels[todo], generator)
            score = self.label_probability(again, labels[todo])
            better = score > best[todo]
            keep = todo[better]
            out[keep.to(out.device)] = again[better.to(again.device)]
            best[keep] = score[better]
        return out
