"""Tabular benchmark on Adult: synthgen's kinds beside TabularARGN (and SDV), in one run.

For each model: fit seconds, generation rows/s (1M rows to Parquet for synthgen; TabularARGN's
own ``sample`` of the train size), SDMetrics QualityReport (Column Shapes, Column Pair Trends,
overall), TSTR ROC-AUC (HistGradientBoosting trained on synthetic, scored on the real holdout)
next to TRTR, real-vs-synthetic detection AUC (3-fold), DCR share against the holdout and the
exact-copy rate. Optionally the peak RSS of a 10M-row ``synthgen generate`` in a subprocess.

Models: synthgen kinds by name (``vae``, ``cgan``, ``ar``); ``argn`` (TabularARGN with its
defaults) and ``argn_budget`` (its ``max_training_time`` set to synthgen ``ar``'s fit time in
this run, or in the results file when ``ar`` is not re-run), both in their own environment (see
``peers.py``); ``sdv_tvae``/``sdv_ctgan`` when SDV is installed.

Resumable: every finished model is written to benchmarks/results/<tag>.json and .md at once,
replacing that model's earlier row (``--fresh`` starts an empty table).

    python benchmarks/tabular.py --threads 2                          # vae, ar, argn, argn_budget
    python benchmarks/tabular.py --models ar --threads 2              # re-run one model
    python benchmarks/tabular.py --models vae,cgan,ar,argn,argn_budget,sdv_tvae,sdv_ctgan
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import synthgen_measured  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "adult"
OUT = ROOT / "benchmarks" / "results"
TARGET, POSITIVE = "income", ">50K"


def load(schema_path: Path):
    from synthgen.schema import load_table_schema
    from synthgen.tabular.io import read_table

    schema = load_table_schema(schema_path)
    train = read_table(DATA / "train.csv", schema)
    test = read_table(DATA / "test.csv", schema)
    return schema, train, test


def plain(df: pd.DataFrame, schema) -> pd.DataFrame:
    """One representation for every model and metric: numbers as float, categories as object."""
    out = pd.DataFrame(index=range(len(df)))
    for col in schema.columns:
        s = df[col.name].reset_index(drop=True)
        if col.type in ("integer", "continuous"):
            out[col.name] = s.to_numpy(dtype="float64", na_value=np.nan)
        else:
            out[col.name] = s.astype(object).where(s.notna(), None)
    return out


def sdv_metadata(schema) -> dict:
    cols = {}
    for col in schema.columns:
        sdtype = "numerical" if col.type in ("integer", "continuous") else "categorical"
        cols[col.name] = {"sdtype": sdtype}
    return {"columns": cols}


def quality(real: pd.DataFrame, syn: pd.DataFrame, meta: dict) -> dict:
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    report.generate(real, syn, meta, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {
        "shapes": float(props["Column Shapes"]),
        "trends": float(props["Column Pair Trends"]),
        "quality": float(report.get_score()),
    }


def _features(df: pd.DataFrame, schema) -> pd.DataFrame:
    x = df.drop(columns=[TARGET]).copy()
    for col in schema.columns:
        if col.name != TARGET and col.type == "categorical":
            x[col.name] = pd.Categorical(x[col.name], categories=col.categories)
    return x


def tstr_auc(train: pd.DataFrame, test: pd.DataFrame, schema, seed: int = 0) -> float:
    y = (train[TARGET] == POSITIVE).astype(int)
    if y.nunique() < 2:
        return float("nan")
    clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    clf.fit(_features(train, schema), y)
    proba = clf.predict_proba(_features(test, schema))[:, 1]
    return float(roc_auc_score((test[TARGET] == POSITIVE).astype(int), proba))


def detection_auc(real: pd.DataFrame, syn: pd.DataFrame, schema, n: int = 10000) -> float:
    rng = np.random.default_rng(0)
    n = min(n, len(real), len(syn))
    r = real.iloc[rng.choice(len(real), n, replace=False)]
    s = syn.iloc[rng.choice(len(syn), n, replace=False)]
    both = pd.concat([r, s], ignore_index=True)
    x = both.copy()
    for col in schema.columns:
        if col.type == "categorical":
            x[col.name] = pd.Categorical(x[col.name], categories=col.categories)
    y = np.r_[np.zeros(n), np.ones(n)]
    clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    proba = cross_val_predict(clf, x, y, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba))


def dcr_share(train: pd.DataFrame, syn: pd.DataFrame, holdout: pd.DataFrame, schema) -> float:
    """synthgen.tabular.evaluate's DCR share (0.5: no closer to train than the holdout is)."""
    from synthgen.tabular.evaluate.frames import column_kinds
    from synthgen.tabular.evaluate.privacy import privacy

    rng = np.random.default_rng(0)
    return float(privacy(train, syn, holdout, column_kinds(schema), rng)["dcr_share"])


