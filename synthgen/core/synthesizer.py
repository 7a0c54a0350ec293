"""What table and image synthesizers share: fitting a generator kind in the one training loop,
and saving and loading it. A subclass says how its data becomes training arrays and network
arguments, and how it samples."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path
from typing import Any, ClassVar

import torch

from synthgen.core.configs import config_from_dict
from synthgen.core.estimator import Estimator
from synthgen.core.kinds import Kind
from synthgen.core.modelfile import LoadedModel
from synthgen.core.privacy import DEFAULT_CLIP, Budget, DPTraining, quiet
from synthgen.core.train import TrainConfig, fit_model
from synthgen.core.trainable import TrainableModel
from synthgen.core.training_data import TrainData
from synthgen.device import resolve_device
from synthgen.errors import UsageError, param

SELF_CHECK_ROWS = 16  # drawn once when a model file is loaded (milliseconds)


class Synthesizer(Estimator):
    """Fit a generator kind to data described by a schema; sample; save and load.

    Subclasses implement ``_check_data``, ``_training_data``, ``_after_fit``,
    ``_network_args_from_file`` and ``_restore_state``, and may add to the file with
    ``_file_config`` and ``_file_extra``.
    """

    role: ClassVar[str] = "generator"

    # ------------------------------------------------------------------ hooks
    def _check_data(self, data: Any, schema: Any) -> None:
        raise NotImplementedError

    def _training_data(
        self, data: Any, schema: Any, kind: Kind, seed: int
    ) -> tuple[TrainData, dict[str, Any]]:
        """The arrays the loop trains on and the network's constructor arguments."""
        raise NotImplementedError

    def _after_fit(self, data: Any, schema: Any) -> None:
        """Fitted attributes beyond the network (e.g. what generation needs)."""

    def _file_config(self) -> dict[str, Any]:
        return {}

    def _file_extra(self) -> dict[str, Any]:
        return {}

    def _file_transformer(self) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        return None, {}

    @classmethod
    def _network_args_from_file(cls, loaded: LoadedModel, est: Synthesizer) -> dict[str, Any]:
        raise NotImplementedError

    def _restore_state(self, loaded: LoadedModel) -> None:
        """Fitted attributes beyond the network, from the file."""

    def _model_options(self, kind: Kind) -> dict[str, Any] | None:
        """The options the kind's config is built from (the user's ``model_options``)."""
        return self.model_options

    def _budget(self, n_rows: int) -> Budget | None:
        """The differential-privacy budget of this fit (None: no DP). Tables say."""
        return None

    def check_params(self) -> None:
        """Refuse a bad kind, option, seed, device, epoch count or batch size before any data
        is read."""
        super().check_params()
        self.train_config()

    # ------------------------------------------------------------------ fitting
    def train_config(self, n_rows: int | None = None) -> TrainConfig:
        """The loop settings for a fit on ``n_rows`` rows: the kind's plan, then the user's
        ``epochs`` and ``batch_size``."""
        return self.kind_entry().plan.config(
            n_rows, epochs=self.epochs, batch_size=self.batch_size, seed=self.random_seed
        )

    def fit(
        self,
        data: Any,
        schema: Any,
        *,
        checkpoint: Path | None = None,
        resume: bool = False,
    ) -> Synthesizer:
        """Fit the kind to ``data`` (as the reader of ``schema``'s kind returns it)."""
        self.check_params()
        kind = self.kind_entry()
        config = kind.make_config(self._model_options(kind))
        device = resolve_device(self.device)
        self._check_data(data, schema)
        seed = self.random_seed
        train_cfg = self.train_config(len(data))
        self.budget_ = self._budget(len(data))
        if self.budget_ is not None:
            check_private_kind(kind)
        privacy = None
        if self.budget_ is not None:
            eps, delta = self.budget_.part("sgd")
            privacy = DPTraining.plan(
                eps,
                delta,
                len(data),
                train_cfg.batch_size,
                train_cfg.epochs,
                max_grad_norm=float(kind.extra.get("dp_clip", DEFAULT_CLIP)),
            )
        started = time.perf_counter()
        with self._compute(device):
            arrays, network_args = self._training_data(data, schema, kind, seed)
            torch.manual_seed(seed)
            network: TrainableModel = kind.network(config, **network_args)
            with quiet() if privacy is not None else contextlib.nullcontext():
                self.training_ = fit_model(
                    network,
                    arrays,
                    train_cfg,
                    device,
                    progress=self.progress,
                    checkpoint=checkpoint,
                    resume=resume,
                    run_key={"model": kind.file_kind, "config": network.config_dict()},
                    description=f"fitting {kind.data} {kind.name}",
                    privacy=privacy,
                )
        self.model_ = network
        self.kind_ = kind
        self.schema_ = schema
        self.train_config_ = train_cfg
        self._after_fit(data, schema)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    # ------------------------------------------------------------------ persistence
    def _file_contents(self) -> dict[str, Any]:
        state, arrays = self._file_transformer()
        return {
            "config": {
                "model": self.kind_.name,
                "model_config": self.model_.config_dict(),
                "train": dataclasses.asdict(self.train_config_),
                **self._file_config(),
            },
            "tensors": self.model_.state_tensors(),
            "transformer_state": state,
            "transformer_arrays": arrays,
            "training": dict(self.training_),
            "extra": self._file_extra(),
        }

    def _self_check(self) -> None:
        self.sample(SELF_CHECK_ROWS, seed=0)  # its own seed: the global random state is kept

    @classmethod
    def _restore(cls, loaded: LoadedModel, device: str) -> Synthesizer:
        kind = loaded.entry
        cfg = loaded.config
        train_cfg = config_from_dict(TrainConfig, cfg["train"])
        est = cls(kind.name, random_state=train_cfg.seed, device=device, progress=False)
        est.schema_ = loaded.schema
        est.kind_ = kind
        config = config_from_dict(kind.config, cfg["model_config"])
        network = kind.network(config, **cls._network_args_from_file(loaded, est))
        network.load_state_tensors(loaded.prefixed("model"))
        network.to(resolve_device(device))
        network.train(False)
        est.model_ = network
        est.train_config_ = train_cfg
        est.training_ = dict(loaded.manifest.get("training", {}))
        est._restore_state(loaded)
        return est


def check_private_kind(kind: Kind) -> None:
    """Refuse differential privacy for a kind whose network has no private training."""
    if not getattr(kind.network, "supports_privacy", False):
        raise UsageError(
            f"The {kind.data} kind '{kind.name}' has no differentially private training; leave "
            f"out {param('dp_epsilon')} or choose a kind that has one (tables: vae, cgan, ar).",
            param="dp_epsilon",
        )
