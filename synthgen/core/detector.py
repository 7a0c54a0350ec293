"""What table and image anomaly detectors share: a calibrated score distribution, thresholds
read from it, and the step budget of their autoencoders."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from synthgen.core.calibration import ScoreCalibration, check_contamination, resolve_threshold
from synthgen.core.estimator import Estimator


def step_budget(
    n_rows: int, batch_size: int, epochs: int, *, min_steps: int = 0, max_steps: int | None = None
) -> int:
    """Optimiser steps for ``epochs`` passes over ``n_rows`` rows, kept within
    ``[min_steps, max_steps]`` (small data still trains enough, large data stays affordable)."""
    per_epoch = max(1, n_rows // max(1, batch_size))
    total = max(int(epochs) * per_epoch, int(min_steps))
    if max_steps is not None:
        total = min(total, int(max_steps))
    return max(total, 1)


class Detector(Estimator):
    """An anomaly detector: ``fit`` on trusted data, ``score_samples`` (higher = more
    anomalous), and a threshold from the fitting data's scores (``calibration_``) for a
    contamination share, or an explicit one."""

    role: ClassVar[str] = "detector"
    _fitted_attribute: ClassVar[str] = "calibration_"

    def score_samples(self, data: Any) -> np.ndarray:
        raise NotImplementedError

    def score_signals(self) -> tuple[tuple[str, float], ...]:
        """Output columns holding the signals that make up the score, with their weights
        (none by default: the score is the only signal)."""
        return ()

    def typical_values(self) -> dict[str, str]:
        """A phrase per column describing its typical fitting values, shown beside a flagged
        row's values in the screening report (none by default)."""
        return {}

    def check_params(self) -> None:
        super().check_params()
        check_contamination(self.contamination)

    def _calibrate(self, scores: np.ndarray) -> None:
        self.calibration_ = ScoreCalibration.from_scores(scores)

    def resolve_threshold(
        self, *, contamination: float | None = None, threshold: float | None = None
    ) -> tuple[float, str]:
        """The threshold to flag by and how it was chosen: ``threshold`` itself (checked), or the
        score above which ``contamination`` of the fitting data lies (default: the detector's
        ``contamination``)."""
        self._check_fitted()
        return resolve_threshold(
            self.calibration_,
            contamination=contamination,
            threshold=threshold,
            default_contamination=self.contamination,
        )

    def threshold(
        self, *, contamination: float | None = None, threshold: float | None = None
    ) -> float:
        """The threshold alone (see ``resolve_threshold``)."""
        return self.resolve_threshold(contamination=contamination, threshold=threshold)[0]
