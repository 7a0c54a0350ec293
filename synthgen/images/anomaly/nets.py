"""The image detector's network: an ensemble of small convolutional autoencoders, and the
trainable that fits it in the one loop (one-cycle learning rate, optional input noise)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from synthgen.core.trainable import DropLastBatches, TrainableModel
from synthgen.images.models.base import to_unit

_MIN_SIDE = 4  # downsample while the smaller side stays at least this large


@dataclass
class ConvAEConfig:
    """Everything needed to rebuild the autoencoder ensemble (stored in the model file)."""

    height: int
    width: int
    channels: int
    widths: list[int]  # feature maps per downsampling level
    latent: int
    members: int = 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConvAEConfig:
        known = {f.name for f in fields(cls)}
        out = cls(**{k: v for k, v in data.items() if k in known})
        out.widths = [int(w) for w in out.widths]
        return out


def default_levels(height: int, width: int) -> int:
    """Stride-2 levels: halve until the smaller side would drop below 4 pixels (at most 7)."""
    side, levels = min(height, width), 0
    while levels < 7 and math.ceil(side / 2) >= _MIN_SIDE:
        side, levels = math.ceil(side / 2), levels + 1
    return max(levels, 1)


def _sizes(height: int, width: int, levels: int) -> list[tuple[int, int]]:
    """Spatial sizes at the input and after each stride-2 convolution (k=3, p=1: ceil(n/2))."""
    out = [(height, width)]
    for _ in range(levels):
        h, w = out[-1]
        out.append(((h + 1) // 2, (w + 1) // 2))
    return out


class ConvAutoencoder(nn.Module):
    """One member: stride-2 convolutions down, a dense bottleneck, stride-2 transposed
    convolutions up, each cropped to the size its level had (so any height and width work).
    The output is linear: a tanh output saturated and collapsed to an all-background image on
    some MNIST digits."""

    def __init__(self, config: ConvAEConfig) -> None:
        super().__init__()
        self.config = config
        c, widths = config.channels, list(config.widths)
        self.sizes = _sizes(config.height, config.width, len(widths))
        enc: list[nn.Module] = []
        c_in = c
        for w in widths:
            enc += [nn.Conv2d(c_in, w, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c_in = w
        self.encoder = nn.Sequential(*enc)
        h, w = self.sizes[-1]
        flat = widths[-1] * h * w
        self.to_latent = nn.Linear(flat, config.latent)
        self.from_latent = nn.Linear(config.latent, flat)
        self.up = nn.ModuleList()
        outs = widths[::-1][1:] + [c]
        c_in = widths[-1]
        for w in outs:
            self.up.append(nn.ConvTranspose2d(c_in, w, 4, stride=2, padding=1))
            c_in = w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.to_latent(self.encoder(x).flatten(1))
        h, w = self.sizes[-1]
        y = self.from_latent(z).view(x.shape[0], -1, h, w)
        for conv, (sh, sw) in zip(self.up, self.sizes[-2::-1], strict=True):
            y = conv(F.leaky_relu(y, 0.2))[..., :sh, :sw]  # 2n >= the size this level had
        return y


class ConvAEEnsemble(nn.Module):
    """``members`` independent autoencoders; ``forward`` returns ``(members, N, C, H, W)``."""

    def __init__(self, config: ConvAEConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(ConvAutoencoder(config) for _ in range(config.members))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members])


def _errors(model: ConvAEEnsemble, x: torch.Tensor) -> torch.Tensor:
    """Per-member, per-image mean squared error ``(members, N)``."""
    return ((model(x) - x.unsqueeze(0)) ** 2).flatten(2).mean(-1)


class ConvAENet(DropLastBatches, TrainableModel):
    """The ensemble as the loop trains it: mean squared reconstruction error, AdamW with a
    one-cycle schedule peaking at ``lr``, Gaussian input noise of std ``noise`` (0: none)."""

    kind = "autoencoder"
    config_cls = ConvAEConfig

    def __init__(
        self, config: ConvAEConfig, *, lr: float, weight_decay: float, noise: float, seed: int
    ) -> None:
        super().__init__(config)
        self.lr, self.weight_decay, self.noise, self.seed = lr, weight_decay, noise, seed
        self.net = ConvAEEnsemble(config)

    def modules(self) -> dict[str, nn.Module]:
        return {"ae": self.net}

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = self.net.parameters()
        return {"ae": torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)}

    def make_schedulers(self, optimizers, total_steps: int) -> list[Any]:
        return [
            torch.optim.lr_scheduler.OneCycleLR(
                optimizers["ae"], max_lr=self.lr, total_steps=total_steps, pct_start=0.1
            )
        ]

    def prepare(self, data) -> None:
        self._gen = torch.Generator().manual_seed(self.seed)

    def train_step(self, batch, optimizers):
        (images,) = batch
        x = to_unit(images)
        inp = x
        if self.noise:
            inp = x + float(self.noise) * torch.randn(x.shape, generator=self._gen).to(x.device)
        loss = ((self.net(inp) - x.unsqueeze(0)) ** 2).mean()
        optimizers["ae"].zero_grad(set_to_none=True)
        loss.backward()
        optimizers["ae"].step()
        return {"loss": float(loss.detach())}
