"""``synthgen model info``: what a model file holds, read from its manifest (no weights)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from synthgen.outputs import require_file

model_app = typer.Typer(
    rich_markup_mode=None,
    name="model",
    help="Inspect model files.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@model_app.command("info", short_help="Show what a model file holds, its privacy included.")
def info_cmd(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="Model file.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON.", show_default=False)
    ] = False,
) -> None:
    """Kind, schema, training and privacy of a model file: for a differentially private fit,
    epsilon, delta, their split, the accountant, noise multiplier, clipping norm, sampling rate
    and steps; for every table model, its value protection.

    \b
    Examples:
      synthgen model info adult.synth
      synthgen model info adult.synth --json
    """
    require_file(model, "Model file")
    from synthgen.jobs.kinds import model_summary

    summary = model_summary(model)
    training = {k: v for k, v in summary["training"].items() if k not in ("history", "privacy")}
    doc = {
        "kind": summary["kind"],
        "schema": summary["schema"].name,
        "training": training,
        "privacy": summary["privacy"] or None,
        "format_version": summary["format_version"],
    }
    if as_json:
        typer.echo(json.dumps(doc, indent=2, default=str))
        return
    for line in info_lines(doc):
        typer.echo(line)


def info_lines(doc: dict[str, Any]) -> list[str]:
    lines = [f"{doc['kind']} model of schema '{doc['schema']}'"]
    t = doc["training"]
    if t:
        lines.append(
            f"training: {t.get('epochs_run')} epochs, {t.get('steps')} steps, "
            f"{t.get('train_rows')} rows"
        )
    privacy = doc.get("privacy") or {}
    vp = privacy.get("value_protection")
    if vp:
        lines.append(
            f"value protection: rare categories ({vp.get('categories')}) as "
            f"{vp.get('rare_values')}; numbers {vp.get('numbers')}"
        )
    dp = privacy.get("differential_privacy")
    if not dp:
        lines.append("differential privacy: none (fit without --dp-epsilon)")
        return lines
    split = ", ".join(
        f"{name} {part['epsilon']:.3g}" for name, part in (dp.get("split") or {}).items()
    )
    lines += [
        f"differential privacy: epsilon {dp['epsilon']:g} (spent {dp['epsilon_spent']:.4g}), "
        f"delta {dp['delta']:.3g}" + (" (default 1/n^2)" if dp.get("delta_default") else ""),
        f"  split of epsilon: {split}",
        f"  DP-SGD ({dp.get('dp_trained')}): accountant {dp.get('accountant')}, noise "
        f"multiplier {dp.get('noise_multiplier'):.4g}, clipping norm {dp.get('max_grad_norm')}, "
        f"sampling rate {dp.get('sample_rate'):.4g}, steps {dp.get('steps_done')} of "
        f"{dp.get('steps')}",
        "  off in DP mode: " + "; ".join(dp.get("switched_off", [])),
    ]
    return lines


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model", short_help="Inspect model files (privacy included).")
