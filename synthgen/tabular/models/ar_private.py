"""The ``ar`` kind's private training step: DP-SGD on its network (see ``TabularAR.make_private``).

The network keeps parameters of its own (per-head weights, a masked first layer), which
Opacus' per-layer hooks do not cover; so the clipping is done here, without forming any row's
gradient (``clipped_gradient_sum``), and Opacus' ``DPOptimizer`` adds the noise, divides by the
expected batch size and steps, as it does after clipping the rows of the layers it hooks.
Nothing else of the network sees the rows: the condition pool comes from the transformer's
noisy counts, and the weight average is post-processing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from synthgen.core.trainable import update_average
from synthgen.tabular.models.ar_net import ARNet
from synthgen.tabular.models.layout import marginal_product


def clipped_gradient_sum(
    net: ARNet, codes: torch.Tensor, max_norm: float
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """The sum over rows of each row's gradient of its own loss, clipped to ``max_norm``
    (by parameter name, each the parameter's shape), every row's unclipped gradient norm, and
    the rows' losses.

    No row's gradient is formed: one backward pass of the summed loss gives every row's
    gradient at each layer's output (a row's loss depends on its own activations only), and a
    row's weight gradient is the outer product of that and the layer's input in the same row,
    whose norm is the product of theirs (for the masked first layer, the mask weighs their
    squares). So the norms, the clip factors (Opacus': ``min(1, max_norm / (norm + 1e-6))``)
    and the weighted sums cost a few matrix products, whatever the table's width; forming
    every row's gradient costs rows x weights, which on a 100-column table is millions of
    values per row. The forward pass is ``ARNet.forward``'s, dropout included."""
    heads, hidden = net.n_heads, net.hidden
    idx = codes + net.offsets
    emb = net.embedding.weight[idx].detach().requires_grad_(True)  # (n, cols, emb)
    x = net.dropout(emb.flatten(1))
    z1 = F.linear(x, net.first.weight * net.mask, net.first.bias)
    h = F.silu(z1).view(len(codes), heads, hidden).transpose(0, 1)  # (heads, n, hidden)
    ins, zs = [], []
    for d in range(net.depth):
        ins.append(net.dropout(h))
        zs.append(torch.baddbmm(net.mid_bias[d], ins[-1], net.mid_weight[d]))
        h = F.silu(zs[-1])
    a_out = net.dropout(h)
    logits = torch.baddbmm(net.out_bias + net.pad, a_out, net.out_weight)
    logp = F.log_softmax(logits.float(), dim=2)
    target = codes[:, net.first_head :].T.unsqueeze(2)
    losses = -logp.gather(2, target).squeeze(2).sum(0)  # (n,), as ARNet.nll
    if len(codes) == 0:
        zero = {k: torch.zeros_like(p) for k, p in net.named_parameters()}
        return zero, losses.new_zeros(0), losses.detach()
    g_emb, g_z1, g_out, *g_zs = torch.autograd.grad(losses.sum(), [emb, z1, logits, *zs])
    with torch.no_grad():
        x, a_out, ins = x.detach(), a_out.detach(), [a.detach() for a in ins]

        def sq(t: torch.Tensor, dims) -> torch.Tensor:
            return t.pow(2).sum(dims)

        norm2 = sq(g_emb, (1, 2)) + (g_z1.pow(2) @ net.mask * x.pow(2)).sum(1) + sq(g_z1, 1)
        for a, g in zip(ins, g_zs, strict=True):
            norm2 += (sq(a, 2) * sq(g, 2)).sum(0) + sq(g, (0, 2))
        norm2 += (sq(a_out, 2) * sq(g_out, 2)).sum(0) + sq(g_out, (0, 2))
        norms = norm2.sqrt()
        clip = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        c_z1, c_out = g_z1 * clip[:, None], g_out * clip[None, :, None]
        c_zs = [g * clip[None, :, None] for g in g_zs]
        weight = net.embedding.weight
        emb_sum = weight.new_zeros(weight.shape).index_add_(
            0, idx.flatten(), (g_emb * clip[:, None, None]).flatten(0, 1)
        )
        sums = {
            "embedding.weight": emb_sum,
            "first.weight": (c_z1.T @ x) * net.mask,
            "first.bias": c_z1.sum(0),
            "mid_weight": torch.stack(
                [torch.einsum("hni,hno->hio", a, g) for a, g in zip(ins, c_zs, strict=True)]
            )
            if c_zs
            else torch.zeros_like(net.mid_weight),
            "mid_bias": torch.stack([g.sum(1, keepdim=True) for g in c_zs])
            if c_zs
            else torch.zeros_like(net.mid_bias),
            "out_weight": torch.einsum("hni,hnk->hik", a_out, c_out),
            "out_bias": c_out.sum(1, keepdim=True),
        }
    return sums, norms, losses.detach()


def private_step(model, batch: torch.Tensor, optimizers) -> dict[str, float]:
    """One DP-SGD step of the ``ar`` network on the Poisson batch ``batch``: the rows'
    clipped gradient sum (``clipped_gradient_sum``), then Opacus' optimiser adds its one noise
    draw (multiplier times the bound), divides by the expected batch size and steps, as its
    own ``step`` does after clipping the per-row gradients its hooks form."""
    opt = optimizers["ar"]
    opt.zero_grad(set_to_none=True)
    codes = model.codes(batch)
    sums, _, losses = clipped_gradient_sum(model.net, codes, opt.max_grad_norm)
    for name, p in model.net.named_parameters():
        p.summed_grad = sums[name].to(p.dtype)
    opt.add_noise()  # p.grad = the sum plus the noise
    if opt.loss_reduction == "mean":
        for p in opt.params:
            p.grad /= opt.expected_batch_size
    if opt.step_hook:
        opt.step_hook(opt)
    opt.original_optimizer.step()
    update_average(model.ema, model.net, int(model._ema_steps), model.config.ema_decay)
    model._ema_steps += 1
    return {"nll": float(losses.mean()) if len(losses) else 0.0}


def private_condition_codes(layout, order: list[int], n_cond: int, limit: int = 10_000):
    """The condition pool of a DP fit, as slot codes in generation order: the product of the
    condition columns' noisy category counts (the transformer's; no joint counts of rows),
    the ``limit`` likeliest combinations, with their weights."""
    columns = []
    for i in order[:n_cond]:
        block = layout.blocks[i]
        d = next(d for d in layout.discrete if d.column == block.column)
        counts = torch.tensor(d.counts, dtype=torch.float32)[: block.width]
        if len(counts) < block.width:
            counts = torch.cat([counts, torch.zeros(block.width - len(counts))])
        columns.append((torch.arange(block.width).unsqueeze(1), counts))
    return marginal_product(columns, limit, torch.long)
