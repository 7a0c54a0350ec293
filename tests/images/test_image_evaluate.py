"""Image evaluation on scikit-learn's 8x8 digits: metrics, classifier, report, CLI, Inception."""

from __future__ import annotations

import base64
import html
import io
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from typer.testing import CliRunner

from synthgen.cli.main import app
from synthgen.core.gates import check_gates
from synthgen.errors import DataError, GateFailed, ModelFileError, UsageError
from synthgen.images.data import ImageSet
from synthgen.images.evaluate import evaluation as image_evaluate
from synthgen.images.evaluate import inception
from synthgen.images.evaluate.classifier import ImageClassifier
from synthgen.images.evaluate.evaluation import run_image_evaluation
from synthgen.images.evaluate.gates import enforce_image_gates, parse_image_gates
from synthgen.images.evaluate.inception import InceptionV3, inception_features, load_inception
from synthgen.images.evaluate.report import render_image_html
from synthgen.images.io import write_images
from synthgen.schema import dump_schema, parse_schema

runner = CliRunner()
EPOCHS = 3


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small tensors on a shared 2-core machine: one thread is faster and reproducible."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def cuts(digits, digits_schema):
    """The shared digits (conftest), cut into train, holdout and unseen parts."""
    return {
        "schema": digits_schema(),
        "train": digits.subset(slice(0, 900)),
        "holdout": digits.subset(slice(900, 1300)),
        "unseen": digits.subset(slice(1300, None)),  # 497 real images the models never see
    }


@pytest.fixture(scope="module")
def good(cuts):
    """Synthetic = unseen real images with their true labels: the ideal generator."""
    return run_image_evaluation(
        cuts["train"],
        cuts["unseen"],
        cuts["schema"],
        holdout=cuts["holdout"],
        epochs=EPOCHS,
    )


@pytest.fixture(scope="module")
def bad(cuts):
    """Noised images with shuffled labels, and no holdout (the real set is split)."""
    rng = np.random.default_rng(1)
    unseen = cuts["unseen"]
    noise = rng.integers(-90, 91, unseen.images.shape)
    noisy = np.clip(unseen.images.astype(int) + noise, 0, 255).astype(np.uint8)
    synthetic = ImageSet(noisy, rng.permutation(unseen.labels))
    return run_image_evaluation(cuts["train"], synthetic, cuts["schema"], epochs=EPOCHS)


# --- classifier ------------------------------------------------------------------------------


def _labels(n: int, h: int, w: int, c: int = 1):
    return parse_schema(
        {
            "kind": "image",
            "name": "x",
            "image": {"height": h, "width": w, "channels": c},
            "source": {"format": "npz"},
            "label": {"name": "y", "values": list(range(n))},
        },
        "test",
    )


def test_classifier_learns_digits_deterministically(cuts):
    schema = _labels(10, 8, 8)
    clf = ImageClassifier(random_state=3, epochs=EPOCHS).fit(cuts["train"], schema)
    assert clf.score(cuts["holdout"]) > 0.9
    again = ImageClassifier(random_state=3, epochs=EPOCHS).fit(cuts["train"], schema)
    np.testing.assert_array_equal(
        clf.predict_proba(cuts["holdout"]), again.predict_proba(cuts["holdout"])
    )
    feats = clf.features(cuts["holdout"])
    assert feats.shape == (len(cuts["holdout"]), 128) and feats.dtype == np.float32
    assert clf.predict(cuts["holdout"]).dtype == np.int64
    with pytest.raises(DataError, match="do not match"):
        clf.predict(ImageSet(np.zeros((2, 9, 9, 1), np.uint8)))


def test_classifier_takes_rgb_and_odd_sizes():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 64)
    images = rng.integers(0, 60, (64, 13, 10, 3)).astype(np.uint8)
    images[labels == 1, :, :, 0] += 150  # class 1 is red
    data = ImageSet(images, labels)
    clf = ImageClassifier(random_state=0, epochs=4).fit(data, _labels(2, 13, 10, 3))
    assert clf.features(data).shape == (64, 128)
    assert clf.score(data) > 0.9
    with pytest.raises(DataError, match="no labels"):
        ImageClassifier().fit(ImageSet(images), _labels(2, 13, 10, 3))


# --- evaluate_images -------------------------------------------------------------------------


def test_ideal_synthetic_scores_near_the_real_floor(good):
    s = good.doc["summary"]
    assert s["conditional_accuracy"] > 0.85
    assert s["trtr_accuracy"] > 0.9 and s["tstr_accuracy"] > 0.75
    assert s["frechet_distance"] < 2 * s["frechet_floor"] + 1
    assert s["precision"] > 0.6 and s["recall"] > 0.6
    per = good.doc["conditional"]["per_label"]
    assert set(per) == {str(d) for d in range(10)}
    assert sum(v["n"] for v in per.values()) == 497
    assert good.doc["sampling"]["holdout_source"] == "given"
    assert good.doc["sampling"]["compare_n"] == 400
    assert good.doc["inception"] is None and s["fid"] is None


