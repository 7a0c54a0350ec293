"""Writing image sets: ``.npz`` arrays and folders of PNG files.

Writers
    ``ImageWriter`` streams ``ImageSet`` chunks to an npz file (chunks go to temp files, which
    are zipped into the npz at close, so memory stays bounded) or to a PNG folder
    (``out/<label value>/000000.png``; ``out/000000.png`` when unlabelled). Output is atomic:
    nothing is left behind on an error or an interrupt. npz labels are stored as the schema's
    label values: int64 when they are all integers, else a unicode string array.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import numpy as np
from PIL import Image

from synthgen.errors import OutputError, UsageError, param
from synthgen.images.data import ImageSet, label_values
from synthgen.images.io.read import IMAGE_FORMATS, npz_keys
from synthgen.outputs import atomic_output, check_output, signals_deferred
from synthgen.schema import ImageSchema

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: same images -> same npz bytes
_COPY_BLOCK = 1 << 20


def image_format(path: str | Path, fmt: str | None = None) -> str:
    """``"npz"`` or ``"png"`` (a folder of PNGs): ``fmt`` if given, else from ``path``."""
    if fmt is not None:
        if fmt not in IMAGE_FORMATS:
            raise UsageError(f"Unknown image format {fmt!r}; expected npz or png (a folder).")
        return fmt
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "npz"
    if path.is_dir() or not suffix:
        return "png"
    raise UsageError(
        f"Cannot tell the image format of {path} from its extension '{path.suffix}': give a "
        ".npz file, or a folder path without an extension for PNG files (or pass "
        f"{param('format')})."
    )


class ImageWriter:
    """Stream ``ImageSet`` chunks into an npz file or a PNG folder, atomically.

    Use as a context manager: the output appears at ``path`` only when the block ends without
    an exception; on an error or interrupt every temp file is removed.
    """

    def __init__(
        self,
        path: str | Path,
        schema: ImageSchema,
        *,
        fmt: str | None = None,
        overwrite: bool = False,
        inputs: Iterable[str | Path] = (),
    ) -> None:
        self.path = Path(path)
        self.schema = schema
        self.fmt = image_format(self.path, fmt)
        self.count = 0
        self._values = label_values(schema)
        if self.fmt == "png":
            for value in self._values:
                if (
                    value in ("", ".", "..")
                    or value.startswith(".")
                    or "/" in value
                    or (os.sep in value)
                ):
                    raise OutputError(
                        f"Label value {value!r} of '{schema.label.name}' cannot name a folder; "
                        "write this image set as .npz instead."
                    )
        inputs = list(inputs)
        check_output(self.path, overwrite=overwrite, inputs=inputs, directory=self.fmt == "png")
        self._stack = contextlib.ExitStack()
        self._closed = False
        try:
            self._tmp = self._stack.enter_context(
                atomic_output(
                    self.path, overwrite=overwrite, inputs=inputs, directory=self.fmt == "png"
                )
            )
            if self.fmt == "npz":
                self._parts = self._stack.enter_context(_TempDir(self.path))
                self._img_file = self._stack.enter_context(open(self._parts / "images", "wb"))
                self._lab_file = self._stack.enter_context(open(self._parts / "labels", "wb"))
        except BaseException:
            self._stack.close()
            raise

    def __enter__(self) -> ImageWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        else:
            self.abort(exc)

    def write(self, chunk: ImageSet) -> None:
        """Append a chunk of images (labels are codes into the schema's label values)."""
        if self._closed:
            raise ValueError("ImageWriter is closed")
        shape = self.schema.image
        want = (shape.height, shape.width, shape.channels)
        if chunk.shape != want:
            raise OutputError(
                f"Cannot write {chunk.shape[0]}x{chunk.shape[1]}x{chunk.shape[2]} images to "
                f"{self.path}: schema '{self.schema.name}' is {want[0]}x{want[1]}x{want[2]}."
            )
        labelled = self.schema.label is not None
        if labelled and chunk.labels is None:
            raise OutputError(
                f"Cannot write unlabelled images to {self.path}: schema '{self.schema.name}' "
                f"has the label '{self.schema.label.name}'."
            )
        codes = chunk.labels if labelled else None
        if (
            codes is not None
            and len(codes)
            and (codes.min() < 0 or codes.max() >= len(self._values))
        ):
            raise OutputError(f"Label codes out of range for schema '{self.schema.name}'.")
        if self.fmt == "npz":
            self._img_file.write(np.ascontiguousarray(chunk.images).tobytes())
            if codes is not None:
                self._lab_file.write(codes.astype("<i8").tobytes())
        else:
            self._write_pngs(chunk, codes)
        self.count += len(chunk)

    def _write_pngs(self, chunk: ImageSet, codes: np.ndarray | None) -> None:
        made: set[str] = set()
        for i in range(len(chunk)):
            folder = self._tmp
            if codes is not None:
                value = self._values[int(codes[i])]
                folder = self._tmp / value
                if value not in made:
                    folder.mkdir(exist_ok=True)
                    made.add(value)
            pixels = chunk.images[i]
            img = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
            img.save(folder / f"{self.count + i:06d}.png", format="PNG", compress_level=6)

    def close(self) -> Path:
        """Finish the output and move it into place; returns the output path."""
        if self._closed:
            return self.path
        try:
            if self.fmt == "npz":
                self._img_file.flush()
                self._lab_file.flush()
                self._write_npz()
        except BaseException as err:
            self.abort(err)
            raise
        self._closed = True
        self._stack.close()
        return self.path

    def abort(self, exc: BaseException | None = None) -> None:
        """Discard everything written so far."""
        if self._closed:
            return
        self._closed = True
        exc = exc if exc is not None else RuntimeError("ImageWriter aborted")
        self._stack.__exit__(type(exc), exc, exc.__traceback__)

    def _write_npz(self) -> None:
        images_key, labels_key = npz_keys(self.schema)
        shape = self.schema.image
        per_image = (shape.height, shape.width)
        if shape.channels != 1:
            per_image = (*per_image, shape.channels)
        with zipfile.ZipFile(self._tmp, "w", allowZip64=True) as zf:
            _zip_array(
                zf,
                images_key,
                self._parts / "images",
                np.dtype(np.uint8),
                (self.count, *per_image),
            )
            if self.schema.label is not None and labels_key is not None:
                values = self.schema.label.values
                if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                    table = np.array(values, dtype=np.int64)
                else:
                    table = np.array(self._values, dtype=str)
                _zip_array(
                    zf,
                    labels_key,
                    self._parts / "labels",
                    table.dtype,
                    (self.count,),
                    codes_to=table,
                )


class _TempDir:
    """A hidden temp folder beside ``target``, removed on exit (success or failure)."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> Path:
        # signals are held while the folder is made and named; one that arrived meanwhile is
        # raised as the hold ends, and the folder is removed here (no __exit__ follows)
        self.path: Path | None = None
        try:
            with signals_deferred():
                self.path = Path(
                    tempfile.mkdtemp(
                        prefix=f".{self.target.name}.", suffix=".parts", dir=self.target.parent
                    )
                )
        except BaseException:
            if self.path is not None:
                shutil.rmtree(self.path, ignore_errors=True)
            raise
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _zip_array(
    zf: zipfile.ZipFile,
    key: str,
    raw: Path,
    dtype: np.dtype,
    shape: tuple[int, ...],
    codes_to: np.ndarray | None = None,
) -> None:
    """Add ``key.npy`` to ``zf`` from a raw little-endian file, in blocks (bounded memory).

    With ``codes_to``, ``raw`` holds int64 codes and each block is mapped through it.
    """
    info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    with zf.open(info, "w", force_zip64=True) as out, open(raw, "rb") as src:
        np.lib.format.write_array_header_1_0(out, header)
        if codes_to is None:
            shutil.copyfileobj(src, out, _COPY_BLOCK)
            return
        while block := src.read(_COPY_BLOCK):
            out.write(codes_to[np.frombuffer(block, dtype="<i8")].tobytes())


def write_images(
    images: ImageSet,
    path: str | Path,
    schema: ImageSchema,
    *,
    fmt: str | None = None,
    overwrite: bool = False,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Write an ``ImageSet`` atomically as an npz file or a PNG folder; returns ``path``."""
    with ImageWriter(path, schema, fmt=fmt, overwrite=overwrite, inputs=inputs) as writer:
        writer.write(images)
    return Path(path)
