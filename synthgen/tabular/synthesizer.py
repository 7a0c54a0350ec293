"""``TabularSynthesizer``: fit a model kind to a typed table, sample from it, save and load it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from synthgen.core.modelfile import load_model, save_model
from synthgen.core.train import TrainConfig, fit_model
from synthgen.device import resolve_device
from synthgen.errors import DataError, ModelFileError, UsageError
from synthgen.schema import TableSchema
from synthgen.tabular.models import MODELS
from synthgen.tabular.models.layout import Layout
from synthgen.tabular.transform import TableTransformer


def _config_from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Rebuild a dataclass config from JSON (lists back to tuples where the field is a tuple).
    A field added after a file was written takes the class's ``written_before`` value when it has
    one (the behaviour the file was trained with), else its default."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ModelFileError(f"model config has unknown keys {unknown}")
    older = {k: v for k, v in getattr(cls, "written_before", {}).items() if k not in values}
    clean = {k: tuple(v) if isinstance(v, list) else v for k, v in {**older, **values}.items()}
    return cls(**clean)


class TabularSynthesizer:
    """Fit a conditional VAE or GAN to a table and generate synthetic rows.

    Follows scikit-learn's rules: ``__init__`` stores parameters, ``fit`` returns self, and fitted
    attributes end in ``_``.
    """

    def __init__(
        self,
        model: str = "vae",
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        seed: int = 0,
        device: str = "auto",
        progress: bool = True,
        model_options: dict[str, Any] | None = None,
        numeric_encoding: str | None = None,
    ) -> None:
        self.model = model
        self.numeric_encoding = numeric_encoding
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self.device = device
        self.progress = progress
        self.model_options = model_options

    # --- fitting -----------------------------------------------------------------------------
    def _kind(self):
        if self.model not in MODELS:
            raise UsageError(
                f"Unknown model kind '{self.model}'; choose one of {', '.join(sorted(MODELS))}."
            )
        return MODELS[self.model]

    def train_config(self, n_rows: int | None = None) -> TrainConfig:
        """The loop settings for this fit: the kind's defaults, then the user's overrides.
        Without ``batch_size`` or ``epochs``, they follow the table size (see ``ModelKind``)."""
        kind = self._kind()
        cfg = dataclasses.replace(kind.train_defaults, seed=self.seed)
        if self.batch_size is not None:
            if self.batch_size < 2:
                raise UsageError(f"--batch-size must be at least 2, got {self.batch_size}.")
            cfg = dataclasses.replace(cfg, batch_size=self.batch_size)
        elif n_rows is not None:
            cfg = dataclasses.replace(cfg, batch_size=kind.default_batch_size(n_rows))
        if self.epochs is not None:
            if self.epochs < 1:
                raise UsageError(f"--epochs must be at least 1, got {self.epochs}.")
            epochs = self.epochs
        elif n_rows is not None:
            epochs = kind.default_epochs(n_rows, cfg.batch_size)
        else:
            epochs = cfg.epochs
        return dataclasses.replace(cfg, epochs=epochs, min_epochs=min(cfg.min_epochs, epochs))

    def fit(
        self,
        data: pd.DataFrame,
        schema: TableSchema,
        *,
        checkpoint: Path | None = None,
        resume: bool = False,
    ) -> TabularSynthesizer:
        """Fit the transformer and the model to a typed frame (see ``synthgen.io.read_table``)."""
        kind = self._kind()
        if len(data) < 10:
            raise DataError(f"Only {len(data)} rows to fit on; synthgen needs at least 10.")
        device = resolve_device(self.device)
        train_cfg = self.train_config(len(data))
        started = time.perf_counter()
        self.schema_ = schema
        numeric = self.numeric_encoding or kind.numeric_encoding
        if numeric not in ("mode", "quantile"):
            raise UsageError(f"numeric_encoding must be 'mode' or 'quantile', not {numeric!r}.")
        self.transformer_ = TableTransformer(schema, numeric=numeric, seed=self.seed).fit(data)
        matrix = self.transformer_.transform(data)
        layout = Layout.from_transformer(self.transformer_)
        config = kind.cls.config_cls(**(self.model_options or {}))
        torch.manual_seed(self.seed)
        self.model_ = kind.cls(config, layout, schema.condition_columns)
        self.training_ = fit_model(
            self.model_,
            matrix,
            train_cfg,
            device,
            progress=self.progress,
            checkpoint=checkpoint,
            resume=resume,
            run_key={"model": self.model, "config": self.model_.config_dict()},
        )
        self.train_config_ = train_cfg
        self.generation_info_ = _generation_info(data, schema)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    # --- sampling ------------------------------------------------------------------------------
    def iter_sample(
        self,
        n: int,
        conditions: dict[str, Any] | None = None,
        *,
        seed: int | None = None,
        chunk_rows: int = 100_000,
    ) -> Iterator[pd.DataFrame]:
        """Yield chunks totalling exactly ``n`` rows that satisfy ``conditions`` and the schema's
        constraints (raises GenerationError on a shortfall, never yields a short total).
        Unknown or impossible conditions are refused here, before the first chunk is asked for."""
        from synthgen.tabular.sampler import Sampler

        self._check_fitted()
        sampler = Sampler(self, conditions or {}, seed=self.seed if seed is None else seed)
        return sampler.chunks(n, chunk_rows)

    def sample(
        self, n: int, conditions: dict[str, Any] | None = None, *, seed: int | None = None
    ) -> pd.DataFrame:
        """``n`` synthetic rows as a typed frame."""
        chunks = list(self.iter_sample(n, conditions, seed=seed))
        return pd.concat(chunks, ignore_index=True)

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise UsageError("This synthesizer is not fitted yet; call fit() or load() first.")

    # --- persistence -----------------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False, inputs=()) -> Path:
        """Write a ``.synth`` model file (safetensors + JSON, atomically)."""
        self._check_fitted()
        state, arrays = self.transformer_.to_state()
        summary = {k: v for k, v in self.training_.items()}
        return save_model(
            path,
            kind=f"table-{self.model}",
            config={
                "model": self.model,
                "model_config": self.model_.config_dict(),
                "train": dataclasses.asdict(self.train_config_),
                "condition_columns": self.model_.condition_columns,
            },
            schema=self.schema_,
            tensors=self.model_.state_tensors(),
            transformer_state=state,
            transformer_arrays=arrays,
            training=summary,
            extra={"generation": self.generation_info_},
            overwrite=overwrite,
            inputs=tuple(inputs),
        )

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> TabularSynthesizer:
        """Rebuild a synthesizer from a model file; weights are loaded strictly."""
        loaded = load_model(path, expect="table")
        cfg = loaded.config
        kind_name = cfg.get("model")
        if kind_name not in MODELS or loaded.kind != f"table-{kind_name}":
            raise ModelFileError(f"Model file {path} holds an unknown model kind '{loaded.kind}'.")
        kind = MODELS[kind_name]
        schema = loaded.schema
        self = cls(kind_name, seed=cfg["train"]["seed"], device=device, progress=False)
        try:
            self.transformer_ = TableTransformer.from_state(
                schema, loaded.manifest["transformer"], loaded.arrays("transformer")
            )
            layout = Layout.from_transformer(self.transformer_)
            config = _config_from_dict(kind.cls.config_cls, cfg["model_config"])
            self.model_ = kind.cls(config, layout, cfg["condition_columns"])
            self.model_.load_state_tensors(loaded.prefixed("model"))
        except (KeyError, RuntimeError, ValueError, TypeError) as err:
            raise ModelFileError(
                f"Model file {path} does not match the model it declares ({err})."
            ) from None
        self.model_.to(resolve_device(device))
        self.model_.train(False)
        self.schema_ = schema
        self.training_ = loaded.manifest.get("training", {})
        self.train_config_ = _config_from_dict(TrainConfig, cfg["train"])
        self.generation_info_ = loaded.manifest.get("extra", {}).get("generation", {})
        return self


def _generation_info(data: pd.DataFrame, schema: TableSchema) -> dict[str, Any]:
    """What generation needs beyond the model: id styles and allowed fixed combinations."""
    from synthgen.schema import FixedCombinationsConstraint
    from synthgen.tabular.sampler import combination_keys

    ids = {}
    for col in schema.columns:
        if col.type != "id" and not col.pii:
            continue
        values = data[col.name].dropna()
        numeric = pd.to_numeric(values.astype(str), errors="coerce")
        if col.type == "id" and len(values) and numeric.notna().all():
            ids[col.name] = {"style": "int", "start": int(numeric.max()) + 1}
        else:
            ids[col.name] = {"style": "token", "prefix": col.name}
    combos = []
    for con in schema.constraints:
        if isinstance(con, FixedCombinationsConstraint):
            seen = combination_keys(data, con.columns).unique()
            combos.append({"columns": con.columns, "values": [list(v) for v in seen]})
    return {"ids": ids, "fixed_combinations": combos, "n_train": int(len(data))}
