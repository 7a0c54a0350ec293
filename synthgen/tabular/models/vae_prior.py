"""The VAE's latent prior: Gaussian mixtures fitted to the aggregate posterior of the training
rows (one for all rows, one per frequent condition vector), and sampling from them in blocks."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from synthgen.tabular.models.layout import marginal_product

MIN_GROUP_ROWS = 200  # a condition vector this frequent gets its own latent mixture
MAX_PRIOR_GROUPS = 64


def condition_groups(data: torch.Tensor, c_index: torch.Tensor):
    """Distinct condition vectors of the training rows: (pool, row -> vector, counts)."""
    if len(c_index):
        return torch.unique(data[:, c_index], dim=0, return_inverse=True, return_counts=True)
    # no condition columns: one empty condition vector for every row
    inverse = torch.zeros(len(data), dtype=torch.long, device=data.device)
    return data.new_zeros(1, 0), inverse, torch.tensor([len(data)], device=data.device)


def frequent_groups(counts: torch.Tensor) -> np.ndarray:
    """Condition vectors that get a mixture of their own (none when there is one vector)."""
    counts = counts.cpu().numpy()
    frequent = np.flatnonzero(counts >= MIN_GROUP_ROWS)
    if 1 < len(counts) and len(frequent) <= MAX_PRIOR_GROUPS:
        return frequent
    return np.zeros(0, dtype=np.int64)


def fit_mixture(z: np.ndarray, rows: np.ndarray, group: int, components: int):
    """A full-covariance Gaussian mixture fitted to latents ``z[rows]`` (at most 10,000 of
    them): (group per component, weights, means, Cholesky factors)."""
    rng = np.random.default_rng(0)
    if len(rows) > 10000:
        rows = rng.choice(rows, 10000, replace=False)
    k = min(components, max(1, len(rows) // 50))
    gmm = GaussianMixture(
        n_components=k, covariance_type="full", reg_covar=1e-3, max_iter=60, random_state=0
    )
    with warnings.catch_warnings():  # 60 EM steps are enough for a sampling prior
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(z[rows])
    chol = np.linalg.cholesky(gmm.covariances_)
    return np.full(k, group, dtype=np.int64), gmm.weights_, gmm.means_, chol


def sample_active(
    prior: dict[str, torch.Tensor], pick: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Latents of the prior's active dimensions (n, k) for rows whose condition vectors are
    the pool's ``pick`` (-1: not from the pool), in row order.

    Rows are grouped by their condition's mixture (one sort); each group's latents are drawn
    component by component into one contiguous block, shuffled within the group, and put
    back in row order with one scatter per group.
    """
    n, k = len(pick), int(prior["active"].sum())
    groups, weights = prior["group"].cpu(), prior["weights"].cpu()
    means, chol = prior["means"].cpu(), prior["chol"].cpu()
    row_group = torch.where(torch.isin(pick, groups), pick, torch.full_like(pick, -1))
    order = torch.argsort(row_group, stable=True)
    labels, counts = torch.unique_consecutive(row_group[order], return_counts=True)
    eps = torch.randn(n, k, generator=generator)
    active = torch.empty(n, k)
    at = 0
    for g, count in zip(labels.tolist(), counts.tolist(), strict=True):
        members = (groups == g).nonzero().squeeze(1)
        draws = torch.multinomial(weights[members], count, True, generator=generator)
        sizes = torch.bincount(draws, minlength=len(members)).tolist()
        block = torch.empty(count, k)
        start = 0
        for m, size in zip(members.tolist(), sizes, strict=True):
            if size:
                rows = slice(start, start + size)
                torch.addmm(
                    means[m], eps[at + start : at + start + size], chol[m].T, out=block[rows]
                )
                start += size
        # the group's rows shuffled: shuffled row i (block row perm[i]) goes to the group's
        # i-th row in row order; scattered straight from the block (no gather, no concat)
        perm = torch.randperm(count, generator=generator)
        dest = torch.empty_like(perm)
        dest[perm] = order[at : at + count]
        active[dest] = block
        at += count
    return active


def private_condition_pool(layout, condition_columns: list[str], limit: int = 10_000):
    """Condition vectors and weights for a DP fit, from the transformer's (noisy) category
    counts alone: the product of the condition columns' marginals (no joint counts of rows),
    the ``limit`` likeliest combinations."""
    columns = [
        (torch.eye(d.width), torch.tensor(d.counts, dtype=torch.float32))
        for d in layout.discrete
        if d.column in condition_columns
    ]
    return marginal_product(columns, limit)
