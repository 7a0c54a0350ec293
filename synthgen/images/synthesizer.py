"""``ImageSynthesizer``: fit an image generator kind to an ``ImageSet``, sample, save, load."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import torch

import synthgen.images.models  # noqa: F401  (registers the image generator kinds)
from synthgen.core.blocks import IMAGE_BLOCK_ROWS, block_generators, block_length, n_blocks
from synthgen.core.kinds import register_estimator
from synthgen.core.modelfile import LoadedModel
from synthgen.core.synthesizer import Synthesizer
from synthgen.errors import DataError, UsageError, param
from synthgen.images.data import ImageSet, label_code, label_values
from synthgen.schema import ImageSchema

MIN_IMAGES = 10


@register_estimator
class ImageSynthesizer(Synthesizer):
    """Fit an image generator kind (``fvae``, the default: a conditional VAE whose samples a
    classifier trained with it checks against their label; ``vae``; ``cgan``) to labelled or
    unlabelled images and generate new ones, optionally of one label.

    Parameters as ``TabularSynthesizer``'s: ``model``, ``epochs``, ``batch_size``,
    ``random_state`` (``seed`` an alias), ``device``, ``progress``, ``model_options`` and
    ``threads``. Fitted attributes: ``schema_``, ``model_``, ``training_``, ``train_config_``,
    ``label_counts_``, ``fit_seconds_``.
    """

    data: ClassVar[str] = "image"

    def __init__(
        self,
        model: str = "fvae",
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        random_state: int = 0,
        seed: int | None = None,
        device: str = "auto",
        progress: bool = True,
        model_options: dict[str, Any] | None = None,
        threads: int | None = None,
    ) -> None:
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.seed = seed
        self.device = device
        self.progress = progress
        self.model_options = model_options
        self.threads = threads

    # ------------------------------------------------------------------ fitting hooks
    def _check_data(self, images: ImageSet, schema: ImageSchema) -> None:
        if not isinstance(schema, ImageSchema):
            raise UsageError("An image synthesizer needs an image schema.", param="schema")
        if not isinstance(images, ImageSet):
            raise DataError(f"The images must be an ImageSet, not {type(images).__name__}.")
        check_images(images, schema)

    def _training_data(self, images: ImageSet, schema: ImageSchema, kind, seed):
        labels = check_images(images, schema)
        n_classes = max(1, len(label_values(schema)))
        codes = np.zeros(len(images), np.int64) if labels is None else labels
        self.label_counts_ = np.bincount(codes, minlength=n_classes).astype(np.int64)
        data = (np.ascontiguousarray(images.images.transpose(0, 3, 1, 2)), codes)
        return data, {"shape": images.shape, "n_classes": n_classes}

    # ------------------------------------------------------------------ sampling
    def _fixed_label(self, conditions: dict[str, Any] | None) -> int | None:
        if not conditions:
            return None
        if len(conditions) > 1:
            names = ", ".join(sorted(conditions))
            raise UsageError(
                f"Image models condition on one label only; {param('conditions')} names {names}.",
                param="conditions",
            )
        ((column, value),) = conditions.items()
        return label_code(self.schema_, column, value)

    def iter_sample(
        self,
        n: int,
        conditions: dict[str, Any] | None = None,
        *,
        seed: int | None = None,
        chunk_rows: int = 1000,
    ) -> Iterator[ImageSet]:
        """Yield chunks totalling exactly ``n`` images. With a condition every image has that
        label; without one, a labelled model draws labels by their training frequencies.
        Bad requests are refused here, before the first chunk is asked for."""
        self._check_fitted()
        fixed = self._fixed_label(conditions)
        if n < 0:
            raise UsageError(f"{param('rows')} must be positive, got {n}.", param="rows")
        if chunk_rows < 1:
            raise UsageError(f"chunk_rows must be at least 1, got {chunk_rows}.")
        return self._chunks(n, fixed, seed, chunk_rows)

    def _chunks(
        self, n: int, fixed: int | None, seed: int | None, chunk_rows: int
    ) -> Iterator[ImageSet]:
        """Block-seeded (:mod:`synthgen.core.blocks`): images ``[i*B, (i+1)*B)`` come from block
        ``i``'s own stream, drawn in full and cut to the images asked for, so any block can be
        made alone and a short run is the start of a longer one."""
        seed = self.random_seed if seed is None else seed
        labelled = self.schema_.label is not None
        probs = torch.as_tensor(self.label_counts_, dtype=torch.float64)
        if probs.sum() <= 0:
            probs = torch.ones_like(probs)
        self.model_.train(False)
        for index in range(n_blocks(n, IMAGE_BLOCK_ROWS)):
            _, gen = block_generators(seed, index)
            size = IMAGE_BLOCK_ROWS
            if fixed is not None:
                codes = torch.full((size,), fixed, dtype=torch.int64)
            elif labelled:
                codes = torch.multinomial(probs, size, replacement=True, generator=gen)
            else:
                codes = torch.zeros(size, dtype=torch.int64)
            keep = block_length(n, IMAGE_BLOCK_ROWS, index)
            images = self.model_.sample(codes, gen)[:keep]
            block = ImageSet.from_tensor(images, codes[:keep].numpy() if labelled else None)
            for at in range(0, keep, chunk_rows):
                yield block if keep <= chunk_rows else block.subset(slice(at, at + chunk_rows))

    def sample(
        self, n: int, conditions: dict[str, Any] | None = None, *, seed: int | None = None
    ) -> ImageSet:
        """``n`` synthetic images as one ``ImageSet``."""
        chunks = list(self.iter_sample(n, conditions, seed=seed))
        if not chunks:
            h, w, c = self.model_.shape
            labels = None if self.schema_.label is None else np.zeros(0, np.int64)
            return ImageSet(np.zeros((0, h, w, c), np.uint8), labels)
        labels = None if chunks[0].labels is None else np.concatenate([c.labels for c in chunks])
        return ImageSet(np.concatenate([c.images for c in chunks]), labels)

    # ------------------------------------------------------------------ persistence hooks
    def _file_config(self) -> dict[str, Any]:
        return {"shape": list(self.model_.shape), "n_classes": self.model_.n_classes}

    def _file_extra(self) -> dict[str, Any]:
        return {"label_counts": [int(c) for c in self.label_counts_]}

    @classmethod
    def _network_args_from_file(cls, loaded: LoadedModel, est: Synthesizer) -> dict[str, Any]:
        if not isinstance(loaded.schema, ImageSchema):
            raise ValueError("the file's schema is not an image schema")
        return {
            "shape": tuple(int(s) for s in loaded.config["shape"]),
            "n_classes": int(loaded.config["n_classes"]),
        }

    def _restore_state(self, loaded: LoadedModel) -> None:
        counts = np.asarray(loaded.manifest["extra"]["label_counts"], dtype=np.int64)
        if counts.shape != (self.model_.n_classes,):
            raise ValueError("label_counts do not match the number of classes")
        self.label_counts_ = counts


def check_images(images: ImageSet, schema: ImageSchema) -> np.ndarray | None:
    """The label codes to train on (``None`` for an unlabelled schema); refuses image sets that
    do not match the schema."""
    if len(images) < MIN_IMAGES:
        raise DataError(
            f"Only {len(images)} images to fit on; synthgen needs at least {MIN_IMAGES}."
        )
    want = (schema.image.height, schema.image.width, schema.image.channels)
    if images.shape != want:
        raise DataError(
            f"The images are {images.shape[0]}x{images.shape[1]} with {images.shape[2]} "
            f"channel(s), but schema '{schema.name}' declares {want[0]}x{want[1]} with "
            f"{want[2]} channel(s)."
        )
    if schema.label is None:
        return None
    if images.labels is None:
        raise DataError(
            f"Schema '{schema.name}' declares the label '{schema.label.name}', but the images "
            "have no labels."
        )
    n_classes = len(label_values(schema))
    if len(images.labels) and (images.labels.min() < 0 or images.labels.max() >= n_classes):
        raise DataError(
            f"Label codes of '{schema.label.name}' must lie in 0..{n_classes - 1} (the schema's "
            f"{n_classes} values)."
        )
    return images.labels
