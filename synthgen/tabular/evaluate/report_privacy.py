"""The report's attack-based privacy section and the model file's privacy record, worded for
readers who are not privacy specialists."""

from __future__ import annotations

import html

from synthgen.core.html import fmt_cell, html_table

NAMES = {
    "singling_out": (
        "Singling out",
        "Can someone pick out exactly one real person with a rule read off the synthetic rows "
        "(e.g. 'age 87, widowed, from Laos')?",
    ),
    "linkability": (
        "Linkability",
        "Can someone who holds two separate parts of a person's record join them through the "
        "synthetic rows?",
    ),
    "inference": (
        "Inference",
        "Can someone who knows everything about a person but one column guess that column from "
        "the synthetic rows?",
    ),
}


def _band(risk: float | None, high: float | None) -> str:
    if risk is None:
        return "not measured"
    if high is not None and high < 0.05:
        return "no measurable risk"
    if risk < 0.05:
        return "low"
    return "ELEVATED" if risk < 0.2 else "HIGH"


def attacks_html(doc: dict) -> list[str]:
    """The attacks, one row each: risk, its interval, plain words; rare values; DP record."""
    priv = doc["privacy"]
    att = priv.get("attacks")
    parts = ["<h2>Privacy attacks (singling out, linkability, inference)</h2>"]
    if not att:
        parts.append(
            "<p>Not run: the attacks need a holdout (real rows the model never saw) as their "
            "control. Pass --holdout.</p>"
        )
    else:
        parts.append(
            "<p>Each attack is tried on the training rows (people the model learned from) and on "
            "the holdout (people it never saw). The <b>risk</b> is how much better the attack "
            "works on the training rows: 0 means the synthetic data tells an attacker nothing "
            "about the people it was made from that it would not tell about anyone else; 1 "
            "means every attack on them succeeds. The interval is a 95 % confidence interval: "
            "when it includes 0 there is no evidence of a leak.</p>"
        )
        rows = []
        for key, (name, question) in NAMES.items():
            r = att[key]
            lo, hi = r["ci"]
            rows.append(
                [
                    name,
                    question,
                    r["risk"],
                    f"{lo:.3f} to {hi:.3f}",
                    _band(r["risk"], hi),
                    f"{r['attack_rate']:.3f} vs {r['control_rate']:.3f} ({r['tries']} tries)",
                ]
            )
        parts.append(
            html_table(
                [
                    "attack",
                    "the question",
                    "risk",
                    "95% interval",
                    "reading",
                    "success train vs holdout",
                ],
                rows,
            )
        )
        n = att["rows"]
        parts.append(
            f'<p class="note">Subsampled: {n["train"]} of {n["train_subsampled_from"]} training '
            f"rows (as many as the holdout, so both have the same chance of a unique match), "
            f"{n['control']} holdout rows, {n['synthetic']} of {n['synthetic_subsampled_from']} "
            f"synthetic rows, at most {n['attacks']} attacks each. Inference guesses "
            f"'{html.escape(str(att['inference'].get('secret')))}'. {att['method']}.</p>"
        )
    rare = priv.get("rare_in_train") or {}
    parts.append(
        f"<p>Rare real values reproduced: {fmt_cell(rare.get('count'))} synthetic category "
        f"values ({fmt_cell(rare.get('share'))} of all) are values fewer than "
        f"{rare.get('k')} training rows hold; such values can point at one person.</p>"
    )
    parts += model_privacy_html(doc.get("model_privacy"))
    return parts


def model_privacy_html(record: dict | None) -> list[str]:
    if not record:
        return []
    dp = record.get("differential_privacy")
    parts = ["<h2>Model privacy (from the model file)</h2>"]
    if not dp:
        parts.append("<p>No differential privacy: the model was fitted without --dp-epsilon.</p>")
        return parts
    split = ", ".join(f"{k} {v['epsilon']:.3g}" for k, v in dp["split"].items())
    parts.append(
        f"<p>Differentially private: epsilon {dp['epsilon']:g} (spent "
        f"{dp['epsilon_spent']:.4g}), delta {dp['delta']:.3g}. Smaller epsilon is more private; "
        "the guarantee bounds what anyone can learn about one person from the model file, "
        "whatever they know.</p>"
    )
    parts.append(
        html_table(
            ["setting", "value"],
            [
                ["split of epsilon", split],
                ["accountant", dp.get("accountant")],
                ["noise multiplier", dp.get("noise_multiplier")],
                ["clipping norm", dp.get("max_grad_norm")],
                ["sampling rate", dp.get("sample_rate")],
                ["steps", dp.get("steps_done")],
                ["trained privately", dp.get("dp_trained")],
            ],
        )
    )
    return parts
