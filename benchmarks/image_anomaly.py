"""One-class image anomaly benchmark on MNIST10k: synthgen's ImageAnomalyDetector vs baselines.

Protocol (as in Deep SVDD, Ruff et al. 2018): for each digit d, fit on the train images of d
only (about 800 in mnist10k) and score the whole test split (2,000 images: d normal, every
other digit anomalous); ROC-AUC per digit and its mean over the ten digits. Fit time is the
wall-clock seconds of ``fit``. Baselines in the same run, on the same pixels scaled to [0, 1]:
PCA reconstruction error (components keeping 90 % of the variance) and scikit-learn's
IsolationForest (defaults, fixed random_state).

    python benchmarks/image_anomaly.py [--data ../shared/data] [--digits 0,1] [--set KEY=VALUE]

Writes benchmarks/results/image_anomaly.md and .json (only for a full run at the defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results"
SEED = 0
TARGET = 0.88
DETECTORS = ("synthgen", "pca", "iforest")


def _schema():
    from synthgen.schema import load_schema

    return load_schema(ROOT / "schemas" / "mnist.yaml")


def run_synthgen(train, test, **params) -> tuple[np.ndarray, float, dict]:
    from synthgen.images.anomaly.detector import ImageAnomalyDetector

    t = time.perf_counter()
    det = ImageAnomalyDetector(seed=SEED, device="cpu", progress=False, **params)
    det.fit(train, _schema())
    fit_s = time.perf_counter() - t
    return det.score_samples(test), fit_s, det.training_


def _flat(images) -> np.ndarray:
    return images.images.reshape(len(images), -1).astype(np.float64) / 255.0


def run_pca(train, test) -> tuple[np.ndarray, float, dict]:
    from sklearn.decomposition import PCA

    t = time.perf_counter()
    pca = PCA(n_components=0.9, svd_solver="full", random_state=SEED).fit(_flat(train))
    fit_s = time.perf_counter() - t
    x = _flat(test)
    recon = pca.inverse_transform(pca.transform(x))
    return ((x - recon) ** 2).mean(axis=1), fit_s, {"components": int(pca.n_components_)}


def run_iforest(train, test) -> tuple[np.ndarray, float, dict]:
    from sklearn.ensemble import IsolationForest

    t = time.perf_counter()
    forest = IsolationForest(random_state=SEED).fit(_flat(train))
    fit_s = time.perf_counter() - t
    return -forest.score_samples(_flat(test)), fit_s, {}


RUNNERS = {"synthgen": run_synthgen, "pca": run_pca, "iforest": run_iforest}


def load(data: Path):
    from synthgen.images.io import read_images

    schema = _schema()
    base = data / "mnist10k"
    return read_images(base / "train.npz", schema), read_images(base / "test.npz", schema)


def markdown(rows: list[dict], detectors=DETECTORS) -> str:
    head = ["digit", "train images"]
    for d in detectors:
        head += [f"{d} ROC-AUC", f"{d} fit s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r["digit"]), str(r["train_images"])]
        for d in detectors:
            cells += [f"{r[d]['roc_auc']:.4f}", f"{r[d]['fit_s']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["**mean**", ""]
    for d in detectors:
        cells += [
            f"**{np.mean([r[d]['roc_auc'] for r in rows]):.4f}**",
            f"{np.mean([r[d]['fit_s'] for r in rows]):.2f}",
        ]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9")
    ap.add_argument("--only", choices=DETECTORS, action="append", help="run only these")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override an ImageAnomalyDetector parameter (tuning; results are not written)",
    )
    args = ap.parse_args(argv)
    import torch

    # one intra-op thread, as in benchmarks/anomaly.py: on a small shared machine more threads
    # contend with other work and make timings erratic
    torch.set_num_threads(1)
    params = {}
    for kv in args.set:
        key, value = kv.split("=", 1)
        params[key] = float(value) if "." in value or "e" in value else int(value)
    detectors = tuple(args.only) if args.only else DETECTORS
    digits = [int(d) for d in args.digits.split(",")]
    train, test = load(Path(args.data))
    rows = []
    for digit in digits:
        fit_set = train.subset(np.flatnonzero(train.labels == digit))
        y = (test.labels != digit).astype(int)
        row: dict = {"digit": digit, "train_images": len(fit_set)}
        for name in detectors:
            runner = RUNNERS[name]
            scores, fit_s, info = (
                runner(fit_set, test, **params) if name == "synthgen" else runner(fit_set, test)
            )
            row[name] = {"roc_auc": float(roc_auc_score(y, scores)), "fit_s": float(fit_s)}
            if info:
                row[name]["info"] = info
        rows.append(row)
        print(
            digit,
            {d: round(row[d]["roc_auc"], 4) for d in detectors},
            {d: round(row[d]["fit_s"], 1) for d in detectors},
            file=sys.stderr,
            flush=True,
        )
    load_avg = os.getloadavg()[0]
    means = {d: float(np.mean([r[d]["roc_auc"] for r in rows])) for d in detectors}
    table = markdown(rows, detectors)
    verdict = ""
    if "synthgen" in detectors and len(digits) == 10:
        ok = "met" if means["synthgen"] >= TARGET else "MISSED"
        verdict = f"- Mean ROC-AUC {means['synthgen']:.4f} (target >= {TARGET}) → {ok}.\n"
    machine = f"{platform.machine()}, {os.cpu_count()} cores, CPU"
    text = (
        "## Image anomaly screening (MNIST10k, one-class protocol)\n\n"
        "For each digit: fit on that digit's train images only, score all 2,000 test images "
        "(the digit normal, the other nine anomalous), ROC-AUC. synthgen "
        f"`ImageAnomalyDetector` defaults (seed {SEED}, CPU); PCA reconstruction error (90 % "
        f"variance) and IsolationForest (random_state={SEED}) on [0, 1] pixels. Fit seconds on "
        f"this machine ({machine}, shared; one torch thread; load average {load_avg:.1f} at the "
        f"end; torch {torch.__version__}, Python {platform.python_version()}).\n\n"
        f"{table}\n\n{verdict}"
    )
    print(text)
    if not args.only and not params and len(digits) == 10:
        from synthgen.images.anomaly.detector import ImageAnomalyDetector

        doc = {
            "machine": machine,
            "torch_threads": 1,
            "load_avg_1m_at_end": round(load_avg, 2),
            "target_mean_roc_auc": TARGET,
            "mean_roc_auc": means,
            "synthgen_params": ImageAnomalyDetector().get_params(),
            "rows": rows,
        }
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "image_anomaly.md").write_text(text, encoding="utf-8")
        (OUT / "image_anomaly.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
        print(f"wrote {OUT / 'image_anomaly.md'} and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
