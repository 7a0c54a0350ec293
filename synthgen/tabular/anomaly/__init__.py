"""Anomaly screening: autoencoder reconstruction error plus a nearest-neighbour signal.

Modules: ``autoencoder`` (the ensemble MLP autoencoder and its config), ``reconstruction``
(per-column error measure and the trainable with weight snapshots), ``masked`` and ``cross`` (the
cross-column model), ``features`` (the table encoding), ``scaling`` (robust z-scores,
quantile-normal scores), ``neighbours`` (the neighbour signal), ``signals`` (how the signals make
the score and its per-column attribution), ``options`` (the detector's options), ``typical``
(typical values for the report), ``detector`` (:class:`AnomalyDetector`), ``persist`` (its model
file), ``scoring`` (chunked scoring with a bounded summary) and ``report`` (the HTML report).
Training runs in the one loop (:mod:`synthgen.core.train`); calibration is
:mod:`synthgen.core.calibration`.

Design (detector format 2), chosen on 27 ADBench sets in both protocols (unsupervised: fit on
data with its anomalies; trusted: fit on normal rows only); figures in
benchmarks/results/anomaly_design.md and benchmarks/results/anomaly.md:

- Reconstruction signal (unchanged from 0.1): numbers robust-scaled, ``(x - median) / (IQR /
  1.349)``, not clipped to the fitting range; categories one-hot. An ensemble of 4 MLP
  autoencoders (hidden ``clip(2 x features, 16, 128)``, bottleneck ``clip(columns / 3, 2,
  16)``), AdamW lr 1e-3, at most 20 epochs of batch 256 and 1,000 steps, early stopping on a
  held-out 10 %, weights snapshotted at 5/10/25/50 % and the best; the signal is the mean over
  columns of each column's error over its mean fitting error, averaged over all 20 networks.
  Longer training (a floor of 300 or 1,000 steps, or 3x the epochs) and wider layers scored
  lower or the same across the 27 sets: the short budget stays.
- Cross-column term (tables with categorical columns): a masked model predicts each category
  from the rest of the row; its deficit in nats joins the reconstruction signal.
- Neighbour signal (new): the mean Euclidean distance to the 5 nearest fitting rows, in a space
  where every number is replaced by the normal score of its rank in the fitting data
  (extrapolated linearly past the fitted range), categories one-hot. Ranks make distances
  robust to heavy tails and to columns on very different scales; the autoencoder keeps robust
  z-scores because magnitudes are what it scores best (on rank-normal inputs its mean ROC-AUC
  fell in the unsupervised protocol). The reference set is all fitting rows up to 20,000 (a
  seeded sample beyond, never more than 4M stored values); a fitting row is never its own
  neighbour when the calibration is computed, so the threshold describes new rows.
- Score: ``0.4 x reconstruction + 0.6 x neighbour``, each signal divided by its typical level
  on the fitting data (mean winsorised at the 99th percentile; not the median, which is 0 for
  the neighbour distances of tables full of duplicate rows). Both signals are output columns
  (``reconstruction_score``, ``neighbour_score``; 1 = a typical fitting row) and shown in the
  report; ``top_columns`` ranks columns by their share of both.
- Measured on Adult (2,000 fitting rows, 2,000 scored of which 10 corrupted, seed 0; see
  tests/tabular/test_anomaly.py): every corrupted row in the top 5 % with the broken column (or
  the one it contradicts) named. Limitation: a single-cell deviation in a wide table is
  averaged over all columns by both signals (150 columns: a 6-sigma value ranks 2nd-5th of 200, see
  tests/tabular/test_anomaly_shapes.py).
"""
