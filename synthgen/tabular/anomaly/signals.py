"""How the detector's signals become one score, and per-column attribution of that score.

Two signals, each reported in the output in units of its typical level on the fitting data
(the fitting rows' mean, winsorised at their 99th percentile; 1 = a typical fitting row):

- ``reconstruction_score``: the autoencoder's mean standardised per-column reconstruction error
  (plus, on tables with categorical columns, the cross-column category deficit);
- ``neighbour_score``: mean distance to the k nearest fitting rows in the encoded space.

``anomaly_score = (1 - w) * reconstruction_score + w * neighbour_score`` with ``w`` the
neighbour weight. A detector of format 1 (synthgen 0.1) has only the raw reconstruction score:
its scale is 1 and ``w`` is 0, so it scores exactly as it did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from synthgen.tabular.anomaly.reconstruction import SpanLayout

RECON, NEIGH = "reconstruction_score", "neighbour_score"


@dataclass
class SignalScales:
    """Typical fitting-data levels of the signals and the neighbour signal's weight."""

    reconstruction: float = 1.0
    neighbour: float = 1.0
    neighbour_weight: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SignalScales:
        """Scales from a model file (``None``: a format-1 file, reconstruction only, unscaled)."""
        if data is None:
            return cls()
        out = cls(
            **{k: float(data[k]) for k in ("reconstruction", "neighbour", "neighbour_weight")}
        )
        if not (out.reconstruction > 0 and out.neighbour > 0 and 0 <= out.neighbour_weight <= 1):
            raise ValueError("signal scales out of range")
        return out

    @classmethod
    def fit(cls, recon: np.ndarray, neigh: np.ndarray | None, weight: float) -> SignalScales:
        """Typical levels of the fitting rows' signals: their mean with the top 1 % clipped to
        the 99th percentile (not the median: on tables with many duplicate rows most neighbour
        distances are 0, e.g. ADBench donors)."""
        if neigh is None:
            return cls(typical(recon), 1.0, 0.0)
        return cls(typical(recon), typical(neigh), float(weight))

    @property
    def signals(self) -> tuple[str, ...]:
        return (RECON, NEIGH) if self.neighbour_weight > 0 else (RECON,)

    def describe(self, cross: bool) -> str:
        recon = "mean standardised per-column reconstruction error" + (
            " + cross-column category deficit (nats)" if cross else ""
        )
        if self.neighbour_weight <= 0:
            return recon
        w = self.neighbour_weight
        return (
            f"{1 - w:g} x ({recon}) / its typical fitting level + {w:g} x (mean distance to the "
            "nearest fitting rows) / its typical fitting level"
        )

    def combine(
        self,
        recon: np.ndarray,
        recon_contrib: np.ndarray,
        neigh: np.ndarray | None = None,
        neigh_sq: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Scores, per-column contributions (their mean over columns is the score) and the
        scaled signals, from the raw reconstruction score and its per-column contributions
        (mean = score) and, if present, the neighbour score and per-column squared distances."""
        w = self.neighbour_weight
        r = recon / self.reconstruction
        contrib = recon_contrib * ((1.0 - w) / self.reconstruction)
        signals = {RECON: r}
        if neigh is None or neigh_sq is None or w <= 0:
            return (1.0 - w) * r if w > 0 else r, contrib, signals
        n = neigh / self.neighbour
        total = neigh_sq.sum(axis=1, keepdims=True)
        share = np.divide(neigh_sq, total, out=np.zeros_like(neigh_sq), where=total > 0)
        contrib = contrib + share * (w * n * neigh_sq.shape[1])[:, None]
        signals[NEIGH] = n
        return (1.0 - w) * r + w * n, contrib, signals


def typical(values: np.ndarray) -> float:
    """Mean of ``values`` winsorised at their 99th percentile (1.0 if that is not positive)."""
    v = np.asarray(values, dtype=np.float64)
    level = float(np.minimum(v, np.quantile(v, 0.99)).mean()) if len(v) else 0.0
    return level if np.isfinite(level) and level > 1e-12 else 1.0


def feature_columns(layout: SpanLayout) -> np.ndarray:
    """The source column of every encoded feature."""
    out = np.full(layout.n_features, -1, dtype=np.int64)
    out[np.asarray(layout.numeric_idx, dtype=np.int64)] = np.asarray(layout.numeric_col)
    for start, end, c in layout.onehot:
        out[start:end] = c
    if (out < 0).any():
        raise ValueError("an encoded feature belongs to no column")
    return out
