"""Conditions as faces receive them: ``COLUMN=VALUE`` strings."""

from __future__ import annotations

from synthgen.errors import UsageError, param


def parse_conditions(items: list[str] | None) -> dict[str, str]:
    """``["sex=Female", "income=>50K"]`` -> dict; the first '=' splits name from value."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(
                f"{param('conditions')} '{item}' must look like COLUMN=VALUE.",
                param="conditions",
            )
        name, value = item.split("=", 1)
        name = name.strip()
        if name in out:
            raise UsageError(
                f"{param('conditions')} names column '{name}' twice ({name}={out[name]} and "
                f"{item}); give each column once.",
                param="conditions",
            )
        out[name] = value.strip()
    return out
