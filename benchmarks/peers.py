"""Peers the benchmarks run beside synthgen in their own virtual environments.

TabularARGN (``mostlyai-engine``) pins torchvision/torchaudio builds that do not load beside the
CPU build of torch, so it lives in its own environment (default ``../venv-argn``, or
``$SYNTHGEN_ARGN_PYTHON``) and runs ``argn_runner.py`` in a subprocess: it gets the train split
as a CSV (missing values as empty cells) and writes its synthetic rows to Parquet, which the
benchmark scores exactly as it scores synthgen's.

Set it up once (CPU torch first, then the engine, then drop the two packages it pins):

    python3.11 -m venv ../venv-argn
    ../venv-argn/bin/pip install torch==2.13.0 && ../venv-argn/bin/pip install mostlyai-engine
    ../venv-argn/bin/pip uninstall -y torchvision torchaudio
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RUNNER = Path(__file__).resolve().parent / "argn_runner.py"


def argn_python() -> Path:
    default = ROOT.parent / "venv-argn" / "bin" / "python"
    return Path(os.environ.get("SYNTHGEN_ARGN_PYTHON", default))


def run_argn(
    train: pd.DataFrame,
    schema,
    rows: int,
    tmp: Path,
    *,
    max_minutes: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    name: str = "argn",
) -> tuple[pd.DataFrame, dict]:
    """Fit TabularARGN on ``train`` (the schema's modelled columns), sample ``rows`` rows.

    Returns the sample and the runner's record (version, settings, fit and sample seconds).
    ``max_minutes`` caps its training time (its ``max_training_time``); None keeps its default.
    """
    python = argn_python()
    if not python.exists():
        raise SystemExit(f"TabularARGN's environment is missing ({python}); see {__file__}.")
    cols = [c for c in schema.columns if c.type != "id" and not c.pii]
    csv = tmp / f"{name}-train.csv"
    train[[c.name for c in cols]].to_csv(csv, index=False, na_rep="")
    out = tmp / f"{name}.parquet"
    cmd = [
        str(python),
        str(RUNNER),
        "--train",
        str(csv),
        "--out",
        str(out),
        "--rows",
        str(rows),
        "--seed",
        str(seed),
        "--numeric",
        ",".join(c.name for c in cols if c.type in ("integer", "continuous")),
        "--datetime",
        ",".join(c.name for c in cols if c.type == "datetime"),
    ]
    if max_minutes is not None:
        cmd += ["--max-training-time", f"{max_minutes:.4f}"]
    if threads:
        cmd += ["--threads", str(threads)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    meta = json.loads(Path(f"{out}.json").read_text())
    return pd.read_parquet(out), meta
