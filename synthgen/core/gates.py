"""Quality and privacy gates: ``fail_under`` entries ``NAME=VALUE``.

A gate reads one figure of a metrics document's ``summary``. Gates whose name ends in ``_max``
are upper bounds (the gate fails when the figure is above the value); every other gate is a
lower bound. A gate whose figure could not be computed fails. Which gates exist is each data
kind's business (a table of ``name -> (summary key, meaning)``); this module is the mechanism.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from synthgen.errors import GateFailed, UsageError, param

GateTable = dict[str, tuple[str, str]]


@dataclass(frozen=True)
class Gate:
    name: str
    threshold: float
    key: str

    @property
    def upper(self) -> bool:
        return self.name.endswith("_max")


def describe(table: GateTable) -> str:
    return ", ".join(
        f"{n} ({'at most' if n.endswith('_max') else 'at least'}: {d})"
        for n, (_, d) in table.items()
    )


def parse_gates(specs: list[str] | None, table: GateTable, *, example: str) -> list[Gate]:
    """Parse ``NAME=VALUE`` strings against ``table``; UsageError naming the bad one."""
    where = param("fail_under")
    gates = []
    for spec in specs or []:
        name, sep, raw = str(spec).partition("=")
        name = name.strip()
        if not sep:
            raise UsageError(
                f"{where} {spec!r} is not NAME=VALUE (e.g. {example}).", param="fail_under"
            )
        if name not in table:
            raise UsageError(
                f"{where} names an unknown gate '{name}'. Valid gates: {describe(table)}.",
                param="fail_under",
            )
        try:
            value = float(raw)
        except ValueError:
            raise UsageError(
                f"{where} {spec}: '{raw}' is not a number.", param="fail_under"
            ) from None
        if math.isnan(value):
            raise UsageError(
                f"{where} {spec}: the value must be a number, not NaN.", param="fail_under"
            )
        gates.append(Gate(name, value, table[name][0]))
    return gates


def check_gates(summary: dict, gates: list[Gate]) -> list[dict]:
    """One JSON-able record per gate: name, metric, value, threshold, bound, passed."""
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


def enforce(
    results: list[dict], needs: dict[str, str] | None = None, document: dict | None = None
) -> None:
    """Raise GateFailed (exit 3) naming every failed gate; ``needs`` says what a figure that
    was not computed needs (by summary key); the error carries ``document``."""
    failed = [r for r in results if not r["passed"]]
    if not failed:
        return
    parts = []
    for r in failed:
        if r["value"] is None:
            why = (needs or {}).get(r["metric"], "more input")
            parts.append(f"{r['name']}: {r['metric']} was not computed (it needs {why})")
        else:
            rel = "above the maximum" if r["bound"] == "max" else "below the minimum"
            parts.append(
                f"{r['name']}: {r['metric']} = {r['value']:.4g} is {rel} {r['threshold']:g}"
            )
    err = GateFailed(f"{len(failed)} gate(s) failed: " + "; ".join(parts) + ".")
    err.document = document
    raise err
