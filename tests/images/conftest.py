"""Tiny image data the image tests share: scikit-learn's 8x8 digits as an ``ImageSet`` (pixels
0..240) and a schema for them, labelled by digit or unlabelled."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from sklearn.datasets import load_digits

from synthgen.images.data import ImageSet
from synthgen.schema import ImageSchema, parse_schema


@pytest.fixture(scope="session")
def digits() -> ImageSet:
    """All 1,797 digits, ``(N, 8, 8, 1)`` uint8, labels 0..9."""
    d = load_digits()
    return ImageSet((d.images * 15).astype(np.uint8)[..., None], d.target.astype(np.int64))


def _digits_schema(labelled: bool = True) -> ImageSchema:
    doc = {
        "schema_version": 1,
        "name": "digits",
        "kind": "image",
        "image": {"height": 8, "width": 8, "channels": 1},
        "source": {"format": "npz", "images_key": "images", "labels_key": "labels"},
    }
    if labelled:
        doc["label"] = {"name": "digit", "values": list(range(10))}
    else:
        doc["source"]["labels_key"] = None
    return parse_schema(doc, "test")


@pytest.fixture(scope="session")
def digits_schema() -> Callable[..., ImageSchema]:
    """``digits_schema()`` labelled by ``digit``; ``digits_schema(labelled=False)`` without."""
    return _digits_schema


@pytest.fixture(scope="session")
def few_digits(digits) -> tuple[np.ndarray, np.ndarray]:
    """The first 120 digits as ``(120, 8, 8)`` pixels 0..240 and their labels (the IO tests'
    arrays)."""
    return digits.images[:120, ..., 0], digits.labels[:120]
