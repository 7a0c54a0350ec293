"""The detector's cross-column term: fitting the masked-column model and reading, per column, how
many nats less probable a row's category is given the rest of the row than its base rate."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthgen.core.train import TrainConfig, fit_model
from synthgen.tabular.anomaly.autoencoder import AutoencoderConfig, build_autoencoder
from synthgen.tabular.anomaly.features import TableEncoding, cross_groups
from synthgen.tabular.anomaly.masked import (
    CrossLayout,
    MaskedColumnNet,
    cross_layout,
    log_category_prior,
    predict_masked_errors,
    prior_errors,
)
from synthgen.tabular.anomaly.reconstruction import SpanLayout


@dataclass
class CrossModel:
    """The fitted cross-column model: weights, config, masking groups, category log-prior."""

    model: torch.nn.Module
    config: AutoencoderConfig
    layout: CrossLayout
    log_prior: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)

    def deficit(self, x: np.ndarray, layout: SpanLayout, device: torch.device) -> np.ndarray:
        """Per column, how many nats less probable the row's category is given the rest of the
        row than its frequency in the fitting data (0 when more probable)."""
        masked = predict_masked_errors(self.model, x, layout, self.layout, device)
        return np.maximum(masked - prior_errors(x, layout, self.log_prior), 0.0)

    def tensors(self) -> dict[str, torch.Tensor]:
        out = {f"cross.model.{k}": v.detach().cpu() for k, v in self.model.state_dict().items()}
        out["cross.groups"] = torch.from_numpy(self.layout.groups.astype(np.int64))
        out["cross.log_prior"] = torch.from_numpy(self.log_prior.astype(np.float64))
        return out

    @classmethod
    def from_tensors(
        cls,
        config_dict: dict,
        tensors: dict[str, torch.Tensor],
        encoding: TableEncoding,
        device: torch.device,
    ) -> CrossModel:
        """The model stored under ``cross.*`` (raises ValueError/KeyError if broken)."""
        config = AutoencoderConfig.from_dict(config_dict)
        groups = tensors["cross.groups"].numpy().astype(np.int64)
        layout = encoding.layout_
        if len(groups) != layout.n_columns:
            raise ValueError("cross-column groups do not match the columns")
        cross = cross_layout(layout, groups)
        if cross.n_groups != config.mask_inputs or config.n_features != layout.n_features:
            raise ValueError("cross-column model does not match its groups")
        log_prior = tensors["cross.log_prior"].numpy().astype(np.float64)
        if log_prior.shape != (layout.n_features,):
            raise ValueError("cross-column prior does not match the encoding")
        model = build_autoencoder(config)
        prefix = "cross.model."
        model.load_state_dict(
            {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}, strict=True
        )
        return cls(model.to(device).eval(), config, cross, log_prior)


def fit_cross_model(
    frame: pd.DataFrame,
    x: np.ndarray,
    encoding: TableEncoding,
    ae: AutoencoderConfig,
    options: Any,
    plain: TrainConfig,
    device: torch.device,
    progress: bool,
) -> CrossModel | None:
    """Train the cross-column model (tables with categorical columns and a positive
    ``cross_weight``), or ``None``. It trains at three times the plain autoencoder's learning
    rate for at least ``cross_steps`` steps (small tables need more than their epochs give to
    learn how columns depend on each other), at most 100 passes over the data."""
    if float(options.cross_weight) <= 0:
        return None
    layout = encoding.layout_
    groups = cross_groups(frame, encoding.schema, encoding.columns_)
    if not (groups >= 0).any():
        return None
    cross = cross_layout(layout, groups)
    config = AutoencoderConfig(
        n_features=layout.n_features,
        hidden=ae.hidden,
        bottleneck=max(ae.bottleneck, ae.hidden // 4),
        members=ae.members,
        mask_inputs=cross.n_groups,
    )
    n_val = min(int(round(len(x) * 0.1)), 1000) if len(x) >= 50 else 0
    per_epoch = max(1, (len(x) - n_val) // plain.batch_size)
    planned = max(int(options.cross_steps), plain.epochs * per_epoch)
    steps = max(1, min(planned, int(options.max_steps), 100 * per_epoch))
    cfg = dataclasses.replace(plain, steps=steps, max_val_rows=1000)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(plain.seed + 7919)
        net = MaskedColumnNet(
            config,
            layout,
            cross,
            lr=3 * float(options.lr),
            weight_decay=float(options.weight_decay),
            seed=plain.seed,
        )
    summary = fit_model(
        net, x, cfg, device, progress=progress, description="fitting cross-column model"
    )
    model = net.net.to(device).eval()
    return CrossModel(model, config, cross, log_category_prior(x, layout), summary)
