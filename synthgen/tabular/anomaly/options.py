"""The table detector's options (``model_options``) and the sizes derived from a table's width."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Fitting rows scored for the column scales, signal levels and the calibration: beyond this
# many, an evenly seeded sample (the scores' distribution is all that is kept of them).
CALIBRATION_ROWS = 100_000
# Most values stored as neighbour reference rows (rows x encoded features): 16 MB of float32.
REFERENCE_ELEMENTS = 4_000_000


@dataclass
class DetectorConfig:
    """The table detector's options: network sizes (0 = sized from the table's width), the
    ensemble, optimiser and step cap, numeric scaling, the cross-column model's weight (0 turns
    it off) and least steps, and the neighbour signal: ``neighbours`` (k of the mean distance to
    the k nearest fitting rows; 0 turns it off), its share of the score and the most fitting
    rows kept as neighbour candidates (a seeded sample beyond)."""

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
    neighbours: int = 5
    neighbour_weight: float = 0.6
    reference_rows: int = 20_000

    def __post_init__(self) -> None:
        if self.scaling not in ("robust", "standard"):
            raise ValueError(f"scaling must be 'robust' or 'standard', not {self.scaling!r}")
        for name in ("members", "patience", "max_steps", "reference_rows"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not self.lr > 0 or self.clip <= 0 or self.cross_weight < 0:
            raise ValueError("lr and clip must be positive, cross_weight not negative")
        if self.neighbours < 0 or not 0.0 <= self.neighbour_weight <= 1.0:
            raise ValueError("neighbours must be >= 0 and neighbour_weight between 0 and 1")

    @property
    def neighbours_on(self) -> bool:
        return int(self.neighbours) > 0 and float(self.neighbour_weight) > 0


def default_sizes(n_features: int, n_columns: int) -> tuple[int, int]:
    """Layer sizes from the table's width: a bottleneck well below the number of columns, and a
    hidden layer of at most 128 units (64 was faster on wide tables but let the autoencoder
    rebuild a planted 6-sigma value among 150 columns: its rank fell from 8 to 90 of 200)."""
    hidden = int(np.clip(2 * n_features, 16, 128))
    bottleneck = int(np.clip(round(n_columns / 3), 2, 16))
    return hidden, min(bottleneck, hidden)


def calibration_rows(n: int, seed: int) -> np.ndarray:
    """Indices of the fitting rows scored for calibration: all, or a seeded sorted sample."""
    if n <= CALIBRATION_ROWS:
        return np.arange(n)
    rng = np.random.default_rng(seed + 15485863)
    return np.sort(rng.choice(n, CALIBRATION_ROWS, replace=False))
