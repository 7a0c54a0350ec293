"""The VAE's condition vectors: drawn from the training pool (or built for unseen
combinations), split into the scalar values and slots generation decodes."""

from __future__ import annotations

import torch

from synthgen.tabular.models.layout import Layout


class VAEConditions:
    """Condition-vector helpers of ``TabularVAE`` (a mixin: it reads the VAE's attributes)."""

    def _condition_parts(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Condition vectors (packed in ``c_layout`` order) as scalar values and slots, one row
        per span (transposed, like the decoder's output)."""
        values, codes, offset = [], [], 0
        for b in self.c_layout.blocks:
            part = c[:, offset : offset + b.width]
            if b.activation == "softmax":
                codes.append(part.argmax(1))
            else:
                values.append(part[:, 0])
            offset += b.width
        n = len(c)
        return (
            torch.stack(values) if values else c.new_zeros(0, n),
            torch.stack(codes) if codes else torch.zeros(0, n, dtype=torch.long, device=c.device),
        )

    def _sample_conditions(
        self, n: int, fixed: dict[str, int], generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Condition vectors drawn from the training pool (restricted to rows matching
        ``fixed``), and their pool indices (-1 where the vector is not from the pool)."""
        index = torch.arange(len(self.c_pool))
        counts = self.c_counts.cpu()
        if fixed:
            keep = torch.ones(len(self.c_pool), dtype=torch.bool)
            offset = 0
            for b in self.c_layout.blocks:
                if b.column in fixed:
                    keep &= self.c_pool[:, offset + fixed[b.column]].cpu() > 0.5
                offset += b.width
            index, counts = index[keep], counts[keep]
            if len(index) == 0:
                return self._fixed_vector(n, fixed), torch.full((n,), -1, dtype=torch.long)
        pick = index[torch.multinomial(counts, n, replacement=True, generator=generator)]
        return self.c_pool[pick.to(self.device)], pick

    def _fixed_vector(self, n: int, fixed: dict[str, int]) -> torch.Tensor:
        """Conditions never seen together in training: build the vector directly."""
        c = torch.zeros(n, len(self.c_index), device=self.device)
        offset = 0
        for b in self.c_layout.blocks:
            slot = fixed.get(b.column, 0)
            c[:, offset + slot] = 1.0
            offset += b.width
        return c


def merge_orders(layout: Layout, condition_columns: set[str]) -> tuple[list[int], list[int]]:
    """Where each scalar and each softmax span of ``layout`` sits in [x spans, c spans]: the
    decoder makes the non-condition spans, the condition vector the rest."""
    orders = []
    for scalar in (True, False):
        kept = [b for b in layout.blocks if (b.activation != "softmax") == scalar]
        x = [b.column not in condition_columns for b in kept]
        n_x = sum(x)
        i_x = i_c = 0
        order = []
        for from_x in x:
            if from_x:
                order.append(i_x)
                i_x += 1
            else:
                order.append(n_x + i_c)
                i_c += 1
        orders.append(order)
    return orders[0], orders[1]
