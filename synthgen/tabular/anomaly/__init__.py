"""Anomaly screening: autoencoder reconstruction error over the transformed table.

Modules: ``autoencoder`` (the ensemble MLP autoencoder and its config), ``reconstruction``
(per-column error measure and the trainable with weight snapshots), ``masked`` and ``cross`` (the
cross-column model), ``features`` (the table encoding), ``detector`` (:class:`AnomalyDetector`),
``scoring`` (chunked scoring with a bounded summary) and ``report`` (the HTML report). Training
runs in the one loop (:mod:`synthgen.core.train`); calibration is :mod:`synthgen.core.calibration`.

Design, and what was measured (benchmarks/anomaly.py, ADBench unsupervised protocol):
- Numeric values robust-scaled and not clipped to the fitting range (see ``features``).
- An ensemble of 4 small MLP autoencoders (no batch norm, no dropout), trained together with
  AdamW (lr 1e-3, weight decay 1e-4) for at most 20 epochs / 1000 steps with early stopping on a
  held-out 10 %; weights are snapshotted at 5, 10, 25 and 50 % of training plus the best, and
  the score averages all 20 networks. Short training scored best across the ADBench sets
  (longer training learns to reconstruct the anomalies too); the snapshots blend
  "far from the centre" (early) with "off the learned manifold" (late).
- Score: mean over columns of the column's error divided by its mean error on the fitting data,
  plus the cross-column term below.
- Cross-column model (tables with categorical columns): a second ensemble learns each
  categorical column from the rest of the row. During training every row has one random group
  of columns zeroed and flagged by a mask-indicator input, and the loss is the cross-entropy of
  the masked categories, so the network must model the dependencies instead of copying its
  input (trained for at least 600 steps: the plain autoencoder's ~140 steps on 2,000 rows left
  it underfit). Scoring masks each group in turn (one batched pass per group); a column adds its
  *deficit*, max(0, -log p(value | rest of row) + log p(value)) in nats: how much less probable
  the value is given the row than its base rate. A rare-but-consistent category adds ~0 (its
  rarity is the plain autoencoder's business); a category the other columns contradict adds
  several nats. Columns that determine each other (Adult's education and education-num,
  uncertainty coefficient >= 0.9) are masked together, so one cannot be read back from the
  other. All-numeric tables (the ADBench sets) get no cross-column model.
- Measured on Adult (2,000 fitting rows, 2,000 scored of which 10 corrupted, seed 0; see
  tests/test_anomaly.py): female husbands rank 29-68 and 17-year-olds with doctorates 25-37
  (before the cross-column model: 1,087-1,603 and 264-351); 99 h + 99,999 gain rows stay in the
  top 4. Seeds 1-3: worst corrupted row 66, 108, 67; fitting on 10,000 rows: worst 57.
  Limitation: the cross-column term covers categorical values; a number that is implausible
  only jointly with other numbers is left to the plain autoencoder.
"""
