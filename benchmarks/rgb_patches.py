"""A small labelled RGB image set built from real photographs that scikit-learn ships
(``sklearn.datasets.load_sample_images``: ``china.jpg`` and ``flower.jpg``, 427x640 each).

Each photograph is cut into square patches on a grid; a patch's label is the photograph it
comes from. The split is spatial, so no pixel is in both: patches whose left edge lies in the
leftmost ``1 - test_fraction`` of the photograph train, the rest test. ``write_folders`` writes a
set as a class-per-folder PNG tree (``<root>/<label>/<n>.png``), the layout ``synthgen schema
infer`` and ``synthgen fit`` read.

    python benchmarks/rgb_patches.py OUT_DIR [--size 16] [--stride 16]

writes ``OUT_DIR/train`` and ``OUT_DIR/test``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def sample_patches(
    size: int = 16, stride: int = 16, test_fraction: float = 0.25, per_class: int | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], list[str]]:
    """``((train_images, train_labels), (test_images, test_labels), label_names)``: uint8
    ``(N, size, size, 3)`` patches and int64 codes; ``per_class`` keeps at most that many patches
    per photograph and split (evenly spaced over the grid)."""
    from sklearn.datasets import load_sample_images

    data = load_sample_images()
    names = [Path(f).stem for f in data.filenames]
    order = np.argsort(names)
    train, test = ([], []), ([], [])
    for code, i in enumerate(order):
        img = np.asarray(data.images[i], dtype=np.uint8)
        h, w = img.shape[:2]
        cut = int(w * (1 - test_fraction))
        parts: dict[str, list[np.ndarray]] = {"train": [], "test": []}
        for top in range(0, h - size + 1, stride):
            for left in range(0, w - size + 1, stride):
                patch = img[top : top + size, left : left + size]
                if left + size <= cut:
                    parts["train"].append(patch)
                elif left >= cut:
                    parts["test"].append(patch)
        for split, target in (("train", train), ("test", test)):
            patches = parts[split]
            if per_class is not None and len(patches) > per_class:
                keep = np.linspace(0, len(patches) - 1, per_class).round().astype(int)
                patches = [patches[k] for k in keep]
            target[0].extend(patches)
            target[1].extend([code] * len(patches))

    def stack(part):
        return np.stack(part[0]).astype(np.uint8), np.asarray(part[1], dtype=np.int64)

    return stack(train), stack(test), [names[i] for i in order]


def write_folders(images: np.ndarray, labels: np.ndarray, names: list[str], root: Path) -> Path:
    """``root/<name>/<n>.png`` per image."""
    from PIL import Image

    root = Path(root)
    for name in names:
        (root / name).mkdir(parents=True, exist_ok=True)
    for n, (img, code) in enumerate(zip(images, labels, strict=True)):
        Image.fromarray(img).save(root / names[int(code)] / f"{n:05d}.png")
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--stride", type=int, default=16)
    args = ap.parse_args()
    (tr_x, tr_y), (te_x, te_y), names = sample_patches(args.size, args.stride)
    write_folders(tr_x, tr_y, names, args.out / "train")
    write_folders(te_x, te_y, names, args.out / "test")
    print(f"{len(tr_x)} train and {len(te_x)} test patches of {names} in {args.out}")


if __name__ == "__main__":
    main()
