"""Image readers and writers: npz and PNG/JPEG folders, schema inference, atomic (streamed)
outputs, and the ``schema infer/validate`` commands (bad input: ``test_image_io_refusals.py``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from image_files import image_schema, labelled_folder, save_png
from PIL import Image
from typer.testing import CliRunner

from synthgen.cli.main import app
from synthgen.errors import DataError, OutputError, UsageError
from synthgen.images.data import label_values
from synthgen.images.infer import infer_image_schema
from synthgen.images.io import ImageWriter, image_format, read_images, write_images
from synthgen.outputs import atomic_output
from synthgen.schema import load_schema


@pytest.fixture()
def digits_npz(tmp_path, few_digits) -> Path:
    path = tmp_path / "digits.npz"
    np.savez(path, images=few_digits[0], labels=few_digits[1])
    return path


def _rgb_set(n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 6, 5, 3), dtype=np.uint8)
    labels = np.array(["cat", "dog", "owl"])[rng.integers(0, 3, size=n)]
    return images, labels


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def _digest(root: Path) -> dict[str, str]:
    if root.is_file():
        return {"": hashlib.sha256(root.read_bytes()).hexdigest()}
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.png"))
    }


# -------------------------------------------------------------------------------------------
# round trips


def test_digits_npz_infer_read_and_round_trip(tmp_path, few_digits, digits_npz):
    images, labels = few_digits
    schema = infer_image_schema(digits_npz)
    assert (schema.image.height, schema.image.width, schema.image.channels) == (8, 8, 1)
    assert schema.source.format == "npz" and schema.source.images_key == "images"
    assert schema.label.values == list(range(10)) and schema.name == "digits"

    data = read_images(digits_npz, schema)
    assert data.images.shape == (120, 8, 8, 1) and data.images.dtype == np.uint8
    assert np.array_equal(data.images[..., 0], images)
    assert np.array_equal(np.array(label_values(schema))[data.labels].astype(int), labels)

    out = tmp_path / "copy.npz"
    write_images(data, out, schema, inputs=[digits_npz])
    with np.load(out, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["images", "labels"]
        assert np.array_equal(npz["images"], images)  # (N, H, W) like the source
        assert npz["labels"].dtype == np.int64 and np.array_equal(npz["labels"], labels)
    back = read_images(out, schema)
    assert np.array_equal(back.images, data.images) and np.array_equal(back.labels, data.labels)


def test_digits_png_folder_round_trip(tmp_path, few_digits, digits_npz):
    schema = infer_image_schema(digits_npz)
    data = read_images(digits_npz, schema)
    out = tmp_path / "pngs"
    write_images(data, out, schema)
    assert image_format(out) == "png"
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert (
        len(names) == 120
        and names[0].split("/")[1] == f"{int(np.argmax(data.labels == 0)):06d}.png"
    )
    assert {n.split("/")[0] for n in names} == {str(v) for v in np.unique(few_digits[1])}

    back = read_images(out, schema)
    index = [int(n.split("/")[1][:-4]) for n in back.names]
    assert back.names == names and sorted(index) == list(range(120))
    assert np.array_equal(back.images, data.images[index])
    assert np.array_equal(back.labels, data.labels[index])
    assert np.bincount(back.labels, minlength=10).tolist() == np.bincount(few_digits[1]).tolist()

    # The folder infers the same schema, with integer labels from the folder names.
    folder_schema = infer_image_schema(out)
    assert folder_schema.label.values == list(range(10)) and folder_schema.image.channels == 1
    assert folder_schema.source.format == "folder"


def test_rgb_string_labels_round_trip(tmp_path):
    images, labels = _rgb_set()
    src = tmp_path / "rgb.npz"
    np.savez(src, x=images, y=labels)
    schema = infer_image_schema(src, name="pets")
    assert schema.source.images_key == "x" and schema.source.labels_key == "y"
    assert (schema.image.height, schema.image.width, schema.image.channels) == (6, 5, 3)
    assert schema.label.values == ["cat", "dog", "owl"] and schema.name == "pets"
    data = read_images(src, schema)
    assert np.array_equal(data.images, images)

    out = tmp_path / "out.npz"
    write_images(data, out, schema)
    with np.load(out, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["x", "y"]  # the schema's keys
        assert npz["y"].dtype.kind == "U" and np.array_equal(npz["y"], labels)
        assert np.array_equal(npz["x"], images)

    folder = tmp_path / "rgb_pngs"
    write_images(data, folder, schema)
    back = read_images(folder, schema)
    index = [int(n.split("/")[1][:-4]) for n in back.names]
    assert np.array_equal(back.images, images[index])
    assert [label_values(schema)[c] for c in back.labels] == list(labels[index])
    assert sorted(p.name for p in folder.iterdir()) == sorted(set(labels))


def test_unlabelled_nested_folder_and_jpeg(tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "imgs"
    arrays = {
        "b/one.png": rng.integers(0, 256, (4, 3), dtype=np.uint8),
        "a.png": rng.integers(0, 256, (4, 3), dtype=np.uint8),
        "b/c/two.PNG": rng.integers(0, 256, (4, 3), dtype=np.uint8),
    }
    for name, arr in arrays.items():
        save_png(root / name, arr)
    Image.fromarray(np.full((4, 3), 77, np.uint8)).save(root / "z.jpg", quality=95)
    (root / ".DS_Store").write_bytes(b"junk")  # hidden: ignored
    save_png(root / ".hidden" / "x.png", np.zeros((9, 9), np.uint8))  # hidden folder: ignored

    schema = image_schema(h=4, w=3, c=1)
    data = read_images(root, schema)
    assert data.labels is None
    assert data.names == ["a.png", "b/c/two.PNG", "b/one.png", "z.jpg"]
    for i, name in enumerate(data.names[:3]):
        assert np.array_equal(data.images[i, :, :, 0], arrays[name])
    assert abs(int(data.images[3].mean()) - 77) <= 2  # JPEG is lossy, but close

    out = tmp_path / "flat"
    write_images(data, out, schema)
    assert sorted(p.name for p in out.iterdir()) == [f"{i:06d}.png" for i in range(4)]
    assert np.array_equal(read_images(out, schema).images, data.images)
    with np.load(write_images(data, tmp_path / "u.npz", schema), allow_pickle=False) as npz:
        assert npz.files == ["images"]


def test_outputs_deterministic_and_streamed(tmp_path, digits_npz):
    schema = infer_image_schema(digits_npz)
    data = read_images(digits_npz, schema)
    for fmt in ("npz", "png"):
        a = tmp_path / f"a.{fmt}" if fmt == "npz" else tmp_path / "a_png"
        b = tmp_path / f"b.{fmt}" if fmt == "npz" else tmp_path / "b_png"
        write_images(data, a, schema)
        with ImageWriter(b, schema) as writer:  # the same images in uneven chunks
            for start, stop in ((0, 7), (7, 50), (50, 120)):
                writer.write(data.subset(slice(start, stop)))
            assert writer.count == 120
        assert _digest(a) == _digest(b) and len(_digest(a)) == (1 if fmt == "npz" else 120)
        write_images(data, a, schema, overwrite=True)  # rewriting gives the same bytes
        assert _digest(a) == _digest(b)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.npz",
        "a_png",
        "b.npz",
        "b_png",
        "digits.npz",
    ]


def test_channel_modes(tmp_path):
    rng = np.random.default_rng(2)
    grey = rng.integers(0, 256, (5, 5), dtype=np.uint8)
    root = tmp_path / "modes"
    # A grey palette image is one channel; an opaque RGBA image is RGB without its alpha.
    Image.fromarray(grey).convert("P").save(save_png(root / "g" / "p.png", grey))
    rgb = rng.integers(0, 256, (5, 5, 3), dtype=np.uint8)
    opaque = np.concatenate([rgb, np.full((5, 5, 1), 255, np.uint8)], axis=2)
    save_png(root / "c" / "rgba.png", opaque)
    gs = read_images(root / "g", image_schema(5, 5, 1))
    assert gs.images.shape == (1, 5, 5, 1)
    cs = read_images(root / "c", image_schema(5, 5, 3))
    assert np.array_equal(cs.images[0], rgb)
    opaque[0, 0, 3] = 10
    save_png(root / "t" / "see-through.png", opaque)
    with pytest.raises(DataError, match="see-through.png has transparent pixels"):
        read_images(root / "t", image_schema(5, 5, 3))


# -------------------------------------------------------------------------------------------
# atomic outputs


@pytest.mark.parametrize("fmt", ["npz", "png"])
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_no_partial_output_on_failure(tmp_path, digits_npz, fmt, error):
    schema = infer_image_schema(digits_npz)
    data = read_images(digits_npz, schema)
    target = tmp_path / ("out.npz" if fmt == "npz" else "out")
    before = _files(tmp_path)
    with pytest.raises(error):
        with ImageWriter(target, schema) as writer:
            writer.write(data.subset(slice(0, 60)))
            raise error()
    assert _files(tmp_path) == before

    # An existing output is kept intact when a replacement fails.
    write_images(data.subset(slice(0, 5)), target, schema)
    kept = _digest(target)
    before = _files(tmp_path)
    with pytest.raises(error):
        with ImageWriter(target, schema, overwrite=True) as writer:
            writer.write(data)
            raise error()
    assert _files(tmp_path) == before and _digest(target) == kept


def test_directory_output_rules(tmp_path, digits_npz):
    schema = infer_image_schema(digits_npz)
    data = read_images(digits_npz, schema).subset(slice(0, 4))
    out = tmp_path / "out"
    write_images(data, out, schema)
    with pytest.raises(OutputError, match="already exists"):
        write_images(data, out, schema)
    (out / "stale.txt").write_text("old")
    write_images(data.subset(slice(0, 2)), out, schema, overwrite=True)  # replaced whole
    assert len(list(out.rglob("*.png"))) == 2 and not (out / "stale.txt").exists()

    with pytest.raises(OutputError, match="holds the input"):
        write_images(data, tmp_path, schema, overwrite=True, inputs=[digits_npz])
    with pytest.raises(OutputError, match="inside the input folder"):
        write_images(data, out / "inner", schema, inputs=[out])
    with pytest.raises(OutputError, match="is a directory"):  # file outputs still refuse folders
        with atomic_output(out, overwrite=True):
            pass
    with pytest.raises(UsageError, match="extension '.tiff'"):
        write_images(data, tmp_path / "x.tiff", schema)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits.npz", "out"]


# -------------------------------------------------------------------------------------------
# CLI


def test_cli_schema_infer_and_validate_npz(tmp_path, digits_npz):
    out = tmp_path / "digits.yaml"
    result = CliRunner().invoke(
        app, ["schema", "infer", str(digits_npz), "--name", "digits8", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "image schema 'digits8', 8x8x1, 10 labels" in result.output
    schema = load_schema(out)
    assert schema.kind == "image" and schema.label.values == list(range(10))
    assert "kind: image" in out.read_text()

    result = CliRunner().invoke(app, ["schema", "validate", str(out), "--data", str(digits_npz)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok ") and "120 images, 8x8x1" in result.stdout
    assert "label counts 0: 12" in result.stdout

    # The same schema validates a PNG folder written from it.
    folder = write_images(read_images(digits_npz, schema), tmp_path / "pngs", schema)
    result = CliRunner().invoke(app, ["schema", "validate", str(out), "--data", str(folder)])
    assert result.exit_code == 0 and "120 images" in result.stdout


def test_cli_schema_infer_and_validate_folder(tmp_path):
    root = labelled_folder(tmp_path)
    result = CliRunner().invoke(app, ["schema", "infer", str(root)])
    assert result.exit_code == 0, result.output
    assert "kind: image" in result.stdout and "format: folder" in result.stdout
    schema_path = tmp_path / "set.yaml"
    schema_path.write_text(result.stdout)
    assert load_schema(schema_path).label.values == [0, 1]

    result = CliRunner().invoke(app, ["schema", "validate", str(schema_path), "--data", str(root)])
    assert result.exit_code == 0, result.output
    assert "6 images, 8x8x1; label counts 0: 3, 1: 3" in result.stdout

    save_png(root / "1" / "odd.png", np.zeros((8, 8, 3), np.uint8))
    before = _files(tmp_path)
    result = CliRunner().invoke(app, ["schema", "validate", str(schema_path), "--data", str(root)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    flat = " ".join(result.output.split())
    assert flat.startswith("Error: ") and "odd.png" in flat and "has 3 channel(s)" in flat
    out = tmp_path / "x.yaml"
    result = CliRunner().invoke(app, ["schema", "infer", str(root), "-o", str(out)])
    assert result.exit_code == 1 and "odd.png" in " ".join(result.output.split())
    assert _files(tmp_path) == before

    result = CliRunner().invoke(app, ["schema", "infer", str(root), "--target", "y"])
    assert result.exit_code == 2 and "--target applies to tables" in result.output
