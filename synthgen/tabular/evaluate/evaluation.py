"""``evaluate(real, synthetic, schema)``: the metrics document behind ``synthgen evaluate``.

Each table is subsampled (without replacement) to at most ``max_rows`` rows; the document's
``sampling`` section states what was used. The default keeps Adult (26k rows) whole and
evaluates it in well under a minute on two cores.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgen._version import __version__
from synthgen.core.jsonable import jsonable
from synthgen.core.progress import progress_bar
from synthgen.errors import UsageError, param
from synthgen.schema import TableSchema
from synthgen.tabular.evaluate import attacks, fidelity, privacy, utility
from synthgen.tabular.evaluate.consistency import consistency
from synthgen.tabular.evaluate.frames import Kind, column_kinds, prepare, subsample
from synthgen.tabular.evaluate.validity import validate_synthetic

DEFAULT_MAX_ROWS = 30_000
FORMAT = "synthgen.evaluation/1"
UTILITY_SPLIT = 0.25


@dataclass
class Evaluation:
    """The metrics document plus the analysis frames it was computed on (for the report)."""

    doc: dict
    real: pd.DataFrame
    synthetic: pd.DataFrame
    kinds: dict[str, Kind]


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def run_evaluation(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    *,
    holdout: pd.DataFrame | None = None,
    target: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    seed: int = 0,
    validate: bool = True,
    progress: bool = False,
) -> Evaluation:
    """Compute every section of the metrics document (see README "Evaluation report"), with a
    live bar naming the phase when ``progress``."""
    if not isinstance(schema, TableSchema):
        raise UsageError("Table evaluation needs a table schema; this one describes images.")
    if max_rows < 10:
        raise UsageError(
            f"{param('max_rows')} must be at least 10, got {max_rows}.", param="max_rows"
        )
    kinds = column_kinds(schema)
    if not kinds:
        raise UsageError("The schema has no columns to evaluate (only id or pii columns).")
    target = target if target is not None else schema.target
    if target is not None and target not in kinds:
        raise UsageError(
            f"{param('target')} '{target}' is not an evaluated column of the schema; "
            f"columns: {', '.join(kinds)}.",
            param="target",
        )
    with progress_bar(progress) as bar:
        return _evaluate(
            real, synthetic, schema, holdout, target, kinds, max_rows, seed, validate, bar
        )


def _evaluate(real, synthetic, schema, holdout, target, kinds, max_rows, seed, validate, bar):
    steps = 6 if validate else 5
    task = bar.add_task("evaluating", total=steps, losses="")

    def step(name: str) -> None:
        bar.update(task, description=f"evaluating: {name}")

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    step("preparing")
    raw_syn = subsample(synthetic, max_rows, _rng(seed, 1))
    real_f = prepare(subsample(real, max_rows, _rng(seed, 0)), schema, "real")
    syn_f = prepare(raw_syn, schema, "synthetic")
    hold_f = None
    if holdout is not None:
        hold_f = prepare(subsample(holdout, max_rows, _rng(seed, 2)), schema, "holdout")
    timings["prepare"] = time.perf_counter() - t0

    bar.advance(task)
    step("fidelity")
    t0 = time.perf_counter()
    fid = fidelity.fidelity(real_f, syn_f, kinds, _rng(seed, 3))
    timings["fidelity"] = time.perf_counter() - t0

    consistent = consistency(real, raw_syn, schema)
    bar.advance(task)
    step("utility (TSTR)")
    t0 = time.perf_counter()
    util: dict = {"tstr": None, "detection": None}
    if target is not None:
        train, test, source = real_f, hold_f, "holdout"
        if hold_f is None:
            order = _rng(seed, 4).permutation(len(real_f))
            cut = int(len(real_f) * (1 - UTILITY_SPLIT))
            train, test = real_f.iloc[order[:cut]], real_f.iloc[order[cut:]]
            source = f"real split ({UTILITY_SPLIT:.0%} of the real rows held out)"
        util["tstr"] = utility.tstr(train, syn_f, test, kinds, target, seed)
        util["tstr"]["holdout_source"] = source
    bar.advance(task)
    step("detection")
    util["detection"] = utility.detection(real_f, syn_f, kinds, _rng(seed, 5), seed)
    timings["utility"] = time.perf_counter() - t0

    bar.advance(task)
    step("privacy")
    t0 = time.perf_counter()
    priv = privacy.privacy(real_f, syn_f, hold_f, kinds, _rng(seed, 6))
    priv["attacks"] = attacks.attacks(real_f, syn_f, hold_f, kinds, target, _rng(seed, 7))
    priv["rare_in_train"] = attacks.rare_values(real, raw_syn, kinds)
    timings["privacy"] = time.perf_counter() - t0
    risks = priv["attacks"] or {}

    valid = None
    if validate:
        bar.advance(task)
        step("validity")
        t0 = time.perf_counter()
        valid = validate_synthetic(raw_syn, schema).to_dict()
        timings["validity"] = time.perf_counter() - t0

    tstr = util["tstr"] or {}
    det = util["detection"] or {}
    stats = (valid or {}).get("statistics", {})
    summary = {
        "shapes": fid["shapes"],
        "trends": fid["trends"],
        "quality": fid["quality"],
        "trends_strong": fid["trends_strong"],
        "quality_strong": fid["quality_strong"],
        "mmd2": fid["mmd"]["mmd2"],
        "unseen_combinations": consistent["unseen_rows"],
        "tstr_ratio": tstr.get("tstr_ratio"),
        "detection_auc": det.get("auc"),
        "detection": det.get("score"),
        "exact_copies": priv["exact_copies"],
        "dcr_share": priv["dcr_share"],
        "nndr": priv["nndr"],
        "singling_out_risk": (risks.get("singling_out") or {}).get("risk"),
        "linkability_risk": (risks.get("linkability") or {}).get("risk"),
        "inference_risk": (risks.get("inference") or {}).get("risk"),
        "rare_in_train": priv["rare_in_train"]["share"],
        "validity": None if valid is None else stats["successful"] / max(stats["evaluated"], 1),
        "valid": None if valid is None else valid["success"],
    }
    doc = {
        "format": FORMAT,
        "synthgen_version": __version__,
        "schema": schema.name,
        "target": target,
        "seed": seed,
        "sampling": {
            "max_rows": max_rows,
            "real_rows": len(real),
            "synthetic_rows": len(synthetic),
            "holdout_rows": None if holdout is None else len(holdout),
            "real_rows_used": len(real_f),
            "synthetic_rows_used": len(syn_f),
            "holdout_rows_used": None if hold_f is None else len(hold_f),
            "mmd_rows": fid["mmd"]["rows"],
            "detection_rows_per_side": det.get("rows"),
            "privacy_rows": priv.get("rows"),
            "attack_rows": risks.get("rows"),
        },
        "summary": summary,
        "fidelity": fid,
        "consistency": consistent,
        "utility": util,
        "privacy": priv,
        "validity": valid,
        "gates": [],
        "timings_s": timings,
    }
    bar.update(task, completed=steps, description="evaluated")
    return Evaluation(jsonable(doc), real_f, syn_f, kinds)


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    *,
    holdout: pd.DataFrame | None = None,
    target: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    seed: int = 0,
) -> dict:
    """The metrics document (JSON-able dict; keys documented in README "Evaluation report")."""
    return run_evaluation(
        real, synthetic, schema, holdout=holdout, target=target, max_rows=max_rows, seed=seed
    ).doc
