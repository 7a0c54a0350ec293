"""DP-SGD for the ``ar`` kind: each row's gradient is clipped by synthgen (its network has
parameters Opacus' hooks do not cover), so the clipped sum must equal autograd's row by row;
what the model file holds beside the network (bins, the condition pool) must be private; and
the loop removes the per-sample hooks of a private fit that fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("opacus")

from synthgen.schema import ColumnSpec, TableSchema  # noqa: E402
from synthgen.tabular.models.ar_net import ARNet  # noqa: E402
from synthgen.tabular.models.ar_private import clipped_gradient_sum  # noqa: E402
from synthgen.tabular.synthesizer import TabularSynthesizer  # noqa: E402

N = 300


def _own_gradients(net: ARNet, codes: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each row's gradient of its own loss by autograd, one row at a time ((rows, *shape))."""
    rows = []
    for i in range(len(codes)):
        net.zero_grad()
        net.nll(codes[i : i + 1]).sum().backward()
        rows.append(
            {
                k: p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                for k, p in net.named_parameters()
            }
        )
    return {k: torch.stack([r[k] for r in rows]) for k in rows[0]}


def _clipped_sum(grads: dict[str, torch.Tensor], max_norm: float):
    flat = torch.cat([g.flatten(1) for g in grads.values()], 1)
    norms = flat.norm(dim=1)
    clip = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    return {k: torch.einsum("i,i...->...", clip, g) for k, g in grads.items()}, norms


@pytest.mark.parametrize("depth", [0, 1])
def test_clipped_sum_equals_clipping_each_rows_own_autograd_gradient(depth):
    torch.manual_seed(0)
    widths = [2, 5, 7, 3, 4]
    net = ARNet(widths, 1, 4, 6, depth, dropout=0.0)
    codes = torch.stack([torch.randint(0, w, (9,)) for w in widths], 1)
    own = _own_gradients(net, codes)
    _, own_norms = _clipped_sum(own, 1.0)
    bound = float(own_norms.median())  # some rows clipped, some not
    want, _ = _clipped_sum(own, bound)
    sums, norms, losses = clipped_gradient_sum(net, codes, bound)
    assert torch.allclose(losses, net.nll(codes), atol=1e-5)
    assert torch.allclose(norms, own_norms, rtol=1e-5)
    assert (norms > bound).any() and (norms < bound).any()
    for name, p in net.named_parameters():
        assert sums[name].shape == p.shape
        assert torch.allclose(sums[name], want[name], atol=1e-5), name
    empty, no_norms, _ = clipped_gradient_sum(net, codes[:0], bound)
    assert len(no_norms) == 0 and all(not g.any() for g in empty.values())


def test_a_private_step_clips_each_row_and_steps_once():
    """The step is the whole batch's: every row's gradient clipped, summed, divided by the
    expected batch (no noise here, to compare), through Opacus' optimiser."""
    import copy
    from types import SimpleNamespace

    from opacus.optimizers import DPOptimizer

    from synthgen.tabular.models import ar_private

    torch.manual_seed(1)
    widths = [2, 5, 7, 3]
    net = ARNet(widths, 1, 4, 6, 1, dropout=0.0)
    codes = torch.stack([torch.randint(0, w, (10,)) for w in widths], 1)
    want, _ = _clipped_sum(_own_gradients(net, codes), 0.5)
    copy_net = copy.deepcopy(net)
    model = SimpleNamespace(
        net=copy_net,
        codes=lambda b: b,
        ema=copy.deepcopy(net),
        _ema_steps=torch.zeros((), dtype=torch.long),
        config=SimpleNamespace(ema_decay=0.9),
    )
    opt = DPOptimizer(
        torch.optim.SGD(copy_net.parameters(), lr=1.0),
        noise_multiplier=0.0,
        max_grad_norm=0.5,
        expected_batch_size=12,
    )
    ar_private.private_step(model, codes, {"ar": opt})
    pairs = zip(net.named_parameters(), copy_net.parameters(), strict=True)
    for (name, before), after in pairs:
        assert torch.allclose(before - after, want[name] / 12, atol=1e-6), name


