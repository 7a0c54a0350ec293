"""The one registry of model kinds: every generator, detector and judge, table and image.

A :class:`Kind` names what a model file holds (its ``file_kind``, e.g. ``table-vae``), which
estimator fits and loads it, which trainable network it trains in the one loop
(:mod:`synthgen.core.train`), the dataclass of its options (``model_options`` in the API and
pipelines, ``--model-option KEY=VALUE`` on the CLI) and how its training is planned.

``core`` knows no kind itself: :mod:`synthgen.tabular` and :mod:`synthgen.images` register
theirs when imported (``synthgen.jobs`` imports both, so the registry is complete there).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from synthgen.core.configs import config_from_options
from synthgen.core.train import TrainConfig
from synthgen.errors import ModelFileError, UsageError, param

Data = Literal["table", "image"]
Role = Literal["generator", "detector", "judge"]
DATA: tuple[Data, ...] = ("table", "image")
ROLES: tuple[Role, ...] = ("generator", "detector", "judge")
MIN_STEPS_PER_EPOCH = 10  # a small data set's default batch shrinks to give at least this


@dataclass(frozen=True)
class Plan:
    """How a fit is planned when the user gives no ``epochs``/``batch_size``.

    The batch is ``train.batch_size``, cut down for small data so that an epoch has at least
    ``MIN_STEPS_PER_EPOCH`` steps (never below ``min_batch_size``); a fit runs enough epochs for
    about ``target_steps`` optimiser steps, at least ``train.min_epochs`` and at most
    ``max_epochs`` (``None``: no cap). Early stopping may end it sooner.
    """

    train: TrainConfig
    target_steps: int
    min_batch_size: int = 2
    max_epochs: int | None = None

    def train_rows(self, n_rows: int) -> int:
        return max(1, int(n_rows * (1 - self.train.val_fraction)))

    def batch_size(self, n_rows: int) -> int:
        by_steps = self.train_rows(n_rows) // MIN_STEPS_PER_EPOCH
        wanted = min(self.train.batch_size, max(self.min_batch_size, by_steps))
        return int(max(2, min(wanted, self.train_rows(n_rows))))

    def epochs(self, n_rows: int, batch_size: int) -> int:
        steps_per_epoch = max(1, self.train_rows(n_rows) // batch_size)
        wanted = max(math.ceil(self.target_steps / steps_per_epoch), self.train.min_epochs)
        return int(wanted if self.max_epochs is None else min(wanted, self.max_epochs))

    def config(
        self,
        n_rows: int | None,
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        seed: int = 0,
    ) -> TrainConfig:
        """The loop settings for one fit: these defaults, then the user's ``epochs`` and
        ``batch_size`` (checked here, so a bad value is refused before data is read)."""
        check_epochs(epochs)
        check_batch_size(batch_size)
        cfg = dataclasses.replace(self.train, seed=int(seed))
        if batch_size is not None:
            cfg = dataclasses.replace(cfg, batch_size=int(batch_size))
        elif n_rows is not None:
            cfg = dataclasses.replace(cfg, batch_size=self.batch_size(n_rows))
        if epochs is not None:
            n_epochs = int(epochs)
        elif n_rows is not None:
            n_epochs = self.epochs(n_rows, cfg.batch_size)
        else:
            n_epochs = cfg.epochs
        return dataclasses.replace(cfg, epochs=n_epochs, min_epochs=min(cfg.min_epochs, n_epochs))


def check_epochs(epochs: int | None) -> None:
    if epochs is not None and (isinstance(epochs, bool) or int(epochs) < 1):
        raise UsageError(f"{param('epochs')} must be at least 1, got {epochs}.", param="epochs")


def check_batch_size(batch_size: int | None) -> None:
    if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) < 2):
        raise UsageError(
            f"{param('batch_size')} must be at least 2, got {batch_size}.", param="batch_size"
        )


@dataclass(frozen=True)
class Kind:
    """A registry entry.

    name:        what users type (``--model vae``); unique within (data, role).
    data, role:  ``table``/``image`` and ``generator``/``detector``/``judge``; the estimator
                 registered for them fits, saves and loads it (``estimator_for``).
    network:     the trainable the one loop drives (built from ``config`` and the data).
    config:      the dataclass of its options; ``model_options`` fill it.
    plan:        its training defaults.
    summary:     one line for help texts.
    legacy_file_kinds: file kinds older synthgen versions wrote for it.
    threads:     CPU threads it trains with by default: 1 for small networks, whose matrix
                 products gain little from more and whose spinning threads slow a shared
                 machine tenfold; ``None``: every core (convolutional networks gain).
    extra:       anything else the estimator needs (e.g. a numeric encoding; ``dp_clip``: the
                 per-row gradient norm bound of a private fit, default ``DEFAULT_CLIP``).
    """

    name: str
    data: Data
    role: Role
    network: type
    config: type
    plan: Plan
    summary: str = ""
    legacy_file_kinds: tuple[str, ...] = ()
    threads: int | None = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def file_kind(self) -> str:
        """What the model file's manifest records: ``<data>-<name>``."""
        return f"{self.data}-{self.name}"

    def make_config(self, options: dict[str, Any] | None) -> Any:
        """The options dataclass from ``model_options`` (unknown keys and bad values refused)."""
        return config_from_options(self.config, options or {}, what=f"{self.data} {self.name}")


