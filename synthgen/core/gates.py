"""Quality and privacy gates: ``--fail-under NAME=VALUE``.

A gate reads one figure of the metrics document's ``summary``. Gates whose name ends in
``_max`` are upper bounds (the gate fails when the figure is above the value); every other gate
is a lower bound (it fails when the figure is below the value). A gate whose figure could not be
computed (e.g. ``dcr_share_max`` without a holdout) fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from synthgen.errors import GateFailed, UsageError

__all__ = ["GATES", "Gate", "GateFailed", "UsageError", "check_gates", "enforce", "parse_gates"]

# gate name -> (summary key, what it means)
GATES: dict[str, tuple[str, str]] = {
    "shapes": ("shapes", "mean column-shape score (KS/TV complement)"),
    "trends": ("trends", "mean pair-trend score (correlation/contingency similarity)"),
    "quality": ("quality", "mean of shapes and trends"),
    "trends_strong": (
        "trends_strong",
        "pair trends over associated real pairs (SDMetrics default)",
    ),
    "quality_strong": ("quality_strong", "mean of shapes and trends_strong"),
    "tstr_ratio": ("tstr_ratio", "TSTR / TRTR of ROC-AUC or R^2, mean over models"),
    "detection": ("detection", "detection score 2*(1-max(AUC,0.5)); 1 = indistinguishable"),
    "detection_auc_max": ("detection_auc", "real-vs-synthetic classifier AUC"),
    "nndr": ("nndr", "median nearest-neighbour distance ratio to train"),
    "dcr_share_max": ("dcr_share", "share of synthetic rows closer to train than holdout"),
    "exact_copies_max": ("exact_copies", "share of synthetic rows copied from train"),
    "mmd_max": ("mmd2", "MMD^2 between real and synthetic"),
    "validity": ("validity", "share of GX expectations met (1 = all)"),
}


@dataclass(frozen=True)
class Gate:
    name: str
    threshold: float

    @property
    def key(self) -> str:
        return GATES[self.name][0]

    @property
    def upper(self) -> bool:
        return self.name.endswith("_max")


def valid_names() -> str:
    return ", ".join(
        f"{n} ({'at most' if n.endswith('_max') else 'at least'}: {d})"
        for n, (_, d) in GATES.items()
    )


def parse_gates(specs: list[str] | None) -> list[Gate]:
    """Parse ``NAME=VALUE`` strings; UsageError on a bad one."""
    gates = []
    for spec in specs or []:
        name, sep, raw = spec.partition("=")
        name = name.strip()
        if not sep:
            raise UsageError(f"--fail-under {spec!r} is not NAME=VALUE (e.g. shapes=0.9).")
        if name not in GATES:
            raise UsageError(
                f"--fail-under names an unknown gate '{name}'. Valid gates: {valid_names()}."
            )
        try:
            value = float(raw)
        except ValueError:
            raise UsageError(f"--fail-under {spec}: '{raw}' is not a number.") from None
        if math.isnan(value):
            raise UsageError(f"--fail-under {spec}: the value must be a number, not NaN.")
        gates.append(Gate(name, value))
    return gates


def check_gates(summary: dict, gates: list[Gate]) -> list[dict]:
    """One JSON-able record per gate: name, value, threshold, bound, passed."""
    out = []
    for gate in gates:
        value = summary.get(gate.key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            passed = False
        elif gate.upper:
            passed = value <= gate.threshold
        else:
            passed = value >= gate.threshold
        out.append(
            {
                "name": gate.name,
                "metric": gate.key,
                "value": value,
                "threshold": gate.threshold,
                "bound": "max" if gate.upper else "min",
                "passed": bool(passed),
            }
        )
    return out


def enforce(results: list[dict]) -> None:
    """Raise GateFailed (exit 3) naming every failed gate."""
    failed = [r for r in results if not r["passed"]]
    if not failed:
        return
    parts = []
    for r in failed:
        shown = "not computed" if r["value"] is None else f"{r['value']:.4g}"
        rel = "above the maximum" if r["bound"] == "max" else "below the minimum"
        if r["value"] is None:
            parts.append(
                f"{r['name']}: {r['metric']} was not computed (it needs --holdout or --target)"
            )
        else:
            parts.append(f"{r['name']}: {r['metric']} = {shown} is {rel} {r['threshold']:g}")
    raise GateFailed(f"{len(failed)} gate(s) failed: " + "; ".join(parts) + ".")
