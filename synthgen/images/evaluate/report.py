"""The image evaluation as one self-contained HTML page (inline CSS, base64 PNG grids only).

Same look as the table report (``synthgen.evaluate.report``): a summary table with the
real-vs-real floor beside each fidelity figure, gates, per-label conditional accuracy and
TSTR/TRTR, and a conditional sample grid per label: the top row real images, the rows below
images generated for that label. Every classifier figure comes from synthgen's own classifier
(``ImageClassifier``), named as such on the page: it is the product's judge, not an independent
one (``benchmarks/images.py`` judges the kinds with three classifiers synthgen never uses).
"""

from __future__ import annotations

import html
import io
from pathlib import Path

import numpy as np

from synthgen.core.html import fmt_cell, gates_html, html_table, img_tag, page, verdict_html
from synthgen.images.data import ImageSet, label_values
from synthgen.images.evaluate.evaluation import ImageEvaluation

GRID_COLUMNS = 10
SYNTHETIC_ROWS = 2
MIN_CELL = 48  # small images are scaled up (nearest neighbour) to at least this many pixels
PAD = 2
JUDGE = "synthgen's classifier"  # how the page names the judge of every classifier figure


def _pick(images: ImageSet, code: int | None, n: int, rng: np.random.Generator) -> np.ndarray:
    if code is None or images.labels is None:
        idx = np.arange(len(images))
    else:
        idx = np.flatnonzero(images.labels == code)
    if len(idx) > n:
        idx = np.sort(rng.choice(idx, n, replace=False))
    return images.images[idx]


