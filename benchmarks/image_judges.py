"""Independent judges for the image benchmark: classifiers that no synthgen training decision
uses, trained only on real training images (benchmark code, not the product's).

Three judges that differ in architecture, seed and framework:

* ``cnn``: a LeNet-style CNN (two 5x5 conv + max-pool stages, a 256-unit layer, dropout),
  Adam, no augmentation, seed 11;
* ``resnet``: a small ResNet (a 3x3 stem and three residual stages of 16/32/64 maps, global
  average pooling), SGD with momentum and a one-cycle rate, random shifts of up to 2 pixels,
  seed 22;
* ``mlp``: scikit-learn's ``MLPClassifier`` on raw pixels (one 256-unit ReLU layer), seed 33.

``judge_images`` gives, for one generator: conditional accuracy (images generated per label,
read by each judge), TSTR (the same judge recipe trained on generated images, tested on the
real test split) beside each judge's real floor (trained on real train, tested on real test),
and Fréchet distance and precision/recall in the ``cnn`` judge's penultimate layer with the
real-vs-real floor (real test against real train).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

BATCH = 128


def _unit(images: np.ndarray) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0


class LeNet(nn.Module):
    def __init__(self, shape: tuple[int, int, int], n_classes: int) -> None:
        super().__init__()
        h, w, c = shape
        self.conv = nn.Sequential(
            nn.Conv2d(c, 32, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(64 * (h // 4) * (w // 4), 256), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(256, n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.skip = (
            nn.Sequential()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.b1(self.c1(x)))
        return F.relu(self.b2(self.c2(h)) + self.skip(x))


class ResNet(nn.Module):
    def __init__(self, shape: tuple[int, int, int], n_classes: int) -> None:
        super().__init__()
        c = shape[2]
        self.stem = nn.Sequential(nn.Conv2d(c, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16))
        self.body = nn.Sequential(_Block(16, 16, 1), _Block(16, 32, 2), _Block(32, 64, 2))
        self.head = nn.Linear(64, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(F.relu(self.stem(x))).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _shift(x: torch.Tensor, px: int, gen: torch.Generator) -> torch.Tensor:
    """Random whole-pixel shifts of up to ``px`` (zero fill)."""
    n, _, h, w = x.shape
    pad = F.pad(x, (px, px, px, px))
    dy = torch.randint(0, 2 * px + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * px + 1, (n,), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = pad[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w]
    return out


@dataclass
class TorchJudge:
    """A torch classifier trained with a fixed recipe (``net`` is ``lenet`` or ``resnet``)."""

    net: str
    seed: int
    epochs: int
    shift: int = 0

    def fit(self, images: np.ndarray, labels: np.ndarray, n_classes: int) -> TorchJudge:
        torch.manual_seed(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        shape = images.shape[1:]
        self.model = (LeNet if self.net == "lenet" else ResNet)(shape, n_classes)
        x, y = _unit(images), torch.as_tensor(labels, dtype=torch.int64)
        steps = self.epochs * math.ceil(len(x) / BATCH)
        if self.net == "lenet":
            opt = torch.optim.Adam(self.model.parameters(), 1e-3)
            sched = None
        else:
            opt = torch.optim.SGD(self.model.parameters(), 0.05, momentum=0.9, weight_decay=5e-4)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.2, total_steps=steps)
        self.model.train()
        for _ in range(self.epochs):
            perm = torch.randperm(len(x), generator=gen)
            for start in range(0, len(x), BATCH):
                idx = perm[start : start + BATCH]
                xb = x[idx] if self.shift == 0 else _shift(x[idx], self.shift, gen)
                loss = F.cross_entropy(self.model(xb), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
        self.model.eval()
        return self

    @torch.no_grad()
    def _run(self, images: np.ndarray, fn) -> np.ndarray:
        out = [fn(_unit(images[s : s + 1000])) for s in range(0, len(images), 1000)]
        return torch.cat(out).numpy()

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self._run(images, lambda x: self.model(x).argmax(1))

    def features(self, images: np.ndarray) -> np.ndarray:
        return self._run(images, self.model.features)


@dataclass
class PixelMLP:
    """scikit-learn's multilayer perceptron on raw pixels scaled to [0, 1]."""

    seed: int
    epochs: int

    def fit(self, images: np.ndarray, labels: np.ndarray, n_classes: int) -> PixelMLP:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        self.model = MLPClassifier(
            hidden_layer_sizes=(256,),
            alpha=1e-3,
            batch_size=BATCH,
            max_iter=self.epochs,
            random_state=self.seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(images.reshape(len(images), -1) / 255.0, labels)
        return self

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.model.predict(images.reshape(len(images), -1) / 255.0)


JUDGES = {
    "cnn": ("LeNet-style CNN, Adam, no augmentation, seed 11", lambda: TorchJudge("lenet", 11, 8)),
    "resnet": (
        "small ResNet (16/32/64), SGD one-cycle, random shifts <= 2 px, seed 22",
        lambda: TorchJudge("resnet", 22, 8, shift=2),
    ),
    "mlp": ("scikit-learn MLP on pixels (256 ReLU units), seed 33", lambda: PixelMLP(33, 30)),
}
FEATURE_JUDGE = "cnn"  # Fréchet distance and precision/recall in its penultimate layer


def _acc(pred: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.asarray(pred) == np.asarray(labels)))


