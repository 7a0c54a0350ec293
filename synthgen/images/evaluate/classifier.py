"""The judge: a small CNN image classifier giving image evaluation its feature space, its
conditional accuracy and its TSTR/TRTR accuracies.

Usage::

    clf = ImageClassifier(random_state=0).fit(train_set, schema)  # labels required
    clf.predict(test_set)          # int64 label codes, shape (N,)
    clf.predict_proba(test_set)    # float32 (N, n_classes)
    clf.score(test_set)            # accuracy against test_set.labels
    clf.features(test_set)         # float32 (N, 128) penultimate-layer embedding

Works for any ``H x W`` with 1 or 3 channels. Three conv-BN-ReLU layers (32, 64, 64 maps;
2x2 max-pooling after the first two while the map is at least 4 pixels wide), an adaptive
average pool capped at 7x7, a 128-d ReLU embedding and a linear head. Trained in the one loop
with AdamW, a one-cycle learning rate and random shifts of up to 1/14 of the image side, for
``epochs`` epochs but at least ``min_steps`` batches (small sets get more epochs). The same
seed, data and device give the same weights on CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthgen.core.configs import config_from_dict
from synthgen.core.detector import step_budget
from synthgen.core.estimator import Estimator
from synthgen.core.kinds import Kind, Plan, register, register_estimator
from synthgen.core.modelfile import LoadedModel
from synthgen.core.train import TrainConfig, fit_model
from synthgen.core.trainable import DropLastBatches, TrainableModel
from synthgen.device import resolve_device
from synthgen.errors import DataError, UsageError, param
from synthgen.images.data import ImageSet, label_values
from synthgen.images.models.base import to_unit
from synthgen.schema import ImageSchema


@dataclass
class ClassifierConfig:
    """The judge's options (``model_options``; defaults: ~98-99 % on MNIST10k in 4 epochs)."""

    width: int = 32
    embed_dim: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    dropout: float = 0.3
    shift: float = 1 / 14
    min_steps: int = 150
    eval_batch: int = 512


class _Net(nn.Module):
    def __init__(self, cfg: ClassifierConfig, shape: tuple[int, int, int], n_classes: int):
        super().__init__()
        height, width, channels = shape
        w = cfg.width

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        layers: list[nn.Module] = block(channels, w)
        h, wd = height, width
        if min(h, wd) >= 4:
            layers.append(nn.MaxPool2d(2))
            h, wd = h // 2, wd // 2
        layers += block(w, 2 * w)
        if min(h, wd) >= 4:
            layers.append(nn.MaxPool2d(2))
            h, wd = h // 2, wd // 2
        layers += block(2 * w, 2 * w)
        pool = (min(h, 7), min(wd, 7))
        layers.append(nn.AdaptiveAvgPool2d(pool))
        self.conv = nn.Sequential(*layers)
        self.embed = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * w * pool[0] * pool[1], cfg.embed_dim), nn.ReLU()
        )
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.embed_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.features(x)))


def _shift(x: torch.Tensor, max_px: int, gen: torch.Generator) -> torch.Tensor:
    """Shift each image by whole pixels in ``[-max_px, max_px]``, filling with the background."""
    if max_px <= 0:
        return x
    n, _, h, w = x.shape
    pad = F.pad(x, (max_px, max_px, max_px, max_px), value=-1.0)
    dy = torch.randint(0, 2 * max_px + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * max_px + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :]).to(x.device)  # (n, h)
    cols = (dx[:, None] + torch.arange(w)[None, :]).to(x.device)  # (n, w)
    idx = torch.arange(n, device=x.device)[:, None, None]
    return pad.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def _shift(x: torch.Tensor, max_px: int, gen: torch.Generator) -> torch.Tensor:
    """Shift each image by whole pixels in ``[-max_px, max_px]``, filling with the background."""
    if max_px <= 0:
        return x
    n, _, h, w = x.shape
    pad = F.pad(x, (max_px, max_px, max_px, max_px), value=-1.0)
    dy = torch.randint(0, 2 * max_px + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * max_px + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :]).to(x.device)  # (n, h)
    cols = (dx[:, None] + torch.arange(w)[None, :]).to(x.device)  # (n, w)
    idx = torch.arange(n, device=x.device)[:, None, None]
    return pad.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


