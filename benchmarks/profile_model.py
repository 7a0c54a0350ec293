"""Where a tabular kind's time goes on Adult: fit and sample phases, and a cProfile of each.

Fit phases: the transformer's fit and transform, the training loop (its steps, validations and
the final ``finish``) and what is left. Sample phases: drawing slot codes (the network) and
decoding them to a typed frame. Each is followed by the top functions by own time.

    python benchmarks/profile_model.py --model ar --threads 2 [--rows 200000]

Writes benchmarks/results/profile_<model>.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def top(profile: cProfile.Profile, n: int = 12) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(n)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    return "\n".join(lines[start : start + n + 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="ar")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from tabular import load

    import synthgen.core.train as train_mod
    from synthgen.tabular.synthesizer import TabularSynthesizer

    schema, train, _ = load(ROOT / "schemas" / "adult.yaml")
    timings: dict[str, float] = {}
    original_fit = train_mod.fit_model

    def timed_fit(*a, **k):
        t = time.perf_counter()
        out = original_fit(*a, **k)
        timings["training loop"] = time.perf_counter() - t
        return out

    synth = TabularSynthesizer(args.model, seed=0, progress=False, threads=args.threads)
    fit_prof = cProfile.Profile()
    import synthgen.core.synthesizer as synth_mod

    synth_mod.fit_model = timed_fit
    t, cpu = time.perf_counter(), time.process_time()
    fit_prof.enable()
    synth.fit(train, schema)
    fit_prof.disable()
    total_fit, fit_cpu = time.perf_counter() - t, time.process_time() - cpu
    synth_mod.fit_model = original_fit
    t = time.perf_counter()
    synth.transformer_.transform(train)
    timings["transformer transform (once more)"] = time.perf_counter() - t

    gen = torch.Generator().manual_seed(0)
    sample_prof = cProfile.Profile()
    sample_prof.enable()
    t, cpu = time.perf_counter(), time.process_time()
    draw = synth.model_.sample_draw(args.rows, {}, gen)
    draw_s, draw_cpu = time.perf_counter() - t, time.process_time() - cpu
    t = time.perf_counter()
    synth.transformer_.inverse_transform_parts(draw.values.numpy(), draw.codes.numpy())
    decode_s = time.perf_counter() - t
    sample_prof.disable()

    history = synth.training_
    lines = [
        f"# Profile of `{args.model}` on Adult ({len(train):,} rows), torch threads "
        f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}",
        "",
        "Wall seconds, and CPU seconds of this process (what a busy machine inflates least).",
        "",
        f"- fit {total_fit:.1f} s ({fit_cpu:.1f} CPU s): training loop "
        f"{timings['training loop']:.1f} s over "
        f"{history['epochs_run']} epochs ({history['train_rows']:,} rows each), the rest "
        f"(transformer fit and transform, setup) {total_fit - timings['training loop']:.1f} s",
        f"- sample {args.rows:,} rows: network draw {draw_s:.2f} s ({draw_cpu:.2f} CPU s) "
        f"({args.rows / draw_s:,.0f} rows/s), decode to a typed frame {decode_s:.2f} s; "
        f"together {args.rows / (draw_s + decode_s):,.0f} rows/s",
        "",
        "## fit: top functions by own time",
        "```",
        top(fit_prof),
        "```",
        "## sample: top functions by own time",
        "```",
        top(sample_prof),
        "```",
    ]
    text = "\n".join(lines) + "\n"
    out = ROOT / "benchmarks" / "results" / f"profile_{args.model}.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
