"""Generation at scale on Adult: one process, sharded on local processes, sharded on Ray.

Protocol: fit a VAE on ``<data>/adult/train.csv`` with ``schemas/adult.yaml`` for
``--fit-epochs`` epochs (generation cost depends on the network's shape, not on how long it
trained), save it, then run ``synthgen generate`` in fresh processes (imports included):

* one process, ``--rows-small`` and ``--rows-big`` rows to one Parquet file (validated, as the
  command always is): wall time, rows/s, peak RSS (is memory flat as N grows?);
* ``--shards K --engine local --workers W`` on ``--shard-rows`` rows;
* ``--shards K --engine ray`` with 1 and 2 workers (a local Ray started for the run, its
  start-up included) on ``--shard-rows`` rows;
* the identical-output check: every sharded run's files have the same sha256 (same K), and the
  sharded dataset read in order equals the one-process file of the same N, batch by batch;
* ``--rows-huge`` rows (100M) in one process to one Parquet file: is memory flat from 10M on?
* out-of-core fitting: a ``--ooc-kind`` model fitted in memory on real Adult (its default plan)
  makes ``--ooc-rows`` rows (20M) as a 4-shard Parquet dataset; ``synthgen fit`` on that folder
  (out of core) and on a quarter of it: wall time and peak RSS (flat in the row count?); the
  20M-row model's quality against real Adult (``synthgen.tabular.evaluate``, test.csv as the
  holdout), beside the quality of the model that made the rows.

    python benchmarks/scale.py [--rows-small 1000000] [--rows-big 10000000] [--shard-rows N]
        [--rows-huge 100000000] [--ooc-rows 20000000]   (0 skips either)

Peak RSS is the largest single process of the run's tree (``ru_maxrss`` of waited-for
descendants). Writes ``benchmarks/results/<tag>.md`` and ``.json``.
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
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import machine, synthgen_measured  # noqa: E402


def _cli(args: list[str]) -> tuple[float, float]:
    """``synthgen ARGS`` in a fresh process: wall seconds and the tree's largest RSS (MB)."""
    measured = synthgen_measured(args, cwd=ROOT)
    return measured.wall_s, measured.peak_rss_mb


