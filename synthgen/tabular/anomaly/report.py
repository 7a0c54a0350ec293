"""The screening report: one self-contained HTML page (inline CSS, the plot as a data URI)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from synthgen.tabular.anomaly.stream import ScoreSummary


def histogram_png(summary: ScoreSummary) -> bytes:
    """Histogram of the batch's scores (log axis) with the threshold and fitting quantiles."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.6), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    edges, counts = summary.edges, summary.counts
    nz = np.flatnonzero(counts)
    if len(nz):
        lo, hi = max(nz[0] - 2, 0), min(nz[-1] + 3, len(counts))
        e = edges[lo : hi + 1]
        c = counts[lo:hi]
        ax.stairs(c, e, fill=True, color="#4c78a8", alpha=0.85, label="this batch")
    ax.set_xscale("log")
    ax.axvline(
        summary.threshold, color="#d62728", lw=1.8, label=f"threshold {summary.threshold:.3g}"
    )
    p99 = summary.fit_quantiles.get("p99")
    if p99:
        ax.axvline(p99, color="#555", lw=1, ls="--", label=f"fitting data p99 {p99:.3g}")
    ax.set_xlabel("anomaly score (log scale)")
    ax.set_ylabel("rows")
    extra = []
    if summary.under:
        extra.append(f"{summary.under} below the axis")
    if summary.over:
        extra.append(f"{summary.over} beyond it")
    ax.set_title("Score distribution" + (f" ({', '.join(extra)})" if extra else ""), fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%}.flag{color:#b00;font-weight:600}
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


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
        f"<tr><th>{_esc(k)}</th><td class=num>{_esc(v)}</td></tr>" for k, v in rows
    )
    if d["flagged_by_top_column"]:
        col_rows = "".join(
            f"<tr><td>{_esc(c)}</td><td class=num>{n:,}</td></tr>"
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
        f"<td>{_esc(r['top_columns'])}</td></tr>"
        for r in d["top_rows"]
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{_esc(title)}</h1>
<p>Score = mean over columns of each column's reconstruction error divided by its mean error on
the fitting data (about 1 for a typical fitting row). A row is flagged when its score exceeds the
threshold.</p>
<h2>Summary</h2><table>{summary_rows}</table>
<h2>Score histogram</h2>
<img alt="Histogram of anomaly scores" src="data:image/png;base64,{png}">
<h2>Flagged rows by the column contributing most</h2>{cols}
<h2>Highest-scoring rows</h2>
<table><tr><th>row</th><th>score</th><th>flagged</th><th>top columns</th></tr>{top}</table>
</body></html>
"""


def write_report_html(path: str | Path, summary: ScoreSummary, *, title: str) -> Path:
    """Write the report to ``path`` as given (callers pass an atomic temp path)."""
    path = Path(path)
    path.write_text(report_html(summary, title=title), encoding="utf-8")
    return path
