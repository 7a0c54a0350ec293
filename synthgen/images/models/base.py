"""What every image generator kind shares: the model interface and the pixel scale.

Image kinds train through the one loop (``synthgen.core.train.fit_model``) on a tuple
``(images, labels)``: uint8 ``(N, C, H, W)`` images (scaled to [-1, 1] a batch at a time, so the
data set stays small on the device) and int64 class codes (all zero for an unlabelled set: one
class, unconditional).
"""

from __future__ import annotations

import torch

from synthgen.core.trainable import TrainableModel


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 NCHW -> float32 in [-1, 1] (the ``ImageSet.to_tensor`` scale)."""
    return images.float().div(127.5).sub(1.0)


class ImageModel(TrainableModel):
    """A conditional generative model of ``(height, width, channels)`` images over
    ``n_classes`` labels."""

    def __init__(self, config, shape: tuple[int, int, int], n_classes: int) -> None:
        super().__init__(config)
        self.shape = tuple(int(s) for s in shape)
        self.n_classes = int(n_classes)

    def sample(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Images in [-1, 1], float32 ``(n, C, H, W)`` on the model's device, one per label
        code; all randomness comes from ``generator`` (CPU)."""
        raise NotImplementedError
