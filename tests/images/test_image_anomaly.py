"""Image anomaly screening on tiny data (scikit-learn's 8x8 digits): ImageAnomalyDetector + CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from synthgen.cli.main import app
from synthgen.errors import DataError, ModelFileError, UsageError
from synthgen.images.anomaly.detector import ImageAnomalyDetector, ImageDetectorConfig
from synthgen.images.anomaly.nets import ConvAEConfig, ConvAutoencoder
from synthgen.images.data import ImageSet
from synthgen.schema import ImageSchema

FAST = {
    "epochs": 20,
    "model_options": {"min_steps": 60, "members": 2},
    "progress": False,
    "device": "cpu",
}
SCHEMA_YAML = """\
schema_version: 1
name: digits8
kind: image
image: {height: 8, width: 8, channels: 1}
source: {format: npz, images_key: images, labels_key: labels}
label: {name: digit, values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}
"""


@pytest.fixture(scope="module")
def schema() -> ImageSchema:
    return ImageSchema.model_validate(
        {
            "name": "digits8",
            "kind": "image",
            "image": {"height": 8, "width": 8, "channels": 1},
            "source": {"format": "npz"},
            "label": {"name": "digit", "values": list(range(10))},
        }
    )


@pytest.fixture(scope="module")
def split(digits):
    """Fitting images: 140 zeros; held out: the other zeros; others: every other digit."""
    zeros = np.flatnonzero(digits.labels == 0)
    return (
        digits.subset(zeros[:140]),
        digits.subset(zeros[140:]),
        digits.subset(np.flatnonzero(digits.labels != 0)),
    )


@pytest.fixture(scope="module")
def fitted(split, schema) -> ImageAnomalyDetector:
    return ImageAnomalyDetector(random_state=3, **FAST).fit(split[0], schema)


@pytest.mark.parametrize(
    "shape", [(8, 8, 1), (28, 28, 1), (13, 17, 3), (5, 5, 1), (64, 48, 3), (1, 1, 1)]
)
def test_autoencoder_reconstructs_any_size(shape):
    h, w, c = shape
    det = ImageAnomalyDetector()
    schema = ImageSchema.model_validate(
        {
            "kind": "image",
            "image": {"height": h, "width": w, "channels": c},
            "source": {"format": "npz"},
        }
    )
    config = det._network_config(schema, ImageDetectorConfig())
    out = ConvAutoencoder(config)(torch.zeros(2, c, h, w))
    assert out.shape == (2, c, h, w)
    assert ConvAEConfig.from_dict(config.to_dict()) == config


def test_same_seed_same_scores_and_model_file(split, schema, fitted, tmp_path):
    train, held, _ = split
    again = ImageAnomalyDetector(random_state=3, **FAST).fit(train, schema)
    np.testing.assert_array_equal(fitted.score_samples(held), again.score_samples(held))
    fitted.save(tmp_path / "a.synth")
    again.save(tmp_path / "b.synth")
    assert (tmp_path / "a.synth").read_bytes() == (tmp_path / "b.synth").read_bytes()
    other = ImageAnomalyDetector(random_state=4, **FAST).fit(train, schema)
    assert not np.array_equal(fitted.score_samples(held), other.score_samples(held))


def test_contamination_flags_the_stated_share_of_fitting_images(split, fitted):
    train = split[0]
    for q in (0.05, 0.1, 0.25):
        flags = fitted.score(train, contamination=q)["is_anomaly"].to_numpy()
        assert flags.sum() == round(q * len(train))
    scores = fitted.score_samples(train)
    assert scores.mean() == pytest.approx(1.0, rel=1e-6)  # scaled: a typical image scores ~1
    t = float(np.median(scores))
    assert fitted.score(train, threshold=t)["is_anomaly"].sum() == (scores > t).sum()
    with pytest.raises(UsageError):
        fitted.threshold(contamination=0.1, threshold=1.0)
    with pytest.raises(UsageError):
        fitted.threshold(contamination=1.5)


def test_other_digits_score_higher_than_held_out_zeros(split, fitted):
    from sklearn.metrics import roc_auc_score

    _, held, others = split
    s_held, s_other = fitted.score_samples(held), fitted.score_samples(others)
    assert s_other.mean() > 2 * s_held.mean()
    y = np.r_[np.zeros(len(s_held)), np.ones(len(s_other))]
    assert roc_auc_score(y, np.r_[s_held, s_other]) > 0.9


def test_score_frame_columns_and_labels(split, fitted):
    held = split[1]
    out = fitted.score(held, contamination=0.1)
    assert list(out.columns) == ["image", "digit", "anomaly_score", "is_anomaly"]
    assert out["image"].tolist() == [str(i) for i in range(len(held))]
    assert set(out["digit"]) == {"0"}
    named = ImageSet(held.images, None, [f"x/{i}.png" for i in range(len(held))])
    out = fitted.score(named)
    assert list(out.columns) == ["image", "anomaly_score", "is_anomaly"]
    assert out["image"].iloc[1] == "x/1.png"


def test_save_load_gives_identical_scores(split, fitted, tmp_path):
    path = fitted.save(tmp_path / "det.synth")
    loaded = ImageAnomalyDetector.load(path, device="cpu", progress=False)
    held = split[1]
    np.testing.assert_array_equal(fitted.score_samples(held), loaded.score_samples(held))
    assert loaded.threshold(contamination=0.05) == fitted.threshold(contamination=0.05)
    pd.testing.assert_frame_equal(fitted.score(held), loaded.score(held))


def test_bad_input_refused(split, schema, fitted, tmp_path):
    wrong = ImageSet(np.zeros((20, 10, 10, 1), dtype=np.uint8))
    with pytest.raises(DataError, match="10x10"):
        fitted.score_samples(wrong)
    with pytest.raises(DataError, match="at least 10"):
        ImageAnomalyDetector(**FAST).fit(split[0].subset(np.arange(5)), schema)
    with pytest.raises(UsageError):
        ImageAnomalyDetector(contamination=2.0, **{**FAST}).fit(split[0], schema)
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="no CUDA GPU"):
            ImageAnomalyDetector(**{**FAST, "device": "cuda"}).fit(split[0], schema)
    # a table detector's file is not an image detector
    bogus = tmp_path / "x.synth"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError):
        ImageAnomalyDetector.load(bogus)


# ------------------------------------------------------------------------------------ CLI
def _npz(path, images: np.ndarray, labels: np.ndarray) -> None:
    np.savez(path, images=images[..., 0] if images.shape[-1] == 1 else images, labels=labels)


def test_cli_fit_score_end_to_end(split, tmp_path):
    train, held, others = split
    schema = tmp_path / "digits.yaml"
    schema.write_text(SCHEMA_YAML)
    _npz(tmp_path / "train.npz", train.images, train.labels)
    batch = ImageSet(
        np.concatenate([held.images, others.images[:40]]),
        np.concatenate([held.labels, others.labels[:40]]),
    )
    _npz(tmp_path / "batch.npz", batch.images, batch.labels)
    runner = CliRunner()
    det = tmp_path / "det.synth"
    res = runner.invoke(
        app,
        [
            "anomalies",
            "fit",
            str(tmp_path / "train.npz"),
            "--schema",
            str(schema),
            "-o",
            str(det),
            "--epochs",
            "10",
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "image anomaly detector on 140 images" in res.output
    out, rep = tmp_path / "scored.csv", tmp_path / "report.html"
    res = runner.invoke(
        app,
        [
            "anomalies",
            "score",
            str(tmp_path / "batch.npz"),
            "--model",
            str(det),
            "-o",
            str(out),
            "--contamination",
            "0.05",
            "--report",
            str(rep),
        ],
    )
    assert res.exit_code == 0, res.output
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["image", "digit", "anomaly_score", "is_anomaly"]
    assert len(scored) == len(batch)
    assert scored["image"].tolist() == list(range(len(batch)))
    assert scored["digit"].tolist() == batch.labels.tolist()
    by = scored.groupby(scored["digit"] == 0)["anomaly_score"].mean()
    assert by[False] > by[True]
    text = rep.read_text()
    assert "Highest-scoring images" in text and "data:image/png;base64," in text
    # parquet output and an explicit threshold
    pq = tmp_path / "scored.parquet"
    res = runner.invoke(
        app,
        [
            "anomalies",
            "score",
            str(tmp_path / "batch.npz"),
            "--model",
            str(det),
            "-o",
            str(pq),
            "--threshold",
            "1000000",
        ],
    )
    assert res.exit_code == 0, res.output
    assert not pd.read_parquet(pq)["is_anomaly"].any()


def test_cli_wrong_size_refused_without_partial_output(split, fitted, tmp_path):
    det = fitted.save(tmp_path / "det.synth")
    bad = tmp_path / "big.npz"
    np.savez(bad, images=np.zeros((12, 10, 10), dtype=np.uint8), labels=np.zeros(12, dtype=int))
    out, rep = tmp_path / "scored.csv", tmp_path / "report.html"
    res = CliRunner().invoke(
        app,
        ["anomalies", "score", str(bad), "--model", str(det), "-o", str(out), "--report", str(rep)],
    )
    assert res.exit_code == 1
    assert "Traceback" not in res.output and "big.npz" in res.output
    assert not out.exists() and not rep.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.npz", "det.synth"]
    # both --contamination and --threshold: a usage error (exit 2), nothing written
    res = CliRunner().invoke(
        app,
        [
            "anomalies",
            "score",
            str(bad),
            "--model",
            str(det),
            "-o",
            str(out),
            "--contamination",
            "0.1",
            "--threshold",
            "2",
        ],
    )
    assert res.exit_code == 2 and not out.exists()


def test_cli_scores_png_folders_and_unlabelled_npz(split, fitted, tmp_path):
    from synthgen.images.io import write_images

    det = fitted.save(tmp_path / "det.synth")
    held = split[1].subset(np.arange(6))
    write_images(held, tmp_path / "pngs", fitted.schema_, fmt="png")
    runner = CliRunner()
    out = tmp_path / "pngs.csv"
    res = runner.invoke(
        app, ["anomalies", "score", str(tmp_path / "pngs"), "--model", str(det), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    scored = pd.read_csv(out, dtype={"image": str})
    assert list(scored.columns) == ["image", "digit", "anomaly_score", "is_anomaly"]
    assert all(name.startswith("0/") and name.endswith(".png") for name in scored["image"])
    # the same pixels give the same scores, whichever way they were stored
    by_name = dict(zip(scored["image"], scored["anomaly_score"], strict=True))
    direct = fitted.score_samples(held)
    assert sorted(by_name.values()) == pytest.approx(sorted(direct), rel=1e-6)
    # screening needs no labels: an npz without them is scored without a label column
    np.savez(tmp_path / "nolabels.npz", images=held.images[..., 0])
    out = tmp_path / "nolabels.parquet"
    res = runner.invoke(
        app,
        ["anomalies", "score", str(tmp_path / "nolabels.npz"), "--model", str(det), "-o", str(out)],
    )
    assert res.exit_code == 0, res.output
    scored = pd.read_parquet(out)
    assert list(scored.columns) == ["image", "anomaly_score", "is_anomaly"]
    np.testing.assert_allclose(scored["anomaly_score"], direct, rtol=1e-12)
