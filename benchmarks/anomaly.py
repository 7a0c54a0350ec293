"""ADBench anomaly benchmark, both protocols: synthgen vs PyOD AutoEncoder, IForest and kNN.

For every ``<data>/adbench/*.npz`` (X, y with y=1 anomaly): a stratified 70/30 split (seed 42).

- unsupervised (ADBench): fit on the 70 % without labels (it holds anomalies), score the 30 %;
- trusted: fit on the normal rows of the 70 % only, score the 30 %.

Scores: ROC-AUC and average precision on the 30 %. Fit time: wall-clock seconds of ``fit``,
after an untimed warm-up fit; peak RSS of the process (loading included). Each (set, protocol,
detector) runs in its own process, forked from a warmed-up job server per detector, with one
thread (OMP/MKL/torch). Results are cached in ``--cache`` as they come, and a rerun skips what
is done (``--fresh`` starts over).

    python benchmarks/anomaly.py --pyod-python /work/venv-pyod/bin/python

synthgen runs in this interpreter (``AnomalyDetector`` defaults, seed 0, CPU, a schema of
continuous columns); PyOD in ``--pyod-python`` (default: this one): AutoEncoder (defaults,
verbose off), IForest (defaults, random_state=42), KNN (defaults).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPLIT_SEED = 42
DETECTORS = ("synthgen", "pyod_ae", "pyod_iforest", "pyod_knn")
PEERS = DETECTORS[1:]
PROTOCOLS = ("unsupervised", "trusted")
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


# ---------------------------------------------------------------------------- worker side
def split(path: str, protocol: str, cap: int = 0):
    """The fitting rows and the scored rows (and their labels) of one set and protocol."""
    from sklearn.model_selection import train_test_split

    data = np.load(path)
    x = np.asarray(data["X"], dtype=np.float64)
    y = np.asarray(data["y"]).astype(int).ravel()
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, stratify=y, random_state=SPLIT_SEED)
    if cap and len(xtr) > cap:  # exploration only: a seeded subsample of each side
        keep = np.random.default_rng(0).choice(len(xtr), cap, replace=False)
        xtr, ytr = xtr[keep], ytr[keep]
        keep, _ = train_test_split(
            np.arange(len(xte)), train_size=min(cap, len(xte) - 2), stratify=yte, random_state=0
        )
        xte, yte = xte[keep], yte[keep]
    if protocol == "trusted":
        xtr = xtr[ytr == 0]
    return xtr, xte, yte


def _synthgen(params: dict):
    import pandas as pd

    from synthgen.schema import TableSchema
    from synthgen.tabular.anomaly.detector import AnomalyDetector

    own = {"epochs", "batch_size", "contamination", "top_k", "threads"}
    kwargs = {k: v for k, v in params.items() if k in own}
    options = {k: v for k, v in params.items() if k not in own}

    class Runner:
        def fit(self, x: np.ndarray) -> None:
            cols = [{"name": f"x{i}", "type": "continuous"} for i in range(x.shape[1])]
            self.schema = TableSchema.model_validate({"name": "adbench", "columns": cols})
            frame = pd.DataFrame(x, columns=self.schema.column_names)
            self.det = AnomalyDetector(
                random_state=0, device="cpu", progress=False, model_options=options, **kwargs
            ).fit(frame, self.schema)

        def decision_function(self, x: np.ndarray) -> np.ndarray:
            frame = pd.DataFrame(x, columns=self.schema.column_names)
            return self.det.score_samples(frame)

    return Runner()


def make_detector(name: str, params: dict):
    if name == "synthgen":
        return _synthgen(params)
    if name == "pyod_ae":
        from pyod.models.auto_encoder import AutoEncoder

        return AutoEncoder(verbose=0)
    if name == "pyod_iforest":
        from pyod.models.iforest import IForest

        return IForest(random_state=SPLIT_SEED)
    if name == "pyod_knn":
        from pyod.models.knn import KNN

        return KNN()
    raise ValueError(name)


def _setup() -> None:
    import warnings

    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(1)


def _warm_up(name: str, params: dict) -> None:
    """An untimed fit and score on a small table: imports and first calls are not charged."""
    warm = np.random.default_rng(0).normal(size=(300, 4))
    model = make_detector(name, params)
    model.fit(warm[:200])
    model.decision_function(warm[200:])


def run_job(name: str, path: str, protocol: str, cap: int, params: dict) -> dict:
    """Fit and score one detector on one set and protocol (in this process)."""
    import resource

    import torch
    from sklearn.metrics import average_precision_score, roc_auc_score

    torch.manual_seed(0)
    xtr, xte, yte = split(path, protocol, cap)
    model = make_detector(name, params)
    t = time.perf_counter()
    model.fit(xtr)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    scores = np.nan_to_num(np.asarray(model.decision_function(xte), dtype=np.float64), posinf=1e300)
    score_s = time.perf_counter() - t
    return {
        "roc_auc": float(roc_auc_score(yte, scores)),
        "ap": float(average_precision_score(yte, scores)),
        "fit_s": round(fit_s, 3),
        "score_s": round(score_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "fit_rows": int(len(xtr)),
        "scored_rows": int(len(xte)),
    }


def serve(name: str, params: dict) -> int:
    """Job server for one detector: warm up once, then fork a child per job read from stdin
    (one JSON line each), so every fit runs in a fresh process (its own peak RSS) without
    paying the imports again. Answers one ``RESULT`` line per job."""
    _setup()
    _warm_up(name, params)
    for line in sys.stdin:
        job = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                out = run_job(name, job["set"], job["protocol"], job["cap"], params)
            except Exception as err:  # noqa: BLE001 - reported to the driver
                out = {"error": f"{type(err).__name__}: {err}"}
            sys.stdout.write("RESULT " + json.dumps(out) + "\n")
            sys.stdout.flush()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            print("RESULT " + json.dumps({"error": f"worker died (status {status})"}), flush=True)
    return 0


# ---------------------------------------------------------------------------- driver side
class Servers:
    """One job server per detector, started on first use."""

    def __init__(self, pythons: dict[str, str], params: dict) -> None:
        self.pythons, self.params, self.procs = pythons, params, {}

    def run(self, name: str, path: str, protocol: str, cap: int) -> dict:
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
            env.update({v: "1" for v in THREAD_VARS})
            cmd = [self.pythons[name], __file__, "--serve", name]
            cmd += ["--params", json.dumps(self.params)]
            proc = subprocess.Popen(
                cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            self.procs[name] = proc
        job = {"set": path, "protocol": protocol, "cap": cap}
        proc.stdin.write(json.dumps(job) + "\n")
        proc.stdin.flush()
        for line in proc.stdout:
            if line.startswith("RESULT "):
                return json.loads(line[7:])
        return {"error": f"server for {name} exited ({proc.wait()})"}

    def close(self) -> None:
        for proc in self.procs.values():
            proc.stdin.close()
            proc.wait()


def mean_ranks(rows: list[dict], detectors: tuple[str, ...]) -> dict[str, float]:
    """Mean rank by ROC-AUC per set (1 = best; ties share the mean rank)."""
    from scipy.stats import rankdata

    ranks = np.array([rankdata([-r[d]["roc_auc"] for d in detectors]) for r in rows])
    return {d: float(ranks[:, i].mean()) for i, d in enumerate(detectors)}


def _done(r: dict, d: str) -> bool:
    return "roc_auc" in r.get(d, {})


def _mean(rows: list[dict], d: str, key: str) -> tuple[float, int]:
    vals = [r[d][key] for r in rows if _done(r, d)]
    return (float(np.mean(vals)) if vals else float("nan")), len(vals)


def protocol_table(rows: list[dict], protocol: str) -> str:
    """Per-set and overall table for one protocol (a peer not run on a set shows "-", and its
    means cover the sets it ran on, with their number)."""
    head = ["dataset", "rows", "dims", "fit rows"]
    for d in DETECTORS:
        head += [f"{d} ROC-AUC", f"{d} AP", f"{d} fit s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["dataset"], f"{r['rows']:,}", str(r["dims"]), f"{r['synthgen']['fit_rows']:,}"]
        for d in DETECTORS:
            if _done(r, d):
                m = r[d]
                cells += [f"{m['roc_auc']:.4f}", f"{m['ap']:.4f}", f"{m['fit_s']:.2f}"]
            else:
                cells += ["-", "-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["**mean**", "", "", ""]
    for d in DETECTORS:
        auc, n = _mean(rows, d, "roc_auc")
        note = "" if n == len(rows) else f" ({n} sets)"
        cells += [
            f"**{auc:.4f}**{note}",
            f"**{_mean(rows, d, 'ap')[0]:.4f}**",
            f"{_mean(rows, d, 'fit_s')[0]:.2f}",
        ]
    lines.append("| " + " | ".join(cells) + " |")
    full = [r for r in rows if all(_done(r, d) for d in DETECTORS)]
    if full:
        ranks = mean_ranks(full, DETECTORS)
        cells = [f"mean rank (ROC-AUC, {len(full)} sets)", "", "", ""]
        for d in DETECTORS:
            cells += [f"{ranks[d]:.2f}", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(rows: list[dict], protocol: str) -> str:
    """The issue's targets for one protocol, checked (each over the sets both detectors ran)."""

    def versus(peer: str) -> str:
        both = [r for r in rows if _done(r, peer)]
        ours = np.mean([r["synthgen"]["roc_auc"] for r in both])
        theirs = np.mean([r[peer]["roc_auc"] for r in both])
        return f"above {peer} ({ours:.4f} vs {theirs:.4f}, {len(both)} sets): " + (
            "met" if ours > theirs else "MISSED"
        )

    peers = ["pyod_iforest"] + (["pyod_knn"] if protocol == "trusted" else [])
    out = ["- Mean ROC-AUC " + "; ".join(versus(p) for p in peers) + "."]
    below = []
    for r in rows:
        done = [d for d in PEERS if _done(r, d)]
        best = max(done, key=lambda d: r[d]["roc_auc"])
        gap = r[best]["roc_auc"] - r["synthgen"]["roc_auc"]
        if gap > 0.05:
            below.append(f"{r['dataset']} ({gap:.3f} below {best})")
    out.append(
        f"- Sets where synthgen is more than 0.05 below the best peer: {len(below)} of {len(rows)}"
        + (": " + ", ".join(below) if below else "")
        + "."
    )
    timed = [r for r in rows if r["synthgen"]["fit_rows"] > 1000 and _done(r, "pyod_ae")]
    slow = [
        f"{r['dataset']} ({r['synthgen']['fit_s']:.2f} s vs {r['pyod_ae']['fit_s']:.2f} s)"
        for r in timed
        if r["synthgen"]["fit_s"] > r["pyod_ae"]["fit_s"]
    ]
    out.append(
        f"- Fit no slower than PyOD AutoEncoder on every set with more than 1,000 fitting rows "
        f"({len(timed)} sets timed): "
        + ("met." if not slow else "MISSED on " + ", ".join(slow) + ".")
    )
    return "\n".join(out)