def grid_png(rows: list[np.ndarray], columns: int = GRID_COLUMNS) -> bytes:
    """A PNG of image rows (each ``(k, H, W, C)`` uint8, k <= columns); a rule after row 1."""
    from PIL import Image

    h, w, c = rows[0].shape[1:]
    scale = max(1, -(-MIN_CELL // max(h, w)))
    ch, cw = h * scale + PAD, w * scale + PAD
    sep = 4
    canvas = np.full((len(rows) * ch + PAD + sep, columns * cw + PAD, 3), 255, np.uint8)
    canvas[PAD + ch + 1 : PAD + ch + sep - 1, :, :] = (176, 0, 32)
    for r, row in enumerate(rows):
        top = PAD + r * ch + (sep if r > 0 else 0)
        for i, img in enumerate(row[:columns]):
            big = img.repeat(scale, 0).repeat(scale, 1)
            if c == 1:
                big = np.repeat(big, 3, axis=2)
            left = PAD + i * cw
            canvas[top : top + h * scale, left : left + w * scale] = big
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def sample_grids(
    real: ImageSet, synthetic: ImageSet, values: list[str], seed: int = 0
) -> list[tuple[str, bytes, int, int]]:
    """``(label value or "all", png, real shown, synthetic shown)`` per label."""
    rng = np.random.default_rng([seed, 99])
    empty = np.zeros((0, *real.shape), np.uint8)
    codes: list[int | None] = list(range(len(values))) if values else [None]
    out = []
    for code in codes:
        shown_real = _pick(real, code, GRID_COLUMNS, rng)
        shown_syn = _pick(synthetic, code, GRID_COLUMNS * SYNTHETIC_ROWS, rng)
        rows = [shown_real if len(shown_real) else empty]
        for r in range(SYNTHETIC_ROWS):
            rows.append(shown_syn[r * GRID_COLUMNS : (r + 1) * GRID_COLUMNS])
        rows = [r if len(r) else empty for r in rows]
        name = "all" if code is None else values[code]
        out.append((name, grid_png(rows), len(shown_real), len(shown_syn)))
    return out


def render_image_html(ev: ImageEvaluation) -> str:
    """The report page for an image evaluation (its document, gates included)."""
    doc = ev.doc
    s, fid, cond, util = doc["sampling"], doc["fidelity"], doc["conditional"], doc["utility"]
    name = html.escape(str(doc["schema"]))
    img = doc["image"]
    parts = [f"<h1>synthgen image evaluation: {name}</h1>"]
    parts.append(
        f'<p class="note">{img["height"]}x{img["width"]}, {img["channels"]} channel(s); real '
        f"training images {s['real_train_used']}, synthetic {s['synthetic_used']} of "
        f"{s['synthetic_images']}, holdout {s['holdout_used']} "
        f"({html.escape(s['holdout_source'])}); at most {s['max_images']} per set; seed "
        f"{doc['seed']}. Judge and feature space: {JUDGE}, a CNN trained "
        f"{doc['classifier']['epochs']} epochs on the real training images, task "
        f"{html.escape(doc['classifier']['task'])}. It is the product's own classifier, not an "
        "independent judge: a classifier of your own may read the images differently.</p>"
    )
    for note in doc["notes"]:
        parts.append(f'<p class="note">{html.escape(note)}</p>')

    parts += verdict_html(*_verdict(doc))
    parts.append("<h2>Summary</h2>")
    rows = [
        [
            "Fréchet distance (classifier features, lower is better)",
            fid["frechet_distance"],
            fid["frechet_floor"],
        ],
        [f"precision (k={fid['k']})", fid["precision"], fid["precision_floor"]],
        [f"recall (k={fid['k']})", fid["recall"], fid["recall_floor"]],
        [f"conditional accuracy ({JUDGE})", cond["accuracy"], util["trtr_accuracy"]],
        [
            f"TSTR accuracy ({JUDGE}; TRTR as reference)",
            util["tstr_accuracy"],
            util["trtr_accuracy"],
        ],
        ["TSTR / TRTR", util["tstr_ratio"], 1.0 if util["tstr_ratio"] is not None else None],
    ]
    if doc["inception"] is not None:
        inc = doc["inception"]
        rows.append([f"Inception FID ({inc['n']} images a side)", inc["fid"], inc["fid_floor"]])
    parts.append(html_table(["metric", "synthetic", "real holdout (floor / ceiling)"], rows))
    parts.append(
        f'<p class="note">Fidelity compares {fid["n"]} images a side with the real training '
        "images; the floor column scores the real holdout the same way, so a generator that "
        "matched the real distribution would score about the floor.</p>"
    )
    parts += gates_html(doc["gates"])

    parts.append("<h2>Per label</h2>")
    if cond["per_label"] is None:
        parts.append(f"<p>Label metrics not computed: {html.escape(str(cond['skipped']))}.</p>")
    else:
        label = html.escape(str(img["label"]))
        parts.append(
            html_table(
                [
                    label,
                    "synthetic images",
                    f"conditional accuracy ({JUDGE})",
                    "holdout images",
                    "TSTR accuracy",
                    "TRTR accuracy",
                ],
                [
                    [
                        v,
                        c["n"],
                        c["accuracy"],
                        util["per_label"][v]["n"],
                        util["per_label"][v]["tstr"],
                        util["per_label"][v]["trtr"],
                    ]
                    for v, c in cond["per_label"].items()
                ],
            )
        )
        parts.append(
            f'<p class="note">Conditional accuracy: the share of the images generated for a '
            f"label that {JUDGE} reads as that label. Chance level "
            f"{fmt_cell(cond['chance'])}. TSTR: a CNN trained on "
            f"{util['train_images']} synthetic images, tested on {util['test_images']} real "
            f"holdout images ({html.escape(util['holdout_source'])}).</p>"
        )

    parts.append("<h2>Conditional samples</h2>")
    parts.append(
        '<p class="note">Per label: the top row real training images, the rows below the red '
        "rule synthetic images of that label, with the share of them that "
        f"{JUDGE} reads as the label.</p>"
    )
    per_label = cond["per_label"] or {}
    values = label_values(ev.schema) if ev.real.labels is not None else []
    for value, png, n_real, n_syn in sample_grids(ev.real, ev.synthetic, values, doc["seed"]):
        title = "all images" if value == "all" else f"{img['label']} = {value}"
        read = per_label.get(value, {}).get("accuracy")
        judged = "" if read is None else f"; {JUDGE} reads {100 * read:.1f} % of them as {value}"
        parts.append(
            f"<h3>{html.escape(title)}</h3>"
            f'<p class="note">{n_real} real, {n_syn} synthetic shown{html.escape(judged)}.</p>'
            + img_tag(png, f"sample grid {title}")
        )

    timings = doc["timings_s"]
    parts.append(
        '<p class="note">Timings (s): '
        + ", ".join(f"{html.escape(k)} {v:.1f}" for k, v in timings.items())
        + "</p>"
    )
    return page(f"synthgen image evaluation: {doc['schema']}", "\n".join(parts))


def write_image_html(ev: ImageEvaluation, path: str | Path) -> None:
    Path(path).write_text(render_image_html(ev), encoding="utf-8")


def _verdict(doc: dict) -> tuple[str, list[str]]:
    """The overall verdict: how the synthetic images read to a classifier trained on real ones,
    how useful they are to train one, and how far their features are from real ones."""
    fid, cond, util = doc["fidelity"], doc["conditional"], doc["utility"]
    findings: list[tuple[str, str]] = []
    acc = cond["accuracy"]
    if acc is not None:
        level = "good" if acc >= 0.95 else "fair" if acc >= 0.85 else "poor"
        findings.append(
            (
                level,
                f"{JUDGE.capitalize()}, trained on the real images, reads {100 * acc:.1f} % "
                "of the synthetic images as their label.",
            )
        )
    ratio = util["tstr_ratio"]
    if ratio is not None:
        level = "good" if ratio >= 0.95 else "fair" if ratio >= 0.85 else "poor"
        findings.append(
            (
                level,
                f"{JUDGE.capitalize()} trained on synthetic images reaches {100 * ratio:.0f} % "
                "of the accuracy it reaches trained on real images.",
            )
        )
    floor = fid["frechet_floor"]
    if fid["frechet_distance"] is not None and floor:
        times = fid["frechet_distance"] / floor
        level = "good" if times <= 3 else "fair" if times <= 10 else "poor"
        findings.append(
            (
                level,
                f"Their features lie {times:.1f} times as far from the real ones as "
                "fresh real images do (Fréchet distance).",
            )
        )
    failed = [g["name"] for g in doc.get("gates", []) if not g["passed"]]
    if failed:
        return "failed", [f"Gate(s) failed: {', '.join(failed)}."] + [t for _, t in findings]
    order = {"poor": 0, "fair": 1, "good": 2}
    return min((lv for lv, _ in findings), key=order.get, default="good"), [t for _, t in findings]
