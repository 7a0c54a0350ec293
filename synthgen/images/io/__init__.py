"""Image sets in and out: ``.npz`` arrays and class-per-folder PNG/JPEG files."""

from synthgen.images.io.read import (
    IMAGE_FORMATS,
    decode_image,
    npz_keys,
    read_images,
    screening_schema,
)
from synthgen.images.io.write import ImageWriter, image_format, write_images

__all__ = [
    "IMAGE_FORMATS",
    "ImageWriter",
    "decode_image",
    "image_format",
    "npz_keys",
    "read_images",
    "screening_schema",
    "write_images",
]
