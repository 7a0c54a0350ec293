"""The one training loop every model kind runs: generators, detectors' autoencoders, judges.

Epochs of mini-batch steps, a held-out slice for early stopping, learning-rate schedules, a
live progress bar, and checkpoints for ``--resume``. Two ways to bound a run:

* by epochs (``TrainConfig.steps`` unset): ``epochs`` passes, evaluated every ``eval_every``
  epochs, stopping early after ``patience`` evaluations without improvement (but not before
  ``min_epochs``);
* by steps (``steps`` set): exactly that many optimiser steps across as many epochs as it
  takes, evaluated ``evaluations`` times along the way.

The data is one matrix (tables) or a tuple of aligned arrays (images and label codes); the
split, fingerprint, device placement and batches apply to each array alike. Or it is a
``StreamSource`` (out-of-core fitting): then an epoch is one pass over the source's training
rows in the order it streams them (drawn from the loop's generator), the held-out slice and the
rows ``prepare``/``finish`` see are its bounded in-memory validation rows and sample, and
``steps``/``epochs`` bound the run as above.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthgen.core import distributed
from synthgen.core.checkpoint import load_checkpoint, save_checkpoint, tensors_of_run
from synthgen.core.privacy import DPTraining
from synthgen.core.progress import phase, progress_bar
from synthgen.core.regime import OpenTraining
from synthgen.core.trainable import Batch, TrainableModel
from synthgen.core.training_data import (
    StreamSource,
    TrainData,
    all_rows,
    data_fingerprint,
    n_rows,
    place,
    split_rows,
)
from synthgen.errors import ModelFileError, UsageError, param


@dataclass
class TrainConfig:
    """Loop settings shared by all kinds (each kind's defaults are in its registry entry)."""

    epochs: int = 300
    batch_size: int = 500
    val_fraction: float = 0.1
    eval_every: int = 5  # epochs between evaluations (epoch-bounded runs)
    patience: int = 8  # evaluations without improvement before stopping
    min_epochs: int = 30
    seed: int = 0
    steps: int | None = None  # a step-bounded run: exactly this many optimiser steps
    evaluations: int = 25  # evaluations spread over a step-bounded run
    max_val_rows: int | None = None  # cap on the held-out slice


def seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    return gen


@dataclass
class _State:
    """What a run has done so far (what a checkpoint restores)."""

    epoch: int = 0
    step: int = 0
    best_loss: float = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    bad_evals: int = 0
    stopped_early: bool = False


def fit_model(
    model: TrainableModel,
    matrix: TrainData,
    cfg: TrainConfig,
    device: torch.device,
    *,
    progress: bool = True,
    checkpoint: Path | None = None,
    resume: bool = False,
    run_key: dict[str, Any] | None = None,
    description: str | None = None,
    privacy: DPTraining | None = None,
) -> dict[str, Any]:
    """Train ``model`` on ``matrix`` (or a tuple of aligned arrays); returns the training
    summary.

    The data is moved to ``device`` once and stays there. With ``checkpoint``, state is saved
    after each evaluation; ``resume`` continues from it when it matches this run (same data
    fingerprint and settings), and refuses it otherwise. Without ``resume`` an existing
    checkpoint is left alone until this run writes its own.

    With ``privacy`` (DP-SGD) the same loop runs privately: every row trains (no held-out
    slice, no early stopping, no choice of weights by a loss), batches are Poisson samples, the
    model's private optimisers clip and noise per-sample gradients, and the run stops after the
    plan's steps, when its budget is spent.

    Launched by ``torchrun`` (see ``core/distributed.py``), each process trains on its share of
    every batch with gradients all-reduced; rank 0 alone shows progress, and no checkpoint is
    written.
    """
    distributed.refuse_unsupported(resume=resume, private=privacy is not None)
    with distributed.session(device) as group:
        if group is not None:
            device, checkpoint = group.device, None
            progress = progress and group.rank == 0
        regime = privacy if privacy is not None else OpenTraining()
        return _fit(
            model, matrix, cfg, device, progress, checkpoint, resume, run_key, description,
            regime, group,
        )  # fmt: skip


def _fit(
    model, matrix, cfg, device, progress, checkpoint, resume, run_key, description, regime, group
) -> dict[str, Any]:
    gen = seed_everything(cfg.seed)
    source = matrix if isinstance(matrix, StreamSource) else None
    if source is not None:  # out-of-core: batches stream, data is a bounded sample
        if regime.private:
            raise UsageError("Differentially private training needs the rows in memory.")
        data, val = (place(a, all_rows(a), device) for a in (source.sample(), source.validation()))
        n_train, n_val = source.n_rows, n_rows(source.validation())
    else:
        held_out = regime.held_out(cfg.val_fraction)
        train_idx, val_idx = split_rows(n_rows(matrix), held_out, cfg.seed, cfg.max_val_rows)
        data = place(matrix, train_idx, device)
        val = place(matrix, val_idx, device)
        n_train, n_val = len(train_idx), len(val_idx)
    model.to(device)
    if group is not None:
        group.broadcast_state(model)  # rank 0's initial weights everywhere
        group.seed_steps(cfg.seed)
    regime.prepare(model)
    model.prepare(data)
    optimizers = model.make_optimizers()
    if source is not None:
        spe = max(1, source.steps_per_epoch(cfg.batch_size))
    else:
        spe = max(1, model.steps_per_epoch(n_train, cfg.batch_size))
    total = regime.total_steps(cfg.steps if cfg.steps is not None else cfg.epochs * spe)
    schedulers = model.make_schedulers(optimizers, total)
    loop = {k: v for k, v in asdict(cfg).items() if k != "epochs"}  # a resumed run may extend
    fingerprint = source.fingerprint() if source is not None else data_fingerprint(matrix)
    key = {"data": fingerprint, "train": loop, **(run_key or {}), **regime.run_key()}
    optimizers = regime.wrap(model, optimizers)
    key = json.loads(json.dumps(key))  # compare as stored (tuples become lists)
    if group is not None:
        group.attach(optimizers)

    st = _State()
    history: list[dict[str, float]] = []
    if resume and checkpoint is not None and checkpoint.exists():
        with _released(regime, on_success=False):
            history = _restore(checkpoint, key, model, optimizers, schedulers, gen, st, device)

    by_steps = cfg.steps is not None or regime.private
    eval_steps = max(1, total // max(1, cfg.evaluations)) if by_steps else None
    has_val = n_val > 0
    label = description or model.kind
    with progress_bar(progress) as bar, _released(regime):
        task = bar.add_task(label, total=total, completed=min(st.step, total), losses="")
        while not st.stopped_early:
            if by_steps and st.step >= total:
                break
            if not by_steps and st.epoch >= cfg.epochs:
                break
            st.epoch += 1
            model.train(True)
            sums: dict[str, float] = {}
            count = 0
            shown = ""
            if source is not None:
                streamed = source.batches(cfg.batch_size, gen)
                batches = (place(b, all_rows(b), device) for b in streamed)
            else:
                batches = regime.batches(model, data, cfg.batch_size, gen)
            for batch in batches:
                if group is not None:
                    batch = group.share(batch, model.batch_granule())
                for k, v in model.train_step(batch, optimizers).items():
                    sums[k] = sums.get(k, 0.0) + v
                if group is not None:
                    group.broadcast_buffers(model)
                count += 1
                st.step += 1
                for sched in schedulers:
                    sched.step()
                model.after_step(st.step, total)
                shown = " ".join(f"{k}={v / count:.3f}" for k, v in sums.items())
                bar.update(task, completed=min(st.step, total), losses=_where(st, cfg, shown))
                if by_steps and (st.step % eval_steps == 0 or st.step >= total):
                    if regime.private:  # no loss on the rows decides anything
                        _save(checkpoint, model, optimizers, schedulers, key, st, history, gen)
                    elif has_val or st.step >= total:
                        shown = _evaluate(
                            model, val, data, has_val, st, cfg, sums, count, history, group
                        )
                        _save(checkpoint, model, optimizers, schedulers, key, st, history, gen)
                    if st.stopped_early or st.step >= total:
                        break
            if not by_steps and (st.epoch % cfg.eval_every == 0 or st.epoch == cfg.epochs):
                shown = _evaluate(model, val, data, has_val, st, cfg, sums, count, history, group)
                _save(checkpoint, model, optimizers, schedulers, key, st, history, gen)
            suffix = " (early stop)" if st.stopped_early else ""
            bar.update(task, completed=min(st.step, total), losses=_where(st, cfg, shown) + suffix)
    if st.best_state is not None:
        model.load_state_tensors(copy.copy(st.best_state))
        model.to(device)
    model.train(False)
    steps = model.finish_steps(data)
    with phase(progress and steps > 0, model.finish_description, steps) as advance:
        with torch.no_grad():
            model.finish(data, advance)
    if group is not None:
        group.broadcast_state(model)  # every rank ends with rank 0's weights
    return {
        "epochs_run": st.epoch,
        "epochs_max": cfg.epochs if not by_steps else st.epoch,
        "steps": st.step,
        "stopped_early": st.stopped_early,
        "best_val_loss": None if not math.isfinite(st.best_loss) else round(st.best_loss, 6),
        "train_rows": int(n_train),
        "val_rows": int(n_val),
        "history": history,
        **regime.summary(st.step),
    }


@contextlib.contextmanager
def _released(regime: OpenTraining, *, on_success: bool = True) -> Iterator[None]:
    """What the regime hooked into the model (DP-SGD's per-sample hooks) comes off when the
    block ends (``on_success``) or fails."""
    ok = False
    try:
        yield
        ok = True
    finally:
        if on_success or not ok:
            regime.close()


def _where(st: _State, cfg: TrainConfig, losses: str) -> str:
    epochs = f"/{cfg.epochs}" if cfg.steps is None else ""
    return f"epoch {st.epoch}{epochs} {losses}".rstrip()


def _evaluate(
    model: TrainableModel,
    val: Batch,
    data: Batch,
    has_val: bool,
    st: _State,
    cfg: TrainConfig,
    sums: dict[str, float],
    count: int,
    history: list[dict[str, float]],
    group: distributed.Group | None = None,
) -> str:
    """One evaluation: the validation loss, the best weights so far, the early-stop count."""
    losses = {k: v / max(count, 1) for k, v in sums.items()}
    shown = " ".join(f"{k}={v:.3f}" for k, v in losses.items())
    model.train(False)
    with torch.no_grad():
        vloss = model.validation_loss(val if has_val else data)
    model.train(True)
    if vloss is not None and group is not None:
        vloss = group.mean(vloss)  # every rank decides alike
    if vloss is None:
        return shown
    losses["val"] = vloss
    shown += f" val={vloss:.3f}"
    at = {"epoch": st.epoch} if cfg.steps is None else {"epoch": st.epoch, "step": st.step}
    history.append({**at, **{k: round(v, 5) for k, v in losses.items()}})
    best = st.best_loss
    if not model.select_best:
        st.best_loss = vloss  # reported, never used to pick weights or stop
        return shown
    if vloss < best - 1e-4 * abs(best if math.isfinite(best) else 1):
        st.best_loss, st.bad_evals = vloss, 0
        st.best_state = {k: v.clone() for k, v in model.state_tensors().items()}
    else:
        st.bad_evals += 1
    min_epochs = cfg.min_epochs if cfg.steps is None else 0
    if st.bad_evals >= cfg.patience and st.epoch >= min_epochs:
        st.stopped_early = True
    return shown


def _save(path, model, optimizers, schedulers, key, st: _State, history, gen) -> None:
    if path is None:
        return
    tensors, opt_meta = tensors_of_run(model, optimizers, st.best_state, gen)
    meta = {
        "key": key,
        "epoch": st.epoch,
        "step": st.step,
        "best_loss": st.best_loss,
        "bad_evals": st.bad_evals,
        "stopped_early": st.stopped_early,
        "history": history,
        "optimizers": opt_meta,
        "schedulers": [s.state_dict() for s in schedulers],
    }
    save_checkpoint(path, meta, tensors)


def _restore(path, key, model, optimizers, schedulers, gen, st: _State, device) -> list:
    """Load a checkpoint into the run (refusing one written for other data or settings)."""
    from synthgen.core.checkpoint import restore_optimizer

    meta, tensors = load_checkpoint(path)
    old = meta.get("key")
    if isinstance(old, dict) and (old.get("privacy") is not None or "privacy" in key):
        if old.get("privacy") != key.get("privacy"):
            raise UsageError(
                f"Checkpoint {path} is a fit under another privacy plan (budget, epochs, batch "
                "size or rows); continuing it with these settings would spend more than the "
                "budget that was asked for, or void its guarantee. Resume with the same "
                f"settings, or run without {param('resume')} to start afresh.",
                param="resume",
            )
    if old != key:
        raise ModelFileError(
            f"Checkpoint {path} was written for other data or settings; it cannot be resumed. "
            f"Delete it, or run without {param('resume')} to start afresh.",
            param="resume",
        )
    try:
        model.load_state_tensors({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        model.to(device)
        for name, opt in optimizers.items():
            restore_optimizer(name, opt, meta["optimizers"][name], tensors)
        for sched, state in zip(schedulers, meta.get("schedulers", []), strict=False):
            sched.load_state_dict(state)
        best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
        st.best_state = best or None
        st.epoch, st.best_loss = int(meta["epoch"]), float(meta["best_loss"])
        st.step = int(meta.get("step", 0))
        st.bad_evals = int(meta["bad_evals"])
        st.stopped_early = bool(meta.get("stopped_early", False))
        gen.set_state(tensors["rng.cpu"])
        torch.set_rng_state(tensors["rng.torch"])
        return list(meta["history"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as err:
        raise ModelFileError(
            f"Checkpoint {path} cannot be resumed ({err}); delete it to start training afresh."
        ) from None
