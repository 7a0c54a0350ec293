"""The table screening report: one self-contained HTML page in the shared report style."""

from __future__ import annotations

import base64

from synthgen.core.html import esc, page
from synthgen.core.screening import ScoreSummary, histogram_png


def report_html(summary: ScoreSummary, *, title: str = "Anomaly screening") -> str:
    d = summary.as_dict()
    png = base64.b64encode(histogram_png(summary)).decode("ascii")
    share = f"{100 * d['flagged_share']:.2f} %"
    rows = [
        ("Rows scored", f"{d['rows']:,}"),
        ("Rows flagged", f"{d['flagged']:,} ({share})"),
        ("Threshold", f"{d['threshold']:.6g}"),
        ("Chosen by", d["threshold_rule"]),
        ("Fitting rows above the threshold", f"{100 * d['fitting_share_above_threshold']:.2f} %"),
        ("Mean score", "-" if d["mean_score"] is None else f"{d['mean_score']:.4g}"),
        ("Max score", "-" if d["max_score"] is None else f"{d['max_score']:.4g}"),
    ]
    rows += [(f"Fitting data {k}", f"{v:.4g}") for k, v in d["fitting_score_quantiles"].items()]
    summary_rows = "".join(
        f"<tr><th>{esc(k)}</th><td class=num>{esc(v)}</td></tr>" for k, v in rows
    )
    if d["flagged_by_top_column"]:
        col_rows = "".join(
            f"<tr><td>{esc(c)}</td><td class=num>{n:,}</td></tr>"
            for c, n in d["flagged_by_top_column"].items()
        )
        cols = (
            "<table><tr><th>column</th><th>flagged rows where it contributes most</th></tr>"
            f"{col_rows}</table>"
        )
    else:
        cols = "<p>No rows were flagged.</p>"
    top = "".join(
        f"<tr><td class=num>{r['row']:,}</td><td class=num>{r['score']:.4g}</td>"
        f"<td{' class=flag' if r['is_anomaly'] else ''}>{'yes' if r['is_anomaly'] else 'no'}</td>"
        f"<td>{esc(r['top_columns'])}</td></tr>"
        for r in d["top_rows"]
    )
    body = f"""<h1>{esc(title)}</h1>
<p>Score = mean over columns of each column's reconstruction error divided by its mean error on
the fitting data (about 1 for a typical fitting row). A row is flagged when its score exceeds the
threshold.</p>
<h2>Summary</h2><table>{summary_rows}</table>
<h2>Score histogram</h2>
<img alt="Histogram of anomaly scores" src="data:image/png;base64,{png}">
<h2>Flagged rows by the column contributing most</h2>{cols}
<h2>Highest-scoring rows</h2>
<table><tr><th>row</th><th>score</th><th>flagged</th><th>top columns</th></tr>{top}</table>"""
    return page(title, body)