def copy_rate(train: pd.DataFrame, other: pd.DataFrame) -> float:
    key = lambda d: pd.util.hash_pandas_object(d.astype(str), index=False)  # noqa: E731
    seen = set(key(train).tolist())
    return float(np.mean([h in seen for h in key(other).tolist()]))


# --- models -----------------------------------------------------------------------------------
def run_synthgen(
    kind: str, train, schema, schema_path, gen_rows, tmp: Path, epochs=None, threads=None
):
    from synthgen.jobs.generate import generate_to_file
    from synthgen.tabular.synthesizer import TabularSynthesizer

    t = time.perf_counter()
    synth = TabularSynthesizer(kind, epochs=epochs, seed=0, progress=False, threads=threads)
    synth.fit(train, schema)
    fit_s = time.perf_counter() - t
    model = synth.save(tmp / f"{kind}.synth", overwrite=True)
    sample = synth.sample(len(train), seed=1)
    # great-expectations (the output validation) is imported before the clock starts: its
    # import takes seconds once per process, and would be charged to whichever kind ran first
    import great_expectations  # noqa: F401

    out = tmp / f"{kind}.parquet"
    t = time.perf_counter()
    generate_to_file(model, gen_rows, out, overwrite=True, progress=False, seed=2)
    gen_s = time.perf_counter() - t
    extra = {"epochs_run": synth.training_["epochs_run"], "torch_threads": synth.cpu_threads()}
    return fit_s, gen_rows / gen_s, sample, extra


def run_sdv(kind: str, train_plain, meta, gen_rows, tmp: Path, epochs: int):
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, TVAESynthesizer

    metadata = Metadata.load_from_dict({"tables": {"adult": meta}})
    cls = {"sdv_tvae": TVAESynthesizer, "sdv_ctgan": CTGANSynthesizer}[kind]
    synth = cls(metadata, epochs=epochs)
    t = time.perf_counter()
    synth.fit({"adult": train_plain})  # SDV 2.x takes {table name: frame}
    fit_s = time.perf_counter() - t
    sample = _one_table(synth.sample(len(train_plain)))
    t = time.perf_counter()
    big = _one_table(synth.sample(gen_rows))
    big.to_parquet(tmp / f"{kind}.parquet")
    gen_s = time.perf_counter() - t
    return fit_s, gen_rows / gen_s, sample, {"epochs_run": epochs}


def _one_table(result) -> pd.DataFrame:
    return next(iter(result.values())) if isinstance(result, dict) else result


def peak_rss_generate(model: Path, rows: int, tmp: Path) -> dict:
    """Peak RSS of `synthgen generate --rows N` in a fresh process (its own tree only)."""
    out = tmp / "big.parquet"
    m = synthgen_measured(
        ["generate", str(model), "--rows", str(rows), "-o", str(out), "--overwrite"], cwd=ROOT
    )
    return {"rows": rows, "seconds": m.wall_s, "peak_rss_mb": m.peak_rss_mb}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="vae,ar,argn,argn_budget")
    ap.add_argument("--schema", default=str(ROOT / "schemas" / "adult.yaml"))
    ap.add_argument("--gen-rows", type=int, default=1_000_000)
    ap.add_argument("--sdv-epochs", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=None, help="override synthgen epochs")
    ap.add_argument("--rss-rows", type=int, default=10_000_000, help="0 to skip")
    ap.add_argument("--tag", default="tabular")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for this run")
    ap.add_argument("--fresh", action="store_true", help="drop the rows of earlier runs")
    ap.add_argument("--keep-samples", type=Path, default=None, help="write each sample as CSV")
    ap.add_argument(
        "--merge", default="", help="comma-separated tags of earlier runs to merge into --tag"
    )
    args = ap.parse_args()
    if args.merge:
        docs = [json.loads((OUT / f"{t}.json").read_text()) for t in args.merge.split(",")]
        doc = {**docs[0], "rows": [r for d in docs for r in d["rows"]], "merged": args.merge}
        write_outputs(doc, args.tag)
        return

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    schema_path = Path(args.schema)
    schema, train, test = load(schema_path)
    meta = sdv_metadata(schema)
    train_p, test_p = plain(train, schema), plain(test, schema)
    previous = OUT / f"{args.tag}.json"
    rows = [] if args.fresh or not previous.exists() else json.loads(previous.read_text())["rows"]
    doc = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, CPU",
        "trtr_auc": tstr_auc(train_p, test_p, schema),
        "holdout_exact_copy_rate": copy_rate(train_p, test_p),
        "rows": rows,
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for kind in args.models.split(","):
            print(f"== {kind}", flush=True)
            fit_s, rps, sample, extra = run_model(kind, args, rows, train, train_p, schema, tmp)
            syn = plain(sample, schema)
            if args.keep_samples is not None:
                args.keep_samples.mkdir(parents=True, exist_ok=True)
                syn.to_csv(args.keep_samples / f"{kind}.csv", index=False)
            row = {
                "model": kind,
                "torch_threads": extra.pop("torch_threads", torch.get_num_threads()),
                "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
                "fit_s": fit_s,
                "rows_per_s": rps,
                **quality(train_p, syn, meta),
                "tstr_auc": tstr_auc(syn, test_p, schema),
                "detection_auc": detection_auc(train_p, syn, schema),
                "dcr_share": dcr_share(train_p, syn, test_p, schema),
                "exact_copy_rate": copy_rate(train_p, syn),
                **extra,
            }
            print(json.dumps(row, default=str), flush=True)
            rows[:] = [r for r in rows if r["model"] != kind] + [row]
            write_outputs(doc, args.tag)


