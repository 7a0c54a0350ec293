"""Image models on MNIST10k and on real RGB patches, judged by independent classifiers.

Protocol (MNIST10k): fit each kind at its defaults on ``<data>/mnist10k/train.npz`` (8,000
digits) and time ``fit``; generate ``--gen-rows`` images to an npz through the same path as
``synthgen generate`` and time it. Then three independent judges (``image_judges.py``: a
LeNet-style CNN, a small ResNet trained with random shifts, a scikit-learn MLP on pixels),
trained on the real train split only and used for nothing else, give per kind:

* conditional accuracy: ``--per-label`` images generated per digit (``-c digit=d``), read by
  each judge;
* TSTR: the judge's recipe trained on ``--tstr-rows`` generated images (labels drawn like the
  training labels), tested on the real test split (2,000), beside the judge's real floor
  (trained on real train, tested on real test);
* Fréchet distance and precision/recall (k=3) in the CNN judge's penultimate layer against the
  real train split, with the real-vs-real floor (the real test split scored the same way).

synthgen's own classifier (``synthgen evaluate``'s judge) is reported beside them, labelled as
such; no judge figure here is used by any model's training.

RGB: the kinds also fit (``--rgb-epochs`` epochs) on 16x16 patches of the two photographs
scikit-learn ships (``rgb_patches.py``, written as a class-per-folder PNG tree and read back
through ``schema infer`` and the folder reader), judged the same way on held-out patches.

    python benchmarks/images.py [--data ../shared/data] [--models fvae,cgan,vae] [--threads 2]

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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
OUT = ROOT / "benchmarks" / "results"

from image_judges import JUDGES, fidelity, judge_generator, train_judges  # noqa: E402
from images_table import write_outputs  # noqa: E402


def conditional_set(synth, label: str, values: list, per_label: int, seed: int):
    """``per_label`` images generated for each label value (as ``generate -c label=value``)."""
    from synthgen.images.data import ImageSet

    parts = [synth.sample(per_label, {label: v}, seed=seed + i) for i, v in enumerate(values)]
    return ImageSet(
        np.concatenate([p.images for p in parts]),
        np.concatenate([np.full(len(p), i, np.int64) for i, p in enumerate(parts)]),
    )


def fit_kind(kind: str, train, schema, args, epochs=None):
    from synthgen.images.synthesizer import ImageSynthesizer

    t = time.perf_counter()
    synth = ImageSynthesizer(kind, epochs=epochs, seed=0, device=args.device, progress=False)
    synth.fit(train, schema)
    return synth, time.perf_counter() - t


def fit_and_judge(kind: str, data, judges: dict, args, epochs, per_label: int) -> dict:
    """Fit ``kind`` on ``data`` = (train, test, schema) and judge it: conditional accuracy on
    ``per_label`` images per label, TSTR with as many generated images as real training ones,
    fidelity on as many as the test set has."""
    from synthgen.images.data import label_values

    train, test, schema = data
    values = label_values(schema)
    synth, fit_s = fit_kind(kind, train, schema, args, epochs)
    cond = conditional_set(synth, schema.label.name, values, per_label, seed=100)
    tstr = synth.sample(len(train), seed=1)
    return {
        "model": kind,
        "fit_s": fit_s,
        "epochs_run": synth.training_.get("epochs_run"),
        "steps": synth.training_.get("steps"),
        "judges": judge_generator(judges, test, len(values), cond, tstr),
        "fidelity": fidelity(judges, train, test, tstr.images, len(test)),
    }


def load_mnist(data: Path):
    """MNIST10k's train and test splits read with ``schemas/mnist.yaml``: (schema, train, test)."""
    from synthgen.images.io import read_images
    from synthgen.schema import load_schema

    schema = load_schema(ROOT / "schemas" / "mnist.yaml")
    train = read_images(data / "mnist10k" / "train.npz", schema)
    return schema, train, read_images(data / "mnist10k" / "test.npz", schema)


