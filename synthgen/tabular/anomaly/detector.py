"""AnomalyDetector: scikit-learn-like screening of table rows by autoencoder reconstruction error.

>>> det = AnomalyDetector(seed=0).fit(train_df, schema)
>>> scored = det.score(new_df, contamination=0.01)   # + anomaly_score, is_anomaly, top_columns
>>> det.save("detector.synth"); det = AnomalyDetector.load("detector.synth")

A row's score is the mean over columns of its *standardised* reconstruction error: each column's
error (squared error of a standardised numeric value, cross-entropy of a one-hot block, their
sum where a column has both) divided by that column's mean error on the fitting data, plus, on
tables with categorical columns, the cross-column term: the nats by which each category is less
probable given the rest of the row (predicted by a masked-column model) than its base rate. A
score of about 1-2 is a typical fitting row; the columns contributing most are the row's
``top_columns``. Scores depend only on the row and the fitted model (eval mode, no batch
statistics, no dropout), so they are comparable across batches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthgen.core.calibration import ScoreCalibration, check_contamination, resolve_threshold
from synthgen.device import resolve_device
from synthgen.dtypes import STRING_DTYPE
from synthgen.errors import DataError, ModelFileError, UsageError
from synthgen.schema import TableSchema
from synthgen.tabular.anomaly.autoencoder import AutoencoderConfig, build_autoencoder
from synthgen.tabular.anomaly.features import TableEncoding, cross_groups
from synthgen.tabular.anomaly.training import (
    CrossLayout,
    TrainSettings,
    cpu_threads,
    cross_layout,
    log_category_prior,
    predict_group_errors,
    predict_masked_errors,
    prior_errors,
    stack_snapshots,
    train_autoencoder,
    train_masked,
)

KIND = "anomaly-table"
SCORE, FLAG, TOP = "anomaly_score", "is_anomaly", "top_columns"
OUTPUT_COLUMNS = (SCORE, FLAG, TOP)
TOP_SEPARATOR = ", "


@dataclass
class _Cross:
    """The fitted cross-column model: weights, config, masking groups, category log-prior."""

    model: torch.nn.Module
    config: AutoencoderConfig
    layout: CrossLayout
    log_prior: np.ndarray


@dataclass
class _Sizes:
    hidden: int
    bottleneck: int


def default_sizes(n_features: int, n_columns: int) -> _Sizes:
    """Layer sizes from the table's width: a bottleneck well below the number of columns."""
    hidden = int(np.clip(2 * n_features, 16, 128))
    bottleneck = int(np.clip(round(n_columns / 3), 2, 16))
    return _Sizes(hidden=hidden, bottleneck=min(bottleneck, hidden))


