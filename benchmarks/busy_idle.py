"""Wall time of first-hour commands on an idle machine and on a busy one, by thread setting.

Two busy conditions, each running beside the command for its whole duration:
- ``busy``: a developer's laptop during a build, ``--hogs`` single-threaded CPU-bound processes
  (default 5, so the load average is 5 + the run's own threads);
- ``fit``: another training job, a process doing float32 matrix products on every core with
  torch's default threads (what a second fit does).
Each case runs ``synthgen`` in a fresh subprocess and a fresh temporary folder; ``--before
PATH`` adds the same commands from an older checkout (its default threads and OpenMP wait
policy) for the before/after comparison.

    python benchmarks/busy_idle.py --cases demo,adult_vae3 --before ../wt-old

Writes ``results/busy_idle.json`` (each run as it ends, so an interrupted run keeps what it
measured) and ``results/busy_idle.md``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data"
RESULTS = HERE / "results"


def _case_args(case: str, folder: Path) -> list[str]:
    """The synthgen arguments of one case (run inside ``folder``)."""
    if case == "demo":
        return ["demo", "-o", str(folder / "out")]
    if case == "adult_vae3":
        return [
            "fit",
            str(SHARED / "adult" / "train.csv"),
            "--schema",
            str(REPO / "schemas" / "adult.yaml"),
            "--model",
            "vae",
            "--epochs",
            "3",
            "-o",
            str(folder / "adult.synth"),
            "-q",
        ]
    if case == "mnist_vae3":
        return [
            "fit",
            str(SHARED / "mnist10k" / "train.npz"),
            "--schema",
            str(REPO / "schemas" / "mnist.yaml"),
            "--model",
            "vae",
            "--epochs",
            "3",
            "-o",
            str(folder / "mnist.synth"),
            "-q",
        ]
    raise SystemExit(f"unknown case {case!r}")


def _hog() -> None:  # pragma: no cover - runs in a child process
    x = 0
    while True:
        x = (x * 1103515245 + 12345) % 2147483648


def _torch_job() -> None:  # pragma: no cover - runs in a child process
    import torch

    a = torch.randn(512, 512)
    while True:
        a = torch.tanh(a @ a.T / 512.0)


def _start_load(condition: str, hogs: int) -> list[mp.Process]:
    """The background load of one condition ('idle': none)."""
    if condition == "idle":
        return []
    if condition == "busy":
        procs = [mp.Process(target=_hog, daemon=True) for _ in range(hogs)]
    elif condition == "fit":
        procs = [mp.Process(target=_torch_job, daemon=True)]
    else:
        raise SystemExit(f"unknown condition {condition!r}")
    for p in procs:
        p.start()
    time.sleep(3)
    return procs


def _run(case: str, threads: str, code_path: Path, timeout: float) -> dict:
    """Run one case; ``threads`` is 'default' or a number (passed as --threads)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = _case_args(case, Path(tmp))
        if threads != "default":
            args += ["--threads", threads]
        env = dict(os.environ, PYTHONPATH=str(code_path), GX_ANALYTICS_ENABLED="False")
        env.pop("OMP_NUM_THREADS", None)
        env.pop("OMP_WAIT_POLICY", None)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "synthgen", *args],
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            wall, rc, err = time.perf_counter() - start, proc.returncode, proc.stderr[-400:]
        except subprocess.TimeoutExpired:
            wall, rc, err = None, None, f"stopped after {timeout:.0f} s"
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": round(cpu, 1), "rc": rc, "stderr_tail": err if rc else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="demo")
    ap.add_argument("--threads", default="default,1,2", help="thread settings of this checkout")
    ap.add_argument("--before", type=Path, help="an older checkout to run with its defaults")
    ap.add_argument("--hogs", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--conditions", default="idle,busy")
    ap.add_argument("--tag", default="busy_idle")
    opts = ap.parse_args()

    variants = [("this", REPO, t) for t in opts.threads.split(",")]
    if opts.before:
        variants.insert(0, ("before", opts.before.resolve(), "default"))
    out_json = RESULTS / f"{opts.tag}.json"
    rows: list[dict] = json.loads(out_json.read_text()) if out_json.exists() else []
    for condition in opts.conditions.split(","):
        hogs = _start_load(condition, opts.hogs)
        try:
            for case in opts.cases.split(","):
                for name, path, threads in variants:
                    res = _run(case, threads, path, opts.timeout)
                    row = {
                        "case": case,
                        "code": name,
                        "threads": threads,
                        "condition": condition,
                        "hogs": len(hogs) if condition == "busy" else 0,
                        "load_avg_1m": round(os.getloadavg()[0], 1),
                        **res,
                    }
                    rows = [
                        r
                        for r in rows
                        if (r["case"], r["code"], r["threads"], r["condition"])
                        != (case, name, threads, condition)
                    ] + [row]
                    out_json.write_text(json.dumps(rows, indent=1))
                    print(json.dumps(row), flush=True)
        finally:
            for h in hogs:
                h.terminate()
    _write_md(rows, RESULTS / f"{opts.tag}.md")


def _write_md(rows: list[dict], path: Path) -> None:
    """One table: a line per (case, code, threads), the conditions side by side."""

    def fmt(r: dict | None) -> str:
        if r is None:
            return "–"
        if r["wall_s"] is None:
            return f"> {r['stderr_tail'].split()[2]} s"
        return f"{r['wall_s']:.0f} s ({r['cpu_s']:.0f} CPU s)"

    def ratio(r: dict | None, idle: dict | None) -> str:
        if not (r and idle and idle["wall_s"]):
            return "–"
        if r["wall_s"] is None:
            return f"> {float(r['stderr_tail'].split()[2]) / idle['wall_s']:.1f}×"
        return f"{r['wall_s'] / idle['wall_s']:.1f}×"

    keys = sorted(
        {(r["case"], r["code"], r["threads"]) for r in rows},
        key=lambda k: (k[0], k[1] != "before", k[2]),
    )
    hogs = max((r["hogs"] for r in rows), default=0)
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, CPU. busy: {hogs} "
        "single-threaded CPU-bound processes beside the run (a build); fit: one process "
        "doing float32 matrix products with torch's default threads (another fit).",
        "",
        "| case | code | threads | idle | busy | busy / idle | fit beside | fit / idle |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case, code, threads in keys:
        got = {
            r["condition"]: r
            for r in rows
            if (r["case"], r["code"], r["threads"]) == (case, code, threads)
        }
        idle, busy, fit = got.get("idle"), got.get("busy"), got.get("fit")
        lines.append(
            f"| {case} | {code} | {threads} | {fmt(idle)} | {fmt(busy)} | "
            f"{ratio(busy, idle)} | {fmt(fit)} | {ratio(fit, idle)} |"
        )
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
