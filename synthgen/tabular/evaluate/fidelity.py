"""Fidelity: column shapes, pair trends (as SDMetrics' QualityReport), distances and MMD.

Definitions follow SDMetrics (``sdmetrics.reports.single_table.QualityReport``) so the figures
can be checked against it (``benchmarks/evaluate_vs_sdmetrics.py``):

* Column shape -- numeric and datetime columns: KS complement ``1 - D`` of the two-sample
  Kolmogorov-Smirnov statistic; categorical and boolean columns: TV complement
  ``1 - 0.5 * sum |p_real - p_syn|``. Missing values are dropped first.
* Pair trend -- two numeric/datetime columns: correlation similarity
  ``1 - |r_real - r_syn| / 2`` (Pearson, on the rows where both are present; undefined when a
  column is constant); otherwise contingency similarity ``1 - 0.5 * sum |P_real - P_syn|`` over
  the joint frequency table, missing values counted as a category. In a mixed pair the numeric
  column is first cut into the 10 bins of ``numpy.histogram_bin_edges`` of *each table's own*
  values (``numpy.digitize``; the maximum and missing values share the last slot), exactly as
  the QualityReport does.
* ``shapes`` / ``trends`` are plain means over columns / pairs (undefined pairs skipped);
  ``quality`` is the mean of the two. SDMetrics >= 0.2x reports, by default, only pairs whose
  real data is associated (``|r| > 0.5``, Cramer's V > 0.3): that figure is ``trends_strong``
  (``quality_strong``), null when no pair qualifies.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import pearsonr, wasserstein_distance
from scipy.stats.contingency import association

from synthgen.tabular.evaluate.encode import OneHotEncoding
from synthgen.tabular.evaluate.frames import CONTINUOUS_KINDS, Kind

CORRELATION_THRESHOLD = 0.5
ASSOCIATION_THRESHOLD = 0.3
JS_BINS = 20
MMD_ROWS = 2000


def _nanmean(values) -> float | None:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else None


def ks_complement(real: np.ndarray, syn: np.ndarray) -> float:
    real, syn = real[~np.isnan(real)], syn[~np.isnan(syn)]
    if len(real) == 0 or len(syn) == 0:
        return math.nan
    # the two-sample KS statistic from the two ECDFs (scipy's ks_2samp would also compute a
    # p-value, whose exact method warns on tied samples, such as a memoriser's rows)
    a, b = np.sort(real), np.sort(syn)
    points = np.concatenate([a, b])
    gap = np.searchsorted(a, points, side="right") / len(a) - np.searchsorted(
        b, points, side="right"
    ) / len(b)
    return float(1.0 - np.max(np.abs(gap)))


def _frequencies(real: pd.Series, syn: pd.Series, dropna: bool) -> tuple[np.ndarray, np.ndarray]:
    p = real.value_counts(normalize=True, dropna=dropna)
    q = syn.value_counts(normalize=True, dropna=dropna)
    index = p.index.union(q.index)
    return p.reindex(index, fill_value=0).to_numpy(), q.reindex(index, fill_value=0).to_numpy()


def tv_complement(real: pd.Series, syn: pd.Series) -> float:
    if real.notna().sum() == 0 or syn.notna().sum() == 0:
        return math.nan
    p, q = _frequencies(real, syn, dropna=True)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def _range_scaled(real: np.ndarray, syn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.nanmin(real), np.nanmax(real)
    width = hi - lo if hi > lo else 1.0
    return (real - lo) / width, (syn - lo) / width


def column_report(real: pd.DataFrame, syn: pd.DataFrame, kinds: dict[str, Kind]) -> list[dict]:
    """Per-column shape score, Wasserstein (numeric, range-scaled) and JS distance, worst first."""
    rows = []
    for name, kind in kinds.items():
        r, s = real[name], syn[name]
        entry: dict = {"column": name, "kind": kind}
        if kind in CONTINUOUS_KINDS:
            rx, sx = r.to_numpy(dtype=np.float64), s.to_numpy(dtype=np.float64)
            entry["metric"] = "KSComplement"
            entry["score"] = ks_complement(rx, sx)
            ro, so = rx[~np.isnan(rx)], sx[~np.isnan(sx)]
            if len(ro) and len(so):
                rs, ss = _range_scaled(ro, so)
                entry["wasserstein"] = float(wasserstein_distance(rs, ss))
                edges = np.histogram_bin_edges(np.concatenate([ro, so]), bins=JS_BINS)
                p = np.append(np.histogram(ro, edges)[0], np.isnan(rx).sum())
                q = np.append(np.histogram(so, edges)[0], np.isnan(sx).sum())
                entry["js_distance"] = float(jensenshannon(p, q, base=2))
            else:
                entry["wasserstein"] = entry["js_distance"] = math.nan
        else:
            entry["metric"] = "TVComplement"
            entry["score"] = tv_complement(r, s)
            entry["wasserstein"] = None
            p, q = _frequencies(r, s, dropna=False)
            entry["js_distance"] = float(jensenshannon(p, q, base=2)) if len(p) else math.nan
        entry["missing_real"] = float(r.isna().mean()) if len(r) else math.nan
        entry["missing_synthetic"] = float(s.isna().mean()) if len(s) else math.nan
        rows.append(entry)
    return sorted(rows, key=_worst_first)


def _worst_first(entry: dict) -> tuple:
    score = entry["score"]
    return (score is None or math.isnan(score), score if score is not None else 0.0)


def _discretize(values: np.ndarray) -> np.ndarray:
    """SDMetrics ColumnPairTrends binning: 10 histogram bins of the table's own values."""
    obs = values[~np.isnan(values)]
    edges = np.histogram_bin_edges(obs) if len(obs) else np.histogram_bin_edges([0.0])
    return np.digitize(values, bins=edges)