def run_model(kind: str, train, test, schema, judges, args, tmp: Path) -> dict:
    import torch

    from synthgen.device import resolve_device
    from synthgen.images.data import label_values
    from synthgen.images.evaluate.evaluation import evaluate_images
    from synthgen.jobs.generate import generate_to_file

    synth, fit_s = fit_kind(kind, train, schema, args, args.epochs)
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
    values = label_values(schema)
    cond = conditional_set(synth, schema.label.name, values, args.per_label, seed=100)
    tstr = synth.sample(args.tstr_rows, seed=1)
    judged = judge_generator(judges, test, len(values), cond, tstr)
    fid = fidelity(judges, train, test, tstr.images, args.fid_rows)
    own = None
    if args.own_judge:
        own = evaluate_images(train, tstr, schema, holdout=test, seed=0, device=args.device)
        own = own["summary"]
    return {
        "model": kind,
        "device": str(resolve_device(args.device)),
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "fit_s": fit_s,
        "epochs_run": synth.training_.get("epochs_run"),
        "steps": synth.training_.get("steps"),
        "images_per_s": args.gen_rows / gen_s,
        "judges": judged,
        "fidelity": fid,
        "synthgen_classifier": own,
    }


def run_rgb(kinds: list[str], args, tmp: Path) -> dict:
    """Fit every kind on the RGB patch set (PNG folders, read back through the product)."""
    from rgb_patches import sample_patches, write_folders

    from synthgen.images.data import label_values
    from synthgen.images.infer import infer_image_schema
    from synthgen.images.io import read_images

    (tr_x, tr_y), (te_x, te_y), names = sample_patches(16, 16)
    write_folders(tr_x, tr_y, names, tmp / "rgb" / "train")
    write_folders(te_x, te_y, names, tmp / "rgb" / "test")
    schema = infer_image_schema(tmp / "rgb" / "train", name="rgb-patches")
    train = read_images(tmp / "rgb" / "train", schema)
    test = read_images(tmp / "rgb" / "test", schema)
    values = label_values(schema)
    judges = train_judges(train, test, len(values))
    rows = []
    for kind in kinds:
        print(f"== rgb {kind}", flush=True)
        rows.append(
            fit_and_judge(
                kind, (train, test, schema), judges, args, args.rgb_epochs, args.rgb_per_label
            )
        )
    return {
        "source": "sklearn.datasets.load_sample_images (china.jpg, flower.jpg), 16x16 patches, "
        "stride 16, spatial split (right quarter of each photograph = test)",
        "labels": values,
        "train": len(train),
        "test": len(test),
        "shape": list(train.shape),
        "judges": {k: _judge_info(v) for k, v in judges.items()},
        "rows": rows,
    }


def _judge_info(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "judge"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--models", default="fvae,cgan,vae")
    ap.add_argument("--epochs", type=int, default=None, help="override the default epochs")
    ap.add_argument("--gen-rows", type=int, default=20_000)
    ap.add_argument("--per-label", type=int, default=300)
    ap.add_argument("--tstr-rows", type=int, default=8000)
    ap.add_argument("--fid-rows", type=int, default=2000)
    ap.add_argument("--train-rows", type=int, default=None, help="a smaller train split (smoke)")
    ap.add_argument("--no-own-judge", dest="own_judge", action="store_false")
    ap.add_argument("--rgb-epochs", type=int, default=20, help="0 skips the RGB part")
    ap.add_argument("--rgb-per-label", type=int, default=200)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for this run")
    ap.add_argument("--tag", default="images")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from synthgen.images.data import ImageSet

    schema, train, test = load_mnist(args.data)
    if args.train_rows:
        train = ImageSet(train.images[: args.train_rows], train.labels[: args.train_rows])
    kinds = args.models.split(",")
    judges = train_judges(train, test, 10)
    print({k: round(v["real_test_accuracy"], 4) for k, v in judges.items()}, flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for kind in kinds:
            print(f"== {kind}", flush=True)
            row = run_model(kind, train, test, schema, judges, args, Path(d))
            print(json.dumps(row, default=str), flush=True)
            rows.append(row)
        rgb = run_rgb(kinds, args, Path(d)) if args.rgb_epochs > 0 else None
    doc = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "train_rows": len(train),
        "judge_descriptions": {k: v[0] for k, v in JUDGES.items()},
        "judges": {k: _judge_info(v) for k, v in judges.items()},
        "settings": {k: str(v) for k, v in vars(args).items()},
        "rows": rows,
        "rgb": rgb,
    }
    write_outputs(doc, args.tag, OUT)


if __name__ == "__main__":
    main()
