"""The table screening report: one self-contained HTML page in the shared report style."""

from __future__ import annotations

import base64

from synthgen.core.html import esc, page
from synthgen.core.screening import ScoreSummary, histogram_png


def _explain(d: dict) -> str:
    """What the score is made of, in a sentence or two."""
    recon = (
        "Reconstruction score = mean over columns of each column's autoencoder reconstruction "
        "error divided by its mean error on the fitting data"
    )
    if len(d["signals"]) < 2:
        return recon + " (about 1 for a typical fitting row); it is the anomaly score."
    w_r, w_n = d["signal_weights"]
    return (
        f"{recon}; neighbour score = mean distance to the nearest fitting rows. Each is divided "
        f"by its typical level on the fitting data (1 = a typical fitting row). Anomaly score = "
        f"{w_r:g} x reconstruction score + {w_n:g} x neighbour score."
    )


def _summary_rows(d: dict) -> str:
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
    rows += [
        (f"Mean {name.replace('_', ' ')}", f"{v:.4g}")
        for name, v in d["mean_signals"].items()
        if v is not None
    ]
    return "".join(f"<tr><th>{esc(k)}</th><td class=num>{esc(v)}</td></tr>" for k, v in rows)


def _counts(d: dict) -> str:
    if not d["flagged_by_top_column"]:
        return "<p>No rows were flagged.</p>"
    col_rows = "".join(
        f"<tr><td>{esc(c)}</td><td class=num>{n:,}</td></tr>"
        for c, n in d["flagged_by_top_column"].items()
    )
    out = (
        "<table><tr><th>column</th><th>flagged rows where it contributes most</th></tr>"
        f"{col_rows}</table>"
    )
    if d["flagged_by_main_signal"]:
        out += (
            "<h2>Flagged rows by the signal contributing most</h2><table><tr><th>signal</th>"
            "<th>flagged rows</th></tr>"
            + "".join(
                f"<tr><td>{esc(k.replace('_', ' '))}</td><td class=num>{n:,}</td></tr>"
                for k, n in d["flagged_by_main_signal"].items()
            )
            + "</table>"
        )
    return out


def _values_cell(row: dict, typical: dict[str, str]) -> str:
    """The row's values in its top columns, each beside what is typical for the column."""
    if not row["values"]:
        return f"<td>{esc(row['top_columns'])}</td>"
    items = "".join(
        f"<li><b>{esc(col)}</b> = {esc(value)}"
        + (f" <span class=muted>(typical: {esc(typical[col])})</span>" if col in typical else "")
        + "</li>"
        for col, value in row["values"].items()
    )
    return f"<td><ul class=values>{items}</ul></td>"


def report_html(summary: ScoreSummary, *, title: str = "Anomaly screening") -> str:
    d = summary.as_dict()
    png = base64.b64encode(histogram_png(summary)).decode("ascii")
    signals = d["signals"]
    top = "".join(
        f"<tr><td class=num>{r['row']:,}</td><td class=num>{r['score']:.4g}</td>"
        + "".join(f"<td class=num>{r[name]:.4g}</td>" for name in signals)
        + f"<td{' class=flag' if r['is_anomaly'] else ''}>{'yes' if r['is_anomaly'] else 'no'}"
        "</td>" + _values_cell(r, d["typical_values"]) + "</tr>"
        for r in d["top_rows"]
    )
    heads = "".join(f"<th>{esc(name.replace('_', ' '))}</th>" for name in signals)
    body = f"""<h1>{esc(title)}</h1>
<p>{esc(_explain(d))} A row is flagged when its score exceeds the threshold.</p>
<h2>Summary</h2><table>{_summary_rows(d)}</table>
<h2>Score histogram</h2>
<img alt="Histogram of anomaly scores" src="data:image/png;base64,{png}">
<h2>Flagged rows by the column contributing most</h2>{_counts(d)}
<h2>Highest-scoring rows</h2>
<p>Rows are numbered from 1 as in the input file (the <code>input_row</code> column of the
scored output). Each row's top columns are listed with its values and what is typical for the
column in the fitting data.</p>
<table><tr><th>row</th><th>score</th>{heads}<th>flagged</th><th>top columns: value
(typical)</th></tr>{top}</table>"""
    return page(title, body)
