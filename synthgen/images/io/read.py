"""Reading image sets: ``.npz`` arrays and folders of PNG/JPEG files.

Readers
    ``read_images(path, schema)`` reads a ``.npz`` file or a folder, whatever the schema's own
    source format (so a generated PNG folder can be read against the MNIST npz schema).

    * npz: loaded with ``allow_pickle=False``. Keys are the schema's ``images_key`` /
      ``labels_key`` for an npz source, else ``images`` / ``labels``. Images are
      ``(N, H, W)`` (one channel) or ``(N, H, W, C)`` integers in 0..255.
    * folder: a labelled schema reads ``root/<label value>/**/*.png|jpg|jpeg``; an unlabelled
      one reads every image under ``root`` (recursively). Hidden files and folders (a leading
      ``.``) are ignored; any other file that is not a readable PNG/JPEG is refused, as is a
      folder that is not a label value. Names are the paths relative to ``root``, and images
      come in the sorted order of those names.

    Channels: mode ``L`` and ``1`` are one channel, ``RGB`` three; ``P`` (palette) is one
    channel when its palette is all grey, else three; ``LA``/``RGBA``/``PA`` are accepted only
    when fully opaque (the alpha channel is dropped). Any other mode (16-bit, CMYK, ...) and any
    image whose channel count or size differs from the schema is refused with the file named.
    Images larger than ``MAX_PIXELS`` are refused from their header, before decoding, and
    Pillow's own decompression-bomb warning is turned into an error.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from synthgen.errors import DataError
from synthgen.images.data import ImageSet, label_values
from synthgen.schema import ImageSchema, category_label

IMAGE_FORMATS = ("npz", "png")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_PIXELS = 4096 * 4096  # the largest image a schema allows; bigger headers are refused
_PIL_FORMATS = {"PNG", "JPEG"}
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: same images -> same npz bytes
_COPY_BLOCK = 1 << 20


_TABLE_SUFFIXES = {".csv", ".parquet", ".pq", ".jsonl", ".ndjson"}


def npz_reason(path: Path, err: BaseException) -> str:
    """Why ``np.load`` refused ``path``, in words: numpy calls every file that is neither a
    zip nor an .npy array "pickled data", which misleads for a CSV given by mistake."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        return exc.strerror or "it cannot be read"
    if not head.startswith((b"PK", b"\x93NUMPY")):
        if path.suffix.lower() in _TABLE_SUFFIXES:
            return (
                f"it is a {path.suffix.lstrip('.').upper()} table, not an image archive; the "
                "schema describes images (give a table schema for tables)"
            )
        if head.startswith(b"\x80"):
            return "it is a Python pickle, which synthgen never loads"
        return "it is not a zip of .npy arrays (as numpy.savez writes)"
    reason = str(err).split("\n")[0]
    if "pickle" in reason:
        reason = "it holds pickled (object) arrays, which synthgen never loads"
    return reason


def npz_keys(schema: ImageSchema) -> tuple[str, str | None]:
    """The (images, labels) keys of npz files for ``schema``."""
    if schema.source.format == "npz":
        return schema.source.images_key, schema.source.labels_key
    return "images", "labels"


