"""Streaming scoring: chunks in, scored chunks out, a running summary; memory stays flat."""

from __future__ import annotations

import contextlib
import heapq
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.core.calibration import resolve_threshold
from synthgen.outputs import atomic_output, check_output
from synthgen.tabular.anomaly.detector import FLAG, SCORE, TOP, TOP_SEPARATOR, AnomalyDetector

DEFAULT_CHUNK_ROWS = 50_000
TOP_ROWS = 20
_BINS = 60


@dataclass
class ScoreSummary:
    """What a report needs, accumulated chunk by chunk (bounded size, whatever the input)."""

    threshold: float
    threshold_rule: str
    fit_share_above: float
    fit_quantiles: dict[str, float]
    edges: np.ndarray
    counts: np.ndarray = field(init=False)
    rows: int = 0
    flagged: int = 0
    under: int = 0
    over: int = 0
    score_sum: float = 0.0
    score_max: float = float("-inf")
    column_counts: Counter = field(default_factory=Counter)
    _top: list = field(default_factory=list)
    _seq: int = 0

    def __post_init__(self) -> None:
        self.counts = np.zeros(len(self.edges) - 1, dtype=np.int64)

    @classmethod
    def for_detector(cls, detector: AnomalyDetector, threshold: float, rule: str) -> ScoreSummary:
        cal = detector.calibration_
        qs = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}
        values = cal.quantiles(np.array(list(qs.values())))
        lo = max(float(cal.sorted_scores[0]) / 10.0, 1e-6)
        hi = max(float(cal.sorted_scores[-1]) * 1000.0, lo * 10)
        return cls(
            threshold=float(threshold),
            threshold_rule=rule,
            fit_share_above=cal.share_above(threshold),
            fit_quantiles={k: float(v) for k, v in zip(qs, values, strict=True)},
            edges=np.geomspace(lo, hi, _BINS + 1),
        )

    def update(self, scored: pd.DataFrame, row_offset: int) -> None:
        s = scored[SCORE].to_numpy(dtype=np.float64)
        flags = scored[FLAG].to_numpy(dtype=bool)
        self.rows += len(s)
        self.flagged += int(flags.sum())
        if len(s):
            self.score_sum += float(s.sum())
            self.score_max = max(self.score_max, float(s.max()))
        self.under += int((s < self.edges[0]).sum())
        self.over += int((s >= self.edges[-1]).sum())
        inside = s[(s >= self.edges[0]) & (s < self.edges[-1])]
        self.counts += np.histogram(inside, bins=self.edges)[0]
        tops = scored[TOP].to_numpy(dtype=object)
        for first in tops[flags]:
            self.column_counts[str(first).split(TOP_SEPARATOR)[0]] += 1
        # keep the TOP_ROWS highest scores seen so far (a min-heap of bounded size)
        if len(s):
            k = min(TOP_ROWS, len(s))
            best = np.argpartition(-s, k - 1)[:k]
            for i in best:
                item = (float(s[i]), -(row_offset + int(i)), str(tops[i]), bool(flags[i]))
                if len(self._top) < TOP_ROWS:
                    heapq.heappush(self._top, item)
                elif item > self._top[0]:
                    heapq.heapreplace(self._top, item)

    @property
    def top_rows(self) -> list[dict]:
        """Highest-scoring rows: row number (1-based, as in the file), score, top columns."""
        out = sorted(self._top, reverse=True)
        return [
            {"row": -neg + 1, "score": score, "top_columns": top, "is_anomaly": flag}
            for score, neg, top, flag in out
        ]

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "flagged": self.flagged,
            "flagged_share": self.flagged / self.rows if self.rows else 0.0,
            "threshold": self.threshold,
            "threshold_rule": self.threshold_rule,
            "fitting_share_above_threshold": self.fit_share_above,
            "mean_score": self.score_sum / self.rows if self.rows else None,
            "max_score": self.score_max if self.rows else None,
            "fitting_score_quantiles": self.fit_quantiles,
            "flagged_by_top_column": dict(self.column_counts.most_common()),
            "top_rows": self.top_rows,
        }


def score_chunks(
    detector: AnomalyDetector,
    chunks: Iterable[pd.DataFrame],
    threshold: float,
    summary: ScoreSummary | None = None,
) -> Iterator[pd.DataFrame]:
    """Score each chunk (the input rows plus the three output columns) as it comes."""
    offset = 0
    for chunk in chunks:
        scored = detector._score_frame(chunk, threshold)
        if summary is not None:
            summary.update(scored, offset)
        offset += len(chunk)
        yield scored


def read_chunks(
    detector: AnomalyDetector, path: Path, chunk_rows: int, *, source: str | None = None
) -> Iterator[pd.DataFrame]:
    """Typed chunks of the detector's schema columns, extra columns of the file kept after them.
    Structure is checked (columns, types); values are not (screening scores them)."""
    from synthgen.tabular.io.read import iter_raw, validate_frame

    schema = detector.schema_
    for offset, raw in iter_raw(path, chunksize=chunk_rows):
        typed = validate_frame(
            raw,
            schema,
            source=source or f"Data file {path}",
            strict_values=False,
            allow_extra=True,
            row_offset=offset,
        )
        extra = [c for c in raw.columns if c not in set(schema.column_names)]
        if extra:
            typed = pd.concat([typed, raw[extra].reset_index(drop=True)], axis=1)
        typed.index = pd.RangeIndex(offset, offset + len(typed))
        yield typed


def score_file(
    detector: AnomalyDetector,
    data: str | Path,
    output: str | Path,
    *,
    contamination: float | None = None,
    threshold: float | None = None,
    report: str | Path | None = None,
    overwrite: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    inputs: tuple = (),
) -> ScoreSummary:
    """Score ``data`` chunk by chunk into ``output`` (and ``report``), all or nothing."""
    from synthgen.tabular.anomaly.report import write_report_html
    from synthgen.tabular.io.read import TableWriter, table_format

    data, output = Path(data), Path(output)
    t, rule = resolve_threshold(
        detector.calibration_,
        contamination=contamination,
        threshold=threshold,
        default_contamination=detector.contamination,
    )
    ins = (data, *inputs)
    fmt = table_format(output)
    check_output(output, overwrite=overwrite, inputs=ins)
    if report is not None:
        report = Path(report)
        check_output(report, overwrite=overwrite, inputs=ins)
        if report.resolve() == output.resolve():
            from synthgen.errors import OutputError

            raise OutputError("The report and the scored output cannot be the same file.")
    summary = ScoreSummary.for_detector(detector, t, rule)
    with contextlib.ExitStack() as stack:
        tmp_out = stack.enter_context(atomic_output(output, overwrite=overwrite, inputs=ins))
        tmp_rep = (
            stack.enter_context(atomic_output(report, overwrite=overwrite, inputs=ins))
            if report is not None
            else None
        )
        with TableWriter(tmp_out, detector.schema_, format=fmt) as writer:
            for scored in score_chunks(
                detector, read_chunks(detector, data, chunk_rows), t, summary
            ):
                writer.write(scored)
        if tmp_rep is not None:
            write_report_html(tmp_rep, summary, title=f"Anomaly screening of {data.name}")
    return summary
