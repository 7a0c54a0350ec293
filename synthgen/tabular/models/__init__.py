"""The table generator kinds, registered in the one registry (:mod:`synthgen.core.kinds`).

Each entry names its network, the dataclass of its options and its training plan; the
``TabularSynthesizer`` fits, saves and loads every one of them.
"""

from __future__ import annotations

from synthgen.core.kinds import Kind, Plan, register
from synthgen.core.train import TrainConfig
from synthgen.tabular.models.ar import ARConfig, TabularAR
from synthgen.tabular.models.base import TabularModel
from synthgen.tabular.models.cgan import CGANConfig, TabularCGAN
from synthgen.tabular.models.vae import TabularVAE, VAEConfig

_LOOP = TrainConfig(epochs=300, batch_size=500, eval_every=5, patience=6, min_epochs=30)

VAE = register(
    Kind(
        name="vae",
        data="table",
        role="generator",
        network=TabularVAE,
        config=VAEConfig,
        plan=Plan(_LOOP, target_steps=3000, min_batch_size=16),
        summary="conditional VAE with a Gaussian-mixture latent prior (fast, the default)",
        extra={"numeric_encoding": "quantile"},
    )
)
CGAN = register(
    Kind(
        name="cgan",
        data="table",
        role="generator",
        network=TabularCGAN,
        config=CGANConfig,
        plan=Plan(_LOOP, target_steps=7000, min_batch_size=50),  # five PacGAN groups of 10
        summary="CTGAN-family conditional WGAN-GP",
        extra={"numeric_encoding": "quantile"},
    )
)


AR = register(
    Kind(
        name="ar",
        data="table",
        role="generator",
        network=TabularAR,
        config=ARConfig,
        plan=Plan(
            TrainConfig(epochs=300, batch_size=500, eval_every=1, patience=3, min_epochs=5),
            target_steps=3000,
            min_batch_size=16,
        ),
        summary="autoregressive network over binned columns (TabularARGN family)",
        # DP defaults, from a check on Adult's train rows (12,000 fit, 4,000 scored; never the
        # test file) at epsilon 3: no dropout, as DP-SGD's noise regularises (quality 0.928,
        # TSTR 0.865 against 0.924 / 0.859 with dropout 0.1), and 40 epochs rather than the
        # 20 of the other kinds (0.937 / 0.879; 10 epochs: 0.915 / 0.845). Each row's
        # gradient clipped at norm 5, not 1: at 1, 23_mammography's commonest row took 77 % of
        # the rows (quality 0.793), at 5 its quality is 0.914, and Adult's 12,000 / 4,000
        # split and six small tables move by at most 0.001 (benchmarks/dp_clip.py)
        extra={
            "numeric_encoding": "binned",
            "dp_model_options": {"dropout": 0.0},
            "dp_train": {"dp_epochs": 40},
            "dp_clip": 5.0,
        },
    )
)

__all__ = ["AR", "CGAN", "VAE", "TabularModel"]