def read_images(path: str | Path, schema: ImageSchema, *, source_label: str = "Data") -> ImageSet:
    """Read an npz file or a PNG/JPEG folder into an ``ImageSet`` checked against ``schema``.

    ``source_label`` starts every error message ("Data", "Synthetic data", "Holdout", ...).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{source_label} {path} does not exist.")
    if path.is_dir():
        return _read_folder(path, schema, source_label)
    return _read_npz(path, schema, source_label)


def _read_npz(path: Path, schema: ImageSchema, what: str) -> ImageSet:
    if path.stat().st_size == 0:
        raise DataError(f"{what} {path} is empty (0 bytes).")
    images_key, labels_key = npz_keys(schema)
    want_labels = schema.label is not None
    if want_labels and labels_key is None:
        raise DataError(
            f"Schema '{schema.name}' has the label '{schema.label.name}' but its npz source "
            "names no labels_key; set source.labels_key to the array holding the labels."
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise DataError(f"{what} {path} is a single .npy array, not an .npz archive.")
            keys = list(npz.files)
            missing = [k for k in (images_key, labels_key if want_labels else None) if k]
            missing = [k for k in missing if k not in keys]
            if missing:
                raise DataError(
                    f"{what} {path} has no array {' or '.join(repr(k) for k in missing)} "
                    f"(it holds: {', '.join(map(repr, keys)) or 'nothing'}); schema "
                    f"'{schema.name}' reads images from {images_key!r}"
                    + (f" and labels from {labels_key!r}." if want_labels else ".")
                )
            images = npz[images_key]
            labels = npz[labels_key] if want_labels else None
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        reason = npz_reason(path, err)
        raise DataError(f"{what} {path} is not a readable .npz file: {reason}.") from None
    pixels = _npz_pixels(images, schema, path, what, images_key)
    codes = None if labels is None else _npz_codes(labels, len(pixels), schema, path, what)
    return ImageSet(images=pixels, labels=codes, names=None)


def _npz_pixels(
    images: np.ndarray, schema: ImageSchema, path: Path, what: str, key: str
) -> np.ndarray:
    shape = schema.image
    want = (shape.height, shape.width, shape.channels)
    got = tuple(images.shape[1:])
    if images.ndim == 3 and shape.channels == 1:
        got = (*got, 1)
    if images.ndim not in (3, 4) or got != want:
        h, w, c = want
        expected = f"(N, {h}, {w}) or (N, {h}, {w}, 1)" if c == 1 else f"(N, {h}, {w}, 3)"
        raise DataError(
            f"{what} {path}: array {key!r} has shape {tuple(images.shape)}; schema "
            f"'{schema.name}' expects {expected} (height x width x channels = {h}x{w}x{c})."
        )
    if len(images) == 0:
        raise DataError(f"{what} {path}: array {key!r} holds no images.")
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.integer):
            raise DataError(
                f"{what} {path}: array {key!r} has {images.dtype} pixels; synthgen reads "
                "integer pixels in 0..255 (convert floats in [0, 1] with "
                "(x * 255).round().astype('uint8'))."
            )
        low, high = int(images.min()), int(images.max())
        if low < 0 or high > 255:
            raise DataError(
                f"{what} {path}: array {key!r} has pixel values from {low} to {high}; "
                "synthgen reads 8-bit pixels in 0..255."
            )
        images = images.astype(np.uint8)
    return np.ascontiguousarray(images.reshape(len(images), *want))


def _npz_codes(
    labels: np.ndarray, n: int, schema: ImageSchema, path: Path, what: str
) -> np.ndarray:
    name = schema.label.name
    if labels.shape != (n,):
        raise DataError(
            f"{what} {path}: the labels array has shape {tuple(labels.shape)}; "
            f"expected one label per image, shape ({n},)."
        )
    known = label_values(schema)
    index = {v: i for i, v in enumerate(known)}
    uniq, inverse = np.unique(labels, return_inverse=True)
    mapping = np.empty(len(uniq), dtype=np.int64)
    unknown = []
    for i, value in enumerate(uniq):
        text = _value_text(value)
        if text in index:
            mapping[i] = index[text]
        else:
            unknown.append(text)
    if unknown:
        raise DataError(
            f"{what} {path}: label value(s) {', '.join(map(repr, unknown[:5]))}"
            + (f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else "")
            + f" are not values of '{name}' in schema '{schema.name}'. "
            f"Known values: {', '.join(known)}."
        )
    return mapping[inverse.reshape(-1)]


def _value_text(value: np.generic) -> str:
    item = value.item()
    if isinstance(item, bytes):
        item = item.decode("utf-8", "replace")
    return category_label(item)


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def walk_files(root: Path) -> list[Path]:
    """Every non-hidden file under ``root`` (not following folder links), relative, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath).relative_to(root)
        found.extend(base / f for f in filenames if not f.startswith("."))
    return sorted(found, key=lambda p: p.as_posix())


