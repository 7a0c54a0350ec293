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
from anomaly_report import DETECTORS, PROTOCOLS, report

ROOT = Path(__file__).resolve().parents[1]
SPLIT_SEED = 42
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
