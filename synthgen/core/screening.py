"""What every screening job reports, tables and images alike: a bounded summary of a scored
stream (counts, a score histogram, the highest-scoring rows and why they scored), built chunk
by chunk so memory stays flat, and its histogram figure."""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthgen.core.calibration import ScoreCalibration
from synthgen.core.html import figure_png

SCORE, FLAG, TOP = "anomaly_score", "is_anomaly", "top_columns"
TOP_SEPARATOR = ", "
TOP_ROWS = 20
ROW = "input_row"  # 1-based position of a scored row in its input file
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
    signals: tuple[str, ...] = ()
    signal_weights: tuple[float, ...] = ()
    typical: dict[str, str] = field(default_factory=dict)
    signal_sums: dict[str, float] = field(default_factory=dict)
    signal_counts: Counter = field(default_factory=Counter)
    _top: list = field(default_factory=list)
    _seq: int = 0

    def __post_init__(self) -> None:
        self.counts = np.zeros(len(self.edges) - 1, dtype=np.int64)

    @classmethod
    def for_detector(cls, detector: Any, threshold: float, rule: str) -> ScoreSummary:
        """An empty summary for scoring with ``detector`` (its calibration) at ``threshold``."""
        cal: ScoreCalibration = detector.calibration_
        qs = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}
        values = cal.quantiles(np.array(list(qs.values())))
        lo = max(float(cal.sorted_scores[0]) / 10.0, 1e-6)
        hi = max(float(cal.sorted_scores[-1]) * 1000.0, lo * 10)
        signals = tuple(detector.score_signals())
        return cls(
            threshold=float(threshold),
            threshold_rule=rule,
            fit_share_above=cal.share_above(threshold),
            fit_quantiles={k: float(v) for k, v in zip(qs, values, strict=True)},
            edges=np.geomspace(lo, hi, _BINS + 1),
            signals=tuple(name for name, _ in signals),
            signal_weights=tuple(float(w) for _, w in signals),
            typical=dict(detector.typical_values()),
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
        sig = self._signals(scored, flags)
        # keep the TOP_ROWS highest scores seen so far (a min-heap of bounded size)
        if len(s):
            k = min(TOP_ROWS, len(s))
            best = np.argpartition(-s, k - 1)[:k]
            for i in best:
                item = (
                    float(s[i]),
                    -(row_offset + int(i)),
                    str(tops[i]),
                    bool(flags[i]),
                    tuple(float(v) for v in sig[i]),
                    self._values(scored, int(i), str(tops[i])),
                )
                if len(self._top) < TOP_ROWS:
                    heapq.heappush(self._top, item)
                elif item[:2] > self._top[0][:2]:
                    heapq.heapreplace(self._top, item)

    def _signals(self, scored: pd.DataFrame, flags: np.ndarray) -> np.ndarray:
        """The chunk's signals ``(rows, signals)``; sums and, per flagged row, the signal that
        adds most to its score are counted."""
        if not self.signals:
            return np.zeros((len(scored), 0))
        sig = np.stack([scored[c].to_numpy(dtype=np.float64) for c in self.signals], axis=1)
        for j, name in enumerate(self.signals):
            self.signal_sums[name] = self.signal_sums.get(name, 0.0) + float(sig[:, j].sum())
        if len(self.signals) > 1 and flags.any():
            main = np.argmax(sig[flags] * np.asarray(self.signal_weights), axis=1)
            for j, name in enumerate(self.signals):
                self.signal_counts[name] += int((main == j).sum())
        return sig

    def _values(self, scored: pd.DataFrame, i: int, top: str) -> tuple[tuple[str, str], ...]:
        """The row's values in its top columns (tables with typical values only)."""
        if not self.typical:
            return ()
        cols = [c for c in top.split(TOP_SEPARATOR) if c in scored.columns]
        return tuple((c, _cell(scored[c].iloc[i])) for c in cols)

    @property
    def top_rows(self) -> list[dict]:
        """Highest-scoring rows: row number (1-based, as in the file and its ``input_row``
        column), score, top columns, flag, the signals behind the score and the row's values
        in its top columns."""
        out = sorted(self._top, key=lambda item: item[:2], reverse=True)
        return [
            {
                "row": -neg + 1,
                "score": score,
                "top_columns": top,
                "is_anomaly": flag,
                **dict(zip(self.signals, sig, strict=True)),
                "values": dict(values),
            }
            for score, neg, top, flag, sig, values in out
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
            "signals": list(self.signals),
            "signal_weights": list(self.signal_weights),
            "mean_signals": {
                k: v / self.rows if self.rows else None for k, v in self.signal_sums.items()
            },
            "flagged_by_main_signal": {k: self.signal_counts.get(k, 0) for k in self.signals}
            if len(self.signals) > 1
            else {},
            "typical_values": dict(self.typical),
            "top_rows": self.top_rows,
        }


def _cell(value: Any) -> str:
    """A cell as the report shows it ("missing" for NA; numbers to 6 significant digits)."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return "missing"
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return str(value)


def histogram_png(summary: ScoreSummary) -> bytes:
    """Histogram of the batch's scores (log axis) with the threshold and fitting quantiles."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

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
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
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
    return figure_png(fig)