class AnomalyDetector:
    """Autoencoder anomaly detector for tables (see the module docstring).

    Parameters (all optional; the defaults are tuned for robustness across datasets):
    epochs:        most passes over the fitting data (early stopping on a held-out 10 % slice
                   usually ends training sooner).
    hidden, bottleneck: layer sizes; ``None`` sizes them from the table's width.
    members:       autoencoders in the ensemble (trained together; scores are averaged).
    contamination: default share of the fitting data flagged when ``score`` is given neither a
                   contamination nor a threshold.
    top_k:         columns listed in ``top_columns``.
    cross_weight:  weight of the cross-column term (0 turns the masked-column model off).
    cross_steps:   least optimiser steps for the masked-column model (small tables need more
                   than their epochs give to learn how columns depend on each other).
    seed, device:  training seed ("same seed, same scores") and "auto" | "cpu" | "cuda".
    """

    def __init__(
        self,
        *,
        epochs: int = 20,
        hidden: int | None = None,
        bottleneck: int | None = None,
        members: int = 4,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        patience: int = 4,
        contamination: float = 0.01,
        top_k: int = 3,
        scaling: str = "robust",
        clip: float = 1000.0,
        cross_weight: float = 1.0,
        cross_steps: int = 600,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.epochs = epochs
        self.hidden = hidden
        self.bottleneck = bottleneck
        self.members = members
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.contamination = contamination
        self.top_k = top_k
        self.scaling = scaling
        self.clip = clip
        self.cross_weight = cross_weight
        self.cross_steps = cross_steps
        self.seed = seed
        self.device = device

    # ------------------------------------------------------------------ helpers
    def _params(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "hidden": self.hidden,
            "bottleneck": self.bottleneck,
            "members": self.members,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "patience": self.patience,
            "contamination": self.contamination,
            "top_k": self.top_k,
            "scaling": self.scaling,
            "clip": self.clip,
            "cross_weight": self.cross_weight,
            "cross_steps": self.cross_steps,
            "seed": self.seed,
        }

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("AnomalyDetector is not fitted; call fit(df, schema) first")

    def _threads(self, device: torch.device):
        return cpu_threads(device, self.config_.n_features, self.config_.members)

    def _typed(self, df: pd.DataFrame, source: str = "Data") -> pd.DataFrame:
        """Check structure and types against the schema (values outside it are kept)."""
        from synthgen.tabular.io.read import validate_frame

        if not isinstance(df, pd.DataFrame):
            raise DataError(f"{source} must be a pandas DataFrame, not {type(df).__name__}.")
        return validate_frame(
            df, self.schema_, source=source, strict_values=False, allow_extra=True
        )

    # ------------------------------------------------------------------ fitting
    def fit(self, df: pd.DataFrame, schema: TableSchema) -> AnomalyDetector:
        """Train on ``df`` (trusted data, validated against ``schema``); returns self."""
        if not isinstance(schema, TableSchema):
            raise UsageError(
                "Table anomaly screening needs a table schema (image screening is not "
                "supported yet)."
            )
        check_contamination(self.contamination)
        if self.scaling not in ("robust", "standard"):
            raise UsageError(f"scaling must be 'robust' or 'standard', not {self.scaling!r}.")
        if int(self.epochs) < 1:
            raise UsageError(f"epochs must be at least 1, not {self.epochs}.")
        self.schema_ = schema
        frame = self._typed(df, "Fitting data")
        if len(frame) < 10:
            raise DataError(
                f"Fitting data has {len(frame)} row(s); an anomaly detector needs at least 10."
            )
        if not [c for c in schema.columns if c.type != "id"]:
            raise DataError("The schema has no columns to model (only id columns).")
        device = resolve_device(self.device)
        started = time.perf_counter()
        self.encoding_ = TableEncoding(schema, clip=self.clip, scaling=self.scaling).fit(
            frame, seed=self.seed
        )
        x = self.encoding_.transform(frame)
        layout = self.encoding_.layout_
        sizes = default_sizes(layout.n_features, layout.n_columns)
        self.config_ = AutoencoderConfig(
            n_features=layout.n_features,
            hidden=int(self.hidden or sizes.hidden),
            bottleneck=int(self.bottleneck or sizes.bottleneck),
            members=int(self.members),
        )
        settings = TrainSettings(
            epochs=int(self.epochs),
            batch_size=int(self.batch_size),
            lr=float(self.lr),
            weight_decay=float(self.weight_decay),
            patience=int(self.patience),
        )
        with cpu_threads(device, layout.n_features, self.config_.members):
            snaps, summary = train_autoencoder(
                x, layout, self.config_, settings, seed=int(self.seed), device=device
            )
            config, weights = stack_snapshots(self.config_, snaps)
            config.groups = len(snaps)
            self.config_ = config
            model = build_autoencoder(config)
            model.load_state_dict(weights)
            self.model_ = model.to(device).eval()
            self._device = device
            errors = self._group_errors(x)
            self._fit_cross(frame, x, settings, device, summary)
            deficit = self._cross_deficit(x)
        means = errors.mean(axis=1)  # (groups, columns)
        floor = 1e-3 * means.mean(axis=1, keepdims=True) + 1e-8
        self.column_scale_ = np.maximum(means, floor)
        scores = self._scores_from_errors(errors, deficit)[0]
        self.calibration_ = ScoreCalibration.from_scores(scores)
        summary["fit_seconds"] = round(time.perf_counter() - started, 3)
        summary["device"] = str(device)
        self.training_ = summary
        return self

    def _fit_cross(
        self, frame: pd.DataFrame, x: np.ndarray, settings: TrainSettings, device, summary: dict
    ) -> None:
        """Train the cross-column model (tables with categorical columns, ``cross_weight > 0``)."""
        from dataclasses import replace

        self.cross_ = None
        if float(self.cross_weight) <= 0:
            return
        layout = self.encoding_.layout_
        groups = cross_groups(frame, self.schema_, self.encoding_.columns_)
        if not (groups >= 0).any():
            return
        cross = cross_layout(layout, groups)
        config = AutoencoderConfig(
            n_features=layout.n_features,
            hidden=self.config_.hidden,
            bottleneck=max(self.config_.bottleneck, self.config_.hidden // 4),
            members=int(self.members),
            mask_inputs=cross.n_groups,
        )
        state, cross_summary = train_masked(
            x,
            layout,
            cross,
            config,
            replace(settings, lr=3 * settings.lr),
            seed=int(self.seed),
            device=device,
            min_steps=int(self.cross_steps),
        )
        model = build_autoencoder(config)
        model.load_state_dict(state)
        self.cross_ = _Cross(model.to(device).eval(), config, cross, log_category_prior(x, layout))
        summary["cross"] = cross_summary

    # ------------------------------------------------------------------ scoring
    def _cross_deficit(self, x: np.ndarray) -> np.ndarray | None:
        """Per column, how many nats less probable the row's category is given the rest of the
        row than its frequency in the fitting data (0 when more probable; ``None`` without a
        cross-column model)."""
        cross = getattr(self, "cross_", None)
        if cross is None:
            return None
        layout = self.encoding_.layout_
        masked = predict_masked_errors(cross.model, x, layout, cross.layout, self._device)
        return np.maximum(masked - prior_errors(x, layout, cross.log_prior), 0.0)

    def _group_errors(self, x: np.ndarray) -> np.ndarray:
        """Per-column errors ``(groups, rows, columns)``, averaged over each group's members."""
        return predict_group_errors(
            self.model_, x, self.encoding_.layout_, self._device, groups=self.config_.groups
        )

    def _scores_from_errors(
        self, errors: np.ndarray, deficit: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and per-column contributions (their mean is the score): standardised
        reconstruction errors, plus the cross-column deficits (in nats, summed over columns)."""
        contrib = (errors / self.column_scale_[:, None, :]).mean(axis=0)
        if deficit is not None:
            contrib = contrib + float(self.cross_weight) * contrib.shape[1] * deficit
        return contrib.mean(axis=1), contrib

    def _score_typed(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        x = self.encoding_.transform(frame)
        with self._threads(self._device):
            errors = self._group_errors(x)
            deficit = self._cross_deficit(x)
        return self._scores_from_errors(errors, deficit)

    def score_samples(self, df: pd.DataFrame) -> np.ndarray:
        """The anomaly score of each row (higher = more anomalous)."""
        self._check_fitted()
        return self._score_typed(self._typed(df))[0]

    def threshold(
        self, *, contamination: float | None = None, threshold: float | None = None
    ) -> float:
        """The score threshold for a contamination share of the fitting data, or ``threshold``
        itself (checked); neither gives the detector's default contamination."""
        self._check_fitted()
        return resolve_threshold(
            self.calibration_,
            contamination=contamination,
            threshold=threshold,
            default_contamination=self.contamination,
        )[0]

    def top_columns(self, contributions: np.ndarray) -> list[str]:
        """``top_k`` columns with the largest standardised errors, per row, joined by ", "."""
        k = max(1, min(int(self.top_k), contributions.shape[1]))
        names = np.asarray(self.encoding_.columns_, dtype=object)
        order = np.argsort(-contributions, axis=1, kind="stable")[:, :k]
        return [TOP_SEPARATOR.join(row) for row in names[order]]

    def score(
        self,
        df: pd.DataFrame,
        *,
        contamination: float | None = None,
        threshold: float | None = None,
    ) -> pd.DataFrame:
        """The input rows plus ``anomaly_score``, ``is_anomaly`` and ``top_columns``."""
        t = self.threshold(contamination=contamination, threshold=threshold)
        return self._score_frame(df, t)

    def _score_frame(self, df: pd.DataFrame, threshold: float, typed=None) -> pd.DataFrame:
        self._check_fitted()
        frame = self._typed(df) if typed is None else typed
        scores, contrib = self._score_typed(frame)
        out = df.drop(columns=[c for c in OUTPUT_COLUMNS if c in df.columns]).copy()
        out[SCORE] = scores
        out[FLAG] = scores > threshold
        out[TOP] = pd.Series(self.top_columns(contrib), index=out.index, dtype=STRING_DTYPE)
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, *, overwrite: bool = False, inputs: tuple = ()) -> Path:
        """Write the detector to a ``.synth`` model file (atomically)."""
        from synthgen.core.modelfile import save_model

        self._check_fitted()
        state, arrays, scaler = self.encoding_.to_state()
        tensors: dict[str, Any] = {
            f"ae.{k}": v.detach().cpu() for k, v in self.model_.state_dict().items()
        }
        tensors["scaler.centre"] = torch.from_numpy(scaler["centre"].astype(np.float64))
        tensors["scaler.scale"] = torch.from_numpy(scaler["scale"].astype(np.float64))
        tensors["calibration.scores"] = torch.from_numpy(self.calibration_.sorted_scores)
        tensors["calibration.column_scale"] = torch.from_numpy(
            self.column_scale_.astype(np.float64)
        )
        config = {"detector": self._params(), "autoencoder": self.config_.to_dict()}
        cross = getattr(self, "cross_", None)
        if cross is not None:
            config["cross"] = cross.config.to_dict()
            for k, v in cross.model.state_dict().items():
                tensors[f"cross.model.{k}"] = v.detach().cpu()
            tensors["cross.groups"] = torch.from_numpy(cross.layout.groups.astype(np.int64))
            tensors["cross.log_prior"] = torch.from_numpy(cross.log_prior.astype(np.float64))
        return save_model(
            path,
            kind=KIND,
            config=config,
            schema=self.schema_,
            tensors=tensors,
            transformer_state=state,
            transformer_arrays=arrays,
            training=self.training_,
            extra={
                "calibration_rows": self.calibration_.n_rows,
                "columns": list(self.encoding_.columns_),
                "score": "mean standardised per-column reconstruction error"
                + (" + cross-column category deficit (nats)" if cross is not None else ""),
            },
            overwrite=overwrite,
            inputs=tuple(inputs),
        )

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> AnomalyDetector:
        """Read a detector written by :meth:`save` (weights loaded strictly, nothing unpickled)."""
        from synthgen.core.modelfile import load_model

        loaded = load_model(path, expect="anomaly")
        if loaded.kind != KIND:
            raise ModelFileError(
                f"Model file {path} holds a '{loaded.kind}' detector; this synthgen screens "
                f"tables with '{KIND}' detectors."
            )
        if not isinstance(loaded.schema, TableSchema):
            raise ModelFileError(f"Model file {path} has no table schema.")
        try:
            params = dict(loaded.config["detector"])
            config = AutoencoderConfig.from_dict(loaded.config["autoencoder"])
            tensors = loaded.prefixed("model")
            det = cls(**params, device=device)
            det.schema_ = loaded.schema
            det.encoding_ = TableEncoding.from_state(
                loaded.schema,
                loaded.manifest["transformer"],
                loaded.arrays("transformer"),
                {
                    "centre": tensors["scaler.centre"].numpy(),
                    "scale": tensors["scaler.scale"].numpy(),
                },
                clip=float(params.get("clip", 1000.0)),
                scaling=str(params.get("scaling", "robust")),
            )
            det.config_ = config
            dev = resolve_device(device)
            model = build_autoencoder(config)
            weights = {k[3:]: v for k, v in tensors.items() if k.startswith("ae.")}
            model.load_state_dict(weights, strict=True)
            det.model_ = model.to(dev).eval()
            det._device = dev
            det.calibration_ = ScoreCalibration(
                tensors["calibration.scores"].numpy(),
                int(loaded.manifest["extra"]["calibration_rows"]),
            )
            det.column_scale_ = tensors["calibration.column_scale"].numpy().astype(np.float64)
            if det.column_scale_.ndim != 2 or det.column_scale_.shape[0] != config.groups:
                raise ValueError("calibration scales do not match the snapshot groups")
            det.training_ = dict(loaded.manifest.get("training", {}))
            det.cross_ = None
            if "cross" in loaded.config:  # files written before the cross-column model have none
                det.cross_ = _load_cross(loaded.config["cross"], tensors, det.encoding_, dev)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ModelFileError(
                f"Model file {path} is not a valid table anomaly detector ({err})."
            ) from None
        if det.encoding_.layout_.n_features != config.n_features or det.column_scale_.shape[
            1
        ] != len(det.encoding_.columns_):
            raise ModelFileError(f"Model file {path}: the detector does not match its schema.")
        return det

    def __repr__(self) -> str:
        fitted = "fitted" if hasattr(self, "model_") else "unfitted"
        return f"AnomalyDetector(seed={self.seed}, members={self.members}, {fitted})"


def _load_cross(
    config_dict: dict, tensors: dict[str, torch.Tensor], encoding: TableEncoding, device
) -> _Cross:
    """The cross-column model stored under ``cross.*`` (raises ValueError/KeyError if broken)."""
    config = AutoencoderConfig.from_dict(config_dict)
    groups = tensors["cross.groups"].numpy().astype(np.int64)
    layout = encoding.layout_
    if len(groups) != layout.n_columns:
        raise ValueError("cross-column groups do not match the columns")
    cross = cross_layout(layout, groups)
    if cross.n_groups != config.mask_inputs or config.n_features != layout.n_features:
        raise ValueError("cross-column model does not match its groups")
    log_prior = tensors["cross.log_prior"].numpy().astype(np.float64)
    if log_prior.shape != (layout.n_features,):
        raise ValueError("cross-column prior does not match the encoding")
    model = build_autoencoder(config)
    prefix = "cross.model."
    model.load_state_dict(
        {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}, strict=True
    )
    return _Cross(model.to(device).eval(), config, cross, log_prior)
