"""The cross-column model: each categorical column predicted from the rest of the row.

During training every row has one random group of columns zeroed and flagged by a
mask-indicator input, and the loss is the cross-entropy of the masked categories, so the network
must model the dependencies instead of copying its input. Scoring masks each group in turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from synthgen.core.trainable import DropLastBatches, TrainableModel
from synthgen.tabular.anomaly.autoencoder import AutoencoderConfig, build_autoencoder
from synthgen.tabular.anomaly.reconstruction import SpanLayout, column_errors


@dataclass
class CrossLayout:
    """The cross-column model's masking: groups of columns masked together."""

    groups: np.ndarray  # (n_columns,) group id of each column, -1 = never masked
    feature_mask: np.ndarray  # (n_groups, n_features) 1 where a feature belongs to the group
    targets: np.ndarray  # (n_groups, n_columns) 1 where a categorical column is in the group

    @property
    def n_groups(self) -> int:
        return int(self.feature_mask.shape[0])


def cross_layout(layout: SpanLayout, groups: np.ndarray) -> CrossLayout:
    """Masks and targets for ``groups`` (one id per column; only one-hot columns are targets)."""
    groups = np.asarray(groups, dtype=np.int64)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    fmask = np.zeros((n_groups, layout.n_features), dtype=np.float32)
    targets = np.zeros((n_groups, layout.n_columns), dtype=np.float32)
    for idx, c in zip(layout.numeric_idx, layout.numeric_col, strict=True):
        if groups[c] >= 0:
            fmask[groups[c], idx] = 1.0
    for start, end, c in layout.onehot:
        if groups[c] >= 0:
            fmask[groups[c], start:end] = 1.0
            targets[groups[c], c] = 1.0
    return CrossLayout(groups=groups, feature_mask=fmask, targets=targets)


def masked_inputs(
    x: torch.Tensor,
    group: torch.Tensor,
    feature_mask: torch.Tensor,
    extra: torch.Tensor | None = None,
) -> torch.Tensor:
    """Rows ``x`` with group ``group[i]`` of row ``i`` zeroed (and the groups flagged in
    ``extra``, if given), followed by the mask indicators."""
    m = torch.nn.functional.one_hot(group, feature_mask.shape[0]).to(x.dtype)
    if extra is not None:
        m = torch.maximum(m, extra.to(x.dtype))
    return torch.cat([x * (1.0 - m @ feature_mask), m], dim=1)


class MaskedColumnNet(DropLastBatches, TrainableModel):
    """The cross-column model as the loop trains it. Every other group is also masked with
    probability ``extra_mask`` (not scored): a regulariser that kept the model from memorising
    the fitting rows (measured on Adult: the fitting rows' and new rows' scores drift less
    apart, and the hardest corrupted rows rank higher). The held-out slice has every group
    masked in turn; the best weights on it are kept."""

    kind = "masked-columns"
    config_cls = AutoencoderConfig

    def __init__(
        self,
        config: AutoencoderConfig,
        layout: SpanLayout,
        cross: CrossLayout,
        *,
        lr: float,
        weight_decay: float,
        seed: int,
        extra_mask: float = 0.15,
    ) -> None:
        super().__init__(config)
        self.layout, self.cross = layout, cross
        self.lr, self.weight_decay, self.seed = lr, weight_decay, seed
        self.extra_mask = extra_mask
        self.net = build_autoencoder(config)

    def modules(self) -> dict[str, nn.Module]:
        return {"cross": self.net}

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = self.net.parameters()
        return {"cross": torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)}

    def prepare(self, data) -> None:
        self._gen = torch.Generator().manual_seed(self.seed + 7919)
        self._fmask = torch.as_tensor(self.cross.feature_mask, device=data.device)
        self._targets = torch.as_tensor(self.cross.targets, device=data.device)

    def train_step(self, batch, optimizers):
        n_groups, bs, dev = self.cross.n_groups, batch.shape[0], batch.device
        g = torch.randint(0, n_groups, (bs,), generator=self._gen).to(dev)
        extra = None
        if self.extra_mask > 0:
            extra = (torch.rand(bs, n_groups, generator=self._gen) < self.extra_mask).to(dev)
        recon = self.net(masked_inputs(batch, g, self._fmask, extra))
        loss = (column_errors(recon, batch, self.layout) * self._targets[g]).sum(-1).mean()
        optimizers["cross"].zero_grad(set_to_none=True)
        loss.backward()
        optimizers["cross"].step()
        return {"cross": loss.item()}

    def validation_loss(self, data) -> float:
        n_groups, n = self.cross.n_groups, data.shape[0]
        xv = data.repeat(n_groups, 1)
        gv = torch.arange(n_groups, device=data.device).repeat_interleave(n)
        recon = self.net(masked_inputs(xv, gv, self._fmask))
        return float((column_errors(recon, xv, self.layout) * self._targets[gv]).sum(-1).mean())


