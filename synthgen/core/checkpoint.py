"""Training checkpoints for ``--resume``: safetensors + JSON in a zip, never pickle.

Optimizer state dicts are flattened into tensors (``opt.NAME.state.I.KEY``) plus JSON
param groups, and rebuilt on load.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from synthgen.core.zipread import MAX_WEIGHTS_BYTES, member_size_problem, read_member
from synthgen.errors import ModelFileError
from synthgen.outputs import atomic_output
from synthgen.parsing import MAX_DEPTH, nesting_depth

MAX_MEMBERS = 16


def flatten_optimizer(
    name: str, opt: torch.optim.Optimizer
) -> tuple[dict, dict[str, torch.Tensor]]:
    """Split an optimizer's state dict into JSON meta and named tensors."""
    state = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"opt.{name}.state.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{key}"] = value
    return {"param_groups": state["param_groups"], "scalars": scalars}, tensors


def restore_optimizer(
    name: str, opt: torch.optim.Optimizer, meta: dict, tensors: dict[str, torch.Tensor]
) -> None:
    """Inverse of ``flatten_optimizer``."""
    prefix = f"opt.{name}.state."
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix):
            idx, field = key[len(prefix) :].split(".", 1)
            state.setdefault(int(idx), {})[field] = value
    for key, value in meta["scalars"].items():
        idx, field = key.split(".", 1)
        state.setdefault(int(idx), {})[field] = value
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    for group in opt.param_groups:  # state of another shape would fail mid-training
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.ndim and value.shape != p.shape:
                    raise ValueError(f"optimizer state {key} does not match its parameter")


def tensors_of_run(
    model: Any,
    optimizers: dict[str, torch.optim.Optimizer],
    best_state: dict[str, torch.Tensor] | None,
    gen: torch.Generator,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A training run's tensors (weights, optimizer state, best weights, random states) and
    the optimizers' JSON meta."""
    tensors = {f"model.{k}": v for k, v in model.state_tensors().items()}
    opt_meta = {}
    for name, opt in optimizers.items():
        opt_meta[name], opt_tensors = flatten_optimizer(name, opt)
        tensors.update(opt_tensors)
    if best_state is not None:
        tensors.update({f"best.{k}": v for k, v in best_state.items()})
    tensors["rng.cpu"] = gen.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    return tensors, opt_meta


def save_checkpoint(path: Path, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    """Write a checkpoint atomically (replacing the previous one)."""
    with atomic_output(path, overwrite=True) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("meta.json", json.dumps(meta, sort_keys=True))
            zf.writestr("tensors.safetensors", save_safetensors(tensors))


def is_checkpoint(path: Path) -> bool:
    """Whether ``path`` is a file written by ``save_checkpoint`` (a zip of its two members)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return {"meta.json", "tensors.safetensors"} <= set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _check_size(path: Path, info: zipfile.ZipInfo) -> None:
    why = member_size_problem(info, 2 * MAX_WEIGHTS_BYTES)
    if why:
        raise ModelFileError(f"Checkpoint {path} cannot be read: {why} Delete it.")


def load_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read a checkpoint written by ``save_checkpoint``."""
    if path.is_dir():
        raise ModelFileError(f"Checkpoint {path} is a folder, not a checkpoint; move it.")
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist()[:MAX_MEMBERS]:
                _check_size(path, info)
            meta = json.loads(read_member(zf, "meta.json"))
            tensors = load_safetensors(read_member(zf, "tensors.safetensors"))
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        KeyError,
        ValueError,
        RecursionError,
        OSError,
        SafetensorError,
        RuntimeError,
    ) as err:
        why = type(err).__name__ if isinstance(err, RecursionError) else str(err)
        raise ModelFileError(
            f"Checkpoint {path} cannot be read ({why}); delete it to start training afresh."
        ) from None
    if not isinstance(meta, dict) or nesting_depth(meta, MAX_DEPTH) > MAX_DEPTH:
        raise ModelFileError(f"Checkpoint {path} is not a synthgen checkpoint; delete it.")
    return meta, tensors
