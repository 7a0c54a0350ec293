"""``evaluate_images(real, synthetic, schema)``: the metrics document for synthetic images.

* Feature space: a small CNN (``synthgen.images.classifier``) trained on the real training
  images to predict the label; its 128-d penultimate layer embeds every image. For an
  unlabelled schema it is trained on a self-supervised task instead (which of four flips was
  applied), and the label-based metrics are left out.
* Fidelity: Fréchet distance and k-NN precision/recall (Kynkäänniemi et al. 2019) of the
  synthetic images against the real training images, beside the real-vs-real floor (the real
  holdout against the same reference, same sample sizes): a perfect generator scores near the
  floor, not near zero.
* Conditional accuracy: agreement of the real-trained classifier with the synthetic labels
  (overall and per label); its ceiling is the classifier's accuracy on the real holdout (TRTR).
* Utility: TSTR, the same CNN trained on the synthetic images and tested on the real holdout,
  next to TRTR (trained on the real images).
* Inception FID (optional): pool3 features of a user-supplied Inception-v3 (``inception.py``).

Without a holdout, ``HOLDOUT_SPLIT`` of the real images (per label) are held out and the
document says so. Each set is subsampled to at most ``max_images`` images.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthgen._version import __version__
from synthgen.core.jsonable import jsonable
from synthgen.errors import DataError, UsageError, param
from synthgen.images.data import ImageSet, label_values
from synthgen.images.evaluate.classifier import ImageClassifier
from synthgen.images.evaluate.metrics import frechet_distance, precision_recall
from synthgen.schema import ImageSchema, LabelSpec

FORMAT = "synthgen.image_evaluation/1"
DEFAULT_MAX_IMAGES = 10_000
INCEPTION_MAX_IMAGES = 2_000
HOLDOUT_SPLIT = 0.2
PR_MAX_SAMPLES = 5_000
MIN_IMAGES = 10


@dataclass
class ImageEvaluation:
    """The metrics document plus the image sets it was computed on (for the report)."""

    doc: dict
    real: ImageSet
    synthetic: ImageSet
    schema: ImageSchema


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _cap(images: ImageSet, n: int, rng: np.random.Generator) -> ImageSet:
    if len(images) <= n:
        return images
    return images.subset(np.sort(rng.choice(len(images), n, replace=False)))


def _check(images: ImageSet, schema: ImageSchema, what: str, minimum: int) -> None:
    want = (schema.image.height, schema.image.width, schema.image.channels)
    if images.shape != want:
        raise DataError(
            f"{what} images are {images.shape[0]}x{images.shape[1]} with {images.shape[2]} "
            f"channel(s); schema '{schema.name}' expects {want[0]}x{want[1]} with {want[2]}."
        )
    if len(images) < minimum:
        raise DataError(f"{what} has {len(images)} images; evaluation needs at least {minimum}.")
    n_values = len(label_values(schema))
    if images.labels is not None and len(images) and images.labels.max() >= n_values:
        raise DataError(f"{what} has label codes beyond the schema's {n_values} label values.")


def _split(real: ImageSet, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train/holdout indices: ``HOLDOUT_SPLIT`` of each label (of all images if unlabelled)."""
    rng = _rng(seed, 10)
    groups = (
        [np.arange(len(real))]
        if real.labels is None
        else [np.flatnonzero(real.labels == c) for c in np.unique(real.labels)]
    )
    train, hold = [], []
    for idx in groups:
        idx = rng.permutation(idx)
        cut = int(round(len(idx) * HOLDOUT_SPLIT)) if len(idx) > 1 else 0
        hold.append(idx[:cut])
        train.append(idx[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(hold))


def _flips(images: ImageSet) -> ImageSet:
    """The self-supervised task for unlabelled sets: each image under 4 flips, label = flip."""
    x = images.images
    variants = [x, x[:, :, ::-1], x[:, ::-1, :], x[:, ::-1, ::-1]]
    labels = np.repeat(np.arange(4), len(x))
    return ImageSet(np.ascontiguousarray(np.concatenate(variants)), labels)


def _per_label(pred: np.ndarray, labels: np.ndarray, values: list[str]) -> dict:
    out = {}
    for code, value in enumerate(values):
        mask = labels == code
        n = int(mask.sum())
        out[value] = {"n": n, "accuracy": float((pred[mask] == code).mean()) if n else None}
    return out


def _fidelity(ref: np.ndarray, syn: np.ndarray, hold: np.ndarray, k: int, seed: int) -> dict:
    """Fréchet distance and precision/recall of ``syn`` and (the floor) ``hold`` vs ``ref``."""
    syn_pr = precision_recall(ref, syn, k=k, max_samples=PR_MAX_SAMPLES, seed=seed)
    hold_pr = precision_recall(ref, hold, k=k, max_samples=PR_MAX_SAMPLES, seed=seed)
    return {
        "n": len(ref),
        "k": k,
        "frechet_distance": frechet_distance(syn, ref),
        "frechet_floor": frechet_distance(hold, ref),
        "precision": syn_pr["precision"],
        "recall": syn_pr["recall"],
        "precision_floor": hold_pr["precision"],
        "recall_floor": hold_pr["recall"],
        "pr_samples": syn_pr["n_real"],
    }


def run_image_evaluation(
    real: ImageSet,
    synthetic: ImageSet,
    schema: ImageSchema,
    *,
    holdout: ImageSet | None = None,
    seed: int = 0,
    inception_weights: str | Path | None = None,
    epochs: int | None = None,
    max_images: int = DEFAULT_MAX_IMAGES,
    k: int = 3,
    device: str = "cpu",
    progress: bool = False,
) -> ImageEvaluation:
    """Compute the metrics document (see the module docstring) and keep the sets for a report."""
    from synthgen.device import resolve_device

    if not isinstance(schema, ImageSchema):
        raise UsageError("evaluate_images works on image schemas; this schema is a table.")
    if max_images < MIN_IMAGES:
        raise UsageError(
            f"{param('max_rows')} must be at least {MIN_IMAGES} for images, got {max_images}.",
            param="max_rows",
        )
    if epochs is not None and epochs < 1:
        raise UsageError(f"{param('epochs')} must be at least 1, got {epochs}.", param="epochs")
    if k < 1:
        raise UsageError(f"k for precision/recall must be at least 1, got {k}.")
    torch_device = resolve_device(device)
    _check(real, schema, "Real data", MIN_IMAGES if holdout is not None else 2 * MIN_IMAGES)
    _check(synthetic, schema, "Synthetic data", k + 1)
    if holdout is not None:
        _check(holdout, schema, "Holdout", k + 1)
    inception = None
    if inception_weights is not None:  # load first: a bad file fails before any training
        from synthgen.images.evaluate.inception import load_inception

        inception = load_inception(inception_weights, torch_device)

    values = label_values(schema)
    labelled = schema.label is not None and real.labels is not None
    timings: dict[str, float] = {}
    notes: list[str] = []
    t0 = time.perf_counter()
    if holdout is None:
        train_idx, hold_idx = _split(real, seed)
        train_full, hold_full = real.subset(train_idx), real.subset(hold_idx)
        source = f"split from the real images ({HOLDOUT_SPLIT:.0%} of each label held out)"
        notes.append(f"No holdout given: the holdout is a {source}.")
    else:
        train_full, hold_full, source = real, holdout, "given"
    train = _cap(train_full, max_images, _rng(seed, 0))
    syn = _cap(synthetic, max_images, _rng(seed, 1))
    hold = _cap(hold_full, max_images, _rng(seed, 2))
    if len(hold) <= k:
        raise DataError(
            f"The holdout has {len(hold)} images; evaluation needs more than {k}. Give a "
            f"larger {param('holdout')} or more real images."
        )
    timings["prepare"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    judge = {"epochs": 4 if epochs is None else int(epochs), "random_state": seed}
    clf = ImageClassifier(**judge, device=str(torch_device), progress=progress)
    if labelled:
        clf.fit(train, schema)
        task = "label"
    else:
        flips = LabelSpec(name="flip", values=[0, 1, 2, 3])
        clf.fit(_flips(train), schema.model_copy(update={"label": flips}))
        task = "flip (self-supervised: which of four flips; the schema has no label)"
    timings["classifier"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    n = min(len(train), len(syn), len(hold))
    ref_set = _cap(train, n, _rng(seed, 3))
    syn_n, hold_n = _cap(syn, n, _rng(seed, 4)), _cap(hold, n, _rng(seed, 5))
    fid = _fidelity(clf.features(ref_set), clf.features(syn_n), clf.features(hold_n), k, seed)
    timings["fidelity"] = time.perf_counter() - t0

    conditional = {"accuracy": None, "chance": None, "per_label": None, "skipped": None}
    utility = {
        "tstr_accuracy": None,
        "trtr_accuracy": None,
        "tstr_ratio": None,
        "per_label": None,
        "train_images": len(syn),
        "test_images": len(hold),
        "holdout_source": source,
        "skipped": None,
    }
    if not labelled:
        reason = "the schema has no label"
        conditional["skipped"] = utility["skipped"] = reason
    elif synthetic.labels is None:
        reason = "the synthetic images carry no labels"
        conditional["skipped"] = utility["skipped"] = reason
    else:
        t0 = time.perf_counter()
        pred = clf.predict(syn)
        conditional.update(
            accuracy=float((pred == syn.labels).mean()),
            chance=1.0 / len(values),
            per_label=_per_label(pred, syn.labels, values),
        )
        timings["conditional"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        trtr_pred = clf.predict(hold)
        trtr = float((trtr_pred == hold.labels).mean())
        tstr_clf = ImageClassifier(**judge, device=str(torch_device), progress=progress)
        tstr_pred = tstr_clf.fit(syn, schema).predict(hold)
        tstr = float((tstr_pred == hold.labels).mean())
        per_tstr = _per_label(tstr_pred, hold.labels, values)
        per_trtr = _per_label(trtr_pred, hold.labels, values)
        utility.update(
            tstr_accuracy=tstr,
            trtr_accuracy=trtr,
            tstr_ratio=tstr / trtr if trtr > 0 else None,
            per_label={
                v: {
                    "n": per_tstr[v]["n"],
                    "tstr": per_tstr[v]["accuracy"],
                    "trtr": per_trtr[v]["accuracy"],
                }
                for v in values
            },
        )
        timings["utility"] = time.perf_counter() - t0
        missing = [v for v, s in conditional["per_label"].items() if s["n"] == 0]
        if missing:
            notes.append(
                "The synthetic images hold no image of label value(s) "
                f"{', '.join(missing)}: TSTR cannot learn them."
            )

    incep = None
    if inception is not None:
        from synthgen.images.evaluate.inception import inception_features

        t0 = time.perf_counter()
        m = min(n, INCEPTION_MAX_IMAGES)

        def feats(s: ImageSet, stream: int) -> np.ndarray:
            return inception_features(
                inception, _cap(s, m, _rng(seed, stream)), device=torch_device, progress=progress
            )

        ref_f = feats(ref_set, 6)
        incep = {
            "n": m,
            "weights": str(inception_weights),
            "fid": frechet_distance(feats(syn_n, 7), ref_f),
            "fid_floor": frechet_distance(feats(hold_n, 8), ref_f),
        }
        timings["inception"] = time.perf_counter() - t0

    summary = {
        "frechet_distance": fid["frechet_distance"],
        "frechet_floor": fid["frechet_floor"],
        "precision": fid["precision"],
        "recall": fid["recall"],
        "precision_floor": fid["precision_floor"],
        "recall_floor": fid["recall_floor"],
        "conditional_accuracy": conditional["accuracy"],
        "tstr_accuracy": utility["tstr_accuracy"],
        "trtr_accuracy": utility["trtr_accuracy"],
        "tstr_ratio": utility["tstr_ratio"],
        "fid": None if incep is None else incep["fid"],
        "fid_floor": None if incep is None else incep["fid_floor"],
    }
    doc = {
        "format": FORMAT,
        "synthgen_version": __version__,
        "schema": schema.name,
        "kind": "image",
        "image": {
            "height": schema.image.height,
            "width": schema.image.width,
            "channels": schema.image.channels,
            "label": None if schema.label is None else schema.label.name,
            "label_values": values,
        },
        "seed": seed,
        "sampling": {
            "max_images": max_images,
            "real_images": len(real),
            "synthetic_images": len(synthetic),
            "holdout_images": None if holdout is None else len(holdout),
            "holdout_source": source,
            "real_train_used": len(train),
            "synthetic_used": len(syn),
            "holdout_used": len(hold),
            "compare_n": n,
        },
        "classifier": {
            "task": task,
            "epochs": clf.epochs,
            "min_steps": clf.model_.config.min_steps,
            "embed_dim": clf.model_.config.embed_dim,
            "train_images": len(train) * (1 if labelled else 4),
            "device": str(torch_device),
        },
        "summary": summary,
        "fidelity": fid,
        "conditional": conditional,
        "utility": utility,
        "inception": incep,
        "notes": notes,
        "gates": [],
        "timings_s": timings,
    }
    return ImageEvaluation(jsonable(doc), real, synthetic, schema)


def evaluate_images(
    real: ImageSet,
    synthetic: ImageSet,
    schema: ImageSchema,
    *,
    holdout: ImageSet | None = None,
    seed: int = 0,
    inception_weights: str | Path | None = None,
    epochs: int | None = None,
    max_images: int = DEFAULT_MAX_IMAGES,
    device: str = "cpu",
    progress: bool = False,
) -> dict:
    """The image metrics document (JSON-able dict; keys in the module docstring and README)."""
    return run_image_evaluation(
        real,
        synthetic,
        schema,
        holdout=holdout,
        seed=seed,
        inception_weights=inception_weights,
        epochs=epochs,
        max_images=max_images,
        device=device,
        progress=progress,
    ).doc
