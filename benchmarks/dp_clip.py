"""DP-SGD's clipping bound per kind: quality at epsilon 3 on development data only.

Each row's gradient is clipped to a norm bound before noise is added (the noise is the noise
multiplier times the bound, so the privacy accounting does not depend on it). A bound below
most rows' gradient norms clips them all, and Adam then takes the same steps at any such bound;
a bound above them adds noise that no gradient uses. This script fits a kind with
``dp_epsilon`` at each bound given and scores it, on data that chooses settings and never on a
benchmark's judged split:

* ``adult_val``: Adult's ``train.csv`` shuffled (seed 0), 12,000 rows fitted and the next 4,000
  as holdout (``test.csv`` is never read);
* the seven small development tables of ``tabular_robustness.py`` (breast_cancer, wine and five
  ADBench tables), split as there.

The three package tables of ``tabular_robustness.py`` are left out: they check a choice.

    python benchmarks/dp_clip.py --kind ar --clips 1,3,5,10 [--datasets 23_mammography,adult_val]

Appends one row per (dataset, kind, epsilon, bound) to ``benchmarks/results/dp_clip.json``
(replacing an earlier row with the same key) and writes ``dp_clip.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import tabular_robustness as tr  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results"
DEV_TABLES = [d for d in tr.DATASETS if d not in tr.PACKAGE_FILES]


def load(name: str, data: Path):
    """(schema, train, holdout) of a development dataset."""
    from synthgen.schema import load_table_schema
    from synthgen.tabular.io import read_table

    if name == "adult_val":
        schema = load_table_schema(ROOT / "schemas" / "adult.yaml")
        rows = read_table(data / "adult" / "train.csv", schema)
        rows = rows.sample(frac=1.0, random_state=0).reset_index(drop=True)
        return schema, rows.iloc[:12_000].reset_index(drop=True), rows.iloc[12_000:16_000]
    schema, _, train, holdout = tr.prepare(name, data)
    return schema, train, holdout


@contextmanager
def clip_bound(kind, bound: float):
    """The kind's registry entry with ``extra["dp_clip"]`` set to ``bound`` for the block."""
    had, old = "dp_clip" in kind.extra, kind.extra.get("dp_clip")
    kind.extra["dp_clip"] = bound
    try:
        yield
    finally:
        if had:
            kind.extra["dp_clip"] = old
        else:
            kind.extra.pop("dp_clip")


def run_one(
    name: str, kind: str, epsilon: float, bound: float, data: Path, threads: int | None
) -> dict:
    from synthgen.tabular.evaluate.evaluation import run_evaluation
    from synthgen.tabular.synthesizer import TabularSynthesizer

    schema, train, holdout = load(name, data)
    synth = TabularSynthesizer(kind, seed=0, progress=False, threads=threads, dp_epsilon=epsilon)
    t = time.perf_counter()
    with clip_bound(synth.kind_entry(), bound):
        synth.fit(train, schema)
    fit_s = time.perf_counter() - t
    assert synth.training_["privacy"]["max_grad_norm"] == bound
    sample = synth.sample(len(train), seed=1)
    holdout = holdout.reset_index(drop=True)
    doc = run_evaluation(train, sample, schema, holdout=holdout, validate=False)
    s = doc.doc["summary"]
    keys = ("shapes", "trends", "quality", "tstr_ratio", "detection_auc")
    return {
        "dataset": name,
        "kind": kind,
        "epsilon": epsilon,
        "clip": bound,
        "train_rows": len(train),
        "fit_s": round(fit_s, 1),
        **{k: s[k] for k in keys},
    }


def write(rows: list[dict]) -> None:
    doc = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, CPU", "rows": rows}
    (OUT / "dp_clip.json").write_text(json.dumps(doc, indent=2))
    lines = [
        f"Machine: {doc['machine']}.",
        "",
        "| dataset | train rows | kind | epsilon | clip | fit s | shapes | trends | quality | "
        "TSTR/TRTR | detection AUC |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        tstr = "–" if r["tstr_ratio"] is None else f"{r['tstr_ratio']:.3f}"
        lines.append(
            f"| {r['dataset']} | {r['train_rows']:,} | {r['kind']} | {r['epsilon']:g} | "
            f"{r['clip']:g} | {r['fit_s']:.1f} | {r['shapes']:.3f} | {r['trends']:.3f} | "
            f"{r['quality']:.3f} | {tstr} | {r['detection_auc']:.3f} |"
        )
    (OUT / "dp_clip.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--kind", default="ar")
    ap.add_argument("--epsilon", type=float, default=3.0)
    ap.add_argument("--clips", default="1,3,5,10")
    ap.add_argument("--datasets", default=",".join([*DEV_TABLES, "adult_val"]))
    ap.add_argument("--threads", type=int, default=None, help="default: the kind's own")
    args = ap.parse_args()
    previous = OUT / "dp_clip.json"
    rows = json.loads(previous.read_text())["rows"] if previous.exists() else []
    order = {d: i for i, d in enumerate([*DEV_TABLES, "adult_val"])}
    for name in args.datasets.split(","):
        for bound in (float(c) for c in args.clips.split(",")):
            row = run_one(name, args.kind, args.epsilon, bound, args.data, args.threads)
            key = (name, args.kind, args.epsilon, bound)
            rows = [r for r in rows if (r["dataset"], r["kind"], r["epsilon"], r["clip"]) != key]
            rows.append(row)
            rows.sort(key=lambda r: (order.get(r["dataset"], 99), r["kind"], r["clip"]))
            write(rows)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
