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

from synthgen.tabular.anomaly.autoencoder import AutoencoderConfig, build_autoencoder

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


# ---------------------------------------------------------------------- masked-column model


@dataclass
class CrossLayout:
    """The cross-column model's masking: groups of columns masked together."""

    groups: np.ndarray  # (n_columns,) group id of each column, -1 = never masked
    feature_mask: np.ndarray  # (n_groups, n_features) 1 where a feature belongs to the group
    targets: np.ndarray  # (n_groups, n_columns) 1 where a categorical column is in the group

    @property
    def n_groups(self) -> int:
        return int(self.feature_mask.shape[0])


def cross_layout(layout: SpanLayout, groups: np.ndarray) -> CrossLayout:
    """Masks and targets for ``groups`` (one id per column; only one-hot columns are targets)."""
    groups = np.asarray(groups, dtype=np.int64)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    fmask = np.zeros((n_groups, layout.n_features), dtype=np.float32)
    targets = np.zeros((n_groups, layout.n_columns), dtype=np.float32)
    for idx, c in zip(layout.numeric_idx, layout.numeric_col, strict=True):
        if groups[c] >= 0:
            fmask[groups[c], idx] = 1.0
    for start, end, c in layout.onehot:
        if groups[c] >= 0:
            fmask[groups[c], start:end] = 1.0
            targets[groups[c], c] = 1.0
    return CrossLayout(groups=groups, feature_mask=fmask, targets=targets)


def masked_inputs(
    x: torch.Tensor,
    group: torch.Tensor,
    feature_mask: torch.Tensor,
    extra: torch.Tensor | None = None,
) -> torch.Tensor:
    """Rows ``x`` with group ``group[i]`` of row ``i`` zeroed (and the groups flagged in
    ``extra``, if given), followed by the mask indicators."""
    m = torch.nn.functional.one_hot(group, feature_mask.shape[0]).to(x.dtype)
    if extra is not None:
        m = torch.maximum(m, extra.to(x.dtype))
    return torch.cat([x * (1.0 - m @ feature_mask), m], dim=1)


