"""AnomalyDetector: scikit-learn-like screening of table rows by autoencoder reconstruction error.

>>> det = AnomalyDetector(random_state=0).fit(train_df, schema)
>>> scored = det.score(new_df, contamination=0.01)   # + anomaly_score, is_anomaly, top_columns
>>> det.save("detector.synth"); det = AnomalyDetector.load("detector.synth")

Two signals make a row's score. The reconstruction signal is the mean over columns of the row's
*standardised* reconstruction error: each column's error (squared error of a robust-scaled
numeric value, cross-entropy of a one-hot block, their sum where a column has both) divided by
that column's mean error on the fitting data, plus, on tables with categorical columns, the
cross-column term (the nats by which each category is less probable given the rest of the row,
predicted by a masked-column model, than its base rate). The neighbour signal is the mean
distance to the 5 nearest fitting rows in a quantile-normal space. The score blends both, each
in units of its typical fitting level (see ``signals``); the columns contributing most are the
row's ``top_columns``. Scores depend only on the row and the fitted model (eval mode, no batch
statistics, no dropout), so they are comparable across batches. The design and its evidence
(27 ADBench sets, two protocols) are in benchmarks/results/anomaly_design.md.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from synthgen.core.detector import Detector, step_budget
from synthgen.core.kinds import Kind, Plan, register, register_estimator
from synthgen.core.modelfile import LoadedModel
from synthgen.core.screening import FLAG, SCORE, TOP, TOP_SEPARATOR
from synthgen.core.train import TrainConfig, fit_model
from synthgen.device import resolve_device
from synthgen.dtypes import STRING_DTYPE
from synthgen.errors import DataError, UsageError, param
from synthgen.schema import TableSchema
from synthgen.tabular.anomaly.autoencoder import AutoencoderConfig
from synthgen.tabular.anomaly.cross import fit_cross_model
from synthgen.tabular.anomaly.features import TableEncoding
from synthgen.tabular.anomaly.neighbours import NeighbourIndex
from synthgen.tabular.anomaly.options import (
    REFERENCE_ELEMENTS,
    DetectorConfig,
    calibration_rows,
    default_sizes,
)
from synthgen.tabular.anomaly.persist import detector_contents, restore_detector
from synthgen.tabular.anomaly.reconstruction import (
    ReconstructionNet,
    cpu_threads,
    predict_group_errors,
)
from synthgen.tabular.anomaly.signals import NEIGH, RECON, SignalScales, feature_columns
from synthgen.tabular.anomaly.typical import typical_values
from synthgen.tabular.io.coerce import validate_frame

OUTPUT_COLUMNS = (SCORE, FLAG, TOP, RECON, NEIGH)
MIN_ROWS = 10


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
        self.options_ = options
        started = time.perf_counter()
        seed = self.random_seed
        self.encoding_ = TableEncoding(
            schema, clip=options.clip, scaling=options.scaling, quantiles=options.neighbours_on
        ).fit(frame, seed=seed)
        x, xq = self.encoding_.transform_both(frame)
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
        cal = calibration_rows(len(x), seed)
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
            errors = self._group_errors(x[cal])
            self.cross_ = fit_cross_model(
                frame, x, self.encoding_, ae, options, cfg, device, self.progress
            )
            deficit = self._cross_deficit(x[cal])
            neigh = self._fit_neighbours(xq, cal, summary, options)
        means = errors.mean(axis=1)  # (groups, columns)
        floor = 1e-3 * means.mean(axis=1, keepdims=True) + 1e-8
        self.column_scale_ = np.maximum(means, floor)
        recon, contrib = self._recon_from_errors(errors, deficit)
        self.scales_ = SignalScales.fit(
            recon, None if neigh is None else neigh[0], float(options.neighbour_weight)
        )
        self._calibrate(self.scales_.combine(recon, contrib, *(neigh or (None, None)))[0])
        self.kind_ = kind
        self.typical_ = typical_values(frame, schema)
        summary.pop("history", None)
        if self.cross_ is not None:
            summary["cross"] = {k: v for k, v in self.cross_.summary.items() if k != "history"}
        self.training_ = {
            **summary,
            "rows": int(len(x)),
            "calibration_rows": int(len(cal)),
            "device": str(device),
        }
        self.fit_seconds_ = round(time.perf_counter() - started, 3)
        return self

    def _fit_neighbours(
        self, xq: np.ndarray | None, cal: np.ndarray, summary: dict, options: DetectorConfig
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Build the neighbour index; the calibration rows' signal (each row not its own
        neighbour, so the threshold describes new rows), or ``None`` when the signal is off."""
        self.neighbours_ = None
        if xq is None:
            return None
        layout = self.encoding_.layout_
        self.neighbours_, ref_rows = NeighbourIndex.fit(
            xq,
            feature_columns(layout),
            layout.n_columns,
            k=int(options.neighbours),
            max_rows=int(options.reference_rows),
            max_elements=REFERENCE_ELEMENTS,
            seed=self.random_seed,
        )
        position = np.full(len(xq), -1, dtype=np.int64)
        position[ref_rows] = np.arange(len(ref_rows))
        summary["reference_rows"] = int(len(ref_rows))
        return self.neighbours_.score(xq[cal], self_rows=position[cal], device=self._device)

    # ------------------------------------------------------------------ scoring
    def _group_errors(self, x: np.ndarray) -> np.ndarray:
        """Per-column errors ``(groups, rows, columns)``, averaged over each group's members."""
        return predict_group_errors(
            self.model_, x, self.encoding_.layout_, self._device, groups=self.ae_config_.groups
        )

    def _cross_deficit(self, x: np.ndarray) -> np.ndarray | None:
        """The cross-column deficits ``(rows, columns)`` in nats (``None`` without the model)."""
        if self.cross_ is None:
            return None
        return self.cross_.deficit(x, self.encoding_.layout_, self._device)

    def _recon_from_errors(
        self, errors: np.ndarray, deficit: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Raw reconstruction scores and per-column contributions (their mean is the score):
        standardised reconstruction errors, plus the cross-column deficits (in nats, summed
        over columns)."""
        contrib = (errors / self.column_scale_[:, None, :]).mean(axis=0)
        if deficit is not None:
            weight = float(self.options_.cross_weight)
            contrib = contrib + weight * contrib.shape[1] * deficit
        return contrib.mean(axis=1), contrib

    def _score_typed(
        self, frame: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Scores, per-column contributions and the scaled signals of typed rows."""
        x, xq = self.encoding_.transform_both(frame)
        with self._threads():
            errors = self._group_errors(x)
            deficit = self._cross_deficit(x)
            neigh = None
            if self.neighbours_ is not None and xq is not None:
                neigh = self.neighbours_.score(xq, device=self._device)
        recon, contrib = self._recon_from_errors(errors, deficit)
        return self.scales_.combine(recon, contrib, *(neigh or (None, None)))

    def score_signals(self) -> tuple[tuple[str, float], ...]:
        """The output columns holding the signals behind ``anomaly_score``, with their weights."""
        self._check_fitted()
        w = self.scales_.neighbour_weight
        return tuple(zip(self.scales_.signals, (1.0 - w, w), strict=False))

    def typical_values(self) -> dict[str, str]:
        """A phrase per column describing its fitting values (empty for files written before
        they were stored)."""
        self._check_fitted()
        return dict(self.typical_)

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
        """The input rows plus ``anomaly_score``, ``is_anomaly``, ``top_columns`` and the
        signals behind the score (``reconstruction_score``, and ``neighbour_score`` when the
        neighbour signal is on; each 1 for a typical fitting row)."""
        t = self.threshold(contamination=contamination, threshold=threshold)
        return self.score_frame(df, t)

    def score_frame(self, df: pd.DataFrame, threshold: float, typed=None) -> pd.DataFrame:
        """``df`` (checked against the schema unless ``typed`` is given) scored at
        ``threshold``."""
        self._check_fitted()
        frame = self._typed(df) if typed is None else typed
        scores, contrib, signals = self._score_typed(frame)
        out = df.drop(columns=[c for c in OUTPUT_COLUMNS if c in df.columns]).copy()
        out[SCORE] = scores
        out[FLAG] = scores > threshold
        out[TOP] = pd.Series(self.top_columns(contrib), index=out.index, dtype=STRING_DTYPE)
        for name, values in signals.items():
            out[name] = values
        return out

    # ------------------------------------------------------------------ persistence
    def _file_contents(self) -> dict[str, Any]:
        return detector_contents(self)

    @classmethod
    def _restore(cls, loaded: LoadedModel, device: str) -> AnomalyDetector:
        return restore_detector(cls, loaded, device)

    def __repr__(self) -> str:
        fitted = "fitted" if self.is_fitted() else "unfitted"
        return f"AnomalyDetector(random_state={self.random_seed}, {fitted})"


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
