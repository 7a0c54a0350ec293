"""One look for every report: a self-contained HTML page (inline CSS, base64 PNG figures, no
scripts, links or fonts fetched from elsewhere), its tables, cells and figures."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#176a1d;font-weight:bold}.bad{color:#b00020;font-weight:bold}.flag{color:#b00020}
img{max-width:100%}.note{color:#555;font-size:.85em}
.verdict{border-left:6px solid #888;padding:.4em 1em;margin:1em 0;background:#f7f7f7}
.verdict.good{border-color:#2e7d32}.verdict.fair{border-color:#f9a825}
.verdict.poor,.verdict.failed{border-color:#c62828}.verdict ul{margin:.3em 0}
details summary{cursor:pointer;color:#333;margin:.4em 0}
img.thumb{width:56px;image-rendering:pixelated;background:#000}
.muted{color:#666}ul.values{margin:0;padding-left:1.1em}
"""


class Raw(str):
    """Already-escaped HTML for a table cell."""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def fmt_cell(value: Any) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    return esc(value)


def html_table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for v in row:
            cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{v if isinstance(v, Raw) else fmt_cell(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def status_cell(ok: bool | None) -> Raw:
    if ok is None:
        return Raw("&ndash;")
    return Raw('<span class="ok">pass</span>' if ok else '<span class="bad">FAIL</span>')


def png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def img_tag(png: bytes, alt: str, css_class: str | None = None) -> str:
    cls = f' class="{css_class}"' if css_class else ""
    return f'<img{cls} alt="{esc(alt)}" src="{png_uri(png)}">'


def figure_png(fig: Any) -> bytes:
    """A matplotlib Figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def gates_html(gates: list[dict]) -> list[str]:
    """A report's gates section (nothing when no gate was asked for)."""
    if not gates:
        return []
    rows = [
        [g["name"], g["metric"], g["value"], g["bound"], g["threshold"], status_cell(g["passed"])]
        for g in gates
    ]
    header = ["gate", "metric", "value", "bound", "threshold", "result"]
    return ["<h2>Gates</h2>", html_table(header, rows)]


def verdict_html(level: str, sentences: list[str]) -> list[str]:
    """The verdict box at the top of a report: a level (good, fair, poor, failed) and one
    sentence per finding."""
    words = {"good": "Good", "fair": "Fair", "poor": "Poor", "failed": "Failed gates"}
    items = "".join(f"<li>{esc(t)}</li>" for t in sentences)
    return [
        f'<div class="verdict {esc(level)}"><b>Verdict: {esc(words.get(level, level))}</b>'
        f"<ul>{items}</ul></div>"
    ]


def page(title: str, body: str) -> str:
    """The whole page: the shared style, the title, the body."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` as given (callers pass an atomic temp path)."""
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path


def write_json(doc: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
