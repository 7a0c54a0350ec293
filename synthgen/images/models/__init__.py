"""The image generator kinds, registered in the one registry (:mod:`synthgen.core.kinds`);
the ``ImageSynthesizer`` fits, saves and loads every one of them."""

from __future__ import annotations

from synthgen.core.kinds import Kind, Plan, register
from synthgen.core.train import TrainConfig
from synthgen.images.models.base import ImageModel
from synthgen.images.models.cgan import ImageCGAN, ImageCGANConfig
from synthgen.images.models.fvae import ImageFilteredVAE, ImageFilteredVAEConfig
from synthgen.images.models.vae import ImageVAE, ImageVAEConfig


def _vae_plan(target_steps: int) -> Plan:
    """The VAE kinds' fit: batches of 64, a tenth held out for the ELBO that picks the weights
    and stops early (checked every 2 epochs, patience 5), 10 to 300 epochs."""
    train = TrainConfig(
        epochs=300, batch_size=64, val_fraction=0.1, eval_every=2, patience=5, min_epochs=10
    )
    return Plan(train, target_steps=target_steps, min_batch_size=16, max_epochs=300)


CGAN = register(
    Kind(
        name="cgan",
        data="image",
        role="generator",
        network=ImageCGAN,
        config=ImageCGANConfig,
        plan=Plan(
            TrainConfig(epochs=400, batch_size=64, val_fraction=0.0, eval_every=5, min_epochs=5),
            target_steps=2500,
            min_batch_size=16,
            max_epochs=400,
        ),
        summary="conditional DCGAN: projection critic, spectral norm, hinge loss",
        threads=None,
    )
)
VAE = register(
    Kind(
        name="vae",
        data="image",
        role="generator",
        network=ImageVAE,
        config=ImageVAEConfig,
        plan=_vae_plan(target_steps=3000),
        summary="conditional convolutional VAE with a per-class latent prior",
        threads=None,
    )
)

FVAE = register(
    Kind(
        name="fvae",
        data="image",
        role="generator",
        network=ImageFilteredVAE,
        config=ImageFilteredVAEConfig,
        plan=_vae_plan(target_steps=1650),  # ~140-160 ms a step on 2 idle cores: <= 5 min
        summary="the conditional VAE with a label check: a classifier trained beside it redraws "
        "samples it does not read as their label (the default)",
        threads=None,
    )
)

__all__ = ["CGAN", "FVAE", "VAE", "ImageModel"]
