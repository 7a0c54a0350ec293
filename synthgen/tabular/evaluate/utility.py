"""Utility: train-on-synthetic/test-on-real against train-on-real, and detection.

* TSTR vs TRTR -- HistGradientBoosting and a linear model (logistic regression, or ridge
  regression for a numeric target) are trained on the real training rows (TRTR) and on the
  synthetic rows (TSTR), and both are scored on the real holdout. Classification: ROC-AUC
  (binary, or macro one-vs-rest) and macro F1; regression: R^2 and MAE. ``tstr_ratio`` is the
  mean over the two models of TSTR / TRTR of the primary metric (ROC-AUC or R^2).
* Detection -- a HistGradientBoosting classifier tells real rows from synthetic ones, 3-fold
  cross-validation on equal-size samples (identical rows kept in one fold); the
  mean ROC-AUC is reported (0.5 means indistinguishable), and
  ``score = 2 * (1 - max(auc, 0.5))`` (SDMetrics' detection score,
  1 = indistinguishable).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score, mean_absolute_error, r2_score, roc_auc_score
from threadpoolctl import threadpool_limits

from synthgen.tabular.evaluate.encode import OneHotEncoding, OrdinalEncoding
from synthgen.tabular.evaluate.frames import CONTINUOUS_KINDS, Kind

DETECTION_ROWS = 10_000
DETECTION_FOLDS = 3
SMALL_FIT_ROWS = 20_000


def _threads(rows: int) -> threadpool_limits:
    """One OpenMP/BLAS thread for small fits: thread start-up and spin-waits cost more there
    than they save (and much more on a busy machine)."""
    return threadpool_limits(limits=1 if rows < SMALL_FIT_ROWS else None)


def _hgb(task: str, seed: int):
    if task == "classification":
        return HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    return HistGradientBoostingRegressor(max_iter=100, random_state=seed)


def _linear(task: str):
    if task == "classification":
        return LogisticRegression(max_iter=300)
    return Ridge(alpha=1.0)


def _classification_scores(model, x: np.ndarray, y: np.ndarray, classes: list[str]) -> dict:
    proba_known = model.predict_proba(x)
    proba = np.zeros((len(x), len(classes)))
    for j, c in enumerate(model.classes_):
        proba[:, classes.index(c)] = proba_known[:, j]
    pred = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    present = [c for c in classes if (y == c).any()]
    auc = math.nan
    if len(present) == 2 and len(classes) == 2:
        auc = roc_auc_score(y == classes[1], proba[:, 1])
    elif len(present) >= 2:
        cols = [classes.index(c) for c in present]
        sub = proba[:, cols]
        sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
        auc = roc_auc_score(y, sub, multi_class="ovr", average="macro", labels=present)
    f1 = f1_score(y, pred, average="macro", labels=present, zero_division=0)
    return {"roc_auc": float(auc), "f1": float(f1)}


def _regression_scores(model, x: np.ndarray, y: np.ndarray) -> dict:
    pred = model.predict(x)
    return {"r2": float(r2_score(y, pred)), "mae": float(mean_absolute_error(y, pred))}


def tstr(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    kinds: dict[str, Kind],
    target: str,
    seed: int,
) -> dict:
    """TSTR vs TRTR on ``target``, scored on ``holdout`` (see the module doc)."""
    task = "regression" if kinds[target] in CONTINUOUS_KINDS else "classification"
    features = {n: k for n, k in kinds.items() if n != target}
    frames = {"trtr": train, "tstr": synthetic}
    frames = {k: f[f[target].notna()].reset_index(drop=True) for k, f in frames.items()}
    test = holdout[holdout[target].notna()].reset_index(drop=True)
    result: dict = {
        "target": target,
        "task": task,
        "primary_metric": "roc_auc" if task == "classification" else "r2",
        "rows": {k: len(f) for k, f in {**frames, "holdout": test}.items()},
        "models": {},
    }
    if len(test) == 0 or not features:
        result["skipped"] = (
            "no holdout rows with a target value" if len(test) == 0 else "no feature columns"
        )
        result["tstr_ratio"] = None
        return result
    ordinal = OrdinalEncoding(features).fit(train, synthetic)
    onehot = OneHotEncoding(features).fit(train)
    classes = None
    if task == "classification":
        classes = sorted(
            set(train[target].dropna())
            | set(test[target].dropna())
            | set(synthetic[target].dropna())
        )
    y_test = test[target].to_numpy(dtype=object if classes else np.float64)
    encoders = {"hist_gradient_boosting": ordinal, "linear": onehot}
    for model_name, enc in encoders.items():
        x_test = enc.transform(test[list(features)])
        scores: dict = {}
        for mode, frame in frames.items():
            y = frame[target].to_numpy(dtype=object if classes else np.float64)
            if len(frame) < 2 or (classes and len(set(y)) < 2):
                scores[mode] = None
                continue
            x = _no_empty_columns(enc.transform(frame[list(features)]))
            if model_name == "hist_gradient_boosting":
                model = _hgb(task, seed)
                model.set_params(categorical_features=ordinal.categorical_mask)
            else:
                model = _linear(task)
            with warnings.catch_warnings(), _threads(len(x)):
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(x, y)
            scores[mode] = (
                _classification_scores(model, x_test, y_test, classes)
                if classes
                else _regression_scores(model, x_test, y_test)
            )
        primary = result["primary_metric"]
        ratio = None
        if scores["trtr"] and scores["tstr"] and scores["trtr"][primary] > 0:
            ratio = scores["tstr"][primary] / scores["trtr"][primary]
        scores["ratio"] = ratio
        result["models"][model_name] = scores
    ratios = [m["ratio"] for m in result["models"].values() if m["ratio"] is not None]
    result["tstr_ratio"] = float(np.mean(ratios)) if ratios else None
    return result


def detection(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: dict[str, Kind],
    rng: np.random.Generator,
    seed: int,
    rows: int = DETECTION_ROWS,
) -> dict:
    """Cross-validated real-vs-synthetic classifier AUC (see the module doc)."""
    n = min(rows, len(real), len(synthetic))
    if n < DETECTION_FOLDS * 2:
        return {"auc": None, "score": None, "rows": n, "folds": DETECTION_FOLDS}
    r = real.iloc[rng.choice(len(real), n, replace=False)]
    s = synthetic.iloc[rng.choice(len(synthetic), n, replace=False)]
    enc = OrdinalEncoding(kinds).fit(r, s)
    x = np.vstack([enc.transform(r), enc.transform(s)])
    y = np.r_[np.zeros(n), np.ones(n)]
    # Rows that occur in both tables share a group, so a copy never sits on the other side of a
    # fold boundary: the classifier cannot "detect" a row by recalling its twin.
    both = pd.concat([r, s], ignore_index=True)
    groups = pd.factorize(pd.util.hash_pandas_object(both, index=False))[0]
    fold = (rng.permutation(groups.max() + 1) % DETECTION_FOLDS)[groups]
    aucs = []
    for k in range(DETECTION_FOLDS):
        test_idx, fit_idx = np.flatnonzero(fold == k), np.flatnonzero(fold != k)
        if len(np.unique(y[test_idx])) < 2 or len(np.unique(y[fit_idx])) < 2:
            continue
        model = HistGradientBoostingClassifier(
            max_iter=100, random_state=seed, categorical_features=enc.categorical_mask
        )
        with _threads(len(fit_idx)):
            model.fit(x[fit_idx], y[fit_idx])
        aucs.append(roc_auc_score(y[test_idx], model.predict_proba(x[test_idx])[:, 1]))
    if not aucs:
        return {"auc": None, "score": None, "rows": n, "folds": DETECTION_FOLDS}
    auc = float(np.mean(aucs))
    return {
        "auc": auc,
        "score": 2.0 * (1.0 - max(auc, 0.5)),
        "rows": n,
        "folds": DETECTION_FOLDS,
        "fold_aucs": [float(a) for a in aucs],
    }


def _no_empty_columns(x):
    """A feature with no value at all (every row missing) as a constant 0: it carries nothing
    either way, and gradient boosting cannot bin an empty column."""
    if hasattr(x, "toarray") or not np.issubdtype(np.asarray(x).dtype, np.floating):
        return x
    empty = np.isnan(x).all(axis=0)
    if empty.any():
        x = x.copy()
        x[:, empty] = 0.0
    return x
