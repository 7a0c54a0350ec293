"""The evaluation of a synthetic table as one self-contained HTML page (see
:mod:`synthgen.core.html`), and its metrics document as JSON."""

from __future__ import annotations

import html
from pathlib import Path

from synthgen.core.html import (
    fmt_cell,
    gates_html,
    html_table,
    img_tag,
    page,
    status_cell,
    verdict_html,
    write_json,
)
from synthgen.tabular.evaluate import plots
from synthgen.tabular.evaluate.evaluation import Evaluation
from synthgen.tabular.evaluate.report_privacy import attacks_html
from synthgen.tabular.evaluate.verdict import EXPLAIN, verdict


def render_html(ev: Evaluation) -> str:
    """The report page for an evaluation (its document, gates included)."""
    doc = ev.doc
    fid, util, priv, valid = doc["fidelity"], doc["utility"], doc["privacy"], doc["validity"]
    parts = [f"<h1>synthgen evaluation: {html.escape(str(doc['schema']))}</h1>"]
    s = doc["sampling"]
    parts.append(
        f'<p class="note">Real rows {s["real_rows_used"]} of {s["real_rows"]}, synthetic rows '
        f"{s['synthetic_rows_used']} of {s['synthetic_rows']}, holdout rows "
        f"{fmt_cell(s['holdout_rows_used'])} (subsampled to at most {s['max_rows']}); "
        f"seed {doc['seed']}; target {fmt_cell(doc['target'])}.</p>"
    )
    parts += verdict_html(*verdict(doc))
    parts.append("<h2>Summary</h2>")
    parts.append(
        html_table(
            ["metric", "value", "what it means"],
            [[k, v, EXPLAIN.get(k, "")] for k, v in doc["summary"].items()],
        )
    )
    parts += gates_html(doc["gates"])

    parts.append("<h2>Fidelity: column shapes (worst first)</h2>")
    parts.append(
        html_table(
            [
                "column",
                "kind",
                "metric",
                "score",
                "Wasserstein (range-scaled)",
                "JS distance",
                "missing real",
                "missing synthetic",
            ],
            [
                [
                    c["column"],
                    c["kind"],
                    c["metric"],
                    c["score"],
                    c["wasserstein"],
                    c["js_distance"],
                    c["missing_real"],
                    c["missing_synthetic"],
                ]
                for c in fid["columns"]
            ],
        )
    )
    order = [c["column"] for c in fid["columns"]]
    parts.append(
        img_tag(
            plots.distributions(ev.real, ev.synthetic, ev.kinds, order),
            "real vs synthetic distributions",
        )
    )
    parts.append("<h2>Fidelity: pair trends (worst 25)</h2>")
    parts.append(
        html_table(
            ["pair", "metric", "score", "real r", "synthetic r", "real Cramer's V"],
            [
                [
                    " / ".join(p["columns"]),
                    p["metric"],
                    p["score"],
                    p["real_correlation"],
                    p["synthetic_correlation"],
                    p["real_association"],
                ]
                for p in fid["pairs"][:25]
            ],
        )
    )
    if fid["pairs"]:
        parts.append(
            img_tag(
                plots.pair_heatmap(fid["pairs"], list(ev.kinds)), "pair trend difference heatmap"
            )
        )
    parts += _consistency(doc.get("consistency"))
    mmd = fid["mmd"]
    parts.append(
        f"<p>MMD&sup2; (RBF, bandwidth {fmt_cell(mmd['bandwidth'])}, {mmd['rows']} rows "
        f"per side): {fmt_cell(mmd['mmd2'])}</p>"
    )

    parts.append("<h2>Utility</h2>")
    tstr = util.get("tstr")
    if tstr and tstr.get("models"):
        metric = tstr["primary_metric"]
        parts.append(
            f"<p>Target <b>{html.escape(tstr['target'])}</b> ({tstr['task']}), "
            f"scored on {html.escape(tstr['holdout_source'])}.</p>"
        )
        rows = []
        for name, m in tstr["models"].items():
            for mode in ("trtr", "tstr"):
                for k, v in (m[mode] or {}).items():
                    rows.append([name, mode.upper(), k, v])
            rows.append([name, "TSTR/TRTR", metric, m["ratio"]])
        parts.append(html_table(["model", "setting", "metric", "value"], rows))
        labels = list(tstr["models"])
        parts.append(
            img_tag(
                plots.bars(
                    f"{metric} on the real holdout",
                    labels,
                    {
                        mode.upper(): [(tstr["models"][n][mode] or {}).get(metric) for n in labels]
                        for mode in ("trtr", "tstr")
                    },
                ),
                "utility bars",
            )
        )
    else:
        reason = (tstr or {}).get("skipped", "no target column: give a target")
        parts.append(f"<p>TSTR/TRTR not computed: {html.escape(reason)}.</p>")
    det = util.get("detection") or {}
    parts.append(
        f"<p>Detection: cross-validated ROC-AUC {fmt_cell(det.get('auc'))} "
        f"(0.5 = indistinguishable), score {fmt_cell(det.get('score'))}.</p>"
    )

    parts.append("<h2>Privacy</h2>")
    parts.append(
        html_table(
            ["metric", "synthetic", "real holdout (reference)"],
            [
                ["exact-copy rate", priv["exact_copies"], priv["exact_copies_holdout"]],
                [
                    "median distance to closest train row",
                    priv["dcr_median_synthetic"],
                    priv["dcr_median_holdout"],
                ],
                ["nearest-neighbour distance ratio (median)", priv["nndr"], priv["nndr_holdout"]],
                ["DCR share closer to train (0.5 ideal)", priv["dcr_share"], 0.5],
            ],
        )
    )
    parts.append(
        f'<p class="note">A copy of the training data would score a DCR share of '
        f"{fmt_cell(priv['dcr_share_of_a_copy'])} on these sample sizes.</p>"
    )
    parts.append(
        img_tag(
            plots.panels(
                "privacy: synthetic rows against the real holdout (a fresh sample of real rows)",
                [
                    (
                        "exact copies",
                        {
                            "synthetic": priv["exact_copies"],
                            "holdout": priv["exact_copies_holdout"],
                        },
                        None,
                        "share of rows found in training",
                    ),
                    (
                        "DCR share",
                        {"synthetic": priv["dcr_share"]},
                        0.5,
                        "0.5 = like new real rows",
                    ),
                    (
                        "NNDR",
                        {"synthetic": priv["nndr"], "holdout": priv["nndr_holdout"]},
                        None,
                        "near 1 = not near one training row",
                    ),
                ],
            ),
            "privacy panels",
        )
    )
    parts += attacks_html(doc)

    parts.append("<h2>Validity (great-expectations suite from the schema)</h2>")
    if valid is None:
        parts.append("<p>Not run.</p>")
    else:
        st = valid["statistics"]
        parts.append(
            f"<p>{status_cell(valid['success'])} {st['successful']} of {st['evaluated']} "
            "expectations met.</p>"
        )
        rows = sorted(valid["results"], key=lambda r: r["success"])
        failed = [r for r in rows if not r["success"]]
        passed = [r for r in rows if r["success"]]
        header = ["expectation", "column", "result", "details"]
        if failed:
            parts.append(
                html_table(
                    header,
                    [
                        [r["expectation"], r["column"], status_cell(False), r["details"]]
                        for r in failed
                    ],
                )
            )
        if passed:
            table = html_table(
                header,
                [[r["expectation"], r["column"], status_cell(True), r["details"]] for r in passed],
            )
            parts.append(
                f"<details><summary>{len(passed)} checks passed (show)</summary>{table}</details>"
            )
    return page(f"synthgen evaluation: {doc['schema']}", "\n".join(parts))


def write_html(ev: Evaluation, path: str | Path) -> None:
    Path(path).write_text(render_html(ev), encoding="utf-8")


__all__ = ["render_html", "write_html", "write_json"]


def _consistency(section: dict | None) -> list[str]:
    """The pairs of dependent columns and how often synthetic rows break them."""
    if not section or not section["pairs"]:
        return []
    rows = [[" + ".join(p["columns"]), p["source"], p["unseen_share"]] for p in section["pairs"]]
    return [
        "<h2>Consistency: dependent columns</h2>",
        '<p class="note">Pairs where one column determines the other in the real data (or a '
        "fixed_combinations constraint of the schema), and the share of synthetic rows with a "
        "combination never seen in the real data.</p>",
        html_table(["columns", "from", "rows with an unseen combination"], rows),
    ]
