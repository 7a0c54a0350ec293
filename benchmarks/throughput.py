"""Throughput per core of ``synthgen generate`` to Parquet: where every core-second goes.

Protocol (issue 15, item 7): fit a VAE (the default table kind) on ``<data>/adult/train.csv``
with ``schemas/adult.yaml`` for ``--fit-epochs`` epochs (generation cost depends on the
network's shape, not on how long it trained), then

* **breakdown**: ``generate_to_file`` of ``--profile-rows`` rows to Parquet, validated, in a
  fresh process, with each stage's CPU time (``time.thread_time`` of the thread that runs it,
  so the writer thread's work is counted apart from the drawing threads') summed per stage:
  decoder (the network's layers), sampling (latents, noise, slots), inverse transform,
  constraints (fixed-combination repair and acceptance), block assembly (clip, fresh ids,
  concat), checks (the every-row check), encode + write (Arrow/Parquet), the
  great-expectations pass on its sample, and the rest (process CPU not in any stage).
  Run for this tree and, with ``--before REV``, for the tree at REV (``git archive``), so the
  before/after figures come from one run on one machine;
* **end to end**: ``synthgen generate MODEL --rows N -o out.parquet`` in a fresh process
  (imports included) for each ``--rows``: wall, rows/s, CPU seconds, peak RSS; and whether
  this tree's output equals REV's (same rows for a seed) on the profile size.

    python benchmarks/throughput.py [--rows 1000000 10000000] [--profile-rows 1000000]
                                    [--before 3fff626]

Writes ``benchmarks/results/<tag>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import machine, synthgen_measured  # noqa: E402

STAGES = [
    "decoder",
    "sampling",
    "inverse transform",
    "constraints",
    "block assembly",
    "checks",
    "encode + write",
    "GX sample pass",
    "other",
]

# Run in a fresh process with the tree under test first on sys.path: times each stage.
_PROFILE = r"""
import json, sys, threading, time
from collections import defaultdict
sys.path.insert(0, sys.argv[1])
model, rows, out = sys.argv[2], int(sys.argv[3]), sys.argv[4]
import synthgen.tabular.sampler as sampler
import synthgen.tabular.checks as checks
import synthgen.tabular.io as tio
import synthgen.jobs.generate as gen
from synthgen.tabular.models.vae import TabularVAE
from synthgen.tabular.transform.table import TableTransformer
from synthgen.tabular.combinations import FixedCombination

spent = defaultdict(float)
lock = threading.Lock()

def timed(owner, name, stage):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        t = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            with lock:
                spent[stage] += time.thread_time() - t
    setattr(owner, name, wrapper)

