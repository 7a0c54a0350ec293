"""Write the metrics document as JSON and as one self-contained HTML page.

The HTML has inline CSS and inline base64 PNG figures only: no scripts, no links, no fonts or
anything else fetched from elsewhere, so it can be mailed or archived as it is.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from synthgen.tabular.evaluate import plots
from synthgen.tabular.evaluate.evaluation import Evaluation

CSS = """
body{font-family:sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#176a1d;font-weight:bold}.bad{color:#b00020;font-weight:bold}
img{max-width:100%}.note{color:#555;font-size:.85em}
"""


def write_json(doc: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def fmt_cell(value) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def html_table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for v in row:
            cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{v if isinstance(v, _Raw) else fmt_cell(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


class _Raw(str):
    """Already-escaped HTML for a table cell."""


def status_cell(ok: bool | None) -> _Raw:
    if ok is None:
        return _Raw("&ndash;")
    return _Raw('<span class="ok">pass</span>' if ok else '<span class="bad">FAIL</span>')


def img_tag(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def gates_html(gates: list[dict]) -> list[str]:
    """The report's gates section (nothing when no gate was asked for)."""
    if not gates:
        return []
    rows = [
        [g["name"], g["metric"], g["value"], g["bound"], g["threshold"], status_cell(g["passed"])]
        for g in gates
    ]
    header = ["gate", "metric", "value", "bound", "threshold", "result"]
    return ["<h2>Gates</h2>", html_table(header, rows)]


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
    parts.append("<h2>Summary</h2>")
    parts.append(html_table(["metric", "value"], [[k, v] for k, v in doc["summary"].items()]))
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
        reason = (tstr or {}).get("skipped", "no target column (give --target)")
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
            plots.bars(
                "privacy",
                ["exact copies", "DCR share", "NNDR"],
                {
                    "synthetic": [priv["exact_copies"], priv["dcr_share"], priv["nndr"]],
                    "real holdout": [
                        priv["exact_copies_holdout"],
                        0.5 if priv["dcr_share"] is not None else None,
                        priv["nndr_holdout"],
                    ],
                },
            ),
            "privacy bars",
        )
    )

    parts.append("<h2>Validity (great-expectations suite from the schema)</h2>")
    if valid is None:
        parts.append("<p>Not run.</p>")
    else:
        st = valid["statistics"]
        parts.append(
            f"<p>{status_cell(valid['success'])} {st['successful']} of {st['evaluated']} "
            "expectations met.</p>"
        )
        parts.append(
            html_table(
                ["expectation", "column", "result", "details"],
                [
                    [r["expectation"], r["column"], status_cell(r["success"]), r["details"]]
                    for r in sorted(valid["results"], key=lambda r: r["success"])
                ],
            )
        )
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>synthgen evaluation: {html.escape(str(doc['schema']))}</title>"
        f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def write_html(ev: Evaluation, path: str | Path) -> None:
    Path(path).write_text(render_html(ev), encoding="utf-8")
