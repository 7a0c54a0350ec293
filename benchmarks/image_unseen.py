"""The image kinds at their defaults on a digit set no default was chosen on, by the judges.

Every image default was chosen on MNIST10k's train split (``image_validation.py``). This script
asks whether they carry over to other digits: scikit-learn's bundled ``load_digits`` (1,797
handwritten digits of 8x8 pixels, 17 grey levels, from other writers and another scanner),
split 75 / 25 stratified (seed 0), written as npz files and read back through ``schema infer``
and the npz reader. Each kind fits at its defaults (seed 0) and is judged as in ``images.py``:
the three judges of ``image_judges.py`` trained on the real train part, conditional accuracy
on ``--per-label`` images per digit, TSTR with as many generated images as real training
images, Fréchet distance and precision/recall in the CNN judge's features with the
real-vs-real floor. Nothing here is chosen: no setting depends on these figures.

    python benchmarks/image_unseen.py [--models fvae,vae,cgan] [--threads 2]

Writes ``benchmarks/results/<tag>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from image_judges import train_judges  # noqa: E402
from images import fit_and_judge  # noqa: E402
from images_table import judged_row, num  # noqa: E402
from measure import machine, write_results  # noqa: E402


def write_digits(folder: Path) -> tuple[Path, Path]:
    """scikit-learn's 8x8 digits as ``train.npz`` and ``test.npz`` (uint8 0-255, 75 / 25)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int64)
    tr_x, te_x, tr_y, te_y = train_test_split(
        images, labels, test_size=0.25, stratify=labels, random_state=0
    )
    paths = folder / "train.npz", folder / "test.npz"
    for path, x, y in ((paths[0], tr_x, tr_y), (paths[1], te_x, te_y)):
        np.savez(path, images=x, labels=y)
    return paths


def _table(doc: dict) -> str:
    names = " / ".join(doc["judges"])
    floors = ", ".join(f"{k} {num(v)}" for k, v in doc["judges"].items())
    lines = [
        f"scikit-learn's `load_digits`: {doc['train']} train / {doc['test']} test digits of "
        f"{doc['shape']} (read from npz through `schema infer`). Judge floors (real train → real "
        f"test): {floors}. Machine: {doc['machine']}.",
        "",
        f"| model | fit s | steps | cond. acc ({names}) | TSTR ({names}) | Fréchet (floor) | "
        "precision (floor) | recall (floor) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [judged_row(r, "steps") for r in doc["rows"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="fvae,vae,cgan")
    ap.add_argument("--per-label", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=None, help="override the default epochs")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for this run")
    ap.add_argument("--tag", default="image_unseen")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from synthgen.images.data import label_values
    from synthgen.images.infer import infer_image_schema
    from synthgen.images.io import read_images

    rows = []
    with tempfile.TemporaryDirectory() as d:
        train_path, test_path = write_digits(Path(d))
        schema = infer_image_schema(train_path, name="digits8")
        train, test = read_images(train_path, schema), read_images(test_path, schema)
    values = label_values(schema)
    judges = train_judges(train, test, len(values))
    print({k: round(v["real_test_accuracy"], 4) for k, v in judges.items()}, flush=True)
    for kind in args.models.split(","):
        print(f"== {kind}", flush=True)
        data = (train, test, schema)
        rows.append(fit_and_judge(kind, data, judges, args, args.epochs, args.per_label))
        print(json.dumps(rows[-1]), flush=True)
    doc = {
        "source": "sklearn.datasets.load_digits, 75 / 25 stratified split (seed 0)",
        "machine": machine(),
        "torch_threads": torch.get_num_threads(),
        "train": len(train),
        "test": len(test),
        "shape": list(train.shape),
        "judges": {k: v["real_test_accuracy"] for k, v in judges.items()},
        "rows": rows,
        "load_avg_1m_at_end": os.getloadavg()[0],
    }
    write_results(args.tag, doc, _table(doc))


if __name__ == "__main__":
    main()
