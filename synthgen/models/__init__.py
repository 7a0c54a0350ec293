"""The explicit registry of tabular model kinds and their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from synthgen.models.base import TabularModel
from synthgen.models.cgan import CGANConfig, TabularCGAN
from synthgen.models.train import TrainConfig
from synthgen.models.vae import TabularVAE, VAEConfig


@dataclass(frozen=True)
class ModelKind:
    """A registry entry: the model class, how numbers are encoded for it, loop defaults.

    Without ``--epochs`` a fit runs enough epochs for about ``target_steps`` optimiser steps
    (so small tables are not undertrained and large ones not overtrained), clamped to
    ``[min_epochs, train_defaults.epochs]``; early stopping may end it sooner.
    """

    cls: type[TabularModel]
    numeric_encoding: str  # "quantile" | "mode" (TableTransformer numeric=)
    train_defaults: TrainConfig
    target_steps: int

    def default_epochs(self, n_rows: int, batch_size: int) -> int:
        steps_per_epoch = max(1, int(n_rows * (1 - self.train_defaults.val_fraction)) // batch_size)
        wanted = -(-self.target_steps // steps_per_epoch)
        return int(min(max(wanted, self.train_defaults.min_epochs), self.train_defaults.epochs))


MODELS: dict[str, ModelKind] = {
    "vae": ModelKind(
        TabularVAE,
        "quantile",
        TrainConfig(epochs=300, batch_size=500, eval_every=5, patience=6, min_epochs=30),
        target_steps=3000,
    ),
    "cgan": ModelKind(
        TabularCGAN,
        "quantile",
        TrainConfig(epochs=300, batch_size=500, eval_every=5, patience=6, min_epochs=30),
        target_steps=7000,
    ),
}

__all__ = ["MODELS", "ModelKind", "TabularModel", "VAEConfig", "CGANConfig", "TrainConfig"]