@torch.no_grad()
def predict_masked_errors(
    model: nn.Module,
    x: np.ndarray,
    layout: SpanLayout,
    cross: CrossLayout,
    device: torch.device,
    max_elements: int = 1 << 24,
) -> np.ndarray:
    """``(rows, n_columns)``: each categorical column's cross-entropy when its group is masked
    and predicted from the other columns (one pass per group, batched), under the ensemble's
    mean probability; 0 for columns that are not targets. Rows go in chunks sized so that no
    intermediate tensor holds more than about ``max_elements`` values."""
    model.eval()
    width = model.config.members * cross.n_groups * (layout.n_features + cross.n_groups)
    chunk = max(1, max_elements // width)
    fmask = torch.as_tensor(cross.feature_mask, device=device)
    n_groups = cross.n_groups
    groups = torch.as_tensor(np.maximum(cross.groups, 0), device=device)
    is_target = torch.as_tensor(cross.targets.sum(0) > 0, device=device)
    out = np.zeros((x.shape[0], layout.n_columns), dtype=np.float64)
    for i in range(0, x.shape[0], chunk):
        xb = torch.as_tensor(x[i : i + chunk], dtype=torch.float32, device=device)
        rows = xb.shape[0]
        rep = xb.repeat(n_groups, 1)
        g = torch.arange(n_groups, device=device).repeat_interleave(rows)
        err = column_errors(model(masked_inputs(rep, g, fmask)), rep, layout)
        # the ensemble's predictive distribution: -log of the members' mean probability
        err = math.log(err.shape[0]) - torch.logsumexp(-err, dim=0)
        err = err.reshape(n_groups, rows, layout.n_columns)
        picked = err.gather(0, groups.view(1, 1, -1).expand(1, rows, -1))[0]
        out[i : i + rows] = torch.where(is_target, picked, 0.0).double().cpu().numpy()
    return out


def prior_errors(x: np.ndarray, layout: SpanLayout, log_prior: np.ndarray) -> np.ndarray:
    """``(rows, n_columns)``: each one-hot column's cross-entropy under the fitting data's
    category frequencies (``log_prior``: log frequencies at the one-hot features); 0 for other
    columns, and for an unseen category (an all-zero block), so that its deficit keeps the full
    unseen-category error: a category never seen at fit time flags a row on its own."""
    out = np.zeros((x.shape[0], layout.n_columns), dtype=np.float64)
    for start, end, c in layout.onehot:
        out[:, c] = -(x[:, start:end].astype(np.float64) @ log_prior[start:end])
    return out


def log_category_prior(x: np.ndarray, layout: SpanLayout) -> np.ndarray:
    """Log frequencies (add-half smoothed) of every one-hot feature in ``x``; 0 elsewhere."""
    out = np.zeros(layout.n_features, dtype=np.float64)
    for start, end, _ in layout.onehot:
        counts = x[:, start:end].sum(0).astype(np.float64) + 0.5
        out[start:end] = np.log(counts / counts.sum())
    return out
