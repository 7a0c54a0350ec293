"""The neighbour signal: distance from a row to its nearest fitting rows in the encoded space.

The detector's second signal beside reconstruction error. A reference set of fitting rows (all
of them up to ``max_rows``, else an evenly seeded sample, and never more than ``max_elements``
stored values) is kept in the model file; a row's neighbour score is its mean Euclidean distance
to its ``k`` nearest reference rows. Per-column attribution: each column's share of the squared
distances to those neighbours. Distances are exact (brute force in row chunks, so memory stays
bounded whatever the row count) and depend only on the row and the reference set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class NeighbourIndex:
    """Reference rows ``(m, features)`` and how features map to source columns."""

    reference: torch.Tensor
    k: int
    feature_column: np.ndarray  # (features,) source column of each encoded feature
    n_columns: int

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        feature_column: np.ndarray,
        n_columns: int,
        *,
        k: int,
        max_rows: int,
        max_elements: int,
        seed: int,
    ) -> tuple[NeighbourIndex, np.ndarray]:
        """The index over (a sample of) ``x``, and the row of ``x`` each reference row is."""
        cap = max(k + 1, min(int(max_rows), int(max_elements) // max(1, x.shape[1])))
        if len(x) > cap:
            rng = np.random.default_rng(seed + 104729)
            rows = np.sort(rng.choice(len(x), cap, replace=False))
        else:
            rows = np.arange(len(x))
        ref = torch.as_tensor(np.ascontiguousarray(x[rows]), dtype=torch.float32)
        index = cls(ref, int(k), np.asarray(feature_column, dtype=np.int64), int(n_columns))
        return index, rows

    @property
    def rows(self) -> int:
        return int(self.reference.shape[0])

    @torch.no_grad()
    def score(
        self,
        x: np.ndarray,
        *,
        self_rows: np.ndarray | None = None,
        device: torch.device | None = None,
        max_elements: int = 1 << 23,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour scores ``(rows,)`` and per-column squared distances ``(rows, columns)``
        (the mean over the k neighbours). ``self_rows[i]`` is the reference row that query row
        ``i`` is (-1: none); it is left out, so a fitting row is not its own neighbour."""
        device = device or torch.device("cpu")
        ref = self.reference.to(device)
        m, d = ref.shape
        k = min(self.k, m - (1 if self_rows is not None else 0))
        ref_sq = (ref * ref).sum(1)
        col = torch.as_tensor(self.feature_column, device=device)
        chunk = max(1, max_elements // max(m, k * d))
        scores = np.empty(len(x), dtype=np.float64)
        contrib = np.empty((len(x), self.n_columns), dtype=np.float64)
        for i in range(0, len(x), chunk):
            q = torch.as_tensor(x[i : i + chunk], dtype=torch.float32, device=device)
            d2 = (q * q).sum(1, keepdim=True) + ref_sq[None] - 2.0 * (q @ ref.T)
            if self_rows is not None:
                own = torch.as_tensor(self_rows[i : i + chunk], device=device)
                hit = own >= 0
                d2[hit.nonzero()[:, 0], own[hit]] = float("inf")
            idx = torch.topk(d2, k, dim=1, largest=False).indices  # (b, k)
            diff = (ref[idx] - q[:, None, :]) ** 2  # (b, k, d), exact squared differences
            dist = diff.sum(-1).sqrt().mean(1)
            per_col = q.new_zeros(q.shape[0], self.n_columns)
            per_col.index_add_(1, col, diff.mean(1))
            scores[i : i + chunk] = dist.double().cpu().numpy()
            contrib[i : i + chunk] = per_col.double().cpu().numpy()
        return scores, contrib
