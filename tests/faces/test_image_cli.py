"""``synthgen fit`` / ``synthgen generate`` on an image schema, end to end through the CLI:
PNG folders with one subfolder per label, npz outputs, conditions, refusals, no partial output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits
from typer.testing import CliRunner

from synthgen.cli.main import app

SCHEMA_YAML = """\
schema_version: 1
name: digits
kind: image
image: {height: 8, width: 8, channels: 1}
source: {format: npz, images_key: images, labels_key: labels}
label: {name: digit, values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}
"""


def _run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("imgcli")
    digits = load_digits()
    np.savez(
        d / "train.npz",
        images=(digits.images * 15).astype(np.uint8)[:600],
        labels=digits.target[:600],
    )
    (d / "digits.yaml").write_text(SCHEMA_YAML)
    out = d / "digits.vae.synth"
    res = _run(
        "fit", d / "train.npz", "--schema", d / "digits.yaml", "--model", "vae",
        "--epochs", "2", "--device", "cpu", "-o", out, "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert out.is_file()
    return d, out


def test_generate_png_folder_with_condition(model):
    d, synth = model
    out = d / "threes"
    res = _run("generate", synth, "--rows", 25, "-c", "digit=3", "-o", out, "--format", "png")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["3"]
    files = sorted((out / "3").iterdir())
    assert len(files) == 25
    with Image.open(files[0]) as img:
        assert img.size == (8, 8) and img.mode == "L"


def test_generate_npz_exact_rows_labels_and_seed(model):
    d, synth = model
    outs = []
    for name, seed in (("a.npz", 5), ("b.npz", 5), ("c.npz", 6)):
        res = _run("generate", synth, "--rows", 37, "-o", d / name, "--seed", seed)
        assert res.exit_code == 0, res.output
        with np.load(d / name, allow_pickle=False) as npz:
            outs.append((npz["images"].copy(), npz["labels"].copy()))
    images, labels = outs[0]
    assert images.shape[0] == 37 and images.shape[1:3] == (8, 8) and images.dtype == np.uint8
    assert len(labels) == 37 and set(labels.tolist()) <= set(range(10))
    assert np.array_equal(outs[0][0], outs[1][0]) and np.array_equal(outs[0][1], outs[1][1])
    assert not np.array_equal(outs[0][0], outs[2][0])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("-c", "digit=12"), "12"),
        (("-c", "colour=red"), "colour"),
        (("--format", "csv"), "csv"),
    ],
)
def test_bad_requests_refused_without_output(model, args, needle):
    d, synth = model
    out = d / "refused_out"
    res = _run("generate", synth, "--rows", 10, "-o", out, *args)
    assert res.exit_code != 0
    assert needle in res.output and "Traceback" not in res.output
    assert not out.exists()
    assert not [p for p in d.iterdir() if p.name.startswith((".refused_out", "refused_out"))]


def test_rows_zero_refused(model):
    d, synth = model
    res = _run("generate", synth, "--rows", 0, "-o", d / "zero.npz")
    assert res.exit_code != 0 and "--rows" in res.output
    assert not (d / "zero.npz").exists()