def test_noisy_shuffled_synthetic_scores_worse_and_split_is_stated(good, bad):
    g, b = good.doc["summary"], bad.doc["summary"]
    assert b["conditional_accuracy"] < 0.25  # chance is 0.1
    assert b["tstr_accuracy"] < 0.35
    assert b["frechet_distance"] > 2 * g["frechet_distance"]
    assert b["frechet_distance"] > 2 * b["frechet_floor"]
    assert b["precision"] < g["precision"]
    assert bad.doc["sampling"]["holdout_source"].startswith("split from the real images")
    assert any("No holdout given" in n for n in bad.doc["notes"])
    assert bad.doc["sampling"]["real_train_used"] + bad.doc["sampling"]["holdout_used"] == 900


def test_document_keys_are_stable_and_json(good):
    doc = good.doc
    json.dumps(doc, allow_nan=False)
    assert doc["format"] == "synthgen.image_evaluation/1"
    assert set(doc) == {
        "format",
        "synthgen_version",
        "schema",
        "kind",
        "image",
        "seed",
        "sampling",
        "classifier",
        "summary",
        "fidelity",
        "conditional",
        "utility",
        "inception",
        "notes",
        "gates",
        "timings_s",
    }
    assert set(doc["summary"]) == {
        "frechet_distance",
        "frechet_floor",
        "precision",
        "recall",
        "precision_floor",
        "recall_floor",
        "conditional_accuracy",
        "tstr_accuracy",
        "trtr_accuracy",
        "tstr_ratio",
        "fid",
        "fid_floor",
    }


def test_unlabelled_schema_uses_self_supervised_features(cuts, digits_schema):
    schema = digits_schema(labelled=False)

    def strip(s):
        return ImageSet(s.images[:200])

    doc = run_image_evaluation(strip(cuts["train"]), strip(cuts["unseen"]), schema, epochs=1).doc
    assert doc["classifier"]["task"].startswith("flip")
    assert doc["summary"]["conditional_accuracy"] is None
    assert doc["conditional"]["skipped"] == "the schema has no label"
    assert doc["summary"]["frechet_distance"] is not None


def test_bad_inputs_are_refused(cuts):
    schema = cuts["schema"]
    wrong = ImageSet(np.zeros((30, 9, 8, 1), np.uint8), np.zeros(30, np.int64))
    with pytest.raises(DataError, match="Synthetic data images are 9x8"):
        run_image_evaluation(cuts["train"], wrong, schema)
    with pytest.raises(UsageError, match="image schemas"):
        run_image_evaluation(cuts["train"], cuts["unseen"], parse_schema(_table_schema()))


def _table_schema() -> dict:
    return {"kind": "table", "name": "t", "columns": [{"name": "x", "type": "continuous"}]}


def test_gates_pass_fail_and_unknown(good):
    gates = parse_image_gates(["conditional_accuracy=0.5", "frechet_max=1e9", "fid_max=1"])
    results = check_gates(good.doc["summary"], gates)
    assert [r["passed"] for r in results] == [True, True, False]
    with pytest.raises(GateFailed, match="needs inception_weights"):
        enforce_image_gates(results)
    with pytest.raises(UsageError, match="unknown gate 'shapes'"):
        parse_image_gates(["shapes=0.5"])


# --- report ----------------------------------------------------------------------------------


def test_report_is_self_contained_with_a_grid_per_label(good):
    page = render_image_html(good)
    assert "synthgen image evaluation: digits" in page
    pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(pngs) == 10  # one sample grid per digit
    grid = Image.open(io.BytesIO(base64.b64decode(pngs[3])))
    assert grid.format == "PNG" and grid.width > 10 * 8 and grid.height > 3 * 8
    for external in ("http://", "https://", "<script", "<link", "url("):
        assert external not in page
    assert "Fréchet distance" in page and "TSTR" in page and "digit = 3" in page
    # Every classifier figure is named as synthgen's own classifier (not an independent judge),
    # and each label's conditional grid says how much of it that classifier reads as the label.
    text = html.unescape(page)
    assert "not an independent judge" in text
    assert "conditional accuracy (synthgen's classifier)" in text
    acc3 = good.doc["conditional"]["per_label"]["3"]["accuracy"]
    assert re.search(rf"synthgen's classifier reads {100 * acc3:.1f} % of them as 3", text)


# --- CLI -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory, cuts):
    root = tmp_path_factory.mktemp("image_eval")
    schema = cuts["schema"]
    (root / "digits.yaml").write_text(dump_schema(schema))
    write_images(cuts["train"], root / "train.npz", schema)
    write_images(cuts["holdout"], root / "holdout.npz", schema)
    write_images(cuts["unseen"].subset(slice(0, 200)), root / "synthetic", schema, fmt="png")
    return root