timed(TabularVAE, "_decode_t", "decoder")
timed(TabularVAE, "sample_draw", "draw")
timed(TableTransformer, "inverse_transform_parts", "inverse transform")
timed(FixedCombination, "repair_valid", "repair")
timed(sampler.Sampler, "_accept", "accept")
timed(sampler.Sampler, "block", "block")
timed(sampler.Sampler, "probe", "block")  # the once-per-run acceptance probe draws too
timed(checks.OutputValidator, "check", "checks")
timed(checks.OutputValidator, "finish", "GX sample pass")
writer = tio.TableWriter
timed(writer, "write", "encode + write")
cpu, wall = time.process_time(), time.perf_counter()
result = gen.generate_to_file(model, rows, out, progress=False, overwrite=True)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
s = dict(spent)
stages = {
    "decoder": s["decoder"],
    "sampling": s["draw"] - s["decoder"],
    "inverse transform": s["inverse transform"],
    "constraints": s.get("repair", 0.0) + s.get("accept", 0.0),
    "block assembly": s["block"] - s["draw"] - s["inverse transform"] - s.get("repair", 0.0)
    - s.get("accept", 0.0),
    "checks": s["checks"],
    "encode + write": s["encode + write"],
    "GX sample pass": s["GX sample pass"],
}
stages["other"] = cpu - s["block"] - s["checks"] - s["encode + write"] - s["GX sample pass"]
print(json.dumps({"rows": rows, "cpu_s": cpu, "wall_s": wall, "stages": stages}))
"""


def _tree(rev: str, tmp: Path) -> Path:
    """The synthgen package at ``rev`` (git archive), for the before figures."""
    where = tmp / f"tree-{rev}"
    where.mkdir()
    archive = subprocess.run(
        ["git", "archive", rev, "synthgen"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def _profile(tree: Path, model: Path, rows: int, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "GX_ANALYTICS_ENABLED": "False"}
    run = subprocess.run(
        [sys.executable, "-c", _PROFILE, str(tree), str(model), str(rows), str(out)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def _cli(tree: Path, args: list[str]) -> tuple[float, float, float]:
    """``synthgen ARGS`` from ``tree`` in a fresh process: wall s, CPU s, peak RSS MB."""
    env = {**os.environ, "PYTHONPATH": str(tree), "GX_ANALYTICS_ENABLED": "False"}
    m = synthgen_measured(args, cwd=tree, env=env)
    return m.wall_s, m.cpu_s, m.peak_rss_mb


def _same(a: Path, b: Path) -> bool:
    import pyarrow.parquet as pq

    left, right = pq.read_table(a), pq.read_table(b)
    return left.num_rows == right.num_rows and left.equals(right.cast(left.schema))


def run(args, tmp: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from synthgen.jobs.kinds import default_kind
    from synthgen.schema import load_table_schema
    from synthgen.tabular.io import read_table
    from synthgen.tabular.synthesizer import TabularSynthesizer

    kind = default_kind("table", "generator")
    schema = load_table_schema(args.schema)
    frame = read_table(args.data / "adult" / "train.csv", schema)
    synth = TabularSynthesizer(kind, epochs=args.fit_epochs, seed=0, progress=False)
    model = synth.fit(frame, schema).save(tmp / "adult.synth", overwrite=True)
    doc: dict = {"kind": kind, "profile": {}, "end_to_end": []}
    trees = {"after": ROOT}
    if args.before:
        trees = {"before": _tree(args.before, tmp), **trees}
        doc["before_rev"] = args.before
    doc["after_rev"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    outs = {}
    for label, tree in trees.items():
        outs[label] = tmp / f"profile-{label}.parquet"
        prof = _profile(tree, model, args.profile_rows, outs[label])
        print(label, json.dumps(prof), flush=True)
        doc["profile"][label] = prof
    if args.before:
        doc["same_rows_as_before"] = _same(outs["before"], outs["after"])
    for label, tree in trees.items():
        for n in args.rows:
            if label == "before" and n > max(args.before_rows, 0):
                continue
            out = tmp / f"e2e-{label}-{n}.parquet"
            wall, cpu, rss = _cli(tree, ["generate", str(model), "--rows", str(n), "-o", str(out)])
            row = {"tree": label, "rows": n, "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss}
            row["rows_per_s"] = n / wall
            print(json.dumps(row), flush=True)
            doc["end_to_end"].append(row)
            out.unlink()
    doc["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--schema", type=Path, default=ROOT / "schemas" / "adult.yaml")
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--profile-rows", type=int, default=1_000_000)
    ap.add_argument("--before", default=None, help="git revision to measure beside this tree")
    ap.add_argument("--before-rows", type=int, default=10_000_000, help="end-to-end sizes run")
    ap.add_argument("--fit-epochs", type=int, default=1)
    ap.add_argument("--beside", default="nothing else ran", help="what ran beside, for the record")
    ap.add_argument("--tag", default="throughput")
    args = ap.parse_args()
    t = time.perf_counter()
    load_start = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory() as d:
        doc = run(args, Path(d))
    doc["machine"] = f"{machine()}; {args.beside}"
    doc["load_avg_1m_at_start"] = load_start
    doc["threads"] = os.environ.get("OMP_NUM_THREADS", "unset")
    doc["benchmark_wall_s"] = time.perf_counter() - t
    write_outputs(doc, args.tag)


def write_outputs(doc: dict, tag: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{tag}.json").write_text(json.dumps(doc, indent=2))
    labels = list(doc["profile"])
    per_m = {
        label: {k: v * 1e6 / p["rows"] for k, v in p["stages"].items()}
        for label, p in doc["profile"].items()
    }
    revs = {"before": doc.get("before_rev", ""), "after": doc.get("after_rev", "")}
    lines = [
        f"Adult {doc['kind']} (the default table kind), validated Parquet output. Machine: "
        f"{doc['machine']}; OMP_NUM_THREADS={doc['threads']}; load average (1 min) at the start "
        f"{doc['load_avg_1m_at_start']}, at the end {doc['load_avg_1m_at_end']}.",
        "",
        "CPU-seconds per 1M rows, by stage (one in-process run of "
        f"{doc['profile'][labels[-1]]['rows']:,} rows each; `time.thread_time` per stage):",
        "",
        "| stage | " + " | ".join(f"{label} ({revs[label]})" for label in labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for stage in STAGES:
        cells = " | ".join(f"{per_m[label][stage]:.2f}" for label in labels)
        lines.append(f"| {stage} | {cells} |")
    for label in labels:
        p = doc["profile"][label]
        checks = (p["stages"]["checks"] + p["stages"]["GX sample pass"]) / p["cpu_s"]
        doc["profile"][label]["checks_share"] = checks
    lines.append(
        "| **total CPU** | "
        + " | ".join(f"**{doc['profile'][lb]['cpu_s'] * 1e6 / doc['profile'][lb]['rows']:.2f}**"
                     for lb in labels)
        + " |"
    )  # fmt: skip
    lines.append(
        "| wall | "
        + " | ".join(f"{doc['profile'][lb]['wall_s'] * 1e6 / doc['profile'][lb]['rows']:.2f}"
                     for lb in labels)
        + " |"
    )  # fmt: skip
    lines.append(
        "| checks + GX share of CPU | "
        + " | ".join(f"{doc['profile'][lb]['checks_share']:.0%}" for lb in labels)
        + " |"
    )  # fmt: skip
    if "same_rows_as_before" in doc:
        lines += [
            "",
            "Same rows as before (same model and seed): "
            f"{'yes' if doc['same_rows_as_before'] else 'NO'}.",
        ]
    lines += [
        "",
        "End to end: `synthgen generate MODEL --rows N -o out.parquet` in a fresh process "
        "(imports, model load, validation and the great-expectations pass included):",
        "",
        "| tree | rows | wall | rows/s | CPU s | CPU s per 1M rows | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in doc["end_to_end"]:
        lines.append(
            f"| {r['tree']} ({revs[r['tree']]}) | {r['rows']:,} | {r['wall_s']:.1f} s | "
            f"{r['rows_per_s']:,.0f} | {r['cpu_s']:.1f} | {r['cpu_s'] * 1e6 / r['rows']:.2f} | "
            f"{r['peak_rss_mb']:,.0f} MB |"
        )
    (OUT / f"{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
