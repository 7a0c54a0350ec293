"""Anomaly screening from files: fit a detector on trusted data, score new data into a table
of scored rows (all of them, or only the flagged ones) and an HTML report; tables and images."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthgen.core.html import write_text
from synthgen.core.screening import FLAG, TOP, ScoreSummary
from synthgen.dtypes import STRING_DTYPE
from synthgen.errors import OutputError, UsageError, param
from synthgen.images.anomaly.detector import IMAGE
from synthgen.images.anomaly.report import report_html as image_report_html
from synthgen.images.io import read_images, screening_schema
from synthgen.jobs.kinds import (
    data_of,
    default_kind,
    estimator_class,
    load_estimator,
    read_data,
    schema_of,
)
from synthgen.outputs import atomic_output, check_output
from synthgen.tabular.anomaly.report import report_html as table_report_html
from synthgen.tabular.anomaly.scoring import DEFAULT_CHUNK_ROWS, read_chunks, score_chunks
from synthgen.tabular.io import ChunkEncoder, TableWriter, table_format


def fit_detector_to_file(
    data: str | Path,
    schema_path: str | Path,
    output: str | Path,
    *,
    epochs: int | None = None,
    seed: int = 0,
    device: str = "auto",
    overwrite: bool = False,
    progress: bool = True,
    model_options: dict[str, Any] | None = None,
    threads: int | None = None,
    **params: Any,
) -> Any:
    """Read trusted ``data`` with its schema, fit a detector (table or image, as the schema
    says), write it atomically to ``output``; returns the fitted detector."""
    schema = schema_of(schema_path)
    kind = data_of(schema)
    options = {"epochs": epochs} if epochs is not None else {}
    det = estimator_class(kind, "detector")(
        default_kind(kind, "detector"),
        random_state=seed,
        device=device,
        progress=progress,
        model_options=model_options,
        threads=threads,
        **options,
        **params,
    )
    det.check_params()  # bad options, a bad seed and cuda without a GPU: before reading data
    check_output(output, overwrite=overwrite, inputs=(data, schema_path))
    det.fit(read_data(data, schema, strict_values=False, source="Fitting data"), schema)
    det.save(output, overwrite=overwrite, inputs=(data, schema_path))
    return det


def score_to_file(
    data: str | Path,
    model_path: str | Path,
    *,
    output: str | Path | None = None,
    flagged: str | Path | None = None,
    report: str | Path | None = None,
    contamination: float | None = None,
    threshold: float | None = None,
    overwrite: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    device: str = "auto",
    progress: bool = True,
) -> ScoreSummary:
    """Score ``data`` with a detector file into ``output`` (every row), ``flagged`` (only the
    flagged rows) and ``report`` (HTML), all or nothing. Returns the summary."""
    targets = {k: Path(v) for k, v in (("output", output), ("flagged", flagged)) if v}
    if report is not None:
        targets["report"] = Path(report)
    if not targets:
        raise UsageError(
            f"Nothing to write: give {param('output')}, {param('flagged')} or {param('report')}.",
            param="output",
        )
    resolved = [p.resolve() for p in targets.values()]
    if len(set(resolved)) != len(resolved):
        raise OutputError("The scored output, the flagged rows and the report must be 3 files.")
    if isinstance(chunk_rows, bool) or int(chunk_rows) < 1:
        raise UsageError(f"{param('chunk_rows')} must be at least 1.", param="chunk_rows")
    detector = load_estimator(model_path, "detector", device=device)
    t, rule = detector.resolve_threshold(contamination=contamination, threshold=threshold)
    ins = (Path(data), Path(model_path))
    formats = {k: table_format(p) for k, p in targets.items() if k != "report"}
    for path in targets.values():
        check_output(path, overwrite=overwrite, inputs=ins)
    summary = ScoreSummary.for_detector(detector, t, rule)
    title = f"Anomaly screening of {Path(data).name}"
    images = scored_images = None
    if detector.data == "image":  # read and scored in memory, before any output is opened
        images = read_images(data, screening_schema(detector.schema_, data))
        scored_images = detector.score(images, threshold=t)
        # the summary keeps its highest-scoring rows' "top" text: the image identifier
        summary.update(scored_images.assign(top_columns=scored_images[IMAGE]), 0)
    with contextlib.ExitStack() as stack:
        tmps = {
            k: stack.enter_context(atomic_output(p, overwrite=overwrite, inputs=ins))
            for k, p in targets.items()
        }
        schema = detector.schema_ if detector.data == "table" else None
        writers = {
            k: stack.enter_context(TableWriter(tmps[k], schema, format=formats[k])) for k in formats
        }
        if detector.data == "table":
            chunks = read_chunks(detector.schema_, Path(data), int(chunk_rows))
            last = None
            for scored in score_chunks(detector, chunks, t, summary):
                last = scored
                _write(writers, scored)
            if "flagged" in writers and writers["flagged"].rows == 0 and last is not None:
                writers["flagged"].write(last.iloc[:0].astype({TOP: STRING_DTYPE}))
            page = table_report_html(summary, title=title) if "report" in tmps else None
        else:
            _write(writers, scored_images)
            if "flagged" in writers and writers["flagged"].rows == 0:
                writers["flagged"].write(scored_images.iloc[:0])
            page = None
            if "report" in tmps:
                label = detector.schema_.label
                labels = None
                if label is not None and label.name in scored_images.columns:
                    labels = scored_images[label.name].astype(str).tolist()
                page = image_report_html(
                    summary, images, title=f"Image {title[0].lower()}{title[1:]}", labels=labels
                )
        for key in list(writers):
            writers.pop(key).close()
        if page is not None:
            write_text(tmps["report"], page)
    return summary


def _write(writers: dict[str, TableWriter], scored: Any) -> None:
    if "output" in writers:
        writers["output"].write(scored)
    if "flagged" in writers:
        hits = scored[scored[FLAG].to_numpy(dtype=bool)]
        if len(hits):
            writers["flagged"].write(hits)


def score_table_bytes(
    detector: Any, path: str | Path, threshold: float, fmt_out: str, *, source: str
) -> Iterator[tuple[bytes, int, int]]:
    """Score a table file chunk by chunk, encoded as ``fmt_out``: yields (bytes, rows,
    flagged) per chunk, then the format's footer with 0 rows. Errors name ``source``, not
    the file's path."""
    if detector.data != "table":
        raise UsageError("Only table detectors score uploaded rows.", param="model_path")
    encoder = ChunkEncoder(fmt_out, detector.schema_)
    chunks = read_chunks(detector.schema_, Path(path), DEFAULT_CHUNK_ROWS, source=source)
    for scored in score_chunks(detector, chunks, threshold):
        yield encoder.encode(scored), len(scored), int(scored[FLAG].sum())
    yield encoder.finish(), 0, 0
