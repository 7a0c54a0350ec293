"""The ADBench anomaly benchmark's report (``anomaly.py`` runs it): per-protocol tables, mean
ranks, the issue's targets checked, and synthgen's memory and time on the largest sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DETECTORS = ("synthgen", "pyod_ae", "pyod_iforest", "pyod_knn")
PEERS = DETECTORS[1:]
PROTOCOLS = ("unsupervised", "trusted")


def mean_ranks(rows: list[dict], detectors: tuple[str, ...]) -> dict[str, float]:
    """Mean rank by ROC-AUC per set (1 = best; ties share the mean rank)."""
    from scipy.stats import rankdata

    ranks = np.array([rankdata([-r[d]["roc_auc"] for d in detectors]) for r in rows])
    return {d: float(ranks[:, i].mean()) for i, d in enumerate(detectors)}


def _done(r: dict, d: str) -> bool:
    return "roc_auc" in r.get(d, {})


def _mean(rows: list[dict], d: str, key: str) -> tuple[float, int]:
    vals = [r[d][key] for r in rows if _done(r, d)]
    return (float(np.mean(vals)) if vals else float("nan")), len(vals)


def protocol_table(rows: list[dict], protocol: str) -> str:
    """Per-set and overall table for one protocol (a peer not run on a set shows "-", and its
    means cover the sets it ran on, with their number)."""
    head = ["dataset", "rows", "dims", "fit rows"]
    for d in DETECTORS:
        head += [f"{d} ROC-AUC", f"{d} AP", f"{d} fit s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["dataset"], f"{r['rows']:,}", str(r["dims"]), f"{r['synthgen']['fit_rows']:,}"]
        for d in DETECTORS:
            if _done(r, d):
                m = r[d]
                cells += [f"{m['roc_auc']:.4f}", f"{m['ap']:.4f}", f"{m['fit_s']:.2f}"]
            else:
                cells += ["-", "-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["**mean**", "", "", ""]
    for d in DETECTORS:
        auc, n = _mean(rows, d, "roc_auc")
        note = "" if n == len(rows) else f" ({n} sets)"
        cells += [
            f"**{auc:.4f}**{note}",
            f"**{_mean(rows, d, 'ap')[0]:.4f}**",
            f"{_mean(rows, d, 'fit_s')[0]:.2f}",
        ]
    lines.append("| " + " | ".join(cells) + " |")
    full = [r for r in rows if all(_done(r, d) for d in DETECTORS)]
    if full:
        ranks = mean_ranks(full, DETECTORS)
        cells = [f"mean rank (ROC-AUC, {len(full)} sets)", "", "", ""]
        for d in DETECTORS:
            cells += [f"{ranks[d]:.2f}", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(rows: list[dict], protocol: str) -> str:
    """The issue's targets for one protocol, checked (each over the sets both detectors ran)."""

    def versus(peer: str) -> str:
        both = [r for r in rows if _done(r, peer)]
        ours = np.mean([r["synthgen"]["roc_auc"] for r in both])
        theirs = np.mean([r[peer]["roc_auc"] for r in both])
        return f"above {peer} ({ours:.4f} vs {theirs:.4f}, {len(both)} sets): " + (
            "met" if ours > theirs else "MISSED"
        )

    peers = ["pyod_iforest"] + (["pyod_knn"] if protocol == "trusted" else [])
    out = ["- Mean ROC-AUC " + "; ".join(versus(p) for p in peers) + "."]
    below = []
    for r in rows:
        done = [d for d in PEERS if _done(r, d)]
        best = max(done, key=lambda d: r[d]["roc_auc"])
        gap = r[best]["roc_auc"] - r["synthgen"]["roc_auc"]
        if gap > 0.05:
            below.append(f"{r['dataset']} ({gap:.3f} below {best})")
    out.append(
        f"- Sets where synthgen is more than 0.05 below the best peer: {len(below)} of {len(rows)}"
        + (": " + ", ".join(below) if below else "")
        + "."
    )
    timed = [r for r in rows if r["synthgen"]["fit_rows"] > 1000 and _done(r, "pyod_ae")]
    slow = [
        f"{r['dataset']} ({r['synthgen']['fit_s']:.2f} s vs {r['pyod_ae']['fit_s']:.2f} s)"
        for r in timed
        if r["synthgen"]["fit_s"] > r["pyod_ae"]["fit_s"]
    ]
    out.append(
        f"- Fit no slower than PyOD AutoEncoder on every set with more than 1,000 fitting rows "
        f"({len(timed)} sets timed): "
        + ("met." if not slow else "MISSED on " + ", ".join(slow) + ".")
    )
    return "\n".join(out)


def memory_table(rows: list[dict]) -> str:
    """synthgen's peak RSS, fit and scoring seconds on the six largest sets, both protocols."""
    names = sorted({(r["rows"], r["dataset"]) for r in rows}, reverse=True)[:6]
    keep = {n for _, n in names}
    big = sorted(
        (r for r in rows if r["dataset"] in keep), key=lambda r: (-r["rows"], r["protocol"])
    )
    lines = [
        "| dataset | rows | protocol | synthgen peak RSS MB | fit s | score s | scored rows |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in big:
        m = r["synthgen"]
        lines.append(
            f"| {r['dataset']} | {r['rows']:,} | {r['protocol']} | {m['peak_rss_mb']:.0f} | "
            f"{m['fit_s']:.1f} | {m['score_s']:.1f} | {m['scored_rows']:,} |"
        )
    return "\n".join(lines)


def report(cache: dict, files: list[str], conditions: str) -> str:
    parts = [
        "## Anomaly screening on ADBench, both protocols (`benchmarks/anomaly.py`)\n",
        conditions,
    ]
    every = []
    for protocol in PROTOCOLS:
        rows = []
        for path in files:
            entry = cache.get(f"{Path(path).stem}|{protocol}")
            if entry and _done(entry, "synthgen"):
                rows.append(entry)
        if not rows:
            continue
        title = (
            "unsupervised (fit on the 70 % with its anomalies)"
            if protocol == "unsupervised"
            else "trusted data (fit on the normal rows of the 70 %)"
        )
        parts += [
            f"\n### Protocol: {title}, {len(rows)} sets\n",
            protocol_table(rows, protocol),
            "",
            verdict(rows, protocol),
        ]
        every += rows
    if every:
        parts += [
            "\n### Memory and time on the largest sets (synthgen; peak RSS of the whole process, "
            "Python, torch and the data included)\n",
            memory_table(every),
        ]
    return "\n".join(parts) + "\n"
