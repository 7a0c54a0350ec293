"""The explicit registry of tabular model kinds and their defaults."""

from __future__ import annotations

from dataclasses import dataclass

from synthgen.core.train import TrainConfig
from synthgen.tabular.models.base import TabularModel
from synthgen.tabular.models.cgan import CGANConfig, TabularCGAN
from synthgen.tabular.models.vae import TabularVAE, VAEConfig

MIN_STEPS_PER_EPOCH = 10  # a small table's default batch is cut down to give at least this


@dataclass(frozen=True)
class ModelKind:
    """A registry entry: the model class, how numbers are encoded for it, loop defaults.

    Without ``--batch-size``, a small table gets a smaller batch, so that an epoch has at
    least ``MIN_STEPS_PER_EPOCH`` steps (but never below ``min_batch_size`` rows): with the
    default 500 a table of a few hundred rows would get one step per epoch. Without
    ``--epochs`` a fit runs enough epochs for about ``target_steps`` optimiser steps (so small
    tables are not undertrained and large ones not overtrained), and at least ``min_epochs``;
    early stopping may end it sooner. (``train_defaults.epochs`` is used only when the table
    size is unknown.)
    """

    cls: type[TabularModel]
    numeric_encoding: str  # "quantile" | "mode" (TableTransformer numeric=)
    train_defaults: TrainConfig
    target_steps: int
    min_batch_size: int

    def _train_rows(self, n_rows: int) -> int:
        return int(n_rows * (1 - self.train_defaults.val_fraction))

    def default_batch_size(self, n_rows: int) -> int:
        by_steps = self._train_rows(n_rows) // MIN_STEPS_PER_EPOCH
        return int(min(self.train_defaults.batch_size, max(self.min_batch_size, by_steps)))

    def default_epochs(self, n_rows: int, batch_size: int) -> int:
        steps_per_epoch = max(1, self._train_rows(n_rows) // batch_size)
        wanted = -(-self.target_steps // steps_per_epoch)
        return int(max(wanted, self.train_defaults.min_epochs))


MODELS: dict[str, ModelKind] = {
    "vae": ModelKind(
        TabularVAE,
        "quantile",
        TrainConfig(epochs=300, batch_size=500, eval_every=5, patience=6, min_epochs=30),
        target_steps=3000,
        min_batch_size=16,
    ),
    "cgan": ModelKind(
        TabularCGAN,
        "quantile",
        TrainConfig(epochs=300, batch_size=500, eval_every=5, patience=6, min_epochs=30),
        target_steps=7000,
        min_batch_size=50,  # five PacGAN groups of 10
    ),
}

__all__ = ["MODELS", "ModelKind", "TabularModel", "VAEConfig", "CGANConfig", "TrainConfig"]
