"""Model choices for the default image kind, made on a validation signal that is no judge.

Issue 21 asks that every model choice (prior, steps, acceptance) be made on a signal that is
not one of the benchmark's judges. This script is that signal: MNIST10k's *train* split only,
cut by a seeded permutation into a fit part (90 %) and a held-out part (10 %); the test split
and the judges of ``image_judges.py`` are never touched.

* each ``--fit`` variant (JSON of model options, plus ``epochs``) fits the kind on the fit part;
* each ``--sample`` variant (JSON of sampling options of the fitted model: ``accept``,
  ``prior_components``, ``prior_scale``; the prior is refitted on the fit part) then generates:
  - conditional accuracy: ``--per-label`` images per label, read by synthgen's own classifier
    trained on the fit part;
  - TSTR: synthgen's classifier recipe trained on ``--tstr-rows`` generated images, accuracy on
    the held-out part (its real-data floor: the same recipe trained on the fit part), and the
    same with a logistic regression on pixels (another family, whose floor is lower);
  - precision/recall (k=3) of generated against held-out images in that classifier's features.

    python benchmarks/image_validation.py --fit '{}' --fit '{"epochs": 40}' \\
        --sample '{}' --sample '{"prior_components": 4}'

Writes ``benchmarks/results/<tag>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results"
SAMPLING = ("accept", "max_rounds", "prior_components", "prior_scale")


def split(data: Path, fraction: float = 0.1):
    """The train split of MNIST10k cut into (fit, held-out) image sets, and the schema."""
    from synthgen.images.data import ImageSet
    from synthgen.images.io import read_images
    from synthgen.schema import load_schema

    schema = load_schema(ROOT / "schemas" / "mnist.yaml")
    train = read_images(data / "mnist10k" / "train.npz", schema)
    order = np.random.default_rng(2021).permutation(len(train))
    cut = int(len(train) * (1 - fraction))
    fit, held = order[:cut], order[cut:]
    return (
        ImageSet(train.images[fit], train.labels[fit]),
        ImageSet(train.images[held], train.labels[held]),
        schema,
    )


def refit_prior(model, train, options: dict) -> None:
    """Set the sampling options (others back to their fitted values) and refit the prior on
    ``train`` with them (``finish`` sizes it from the config)."""
    import torch

    for key, value in options.items():
        setattr(model.config, key, value)
    images = torch.from_numpy(train.images.transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        model.finish((images, torch.from_numpy(train.labels)))


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision/recall (Kynkäänniemi et al.) with k-NN balls."""
    from sklearn.metrics import pairwise_distances

    def radii(x):
        d = pairwise_distances(x, x)
        return np.sort(d, 1)[:, k]

    r_real, r_fake = radii(real), radii(fake)
    d = pairwise_distances(fake, real)
    precision = float((d <= r_real[None]).any(1).mean())
    recall = float((d.T <= r_fake[None]).any(1).mean())
    return precision, recall


def flat(images) -> np.ndarray:
    return images.images.reshape(len(images), -1) / 255.0


def pixel_model(images):
    """A logistic regression on pixels: a second TSTR recipe, of another family than the CNN."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LogisticRegression(C=0.05, max_iter=200).fit(flat(images), images.labels)


def evaluate(synth, fit, held, schema, clf, floor, args) -> dict:
    from synthgen.images.data import ImageSet, label_values
    from synthgen.images.evaluate.classifier import ImageClassifier

    values = label_values(schema)
    parts = [
        synth.sample(args.per_label, {schema.label.name: v}, seed=100 + i)
        for i, v in enumerate(values)
    ]
    cond = ImageSet(
        np.concatenate([p.images for p in parts]), np.repeat(np.arange(len(values)), args.per_label)
    )
    pred = clf.predict(cond)
    per_label = [float((pred[cond.labels == i] == i).mean()) for i in range(len(values))]
    tstr_set = synth.sample(args.tstr_rows, seed=1)
    tstr_clf = ImageClassifier(seed=0, epochs=args.clf_epochs).fit(tstr_set, schema)
    pixels = pixel_model(tstr_set).score(flat(held), held.labels)
    n = min(len(held), 2000)
    precision, recall = precision_recall(clf.features(held)[:n], clf.features(tstr_set)[:n])
    return {
        "cond_acc": float((pred == cond.labels).mean()),
        "cond_acc_lowest_label": min(per_label),
        "tstr": tstr_clf.score(held),
        "tstr_floor": floor["cnn"],
        "tstr_pixels": pixels,
        "tstr_pixels_floor": floor["pixels"],
        "precision": precision,
        "recall": recall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--kind", default="fvae")
    ap.add_argument("--fit", action="append", default=None, help="JSON model options (+epochs)")
    ap.add_argument("--sample", action="append", default=None, help="JSON sampling options")
    ap.add_argument("--per-label", type=int, default=200)
    ap.add_argument("--tstr-rows", type=int, default=7200)
    ap.add_argument("--clf-epochs", type=int, default=4)
    ap.add_argument("--tag", default="image_validation")
    args = ap.parse_args()
    from synthgen.images.evaluate.classifier import ImageClassifier
    from synthgen.images.synthesizer import ImageSynthesizer

    fit, held, schema = split(args.data)
    clf = ImageClassifier(seed=0, epochs=args.clf_epochs).fit(fit, schema)
    floor = {"cnn": clf.score(held), "pixels": pixel_model(fit).score(flat(held), held.labels)}
    rows = []
    for fit_json in args.fit or ["{}"]:
        options = json.loads(fit_json)
        epochs = options.pop("epochs", None)
        t = time.perf_counter()
        synth = ImageSynthesizer(
            args.kind, epochs=epochs, seed=0, progress=False, model_options=options or None
        ).fit(fit, schema)
        fit_s = time.perf_counter() - t
        fitted = {k: getattr(synth.model_.config, k) for k in SAMPLING}
        for sample_json in args.sample or ["{}"]:
            refit_prior(synth.model_, fit, {**fitted, **json.loads(sample_json)})
            row = {
                "fit": fit_json,
                "sample": sample_json,
                "fit_s": fit_s,
                "steps": synth.training_.get("steps"),
                **evaluate(synth, fit, held, schema, clf, floor, args),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    doc = {"kind": args.kind, "rows": rows, "load_avg_1m_at_end": os.getloadavg()[0]}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.tag}.json").write_text(json.dumps(doc, indent=2))
    lines = [
        f"`{args.kind}` on MNIST10k's train split: fit on 90 %, judged on the other 10 % by "
        f"synthgen's own classifier (trained on the fit part; its held-out accuracy "
        f"{floor['cnn']:.3f}), and TSTR also with a logistic regression on pixels (its held-out "
        f"accuracy trained on the fit part: {floor['pixels']:.3f}). No benchmark judge and no "
        "test image is used.",
        "",
        "| fit options | sampling | fit s | steps | cond. acc | lowest label | TSTR | "
        "TSTR (pixels) | precision | recall |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['fit']}` | `{r['sample']}` | {r['fit_s']:.0f} | {r['steps']} | "
            f"{r['cond_acc']:.3f} | {r['cond_acc_lowest_label']:.3f} | {r['tstr']:.3f} | "
            f"{r['tstr_pixels']:.3f} | "
            f"{r['precision']:.3f} | {r['recall']:.3f} |"
        )
    (OUT / f"{args.tag}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