def _read_folder(root: Path, schema: ImageSchema, what: str) -> ImageSet:
    files = walk_files(root)
    codes = None
    if schema.label is not None:
        known = label_values(schema)
        index = {v: i for i, v in enumerate(known)}
        folders = sorted(
            e.name for e in root.iterdir() if e.is_dir() and not e.name.startswith(".")
        )
        stray = sorted(set(folders) - set(index))
        if stray:
            raise DataError(
                f"{what} {root}: folder(s) {', '.join(map(repr, stray[:5]))} are not values of "
                f"'{schema.label.name}' in schema '{schema.name}'. A labelled image folder holds "
                f"one subfolder per label value; known values: {', '.join(known)}."
            )
        loose = [f for f in files if len(f.parts) == 1]
        if loose:
            raise DataError(
                f"{what} {root}: file {loose[0].as_posix()!r} is not inside a label folder; "
                f"schema '{schema.name}' reads labelled images from {root}/<"
                f"{schema.label.name}>/ (one subfolder per label value)."
            )
        codes = np.array([index[f.parts[0]] for f in files], dtype=np.int64)
    if not files:
        raise DataError(f"{what} {root} holds no images (.png, .jpg or .jpeg files).")
    shape = schema.image
    out = np.empty((len(files), shape.height, shape.width, shape.channels), dtype=np.uint8)
    for i, rel in enumerate(files):
        pixels = decode_image(root / rel, what=what)
        if pixels.shape != out.shape[1:]:
            h, w, c = pixels.shape
            if (h, w) != (shape.height, shape.width):
                problem = (
                    f"is {h}x{w} (height x width); schema '{schema.name}' expects "
                    f"{shape.height}x{shape.width}"
                )
            else:
                problem = (
                    f"has {c} channel(s) ({'grey' if c == 1 else 'RGB'}); schema "
                    f"'{schema.name}' expects {shape.channels}"
                )
            raise DataError(f"{what} image {root / rel} {problem}.")
        out[i] = pixels
    return ImageSet(images=out, labels=codes, names=[f.as_posix() for f in files])


def decode_image(path: Path, *, what: str = "Data") -> np.ndarray:
    """Decode one PNG/JPEG file to uint8 ``(H, W, C)`` (C = 1 or 3); see the module notes."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DataError(
            f"{what} file {path} is not a PNG or JPEG image; image folders hold only .png, "
            ".jpg or .jpeg files (hidden files, starting with '.', are ignored)."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=sorted(_PIL_FORMATS)) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise DataError(
                        f"{what} image {path} claims {w}x{h} pixels (width x height), more than "
                        f"the {MAX_PIXELS} allowed; refused as a possible decompression bomb."
                    )
                img.load()
                pixels = _to_array(img, path, what)
    except DataError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise DataError(
            f"{what} image {path} is too large to decode safely ({err}); refused as a possible "
            "decompression bomb."
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as err:
        reason = str(err) or type(err).__name__
        raise DataError(f"{what} file {path} is not a readable PNG/JPEG image: {reason}.") from None
    return pixels


def _to_array(img: Image.Image, path: Path, what: str) -> np.ndarray:
    mode = img.mode
    palette = mode in ("P", "PA")
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    elif mode == "PA":
        img = img.convert("RGBA")
        mode = "RGBA"
    elif mode == "1":
        img = img.convert("L")
        mode = "L"
    if mode not in ("L", "LA", "RGB", "RGBA"):
        raise DataError(
            f"{what} image {path} has pixel mode {mode!r}; synthgen reads 8-bit grey (L) or "
            "RGB images (convert 16-bit, CMYK or other modes first)."
        )
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if mode in ("LA", "RGBA"):
        if arr[:, :, -1].min() < 255:
            raise DataError(
                f"{what} image {path} has transparent pixels; synthgen reads opaque images "
                "(flatten it onto a background first)."
            )
        arr = arr[:, :, :-1]
    if palette and _all_grey(arr):
        arr = arr[:, :, :1]
    return np.ascontiguousarray(arr)


def _all_grey(arr: np.ndarray) -> bool:
    """True when every pixel of an RGB array is grey (R == G == B)."""
    return bool((arr[:, :, 0] == arr[:, :, 1]).all() and (arr[:, :, 1] == arr[:, :, 2]).all())


def screening_schema(schema: ImageSchema, data: str | Path) -> ImageSchema:
    """The schema to read images to screen with: labels are optional when screening, so an
    npz without the labels array, or a folder of loose image files (no label subfolders), is
    read without them. Anything else is read (and checked) against the full schema."""
    if schema.label is None:
        return schema
    unlabelled = schema.model_copy(update={"label": None})
    path = Path(data)
    if path.is_dir():
        entries = [e for e in path.iterdir() if not e.name.startswith(".")]
        if entries and not any(e.is_dir() for e in entries):
            return unlabelled
        return schema
    try:
        with np.load(path, allow_pickle=False) as npz:
            has_labels = schema.source.format != "npz" or schema.source.labels_key in npz.files
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return schema  # unreadable: the reader reports it, naming the file
    return schema if has_labels else unlabelled
