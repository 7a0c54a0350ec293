"""Training and per-column reconstruction errors for the tabular autoencoder.

The encoded table is a float matrix made of *spans*: numeric spans (one standardised value per
column, error = squared error) and categorical spans (a one-hot block, error = cross-entropy of
the softmax over the block's logits). Each span belongs to one source column; a column's error is
the sum of its spans' errors.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from synthgen.anomaly.autoencoder import AutoencoderConfig, build_autoencoder

# Error charged for a one-hot block that is all zeros (a category unseen at fit time): the
# cross-entropy of a category the model gives probability ~1e-4.
UNSEEN_CATEGORY_ERROR = -math.log(1e-4)


@dataclass
class SpanLayout:
    """Where each source column lives in the encoded matrix."""

    n_features: int
    numeric_idx: list[int]  # feature index of each numeric span
    numeric_col: list[int]  # source column index of each numeric span
    onehot: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, column)
    n_columns: int = 0

    def to_dict(self) -> dict:
        return {
            "n_features": self.n_features,
            "numeric_idx": list(self.numeric_idx),
            "numeric_col": list(self.numeric_col),
            "onehot": [list(t) for t in self.onehot],
            "n_columns": self.n_columns,
        }

    @classmethod
    def from_dict(cls, d: dict) -> SpanLayout:
        return cls(
            n_features=int(d["n_features"]),
            numeric_idx=[int(i) for i in d["numeric_idx"]],
            numeric_col=[int(i) for i in d["numeric_col"]],
            onehot=[(int(a), int(b), int(c)) for a, b, c in d["onehot"]],
            n_columns=int(d["n_columns"]),
        )


def column_errors(recon: torch.Tensor, x: torch.Tensor, layout: SpanLayout) -> torch.Tensor:
    """Per-column errors ``(members, batch, n_columns)`` of reconstructions ``(members, batch,
    features)`` against inputs ``(batch, features)``."""
    members, batch = recon.shape[0], recon.shape[1]
    out = recon.new_zeros(members, batch, layout.n_columns)
    if layout.numeric_idx:
        idx = torch.as_tensor(layout.numeric_idx, device=x.device)
        col = torch.as_tensor(layout.numeric_col, device=x.device)
        sq = (recon[:, :, idx] - x[:, idx].unsqueeze(0)) ** 2
        out.index_add_(2, col, sq)
    for start, end, c in layout.onehot:
        logits = recon[:, :, start:end]
        target = x[:, start:end].unsqueeze(0)
        logp = torch.log_softmax(logits, dim=-1)
        ce = -(target * logp).sum(-1)
        seen = target.sum(-1)
        ce = ce + (1.0 - seen).clamp(min=0.0) * UNSEEN_CATEGORY_ERROR
        out[:, :, c] += ce
    return out


@contextlib.contextmanager
def cpu_threads(device: torch.device, n_features: int, members: int) -> Iterator[None]:
    """Run small models on one CPU thread: their matmuls are too small to gain from more, and
    intra-op threads spinning against other busy processes can slow a step tenfold. Restores
    the previous setting afterwards."""
    if device.type != "cpu" or n_features * members > 4096:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class TrainSettings:
    epochs: int = 100
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 8
    val_fraction: float = 0.1
    min_steps: int = 150
    max_steps: int = 3000
    trim: float = 0.0  # share of the highest-loss rows in a batch left out of the loss
    snapshots: tuple[int, ...] = ()  # epochs after which a copy of the weights is kept


def train_autoencoder(
    x: np.ndarray,
    layout: SpanLayout,
    config: AutoencoderConfig,
    settings: TrainSettings,
    *,
    seed: int,
    device: torch.device,
) -> tuple[nn.Module, dict]:
    """Train an ensemble autoencoder on ``x`` with early stopping on a held-out slice."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = build_autoencoder(config).to(device)
    n = x.shape[0]
    perm = torch.randperm(n, generator=gen).numpy()
    n_val = int(round(n * settings.val_fraction)) if n >= 50 else 0
    val_idx, tr_idx = perm[:n_val], perm[n_val:]
    xt = torch.as_tensor(x[tr_idx], dtype=torch.float32, device=device)
    xv = torch.as_tensor(x[val_idx], dtype=torch.float32, device=device) if n_val else None
    n_tr = xt.shape[0]
    bs = max(16, min(settings.batch_size, n_tr))
    steps_per_epoch = max(1, math.ceil(n_tr / bs))
    epochs = settings.epochs
    epochs = min(epochs, max(1, settings.max_steps // steps_per_epoch))
    epochs = max(epochs, min(settings.epochs * 4, math.ceil(settings.min_steps / steps_per_epoch)))
    opt = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    best = math.inf
    best_state = None
    best_epoch = 0
    bad = 0
    started = time.perf_counter()
    history = []
    snaps: list[dict[str, torch.Tensor]] = []
    epoch = 0
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(n_tr, generator=gen).to(device)
        for i in range(steps_per_epoch):
            xb = xt[order[i * bs : (i + 1) * bs]]
            err = column_errors(model(xb), xb, layout).mean(-1)  # (members, batch)
            if settings.trim > 0 and epoch > 1:
                keep = max(1, int(err.shape[1] * (1 - settings.trim)))
                err = torch.topk(err, keep, dim=1, largest=False).values
            loss = err.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if epoch in settings.snapshots:
            snaps.append({k: t.detach().clone() for k, t in model.state_dict().items()})
        if xv is None:
            continue
        model.eval()
        with torch.no_grad():
            v = float(column_errors(model(xv), xv, layout).mean())
        history.append(v)
        if best_state is None or v < best - 1e-4 * abs(best):
            best, best_epoch, bad = v, epoch, 0
            best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
        else:
            bad += 1
            if bad >= settings.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    summary = {
        "epochs_run": epoch,
        "best_epoch": best_epoch if best_state is not None else epoch,
        "val_loss": None if best_state is None else best,
        "rows": int(n),
        "train_rows": int(n_tr),
        "val_rows": int(n_val),
        "batch_size": int(bs),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if settings.snapshots:
        summary["snapshots"] = snaps
    return model, summary


@torch.no_grad()
def predict_column_errors(
    model: nn.Module, x: np.ndarray, layout: SpanLayout, device: torch.device, chunk: int = 8192
) -> np.ndarray:
    """Per-column errors ``(rows, n_columns)`` averaged over ensemble members (eval mode)."""
    model.eval()
    out = np.empty((x.shape[0], layout.n_columns), dtype=np.float64)
    for i in range(0, x.shape[0], chunk):
        xb = torch.as_tensor(x[i : i + chunk], dtype=torch.float32, device=device)
        out[i : i + chunk] = column_errors(model(xb), xb, layout).mean(0).double().cpu().numpy()
    return out
