"""Default settings on tables they were not tuned on: synthgen vae/cgan (and SDV, if installed).

The Adult benchmark (``tabular.py``) is the one the defaults were developed against. This one
checks that they carry over: scikit-learn's breast_cancer and wine, and the ADBench tables in
``<data>/adbench`` (numeric features plus a rare ``label`` class). Each table is split 70/30,
stratified on ``label`` (seed 0); its schema is inferred from the whole table by the rules of
``synthgen schema infer`` (``label`` as the target), every model is fitted with its defaults and
seed 0, a sample as large as the train split is drawn, and ``synthgen.evaluate`` scores it
against the train split, with the test split as holdout: Column Shapes, Column Pair Trends and
their mean (SDMetrics' classic definitions), TSTR/TRTR ratio (ROC-AUC, mean of HGB and logistic
regression), detection AUC (HGB, 3-fold), exact copies (next to the holdout's own share of rows
that repeat a train row) and the DCR share (0.5: no closer to train than the holdout is).

    python benchmarks/tabular_robustness.py [--models vae,cgan] [--datasets wine,6_cardio]

Writes ``benchmarks/results/<tag>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results"
DATASETS = [
    "breast_cancer",
    "wine",
    "4_breastw",
    "29_Pima",
    "6_cardio",
    "38_thyroid",
    "23_mammography",
]


def load_dataset(name: str, data: Path) -> pd.DataFrame:
    """Features as float columns (``x0``.., or sklearn's names) and the class as ``label``."""
    if name in ("breast_cancer", "wine"):
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")(as_frame=True)
        frame = bunch.frame.rename(columns={"target": "label"})
        frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
    else:
        arrays = np.load(data / "adbench" / f"{name}.npz")
        frame = pd.DataFrame(arrays["X"], columns=[f"x{j}" for j in range(arrays["X"].shape[1])])
        frame["label"] = arrays["y"]
    frame["label"] = "class_" + frame["label"].astype(str)  # a class label, not a number
    return frame


def split(frame: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(frame, test_size=0.3, stratify=frame["label"], random_state=seed)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def fit_sample(kind: str, train: pd.DataFrame, schema) -> tuple[pd.DataFrame, float, int | None]:
    if kind.startswith("sdv_"):
        return _fit_sample_sdv(kind, train)
    from synthgen.tabular.synthesizer import TabularSynthesizer

    t = time.perf_counter()
    synth = TabularSynthesizer(kind, seed=0, progress=False).fit(train, schema)
    fit_s = time.perf_counter() - t
    return synth.sample(len(train), seed=1), fit_s, synth.training_["epochs_run"]


def _fit_sample_sdv(kind: str, train: pd.DataFrame) -> tuple[pd.DataFrame, float, int | None]:
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, TVAESynthesizer

    meta = Metadata.detect_from_dataframes({"t": train}, infer_keys=None)
    meta.update_column("label", table_name="t", sdtype="categorical")
    cls = {"sdv_tvae": TVAESynthesizer, "sdv_ctgan": CTGANSynthesizer}[kind]
    synth = cls(meta)  # SDV's defaults (300 epochs, batch 500)
    t = time.perf_counter()
    synth.fit({"t": train})  # SDV 2.x takes {table name: frame}
    fit_s = time.perf_counter() - t
    sample = synth.sample(len(train))
    sample = next(iter(sample.values())) if isinstance(sample, dict) else sample
    return sample, fit_s, synth.epochs


def clip_to_schema(frame: pd.DataFrame, schema) -> pd.DataFrame:
    out = frame.copy()
    for col in schema.columns:
        if col.type in ("integer", "continuous") and (col.min is not None or col.max is not None):
            out[col.name] = pd.to_numeric(out[col.name]).clip(col.min, col.max)
    return out


def run(name: str, kinds: list[str], data: Path) -> list[dict]:
    from synthgen.tabular.evaluate.evaluation import run_evaluation
    from synthgen.tabular.infer import infer_schema
    from synthgen.tabular.io import validate_frame

    frame = load_dataset(name, data)
    train, test = split(frame)
    schema = infer_schema(frame, target="label", name=name)  # as a user would: whole file
    typed_train = validate_frame(train, schema, source=name)
    typed_test = validate_frame(test, schema, source=name)
    rows = []
    for kind in kinds:
        real = train if kind.startswith("sdv_") else typed_train
        sample, fit_s, epochs = fit_sample(kind, real, schema)
        if kind.startswith("sdv_"):  # SDV rounds floats, which can land 1e-15 past a bound
            sample = validate_frame(clip_to_schema(sample, schema), schema, source=kind)
        doc = run_evaluation(typed_train, sample, schema, holdout=typed_test, validate=False).doc
        s, privacy = doc["summary"], doc["privacy"]
        row = {
            "dataset": name,
            "model": kind,
            "train_rows": len(train),
            "columns": len(schema.columns),
            "fit_s": round(fit_s, 1),
            "epochs_run": epochs,
            **{k: s[k] for k in ("shapes", "trends", "quality", "tstr_ratio", "detection_auc")},
            "exact_copies": s["exact_copies"],
            "exact_copies_holdout": privacy["exact_copies_holdout"],
            "dcr_share": s["dcr_share"],
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--models", default="vae,cgan")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--threads", type=int, default=None, help="torch threads for this run")
    ap.add_argument("--tag", default="tabular_robustness")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    kinds = args.models.split(",")
    rows = [row for name in args.datasets.split(",") for row in run(name, kinds, args.data)]
    doc = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, CPU",
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "rows": rows,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.tag}.json").write_text(json.dumps(doc, indent=2))
    lines = [
        f"Machine: {doc['machine']}; load average at the end {doc['load_avg_1m_at_end']}.",
        "",
        "| dataset | train rows | model | fit s | epochs | shapes | trends | quality | "
        "TSTR/TRTR | detection AUC | exact copies (holdout's) | DCR share |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['train_rows']:,} | {r['model']} | {r['fit_s']:.1f} | "
            f"{r['epochs_run']} | {r['shapes']:.3f} | {r['trends']:.3f} | {r['quality']:.3f} | "
            f"{_fmt(r['tstr_ratio'])} | {_fmt(r['detection_auc'])} | "
            f"{r['exact_copies']:.3f} ({r['exact_copies_holdout']:.3f}) | "
            f"{_fmt(r['dcr_share'])} |"
        )
    (OUT / f"{args.tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