def train_masked(
    x: np.ndarray,
    layout: SpanLayout,
    cross: CrossLayout,
    config: AutoencoderConfig,
    settings: TrainSettings,
    *,
    seed: int,
    device: torch.device,
    min_steps: int = 0,
    extra_mask: float = 0.15,
) -> tuple[dict[str, torch.Tensor], dict]:
    """Train the cross-column model: each training row has one random group of columns masked,
    and the loss is the cross-entropy of the group's categorical columns, so the network learns
    to predict each categorical value from the rest of the row (it cannot copy it). Every other
    group is also masked with probability ``extra_mask`` (not scored): a regulariser that kept
    the model from memorising the fitting rows (measured on Adult: the fitting rows' and new
    rows' scores drift less apart, and the hardest corrupted rows rank higher).

    Returns the weights that did best on a held-out slice (every group masked in turn) and a
    summary.
    """
    gen = torch.Generator().manual_seed(seed + 7919)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 7919)
        model = build_autoencoder(config).to(device)
    fmask = torch.as_tensor(cross.feature_mask, device=device)
    targets = torch.as_tensor(cross.targets, device=device)
    n_groups = cross.n_groups
    n = x.shape[0]
    perm = torch.randperm(n, generator=gen).numpy()
    n_val = min(int(round(n * settings.val_fraction)), 1000) if n >= 50 else 0
    val_idx, tr_idx = perm[:n_val], perm[n_val:]
    xt = torch.as_tensor(x[tr_idx], dtype=torch.float32, device=device)
    n_tr = xt.shape[0]
    bs = max(8, min(settings.batch_size, n_tr))
    steps_per_epoch = max(1, n_tr // bs)
    # at least ``min_steps`` (small tables), but at most 100 passes over the data
    planned = max(min_steps, settings.epochs * steps_per_epoch)
    total = max(1, min(planned, settings.max_steps, 100 * steps_per_epoch))
    eval_every = max(1, total // 25)
    if n_val:
        xv = torch.as_tensor(x[val_idx], dtype=torch.float32, device=device).repeat(n_groups, 1)
        gv = torch.arange(n_groups, device=device).repeat_interleave(n_val)
        xv_in, tv = masked_inputs(xv, gv, fmask), targets[gv]
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    best, best_state, best_step, bad = math.inf, None, 0, 0
    started = time.perf_counter()
    step, pos, stopped = 0, 0, False
    order = torch.randperm(n_tr, generator=gen).to(device)
    model.train()
    while step < total and not stopped:
        if pos + bs > n_tr:
            order = torch.randperm(n_tr, generator=gen).to(device)
            pos = 0
        xb = xt[order[pos : pos + bs]]
        pos += bs
        g = torch.randint(0, n_groups, (bs,), generator=gen).to(device)
        extra = None
        if extra_mask > 0:
            extra = (torch.rand(bs, n_groups, generator=gen) < extra_mask).to(device)
        err = column_errors(model(masked_inputs(xb, g, fmask, extra)), xb, layout)
        loss = (err * targets[g]).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if n_val and (step % eval_every == 0 or step == total):
            model.eval()
            with torch.no_grad():
                v = float((column_errors(model(xv_in), xv, layout) * tv).sum(-1).mean())
            model.train()
            if best_state is None or v < best - 1e-4 * abs(best):
                best, best_state, best_step, bad = v, _copy(model), step, 0
            else:
                bad += 1
                stopped = bad >= settings.patience
    summary = {
        "steps": step,
        "planned_steps": total,
        "best_step": best_step if best_state is not None else step,
        "early_stopped": bool(stopped),
        "val_loss": None if best_state is None else best,
        "groups": n_groups,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return (best_state if best_state is not None else _copy(model)), summary


@torch.no_grad()
def predict_masked_errors(
    model: nn.Module,
    x: np.ndarray,
    layout: SpanLayout,
    cross: CrossLayout,
    device: torch.device,
    max_elements: int = 1 << 24,
) -> np.ndarray:
    """``(rows, n_columns)``: each categorical column's cross-entropy when its group is masked
    and predicted from the other columns (one pass per group, batched), under the ensemble's
    mean probability; 0 for columns that are not targets. Rows go in chunks sized so that no
    intermediate tensor holds more than about ``max_elements`` values."""
    model.eval()
    width = model.config.members * cross.n_groups * (layout.n_features + cross.n_groups)
    chunk = max(1, max_elements // width)
    fmask = torch.as_tensor(cross.feature_mask, device=device)
    n_groups = cross.n_groups
    groups = torch.as_tensor(np.maximum(cross.groups, 0), device=device)
    is_target = torch.as_tensor(cross.targets.sum(0) > 0, device=device)
    out = np.zeros((x.shape[0], layout.n_columns), dtype=np.float64)
    for i in range(0, x.shape[0], chunk):
        xb = torch.as_tensor(x[i : i + chunk], dtype=torch.float32, device=device)
        rows = xb.shape[0]
        rep = xb.repeat(n_groups, 1)
        g = torch.arange(n_groups, device=device).repeat_interleave(rows)
        err = column_errors(model(masked_inputs(rep, g, fmask)), rep, layout)
        # the ensemble's predictive distribution: -log of the members' mean probability
        err = math.log(err.shape[0]) - torch.logsumexp(-err, dim=0)
        err = err.reshape(n_groups, rows, layout.n_columns)
        picked = err.gather(0, groups.view(1, 1, -1).expand(1, rows, -1))[0]
        out[i : i + rows] = torch.where(is_target, picked, 0.0).double().cpu().numpy()
    return out


def prior_errors(x: np.ndarray, layout: SpanLayout, log_prior: np.ndarray) -> np.ndarray:
    """``(rows, n_columns)``: each one-hot column's cross-entropy under the fitting data's
    category frequencies (``log_prior``: log frequencies at the one-hot features); 0 for other
    columns, and for an unseen category (an all-zero block), so that its deficit keeps the full
    unseen-category error: a category never seen at fit time flags a row on its own."""
    out = np.zeros((x.shape[0], layout.n_columns), dtype=np.float64)
    for start, end, c in layout.onehot:
        out[:, c] = -(x[:, start:end].astype(np.float64) @ log_prior[start:end])
    return out


def log_category_prior(x: np.ndarray, layout: SpanLayout) -> np.ndarray:
    """Log frequencies (add-half smoothed) of every one-hot feature in ``x``; 0 elsewhere."""
    out = np.zeros(layout.n_features, dtype=np.float64)
    for start, end, _ in layout.onehot:
        counts = x[:, start:end].sum(0).astype(np.float64) + 0.5
        out[start:end] = np.log(counts / counts.sum())
    return out
