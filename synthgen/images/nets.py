"""Convolutional networks of the image models, sized from the image shape.

Any height and width work: the generator and decoder start from a small grid of
``ceil(size / 2**stages)`` cells, double it ``stages`` times (strided transposed convs), and
crop the centre to the exact size; the discriminator and encoder halve with strided 4x4 convs
(any size) and pool what is left.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

MAX_STAGES = 6


def plan(height: int, width: int) -> tuple[int, int, int]:
    """``(stages, base_h, base_w)``: halve the smaller side while it stays >= 4 (at most
    ``MAX_STAGES`` times); the base grid is the image size divided by ``2**stages``, rounded up."""
    side = min(height, width)
    stages = 0
    while stages < MAX_STAGES and side / 2 ** (stages + 1) >= 4:
        stages += 1
    scale = 2**stages
    return stages, math.ceil(height / scale), math.ceil(width / scale)


def stage_widths(base: int, stages: int, cap: int) -> list[int]:
    """Channels from the finest resolution (``base``) to the coarsest, doubling per stage."""
    return [min(base * 2**i, cap) for i in range(stages + 1)]


def center_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    top = (x.shape[2] - height) // 2
    left = (x.shape[3] - width) // 2
    return x[:, :, top : top + height, left : left + width]


class ConditionalNorm(nn.Module):
    """Batch norm whose gain and bias come from the class (as in SN-GAN/BigGAN generators)."""

    def __init__(self, channels: int, n_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(n_classes, channels)
        self.bias = nn.Embedding(n_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        return h * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]


class UpBlock(nn.Module):
    """x2 up-sampling by a strided 4x4 transposed conv (DCGAN), class-conditional norm, ReLU."""

    def __init__(self, c_in: int, c_out: int, n_classes: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False)
        self.norm = ConditionalNorm(c_out, n_classes)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x), y))


class ImageDecoder(nn.Module):
    """``(z, class) -> image`` in [-1, 1]: a linear map to the base grid, then ``UpBlock``s.
    The generator of ``cgan`` and the decoder of ``vae``."""

    def __init__(
        self,
        z_dim: int,
        n_classes: int,
        shape: tuple[int, int, int],
        width: int,
        max_width: int,
        embed_dim: int,
    ) -> None:
        super().__init__()
        self.height, self.width, channels = shape
        stages, self.base_h, self.base_w = plan(self.height, self.width)
        widths = stage_widths(width, stages, max_width)[::-1]  # coarse -> fine
        self.embed = nn.Embedding(n_classes, embed_dim)
        self.fc = nn.Linear(z_dim + embed_dim, widths[0] * self.base_h * self.base_w)
        self.fc_norm = ConditionalNorm(widths[0], n_classes)
        self.blocks = nn.ModuleList(
            UpBlock(a, b, n_classes) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.out = nn.Conv2d(widths[-1], channels, 3, padding=1)
        self.base_channels = widths[0]

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, self.embed(y)], 1))
        h = h.view(-1, self.base_channels, self.base_h, self.base_w)
        h = F.relu(self.fc_norm(h, y))
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(center_crop(self.out(h), self.height, self.width))


def _down_layers(channels: int, widths: list[int], sn: bool) -> nn.Sequential:
    """3x3 conv at full resolution, then one strided 4x4 conv per stage (LeakyReLU 0.2)."""
    wrap = spectral_norm if sn else (lambda m: m)
    layers: list[nn.Module] = [wrap(nn.Conv2d(channels, widths[0], 3, padding=1))]
    layers.append(nn.LeakyReLU(0.2))
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [wrap(nn.Conv2d(a, b, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


class ProjectionDiscriminator(nn.Module):
    """Spectrally normalised conv critic with a class projection (Miyato & Koyama 2018):
    ``f(x, y) = w . h(x) + embed(y) . h(x)`` with ``h`` the spatially summed features."""

    def __init__(self, n_classes: int, shape: tuple[int, int, int], width: int, max_width: int):
        super().__init__()
        height, w, channels = shape
        stages, _, _ = plan(height, w)
        widths = stage_widths(width, stages, max_width)
        self.body = _down_layers(channels, widths, sn=True)
        self.linear = spectral_norm(nn.Linear(widths[-1], 1))
        self.embed = spectral_norm(nn.Embedding(n_classes, widths[-1]))
        self.classify = nn.Linear(widths[-1], n_classes)  # auxiliary head (AC-GAN term)

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, *, logits: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The critic's score per image; with ``logits`` also the class logits."""
        h = self.body(x).sum(dim=(2, 3))
        score = self.linear(h).squeeze(1) + (self.embed(y) * h).sum(1)
        return (score, self.classify(h)) if logits else score


class ImageEncoder(nn.Module):
    """``(image, class) -> (mu, logvar)``: the class enters as one-hot channels."""

    def __init__(
        self,
        n_classes: int,
        shape: tuple[int, int, int],
        width: int,
        max_width: int,
        z_dim: int,
    ) -> None:
        super().__init__()
        height, w, channels = shape
        stages, base_h, base_w = plan(height, w)
        widths = stage_widths(width, stages, max_width)
        self.n_classes = n_classes
        self.body = _down_layers(channels + n_classes, widths, sn=False)
        self.pool = nn.AdaptiveAvgPool2d((base_h, base_w))
        flat = widths[-1] * base_h * base_w
        self.mu = nn.Linear(flat, z_dim)
        self.logvar = nn.Linear(flat, z_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        onehot = F.one_hot(y, self.n_classes).to(x.dtype)[:, :, None, None]
        x = torch.cat([x, onehot.expand(-1, -1, x.shape[2], x.shape[3])], 1)
        h = self.pool(self.body(x)).flatten(1)
        return self.mu(h), self.logvar(h).clamp(-12, 8)


def random_shift(x: torch.Tensor, max_px: int) -> torch.Tensor:
    """Shift each image by whole pixels in ``[-max_px, max_px]`` (the torch RNG draws them),
    filling with the background (-1)."""
    if max_px <= 0:
        return x
    n, _, h, w = x.shape
    pad = F.pad(x, (max_px, max_px, max_px, max_px), value=-1.0)
    dy = torch.randint(0, 2 * max_px + 1, (n,)).to(x.device)
    dx = torch.randint(0, 2 * max_px + 1, (n,)).to(x.device)
    rows = dy[:, None] + torch.arange(h, device=x.device)[None, :]
    cols = dx[:, None] + torch.arange(w, device=x.device)[None, :]
    idx = torch.arange(n, device=x.device)[:, None, None]
    return pad.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


class LabelChecker(nn.Module):
    """``image -> class logits``: conv-BN-ReLU, one strided stage per halving, pooled, dropout,
    a linear head.
    The classifier a filtered generator checks its samples with."""

    def __init__(
        self, n_classes: int, shape: tuple[int, int, int], width: int, max_width: int
    ) -> None:
        super().__init__()
        height, w, channels = shape
        stages, base_h, base_w = plan(height, w)
        widths = stage_widths(width, stages, max_width)
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 3, padding=1, bias=False)]
        layers += [nn.BatchNorm2d(widths[0]), nn.ReLU()]
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Conv2d(a, b, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(b)]
            layers.append(nn.ReLU())
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d((base_h, base_w))
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(widths[-1] * base_h * base_w, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.pool(self.body(x)).flatten(1)))
