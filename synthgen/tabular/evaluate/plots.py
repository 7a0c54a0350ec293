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


def distributions(
    real: pd.DataFrame, syn: pd.DataFrame, kinds: dict[str, Kind], order: list[str]
) -> bytes:
    """Real vs synthetic per column (worst first): histograms, or top-category bars."""
    plt = _plt()
    names = order[:MAX_DIST_COLUMNS]
    ncols = 4
    nrows = max(1, math.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 2.6 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        if kinds[name] in CONTINUOUS_KINDS:
            r = real[name].dropna().to_numpy(np.float64)
            s = syn[name].dropna().to_numpy(np.float64)
            both = np.concatenate([r, s])
            if len(both):
                lo, hi = np.quantile(both, [0.005, 0.995])
                edges = np.linspace(lo, hi if hi > lo else lo + 1, 31)
                ax.hist(
                    np.clip(r, lo, hi),
                    bins=edges,
                    density=True,
                    alpha=0.5,
                    color=REAL,
                    label="real",
                )
                ax.hist(
                    np.clip(s, lo, hi),
                    bins=edges,
                    density=True,
                    alpha=0.5,
                    color=SYN,
                    label="synthetic",
                )
        else:
            p = real[name].value_counts(normalize=True)
            q = syn[name].value_counts(normalize=True)
            cats = list(p.index[:TOP_CATEGORIES])
            x = np.arange(len(cats))
            ax.bar(x - 0.2, [p.get(c, 0) for c in cats], 0.4, color=REAL, label="real")
            ax.bar(x + 0.2, [q.get(c, 0) for c in cats], 0.4, color=SYN, label="synthetic")
            ax.set_xticks(x, [str(c)[:12] for c in cats], rotation=45, ha="right", fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
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
    """Grouped bars; ``groups`` maps a series name to one value per label."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.6 * len(labels) + 2, 3))
    x = np.arange(len(labels))
    width = 0.8 / max(len(groups), 1)
    for i, (name, values) in enumerate(groups.items()):
        vals = [np.nan if v is None else v for v in values]
        ax.bar(x + (i - (len(groups) - 1) / 2) * width, vals, width, label=name)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)
