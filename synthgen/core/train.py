"""The one training loop every model kind runs: epochs of steps, a held-out slice for early
stopping, a rich progress bar with live losses, and checkpoints for ``--resume``.

The data is one matrix (tabular models) or a tuple of aligned arrays (image models: images and
label codes); the split, fingerprint, device placement and batches apply to each array alike."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from synthgen.core.checkpoint import (
    flatten_optimizer,
    load_checkpoint,
    restore_optimizer,
    save_checkpoint,
)
from synthgen.core.trainable import Batch, GenerativeModel
from synthgen.device import resolve_device  # noqa: F401  (re-exported for callers)
from synthgen.errors import ModelFileError


@dataclass
class TrainConfig:
    """Loop settings shared by all models."""

    epochs: int = 300
    batch_size: int = 500
    val_fraction: float = 0.1
    eval_every: int = 5
    patience: int = 8  # evaluations without improvement before stopping
    min_epochs: int = 30
    seed: int = 0


TrainData: TypeAlias = np.ndarray | tuple[np.ndarray, ...]


def data_fingerprint(data: TrainData) -> str:
    """sha256 of the training data (ties a checkpoint to its data). For a tuple, each array's
    dtype and shape are hashed with its bytes."""
    if not isinstance(data, tuple):
        return hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()
    digest = hashlib.sha256()
    for array in data:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _rows(data: TrainData) -> int:
    if not isinstance(data, tuple):
        return len(data)
    sizes = {len(a) for a in data}
    if len(sizes) != 1:
        raise ValueError(f"training arrays differ in length: {sorted(sizes)}")
    return sizes.pop()


def _place(data: TrainData, idx: np.ndarray, device: torch.device) -> Batch:
    """Rows ``idx`` on ``device``: a matrix as float32; in a tuple, floating arrays as float32
    and the others (uint8 images, int64 codes) in their own dtype."""
    if not isinstance(data, tuple):
        return torch.as_tensor(data[idx], dtype=torch.float32, device=device)
    out = []
    for array in data:
        dtype = torch.float32 if np.issubdtype(array.dtype, np.floating) else None
        out.append(torch.as_tensor(np.ascontiguousarray(array[idx]), dtype=dtype, device=device))
    return tuple(out)


def seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    return gen


def _split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_val = int(round(n * fraction)) if n >= 50 else 0
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("epoch {task.completed:>4.0f}/{task.total:.0f}"),
        TextColumn("{task.fields[losses]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )


def fit_model(
    model: GenerativeModel,
    matrix: TrainData,
    cfg: TrainConfig,
    device: torch.device,
    *,
    progress: bool = True,
    checkpoint: Path | None = None,
    resume: bool = False,
    run_key: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``model`` on the transformed ``matrix`` (or a tuple of aligned arrays); returns the
    training summary.

    The data is moved to ``device`` once and stays there. With ``checkpoint``, state is saved
    after each evaluation; ``resume`` continues from it when it matches this run (same data
    fingerprint and configs), and refuses it otherwise.
    """
    gen = seed_everything(cfg.seed)
    train_idx, val_idx = _split(_rows(matrix), cfg.val_fraction, cfg.seed)
    data = _place(matrix, train_idx, device)
    val = _place(matrix, val_idx, device)
    model.to(device)
    model.prepare(data)
    optimizers = model.make_optimizers()
    loop = {k: v for k, v in asdict(cfg).items() if k != "epochs"}  # a resumed run may extend
    key = {"data": data_fingerprint(matrix), "train": loop, **(run_key or {})}
    key = json.loads(json.dumps(key))  # compare as stored (tuples become lists)

    start_epoch, best_loss, best_state, bad_evals = 0, math.inf, None, 0
    history: list[dict[str, float]] = []
    if resume and checkpoint is not None and checkpoint.exists():
        meta, tensors = load_checkpoint(checkpoint)
        if meta.get("key") != key:
            raise ModelFileError(
                f"Checkpoint {checkpoint} was written for other data or settings; it cannot be "
                "resumed. Delete it, or run without --resume to start afresh."
            )
        model.load_state_tensors({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        model.to(device)
        for name, opt in optimizers.items():
            restore_optimizer(name, opt, meta["optimizers"][name], tensors)
        best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
        best_state = best or None
        start_epoch, best_loss = meta["epoch"], meta["best_loss"]
        bad_evals, history = meta["bad_evals"], meta["history"]
        gen.set_state(tensors["rng.cpu"])
        torch.set_rng_state(tensors["rng.torch"])
    elif checkpoint is not None and checkpoint.exists() and not resume:
        checkpoint.unlink()

    stopped_early = False
    epoch = start_epoch
    with _progress(progress) as bar:
        task = bar.add_task(model.kind, total=cfg.epochs, completed=start_epoch, losses="")
        for epoch in range(start_epoch + 1, cfg.epochs + 1):
            model.train(True)
            sums: dict[str, float] = {}
            steps = 0
            for batch in model.batches(data, cfg.batch_size, gen):
                for k, v in model.train_step(batch, optimizers).items():
                    sums[k] = sums.get(k, 0.0) + v
                steps += 1
            losses = {k: v / max(steps, 1) for k, v in sums.items()}
            shown = " ".join(f"{k}={v:.3f}" for k, v in losses.items())
            if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
                model.train(False)
                with torch.no_grad():
                    vloss = model.validation_loss(val if len(val_idx) else data)
                losses["val"] = vloss
                shown += f" val={vloss:.3f}"
                history.append({"epoch": epoch, **{k: round(v, 5) for k, v in losses.items()}})
                if not model.select_best:
                    best_loss = vloss  # reported, never used to pick weights or stop
                elif vloss < best_loss - 1e-4 * abs(best_loss if math.isfinite(best_loss) else 1):
                    best_loss, bad_evals = vloss, 0
                    best_state = {k: v.clone() for k, v in model.state_tensors().items()}
                else:
                    bad_evals += 1
                if checkpoint is not None:
                    _save(
                        checkpoint,
                        model,
                        optimizers,
                        key,
                        epoch,
                        best_loss,
                        bad_evals,
                        history,
                        best_state,
                        gen,
                    )
                if bad_evals >= cfg.patience and epoch >= cfg.min_epochs:
                    stopped_early = True
                    bar.update(task, completed=epoch, losses=shown + " (early stop)")
                    break
            bar.update(task, completed=epoch, losses=shown)
    if best_state is not None:
        model.load_state_tensors(copy.copy(best_state))
        model.to(device)
    model.train(False)
    with torch.no_grad():
        model.finish(data)
    return {
        "epochs_run": epoch,
        "epochs_max": cfg.epochs,
        "stopped_early": stopped_early,
        "best_val_loss": None if not math.isfinite(best_loss) else round(best_loss, 6),
        "train_rows": int(len(train_idx)),
        "val_rows": int(len(val_idx)),
        "history": history,
    }


def _save(path, model, optimizers, key, epoch, best_loss, bad_evals, history, best_state, gen):
    tensors = {f"model.{k}": v for k, v in model.state_tensors().items()}
    opt_meta = {}
    for name, opt in optimizers.items():
        opt_meta[name], opt_tensors = flatten_optimizer(name, opt)
        tensors.update(opt_tensors)
    if best_state is not None:
        tensors.update({f"best.{k}": v for k, v in best_state.items()})
    tensors["rng.cpu"] = gen.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {
        "key": key,
        "epoch": epoch,
        "best_loss": best_loss,
        "bad_evals": bad_evals,
        "history": history,
        "optimizers": opt_meta,
    }
    save_checkpoint(path, meta, tensors)