def _joint_codes(a: pd.Series, b: pd.Series, a2: pd.Series, b2: pd.Series):
    """Joint category codes of (a, b) and (a2, b2) over a shared code book, NaN as a category."""
    ca, _ = pd.factorize(pd.concat([a, a2], ignore_index=True), use_na_sentinel=False)
    cb, _ = pd.factorize(pd.concat([b, b2], ignore_index=True), use_na_sentinel=False)
    width = int(cb.max()) + 1 if len(cb) else 1
    joint = ca.astype(np.int64) * width + cb
    n = len(a)
    return joint[:n], joint[n:], ca[:n], cb[:n]


def contingency_similarity(
    real: tuple[pd.Series, pd.Series], syn: tuple[pd.Series, pd.Series]
) -> tuple[float, float]:
    """(score, Cramer's V of the real pair) -- SDMetrics ContingencySimilarity."""
    jr, js, ra, rb = _joint_codes(real[0], real[1], syn[0], syn[1])
    if len(jr) == 0 or len(js) == 0:
        return math.nan, math.nan
    size = int(max(jr.max(initial=0), js.max(initial=0))) + 1
    p = np.bincount(jr, minlength=size) / len(jr)
    q = np.bincount(js, minlength=size) / len(js)
    score = float(1.0 - 0.5 * np.abs(p - q).sum())
    width = int(rb.max()) + 1
    table = np.bincount(
        ra.astype(np.int64) * width + rb, minlength=(int(ra.max()) + 1) * width
    ).reshape(-1, width)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    cramer = math.nan
    if min(table.shape) >= 2:
        cramer = float(association(table, method="cramer"))
    return score, cramer


def correlation_similarity(
    real: tuple[np.ndarray, np.ndarray], syn: tuple[np.ndarray, np.ndarray]
) -> tuple[float, float, float]:
    """(score, r_real, r_syn) -- SDMetrics CorrelationSimilarity (Pearson)."""
    for x in (*real, *syn):
        if len(np.unique(x[~np.isnan(x)])) == 1:
            return math.nan, math.nan, math.nan  # constant column: correlation undefined
    rs = []
    for x, y in (real, syn):
        ok = ~(np.isnan(x) | np.isnan(y))
        if ok.sum() < 2 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
            rs.append(math.nan)
        else:
            rs.append(float(pearsonr(x[ok], y[ok]).statistic))
    r_real, r_syn = rs
    if math.isnan(r_real) or math.isnan(r_syn):
        return math.nan, r_real, r_syn
    return 1.0 - abs(r_real - r_syn) / 2.0, r_real, r_syn


