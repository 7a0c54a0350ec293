"""Anomaly screening: autoencoder reconstruction error over the transformed table.

Modules: ``autoencoder`` (the ensemble MLP autoencoder and its config; an architecture registry a
conv autoencoder for images can join), ``training`` (per-column error measure, training with
early stopping and weight snapshots), ``features`` (the table encoding), ``calibration`` (the
fitting data's score distribution and thresholds), ``detector`` (:class:`AnomalyDetector`),
``stream`` (chunked scoring of files with a bounded summary) and ``report`` (the HTML report).

Design, and what was measured (benchmarks/anomaly.py, ADBench unsupervised protocol):
- Numeric values robust-scaled and not clipped to the fitting range (see ``features``).
- An ensemble of 4 small MLP autoencoders (no batch norm, no dropout), trained together with
  AdamW (lr 1e-3, weight decay 1e-4) for at most 20 epochs / 1000 steps with early stopping on a
  held-out 10 %; weights are snapshotted at 5, 10, 25 and 50 % of training plus the best, and
  the score averages all 20 networks. Short training scored best across the ADBench sets
  (longer training learns to reconstruct the anomalies too); the snapshots blend
  "far from the centre" (early) with "off the learned manifold" (late).
- Score: mean over columns of the column's error divided by its mean error on the fitting data.
- Limitation: a single implausible category combination (e.g. relationship=Husband with
  sex=Female) raises a row's score and names the column, but on Adult it does not by itself lift
  the row into the top few per cent; rows with rare categories or heavy-tailed numbers rank higher.
"""

from synthgen.anomaly.detector import OUTPUT_COLUMNS, AnomalyDetector

__all__ = ["OUTPUT_COLUMNS", "AnomalyDetector"]
