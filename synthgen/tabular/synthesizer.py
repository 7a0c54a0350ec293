"""``TabularSynthesizer``: fit a table generator kind, sample rows from it, save and load it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

import pandas as pd

import synthgen.tabular.models  # noqa: F401  (registers the table generator kinds)
from synthgen.core.blocks import TABLE_BLOCK_ROWS
from synthgen.core.kinds import Kind, register_estimator
from synthgen.core.modelfile import LoadedModel
from synthgen.core.privacy import Budget, check_budget
from synthgen.core.synthesizer import Synthesizer, check_private_kind
from synthgen.core.train import TrainConfig
from synthgen.errors import DataError, UsageError, param
from synthgen.schema import FixedCombinationsConstraint, TableSchema
from synthgen.tabular.combinations import combination_keys
from synthgen.tabular.io.dataset import ParquetDataset
from synthgen.tabular.models.layout import Layout
from synthgen.tabular.privacy_info import check_protection, privacy_record, private_train_config
from synthgen.tabular.sampler import Sampler
from synthgen.tabular.stream_source import ParquetSource, check_streaming
from synthgen.tabular.transform import TableTransformer
from synthgen.tabular.transform.private import Protection
from synthgen.tabular.transform.table import NUMERIC_METHODS, PRIVATE_NUMERIC

MIN_ROWS = 10


@register_estimator
class TabularSynthesizer(Synthesizer):
    """Fit a conditional VAE or GAN (or any registered table generator) to a typed table and
    generate synthetic rows.

    Parameters: ``model`` (the kind: ``vae``, ``cgan``), ``epochs``/``batch_size`` (default:
    planned from the table's size), ``random_state`` (``seed`` is an alias), ``device``,
    ``progress``, ``model_options`` (the kind's config fields), ``numeric_encoding``
    (``mode``/``quantile``/``binned``; default: the kind's) and ``threads`` (CPU threads;
    default: torch's).

    Privacy: ``dp_epsilon``/``dp_delta`` fit with (epsilon, delta)-differential privacy
    (``vae``, ``cgan`` and ``ar``; delta defaults to 1/n^2 for n rows; see
    ``synthgen.core.privacy``);
    ``rare_min_count`` (k, noised; 0 = off) and ``rare_values`` (``placeholder``/``sample``)
    set the value protection every fit has: no category seen fewer than k times is generated
    and numbers are clipped to the k-th smallest and largest value.
    """

    data: ClassVar[str] = "table"

    def __init__(
        self,
        model: str = "vae",
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        random_state: int = 0,
        seed: int | None = None,
        device: str = "auto",
        progress: bool = True,
        model_options: dict[str, Any] | None = None,
        numeric_encoding: str | None = None,
        threads: int | None = None,
        dp_epsilon: float | None = None,
        dp_delta: float | None = None,
        rare_values: str = "placeholder",
        rare_min_count: int = 5,
    ) -> None:
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.seed = seed
        self.device = device
        self.progress = progress
        self.model_options = model_options
        self.numeric_encoding = numeric_encoding
        self.threads = threads
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.rare_values = rare_values
        self.rare_min_count = rare_min_count

    # ------------------------------------------------------------------ fitting hooks
    def _numeric(self, kind: Kind) -> str:
        numeric = self.numeric_encoding or kind.extra["numeric_encoding"]
        if numeric not in NUMERIC_METHODS:
            raise UsageError(
                f"{param('numeric_encoding')} must be one of {', '.join(NUMERIC_METHODS)}, "
                f"not {numeric!r}.",
                param="numeric_encoding",
            )
        if self.dp_epsilon is not None and numeric not in PRIVATE_NUMERIC:
            raise UsageError(
                f"{param('numeric_encoding')} {numeric!r} fits mixtures to the rows without "
                f"noise, which would void the guarantee of {param('dp_epsilon')}; a private "
                f"fit uses {' or '.join(repr(m) for m in PRIVATE_NUMERIC)} (noisy quantiles).",
                param="numeric_encoding",
            )
        return numeric

    def check_params(self) -> None:
        super().check_params()
        self._numeric(self.kind_entry())
        check_protection(self.rare_values, self.rare_min_count)
        check_budget(self.dp_epsilon, self.dp_delta)
        if self.dp_epsilon is not None:
            check_private_kind(self.kind_entry())

    def train_config(self, n_rows: int | None = None) -> TrainConfig:
        cfg = super().train_config(n_rows)
        if getattr(self, "_streaming", False) and self.epochs is None:
            # out of core, no epochs given: the kind's planned number of optimiser steps
            return dataclasses.replace(cfg, steps=self.kind_entry().plan.target_steps)
        if self.dp_epsilon is None:
            return cfg
        plan = self.kind_entry().extra.get("dp_train", {})
        return private_train_config(cfg, n_rows, self.epochs, self.batch_size, **plan)

    def _model_options(self, kind: Kind) -> dict[str, Any] | None:
        """A private fit starts from the kind's DP defaults (``dp_model_options``; smaller
        networks learn more under DP-SGD's noise); the user's options win."""
        if self.dp_epsilon is None:
            return self.model_options
        return {**kind.extra.get("dp_model_options", {}), **(self.model_options or {})}

    def _budget(self, n_rows: int) -> Budget | None:
        if self.dp_epsilon is None:
            return None
        return Budget.for_fit(float(self.dp_epsilon), self.dp_delta, n_rows, stats=True)

    def _protection(self) -> Protection:
        if self.budget_ is None:
            return Protection(int(self.rare_min_count), self.rare_values)
        eps, delta = self.budget_.part("statistics")
        return Protection(int(self.rare_min_count), self.rare_values, eps, delta)

    def fit(self, data, schema, *, checkpoint=None, resume=False) -> TabularSynthesizer:
        """Fit to a typed frame, or out of core to a ``ParquetDataset`` (a folder of Parquet
        files streamed through the loop, see :mod:`synthgen.tabular.stream_source`)."""
        self._streaming = isinstance(data, ParquetDataset)
        try:
            return super().fit(data, schema, checkpoint=checkpoint, resume=resume)
        finally:
            self._streaming = False

    def _check_data(self, data: pd.DataFrame, schema: TableSchema) -> None:
        if not isinstance(schema, TableSchema):
            raise UsageError("A table synthesizer needs a table schema.", param="schema")
        if isinstance(data, ParquetDataset):
            check_streaming(self.kind_entry(), self.dp_epsilon, data)
        elif not isinstance(data, pd.DataFrame):
            raise DataError(f"The data must be a pandas DataFrame, not {type(data).__name__}.")
        if len(data) < MIN_ROWS:
            raise DataError(f"Only {len(data)} rows to fit on; synthgen needs at least {MIN_ROWS}.")

    def _training_data(self, data, schema, kind, seed):
        self.transformer_ = TableTransformer(
            schema, numeric=self._numeric(kind), seed=seed, protection=self._protection()
        )
        if isinstance(data, ParquetDataset):  # fitted on a sample, rows streamed
            info: dict[str, Any] = {}

            def gather(chunk: pd.DataFrame) -> None:  # generation needs every row's ids, pairs
                info.update(merge_generation(info, generation_info(chunk, schema)))

            self.stream_ = ParquetSource(
                data,
                self.transformer_,
                seed=seed,
                val_fraction=kind.plan.train.val_fraction,
                on_chunk=gather,
            )
            self.stream_.generation = info
            matrix = self.stream_
        else:
            matrix = self.transformer_.fit(data).transform(data)
        layout = Layout.from_transformer(self.transformer_)
        return matrix, {"layout": layout, "condition_columns": schema.condition_columns}

    def _after_fit(self, data: pd.DataFrame, schema: TableSchema) -> None:
        if isinstance(data, ParquetDataset):
            self.generation_info_ = self.stream_.generation
            self.training_["out_of_core"] = self.stream_.record()
            del self.stream_
        else:
            self.generation_info_ = generation_info(data, schema, private=self.budget_ is not None)
        self.privacy_ = privacy_record(self)

    # ------------------------------------------------------------------ sampling
    def iter_sample(
        self,
        n: int,
        conditions: dict[str, Any] | None = None,
        *,
        seed: int | None = None,
        chunk_rows: int = 100_000,
        blocks: tuple[int, int] | None = None,
        threads: int = 1,
    ) -> Iterator[pd.DataFrame]:
        """Yield chunks totalling exactly ``n`` rows that satisfy ``conditions`` and the schema's
        constraints (raises GenerationError on a shortfall, never yields a short total).
        Unknown or impossible conditions are refused here, before the first chunk is asked for.

        Rows are block-seeded (``block_rows`` rows a block, see :mod:`synthgen.core.blocks`):
        ``blocks=(first, end)`` yields only the rows of blocks ``[first, end)`` of the ``n``-row
        output, the same rows a full run has there. ``threads`` blocks are drawn at once
        (the same rows)."""
        self._check_fitted()
        sampler = Sampler(self, conditions or {}, seed=self.random_seed if seed is None else seed)
        first, end = blocks if blocks is not None else (0, None)
        return sampler.chunks(n, chunk_rows, first_block=first, end_block=end, threads=threads)

    def check_conditions(self, conditions: dict[str, Any] | None, *, seed: int) -> None:
        """Refuse unknown conditions, and ones too few candidate rows meet, without drawing
        any output row (what ``iter_sample`` refuses before its first chunk)."""
        self._check_fitted()
        Sampler(self, conditions or {}, seed=seed).probe()

    def columns_valid_by_construction(self) -> frozenset[str]:
        """Categorical columns whose generated values are all valid by construction: every
        value the transformer can decode there (and every value a fixed-combination repair can
        write) is a declared category and no missing-value token, so the every-row check need
        not look at the values (only at their type and missing ones)."""
        from synthgen.tabular.transform.categorical import CategoricalEncoder

        self._check_fitted()
        tokens = set(self.schema_.missing_values)
        combos = (self.generation_info_ or {}).get("fixed_combinations", [])
        out = set()
        for spec in self.schema_.columns:
            enc = self.transformer_.encoders_.get(spec.name)
            if spec.type != "categorical" or type(enc) is not CategoricalEncoder:
                continue
            values = {v for v in enc.output_labels if v is not None}
            for combo in combos:
                if spec.name in combo["columns"]:
                    j = combo["columns"].index(spec.name)
                    values |= {row[j] for row in combo["values"] if row[j] is not None}
            declared = spec.categories
            if (declared is None or values <= set(declared)) and not values & tokens:
                out.add(spec.name)
        return frozenset(out)

    @property
    def block_rows(self) -> int:
        """Rows per block of block-seeded generation."""
        return TABLE_BLOCK_ROWS

    def sample(
        self, n: int, conditions: dict[str, Any] | None = None, *, seed: int | None = None
    ) -> pd.DataFrame:
        """``n`` synthetic rows as a typed frame."""
        return pd.concat(list(self.iter_sample(n, conditions, seed=seed)), ignore_index=True)

    # ------------------------------------------------------------------ persistence hooks
    def _file_config(self) -> dict[str, Any]:
        return {"condition_columns": self.model_.condition_columns}

    def _file_extra(self) -> dict[str, Any]:
        return {"generation": self.generation_info_, "privacy": self.privacy_}

    def _file_transformer(self):
        return self.transformer_.to_state()

    @classmethod
    def _network_args_from_file(cls, loaded: LoadedModel, est: Synthesizer) -> dict[str, Any]:
        est.transformer_ = TableTransformer.from_state(
            loaded.schema, loaded.manifest["transformer"], loaded.arrays("transformer")
        )
        layout = Layout.from_transformer(est.transformer_)
        return {"layout": layout, "condition_columns": list(loaded.config["condition_columns"])}

    def _restore_state(self, loaded: LoadedModel) -> None:
        self.generation_info_ = loaded.manifest.get("extra", {}).get("generation", {})
        self.privacy_ = loaded.manifest.get("extra", {}).get("privacy")


def generation_info(
    data: pd.DataFrame, schema: TableSchema, *, private: bool = False
) -> dict[str, Any]:
    """What generation needs beyond the model: id styles and allowed fixed combinations.

    A private fit learns neither from the rows: ids are fresh tokens (a next integer would
    tell the largest id) and fixed combinations are not enforced (the pairs seen are row
    data)."""
    ids = {}
    for col in schema.columns:
        if col.type != "id" and not col.pii:
            continue
        values = data[col.name].dropna()
        numeric = pd.to_numeric(values.astype(str), errors="coerce")
        if col.type == "id" and len(values) and numeric.notna().all() and not private:
            ids[col.name] = {"style": "int", "start": int(numeric.max()) + 1}
        else:
            ids[col.name] = {"style": "token", "prefix": col.name}
    combos = []
    for con in schema.constraints:
        if isinstance(con, FixedCombinationsConstraint) and not private:
            seen = combination_keys(data, con.columns).unique()
            combos.append({"columns": con.columns, "values": [list(v) for v in seen]})
    return {"ids": ids, "fixed_combinations": combos, "n_train": int(len(data))}


def merge_generation(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``generation_info`` of two parts of a table (chunks of a streamed dataset) as one: an id
    is a next integer only when it is in both, the fixed combinations are the union."""
    if not a:
        return b
    ids = {}
    for name, style in a["ids"].items():
        other = b["ids"][name]
        if style["style"] == "int" and other["style"] == "int":
            ids[name] = {"style": "int", "start": max(style["start"], other["start"])}
        else:
            ids[name] = {"style": "token", "prefix": name}
    combos = []
    for left, right in zip(a["fixed_combinations"], b["fixed_combinations"], strict=True):
        seen = {tuple(v): None for v in left["values"] + right["values"]}
        combos.append({"columns": left["columns"], "values": [list(v) for v in seen]})
    return {"ids": ids, "fixed_combinations": combos, "n_train": a["n_train"] + b["n_train"]}
