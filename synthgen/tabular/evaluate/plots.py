"""Report figures as PNG bytes (matplotlib, Agg backend, no text metadata)."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd

from synthgen.tabular.evaluate.frames import CONTINUOUS_KINDS, Kind

MAX_DIST_COLUMNS = 24
TOP_CATEGORIES = 10
REAL, SYN = "#1f77b4", "#ff7f0e"


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72, bbox_inches="tight", metadata={"Software": None})
    _plt().close(fig)
    return buf.getvalue()


def _spike(values: np.ndarray) -> tuple[float, float] | None:
    """The value holding at least 30 % of the rows (capital-gain's zeros), and its share."""
    if len(values) == 0:
        return None
    vals, counts = np.unique(values, return_counts=True)
    top = int(np.argmax(counts))
    share = counts[top] / len(values)
    return (float(vals[top]), float(share)) if share >= 0.3 and len(vals) > 2 else None


def _numeric_panel(ax, r: np.ndarray, s: np.ndarray) -> None:
    """Real as light bars, synthetic as an outline (no blended colours); a spike of one value
    is drawn apart, as its share, and the rest on a log axis when it spans decades."""
    spike = _spike(r)
    note = ""
    if spike is not None:
        value, share = spike
        note = f"{value:g}: real {100 * share:.1f} %, synthetic {100 * np.mean(s == value):.1f} %"
        r, s = r[r != value], s[s != value]
    both = np.concatenate([r, s])
    if len(both):
        lo, hi = np.quantile(both, [0.005, 0.995])
        logx = lo > 0 and hi / max(lo, 1e-12) > 100
        if logx:
            edges = np.geomspace(lo, hi, 31)
            ax.set_xscale("log")
        else:
            edges = np.linspace(lo, hi if hi > lo else lo + 1, 31)
        ax.hist(np.clip(r, lo, hi), bins=edges, density=True, color=REAL, alpha=0.35)
        ax.hist(np.clip(s, lo, hi), bins=edges, density=True, color=SYN, histtype="step", lw=1.6)
    if note:
        ax.text(0.98, 0.95, note, transform=ax.transAxes, ha="right", va="top", fontsize=7)


def _label(text: str, width: int = 22) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def distributions(
    real: pd.DataFrame, syn: pd.DataFrame, kinds: dict[str, Kind], order: list[str]
) -> bytes:
    """Real vs synthetic per column (worst first): histograms, or top-category bars; one legend
    for every panel."""
    plt = _plt()
    from matplotlib.patches import Patch

    names = order[:MAX_DIST_COLUMNS]
    ncols = 3
    nrows = max(1, math.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 3.1 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        if kinds[name] in CONTINUOUS_KINDS:
            r = real[name].dropna().to_numpy(np.float64)
            s = syn[name].dropna().to_numpy(np.float64)
            _numeric_panel(ax, r, s)
        else:
            p = real[name].value_counts(normalize=True)
            q = syn[name].value_counts(normalize=True)
            cats = list(p.index[:TOP_CATEGORIES])
            x = np.arange(len(cats))
            ax.bar(x - 0.2, [p.get(c, 0) for c in cats], 0.4, color=REAL)
            ax.bar(x + 0.2, [q.get(c, 0) for c in cats], 0.4, color=SYN)
            ax.set_xticks(x, [_label(str(c)) for c in cats], rotation=40, ha="right", fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    handles = [Patch(color=REAL, alpha=0.6, label="real"), Patch(color=SYN, label="synthetic")]
    fig.legend(handles=handles, loc="upper center", ncol=2, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.97 if nrows > 1 else 0.9))
    return _png(fig)


def pair_heatmap(pairs: list[dict], columns: list[str]) -> bytes:
    """1 - pair-trend score for every column pair (0 = the pair's trend is reproduced)."""
    plt = _plt()
    index = {c: i for i, c in enumerate(columns)}
    grid = np.full((len(columns), len(columns)), np.nan)
    np.fill_diagonal(grid, 0.0)
    for p in pairs:
        a, b = (index[c] for c in p["columns"])
        if p["score"] is not None:
            grid[a, b] = grid[b, a] = 1.0 - p["score"]
    size = max(4.0, 0.45 * len(columns) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    im = ax.imshow(grid, cmap="Reds", vmin=0, vmax=max(0.2, float(np.nanmax(grid))))
    ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(columns)), columns, fontsize=7)
    ax.set_title("1 - pair trend score (correlation / contingency difference)", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    return _png(fig)


def bars(
    title: str,
    labels: list[str],
    groups: dict[str, list[float | None]],
    reference: float | None = None,
) -> bytes:
    """Grouped bars; ``groups`` maps a series name to one value per label. The legend sits
    above the plot, never over a bar."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.6 * len(labels) + 2.5, 3.2))
    x = np.arange(len(labels))
    width = 0.8 / max(len(groups), 1)
    colors = [REAL, SYN, "#2ca02c", "#9467bd"]
    for i, (name, values) in enumerate(groups.items()):
        vals = [np.nan if v is None else v for v in values]
        pos = x + (i - (len(groups) - 1) / 2) * width
        ax.bar(pos, vals, width, label=name, color=colors[i % len(colors)])
        for px, v in zip(pos, vals, strict=True):
            if not np.isnan(v):
                ax.text(px, v, f"{v:.3f}", ha="center", va="bottom", fontsize=7)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylim(0, max(1.0, ax.get_ylim()[1]) * 1.12)
    ax.set_title(title, fontsize=9, pad=22)
    ax.legend(
        fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(groups), frameon=False
    )
    fig.tight_layout()
    return _png(fig)


def panels(
    title: str, items: list[tuple[str, dict[str, float | None], float | None, str]]
) -> bytes:
    """One small panel per metric, each on its own scale: ``(name, {series: value},
    reference, note)``; unrelated metrics never share an axis."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(items), figsize=(3.2 * len(items), 2.8), squeeze=False)
    for ax, (name, values, reference, note) in zip(axes.flat, items, strict=True):
        keys = list(values)
        vals = [np.nan if values[k] is None else values[k] for k in keys]
        ax.bar(range(len(keys)), vals, color=[SYN, REAL, "#2ca02c"][: len(keys)])
        for i, v in enumerate(vals):
            if not np.isnan(v):
                ax.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=7)
        if reference is not None:
            ax.axhline(reference, color="grey", linestyle="--", linewidth=1)
        ax.set_xticks(range(len(keys)), keys, fontsize=7)
        top = np.nanmax([*vals, reference or 0, 1e-9])
        ax.set_ylim(0, top * 1.25)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(note, fontsize=7)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _png(fig)
