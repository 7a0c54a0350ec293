"""Bad image input refused with the file named: broken folders, decompression bombs, bad npz
archives, and the folder rules of schema inference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from image_files import image_schema, labelled_folder, save_png
from PIL import Image

from synthgen.errors import DataError
from synthgen.images.infer import infer_image_schema
from synthgen.images.io import read as image_io
from synthgen.images.io import read_images
from synthgen.schema import load_schema

BAD_FOLDERS = {
    "wrong-size": (
        lambda r: save_png(r / "1" / "big.png", np.zeros((9, 8), np.uint8)),
        ["big.png", "is 9x8", "expects 8x8"],
    ),
    "wrong-channels": (
        lambda r: save_png(r / "0" / "colour.png", np.zeros((8, 8, 3), np.uint8)),
        ["colour.png", "has 3 channel(s)", "expects 1"],
    ),
    "corrupt": (
        lambda r: (r / "0" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really"),
        ["broken.png", "not a readable PNG/JPEG image"],
    ),
    "truncated": (
        lambda r: (r / "1" / "cut.png").write_bytes((r / "1" / "0.png").read_bytes()[:60]),
        ["cut.png", "not a readable PNG/JPEG image"],
    ),
    "stray-file": (
        lambda r: (r / "1" / "notes.txt").write_text("hello"),
        ["notes.txt", "not a PNG or JPEG image"],
    ),
    "unknown-label": (
        lambda r: save_png(r / "7" / "a.png", np.zeros((8, 8), np.uint8)),
        ["folder(s) '7'", "not values of 'y'", "known values: 0, 1"],
    ),
    "loose-file": (
        lambda r: save_png(r / "loose.png", np.zeros((8, 8), np.uint8)),
        ["loose.png", "not inside a label folder"],
    ),
    "16-bit": (
        lambda r: Image.fromarray(np.zeros((8, 8), np.uint16)).save(r / "0" / "deep.png"),
        ["deep.png", "pixel mode 'I;16'"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_FOLDERS))
def test_bad_folder_refused_with_file_named(tmp_path, case):
    root = labelled_folder(tmp_path)
    make, needles = BAD_FOLDERS[case]
    make(root)
    with pytest.raises(DataError) as err:
        read_images(root, image_schema(values=[0, 1]))
    for needle in needles:
        assert needle in err.value.message, err.value.message


def test_decompression_bomb_refused_before_decoding(tmp_path, monkeypatch):
    root = labelled_folder(tmp_path)
    schema = image_schema(values=[0, 1])
    monkeypatch.setattr(image_io, "MAX_PIXELS", 63)  # 8x8 = 64 pixels is now too many
    with pytest.raises(DataError, match="decompression bomb") as err:
        read_images(root, schema)
    assert "0.png" in err.value.message
    monkeypatch.setattr(image_io, "MAX_PIXELS", 10**9)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40)  # Pillow's own check, as an error
    with pytest.raises(DataError, match="decompression bomb"):
        read_images(root, schema)


def test_bad_npz_refused(tmp_path, few_digits):
    images, labels = few_digits
    schema = load_schema(Path(__file__).resolve().parents[2] / "schemas" / "mnist.yaml")
    small = image_schema(values=list(range(10)), source={"format": "npz"})

    no_labels = tmp_path / "nolabels.npz"
    np.savez(no_labels, images=images)
    with pytest.raises(DataError, match=r"nolabels.npz has no array 'labels'.*'images'"):
        read_images(no_labels, small)

    with pytest.raises(DataError, match=r"shape \(120, 8, 8\).*expects \(N, 28, 28\)"):
        read_images(_save(tmp_path, "ok.npz", images, labels), schema)

    bad_label = _save(tmp_path, "badlabel.npz", images, np.where(labels == 3, 42, labels))
    with pytest.raises(DataError, match=r"badlabel.npz: label value\(s\) '42'"):
        read_images(bad_label, small)

    floats = _save(tmp_path, "floats.npz", images / 255.0, labels)
    with pytest.raises(DataError, match="floats.npz.*float64 pixels"):
        read_images(floats, small)

    wide = _save(tmp_path, "wide.npz", images.astype(np.int32) * 2, labels)
    with pytest.raises(DataError, match="wide.npz.*from 0 to 480"):
        read_images(wide, small)

    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, images=images, labels=np.array([object()] * 120, dtype=object))
    with pytest.raises(DataError, match="pickled.npz.*pickled"):
        read_images(pickled, small)

    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DataError, match="junk.npz is not a readable .npz"):
        read_images(junk, small)

    # cause 16: a table or a text file is not called "pickled arrays"
    for name, content, words in (
        ("table.csv", b"a,b\n1,2\n", "it is a CSV table, not an image archive"),
        ("notes.npz", b"hello", "not a zip of .npy arrays"),
        ("obj.npz", b"\x80\x04K\x01.", "a Python pickle"),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(DataError) as err:
            read_images(path, small)
        assert name in err.value.message and words in err.value.message
        assert "pickled (object) arrays" not in err.value.message

    with pytest.raises(DataError, match="missing.npz does not exist"):
        read_images(tmp_path / "missing.npz", small, source_label="Synthetic data")


def _save(tmp_path: Path, name: str, images: np.ndarray, labels: np.ndarray) -> Path:
    np.savez(tmp_path / name, images=images, labels=labels)
    return tmp_path / name


def test_infer_folder_rules(tmp_path):
    root = labelled_folder(tmp_path)
    save_png(root / "07" / "x.png", np.zeros((8, 8), np.uint8))
    schema = infer_image_schema(root)
    assert schema.label.values == ["0", "07", "1"]  # '07' is not a plain integer: strings
    save_png(root / "loose.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(DataError, match="both files"):
        infer_image_schema(root)
    mixed = tmp_path / "mixed"
    save_png(mixed / "a.png", np.zeros((8, 8), np.uint8))
    save_png(mixed / "b.png", np.zeros((8, 9), np.uint8))
    with pytest.raises(DataError, match=r"b.png is 8x9"):
        infer_image_schema(mixed)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        infer_image_schema(tmp_path / "empty")
