"""The VAE image kinds' sampling prior: a Gaussian mixture per class fitted to the aggregate
posterior after training (weights, save/load, determinism), and files from before the mixture
(one Gaussian per class, no weights) still loading and sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthgen.errors import UsageError
from synthgen.images.models.vae import ImageVAE, ImageVAEConfig, _class_prior
from synthgen.images.synthesizer import ImageSynthesizer


@pytest.mark.parametrize("kind", ["vae", "fvae"])
def test_mixture_prior_fits_saves_and_samples_alike(kind, digits, digits_schema, tmp_path):
    options = {"latent_dim": 4, "prior_components": 3}
    synth = ImageSynthesizer(
        kind, epochs=1, seed=0, device="cpu", progress=False, model_options=options
    )
    synth.fit(digits, digits_schema())
    model = synth.model_
    assert model.prior_weight.shape == (10, 3) and model.prior_mean.shape == (10, 3, 4)
    torch.testing.assert_close(model.prior_weight.sum(1), torch.ones(10))
    assert (model.prior_weight > 0).sum() > 10  # more than one component is used
    before = synth.sample(50, {"digit": 7}, seed=3)
    loaded = ImageSynthesizer.load(synth.save(tmp_path / "m.synth"), device="cpu")
    after = loaded.sample(50, {"digit": 7}, seed=3)
    np.testing.assert_array_equal(before.images, after.images)
    assert not np.array_equal(before.images, synth.sample(50, {"digit": 7}, seed=4).images)


def test_class_prior_matches_a_two_cluster_class():
    gen = torch.Generator().manual_seed(0)
    m = torch.cat(
        [torch.randn(200, 2, generator=gen) * 0.1 - 3, torch.randn(100, 2, generator=gen) * 0.1 + 3]
    ).double()
    weights, means, chols = _class_prior(m, torch.full_like(m, 1e-4), 2)
    order = means[:, 0].argsort()
    torch.testing.assert_close(
        weights[order], torch.tensor([2 / 3, 1 / 3], dtype=torch.float64), atol=1e-3, rtol=0
    )
    torch.testing.assert_close(
        means[order],
        torch.tensor([[-3.0, -3.0], [3.0, 3.0]], dtype=torch.float64),
        atol=0.05,
        rtol=0,
    )
    # one component (or too few rows for more): the class's mean and covariance
    w1, m1, _ = _class_prior(m[:5], torch.zeros_like(m[:5]), 4)
    assert w1.tolist() == [1.0, 0.0, 0.0, 0.0]
    torch.testing.assert_close(m1[0], m[:5].mean(0))


def test_single_gaussian_prior_of_older_files_loads():
    model = ImageVAE(ImageVAEConfig(latent_dim=4), (8, 8, 1), 3)
    mean, chol = torch.randn(3, 4), torch.eye(4).repeat(3, 1, 1) * 0.5
    model.load_extra_state({"prior_mean": mean, "prior_chol": chol})
    assert model.prior_weight.shape == (3, 1) and model.prior_mean.shape == (3, 1, 4)
    gen = torch.Generator().manual_seed(0)
    out = model.sample(torch.tensor([0, 1, 2, 2]), gen)
    assert out.shape == (4, 1, 8, 8) and torch.isfinite(out).all()


def test_laplace_likelihood_fits_and_samples_alike_and_unknown_is_refused(digits, digits_schema):
    def fit(likelihood: str) -> np.ndarray:
        options = {"latent_dim": 4, "likelihood": likelihood}
        synth = ImageSynthesizer(
            "vae", epochs=1, seed=0, device="cpu", progress=False, model_options=options
        )
        return synth.fit(digits, digits_schema()).sample(40, {"digit": 3}, seed=5).images

    laplace = fit("laplace")
    np.testing.assert_array_equal(laplace, fit("laplace"))
    assert not np.array_equal(laplace, fit("gaussian"))
    with pytest.raises(UsageError, match="likelihood is 'gaussian' or 'laplace', not 'cauchy'"):
        fit("cauchy")