def _cli(root, *extra):
    return [
        "evaluate",
        "--real",
        str(root / "train.npz"),
        "--synthetic",
        str(root / "synthetic"),
        "--holdout",
        str(root / "holdout.npz"),
        "--schema",
        str(root / "digits.yaml"),
        "--epochs",
        "2",
        "--device",
        "cpu",
        *extra,
    ]


def test_cli_end_to_end_writes_json_and_report(files):
    metrics, report = files / "m.json", files / "r.html"
    result = runner.invoke(
        app,
        _cli(
            files,
            "--json",
            str(metrics),
            "--report",
            str(report),
            "--fail-under",
            "conditional_accuracy=0.5",
        ),
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(metrics.read_text())
    assert doc["sampling"]["synthetic_images"] == 200
    assert doc["classifier"]["epochs"] == 2
    assert doc["gates"][0]["name"] == "conditional_accuracy" and doc["gates"][0]["passed"]
    assert "conditional_accuracy" in result.output and "wrote" in result.output
    assert "data:image/png;base64," in report.read_text()

    assert set(doc["summary"]) >= {"frechet_distance", "frechet_floor", "tstr_accuracy"}

    # a failed gate exits 3 after (over)writing the JSON; --max-rows keeps this run small
    metrics.unlink()
    failing = runner.invoke(
        app,
        _cli(files, "--json", str(metrics), "--max-rows", "30", "--fail-under", "tstr=1.01"),
    )
    assert failing.exit_code == 3, failing.output
    assert "tstr: tstr_accuracy" in failing.output
    assert json.loads(metrics.read_text())["sampling"]["real_train_used"] == 30


def test_cli_refuses_options_that_do_not_apply(files, tmp_path):
    bad = runner.invoke(app, _cli(files, "--target", "digit"))
    assert bad.exit_code == 2 and "--target applies to table" in bad.output
    (tmp_path / "t.yaml").write_text(json.dumps(_table_schema()))
    for name in ("r.csv", "s.csv"):  # the files exist: the option is what is wrong
        (tmp_path / name).write_text("x\n1\n")
    table = runner.invoke(
        app,
        [
            "evaluate",
            "--real",
            str(tmp_path / "r.csv"),
            "--synthetic",
            str(tmp_path / "s.csv"),
            "--schema",
            str(tmp_path / "t.yaml"),
            "--inception-weights",
            str(tmp_path / "w.safetensors"),
        ],
    )
    assert table.exit_code == 2 and "image schemas only" in table.output


# --- Inception -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    torch.manual_seed(0)
    state = InceptionV3().state_dict()
    state["fc.weight"] = torch.zeros(1008, 2048)  # pytorch-fid's 1008-way head
    state["fc.bias"] = torch.zeros(1008)
    path = tmp_path_factory.mktemp("inception") / "inception.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def test_inception_fid_from_local_weights(cuts, inception_file, monkeypatch):
    # 75x75 (Inception-v3's smallest input) instead of 299x299 keeps this test fast on CPU
    monkeypatch.setattr(inception, "SIZE", 75)
    net = load_inception(inception_file)
    assert net.Mixed_7c.pool == "max" and net.Mixed_5b.tf  # the FID variant was recognised
    few = cuts["holdout"].subset(slice(0, 3))
    feats = inception_features(net, few)
    assert feats.shape == (3, 2048) and np.isfinite(feats).all()
    np.testing.assert_array_equal(feats, inception_features(net, few))  # deterministic

    monkeypatch.setattr(image_evaluate, "INCEPTION_MAX_IMAGES", 4)
    doc = run_image_evaluation(
        cuts["train"].subset(slice(0, 200)),
        cuts["unseen"].subset(slice(0, 40)),
        cuts["schema"],
        holdout=cuts["holdout"].subset(slice(0, 40)),
        inception_weights=inception_file,
        epochs=1,
    ).doc
    assert doc["inception"]["n"] == 4 and doc["inception"]["weights"] == str(inception_file)
    assert doc["summary"]["fid"] >= 0 and doc["summary"]["fid_floor"] >= 0


def test_bad_inception_weights_are_refused(cuts, files, tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_inception(tmp_path / "missing.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ModelFileError, match="not a readable safetensors file"):
        load_inception(garbage)
    other = tmp_path / "other.safetensors"
    save_file({"conv.weight": torch.zeros(3, 3)}, str(other))
    with pytest.raises(ModelFileError, match="does not hold torchvision-style"):
        run_image_evaluation(cuts["train"], cuts["unseen"], cuts["schema"], inception_weights=other)
    result = runner.invoke(app, _cli(files, "--inception-weights", str(garbage)))
    assert result.exit_code == 1 and "garbage.safetensors" in result.output
