"""A table fit's privacy settings and the record of them in the model file's manifest."""

from __future__ import annotations

import dataclasses
from typing import Any

from synthgen.core.train import TrainConfig
from synthgen.errors import UsageError, param
from synthgen.tabular.transform.private import RARE_VALUES

DP_EPOCHS = 20  # a private fit's default passes over the rows (more steps need more noise)
DP_MAX_BATCH = 1024
DP_BATCH_SHARE = 1 / 20  # expected batch: this share of the rows (at most DP_MAX_BATCH)


DP_TRAINED = {
    "vae": "encoder and decoder",
    "cgan": "the cgan's critic (its generator learns only through the critic)",
    "ar": "the autoregressive network (each row's gradient formed by synthgen, clipped and "
    "noised by Opacus' DPOptimizer)",
}


def check_protection(rare_values: Any, rare_min_count: Any) -> None:
    if rare_values not in RARE_VALUES:
        raise UsageError(
            f"{param('rare_values')} must be one of {', '.join(RARE_VALUES)}, not {rare_values!r}.",
            param="rare_values",
        )
    if isinstance(rare_min_count, bool) or not isinstance(rare_min_count, int):
        raise UsageError(
            f"{param('rare_min_count')} must be a whole number (0 turns value protection off), "
            f"not {rare_min_count!r}.",
            param="rare_min_count",
        )
    if rare_min_count < 0:
        raise UsageError(
            f"{param('rare_min_count')} must be 0 or more, not {rare_min_count}.",
            param="rare_min_count",
        )


def private_train_config(
    cfg: TrainConfig,
    n_rows: int | None,
    epochs: int | None,
    batch_size: int | None,
    *,
    dp_epochs: int = DP_EPOCHS,
    batch_share: float = DP_BATCH_SHARE,
    max_batch: int = DP_MAX_BATCH,
) -> TrainConfig:
    """A private fit's loop settings: fewer passes and larger batches than the kind's plan
    (the noise per step shrinks relative to the batch), unless the user set them (a kind may
    set its own in its registry entry, ``extra["dp_train"]``); no held-out slice and no early
    stopping (every row trains, no loss on the rows decides anything)."""
    if batch_size is None and n_rows is not None:
        batch = min(max_batch, max(16, int(n_rows * batch_share + 1e-6)))
        cfg = dataclasses.replace(cfg, batch_size=int(batch))
    if epochs is None:
        cfg = dataclasses.replace(cfg, epochs=dp_epochs, min_epochs=0)
    return dataclasses.replace(cfg, val_fraction=0.0, patience=10**9, min_epochs=0)


def privacy_record(est: Any) -> dict[str, Any]:
    """What the manifest records: value protection always, and the DP accounting of a
    private fit (epsilon, delta, the split, the accountant and its parameters)."""
    k = int(est.rare_min_count)
    out: dict[str, Any] = {
        "value_protection": {
            "rare_min_count": k,
            "rare_values": est.rare_values,
            "categories": f"no category held by fewer than {k} rows (noisy k) is generated"
            if k
            else "off",
            "numbers": f"clipped to the k-th smallest and largest value (k = {k}, noisy)"
            if k
            else "off",
        },
        "differential_privacy": None,
    }
    budget = getattr(est, "budget_", None)
    if budget is None:
        return out
    sgd = dict(est.training_.get("privacy", {}))
    stats_eps, stats_delta = budget.part("statistics")
    spent_sgd = float(sgd.get("epsilon_spent", 0.0))
    out["differential_privacy"] = {
        "epsilon": budget.epsilon,
        "delta": budget.delta,
        "delta_default": "1/n^2" if est.dp_delta is None else None,
        "epsilon_spent": stats_eps + spent_sgd,
        "split": budget.split,
        "accountant": sgd.get("accountant"),
        "noise_multiplier": sgd.get("noise_multiplier"),
        "max_grad_norm": sgd.get("max_grad_norm"),
        "sample_rate": sgd.get("sample_rate"),
        "steps": sgd.get("steps"),
        "steps_done": sgd.get("steps_done"),
        "sgd_epsilon_spent": spent_sgd,
        "sgd_delta": sgd.get("delta"),
        "n_rows": sgd.get("n_rows"),
        "neighbouring": "add or remove one row; the row count is public",
        "statistics": {
            "epsilon": stats_eps,
            "delta": stats_delta,
            "per_column": "split evenly over the modelled columns",
            "categories": "Laplace-noised counts; undeclared categories only above the "
            "partition-selection threshold",
            "numbers": "schema min/max or noisy power-of-two bounds; noisy quantile histogram "
            "(binned columns: bins cut at its quantiles, or one per integer of a small range)",
        },
        "switched_off": [
            *(
                ["the VAE's fitted latent prior (a standard normal prior instead)"]
                if est.model == "vae"
                else []
            ),
            *(
                [
                    "condition combinations counted from the rows (the product of the "
                    "condition columns' noisy category counts instead)"
                ]
                if est.model in ("vae", "ar")
                else []
            ),
            "the held-out slice and early stopping (a fixed number of steps)",
            "fixed_combinations from the rows (not enforced)",
            "integer id continuation (fresh tokens instead)",
        ],
        "dp_trained": DP_TRAINED.get(est.model, "the network"),
    }
    return out
