"""Per-column reconstruction errors of the tabular autoencoder, and the trainable that fits it
in the one training loop (:mod:`synthgen.core.train`).

The encoded table is a float matrix made of *spans*: numeric spans (one standardised value per
column, error = squared error) and categorical spans (a one-hot block, error = cross-entropy of
the softmax over the block's logits). Each span belongs to one source column; a column's error is
the sum of its spans' errors.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from synthgen.core.trainable import DropLastBatches, TrainableModel
from synthgen.tabular.anomaly.autoencoder import AutoencoderConfig, build_autoencoder

# Error charged for a one-hot block that is all zeros (a category unseen at fit time, which has
# no slot and so probability ~0 under the model): the cross-entropy of a probability of 1e-30.
# Large on purpose: one unseen category should flag a row on its own.
UNSEEN_CATEGORY_ERROR = -math.log(1e-30)


@dataclass
class SpanLayout:
    """Where each source column lives in the encoded matrix."""

    n_features: int
    numeric_idx: list[int]  # feature index of each numeric span
    numeric_col: list[int]  # source column index of each numeric span
    onehot: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, column)
    n_columns: int = 0


def _one_feature_per_column(layout: SpanLayout) -> bool:
    n = layout.n_features
    return (
        not layout.onehot
        and n == layout.n_columns
        and layout.numeric_idx == list(range(n))
        and layout.numeric_col == list(range(n))
    )


def column_errors(recon: torch.Tensor, x: torch.Tensor, layout: SpanLayout) -> torch.Tensor:
    """Per-column errors ``(members, batch, n_columns)`` of reconstructions ``(members, batch,
    features)`` against inputs ``(batch, features)``."""
    members, batch = recon.shape[0], recon.shape[1]
    if _one_feature_per_column(layout):  # all-numeric tables: the squared errors themselves
        return (recon - x.unsqueeze(0)) ** 2
    out = recon.new_zeros(members, batch, layout.n_columns)
    if layout.numeric_idx:
        idx = torch.as_tensor(layout.numeric_idx, device=x.device)
        col = torch.as_tensor(layout.numeric_col, device=x.device)
        sq = (recon[:, :, idx] - x[:, idx].unsqueeze(0)) ** 2
        out.index_add_(2, col, sq)
    for start, end, c in layout.onehot:
        logits = recon[:, :, start:end]
        target = x[:, start:end].unsqueeze(0)
        logp = torch.log_softmax(logits, dim=-1)
        ce = -(target * logp).sum(-1)
        seen = target.sum(-1)
        ce = ce + (1.0 - seen).clamp(min=0.0) * UNSEEN_CATEGORY_ERROR
        out[:, :, c] += ce
    return out


@contextlib.contextmanager
def cpu_threads(device: torch.device, n_features: int, members: int) -> Iterator[None]:
    """Run small models on one CPU thread: their matmuls are too small to gain from more, and
    intra-op threads spinning against other busy processes can slow a step tenfold. Restores
    the previous setting afterwards."""
    if device.type != "cpu" or n_features * members > 4096:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class ReconstructionNet(DropLastBatches, TrainableModel):
    """The autoencoder ensemble as the loop trains it: mean per-column error as the loss, early
    stopping on the held-out slice, and weight snapshots at fractions of the planned steps
    (the score averages every snapshot: early ones see "far from the centre", late ones "off
    the learned manifold"); the last snapshot is the best weights on the held-out slice."""

    kind = "autoencoder"
    config_cls = AutoencoderConfig

    def __init__(
        self,
        config: AutoencoderConfig,
        layout: SpanLayout,
        *,
        lr: float,
        weight_decay: float,
        snapshots: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0),
    ) -> None:
        super().__init__(config)
        self.layout = layout
        self.lr, self.weight_decay = lr, weight_decay
        self.snapshot_fractions = snapshots
        self.net = build_autoencoder(config)
        self.snapshots: list[dict[str, torch.Tensor]] = []
        self._marks: set[int] = set()

    def modules(self) -> dict[str, nn.Module]:
        return {"ae": self.net}

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = self.net.parameters()
        return {"ae": torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)}

    def make_schedulers(self, optimizers, total_steps: int) -> list:
        marks = sorted({max(1, int(round(f * total_steps))) for f in self.snapshot_fractions})
        self._marks = set(marks[:-1])
        return []

    def train_step(self, batch, optimizers):
        loss = column_errors(self.net(batch), batch, self.layout).mean()
        optimizers["ae"].zero_grad(set_to_none=True)
        loss.backward()
        optimizers["ae"].step()
        return {"loss": loss.item()}

    def after_step(self, step: int, total_steps: int) -> None:
        if step in self._marks:
            self.snapshots.append(_copy(self.net))

    def validation_loss(self, data) -> float:
        return float(column_errors(self.net(data), data, self.layout).mean())

    def finish(self, data, advance=lambda n=1: None) -> None:
        self.snapshots.append(_copy(self.net))

    def stacked(self) -> tuple[AutoencoderConfig, nn.Module]:
        """One module holding every snapshot's members (snapshot-major), for one-pass scoring."""
        snaps = self.snapshots
        weights = {k: torch.cat([s[k] for s in snaps], dim=0) for k in snaps[0]}
        members = self.config.members * len(snaps)
        config = replace(self.config, members=members, groups=len(snaps))
        module = build_autoencoder(config)
        module.load_state_dict(weights)
        return config, module


def _copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: t.detach().clone() for k, t in model.state_dict().items()}


@torch.no_grad()
def predict_group_errors(
    model: nn.Module,
    x: np.ndarray,
    layout: SpanLayout,
    device: torch.device,
    groups: int = 1,
    chunk: int = 4096,
) -> np.ndarray:
    """Per-column errors ``(groups, rows, n_columns)`` in eval mode, averaged over the members
    of each group (members are stored group-major)."""
    model.eval()
    members = model.config.members
    # rows per pass: no intermediate (members, rows, features) tensor above ~4M values
    chunk = max(1, min(chunk, (1 << 22) // max(1, members * layout.n_features)))
    out = np.empty((groups, x.shape[0], layout.n_columns), dtype=np.float64)
    for i in range(0, x.shape[0], chunk):
        xb = torch.as_tensor(x[i : i + chunk], dtype=torch.float32, device=device)
        err = column_errors(model(xb), xb, layout).double()
        err = err.reshape(groups, members // groups, *err.shape[1:]).mean(dim=1)
        out[:, i : i + chunk] = err.cpu().numpy()
    return out
