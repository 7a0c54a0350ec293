"""The gates of table evaluation (``fail_under``), read from the metrics summary."""

from __future__ import annotations

from synthgen.core.gates import Gate, GateTable, check_gates, enforce, parse_gates
from synthgen.errors import param

GATES: GateTable = {
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
    "unseen_combinations_max": (
        "unseen_combinations",
        "share of rows pairing values of dependent columns never seen together",
    ),
    "validity": ("validity", "share of GX expectations met (1 = all)"),
    "singling_out_risk_max": ("singling_out_risk", "singling-out attack risk (0 = none)"),
    "linkability_risk_max": ("linkability_risk", "linkability attack risk (0 = none)"),
    "inference_risk_max": ("inference_risk", "attribute-inference attack risk (0 = none)"),
    "rare_in_train_max": (
        "rare_in_train",
        "share of synthetic category values held by fewer than 5 training rows",
    ),
}
NEEDS = {
    "tstr_ratio": f"{param('holdout')} or {param('target')}",
    "dcr_share": param("holdout"),
    "nndr": param("holdout"),
    "singling_out_risk": param("holdout"),
    "linkability_risk": param("holdout"),
    "inference_risk": param("holdout"),
}


def parse_table_gates(specs: list[str] | None) -> list[Gate]:
    return parse_gates(specs, GATES, example="shapes=0.9")


def gate_results(summary: dict, gates: list[Gate]) -> list[dict]:
    return check_gates(summary, gates)


def enforce_table_gates(results: list[dict], document: dict | None = None) -> None:
    enforce(results, NEEDS, document)
