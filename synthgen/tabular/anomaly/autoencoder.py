"""The tabular autoencoder: an ensemble of small MLP autoencoders trained as one module.

nanoGPT style: an :class:`AutoencoderConfig` is all it takes to rebuild the module, so a model file
stores the config and the weights and nothing else. The ensemble members are independent MLPs
whose weights are stacked on a leading axis and run with batched matmuls, so ``members=4`` costs
about what one network costs on a CPU. There is no batch norm and no dropout: a row's
reconstruction depends only on that row and the weights, so scores are comparable across batches.

New architectures (e.g. a conv autoencoder for images) are added to :data:`ARCHITECTURES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
}


@dataclass
class AutoencoderConfig:
    """Everything needed to rebuild an autoencoder module (stored in the model file)."""

    n_features: int
    hidden: int = 64
    bottleneck: int = 4
    members: int = 4
    activation: str = "relu"
    architecture: str = "mlp"
    groups: int = 1  # members are ``groups`` blocks (training snapshots) of equal size
    # extra inputs: one mask indicator per source column (0 = a plain autoencoder). A masked
    # model sees a row with some columns zeroed and flagged, and predicts them from the rest.
    mask_inputs: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AutoencoderConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class EnsembleLinear(nn.Module):
    """``members`` independent linear layers applied to a ``(members, batch, in)`` tensor."""

    def __init__(self, members: int, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(members, n_in, n_out))
        self.bias = nn.Parameter(torch.empty(members, 1, n_out))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.weight.shape[1])
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class MLPAutoencoder(nn.Module):
    """in -> hidden -> bottleneck -> hidden -> in, for every ensemble member at once."""

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        if config.activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {config.activation!r}")
        self.config = config
        k, d, h, b = config.members, config.n_features, config.hidden, config.bottleneck
        act = _ACTIVATIONS[config.activation]
        d_in = d + config.mask_inputs
        self.encoder = nn.Sequential(EnsembleLinear(k, d_in, h), act(), EnsembleLinear(k, h, b))
        self.decoder = nn.Sequential(act(), EnsembleLinear(k, b, h), act(), EnsembleLinear(k, h, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(batch, inputs)`` (shared by all members) or ``(members, batch, inputs)``,
        where inputs are the features followed by ``mask_inputs`` mask indicators (if any).
        Returns the reconstruction as ``(members, batch, features)``."""
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.config.members, -1, -1)
        return self.decoder(self.encoder(x))


ARCHITECTURES: dict[str, type[nn.Module]] = {"mlp": MLPAutoencoder}


def build_autoencoder(config: AutoencoderConfig) -> nn.Module:
    """The module named by ``config.architecture``, freshly initialised."""
    try:
        cls = ARCHITECTURES[config.architecture]
    except KeyError:
        raise ValueError(f"unknown autoencoder architecture {config.architecture!r}") from None
    return cls(config)