_KINDS: dict[tuple[str, str, str], Kind] = {}
_BY_FILE: dict[str, Kind] = {}
_ESTIMATORS: dict[tuple[str, str], type] = {}


def register_estimator(cls: type) -> type:
    """Class decorator: ``cls`` fits, saves and loads the kinds of its ``data`` and ``role``."""
    _ESTIMATORS[(cls.data, cls.role)] = cls
    return cls


def estimator_for(kind: Kind) -> type:
    """The estimator class of a kind (registered when its module was imported)."""
    try:
        return _ESTIMATORS[(kind.data, kind.role)]
    except KeyError:
        raise LookupError(f"no estimator is registered for {kind.data} {kind.role}s") from None


def register(kind: Kind) -> Kind:
    """Add a kind (idempotent for the same entry; a different one under a taken name fails)."""
    key = (kind.data, kind.role, kind.name)
    if key in _KINDS and _KINDS[key] is not kind:
        raise ValueError(f"model kind {key} is registered twice")
    _KINDS[key] = kind
    for file_kind in (kind.file_kind, *kind.legacy_file_kinds):
        _BY_FILE[file_kind] = kind
    return kind


def kinds(data: str | None = None, role: str | None = None) -> list[Kind]:
    """Registered kinds, optionally of one data type and role, in registration order."""
    return [
        k
        for k in _KINDS.values()
        if (data is None or k.data == data) and (role is None or k.role == role)
    ]


def get_kind(data: str, role: str, name: str) -> Kind:
    """The kind ``name`` for ``data`` and ``role``; an unknown name is refused with the known."""
    kind = _KINDS.get((data, role, str(name)))
    if kind is None:
        known = ", ".join(k.name for k in kinds(data, role)) or "none"
        raise UsageError(
            f"Unknown {data} {role} kind '{name}' for {param('model')}; choose one of {known}.",
            param="model",
        )
    return kind


def kind_of_file(file_kind: str, path: object = "the model file") -> Kind:
    """The kind a manifest's ``kind`` names (old spellings included)."""
    kind = _BY_FILE.get(file_kind)
    if kind is None:
        raise ModelFileError(f"Model file {path} holds an unknown model kind '{file_kind}'.")
    return kind


def role_of_file_kind(file_kind: str) -> str | None:
    """The role of a registered file kind, or None."""
    kind = _BY_FILE.get(file_kind)
    return None if kind is None else kind.role


def data_of_file_kind(file_kind: str) -> str | None:
    """``table`` or ``image`` for a registered file kind, or None."""
    kind = _BY_FILE.get(file_kind)
    return None if kind is None else kind.data
