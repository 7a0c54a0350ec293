"""Fit MOSTLY AI's TabularARGN (``mostlyai-engine``) on a CSV and write synthetic rows.

Runs in its own virtual environment (``mostlyai-engine`` pins packages synthgen's does not
want), as a subprocess of ``tabular.py`` and ``tabular_robustness.py``; it imports nothing from
synthgen. The CSV is read with every column as text except those named in ``--numeric`` and
``--datetime``, so TabularARGN sees the same typed table synthgen does; missing values are
empty cells. Writes ``--out`` (Parquet) and ``--out``.json: the engine's version, the settings
used (its defaults unless ``--max-training-time`` is given), fit and sample seconds.

    /work/venv-argn/bin/python benchmarks/argn_runner.py --train t.csv --out syn.parquet \
        --rows 26048 --numeric age,fnlwgt [--max-training-time 0.5] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--numeric", default="", help="comma-separated numeric columns")
    ap.add_argument("--datetime", default="", help="comma-separated datetime columns")
    ap.add_argument("--max-training-time", type=float, default=None, help="minutes")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dp-epsilon", type=float, default=None, help="TabularARGN's DP budget")
    ap.add_argument("--dp-delta", type=float, default=1e-5)
    args = ap.parse_args()

    import pandas as pd
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    import mostlyai.engine as engine
    from mostlyai.engine import TabularARGN

    frame = pd.read_csv(args.train, dtype=str, keep_default_na=False, na_values=[""])
    for col in filter(None, args.numeric.split(",")):
        frame[col] = pd.to_numeric(frame[col])
    for col in filter(None, args.datetime.split(",")):
        frame[col] = pd.to_datetime(frame[col])
    settings = {"random_state": args.seed, "verbose": 0, "device": "cpu"}
    if args.max_training_time is not None:
        settings["max_training_time"] = args.max_training_time
    extra = {}
    if args.dp_epsilon is not None:
        from mostlyai.engine.domain import DifferentialPrivacyConfig

        dp = {"max_epsilon": args.dp_epsilon, "delta": args.dp_delta}
        settings["differential_privacy"] = dp
        extra["differential_privacy"] = DifferentialPrivacyConfig(**dp)
    with tempfile.TemporaryDirectory() as ws:
        model = TabularARGN(workspace_dir=ws, **{**settings, **extra})
        t = time.perf_counter()
        model.fit(frame)
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        sample = model.sample(n_samples=args.rows)
        sample_s = time.perf_counter() - t
        defaults = {
            k: getattr(model, k)
            for k in ("model", "max_training_time", "max_epochs", "batch_size")
            if hasattr(model, k)
        }
    sample.to_parquet(args.out)
    meta = {
        "engine": "mostlyai-engine",
        "version": engine.__version__,
        "torch_threads": torch.get_num_threads(),
        "settings": settings,
        "model_settings": {k: (None if v is None else str(v)) for k, v in defaults.items()},
        "fit_s": fit_s,
        "sample_s": sample_s,
        "rows": len(sample),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }
    Path(f"{args.out}.json").write_text(json.dumps(meta, indent=2))
    print(json.dumps(meta), flush=True)


if __name__ == "__main__":
    main()