@pytest.fixture(scope="module")
def people() -> tuple[pd.DataFrame, TableSchema]:
    rng = np.random.default_rng(4)
    df = pd.DataFrame(
        {
            "hours": pd.array(rng.integers(10, 60, N), dtype="Int64"),
            "gain": np.where(rng.random(N) < 0.7, 0.0, rng.exponential(3000, N).round(1)),
            "plan": rng.choice(["basic", "gold"], N, p=[0.7, 0.3]),
        }
    )
    schema = TableSchema(
        name="people",
        kind="table",
        columns=[
            ColumnSpec(name="hours", type="integer", min=1, max=99),
            ColumnSpec(name="gain", type="continuous", min=0, max=100_000),
            ColumnSpec(name="plan", type="categorical", values=["basic", "gold"]),
        ],
        conditions=["plan"],
    )
    return df, schema


def test_private_ar_bins_and_condition_pool_come_from_noisy_statistics(people):
    df, schema = people
    synth = TabularSynthesizer("ar", dp_epsilon=1.0, epochs=1, seed=0, progress=False)
    synth.fit(df, schema)
    hours = synth.transformer_.encoders_["hours"]
    # a small integer range: one bin per integer of the schema's range, whatever the rows
    assert np.array_equal(hours.table_[:, 0], np.arange(1, 100))
    gain = synth.transformer_.encoders_["gain"]
    assert gain.table_[0].tolist() == [0.0] * gain.table_.shape[1]  # the zeros: one exact bin
    assert 2 <= gain.n_bins_ <= 32 and float(df["gain"].max()) not in gain.table_
    model = synth.model_
    exact = df["plan"].value_counts()
    assert model.c_pool.ravel().tolist() == [0, 1]  # every declared class, no joint counts
    assert model.c_counts.tolist() != [float(exact["basic"]), float(exact["gold"])]
    out = synth.sample(200, {"plan": "gold"}, seed=1)
    assert (out["plan"] == "gold").all() and out["hours"].between(1, 99).all()
    dp = synth.privacy_["differential_privacy"]
    assert "autoregressive" in dp["dp_trained"] and dp["epsilon_spent"] <= 1.0
    assert model.config.dropout == 0.0  # the kind's DP default; the user's options win:
    mine = TabularSynthesizer("ar", dp_epsilon=1.0, model_options={"dropout": 0.2})
    assert mine._model_options(mine.kind_entry()) == {"dropout": 0.2}


def test_failed_private_fit_leaves_no_per_sample_hooks(people, monkeypatch):
    from synthgen.tabular.models.vae import TabularVAE

    df, schema = people
    seen = []

    def broken(self, batch, optimizers):
        seen.append(self)
        raise RuntimeError("boom")

    monkeypatch.setattr(TabularVAE, "train_step", broken)
    synth = TabularSynthesizer("vae", dp_epsilon=1.0, epochs=1, seed=0, progress=False)
    with pytest.raises(RuntimeError, match="boom"):
        synth.fit(df, schema)
    (model,) = seen
    assert model.private_hooks  # Opacus had hooked encoder and decoder ...
    for net in (model.encoder, model.decoder):
        for module in net.modules():  # ... and the loop took every hook off again
            assert not module._forward_hooks and not module._backward_hooks


def test_private_ar_plan_uses_its_kinds_dp_defaults_unless_the_user_sets_them():
    cfg = TabularSynthesizer("ar", dp_epsilon=1.0).train_config(16_000)
    assert (cfg.epochs, cfg.batch_size, cfg.val_fraction) == (40, 800, 0.0)
    assert TabularSynthesizer("vae", dp_epsilon=1.0).train_config(16_000).epochs == 20
    mine = TabularSynthesizer("ar", dp_epsilon=1.0, epochs=3, batch_size=64).train_config(900)
    assert (mine.epochs, mine.batch_size) == (3, 64)
