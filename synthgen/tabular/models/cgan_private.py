"""The ``cgan``'s private training step (DP-SGD on the critic; see ``TabularCGAN.make_private``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def private_step(self, real: torch.Tensor, optimizers) -> dict[str, float]:
    """One DP critic step on the Poisson batch ``real`` plus a fixed number of fake rows
    (data-independent), then one generator step through the critic with its per-sample
    hooks off."""
    dev = self.device
    m = max(1, int(self.private_batch))
    n = len(real)
    real_cond = torch.zeros(n, self.cond_dim, device=dev)
    if self.cond_dim and n:
        col = torch.randint(0, len(self.layout.discrete), (n,), device=dev)
        for j, d in enumerate(self.layout.discrete):
            rows = (col == j).nonzero().squeeze(1)
            cat = real[rows, d.start : d.start + d.width].argmax(1)
            real_cond[rows, self.cond_offsets[j] + cat] = 1.0
    cond, col, cat = (
        self._cond_batch(m, private=True)
        if self.cond_dim
        else (torch.zeros(m, 0, device=dev), None, None)
    )
    _, fake = self._fake(cond)
    x = torch.cat([torch.cat([real, real_cond], 1), torch.cat([fake, cond], 1).detach()])
    target = torch.cat([torch.ones(n, device=dev), torch.zeros(m, device=dev)])
    optimizers["critic"].zero_grad(set_to_none=True)
    loss_d = F.binary_cross_entropy_with_logits(self.critic(x).squeeze(1), target)
    loss_d.backward()
    optimizers["critic"].step()
    self.set_private_hooks(False)
    self.critic.requires_grad_(False)
    try:
        if self.cond_dim:
            cond, col, cat = self._cond_batch(m, private=True)
        raw, fake = self._fake(cond)
        loss_g = F.softplus(-self.critic(torch.cat([fake, cond], 1))).mean()
        if self.cond_dim:
            loss_g = loss_g + self._cond_loss(raw, col, cat)
        optimizers["generator"].zero_grad(set_to_none=True)
        loss_g.backward()
        optimizers["generator"].step()
    finally:
        self.critic.requires_grad_(True)
        self.set_private_hooks(True)
    self._update_ema()
    return {"g": loss_g.item(), "d": loss_d.item()}
