"""The ``ar`` kind's private training step: DP-SGD on its network (see ``TabularAR.make_private``).

The network keeps parameters of its own (per-head weights, a masked first layer), which
Opacus' per-layer hooks do not cover; so every row's gradient is formed here and handed to the
optimiser as ``p.grad_sample``. Opacus' ``DPOptimizer`` then clips each row's gradient, adds the
noise and divides by the expected batch size, as it does for the layers it hooks (a
``GradSampleModule`` with ``loss_reduction="mean"`` also hands it the gradient of each row's own
loss). Nothing else of the network sees the rows: the condition pool comes from the
transformer's noisy counts, and the weight average is post-processing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from synthgen.core.trainable import update_average
from synthgen.tabular.models.ar_net import ARNet
from synthgen.tabular.models.layout import marginal_product

# per-row gradient values held at once (32 MB), whatever the network's size: measured 3x
# faster per row than 128 MB chunks on CPU (the allocator reuses blocks this small instead of
# mapping fresh pages for every chunk)
CHUNK_FLOATS = 2**23


def row_gradients(net: ARNet, codes: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Each row's gradient of its own loss for every parameter of ``net`` ((rows, *shape)
    each, by parameter name), and the rows' losses.

    One backward pass of the summed loss gives every row's gradient at each layer's output
    (a row's loss depends on its own activations only); each row's weight gradient is then
    the outer product of that and the layer's input in the same row, as Opacus' hooks form
    them for ``nn.Linear``. The forward pass is ``ARNet.forward``'s, dropout included."""
    n = len(codes)
    if n == 0:
        empty = {k: p.new_zeros(0, *p.shape) for k, p in net.named_parameters()}
        return empty, torch.zeros(0, device=codes.device)
    heads, hidden = net.n_heads, net.hidden
    idx = codes + net.offsets
    emb = net.embedding.weight[idx].detach().requires_grad_(True)  # (n, cols, emb)
    x = net.dropout(emb.flatten(1))
    z1 = F.linear(x, net.first.weight * net.mask, net.first.bias)
    h = F.silu(z1).view(n, heads, hidden).transpose(0, 1)  # (heads, n, hidden)
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
    g_emb, g_z1, g_logits, *g_zs = torch.autograd.grad(losses.sum(), [emb, z1, logits, *zs])
    with torch.no_grad():
        x, a_out = x.detach(), a_out.detach()
        weight = net.embedding.weight
        emb_rows = weight.new_zeros(n, *weight.shape)  # a row's slots are distinct: no clash
        emb_rows.scatter_(1, idx.unsqueeze(2).expand(-1, -1, net.emb_dim), g_emb)
        mid_w = [
            torch.einsum("hni,hno->nhio", a.detach(), g) for a, g in zip(ins, g_zs, strict=True)
        ]
        mid_b = [g.transpose(0, 1).unsqueeze(2) for g in g_zs]
        grads = {
            "embedding.weight": emb_rows,
            "first.weight": torch.einsum("no,ni->noi", g_z1, x) * net.mask,
            "first.bias": g_z1,
            "mid_weight": torch.stack(mid_w, 1)
            if mid_w
            else net.mid_weight.new_zeros(n, *net.mid_weight.shape),
            "mid_bias": torch.stack(mid_b, 1)
            if mid_b
            else net.mid_bias.new_zeros(n, *net.mid_bias.shape),
            "out_weight": torch.einsum("hni,hnk->nhik", a_out, g_logits),
            "out_bias": g_logits.transpose(0, 1).unsqueeze(2),
        }
    return grads, losses.detach()


def private_step(model, batch: torch.Tensor, optimizers) -> dict[str, float]:
    """One DP-SGD step of the ``ar`` network on the Poisson batch ``batch``.

    The batch's rows are taken in chunks of at most ``CHUNK_FLOATS`` per-row gradient values
    (a wide table's network has millions of weights): every chunk but the last is clipped and
    summed by the optimiser without a step (Opacus' ``signal_skip_step``, as its
    ``BatchMemoryManager`` does), and the last adds the one noise draw and steps."""
    opt = optimizers["ar"]
    opt.zero_grad(set_to_none=True)
    codes = model.codes(batch)
    size = sum(p.numel() for p in model.net.parameters())
    chunk = max(1, CHUNK_FLOATS // max(size, 1))
    starts = list(range(0, len(codes), chunk)) or [0]
    total, rows = 0.0, 0
    for i, start in enumerate(starts):
        grads, losses = row_gradients(model.net, codes[start : start + chunk])
        for name, p in model.net.named_parameters():
            p.grad_sample = grads[name].to(p.dtype)
        if i < len(starts) - 1:
            opt.signal_skip_step(do_skip=True)
        opt.step()
        if i < len(starts) - 1:
            opt.zero_grad(set_to_none=True)  # keeps the clipped sum of the chunks so far
        total, rows = total + float(losses.sum()), rows + len(losses)
    update_average(model.ema, model.net, int(model._ema_steps), model.config.ema_decay)
    model._ema_steps += 1
    return {"nll": total / rows if rows else 0.0}


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
