"""Image files for the image IO tests: a schema from its shape and labels, and a PNG written
from an array."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from synthgen.schema import ImageSchema, parse_schema


def image_schema(h=8, w=8, c=1, values=None, source=None) -> ImageSchema:
    """An image schema of ``h`` x ``w`` x ``c`` (labelled ``y`` by ``values``, if given)."""
    doc = {
        "name": "t",
        "kind": "image",
        "image": {"height": h, "width": w, "channels": c},
        "source": source or {"format": "folder"},
    }
    if values is not None:
        doc["label"] = {"name": "y", "values": values}
    return parse_schema(doc)


def save_png(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    """``array`` written as a PNG at ``path`` (parent folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)
    return path


def labelled_folder(tmp_path: Path) -> Path:
    """A class-per-folder set of six random 8x8 grey PNGs, labels ``0`` and ``1``."""
    root = tmp_path / "set"
    rng = np.random.default_rng(3)
    for label in ("0", "1"):
        for i in range(3):
            save_png(root / label / f"{i}.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    return root
