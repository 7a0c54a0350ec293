"""``infer_image_schema``: an image schema from an ``.npz`` file or a folder of PNG/JPEG files.

npz: the images array is ``images`` (else the only 3-D/4-D array), the labels array
``labels`` (else the only 1-D array with one entry per image; none means unlabelled); size
and channels come from the images' shape, label values from the distinct labels.
Folder: subfolders are label values (integers when every name is a plain integer); a folder of
images without subfolders is unlabelled. Size and channels come from the first image, and every
image is then read and checked against the inferred schema, so a mixed folder is refused with
the odd file named.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from synthgen.errors import DataError
from synthgen.images.io.read import (
    IMAGE_SUFFIXES,
    decode_image,
    npz_reason,
    read_images,
    walk_files,
)
from synthgen.schema import FolderSource, ImageSchema, ImageShape, LabelSpec, NpzSource

MAX_LABELS = 1000  # more distinct labels than this is not a class label
_MAX_SIDE = 4096


def infer_image_schema(path: str | Path, *, name: str | None = None) -> ImageSchema:
    """Infer an ``ImageSchema`` (size, channels, source keys, label values) from ``path``."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"Data {path} does not exist.")
    if path.is_dir():
        schema = _infer_folder(path, name or path.name or "images")
    else:
        schema = _infer_npz(path, name or path.stem)
    read_images(path, schema)  # every image checked against what was inferred
    return schema


def _infer_npz(path: Path, name: str) -> ImageSchema:
    if path.stat().st_size == 0:
        raise DataError(f"Data {path} is empty (0 bytes).")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise DataError(f"Data {path} is a single .npy array, not an .npz archive.")
            shapes = {k: npz[k].shape for k in npz.files}
            images_key = _pick_images(path, shapes)
            n = shapes[images_key][0]
            labels_key = _pick_labels(shapes, images_key, n)
            images_shape = shapes[images_key]
            labels = npz[labels_key] if labels_key else None
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        reason = npz_reason(path, err)
        raise DataError(f"Data {path} is not a readable .npz file: {reason}.") from None
    if len(images_shape) == 3:
        channels = 1
    elif images_shape[3] in (1, 3):
        channels = images_shape[3]
    else:
        raise DataError(
            f"Data {path}: array {images_key!r} has {images_shape[3]} channels per pixel; "
            "synthgen reads grey (1) or RGB (3) images."
        )
    height, width = images_shape[1], images_shape[2]
    _check_size(path, height, width)
    label = None
    if labels is not None:
        label = LabelSpec(values=_label_values(path, labels, labels_key))
    return ImageSchema(
        name=name,
        kind="image",
        image=ImageShape(height=height, width=width, channels=channels),
        source=NpzSource(format="npz", images_key=images_key, labels_key=labels_key),
        label=label,
    )


def _pick_images(path: Path, shapes: dict[str, tuple[int, ...]]) -> str:
    if "images" in shapes:
        if len(shapes["images"]) not in (3, 4):
            raise DataError(
                f"Data {path}: array 'images' has shape {shapes['images']}; expected "
                "(N, height, width) or (N, height, width, channels)."
            )
        return "images"
    candidates = [k for k, s in shapes.items() if len(s) in (3, 4)]
    if len(candidates) != 1:
        listed = ", ".join(f"{k!r} {s}" for k, s in shapes.items()) or "nothing"
        raise DataError(
            f"Data {path} has no array named 'images' and "
            + ("no" if not candidates else "more than one")
            + f" array shaped like images (it holds: {listed}). Name the images array "
            "'images' (and the labels 'labels')."
        )
    return candidates[0]


def _pick_labels(shapes: dict[str, tuple[int, ...]], images_key: str, n: int) -> str | None:
    if "labels" in shapes and images_key != "labels":
        return "labels"
    candidates = [k for k, s in shapes.items() if k != images_key and s == (n,)]
    return candidates[0] if len(candidates) == 1 else None


def _label_values(path: Path, labels: np.ndarray, key: str) -> list:
    if labels.ndim != 1:
        raise DataError(f"Data {path}: labels array {key!r} has shape {labels.shape}.")
    uniq = np.unique(labels)
    if len(uniq) > MAX_LABELS:
        raise DataError(
            f"Data {path}: array {key!r} holds {len(uniq)} distinct values, more than the "
            f"{MAX_LABELS} class labels synthgen accepts; it does not look like a class label."
        )
    values = []
    for value in uniq:
        item = value.item()
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        values.append(item)
    return values


def _check_size(path: Path, height: int, width: int) -> None:
    if not (0 < height <= _MAX_SIDE and 0 < width <= _MAX_SIDE):
        raise DataError(
            f"Data {path}: images are {height}x{width} (height x width); synthgen reads images "
            f"of at most {_MAX_SIDE}x{_MAX_SIDE}."
        )


def _infer_folder(root: Path, name: str) -> ImageSchema:
    files = walk_files(root)
    folders = sorted(e.name for e in root.iterdir() if e.is_dir() and not e.name.startswith("."))
    loose = [f for f in files if len(f.parts) == 1]
    if folders and loose:
        raise DataError(
            f"Data {root} holds both files (e.g. {loose[0].as_posix()!r}) and subfolders "
            f"(e.g. {folders[0]!r}). A labelled image folder holds one subfolder per label "
            "value and nothing else; an unlabelled one holds images with no subfolders."
        )
    images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        raise DataError(f"Data {root} holds no images (.png, .jpg or .jpeg files).")
    first = decode_image(root / images[0])
    height, width, channels = first.shape
    _check_size(root / images[0], height, width)
    label = None
    if folders:
        if len(folders) > MAX_LABELS:
            raise DataError(
                f"Data {root} has {len(folders)} subfolders, more than the {MAX_LABELS} class "
                "labels synthgen accepts."
            )
        values: list = folders
        if all(_plain_int(f) for f in folders):
            values = sorted(int(f) for f in folders)
        label = LabelSpec(values=values)
    return ImageSchema(
        name=name,
        kind="image",
        image=ImageShape(height=height, width=width, channels=channels),
        source=FolderSource(format="folder"),
        label=label,
    )


def _plain_int(text: str) -> bool:
    """True for '0', '7', '-3', '12' (names that round-trip through int), not '07' or '+1'."""
    try:
        return str(int(text)) == text
    except ValueError:
        return False