def memory_table(rows: list[dict]) -> str:
    """synthgen's peak RSS, fit and scoring seconds on the six largest sets, both protocols."""
    names = sorted({(r["rows"], r["dataset"]) for r in rows}, reverse=True)[:6]
    keep = {n for _, n in names}
    big = sorted(
        (r for r in rows if r["dataset"] in keep), key=lambda r: (-r["rows"], r["protocol"])
    )
    lines = [
        "| dataset | rows | protocol | synthgen peak RSS MB | fit s | score s | scored rows |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in big:
        m = r["synthgen"]
        lines.append(
            f"| {r['dataset']} | {r['rows']:,} | {r['protocol']} | {m['peak_rss_mb']:.0f} | "
            f"{m['fit_s']:.1f} | {m['score_s']:.1f} | {m['scored_rows']:,} |"
        )
    return "\n".join(lines)


def report(cache: dict, files: list[str], conditions: str) -> str:
    parts = [
        "## Anomaly screening on ADBench, both protocols (`benchmarks/anomaly.py`)\n",
        conditions,
    ]
    every = []
    for protocol in PROTOCOLS:
        rows = []
        for path in files:
            entry = cache.get(f"{Path(path).stem}|{protocol}")
            if entry and _done(entry, "synthgen"):
                rows.append(entry)
        if not rows:
            continue
        title = (
            "unsupervised (fit on the 70 % with its anomalies)"
            if protocol == "unsupervised"
            else "trusted data (fit on the normal rows of the 70 %)"
        )
        parts += [
            f"\n### Protocol: {title}, {len(rows)} sets\n",
            protocol_table(rows, protocol),
            "",
            verdict(rows, protocol),
        ]
        every += rows
    if every:
        parts += [
            "\n### Memory and time on the largest sets (synthgen; peak RSS of the whole process, "
            "Python, torch and the data included)\n",
            memory_table(every),
        ]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "anomaly.md"))
    ap.add_argument("--cache", default=str(ROOT / "benchmarks" / "results" / "anomaly.json"))
    ap.add_argument("--pyod-python", default=sys.executable, help="interpreter with pyod")
    ap.add_argument("--only", choices=DETECTORS, action="append", help="run only these")
    ap.add_argument("--sets", nargs="*", default=[], help="dataset names (default: all)")
    ap.add_argument("--cap", type=int, default=0, help="exploration: cap fitting/scored rows")
    ap.add_argument("--fresh", action="store_true", help="ignore the cache")
    ap.add_argument("--params", default="{}", help="synthgen AnomalyDetector overrides (JSON)")
    ap.add_argument("--report-only", action="store_true", help="write the report from the cache")
    ap.add_argument("--serve", choices=DETECTORS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        return serve(args.serve, json.loads(args.params))
    files = sorted(glob.glob(os.path.join(args.data, "adbench", "*.npz")))
    files.sort(key=lambda p: os.path.getsize(p))  # small sets first: early figures, early
    if args.sets:
        files = [
            f
            for f in files
            if Path(f).stem in args.sets or Path(f).stem.split("_", 1)[-1] in args.sets
        ]
    if not files:
        print(f"no ADBench .npz files under {args.data}/adbench", file=sys.stderr)
        return 1
    params = json.loads(args.params)
    cache_path = Path(args.cache)
    if args.cap or params:  # an exploration run never mixes with the benchmark's cache
        cache_path = cache_path.with_name(f"{cache_path.stem}.explore.json")
    cache = {} if args.fresh or not cache_path.exists() else json.loads(cache_path.read_text())
    detectors = tuple(args.only) if args.only else DETECTORS
    load_start = os.getloadavg()[0]
    pythons = {d: sys.executable if d == "synthgen" else args.pyod_python for d in DETECTORS}
    servers = Servers(pythons, params)
    for i, path in enumerate([] if args.report_only else files):
        data = np.load(path)
        rows, dims = data["X"].shape
        for protocol in PROTOCOLS:
            key = f"{Path(path).stem}|{protocol}"
            entry = cache.setdefault(
                key,
                {
                    "dataset": Path(path).stem,
                    "protocol": protocol,
                    "rows": int(rows),
                    "dims": int(dims),
                },
            )
            for name in detectors:
                if "roc_auc" in entry.get(name, {}):
                    continue
                t = time.perf_counter()
                entry[name] = servers.run(name, path, protocol, args.cap)
                entry[name]["load_avg"] = round(os.getloadavg()[0], 2)
                cache_path.parent.mkdir(parents=True, exist_ok=True)
                cache_path.write_text(json.dumps(cache, indent=1, sort_keys=True))
                res = entry[name]
                shown = (
                    res.get("error")
                    or f"ROC-AUC {res['roc_auc']:.4f} AP {res['ap']:.4f} fit {res['fit_s']:.2f}s"
                )
                took = time.perf_counter() - t
                print(
                    f"[{i + 1}/{len(files)}] {key} {name}: {shown} ({took:.0f}s)",
                    file=sys.stderr,
                    flush=True,
                )
    servers.close()
    import platform

    import torch

    conditions = (
        f"Stratified 70/30 split (seed {SPLIT_SEED}); ROC-AUC and average precision on the 30 %. "
        "synthgen `AnomalyDetector` defaults (seed 0, CPU"
        + (f", overrides {params}" if params else "")
        + "); PyOD AutoEncoder (defaults), IForest (defaults, random_state=42), KNN (defaults), "
        "on the raw features as ADBench feeds them. Every fit runs in its own process on one "
        f"thread after an untimed warm-up fit. Machine: {os.cpu_count()} CPU cores, torch "
        f"{torch.__version__}, Python {platform.python_version()}; load average "
        f"{load_start:.1f} at the start of this run and {os.getloadavg()[0]:.1f} at the end"
        + (
            f". EXPLORATION RUN: fitting and scored rows capped at {args.cap:,} per set"
            if args.cap
            else ""
        )
        + ".\n"
    )
    text = report(cache, files, conditions)
    print(text)
    if args.report_only or (not args.cap and not params and not args.only and not args.sets):
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
