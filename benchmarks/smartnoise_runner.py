"""Fit smartnoise-synth's MST (a DP peer) on a CSV and write synthetic rows.

Runs in its own virtual environment (/work/venv-smartnoise: smartnoise-synth pins an old
Opacus and its own torch), as a subprocess of ``privacy.py``; it imports nothing from synthgen.
Missing cells become the category "<NA>" (numbers: the column's bins' own missing handling is
not available, so they are dropped from --numeric columns' bounds and filled by the median);
numeric columns are binned by MST's preprocessor with ``--preprocessor-eps`` of the budget.
Writes ``--out`` (CSV) and ``--out``.json (version, settings, fit and sample seconds).

    /work/venv-smartnoise/bin/python benchmarks/smartnoise_runner.py --train t.csv \
        --out syn.csv --rows 26048 --epsilon 3 --numeric age,fnlwgt
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--epsilon", type=float, required=True)
    ap.add_argument("--delta", type=float, default=None)
    ap.add_argument("--numeric", default="")
    ap.add_argument("--synth", default="mst")
    ap.add_argument("--preprocessor-share", type=float, default=0.1)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import pandas as pd
    import snsynth
    from snsynth import Synthesizer

    frame = pd.read_csv(args.train, dtype=str, keep_default_na=False, na_values=[""])
    numeric = [c for c in args.numeric.split(",") if c]
    for col in frame.columns:
        if col in numeric:
            frame[col] = pd.to_numeric(frame[col])
            frame[col] = frame[col].fillna(frame[col].median())
        else:
            frame[col] = frame[col].fillna("<NA>")
    cats = [c for c in frame.columns if c not in numeric]
    n = len(frame)
    delta = args.delta if args.delta is not None else 1.0 / n**2
    kwargs = {"epsilon": args.epsilon}
    if args.synth == "mst":
        kwargs["delta"] = delta
    synth = Synthesizer.create(args.synth, **kwargs)
    t = time.perf_counter()
    synth.fit(
        frame,
        categorical_columns=cats,
        continuous_columns=numeric,
        preprocessor_eps=args.preprocessor_share * args.epsilon,
    )
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    sample = synth.sample(args.rows)
    sample_s = time.perf_counter() - t
    for col in cats:
        sample[col] = sample[col].astype(str).replace("<NA>", None)
    sample.to_csv(args.out, index=False)
    meta = {
        "engine": "smartnoise-synth",
        "version": getattr(snsynth, "__version__", "1.0.8"),
        "synth": args.synth,
        "epsilon": args.epsilon,
        "delta": delta,
        "preprocessor_eps": args.preprocessor_share * args.epsilon,
        "fit_s": fit_s,
        "sample_s": sample_s,
        "rows": len(sample),
    }
    Path(f"{args.out}.json").write_text(json.dumps(meta, indent=2))
    print(json.dumps(meta), flush=True)


if __name__ == "__main__":
    main()