def _same_rows(dataset: Path, single: Path) -> bool:
    """The dataset's files read in order equal the one-process file (values, order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(dataset.glob("part-*.parquet"))
    left = pa.concat_tables([pq.read_table(f) for f in files])
    right = pq.read_table(single)
    return left.num_rows == right.num_rows and left.equals(right.cast(left.schema))


def _manifest(path: Path) -> dict:
    return json.loads((path / "_manifest.json").read_text())


def run(args, tmp: Path) -> dict:
    from synthgen.schema import load_table_schema
    from synthgen.tabular.io import read_table
    from synthgen.tabular.synthesizer import TabularSynthesizer

    schema = load_table_schema(args.schema)
    frame = read_table(args.data / "adult" / "train.csv", schema)
    synth = TabularSynthesizer("vae", epochs=args.fit_epochs, seed=0, progress=False)
    model = synth.fit(frame, schema).save(tmp / "adult.synth", overwrite=True)
    doc: dict = {"single": [], "sharded": []}
    for n in [r for r in (args.rows_small, args.rows_big) if r]:
        out = tmp / f"one-{n}.parquet"
        wall, rss = _cli(["generate", str(model), "--rows", str(n), "-o", str(out)])
        row = {"rows": n, "wall_s": wall, "rows_per_s": n / wall, "peak_rss_mb": rss}
        print(json.dumps(row), flush=True)
        doc["single"].append(row)
        out.unlink()
    n, k = args.shard_rows, args.shards
    single = tmp / "one-shard-rows.parquet"
    if n:
        _cli(["generate", str(model), "--rows", str(n), "-o", str(single)])
    runs = [("local", args.workers), ("ray", 1), ("ray", 2)] if n else []
    hashes = set()
    for engine, workers in runs:
        out = tmp / f"ds-{engine}-{workers}"
        cmd = ["generate", str(model), "--rows", str(n), "--shards", str(k), "-o", str(out)]
        cmd += ["--engine", engine, "--workers", str(workers)]
        wall, rss = _cli(cmd)
        files = [f["sha256"] for f in _manifest(out)["files"]]
        hashes.add(tuple(files))
        row = {
            "engine": engine,
            "workers": workers,
            "rows": n,
            "shards": k,
            "wall_s": wall,
            "rows_per_s": n / wall,
            "peak_rss_mb": rss,
            "equals_one_process": _same_rows(out, single),
        }
        print(json.dumps(row), flush=True)
        doc["sharded"].append(row)
        subprocess.run(["rm", "-rf", str(out)], check=True)
    doc["identical_files_across_engines"] = len(hashes) == 1 if hashes else None
    if args.rows_huge:
        n = args.rows_huge
        out = tmp / f"one-{n}.parquet"
        wall, rss = _cli(["generate", str(model), "--rows", str(n), "-o", str(out)])
        row = {"rows": n, "wall_s": wall, "rows_per_s": n / wall, "peak_rss_mb": rss}
        row["file_gb"] = out.stat().st_size / 1e9
        print(json.dumps(row), flush=True)
        doc["single"].append(row)
        out.unlink()
    if args.ooc_rows:
        doc["out_of_core"] = out_of_core(args, tmp)
    doc["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    return doc


def out_of_core(args, tmp: Path) -> dict:
    """A synthgen-made Parquet dataset fitted out of core; RSS against rows; quality."""
    from synthgen.schema import load_table_schema
    from synthgen.tabular.evaluate.evaluation import evaluate
    from synthgen.tabular.io import read_table
    from synthgen.tabular.synthesizer import TabularSynthesizer

    schema = load_table_schema(args.schema)
    real = read_table(args.data / "adult" / "train.csv", schema)
    test = read_table(args.data / "adult" / "test.csv", schema)
    t = time.perf_counter()
    source = TabularSynthesizer(args.ooc_kind, epochs=args.ooc_source_epochs, progress=False)
    source.fit(real, schema)
    fit_s = time.perf_counter() - t
    source_path = source.save(tmp / "source.synth", overwrite=True)
    n, ds = args.ooc_rows, tmp / "ooc-dataset"
    cmd = ["generate", str(source_path), "--rows", str(n), "--shards", "4", "-o", str(ds)]
    gen_wall, gen_rss = _cli([*cmd, "--engine", "local", "--workers", str(args.workers)])
    parts = _manifest(ds)["files"]
    quarter = tmp / "ooc-quarter"
    quarter.mkdir()
    (quarter / parts[0]["file"]).symlink_to(ds / parts[0]["file"])
    doc: dict = {
        "kind": args.ooc_kind,
        "source_fit_s": fit_s,
        "generate": {"rows": n, "wall_s": gen_wall, "rows_per_s": n / gen_wall},
        "dataset_gb": sum((ds / p["file"]).stat().st_size for p in parts) / 1e9,
        "fits": [],
    }
    print(json.dumps(doc), flush=True)
    for folder, rows in ((quarter, parts[0]["rows"]), (ds, n)):
        out = tmp / f"ooc-{rows}.synth"
        cmd = ["fit", str(folder), "--schema", str(args.schema), "--kind", args.ooc_kind]
        epochs = ["--epochs", str(args.ooc_epochs)] if args.ooc_epochs else []
        wall, rss = _cli([*cmd, *epochs, "-o", str(out)])
        model = TabularSynthesizer.load(out)
        t = model.training_
        row = {"rows": rows, "wall_s": wall, "peak_rss_mb": rss, "steps": t["steps"]}
        row.update(stopped_early=t["stopped_early"], stream=t["out_of_core"])
        print(json.dumps(row), flush=True)
        doc["fits"].append(row)
    for name, est in (("source", source), ("out_of_core", model)):
        syn = est.sample(len(real), seed=1)
        summary = evaluate(real, syn, schema, holdout=test, target="income")["summary"]
        keys = ("shapes", "trends", "quality", "tstr_ratio", "detection_auc")
        doc[f"quality_{name}"] = {k: summary[k] for k in keys}
        print(name, json.dumps(doc[f"quality_{name}"]), flush=True)
    subprocess.run(["rm", "-rf", str(ds), str(quarter)], check=True)
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--schema", type=Path, default=ROOT / "schemas" / "adult.yaml")
    ap.add_argument("--rows-small", type=int, default=1_000_000)
    ap.add_argument("--rows-big", type=int, default=10_000_000)
    ap.add_argument("--shard-rows", type=int, default=2_000_000)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fit-epochs", type=int, default=1)
    ap.add_argument("--rows-huge", type=int, default=100_000_000)
    ap.add_argument("--ooc-rows", type=int, default=20_000_000)
    ap.add_argument("--ooc-kind", default="ar")
    ap.add_argument("--ooc-source-epochs", type=int, default=None, help="default: planned")
    ap.add_argument("--ooc-epochs", type=int, default=None, help="default: planned steps")
    ap.add_argument("--tag", default="scale")
    ap.add_argument("--beside", default="nothing else ran", help="what ran beside, for the record")
    args = ap.parse_args()
    t, load_start = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as d:
        doc = run(args, Path(d))
    doc["machine"] = (
        f"{machine()} ({args.beside}; load average (1 min) at the start {load_start:.2f})"
    )
    doc["benchmark_wall_s"] = time.perf_counter() - t
    write_outputs(doc, args.tag)


def write_outputs(doc: dict, tag: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{tag}.json").write_text(json.dumps(doc, indent=2))
    lines = [
        f"Adult VAE, `synthgen generate` in fresh processes, validated Parquet output. "
        f"Machine: {doc['machine']}. Load average at the end: {doc['load_avg_1m_at_end']}.",
        "",
        "| run | rows | wall | rows/s | peak RSS (largest process) | rows == one process |",
        "|---|---|---|---|---|---|",
    ]
    for r in doc["single"]:
        lines.append(
            f"| one process | {r['rows']:,} | {r['wall_s']:.1f} s | {r['rows_per_s']:,.0f} | "
            f"{r['peak_rss_mb']:,.0f} MB | – |"
        )
    for r in doc["sharded"]:
        lines.append(
            f"| {r['shards']} shards, {r['engine']}, {r['workers']} worker(s) | {r['rows']:,} | "
            f"{r['wall_s']:.1f} s | {r['rows_per_s']:,.0f} | {r['peak_rss_mb']:,.0f} MB | "
            f"{'yes' if r['equals_one_process'] else 'NO'} |"
        )
    if doc["sharded"]:
        lines += [
            "",
            "Same shard files (sha256) from every engine and worker count: "
            f"{'yes' if doc['identical_files_across_engines'] else 'NO'}.",
        ]
    if len(doc["single"]) > 2:
        ten, huge = doc["single"][1], doc["single"][-1]
        lines += [
            "",
            f"Memory from {ten['rows']:,} to {huge['rows']:,} rows in one process: peak RSS "
            f"{ten['peak_rss_mb']:,.0f} MB against {huge['peak_rss_mb']:,.0f} MB "
            f"({huge['file_gb']:.2f} GB of Parquet written).",
        ]
    if doc.get("out_of_core"):
        lines += _ooc_lines(doc["out_of_core"])
    best = max(r["rows_per_s"] for r in doc["sharded"] + doc["single"])
    paper = (
        f"On paper: one node of this kind makes about {best:,.0f} validated rows/s (the best "
        "run above); shards share nothing but the model file, so N nodes make about N times "
        f"that. 1B rows: {1e9 / best / 3600:.1f} h on 1 node, "
        f"{1e9 / best / 10 / 60:.0f} min on 10, {1e9 / best / 100 / 60:.1f} min on 100 "
        "(plus start-up; output bandwidth not included)."
    )
    if doc["single"]:
        big = doc["single"][-1]
        paper += (
            f" The one-process run of {big['rows']:,} rows peaked at {big['peak_rss_mb']:,.0f} MB."
        )
    lines += ["", paper]
    (OUT / f"{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _ooc_lines(o: dict) -> list[str]:
    g = o["generate"]
    lines = [
        "",
        f"Out-of-core fit (`synthgen fit FOLDER --kind {o['kind']}`, default plan) on a Parquet "
        f"dataset that synthgen made: {g['rows']:,} rows in 4 files ({o['dataset_gb']:.2f} GB), "
        f"generated in {g['wall_s']:.0f} s ({g['rows_per_s']:,.0f} rows/s, 4 shards on local "
        f"processes) by an {o['kind']} model fitted in memory on real Adult "
        f"({o['source_fit_s']:.0f} s); the out-of-core fit also on a quarter of the folder "
        "(one file).",
        "",
        "| dataset rows | wall (fit, incl. the streaming pass) | peak RSS | steps | held out "
        "| sample for the transformer |",
        "|---|---|---|---|---|---|",
    ]
    for f in o["fits"]:
        st = f["stream"]
        lines.append(
            f"| {f['rows']:,} | {f['wall_s']:.0f} s | {f['peak_rss_mb']:,.0f} MB | {f['steps']:,}"
            f"{' (early stop)' if f['stopped_early'] else ''} | {st['held_out_rows']:,} | "
            f"{min(st['sample_rows'], st['train_rows']):,} |"
        )
    lines += [
        "",
        "Quality against real Adult (synthgen's evaluation: 26,048 synthetic rows against "
        "train.csv, TSTR on test.csv):",
        "",
        "| model | shapes | trends | quality | TSTR ratio | detection AUC |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in (
        ("source", f"{o['kind']} fitted in memory on real Adult (made the dataset)"),
        ("out_of_core", f"{o['kind']} fitted out of core on the {g['rows']:,}-row dataset"),
    ):
        q = o[f"quality_{name}"]
        lines.append(
            f"| {label} | {q['shapes']:.3f} | {q['trends']:.3f} | {q['quality']:.3f} | "
            f"{q['tstr_ratio']:.3f} | {q['detection_auc']:.3f} |"
        )
    return lines


if __name__ == "__main__":
    main()