def train_judges(train, test, n_classes: int, names=None) -> dict:
    """Each judge fitted on the real train split; its real floor on the real test split."""
    out = {}
    for name in names or JUDGES:
        t = time.perf_counter()
        judge = JUDGES[name][1]().fit(train.images, train.labels, n_classes)
        out[name] = {
            "judge": judge,
            "description": JUDGES[name][0],
            "real_test_accuracy": _acc(judge.predict(test.images), test.labels),
            "fit_s": time.perf_counter() - t,
        }
    return out


def fidelity(judges: dict, train, test, synthetic_images: np.ndarray, n: int) -> dict:
    """Fréchet distance and precision/recall (k=3) against the real train split in the feature
    judge's penultimate layer, for ``n`` synthetic and ``n`` real test images (the floor)."""
    from synthgen.images.evaluate.metrics import frechet_distance, precision_recall

    feat = judges[FEATURE_JUDGE]["judge"].features
    ref = feat(train.images)
    syn = feat(synthetic_images[:n])
    real = feat(test.images[:n])
    pr_syn = precision_recall(ref, syn, k=3, seed=0)
    pr_real = precision_recall(ref, real, k=3, seed=0)
    return {
        "feature_space": f"penultimate layer of the '{FEATURE_JUDGE}' judge",
        "n": int(min(n, len(synthetic_images))),
        "frechet": frechet_distance(ref, syn),
        "frechet_floor": frechet_distance(ref, real),
        "precision": pr_syn["precision"],
        "recall": pr_syn["recall"],
        "precision_floor": pr_real["precision"],
        "recall_floor": pr_real["recall"],
    }


def judge_generator(judges: dict, test, n_classes: int, conditional, tstr_set, names=None) -> dict:
    """Per judge: conditional accuracy on ``conditional`` (images generated per label), per-label
    accuracy, and TSTR (the judge's recipe trained on ``tstr_set``, tested on real test)."""
    out = {}
    for name in names or judges:
        entry = judges[name]
        pred = entry["judge"].predict(conditional.images)
        per_label = {
            int(k): _acc(pred[conditional.labels == k], conditional.labels[conditional.labels == k])
            for k in np.unique(conditional.labels)
        }
        t = time.perf_counter()
        twin = JUDGES[name][1]().fit(tstr_set.images, tstr_set.labels, n_classes)
        out[name] = {
            "real_floor": entry["real_test_accuracy"],
            "conditional_accuracy": _acc(pred, conditional.labels),
            "per_label": per_label,
            "tstr_accuracy": _acc(twin.predict(test.images), test.labels),
            "tstr_fit_s": time.perf_counter() - t,
        }
    return out