def run_model(kind: str, args, rows: list[dict], train, train_p, schema, tmp: Path):
    """(fit seconds, rows/s, a sample of the train size, extra fields) for one model."""
    from peers import run_argn

    if kind in ("argn", "argn_budget"):
        budget = None
        if kind == "argn_budget":
            ar = [r for r in rows if r["model"] == "ar"]
            if not ar:
                raise SystemExit("argn_budget needs an 'ar' row: run --models ar first.")
            budget = ar[-1]["fit_s"] / 60.0
        sample, info = run_argn(
            train_p, schema, len(train_p), tmp, max_minutes=budget, threads=args.threads
        )
        extra = {"epochs_run": None, "argn": info, "torch_threads": info["torch_threads"]}
        return info["fit_s"], len(sample) / info["sample_s"], sample, extra
    if kind.startswith("sdv_"):
        meta = sdv_metadata(schema)
        return run_sdv(kind, train_p, meta, args.gen_rows, tmp, args.sdv_epochs)
    fit_s, rps, sample, extra = run_synthgen(
        kind, train, schema, Path(args.schema), args.gen_rows, tmp, args.epochs, args.threads
    )
    if kind == "vae" and args.rss_rows:
        extra["rss"] = peak_rss_generate(tmp / "vae.synth", args.rss_rows, tmp)
    return fit_s, rps, sample, extra


def write_outputs(doc: dict, tag: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{tag}.json").write_text(json.dumps(doc, indent=2, default=str))
    trtr, holdout_copies, rows = doc["trtr_auc"], doc["holdout_exact_copy_rate"], doc["rows"]
    lines = [
        f"TRTR ROC-AUC {trtr:.3f}; share of real holdout rows duplicating a train row "
        f"{holdout_copies:.4f} (DCR share: 0.5 = no closer to train than the holdout is). "
        f"Machine: {doc['machine']}.",
        "",
        "| model | fit s | epochs | gen rows/s | shapes | trends | quality | "
        "TSTR AUC | detection AUC | DCR share | exact copies | threads | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        dcr = r.get("dcr_share")
        lines.append(
            f"| {r['model']} | {r['fit_s']:.0f} | {r['epochs_run'] or '–'} | "
            f"{r['rows_per_s']:,.0f} | {r['shapes']:.3f} | {r['trends']:.3f} | "
            f"{r['quality']:.3f} | {r['tstr_auc']:.3f} | {r['detection_auc']:.3f} | "
            f"{'–' if dcr is None else f'{dcr:.3f}'} | {r['exact_copy_rate']:.4f} | "
            f"{r.get('torch_threads', '–')} | {r.get('load_avg_1m_at_end', float('nan')):.1f} |"
        )
    for r in rows:
        if "argn" in r:
            a = r["argn"]
            lines.append("")
            lines.append(
                f"{r['model']}: {a['engine']} {a['version']}, settings {a['settings']} "
                f"(model defaults {a['model_settings']}), fit {a['fit_s']:.0f} s, sample of "
                f"{a['rows']:,} rows {a['sample_s']:.1f} s (its own sample call, no file)."
            )
    for r in rows:
        if "rss" in r:
            rss = r["rss"]
            lines.append("")
            lines.append(
                f"`synthgen generate --rows {rss['rows']:,}` ({r['model']}, Parquet): "
                f"{rss['seconds']:.0f} s, peak RSS {rss['peak_rss_mb']:.0f} MB."
            )
    (OUT / f"{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
