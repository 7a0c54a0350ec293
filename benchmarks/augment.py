"""Balancing a rare class: imbalanced vs SMOTENC vs synthgen, scored on the real Adult holdout.

Protocol (one run, fixed seeds):

* Training data: Adult ``train.csv`` with every ``<=50K`` row kept and the ``>50K`` rows
  subsampled at random (seed 0) so that they make up 5 % of the training rows
  (n_min = round(0.05 / 0.95 * n_maj)).
* (a) imbalanced: a HistGradientBoosting classifier on that data as it is;
  (b) SMOTENC: imbalanced-learn's SMOTENC (k=5, seed 0) balances the classes first;
  (c) synthgen: a conditional model (``--models``; VAE at its default epochs unless
  ``--epochs``) is fitted on the imbalanced training data, then ``synthgen.augment(...,
  balance="income")`` adds ``>50K`` rows made by exact conditional generation.
* The classifier is the same for every arm: ``HistGradientBoostingClassifier(random_state=0)``
  on ordinal-coded categoricals (declared categorical; missing is its own code) and raw numbers.
* Scored on Adult ``test.csv`` (real rows no model saw): recall, precision and F1 of ``>50K``
  at the 0.5 threshold, and ROC-AUC.

    pip install -e '.[bench]'     # imbalanced-learn
    python benchmarks/augment.py [--data ../shared/data] [--models vae,cgan] [--epochs N]
                                 [--threads 1]

Prints a markdown table and writes it to ``--out`` (benchmarks/results/augment.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = "income"
POSITIVE = ">50K"
MINORITY_SHARE = 0.05
SEED = 0


def load(data: Path):
    from synthgen.schema import load_table_schema
    from synthgen.tabular.io import read_table

    schema = load_table_schema(ROOT / "schemas" / "adult.yaml")
    train = read_table(data / "adult" / "train.csv", schema)
    test = read_table(data / "adult" / "test.csv", schema)
    return schema, train, test


def imbalance(train: pd.DataFrame) -> pd.DataFrame:
    """Keep every majority row; subsample the minority to MINORITY_SHARE of the result."""
    rng = np.random.default_rng(SEED)
    pos = np.flatnonzero(train[TARGET].to_numpy(dtype=object) == POSITIVE)
    neg = np.flatnonzero(train[TARGET].to_numpy(dtype=object) != POSITIVE)
    n_min = round(MINORITY_SHARE / (1 - MINORITY_SHARE) * len(neg))
    keep = np.sort(np.concatenate([neg, rng.choice(pos, size=n_min, replace=False)]))
    return train.iloc[keep].reset_index(drop=True)


class Encoder:
    """Ordinal codes for categoricals (schema order; missing = last code), floats for numbers."""

    def __init__(self, schema) -> None:
        self.features = [c for c in schema.columns if c.name != TARGET]
        self.cats = {c.name: list(c.categories) for c in self.features if c.type == "categorical"}

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array([c.name in self.cats for c in self.features])

    def encode(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        cols = []
        for spec in self.features:
            col = frame[spec.name]
            if spec.name in self.cats:
                cats = self.cats[spec.name]
                codes = pd.Categorical(col.astype(object), categories=cats).codes.astype(float)
                codes[codes < 0] = len(cats)  # missing (or unseen): its own code
                cols.append(codes)
            else:
                cols.append(col.to_numpy(dtype="float64", na_value=np.nan))
        y = (frame[TARGET].to_numpy(dtype=object) == POSITIVE).astype(int)
        return np.column_stack(cols), y


def score(enc: Encoder, X: np.ndarray, y: np.ndarray, test: tuple) -> dict[str, float]:
    clf = HistGradientBoostingClassifier(
        categorical_features=enc.categorical_mask, random_state=SEED
    )
    t = time.perf_counter()
    clf.fit(X, y)
    X_test, y_test = test
    proba = clf.predict_proba(X_test)[:, 1]
    pred = (proba >= 0.5).astype(int)
    return {
        "recall": recall_score(y_test, pred),
        "precision": precision_score(y_test, pred, zero_division=0),
        "f1": f1_score(y_test, pred),
        "roc_auc": roc_auc_score(y_test, proba),
        "train_rows": len(y),
        "clf_s": time.perf_counter() - t,
    }


def run_smotenc(enc: Encoder, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from imblearn.over_sampling import SMOTENC

    cat_idx = np.flatnonzero(enc.categorical_mask).tolist()
    sampler = SMOTENC(categorical_features=cat_idx, random_state=SEED)
    return sampler.fit_resample(X, y)


def run_synthgen(schema, frame: pd.DataFrame, model: str, epochs: int | None):
    from synthgen import TabularSynthesizer, augment

    synth = TabularSynthesizer(model, epochs=epochs, seed=SEED, progress=False)
    t = time.perf_counter()
    synth.fit(frame, schema)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    balanced = augment(frame, synth, balance=TARGET, seed=SEED, provenance=False)
    return balanced, fit_s, time.perf_counter() - t, synth.training_


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--models", default="vae", help="comma list of vae, cgan")
    parser.add_argument("--epochs", type=int, default=None, help="default: the model's own")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "augment.md")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch and OpenMP threads (shared machines: 1)"
    )
    args = parser.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)

    schema, train, test = load(args.data)
    frame = imbalance(train)
    enc = Encoder(schema)
    X, y = enc.encode(frame)
    held = enc.encode(test)
    n_min, n_maj = int(y.sum()), int((1 - y).sum())
    print(f"training rows: {len(y)} ({n_min} >50K = {n_min / len(y):.1%}); holdout {len(held[1])}")

    rows: list[tuple[str, dict, str]] = []
    rows.append(("(a) imbalanced", score(enc, X, y, held), "-"))
    print(rows[-1])
    t = time.perf_counter()
    Xs, ys = run_smotenc(enc, X, y)
    prep = f"SMOTENC {time.perf_counter() - t:.1f} s"
    rows.append(("(b) SMOTENC-balanced", score(enc, Xs, ys, held), prep))
    print(rows[-1])
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        balanced, fit_s, gen_s, training = run_synthgen(schema, frame, model, args.epochs)
        Xg, yg = enc.encode(balanced)
        prep = (
            f"{model} fit {fit_s:.0f} s ({training.get('epochs_run')} epochs"
            f"{', early stop' if training.get('stopped_early') else ''}), "
            f"generate {gen_s:.1f} s"
        )
        rows.append((f"(c) synthgen-balanced ({model})", score(enc, Xg, yg, held), prep))
        print(rows[-1])

    lines = [
        "## Balancing a rare class (Adult, >50K subsampled to 5 % of the training rows)",
        "",
        f"Training rows: {len(y)} ({n_min} `>50K`, {n_maj} `<=50K`); holdout: Adult test.csv "
        f"({len(held[1])} real rows, {int(held[1].sum())} `>50K`). Classifier: "
        "HistGradientBoosting (random_state 0) at threshold 0.5; one run, seed 0. "
        f"Machine: {platform.machine()} CPU, {os.cpu_count()} cores, {args.threads} thread(s); "
        f"load average {os.getloadavg()[0]:.1f} at the end of the run.",
        "",
        "| training data | rows | >50K recall | >50K precision | >50K F1 | ROC-AUC | preparation |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, m, prep in rows:
        lines.append(
            f"| {name} | {m['train_rows']} | {m['recall']:.3f} | {m['precision']:.3f} | "
            f"{m['f1']:.3f} | {m['roc_auc']:.3f} | {prep} |"
        )
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
