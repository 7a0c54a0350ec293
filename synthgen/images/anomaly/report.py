"""The image screening report: the summary and histogram of the table report, and the
highest-scoring images shown beside their scores, in the shared report style."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from synthgen.core.html import esc, page, png_uri
from synthgen.core.screening import histogram_png
from synthgen.images.data import ImageSet


def _thumbnail(image: np.ndarray) -> str:
    """A PNG data URI of one ``(H, W, C)`` uint8 image."""
    from matplotlib import image as mpimg

    buf = io.BytesIO()
    arr = image[..., 0] if image.shape[-1] == 1 else image
    mpimg.imsave(buf, arr, format="png", cmap="gray", vmin=0, vmax=255)
    return png_uri(buf.getvalue())


def report_html(
    summary: Any, images: ImageSet, *, title: str, labels: list[str] | None = None
) -> str:
    """The screening report for images: the tabular report's summary and histogram, and the
    highest-scoring images shown beside their names, labels (``labels``: the label of each
    image, if the images have them) and scores."""
    d = summary.as_dict()
    png = base64.b64encode(histogram_png(summary)).decode("ascii")
    rows = [
        ("Images scored", f"{d['rows']:,}"),
        ("Images flagged", f"{d['flagged']:,} ({100 * d['flagged_share']:.2f} %)"),
        ("Threshold", f"{d['threshold']:.6g}"),
        ("Chosen by", d["threshold_rule"]),
        ("Fitting images above the threshold", f"{100 * d['fitting_share_above_threshold']:.2f} %"),
        ("Mean score", "-" if d["mean_score"] is None else f"{d['mean_score']:.4g}"),
        ("Max score", "-" if d["max_score"] is None else f"{d['max_score']:.4g}"),
    ]
    rows += [(f"Fitting images {k}", f"{v:.4g}") for k, v in d["fitting_score_quantiles"].items()]
    summary_rows = "".join(
        f"<tr><th>{esc(k)}</th><td class=num>{esc(v)}</td></tr>" for k, v in rows
    )
    top = "".join(
        f"<tr><td><img class=thumb alt='image {esc(r['top_columns'])}' "
        f"src='{_thumbnail(images.images[r['row'] - 1])}'></td>"
        f"<td>{esc(r['top_columns'])}</td>"
        + (f"<td>{esc(labels[r['row'] - 1])}</td>" if labels is not None else "")
        + f"<td class=num>{r['score']:.4g}</td>"
        f"<td{' class=flag' if r['is_anomaly'] else ''}>{'yes' if r['is_anomaly'] else 'no'}</td>"
        "</tr>"
        for r in d["top_rows"]
    )
    label_head = "<th>label</th>" if labels is not None else ""
    body = f"""<h1>{esc(title)}</h1>
<p>Score = the image's mean squared reconstruction error under a convolutional autoencoder
ensemble, divided by its mean error on the fitting images (about 1 for a typical fitting image).
An image is flagged when its score exceeds the threshold.</p>
<h2>Summary</h2><table>{summary_rows}</table>
<h2>Score histogram</h2>
<img alt="Histogram of anomaly scores" src="data:image/png;base64,{png}">
<h2>Highest-scoring images</h2>
<table><tr><th>image</th><th>name</th>{label_head}<th>score</th><th>flagged</th></tr>{top}
</table>"""
    return page(title, body)
