"""What the figures of a table evaluation mean, in words: one line per summary figure, and an
overall verdict a non-specialist can read at the top of the report."""

from __future__ import annotations

EXPLAIN = {
    "shapes": "how closely each column's distribution matches the real one (1 = identical)",
    "trends": "how closely correlations between column pairs match, all pairs (1 = identical)",
    "quality": "mean of shapes and trends (SDMetrics' quality score)",
    "trends_strong": "pair trends over the pairs related in the real data (SDMetrics default)",
    "quality_strong": "mean of shapes and trends_strong",
    "mmd2": "maximum mean discrepancy between real and synthetic rows (0 = same distribution)",
    "unseen_combinations": "share of rows pairing values of dependent columns never seen "
    "together in the real data (0 = none)",
    "tstr_ratio": "a model trained on synthetic rows, scored on real ones, relative to one "
    "trained on real rows (1 = as useful)",
    "detection_auc": "how well a classifier tells synthetic from real rows (0.5 = cannot)",
    "detection": "2 x (1 - detection AUC): 1 = indistinguishable",
    "exact_copies": "share of synthetic rows that copy a training row",
    "dcr_share": "share of synthetic rows closer to a training row than to a held-out real "
    "row (0.5 = no closer to training data than new real data)",
    "nndr": "median distance ratio to the two nearest training rows (near 1: not copied)",
    "singling_out_risk": "attacker singles out one real person from the synthetic rows, "
    "beyond what works on people the model never saw (0 = no risk)",
    "linkability_risk": "attacker links two halves of a real person's record through the "
    "synthetic rows, beyond the holdout's rate (0 = no risk)",
    "inference_risk": "attacker guesses a real person's secret column from the synthetic rows, "
    "beyond the holdout's rate (0 = no risk)",
    "rare_in_train": "share of synthetic category values held by fewer than 5 training rows "
    "(0 = no rare real value reproduced)",
    "validity": "share of the schema's checks the synthetic data passes (1 = all)",
    "valid": "whether every check passed",
}


def _band(value: float | None, good: float, fair: float, higher: bool = True) -> str | None:
    if value is None:
        return None
    if higher:
        return "good" if value >= good else "fair" if value >= fair else "poor"
    return "good" if value <= good else "fair" if value <= fair else "poor"


def verdict(doc: dict) -> tuple[str, list[str]]:
    """``(level, sentences)``: level is ``good``, ``fair`` or ``poor`` (the worst finding, or
    ``failed`` when a gate failed); each sentence is one finding."""
    s = doc["summary"]
    findings: list[tuple[str, str]] = []
    quality = _band(s.get("quality"), 0.9, 0.8)
    if quality:
        findings.append(
            (
                quality,
                f"Fidelity is {quality}: column shapes {s['shapes']:.2f} and pair trends "
                f"{s['trends']:.2f} of 1.",
            )
        )
    auc = s.get("detection_auc")
    hard = _band(auc, 0.6, 0.75, higher=False)
    if hard:
        words = {"good": "can hardly tell", "fair": "can partly tell", "poor": "easily tells"}
        findings.append(
            (hard, f"A classifier {words[hard]} synthetic rows from real ones (AUC {auc:.2f}).")
        )
    ratio = _band(s.get("tstr_ratio"), 0.95, 0.85)
    if ratio:
        findings.append(
            (
                ratio,
                f"Models trained on synthetic rows reach {100 * s['tstr_ratio']:.0f} % of the "
                "score of models trained on real rows.",
            )
        )
    copies, share = s.get("exact_copies"), s.get("dcr_share")
    if copies is not None:
        close = share is not None and share > 0.6
        level = "poor" if copies > 0.01 or close else "good"
        text = f"{100 * copies:.2f} % of synthetic rows copy a training row" + (
            f"; {100 * share:.0f} % lie closer to training rows than to new real rows."
            if share is not None
            else "."
        )
        findings.append((level, text))
    unseen = s.get("unseen_combinations")
    if unseen is not None:
        level = _band(unseen, 0.01, 0.05, higher=False) or "good"
        findings.append(
            (level, f"{100 * unseen:.1f} % of rows combine dependent values never seen together.")
        )
    if s.get("valid") is not None:
        findings.append(
            (
                "good" if s["valid"] else "poor",
                "Every schema check passed."
                if s["valid"]
                else "Some schema checks failed (see Validity).",
            )
        )
    failed = [g["name"] for g in doc.get("gates", []) if not g["passed"]]
    if failed:
        return "failed", [f"Gate(s) failed: {', '.join(failed)}."] + [t for _, t in findings]
    order = {"poor": 0, "fair": 1, "good": 2}
    level = min((lv for lv, _ in findings), key=order.get, default="good")
    return level, [t for _, t in findings]
