"""``ImageSet``: the in-memory form every image module exchanges, and label lookups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from synthgen.errors import UsageError
from synthgen.schema import ImageSchema, category_label


@dataclass
class ImageSet:
    """Images as uint8 ``(N, H, W, C)``; ``labels`` are int64 codes into the schema's label
    values (``None`` for an unlabelled set); ``names`` identify each image in outputs (a file's
    path relative to its folder root, or ``None`` for array sources, where the index is used)."""

    images: np.ndarray
    labels: np.ndarray | None = None
    names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError("ImageSet.images must be uint8 with shape (N, H, W, C)")
        if self.labels is not None:
            self.labels = np.asarray(self.labels, dtype=np.int64)
            if self.labels.shape != (len(self.images),):
                raise ValueError("ImageSet.labels must have one code per image")
        if self.names is not None and len(self.names) != len(self.images):
            raise ValueError("ImageSet.names must have one name per image")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(height, width, channels)``."""
        _, h, w, c = self.images.shape
        return int(h), int(w), int(c)

    def subset(self, index: np.ndarray | slice) -> ImageSet:
        """The images at ``index`` (labels and names follow)."""
        idx = np.arange(len(self))[index] if isinstance(index, slice) else np.asarray(index)
        return ImageSet(
            images=self.images[idx],
            labels=None if self.labels is None else self.labels[idx],
            names=None if self.names is None else [self.names[i] for i in idx],
        )

    def identifiers(self) -> list[str]:
        """One identifier per image: its name, or its index for array sources."""
        return list(self.names) if self.names is not None else [str(i) for i in range(len(self))]

    def to_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """float32 ``(N, C, H, W)`` scaled to ``[-1, 1]``."""
        x = torch.from_numpy(np.ascontiguousarray(self.images)).to(device)
        return x.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)

    @staticmethod
    def from_tensor(x: torch.Tensor, labels: np.ndarray | None = None) -> ImageSet:
        """The inverse of ``to_tensor``: ``[-1, 1]`` floats back to rounded, clipped uint8."""
        u8 = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return ImageSet(images=u8.permute(0, 2, 3, 1).cpu().numpy(), labels=labels)


def label_values(schema: ImageSchema) -> list[str]:
    """The schema's label values as strings (the form they take in file names and outputs)."""
    return [] if schema.label is None else [category_label(v) for v in schema.label.values]


def label_code(schema: ImageSchema, column: str, value: object) -> int:
    """The code of ``column=value`` (a ``--condition``), refusing unknown names or values."""
    if schema.label is None:
        raise UsageError(
            f"Condition '{column}={value}' cannot be met: image set '{schema.name}' has no label."
        )
    if column != schema.label.name:
        raise UsageError(
            f"Unknown condition column '{column}': image models condition only on the label "
            f"'{schema.label.name}'."
        )
    values = label_values(schema)
    text = category_label(value) if isinstance(value, (int, float, bool)) else str(value)
    if text not in values:
        raise UsageError(
            f"Condition '{column}={value}': '{value}' is not a known value of '{column}'. "
            f"Known values: {', '.join(values)}."
        )
    return values.index(text)
