"""Dataclass configs of model kinds: built from user options, stored as JSON, rebuilt on load.

A config is all a network takes (nanoGPT style). Users set its fields through
``model_options`` (API, pipelines) or ``--model-option KEY=VALUE`` (CLI, where every value
arrives as text); the field's default says what type a value must have.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from synthgen.errors import ModelFileError, UsageError, param


def _coerce(name: str, default: Any, value: Any, what: str) -> Any:
    """``value`` as the type of ``default`` (text from the CLI parsed; nonsense refused)."""

    def bad(expected: str) -> UsageError:
        return UsageError(
            f"{param('model_options')} {name}={value!r} for {what}: expected {expected}.",
            param="model_options",
        )

    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise bad("true or false")
    if isinstance(default, int):
        if isinstance(value, bool):
            raise bad("a whole number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad("a whole number") from None
        if not math.isfinite(number) or not number.is_integer():
            raise bad("a whole number")
        return int(number)
    if isinstance(default, float):
        if isinstance(value, bool):
            raise bad("a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad("a number") from None
        if not math.isfinite(number):
            raise bad("a finite number")
        return number
    if isinstance(default, tuple):
        items = value
        if isinstance(value, str):
            items = [v for v in value.replace(" ", "").split(",") if v]
        if not isinstance(items, (list, tuple)) or not items:
            raise bad("a list such as 128,128")
        sample = default[0] if default else 0
        return tuple(_coerce(name, sample, v, what) for v in items)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad("text")
        return value
    return value


def config_from_options(cls: type, options: dict[str, Any], *, what: str) -> Any:
    """``cls(**options)`` with every key checked and every value coerced to its field's type."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise UsageError(
            f"{param('model_options')} for {what} has unknown key(s) {', '.join(unknown)}; "
            f"it takes {', '.join(fields)}.",
            param="model_options",
        )
    values = {}
    for name, value in options.items():
        f = fields[name]
        default = f.default if f.default is not dataclasses.MISSING else None
        if default is None and f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        values[name] = _coerce(name, default, value, what)
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise UsageError(
            f"{param('model_options')} for {what} are not valid: {err}.", param="model_options"
        ) from None


def config_from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Rebuild a config from a model file's JSON (lists back to tuples where the field is a
    tuple). A field added after a file was written takes the class's ``written_before`` value
    when it has one (the behaviour the file was trained with), else its default."""
    if not isinstance(values, dict):
        raise ModelFileError("model config is not a JSON object")
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ModelFileError(f"model config has unknown keys {unknown}")
    older = {k: v for k, v in getattr(cls, "written_before", {}).items() if k not in values}
    clean = {k: tuple(v) if isinstance(v, list) else v for k, v in {**older, **values}.items()}
    try:
        return cls(**clean)
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"model config is not valid ({err})") from None


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config as JSON-able values (tuples become lists when dumped)."""
    return dataclasses.asdict(config)
