"""``ImageSynthesizer``: fit an image model kind to an ``ImageSet``, sample, save and load it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthgen.core.modelfile import load_model, save_model
from synthgen.core.train import TrainConfig, fit_model
from synthgen.device import resolve_device
from synthgen.errors import DataError, ModelFileError, UsageError
from synthgen.images.data import ImageSet, label_code, label_values
from synthgen.images.models.kinds import IMAGE_MODELS, ImageModelKind
from synthgen.schema import ImageSchema

MIN_IMAGES = 10


def _config_from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Rebuild a dataclass config from the manifest's JSON."""
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ModelFileError(f"model config has unknown keys {unknown}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


class ImageSynthesizer:
    """Fit a conditional GAN (``cgan``) or VAE (``vae``) to labelled or unlabelled images and
    generate new ones, optionally of one label.

    Follows scikit-learn's rules: ``__init__`` stores parameters, ``fit`` returns self, and fitted
    attributes end in ``_`` (``schema_``, ``model_``, ``training_``, ``train_config_``,
    ``label_counts_``, ``fit_seconds_``).
    """

    def __init__(
        self,
        model: str = "cgan",
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        seed: int = 0,
        device: str = "auto",
        progress: bool = True,
    ) -> None:
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self.device = device
        self.progress = progress

    # --- parameters ----------------------------------------------------------------------------
    def _kind(self) -> ImageModelKind:
        if self.model not in IMAGE_MODELS:
            raise UsageError(
                f"Unknown image model kind '{self.model}'; choose one of "
                f"{', '.join(sorted(IMAGE_MODELS))}."
            )
        return IMAGE_MODELS[self.model]

    def check_params(self) -> None:
        """Refuse a bad model kind, epoch count or batch size before any data is read."""
        self._kind()
        if self.epochs is not None and self.epochs < 1:
            raise UsageError(f"--epochs must be at least 1, got {self.epochs}.")
        if self.batch_size is not None and self.batch_size < 2:
            raise UsageError(f"--batch-size must be at least 2, got {self.batch_size}.")

    def train_config(self, n_images: int | None = None) -> TrainConfig:
        """The loop settings for this fit: the kind's defaults, then the user's overrides.
        Without ``epochs`` the epoch count follows the data size (see ``ImageModelKind``)."""
        self.check_params()
        kind = self._kind()
        cfg = dataclasses.replace(kind.train_defaults, seed=self.seed)
        if self.batch_size is not None:
            cfg = dataclasses.replace(cfg, batch_size=self.batch_size)
        if n_images is not None:  # never a batch larger than the training split
            train = max(2, int(n_images * (1 - cfg.val_fraction)))
            cfg = dataclasses.replace(cfg, batch_size=min(cfg.batch_size, train))
        if self.epochs is not None:
            epochs = self.epochs
        elif n_images is not None:
            epochs = kind.default_epochs(n_images, cfg.batch_size)
        else:
            epochs = cfg.epochs
        return dataclasses.replace(cfg, epochs=epochs, min_epochs=min(cfg.min_epochs, epochs))

    # --- fitting -------------------------------------------------------------------------------
    def fit(
        self,
        images: ImageSet,
        schema: ImageSchema,
        *,
        checkpoint: Path | None = None,
        resume: bool = False,
    ) -> ImageSynthesizer:
        """Fit the model to ``images`` (as read by ``synthgen.images.io.read_images``)."""
        kind = self._kind()
        device = resolve_device(self.device)
        train_cfg = self.train_config(len(images))
        labels = _check_images(images, schema)
        started = time.perf_counter()
        n_classes = max(1, len(label_values(schema)))
        codes = np.zeros(len(images), np.int64) if labels is None else labels
        data = (np.ascontiguousarray(images.images.transpose(0, 3, 1, 2)), codes)
        torch.manual_seed(self.seed)
        self.model_ = kind.cls(kind.cls.config_cls(), images.shape, n_classes)
        self.training_ = fit_model(
            self.model_,
            data,
            train_cfg,
            device,
            progress=self.progress,
            checkpoint=checkpoint,
            resume=resume,
            run_key={"model": f"image-{self.model}", "config": self.model_.config_dict()},
        )
        self.schema_ = schema
        self.train_config_ = train_cfg
        self.label_counts_ = np.bincount(codes, minlength=n_classes).astype(np.int64)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    # --- sampling ------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise UsageError("This synthesizer is not fitted yet; call fit() or load() first.")

    def _fixed_label(self, conditions: dict[str, Any] | None) -> int | None:
        if not conditions:
            return None
        if len(conditions) > 1:
            names = ", ".join(sorted(conditions))
            raise UsageError(
                f"Image models condition on one label only; got conditions on {names}."
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
            raise UsageError(f"The number of images must be positive, got {n}.")
        if chunk_rows < 1:
            raise UsageError(f"chunk_rows must be at least 1, got {chunk_rows}.")
        return self._chunks(n, fixed, seed, chunk_rows)

    def _chunks(
        self, n: int, fixed: int | None, seed: int | None, chunk_rows: int
    ) -> Iterator[ImageSet]:
        gen = torch.Generator(device="cpu")
        gen.manual_seed(self.seed if seed is None else seed)
        labelled = self.schema_.label is not None
        probs = torch.as_tensor(self.label_counts_, dtype=torch.float64)
        if probs.sum() <= 0:
            probs = torch.ones_like(probs)
        self.model_.train(False)
        done = 0
        while done < n:
            size = min(chunk_rows, n - done)
            if fixed is not None:
                codes = torch.full((size,), fixed, dtype=torch.int64)
            elif labelled:
                codes = torch.multinomial(probs, size, replacement=True, generator=gen)
            else:
                codes = torch.zeros(size, dtype=torch.int64)
            images = self.model_.sample(codes, gen)
            yield ImageSet.from_tensor(images, codes.numpy() if labelled else None)
            done += size

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

    # --- persistence -----------------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False, inputs=()) -> Path:
        """Write a ``.synth`` model file (safetensors + JSON, atomically)."""
        self._check_fitted()
        return save_model(
            path,
            kind=f"image-{self.model}",
            config={
                "model": self.model,
                "model_config": self.model_.config_dict(),
                "train": dataclasses.asdict(self.train_config_),
                "shape": list(self.model_.shape),
                "n_classes": self.model_.n_classes,
            },
            schema=self.schema_,
            tensors=self.model_.state_tensors(),
            training=dict(self.training_),
            extra={"label_counts": [int(c) for c in self.label_counts_]},
            overwrite=overwrite,
            inputs=tuple(inputs),
        )

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> ImageSynthesizer:
        """Rebuild a synthesizer from a model file; weights are loaded strictly."""
        loaded = load_model(path, expect="image")
        cfg = loaded.config
        kind_name = cfg.get("model")
        schema = loaded.schema
        if (
            kind_name not in IMAGE_MODELS
            or loaded.kind != f"image-{kind_name}"
            or not isinstance(schema, ImageSchema)
        ):
            raise ModelFileError(f"Model file {path} holds an unknown model kind '{loaded.kind}'.")
        kind = IMAGE_MODELS[kind_name]
        torch_device = resolve_device(device)
        try:
            train_cfg = _config_from_dict(TrainConfig, cfg["train"])
            self = cls(kind_name, seed=train_cfg.seed, device=device, progress=False)
            config = _config_from_dict(kind.cls.config_cls, cfg["model_config"])
            self.model_ = kind.cls(config, tuple(cfg["shape"]), int(cfg["n_classes"]))
            self.model_.load_state_tensors(loaded.prefixed("model"))
            counts = np.asarray(loaded.manifest["extra"]["label_counts"], dtype=np.int64)
            if counts.shape != (self.model_.n_classes,):
                raise ValueError("label_counts do not match the number of classes")
        except (KeyError, RuntimeError, ValueError, TypeError) as err:
            raise ModelFileError(
                f"Model file {path} does not match the model it declares ({err})."
            ) from None
        self.model_.to(torch_device)
        self.model_.train(False)
        self.schema_ = schema
        self.train_config_ = train_cfg
        self.label_counts_ = counts
        self.training_ = loaded.manifest.get("training", {})
        return self


def _check_images(images: ImageSet, schema: ImageSchema) -> np.ndarray | None:
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
