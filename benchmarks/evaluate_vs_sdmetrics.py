"""Compare synthgen's column shapes / pair trends / overall score with SDMetrics' QualityReport.

Needs the bench extra (``pip install sdmetrics``). Run from the repository root:

    python benchmarks/evaluate_vs_sdmetrics.py [--synthetic SYNTH.csv] [--time]

Cases on ../shared/data/adult: real-vs-real (train vs test rows) and real vs a deliberately
imperfect table (test rows with four columns independently shuffled, noise on two numeric
columns and some values blanked), plus a given synthetic file if ``--synthetic`` is passed.
SDMetrics 0.32's QualityReport counts only pairs whose real data is associated
(real_correlation_threshold=0.5, real_association_threshold=0.3); it is run twice: with those
defaults (compared with our ``*_strong`` figures) and with both thresholds at 0 (compared with
``shapes``/``trends``/``quality``). Prints a markdown table; exits 1 if any |difference| > 0.005.
``--time`` also times ``evaluate`` on Adult train vs a shuffled copy (26k vs 26k rows).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "adult"
TOLERANCE = 0.005


def _metadata(schema) -> dict:
    from synthgen.tabular.evaluate.frames import column_kinds

    sdtype = {
        "numeric": "numerical",
        "datetime": "datetime",
        "categorical": "categorical",
        "boolean": "boolean",
    }
    return {"columns": {n: {"sdtype": sdtype[k]} for n, k in column_kinds(schema).items()}}


def _sdmetrics(real: pd.DataFrame, syn: pd.DataFrame, metadata: dict, thresholds: bool) -> dict:
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    if not thresholds:
        report.real_correlation_threshold = 0
        report.real_association_threshold = 0
    report.generate(real, syn, metadata, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {
        "shapes": float(props["Column Shapes"]),
        "trends": float(props["Column Pair Trends"]),
        "quality": float(report.get_score()),
    }


def _imperfect(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for col in ("occupation", "relationship", "hours-per-week", "education-num"):
        out[col] = out[col].to_numpy()[rng.permutation(len(out))]
    out["age"] = (out["age"] + rng.normal(0, 4, len(out))).round().clip(17, 90)
    out["fnlwgt"] = out["fnlwgt"] * rng.lognormal(0, 0.2, len(out))
    out.loc[rng.random(len(out)) < 0.05, "workclass"] = np.nan
    return out


def compare(name: str, real: pd.DataFrame, syn: pd.DataFrame, schema) -> list[tuple]:
    from synthgen.tabular.evaluate import fidelity
    from synthgen.tabular.evaluate.frames import column_kinds, prepare

    kinds = column_kinds(schema)
    ours = fidelity.fidelity(
        prepare(real, schema, "real"),
        prepare(syn, schema, "synthetic"),
        kinds,
        np.random.default_rng(0),
    )
    meta = _metadata(schema)
    cols = list(meta["columns"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = _sdmetrics(real[cols], syn[cols], meta, thresholds=False)
        default = _sdmetrics(real[cols], syn[cols], meta, thresholds=True)
    rows = []
    for key in ("shapes", "trends", "quality"):
        rows.append((name, key, ours[key], plain[key], "thresholds 0"))
    for key in ("trends", "quality"):
        rows.append((name, f"{key}_strong", ours[f"{key}_strong"], default[key], "defaults"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=Path, help="also compare this synthetic table")
    parser.add_argument("--time", action="store_true", help="time evaluate on Adult 26k vs 26k")
    args = parser.parse_args()
    import sdmetrics

    from synthgen.schema import load_schema

    schema = load_schema(REPO / "schemas" / "adult.yaml")
    read = {"na_values": ["?", ""], "keep_default_na": False}  # "" = missing, as in the schema
    train = pd.read_csv(DATA / "train.csv", **read)
    test = pd.read_csv(DATA / "test.csv", **read)
    cases = [
        ("real vs real (train vs test)", train, test),
        ("train vs imperfect (test, shuffled+noise)", train, _imperfect(test)),
    ]
    if args.synthetic:
        cases.append(
            (f"train vs {args.synthetic.name}", train, pd.read_csv(args.synthetic, **read))
        )
    rows = [r for name, real, syn in cases for r in compare(name, real, syn, schema)]
    print(f"sdmetrics {sdmetrics.__version__}, pandas {pd.__version__}\n")
    print("| case | figure | synthgen | SDMetrics | SDMetrics config | difference |")
    print("|---|---|---:|---:|---|---:|")
    worst = 0.0
    for case, key, ours, theirs, config in rows:
        diff = ours - theirs
        worst = max(worst, abs(diff))
        print(f"| {case} | {key} | {ours:.4f} | {theirs:.4f} | {config} | {diff:+.5f} |")
    print(f"\nlargest |difference|: {worst:.2e} (tolerance {TOLERANCE})")
    if args.time:
        from synthgen.tabular.evaluate.evaluation import evaluate

        shuffled = train.sample(frac=1.0, random_state=1).reset_index(drop=True)
        start = time.perf_counter()
        doc = evaluate(train, _imperfect(shuffled), schema, holdout=test)
        total = time.perf_counter() - start
        timings = ", ".join(f"{k} {v:.1f}s" for k, v in doc["timings_s"].items())
        print(
            f"\nevaluate Adult {len(train)} vs {len(shuffled)} rows (+{len(test)} holdout): "
            f"{total:.1f}s ({timings})"
        )
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
