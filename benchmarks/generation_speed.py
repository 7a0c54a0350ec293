"""Tabular generation speed on Adult: rows/s to Parquet, with and without output validation.

Protocol: fit each model on ``<data>/adult/train.csv`` with ``schemas/adult.yaml`` for
``--fit-epochs`` epochs (generation cost depends on the network's shape, which the default
config fixes, not on how long it trained), save it, then time

* ``generate_to_file`` in this process for ``--rows`` rows to Parquet, with the output
  validation that ``synthgen generate`` runs (every chunk checked against the schema, a
  great-expectations pass on a sample) and without it;
* the ``synthgen generate`` command end to end (a fresh process: imports included);
* with ``--big-rows``, the command writing that many rows, reporting its peak RSS.

    python benchmarks/generation_speed.py [--models vae,cgan] [--rows 1000000] [--threads N]

Writes ``benchmarks/results/<tag>.md`` and ``.json``; ``collect_results.py`` assembles
``benchmarks/RESULTS.md``.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import synthgen_measured  # noqa: E402


def _cli(args: list[str], threads: int | None) -> tuple[float, float]:
    """Run ``synthgen`` in a fresh process; wall seconds and its tree's peak RSS in MB."""
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    m = synthgen_measured(args, cwd=ROOT, env=env)
    return m.wall_s, m.peak_rss_mb


def run_model(kind: str, args, tmp: Path) -> dict:
    from synthgen.jobs.generate import generate_to_file
    from synthgen.schema import load_table_schema
    from synthgen.tabular.io import read_table
    from synthgen.tabular.synthesizer import TabularSynthesizer

    schema = load_table_schema(args.schema)
    frame = read_table(args.data / "adult" / "train.csv", schema)
    synth = TabularSynthesizer(kind, epochs=args.fit_epochs, seed=0, progress=False)
    synth.fit(frame, schema)
    model = synth.save(tmp / f"{kind}.synth", overwrite=True)
    row: dict = {"model": kind, "rows": args.rows, "fit_epochs": args.fit_epochs}
    for validate in (True, False):
        out = tmp / f"{kind}.parquet"
        t = time.perf_counter()
        generate_to_file(
            model, args.rows, out, overwrite=True, progress=False, seed=1, validate=validate
        )
        key = "rows_per_s_validated" if validate else "rows_per_s_unvalidated"
        row[key] = args.rows / (time.perf_counter() - t)
        out.unlink()
    out = tmp / f"{kind}.cli.parquet"
    wall, _ = _cli(
        ["generate", str(model), "--rows", str(args.rows), "-o", str(out), "--overwrite"],
        args.threads,
    )
    row["cli_rows_per_s"] = args.rows / wall
    out.unlink()
    if args.big_rows:
        out = tmp / f"{kind}.big.parquet"
        wall, peak_mb = _cli(
            ["generate", str(model), "--rows", str(args.big_rows), "-o", str(out)],
            args.threads,
        )
        row.update(big_rows=args.big_rows, big_wall_s=wall, big_peak_rss_mb=peak_mb)
        out.unlink()
    row["torch_threads"] = __import__("torch").get_num_threads()
    row["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--schema", type=Path, default=ROOT / "schemas" / "adult.yaml")
    ap.add_argument("--models", default="vae,cgan")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--big-rows", type=int, default=0, help="also time one run of this size")
    ap.add_argument("--fit-epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="torch threads for this run")
    ap.add_argument("--tag", default="generation_speed")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for kind in args.models.split(","):
            print(f"== {kind}", flush=True)
            row = run_model(kind, args, Path(d))
            print(json.dumps(row), flush=True)
            rows.append(row)
    doc = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, CPU", "rows": rows}
    write_outputs(doc, args.tag)


def write_outputs(doc: dict, tag: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{tag}.json").write_text(json.dumps(doc, indent=2))
    lines = [
        f"Adult schema, Parquet output. Machine: {doc['machine']}.",
        "",
        "| model | rows | rows/s validated | rows/s unvalidated | CLI rows/s (with start-up) | "
        "big run | big run peak RSS | threads | load avg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        big = f"{r['big_rows']:,} rows in {r['big_wall_s']:.0f} s" if r.get("big_rows") else "–"
        rss = f"{r['big_peak_rss_mb']:,.0f} MB" if r.get("big_rows") else "–"
        lines.append(
            f"| {r['model']} | {r['rows']:,} | {r['rows_per_s_validated']:,.0f} | "
            f"{r['rows_per_s_unvalidated']:,.0f} | {r['cli_rows_per_s']:,.0f} | {big} | {rss} | "
            f"{r['torch_threads']} | {r['load_avg_1m_at_end']:.1f} |"
        )
    (OUT / f"{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