class ClassifierNet(DropLastBatches, TrainableModel):
    """The CNN as the loop trains it: cross-entropy on shifted images, one-cycle AdamW."""

    kind = "cnn"
    config_cls = ClassifierConfig

    def __init__(
        self, config: ClassifierConfig, shape: tuple[int, int, int], n_classes: int, seed: int
    ) -> None:
        super().__init__(config)
        self.shape, self.n_classes, self.seed = tuple(shape), int(n_classes), seed
        self.net = _Net(config, self.shape, self.n_classes)

    def modules(self) -> dict[str, nn.Module]:
        return {"net": self.net}

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        return {
            "net": torch.optim.AdamW(self.net.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        }

    def make_schedulers(self, optimizers, total_steps: int) -> list[Any]:
        sched = torch.optim.lr_scheduler.OneCycleLR
        return [sched(optimizers["net"], max_lr=self.config.lr, total_steps=total_steps)]

    def prepare(self, data) -> None:
        self._gen = torch.Generator().manual_seed(self.seed)
        self._max_px = int(round(self.config.shift * min(self.shape[0], self.shape[1])))

    def train_step(self, batch, optimizers):
        images, labels = batch
        x = _shift(to_unit(images), self._max_px, self._gen)
        loss = F.cross_entropy(self.net(x), labels)
        optimizers["net"].zero_grad(set_to_none=True)
        loss.backward()
        optimizers["net"].step()
        return {"loss": float(loss.detach())}


@register_estimator
class ImageClassifier(Estimator):
    """Small CNN classifier of ``ImageSet`` s (see the module docstring for usage).

    Parameters: ``model`` (``cnn``), ``epochs``, ``batch_size``, ``random_state`` (``seed`` an
    alias), ``device``, ``progress``, ``model_options`` (see :class:`ClassifierConfig`),
    ``threads``. ``fit(images, schema)`` learns the schema's label.
    """

    data: ClassVar[str] = "image"
    role: ClassVar[str] = "judge"

    def __init__(
        self,
        model: str = "cnn",
        *,
        epochs: int = 4,
        batch_size: int = 64,
        random_state: int = 0,
        seed: int | None = None,
        device: str = "cpu",
        progress: bool = False,
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

    def check_params(self) -> None:
        super().check_params()
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) < 1:
                raise UsageError(f"{param(name)} must be at least 1, got {value}.", param=name)

    def fit(self, images: ImageSet, schema: ImageSchema) -> ImageClassifier:
        """Train from scratch on ``images`` (labelled with ``schema``'s label); returns self."""
        self.check_params()
        kind = self.kind_entry()
        config = kind.make_config(self.model_options)
        if not isinstance(schema, ImageSchema) or schema.label is None:
            raise UsageError("The classifier needs an image schema with a label.", "schema")
        if images.labels is None:
            raise DataError("The classifier needs labelled images; this image set has no labels.")
        if len(images) < 2:
            raise DataError(f"The classifier needs at least 2 labelled images, got {len(images)}.")
        n_classes = len(label_values(schema))
        if images.labels.min() < 0 or images.labels.max() >= n_classes:
            raise DataError(f"Label codes must lie in 0..{n_classes - 1}.")
        device = resolve_device(self.device)
        seed = self.random_seed
        batch = min(int(self.batch_size), len(images))
        cfg = TrainConfig(
            epochs=int(self.epochs),
            batch_size=batch,
            val_fraction=0.0,
            min_epochs=0,
            seed=seed,
            steps=step_budget(len(images), batch, int(self.epochs), min_steps=config.min_steps),
        )
        torch.manual_seed(seed)
        net = ClassifierNet(config, images.shape, n_classes, seed)
        data = (np.ascontiguousarray(images.images.transpose(0, 3, 1, 2)), images.labels)
        with self._compute(device):
            self.training_ = fit_model(
                net, data, cfg, device, progress=self.progress, description="training judge"
            )
        self.model_ = net
        self.kind_ = kind
        self.schema_ = schema
        self._device = device
        return self

    # ------------------------------------------------------------------ predicting
    @property
    def n_classes_(self) -> int:
        return self.model_.n_classes

    @property
    def shape_(self) -> tuple[int, int, int]:
        return self.model_.shape

    def _check(self, images: ImageSet) -> None:
        self._check_fitted()
        if images.shape != self.shape_:
            raise DataError(
                f"Images of shape {images.shape} (H, W, C) do not match the classifier's "
                f"training shape {self.shape_}."
            )

    @torch.no_grad()
    def _run(self, images: ImageSet, what: str) -> np.ndarray:
        self._check(images)
        net = self.model_.net.eval()
        out = []
        step = self.model_.config.eval_batch
        for start in range(0, len(images), step):
            x = images.subset(slice(start, start + step)).to_tensor(self._device)
            y = net.features(x) if what == "features" else net(x).softmax(1)
            out.append(y.float().cpu().numpy())
        dim = self.model_.config.embed_dim if what == "features" else self.n_classes_
        return np.concatenate(out) if out else np.zeros((0, dim), np.float32)

    def predict_proba(self, images: ImageSet) -> np.ndarray:
        """Class probabilities, float32 ``(N, n_classes)``."""
        return self._run(images, "proba")

    def predict(self, images: ImageSet) -> np.ndarray:
        """Most likely label code per image, int64 ``(N,)``."""
        return self.predict_proba(images).argmax(1).astype(np.int64)

    def features(self, images: ImageSet) -> np.ndarray:
        """Penultimate-layer embedding, float32 ``(N, embed_dim)``."""
        return self._run(images, "features")

    def score(self, images: ImageSet) -> float:
        """Accuracy against ``images.labels``."""
        if images.labels is None:
            raise DataError("Accuracy needs labelled images; this image set has no labels.")
        if len(images) == 0:
            return float("nan")
        return float((self.predict(images) == images.labels).mean())

    # ------------------------------------------------------------------ persistence
    def _file_contents(self) -> dict[str, Any]:
        return {
            "config": {
                "model": self.kind_.name,
                "model_config": self.model_.config_dict(),
                "shape": list(self.shape_),
                "n_classes": self.n_classes_,
                "params": {k: v for k, v in self.get_params().items() if k != "device"},
            },
            "tensors": self.model_.state_tensors(),
            "training": {k: v for k, v in self.training_.items() if k != "history"},
        }

    @classmethod
    def _restore(cls, loaded: LoadedModel, device: str) -> ImageClassifier:
        cfg = loaded.config
        params = {k: v for k, v in cfg["params"].items() if k != "progress"}
        est = cls(**params, device=device)
        config = config_from_dict(ClassifierConfig, cfg["model_config"])
        shape = tuple(int(s) for s in cfg["shape"])
        net = ClassifierNet(config, shape, int(cfg["n_classes"]), est.random_seed)
        net.load_state_tensors(loaded.prefixed("model"))
        est._device = resolve_device(device)
        net.to(est._device)
        net.train(False)
        est.model_ = net
        est.schema_ = loaded.schema
        est.training_ = dict(loaded.manifest.get("training", {}))
        return est


KIND = register(
    Kind(
        name="cnn",
        data="image",
        role="judge",
        network=ClassifierNet,
        config=ClassifierConfig,
        plan=Plan(TrainConfig(epochs=4, batch_size=64, val_fraction=0.0), target_steps=150),
        summary="small CNN classifier: image evaluation's feature space and judge",
        threads=None,
    )
)
