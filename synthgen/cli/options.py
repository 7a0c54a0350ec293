"""The options commands share, spelled once (fastapi-cli style ``Annotated`` types), and the
parsing of repeatable ``KEY=VALUE`` options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from synthgen.errors import UsageError

Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Replace existing outputs.", show_default=False)
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.", show_default=False)]
Device = Annotated[str, typer.Option("--device", metavar="auto|cpu|cuda", help="Where to compute.")]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDR",
        help="With --engine ray: the cluster (default: RAY_ADDRESS, else a local Ray started "
        "for the run).",
        show_default=False,
    ),
]
SEED_MAX = 2**63 - 1  # numpy and torch take seeds below 2**63


def _seed(text: str | int) -> int:
    """``--seed``: a whole number from 0 to 2**63-1 (what numpy and torch accept), refused as a
    usage error (exit 2) naming the value otherwise."""
    if isinstance(text, int):
        return text
    value = str(text).strip()
    if not value.isdigit() or int(value) > SEED_MAX:
        raise typer.BadParameter(
            f"'{text}' is not a seed; give a whole number from 0 to {SEED_MAX} (2**63-1)."
        )
    return int(value)


Seed = Annotated[
    int,
    typer.Option("--seed", parser=_seed, metavar="N", help="Random seed (same seed, same output)."),
]
FileSeed = Annotated[
    int | None,
    typer.Option(
        "--seed",
        parser=_seed,
        metavar="N",
        help="Random seed (default: the fit seed).",
        show_default=False,
    ),
]
Threads = Annotated[
    int | None,
    typer.Option(
        "--threads",
        min=1,
        metavar="N",
        help="CPU threads (default: 1 for table models, every core for image models).",
        show_default=False,
    ),
]
ModelOptions = Annotated[
    list[str] | None,
    typer.Option(
        "--model-option",
        "-O",
        metavar="KEY=VALUE",
        help="A field of the model kind's config (repeatable), e.g. -O latent_dim=32.",
        show_default=False,
    ),
]
SchemaFile = Annotated[
    Path, typer.Option("--schema", "-s", metavar="SCHEMA", help="Schema file (YAML or JSON).")
]
ModelFile = Annotated[
    Path,
    typer.Option("--model", "-m", metavar="MODEL", help="Model file written by synthgen fit."),
]


def key_values(items: list[str] | None, flag: str) -> dict[str, Any] | None:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}`` (values stay text; the config coerces)."""
    if not items:
        return None
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"{flag} '{item}' must look like KEY=VALUE.")
        if key in out:
            raise UsageError(f"{flag} sets '{key}' twice; give each key once.")
        out[key] = value.strip()
    return out
