"""Privacy: exact copies, distance to closest record (DCR) share, nearest-neighbour ratio.

* ``exact_copies`` -- the share of synthetic rows identical (on every evaluated column) to some
  training row. ``exact_copies_holdout`` is the same share for the real holdout: duplicates
  that occur naturally in the data.
* ``dcr_share`` -- on equal-size samples of train and holdout (``n`` rows each, at most the
  holdout's size), the share of synthetic rows whose nearest train row is closer than their
  nearest holdout row (ties count half). A generator that does not memorise gives 0.5. A copy
  of the training data gives 1 only when ``n`` is the whole train set; in general it gives
  ``0.5 + 0.5 * n / len(train)``, reported as ``dcr_share_of_a_copy`` so a gate can be set
  between the two.
* ``nndr`` -- the median over synthetic rows of (distance to the nearest train row) / (distance
  to the second nearest), against the whole (subsampled) train set; near 0 means rows sit on
  top of single training records.
  ``nndr_holdout`` is the same figure for the real holdout (what fresh real data looks like).

Distances are Euclidean on numbers divided by the real range plus a one-hot of categories.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from synthgen.tabular.evaluate.encode import OneHotEncoding
from synthgen.tabular.evaluate.frames import Kind

SYNTHETIC_ROWS = 5_000
REFERENCE_ROWS = 10_000


def _row_hashes(df: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(df, index=False).to_numpy()


def exact_copy_rate(train: pd.DataFrame, other: pd.DataFrame) -> float | None:
    """Share of ``other``'s rows equal to some row of ``train``."""
    if len(other) == 0:
        return None
    return float(np.isin(_row_hashes(other), _row_hashes(train)).mean())


def _nearest(reference: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(reference)
    return nn.kneighbors(query)[0]


def _nndr(dist: np.ndarray) -> float:
    d1, d2 = dist[:, 0], dist[:, 1]
    ratio = np.divide(d1, d2, out=np.zeros_like(d1), where=d2 > 0)
    return float(np.median(ratio))


def privacy(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    kinds: dict[str, Kind],
    rng: np.random.Generator,
) -> dict:
    """The privacy section of the metrics document (see the module doc)."""
    cols = list(kinds)
    out: dict = {
        "exact_copies": exact_copy_rate(train[cols], synthetic[cols]),
        "exact_copies_holdout": None
        if holdout is None
        else exact_copy_rate(train[cols], holdout[cols]),
        "dcr_share": None,
        "dcr_share_of_a_copy": None,
        "dcr_median_synthetic": None,
        "dcr_median_holdout": None,
        "nndr": None,
        "nndr_holdout": None,
    }
    n_syn = min(len(synthetic), SYNTHETIC_ROWS)
    n_ref = 0 if holdout is None else min(len(train), len(holdout), REFERENCE_ROWS)
    out["rows"] = {"synthetic": n_syn, "train": len(train), "dcr_reference": n_ref}
    if len(train) < 2 or n_syn < 1:
        return out
    enc = OneHotEncoding(kinds, scale="range").fit(train)
    train_x = enc.transform(train)
    syn = enc.transform(synthetic.iloc[rng.choice(len(synthetic), n_syn, replace=False)])
    to_train = _nearest(train_x, syn, 2)
    out["nndr"] = _nndr(to_train)
    out["dcr_median_synthetic"] = float(np.median(to_train[:, 0]))
    if holdout is None or n_ref < 1:
        return out
    hold_x = enc.transform(holdout.iloc[rng.choice(len(holdout), n_ref, replace=False)])
    hold_to_train = _nearest(train_x, hold_x, 2)
    out["nndr_holdout"] = _nndr(hold_to_train)
    out["dcr_median_holdout"] = float(np.median(hold_to_train[:, 0]))
    # DCR share on equal-size references: n_ref train rows against n_ref holdout rows.
    ref_train = train_x[rng.choice(len(train_x), n_ref, replace=False)]
    d_train = _nearest(ref_train, syn, 1)[:, 0]
    d_hold = _nearest(hold_x, syn, 1)[:, 0]
    out["dcr_share"] = float((d_train < d_hold).mean() + 0.5 * (d_train == d_hold).mean())
    out["dcr_share_of_a_copy"] = 0.5 + 0.5 * n_ref / len(train)
    return out
