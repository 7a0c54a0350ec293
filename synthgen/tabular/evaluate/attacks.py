"""Attack-based privacy: singling out, linkability and inference, as anonymeter runs them.

Anonymeter (Giomi et al., PETS 2023) does not install beside synthgen's pinned pandas, so the
three attacks are written here on numpy and scikit-learn, following its design. Each attack
is run twice: against the training rows (what the synthetic data may leak) and against the
holdout (rows the model never saw: the control). The risk is the attack's success on the
training rows beyond the control's,

    risk = (rate_train - rate_control) / (1 - rate_control),

clipped to [0, 1], with a 95 % confidence interval from the Wilson intervals of both rates. A
generator that only learned the distribution gives a risk near 0 (the holdout is attacked as
well as the training rows); one that copies rows gives a high one.

* **singling out**: predicates on three columns built from synthetic rows (``col == value`` for
  categories, ``col <= value`` / ``col >= value`` for numbers) that match exactly one synthetic
  row; success when the predicate matches exactly one row of the attacked table;
* **linkability**: the attacker holds two halves of a target's columns (A and B); success when
  the synthetic row nearest the target on A is also the nearest on B (links the halves);
* **inference**: the attacker knows every column but a secret one (the target column, else the
  first categorical); the guess is the secret of the synthetic row nearest on the rest; success
  when it is right (numbers: within 5 % of the column's range).

The training rows are subsampled to the holdout's size so both have the same chance of a
unique match, and at most ``ATTACKS`` targets or predicates are tried (the document says how
many).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from synthgen.tabular.evaluate.encode import OneHotEncoding
from synthgen.tabular.evaluate.frames import Kind

ATTACKS = 500
SYNTHETIC_ROWS = 5_000
Z95 = 1.959964
NUMERIC = ("numeric", "datetime")


def wilson(successes: int, n: int) -> tuple[float, float, float]:
    """The success rate and its 95 % Wilson score interval."""
    if n == 0:
        return 0.0, 0.0, 1.0
    p = successes / n
    den = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / den
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / den
    return p, max(0.0, centre - half), min(1.0, centre + half)


def risk(attack: tuple[int, int], control: tuple[int, int]) -> dict:
    """Risk of an attack (successes, tries) against its control, with its interval."""
    a, a_lo, a_hi = wilson(*attack)
    c, c_lo, c_hi = wilson(*control)

    def excess(r: float, rc: float) -> float:
        return float(min(1.0, max(0.0, (r - rc) / (1 - rc)))) if rc < 1 else 0.0

    return {
        "risk": excess(a, c),
        "ci": [excess(a_lo, c_hi), excess(a_hi, c_lo)],
        "attack_rate": a,
        "control_rate": c,
        "tries": attack[1],
    }


def _values(df: pd.DataFrame, kinds: dict[str, Kind]) -> dict[str, np.ndarray]:
    out = {}
    for name, kind in kinds.items():
        col = df[name]
        if kind in NUMERIC:
            out[name] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out[name] = col.astype(object).where(col.notna(), "\x00missing").to_numpy()
    return out


def singling_out(syn, train, control, kinds, rng, n_attacks=ATTACKS, n_cols=3) -> dict:
    """Predicates unique in the synthetic rows: how often are they unique in train, in
    control."""
    cols = list(kinds)
    sv, tv, cv = _values(syn, kinds), _values(train, kinds), _values(control, kinds)
    medians = {c: np.nanmedian(sv[c]) for c in cols if kinds[c] in NUMERIC}

    def match(values, preds) -> np.ndarray:
        hit = np.ones(len(next(iter(values.values()))), dtype=bool)
        for c, op, v in preds:
            x = values[c]
            hit &= (x == v) if op == "==" else (x <= v) if op == "<=" else (x >= v)
        return hit

    found = []
    tries = 0
    k = min(n_cols, len(cols))
    while len(found) < n_attacks and tries < 20 * n_attacks:
        tries += 1
        row = int(rng.integers(len(syn)))
        preds = []
        for c in rng.choice(cols, k, replace=False):
            v = sv[c][row]
            if kinds[c] in NUMERIC:
                if isinstance(v, float) and math.isnan(v):
                    break
                preds.append((c, ">=" if v >= medians[c] else "<=", v))
            else:
                preds.append((c, "==", v))
        else:
            if match(sv, preds).sum() == 1:
                found.append(preds)
    hits_t = sum(int(match(tv, p).sum() == 1) for p in found)
    hits_c = sum(int(match(cv, p).sum() == 1) for p in found)
    return risk((hits_t, len(found)), (hits_c, len(found)))


def _nearest(enc: OneHotEncoding, cols: list[str], syn: pd.DataFrame, targets: pd.DataFrame):
    sub = {c: enc.kinds[c] for c in cols}
    part = OneHotEncoding(sub, scale="range")
    part.numeric_ = {c: v for c, v in enc.numeric_.items() if c in sub}
    part.categories_ = {c: v for c, v in enc.categories_.items() if c in sub}
    nn = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(part.transform(syn))
    return nn.kneighbors(part.transform(targets))[1][:, 0]


def linkability(syn, train, control, kinds, enc, rng, n_attacks=ATTACKS) -> dict:
    cols = list(rng.permutation(list(kinds)))
    if len(cols) < 2:
        return risk((0, 0), (0, 0))
    half_a, half_b = cols[: len(cols) // 2], cols[len(cols) // 2 :]

    def rate(targets: pd.DataFrame) -> tuple[int, int]:
        t = targets.iloc[rng.choice(len(targets), min(n_attacks, len(targets)), replace=False)]
        a = _nearest(enc, half_a, syn, t)
        b = _nearest(enc, half_b, syn, t)
        return int((a == b).sum()), len(t)

    return {**risk(rate(train), rate(control)), "columns": [half_a, half_b]}


def inference(syn, train, control, kinds, enc, secret, rng, n_attacks=ATTACKS) -> dict:
    known = [c for c in kinds if c != secret]
    if not known:
        return risk((0, 0), (0, 0))
    s_syn = _values(syn, {secret: kinds[secret]})[secret]
    numeric = kinds[secret] in NUMERIC
    span = float(np.nanmax(s_syn) - np.nanmin(s_syn)) if numeric and len(s_syn) else 0.0

    def rate(targets: pd.DataFrame) -> tuple[int, int]:
        t = targets.iloc[rng.choice(len(targets), min(n_attacks, len(targets)), replace=False)]
        guess = s_syn[_nearest(enc, known, syn, t)]
        truth = _values(t, {secret: kinds[secret]})[secret]
        if numeric:
            ok = np.abs(guess.astype(float) - truth.astype(float)) <= 0.05 * span
        else:
            ok = guess == truth
        return int(ok.sum()), len(t)

    return {**risk(rate(train), rate(control)), "secret": secret}


def attacks(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    kinds: dict[str, Kind],
    target: str | None,
    rng: np.random.Generator,
    n_attacks: int = ATTACKS,
) -> dict | None:
    """The three attacks (see the module doc); None without a holdout (no control)."""
    if holdout is None or len(holdout) < 10 or len(train) < 10 or len(synthetic) < 10:
        return None
    m = len(holdout)
    train_s = train.iloc[rng.choice(len(train), min(m, len(train)), replace=False)]
    control = holdout.iloc[rng.choice(m, min(m, len(train_s)), replace=False)]
    n_syn = min(len(synthetic), SYNTHETIC_ROWS)
    syn = synthetic.iloc[rng.choice(len(synthetic), n_syn, replace=False)].reset_index(drop=True)
    enc = OneHotEncoding(kinds, scale="range").fit(train)
    cats = [c for c, k in kinds.items() if k not in NUMERIC]
    secret = target if target in kinds else (cats[0] if cats else next(iter(kinds)))
    return {
        "singling_out": singling_out(syn, train_s, control, kinds, rng, n_attacks),
        "linkability": linkability(syn, train_s, control, kinds, enc, rng, n_attacks),
        "inference": inference(syn, train_s, control, kinds, enc, secret, rng, n_attacks),
        "rows": {
            "train": len(train_s),
            "control": len(control),
            "synthetic": n_syn,
            "attacks": n_attacks,
            "train_subsampled_from": len(train),
            "synthetic_subsampled_from": len(synthetic),
        },
        "method": "anonymeter's three attacks (Giomi et al. 2023), written on numpy/sklearn",
    }


def rare_values(
    train: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, Kind], k: int = 5
) -> dict:
    """How many synthetic category values occur fewer than ``k`` times in the training rows
    (at least once): values a model should not reproduce."""
    per: dict[str, int] = {}
    cells = 0
    for name, kind in kinds.items():
        if kind in NUMERIC:
            continue
        counts = train[name].dropna().astype(str).value_counts()
        rare = set(counts.index[counts < k])
        syn = synthetic[name].dropna().astype(str)
        cells += len(syn)
        per[name] = int(syn.isin(rare).sum()) if rare else 0
    total = sum(per.values())
    return {"k": k, "count": total, "share": total / cells if cells else 0.0, "per_column": per}
