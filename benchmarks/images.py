"""Image models on MNIST10k: synthgen cgan and vae, fit time, generation speed and quality.

Protocol: fit each model at its defaults on ``<data>/mnist10k/train.npz`` (8,000 digits), time
``fit``; generate ``--gen-rows`` images to an npz through the same path as ``synthgen generate``
and time it; evaluate ``--eval-rows`` generated images (labels drawn like the training labels)
with ``synthgen.images.evaluate.evaluate_images`` against the real train split, with
``test.npz`` (2,000 digits) as the holdout: Fréchet distance and precision/recall in the
feature space of a CNN trained on the real train images, with the real-vs-real floor beside
them; conditional accuracy; TSTR accuracy next to TRTR.

    python benchmarks/images.py [--data ../shared/data] [--models cgan,vae] [--threads 2]

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


def run_model(kind: str, train, test, schema, args, tmp: Path) -> dict:
    import torch

    from synthgen.device import resolve_device
    from synthgen.images.evaluate.evaluation import evaluate_images
    from synthgen.images.synthesizer import ImageSynthesizer
    from synthgen.jobs.generate import generate_to_file

    t = time.perf_counter()
    synth = ImageSynthesizer(kind, epochs=args.epochs, seed=0, device=args.device, progress=False)
    synth.fit(train, schema)
    fit_s = time.perf_counter() - t
    model = synth.save(tmp / f"{kind}.synth", overwrite=True)
    t = time.perf_counter()
    generate_to_file(
        model,
        args.gen_rows,
        tmp / f"{kind}.npz",
        overwrite=True,
        progress=False,
        seed=2,
        device=args.device,
    )
    gen_s = time.perf_counter() - t
    sample = synth.sample(args.eval_rows, seed=1)
    metrics = evaluate_images(train, sample, schema, holdout=test, seed=0, device=args.device)
    return {
        "model": kind,
        "device": str(resolve_device(args.device)),
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "fit_s": fit_s,
        "epochs_run": synth.training_.get("epochs_run"),
        "images_per_s": args.gen_rows / gen_s,
        "metrics": metrics,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--models", default="cgan,vae")
    ap.add_argument("--epochs", type=int, default=None, help="override the default epochs")
    ap.add_argument("--gen-rows", type=int, default=100_000)
    ap.add_argument("--eval-rows", type=int, default=10_000)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for this run")
    ap.add_argument("--tag", default="images")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from synthgen.images.io import read_images
    from synthgen.schema import load_schema

    schema = load_schema(ROOT / "schemas" / "mnist.yaml")
    train = read_images(args.data / "mnist10k" / "train.npz", schema)
    test = read_images(args.data / "mnist10k" / "test.npz", schema)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for kind in args.models.split(","):
            print(f"== {kind}", flush=True)
            row = run_model(kind, train, test, schema, args, Path(d))
            print(json.dumps(row, default=str), flush=True)
            rows.append(row)
    doc = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "rows": rows,
    }
    write_outputs(doc, args.tag)


def _num(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def write_outputs(doc: dict, tag: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{tag}.json").write_text(json.dumps(doc, indent=2, default=str))
    lines = [
        f"MNIST10k: 8,000 train / 2,000 test digits. Machine: {doc['machine']}.",
        "",
        "| model | device | fit s | epochs | gen images/s | cond. acc | TSTR acc | TRTR acc | "
        "Fréchet | Fréchet floor (real vs real) | precision | recall | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        m = r["metrics"]["summary"]
        lines.append(
            f"| {r['model']} | {r['device']} | {r['fit_s']:.0f} | {r['epochs_run']} | "
            f"{r['images_per_s']:,.0f} | {_num(m['conditional_accuracy'])} | "
            f"{_num(m['tstr_accuracy'])} | {_num(m['trtr_accuracy'])} | "
            f"{_num(m['frechet_distance'], 2)} | {_num(m['frechet_floor'], 2)} | "
            f"{_num(m['precision'])} | {_num(m['recall'])} | {r['load_avg_1m_at_end']:.1f} |"
        )
    (OUT / f"{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
