"""AnomalyDetector: scikit-learn-like screening of table rows by autoencoder reconstruction error.

>>> det = AnomalyDetector(random_state=0).fit(train_df, schema)
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
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from synthgen.core.calibration import ScoreCalibration
from synthgen.core.configs import config_from_dict, config_to_dict
from synthgen.core.detector import Detector, step_budget
from synthgen.core.kinds import Kind, Plan, register, register_estimator
from synthgen.core.modelfile import LoadedModel
from synthgen.core.screening import FLAG, SCORE, TOP, TOP_SEPARATOR
from synthgen.core.train import TrainConfig, fit_model
from synthgen.device import resolve_device
from synthgen.dtypes import STRING_DTYPE
from synthgen.errors import DataError, UsageError, param
from synthgen.schema import TableSchema
from synthgen.tabular.anomaly.autoencoder import AutoencoderConfig, build_autoencoder
from synthgen.tabular.anomaly.cross import CrossModel, fit_cross_model
from synthgen.tabular.anomaly.features import TableEncoding
from synthgen.tabular.anomaly.reconstruction import (
    ReconstructionNet,
    cpu_threads,
    predict_group_errors,
)
from synthgen.tabular.io.coerce import validate_frame

OUTPUT_COLUMNS = (SCORE, FLAG, TOP)
MIN_ROWS = 10


@dataclass
class DetectorConfig:
    """The table detector's options (``model_options``): network sizes (0 = sized from the
    table's width), the ensemble, optimiser and step cap, numeric scaling, and the
    cross-column model's weight (0 turns it off) and least steps."""

    hidden: int = 0
    bottleneck: int = 0
    members: int = 4
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 4
    max_steps: int = 1000
    scaling: str = "robust"
    clip: float = 1000.0
    cross_weight: float = 1.0
    cross_steps: int = 600

    def __post_init__(self) -> None:
        if self.scaling not in ("robust", "standard"):
            raise ValueError(f"scaling must be 'robust' or 'standard', not {self.scaling!r}")
        for name in ("members", "patience", "max_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not self.lr > 0 or self.clip <= 0 or self.cross_weight < 0:
            raise ValueError("lr and clip must be positive, cross_weight not negative")


def default_sizes(n_features: int, n_columns: int) -> tuple[int, int]:
    """Layer sizes from the table's width: a bottleneck well below the number of columns."""
    hidden = int(np.clip(2 * n_features, 16, 128))
    bottleneck = int(np.clip(round(n_columns / 3), 2, 16))
    return hidden, min(bottleneck, hidden)


@register_estimator
class AnomalyDetector(Detector):
    """Autoencoder anomaly detector for tables (see the module docstring).

    Parameters: ``model`` (the kind, ``autoencoder``), ``epochs`` (most passes over the
    fitting data; early stopping on a held-out 10 % usually ends sooner), ``batch_size``,
    ``contamination`` (default share of the fitting data flagged), ``top_k`` (columns listed in
    ``top_columns``), ``random_state`` (``seed`` an alias: same seed, same scores), ``device``,
    ``progress``, ``model_options`` (see :class:`DetectorConfig`) and ``threads``.
    """

    data: ClassVar[str] = "table"

    def __init__(
        self,
        model: str = "autoencoder",
        *,
        epochs: int = 20,
        batch_size: int = 256,
        contamination: float = 0.01,
        top_k: int = 3,
        random_state: int = 0,
        seed: int | None = None,
        device: str = "auto",
        progress: bool = True,
        model_options: dict[str, Any] | None = None,
        threads: int | None = None,
    ) -> None:
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.contamination = contamination
        self.top_k = top_k
        self.random_state = random_state
        self.seed = seed
        self.device = device
        self.progress = progress
        self.model_options = model_options
        self.threads = threads

    # ------------------------------------------------------------------ helpers
    def check_params(self) -> None:
        super().check_params()
        for name in ("epochs", "batch_size", "top_k"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) < 1:
                raise UsageError(f"{param(name)} must be at least 1, not {value}.", param=name)

    def _typed(self, df: pd.DataFrame, source: str = "Data") -> pd.DataFrame:
        """Check structure and types against the schema (values outside it are kept)."""
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"{source} must be a pandas DataFrame, not {type(df).__name__}.")
        return validate_frame(
            df, self.schema_, source=source, strict_values=False, allow_extra=True
        )

    def _threads(self):
        return cpu_threads(self._device, self.ae_config_.n_features, self.ae_config_.members)

    # ------------------------------------------------------------------ fitting
    def fit(self, df: pd.DataFrame, schema: TableSchema) -> AnomalyDetector:
        """Train on ``df`` (trusted data, checked against ``schema``); returns self."""
        if not isinstance(schema, TableSchema):
            raise UsageError("Table anomaly screening needs a table schema.", param="schema")
        self.check_params()
        kind = self.kind_entry()
        options: DetectorConfig = kind.make_config(self.model_options)
        self.schema_ = schema
        frame = self._typed(df, "Fitting data")
        if len(frame) < MIN_ROWS:
            raise DataError(
                f"Fitting data has {len(frame)} row(s); an anomaly detector needs at least "
                f"{MIN_ROWS}."
            )
        if not [c for c in schema.columns if c.type != "id"]:
            raise DataError("The schema has no columns to model (only id columns).")
        device = resolve_device(self.device)
        self._device = device
        started = time.perf_counter()
        seed = self.random_seed
        self.encoding_ = TableEncoding(schema, clip=options.clip, scaling=options.scaling)
        x = self.encoding_.fit(frame, seed=seed).transform(frame)
        layout = self.encoding_.layout_
        hidden, bottleneck = default_sizes(layout.n_features, layout.n_columns)
        ae = AutoencoderConfig(
            n_features=layout.n_features,
            hidden=int(options.hidden or hidden),
            bottleneck=int(options.bottleneck or bottleneck),
            members=int(options.members),
        )
        self.ae_config_ = ae
        n_val = min(int(round(len(x) * 0.1)), 5000) if len(x) >= 50 else 0
        bs = max(8, min(int(self.batch_size), len(x) - n_val))
        cfg = TrainConfig(
            epochs=int(self.epochs),
            batch_size=bs,
            val_fraction=0.1,
            max_val_rows=5000,
            patience=int(options.patience),
            min_epochs=0,
            seed=seed,
            steps=step_budget(len(x) - n_val, bs, int(self.epochs), max_steps=options.max_steps),
        )
        with self._compute(device), cpu_threads(device, ae.n_features, ae.members):
            with torch.random.fork_rng(devices=[]):  # seeded init; the caller's RNG untouched
                torch.manual_seed(seed)
                net = ReconstructionNet(
                    ae, layout, lr=float(options.lr), weight_decay=float(options.weight_decay)
                )
            summary = fit_model(
                net, x, cfg, device, progress=self.progress, description="fitting detector"
            )
            self.ae_config_, model = net.stacked()
            self.model_ = model.to(device).eval()
            errors = self._group_errors(x)
            self.cross_ = fit_cross_model(
                frame, x, self.encoding_, ae, options, cfg, device, self.progress
            )
            deficit = self.cross_.deficit(x, layout, device) if self.cross_ else None
        means = errors.mean(axis=1)  # (groups, columns)
        floor = 1e-3 * means.mean(axis=1, keepdims=True) + 1e-8
        self.column_scale_ = np.maximum(means, floor)
        self.options_ = options
        self.kind_ = kind
        self._calibrate(self._scores_from_errors(errors, deficit)[0])
        summary.pop("history", None)
        if self.cross_ is not None:
            summary["cross"] = {k: v for k, v in self.cross_.summary.items() if k != "history"}
        self.training_ = {**summary, "rows": int(len(x)), "device": str(device)}
        self.fit_seconds_ = round(time.perf_counter() - started, 3)
        return self

    # ------------------------------------------------------------------ scoring
    def _group_errors(self, x: np.ndarray) -> np.ndarray:
        """Per-column errors ``(groups, rows, columns)``, averaged over each group's members."""
        return predict_group_errors(
            self.model_, x, self.encoding_.layout_, self._device, groups=self.ae_config_.groups
        )

    def _scores_from_errors(
        self, errors: np.ndarray, deficit: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and per-column contributions (their mean is the score): standardised
        reconstruction errors, plus the cross-column deficits (in nats, summed over columns)."""
        contrib = (errors / self.column_scale_[:, None, :]).mean(axis=0)
        if deficit is not None:
            weight = float(self.options_.cross_weight)
            contrib = contrib + weight * contrib.shape[1] * deficit
        return contrib.mean(axis=1), contrib

    def _score_typed(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        x = self.encoding_.transform(frame)
        with self._threads():
            errors = self._group_errors(x)
            cross = self.cross_
            deficit = cross.deficit(x, self.encoding_.layout_, self._device) if cross else None
        return self._scores_from_errors(errors, deficit)

    def score_samples(self, df: pd.DataFrame) -> np.ndarray:
        """The anomaly score of each row (higher = more anomalous)."""
        self._check_fitted()
        return self._score_typed(self._typed(df))[0]

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
        return self.score_frame(df, t)

    def score_frame(self, df: pd.DataFrame, threshold: float, typed=None) -> pd.DataFrame:
        """``df`` (checked against the schema unless ``typed`` is given) scored at
        ``threshold``."""
        self._check_fitted()
        frame = self._typed(df) if typed is None else typed
        scores, contrib = self._score_typed(frame)
        out = df.drop(columns=[c for c in OUTPUT_COLUMNS if c in df.columns]).copy()
        out[SCORE] = scores
        out[FLAG] = scores > threshold
        out[TOP] = pd.Series(self.top_columns(contrib), index=out.index, dtype=STRING_DTYPE)
        return out

    # ------------------------------------------------------------------ persistence
    def _file_contents(self) -> dict[str, Any]:
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
        params = {k: v for k, v in self.get_params().items() if k not in ("device", "progress")}
        params["model_options"] = config_to_dict(self.options_)
        config = {"detector": params, "autoencoder": self.ae_config_.to_dict()}
        if self.cross_ is not None:
            config["cross"] = self.cross_.config.to_dict()
            tensors.update(self.cross_.tensors())
        return {
            "config": config,
            "tensors": tensors,
            "transformer_state": state,
            "transformer_arrays": arrays,
            "training": self.training_,
            "extra": {
                "calibration_rows": self.calibration_.n_rows,
                "columns": list(self.encoding_.columns_),
                "score": "mean standardised per-column reconstruction error"
                + (" + cross-column category deficit (nats)" if self.cross_ else ""),
            },
        }

    @classmethod
    def _restore(cls, loaded: LoadedModel, device: str) -> AnomalyDetector:
        if not isinstance(loaded.schema, TableSchema):
            raise ValueError("the file has no table schema")
        params, options = _params_of(dict(loaded.config["detector"]))
        det = cls(**params, device=device, progress=False)
        det.options_ = options
        config = AutoencoderConfig.from_dict(loaded.config["autoencoder"])
        tensors = loaded.prefixed("model")
        det.schema_ = loaded.schema
        det.encoding_ = TableEncoding.from_state(
            loaded.schema,
            loaded.manifest["transformer"],
            loaded.arrays("transformer"),
            {"centre": tensors["scaler.centre"].numpy(), "scale": tensors["scaler.scale"].numpy()},
            clip=float(options.clip),
            scaling=str(options.scaling),
        )
        det.ae_config_ = config
        dev = resolve_device(device)
        det._device = dev
        model = build_autoencoder(config)
        model.load_state_dict({k[3:]: v for k, v in tensors.items() if k.startswith("ae.")})
        det.model_ = model.to(dev).eval()
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
            det.cross_ = CrossModel.from_tensors(
                loaded.config["cross"], tensors, det.encoding_, dev
            )
        if det.encoding_.layout_.n_features != config.n_features or det.column_scale_.shape[
            1
        ] != len(det.encoding_.columns_):
            raise ValueError("the detector does not match its schema")
        return det

    def __repr__(self) -> str:
        fitted = "fitted" if self.is_fitted() else "unfitted"
        return f"AnomalyDetector(random_state={self.random_seed}, {fitted})"


_OPTION_KEYS = {f for f in DetectorConfig.__dataclass_fields__}


def _params_of(stored: dict[str, Any]) -> tuple[dict[str, Any], DetectorConfig]:
    """Estimator parameters and options from a file's ``detector`` entry (files of synthgen
    0.1.0 kept every option beside the parameters, and their seed as ``seed``)."""
    options = dict(stored.pop("model_options", None) or {})
    for key in list(stored):
        if key in _OPTION_KEYS:
            value = stored.pop(key)
            if value is not None:
                options[key] = value
    if "seed" in stored and stored["seed"] is not None and "random_state" not in stored:
        stored["random_state"] = stored.pop("seed")
    stored.pop("model_options", None)
    keep = ("model", "epochs", "batch_size", "contamination", "top_k", "random_state", "seed")
    params = {k: v for k, v in stored.items() if k in keep}
    return params, config_from_dict(DetectorConfig, options)


KIND = register(
    Kind(
        name="autoencoder",
        data="table",
        role="detector",
        network=ReconstructionNet,
        config=DetectorConfig,
        plan=Plan(TrainConfig(epochs=20, batch_size=256, patience=4), target_steps=1000),
        summary="ensemble MLP autoencoder with a cross-column model for categories",
        legacy_file_kinds=("anomaly-table",),
    )
)
