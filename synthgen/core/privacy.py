"""Differential privacy: the budget, its split, and the DP-SGD plan the one training loop runs.

A fit with ``dp_epsilon`` spends its (epsilon, delta) budget in parts that compose by basic
composition (the epsilons add up, the deltas add up):

* ``statistics``: what the transformer learns from the rows (noisy category counts with rare
  categories suppressed under a noisy threshold, noisy numeric bounds and quantiles), split
  evenly over the columns that need it (columns whose range or categories the schema declares
  need less);
* ``sgd``: DP-SGD with Opacus -- per-sample gradient clipping, Poisson sampling of every batch,
  Gaussian noise calibrated by the RDP accountant so that the planned number of steps spends
  exactly this part; the loop stops when it is spent.

The neighbouring relation is adding or removing one row; the number of training rows is treated
as public (as Opacus' sampling rate does).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from synthgen.core.regime import OpenTraining
from synthgen.errors import UsageError, param

STATS_SHARE = 0.2  # share of epsilon (and of delta) spent on the transformer's statistics
DEFAULT_CLIP = 1.0  # per-sample gradient norm bound (a kind may set its own: extra["dp_clip"])
ACCOUNTANT = "rdp"


def default_delta(n_rows: int) -> float:
    """The default delta: 1 / n^2 for n training rows (smaller than the 1/n that would allow
    releasing a whole row)."""
    return 1.0 / max(n_rows, 2) ** 2


def check_budget(epsilon: float | None, delta: float | None, n_rows: int | None = None) -> None:
    """Refuse a budget that gives no guarantee: epsilon <= 0 (or not finite), delta outside
    (0, 1/n) -- a delta of 1/n or more allows publishing a real row outright."""
    if epsilon is None:
        if delta is not None:
            raise UsageError(
                f"{param('dp_delta')} applies only with {param('dp_epsilon')}; give both, or "
                "neither for a fit without differential privacy.",
                param="dp_delta",
            )
        return
    if not isinstance(epsilon, int | float) or not math.isfinite(epsilon) or epsilon <= 0:
        raise UsageError(
            f"{param('dp_epsilon')} must be a positive finite number, not {epsilon!r}: epsilon "
            "bounds how much one row can change the model file (typical values are 1 to 10; "
            "smaller is more private).",
            param="dp_epsilon",
        )
    if delta is None:
        return
    if not isinstance(delta, int | float) or not math.isfinite(delta) or not 0 < delta < 1:
        raise UsageError(
            f"{param('dp_delta')} must be a small positive number such as 1e-6, not {delta!r}.",
            param="dp_delta",
        )
    if n_rows is not None and delta >= 1.0 / max(n_rows, 1):
        raise UsageError(
            f"{param('dp_delta')} {delta:g} is not small for {n_rows} training rows: a delta of "
            f"1/n ({1.0 / max(n_rows, 1):.3g}) or more lets a mechanism publish a real row "
            f"outright. Give {param('dp_delta')} below 1/n, or leave it out for the default "
            f"1/n^2 ({default_delta(n_rows):.3g}).",
            param="dp_delta",
        )


@dataclass
class Budget:
    """An (epsilon, delta) budget and how it is split between the parts of a fit."""

    epsilon: float
    delta: float
    split: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def for_fit(cls, epsilon: float, delta: float | None, n_rows: int, stats: bool) -> Budget:
        check_budget(epsilon, delta, n_rows)
        delta = default_delta(n_rows) if delta is None else float(delta)
        share = STATS_SHARE if stats else 0.0
        split = {
            "statistics": {"epsilon": epsilon * share, "delta": delta * share},
            "sgd": {"epsilon": epsilon * (1 - share), "delta": delta * (1 - share)},
        }
        return cls(float(epsilon), delta, split)

    def part(self, name: str) -> tuple[float, float]:
        p = self.split[name]
        return p["epsilon"], p["delta"]


@dataclass
class DPTraining(OpenTraining):
    """DP-SGD for the training loop: which optimisers are private, Poisson batches, the noise
    multiplier that spends ``epsilon`` in ``steps`` steps, and the accountant (the loop's hooks
    of ``OpenTraining``, each overridden).

    The model names the optimisers that see rows (``TrainableModel.private_optimizers``; the
    cgan's critic) and the modules behind each; their per-sample gradients are clipped to
    ``max_grad_norm`` and noised. Other optimisers (the generator) learn only through private
    modules, which is post-processing.
    """

    epsilon: float
    delta: float
    sample_rate: float
    steps: int
    noise_multiplier: float
    max_grad_norm: float = DEFAULT_CLIP
    accountant: str = ACCOUNTANT
    n_rows: int = 0

    @classmethod
    def plan(
        cls,
        epsilon: float,
        delta: float,
        n_rows: int,
        batch_size: int,
        epochs: int,
        max_grad_norm: float = DEFAULT_CLIP,
    ) -> DPTraining:
        """Steps for ``epochs`` passes at the expected batch ``batch_size``, and the noise that
        spends (``epsilon``, ``delta``) over them."""
        try:
            from opacus.accountants.utils import get_noise_multiplier
        except ImportError:
            raise UsageError(
                f"{param('dp_epsilon')} needs Opacus, which is not installed; install the "
                "'dp' extra (pip install 'synthgen[dp]')."
            ) from None

        rate = min(1.0, batch_size / max(n_rows, 1))
        steps = max(1, int(round(epochs / rate)))
        with quiet():
            sigma = get_noise_multiplier(
                target_epsilon=epsilon,
                target_delta=delta,
                sample_rate=rate,
                steps=steps,
                accountant=ACCOUNTANT,
            )
        return cls(epsilon, delta, rate, steps, float(sigma), max_grad_norm, ACCOUNTANT, n_rows)

    # ------------------------------------------------------------------ the loop's hooks
    private = True

    def held_out(self, val_fraction: float) -> float:
        return 0.0  # every row trains; no loss on the rows decides anything

    def total_steps(self, planned: int) -> int:
        return self.steps  # the steps the budget was planned for

    def prepare(self, model: Any) -> None:
        model.make_private()

    def run_key(self) -> dict[str, Any]:
        return {"privacy": asdict(self)}

    def wrap(self, model: Any, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, Any]:
        """Per-sample gradients on the model's private modules; their optimisers clip and
        noise. Returns the optimisers the model steps (the others as they were)."""
        from opacus.grad_sample import GradSampleModule
        from opacus.optimizers import DPOptimizer

        self._hooked: list[Any] = []
        out = dict(optimizers)
        expected = max(1, int(round(self.sample_rate * self.n_rows)))
        model.private_batch = expected
        with quiet():
            for name in model.private_optimizers():
                for module in model.private_modules(name):
                    self._hooked.append(GradSampleModule(module, loss_reduction="mean"))
                out[name] = DPOptimizer(
                    optimizers[name],
                    noise_multiplier=self.noise_multiplier,
                    max_grad_norm=self.max_grad_norm,
                    expected_batch_size=expected,
                    loss_reduction="mean",
                )
        model.private_hooks = self._hooked
        return out

    def batches(
        self, model: Any, data: Any, batch_size: int, generator: torch.Generator
    ) -> Iterator[Any]:
        """One epoch of Poisson-sampled batches: every row joins each batch independently
        with probability ``sample_rate`` (a batch may be empty; ``batch_size`` is the
        expected size the plan was made for)."""
        first = data[0] if isinstance(data, tuple) else data
        n = first.shape[0]
        for _ in range(max(1, int(round(1 / self.sample_rate)))):
            keep = torch.rand(n, generator=generator) < self.sample_rate
            idx = keep.nonzero().squeeze(1).to(first.device)
            yield tuple(t[idx] for t in data) if isinstance(data, tuple) else data[idx]

    def close(self) -> None:
        for gsm in getattr(self, "_hooked", []):
            gsm.remove_hooks()
        self._hooked = []

    # ------------------------------------------------------------------ accounting
    def spent(self, steps: int | None = None) -> float:
        """Epsilon spent after ``steps`` steps (default: all of them), by the accountant."""
        return spent_epsilon(
            self.noise_multiplier,
            self.sample_rate,
            steps or self.steps,
            self.delta,
            self.accountant,
        )

    def summary(self, steps_done: int) -> dict[str, Any]:
        return {"privacy": self.record(steps_done)}

    def record(self, steps_done: int) -> dict[str, Any]:
        out = asdict(self)
        out["steps_done"] = int(steps_done)
        out["epsilon_spent"] = self.spent(max(steps_done, 1)) if steps_done else 0.0
        return out


def spent_epsilon(sigma: float, rate: float, steps: int, delta: float, accountant: str) -> float:
    """The epsilon an accountant gives ``steps`` DP-SGD steps of noise ``sigma`` at sampling
    rate ``rate`` (what a reader recomputes from the recorded parameters)."""
    from opacus.accountants import create_accountant

    acc = create_accountant(accountant)
    acc.history = [(sigma, rate, int(steps))]
    with quiet():
        return float(acc.get_epsilon(delta=delta))


class quiet(warnings.catch_warnings):
    """Opacus' and torch's warnings about hooks and secure RNG never reach users."""

    def __enter__(self):
        out = super().__enter__()
        warnings.simplefilter("ignore")
        return out