def pair_report(real: pd.DataFrame, syn: pd.DataFrame, kinds: dict[str, Kind]) -> list[dict]:
    """One entry per column pair (SDMetrics' ColumnPairTrends), worst first."""
    binned_real = {
        n: _discretize(real[n].to_numpy(np.float64))
        for n, k in kinds.items()
        if k in CONTINUOUS_KINDS
    }
    binned_syn = {
        n: _discretize(syn[n].to_numpy(np.float64))
        for n, k in kinds.items()
        if k in CONTINUOUS_KINDS
    }
    rows = []
    for a, b in itertools.combinations(kinds, 2):
        cont_a, cont_b = kinds[a] in CONTINUOUS_KINDS, kinds[b] in CONTINUOUS_KINDS
        entry: dict = {"columns": [a, b]}
        if cont_a and cont_b:
            score, r_real, r_syn = correlation_similarity(
                (real[a].to_numpy(np.float64), real[b].to_numpy(np.float64)),
                (syn[a].to_numpy(np.float64), syn[b].to_numpy(np.float64)),
            )
            entry.update(
                metric="CorrelationSimilarity",
                score=score,
                real_correlation=r_real,
                synthetic_correlation=r_syn,
                real_association=None,
            )
            entry["meets_threshold"] = (
                not math.isnan(r_real)
                and abs(r_real) > CORRELATION_THRESHOLD
                and not math.isnan(score)
            )
        else:

            def col(frame, binned, name, cont):
                return pd.Series(binned[name]) if cont else frame[name]

            score, cramer = contingency_similarity(
                (col(real, binned_real, a, cont_a), col(real, binned_real, b, cont_b)),
                (col(syn, binned_syn, a, cont_a), col(syn, binned_syn, b, cont_b)),
            )
            entry.update(
                metric="ContingencySimilarity",
                score=score,
                real_correlation=None,
                synthetic_correlation=None,
                real_association=cramer,
            )
            entry["meets_threshold"] = (
                not math.isnan(cramer) and cramer > ASSOCIATION_THRESHOLD and not math.isnan(score)
            )
        rows.append(entry)
    return sorted(rows, key=_worst_first)


def mmd(
    real: pd.DataFrame,
    syn: pd.DataFrame,
    kinds: dict[str, Kind],
    rng: np.random.Generator,
    rows: int = MMD_ROWS,
) -> dict:
    """Unbiased MMD^2 (clipped at 0), RBF kernel with median-heuristic bandwidth, one-hot space."""
    enc = OneHotEncoding(kinds).fit(real)
    n = min(rows, len(real), len(syn))
    if n < 2:
        return {"mmd2": None, "bandwidth": None, "rows": n}
    x = enc.transform(real.iloc[rng.choice(len(real), n, replace=False)])
    y = enc.transform(syn.iloc[rng.choice(len(syn), n, replace=False)])
    z = np.vstack([x, y])
    sq = np.einsum("ij,ij->i", z, z)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0)
    pick = rng.permutation(len(z))[:1000]
    upper = d2[np.ix_(pick, pick)][np.triu_indices(len(pick), k=1)]
    med = float(np.median(upper[upper > 0])) if (upper > 0).any() else 1.0
    k = np.exp(-d2 / med)  # sigma^2 = median/2, i.e. exp(-d^2 / (2 sigma^2))
    off = ~np.eye(n, dtype=bool)
    kxx, kyy, kxy = k[:n, :n][off].mean(), k[n:, n:][off].mean(), k[:n, n:].mean()
    return {
        "mmd2": float(max(kxx + kyy - 2.0 * kxy, 0.0)),
        "bandwidth": math.sqrt(med / 2.0),
        "rows": n,
    }


def fidelity(
    real: pd.DataFrame, syn: pd.DataFrame, kinds: dict[str, Kind], rng: np.random.Generator
) -> dict:
    """The fidelity section of the metrics document."""
    columns = column_report(real, syn, kinds)
    pairs = pair_report(real, syn, kinds)
    shapes = _nanmean(c["score"] for c in columns)
    trends = _nanmean(p["score"] for p in pairs)
    strong = _nanmean(p["score"] for p in pairs if p["meets_threshold"])
    return {
        "shapes": shapes,
        "trends": trends,
        "quality": _nanmean([shapes, trends]),
        "trends_strong": strong,
        "quality_strong": _nanmean([shapes, strong]),
        "mmd": mmd(real, syn, kinds, rng),
        "columns": columns,
        "pairs": pairs,
    }
