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

# Error charged for a one-hot block that is all zeros (a category unseen at fit time, which has
# no slot and so probability ~0 under the model): the cross-entropy of a probability of 1e-30.
# Large on purpose: one unseen category should flag a row on its own.
UNSEEN_CATEGORY_ERROR = -math.log(1e-30)


@dataclass
class SpanLayout:
    """Where each source column lives in the encoded matrix."""

    n_features: int
    numeric_idx: list[int]  # feature index of each numeric span
    numeric_col: list[int]  # source column index of each numeric span
    onehot: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, column)
    n_columns: int = 0


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
    epochs: int = 20
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 4  # validation rounds without improvement before stopping
    val_fraction: float = 0.1
    max_steps: int = 1000
    # weight snapshots kept along training, at these fractions of the planned steps; the last
    # one is replaced by the weights that did best on the held-out slice
    snapshots: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0)


def _copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: t.detach().clone() for k, t in model.state_dict().items()}


def train_autoencoder(
    x: np.ndarray,
    layout: SpanLayout,
    config: AutoencoderConfig,
    settings: TrainSettings,
    *,
    seed: int,
    device: torch.device,
) -> tuple[list[dict[str, torch.Tensor]], dict]:
    """Train an ensemble autoencoder on ``x`` with early stopping on a held-out slice.

    Returns the weight snapshots (state dicts of ``build_autoencoder(config)``) and a summary.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # seeded init, the caller's global RNG untouched
        torch.manual_seed(seed)
        model = build_autoencoder(config).to(device)
    n = x.shape[0]
    perm = torch.randperm(n, generator=gen).numpy()
    n_val = min(int(round(n * settings.val_fraction)), 5000) if n >= 50 else 0
    val_idx, tr_idx = perm[:n_val], perm[n_val:]
    xt = torch.as_tensor(x[tr_idx], dtype=torch.float32, device=device)
    xv = torch.as_tensor(x[val_idx], dtype=torch.float32, device=device) if n_val else None
    n_tr = xt.shape[0]
    bs = max(8, min(settings.batch_size, n_tr))
    steps_per_epoch = max(1, n_tr // bs)
    total = max(1, min(settings.epochs * steps_per_epoch, settings.max_steps))
    marks = sorted({max(1, int(round(f * total))) for f in settings.snapshots})
    eval_every = max(1, total // 25)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    best, best_state, best_step, bad = math.inf, None, 0, 0
    snaps: list[dict[str, torch.Tensor]] = []
    started = time.perf_counter()
    step = 0
    order = torch.randperm(n_tr, generator=gen).to(device)
    pos = 0
    stopped = False
    model.train()
    while step < total and not stopped:
        if pos + bs > n_tr:
            order = torch.randperm(n_tr, generator=gen).to(device)
            pos = 0
        xb = xt[order[pos : pos + bs]]
        pos += bs
        loss = column_errors(model(xb), xb, layout).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step in marks[:-1]:
            snaps.append(_copy(model))
        if xv is not None and (step % eval_every == 0 or step == total):
            model.eval()
            with torch.no_grad():
                v = float(column_errors(model(xv), xv, layout).mean())
            model.train()
            if best_state is None or v < best - 1e-4 * abs(best):
                best, best_state, best_step, bad = v, _copy(model), step, 0
            else:
                bad += 1
                stopped = bad >= settings.patience
    snaps.append(best_state if best_state is not None else _copy(model))
    summary = {
        "steps": step,
        "planned_steps": total,
        "epochs_run": round(step / steps_per_epoch, 2),
        "best_step": best_step if best_state is not None else step,
        "early_stopped": bool(stopped),
        "val_loss": None if best_state is None else best,
        "snapshots": len(snaps),
        "rows": int(n),
        "train_rows": int(n_tr),
        "val_rows": int(n_val),
        "batch_size": int(bs),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return snaps, summary


def stack_snapshots(
    config: AutoencoderConfig, snaps: list[dict[str, torch.Tensor]]
) -> tuple[AutoencoderConfig, dict[str, torch.Tensor]]:
    """One module holding every snapshot's members (snapshot-major), for single-pass scoring."""
    from dataclasses import replace

    stacked = {k: torch.cat([s[k] for s in snaps], dim=0) for k in snaps[0]}
    return replace(config, members=config.members * len(snaps)), stacked


@torch.no_grad()
def predict_group_errors(
    model: nn.Module,
    x: np.ndarray,
    layout: SpanLayout,
    device: torch.device,
    groups: int = 1,
    chunk: int = 4096,
) -> np.ndarray:
    """Per-column errors ``(groups, rows, n_columns)`` in eval mode, averaged over the members
    of each group (members are stored group-major)."""
    model.eval()
    members = model.config.members
    out = np.empty((groups, x.shape[0], layout.n_columns), dtype=np.float64)
    for i in range(0, x.shape[0], chunk):
        xb = torch.as_tensor(x[i : i + chunk], dtype=torch.float32, device=device)
        err = column_errors(model(xb), xb, layout).double()
        err = err.reshape(groups, members // groups, *err.shape[1:]).mean(dim=1)
        out[:, i : i + chunk] = err.cpu().numpy()
    return out
