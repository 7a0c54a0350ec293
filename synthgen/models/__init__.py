"""The explicit registry of tabular model kinds and their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from synthgen.models.base import TabularModel
from synthgen.models.cgan import CGANConfig, TabularCGAN
from synthgen.models.train import TrainConfig
from synthgen.models.vae import TabularVAE, VAEConfig


@dataclass(frozen=True)
class ModelKind:
    """A registry entry: the model class, how numbers are encoded for it, loop defaults."""

    cls: type[TabularModel]
    numeric_encoding: str  # "quantile" | "mode" (TableTransformer numeric=)
    train_defaults: TrainConfig


MODELS: dict[str, ModelKind] = {
    "vae": ModelKind(
        TabularVAE,
        "quantile",
        TrainConfig(epochs=300, batch_size=500, eval_every=5, patience=6, min_epochs=40),
    ),
    "cgan": ModelKind(
        TabularCGAN,
        "mode",
        TrainConfig(epochs=100, batch_size=500, eval_every=5, patience=6, min_epochs=40),
    ),
}

__all__ = ["MODELS", "ModelKind", "TabularModel", "VAEConfig", "CGANConfig", "TrainConfig"]
