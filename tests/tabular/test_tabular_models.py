"""Fit and generate with the tabular models: exact rows, conditions, constraints, determinism."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthgen.cli.main import app
from synthgen.core.kinds import get_kind, kinds
from synthgen.errors import GenerationError, UsageError
from synthgen.schema import parse_schema
from synthgen.tabular.io import read_table
from synthgen.tabular.synthesizer import TabularSynthesizer

DEMO = Path(__file__).resolve().parents[2] / "synthgen" / "data"
runner = CliRunner()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def census_schema():
    from synthgen.schema import load_table_schema

    return load_table_schema(DEMO / "census.yaml")


@pytest.fixture(scope="module")
def census(census_schema):
    return read_table(DEMO / "census.csv", census_schema).iloc[:600].reset_index(drop=True)


@pytest.fixture(scope="module")
def census_csv(tmp_path_factory, census):
    path = tmp_path_factory.mktemp("data") / "census.csv"
    pd.read_csv(DEMO / "census.csv", dtype=str, keep_default_na=False).iloc[:600].to_csv(
        path, index=False
    )
    return path


TABLE_KINDS = [k.name for k in kinds("table", "generator")]


@pytest.fixture(scope="module", params=TABLE_KINDS)
def fitted(request, census, census_schema):
    synth = TabularSynthesizer(request.param, epochs=3, batch_size=100, seed=0, progress=False)
    return synth.fit(census, census_schema)


def test_rows_exact_and_columns(fitted, census_schema):
    out = fitted.sample(1234, seed=1)
    assert len(out) == 1234
    assert list(out.columns) == census_schema.column_names
    chunks = list(fitted.iter_sample(1001, seed=1, chunk_rows=250))
    assert [len(c) for c in chunks] == [250, 250, 250, 250, 1]


def test_model_condition_is_exact(fitted):
    out = fitted.sample(500, {"income": ">50K"}, seed=3)
    assert len(out) == 500
    assert set(out["income"]) == {">50K"}


def test_condition_by_rejection_is_exact(fitted):
    out = fitted.sample(200, {"sex": "Female"}, seed=4)
    assert len(out) == 200
    assert set(out["sex"]) == {"Female"}


def test_unknown_condition_refused_with_known_values(fitted):
    with pytest.raises(UsageError, match="Known values: .*<=50K"):
        fitted.sample(10, {"income": "lots"})
    with pytest.raises(UsageError, match="does not generate"):
        fitted.sample(10, {"salary": "x"})
    with pytest.raises(UsageError, match="positive"):
        fitted.sample(0)


def test_impossible_condition_is_an_error_not_a_short_file(fitted):
    with pytest.raises(GenerationError, match="cannot make|stopped after"):
        fitted.sample(200, {"age": 90, "native-country": "Mexico"}, seed=0)
    # a category seen fewer than k times is never generated (value protection), so a
    # condition on it is refused up front
    with pytest.raises(UsageError, match="not a value the model knows"):
        fitted.sample(200, {"native-country": "Holand-Netherlands"}, seed=0)


def test_save_load_same_output(fitted, tmp_path):
    before = fitted.sample(300, seed=7)
    path = fitted.save(tmp_path / "m.synth")
    after = TabularSynthesizer.load(path, device="cpu").sample(300, seed=7)
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize("kind", TABLE_KINDS)
def test_schema_without_condition_columns(kind, census, census_schema, tmp_path):
    """A schema with no ``conditions`` and no discrete target (what ``schema infer`` gives
    without ``--target``). The vae then conditions on nothing (every condition is met by
    rejection); the cgan's conditional vector still covers every discrete column."""
    schema = census_schema.model_copy(update={"conditions": []})
    assert schema.condition_columns == []
    synth = TabularSynthesizer(kind, epochs=2, batch_size=100, seed=0, progress=False)
    synth.fit(census, schema)
    if kind in ("vae", "ar"):
        assert synth.model_.conditionable == []
    out = synth.sample(300, seed=1)
    assert len(out) == 300 and list(out.columns) == schema.column_names
    loaded = TabularSynthesizer.load(synth.save(tmp_path / "m.synth"))
    pd.testing.assert_frame_equal(loaded.sample(300, seed=1), out)
    women = synth.sample(50, {"sex": "Female"}, seed=2)
    assert len(women) == 50 and (women["sex"] == "Female").all()


def test_different_seed_different_output(fitted):
    a = fitted.sample(200, seed=1)
    b = fitted.sample(200, seed=2)
    assert not a.equals(b)


def _constrained_table(n: int = 400) -> tuple[pd.DataFrame, object]:
    rng = np.random.default_rng(0)
    start = rng.integers(0, 50, n)
    level = rng.choice(["low", "mid", "high"], n)
    code = pd.Series(level).map({"low": "1", "mid": "2", "high": "3"})
    frame = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "start": pd.array(start, dtype="Int64"),
            "end": pd.array(start + rng.integers(0, 30, n), dtype="Int64"),
            "amount": rng.gamma(2.0, 50.0, n),
            "level": pd.Series(level, dtype=object),
            "code": pd.Series(code, dtype=object),
            "email": pd.Series([f"user{i}@example.com" for i in range(n)], dtype=object),
        }
    )
    schema = parse_schema(
        {
            "name": "orders",
            "target": "level",
            "columns": [
                {"name": "order_id", "type": "id"},
                {"name": "start", "type": "integer", "min": 0, "max": 100},
                {"name": "end", "type": "integer", "min": 0, "max": 200},
                {"name": "amount", "type": "continuous"},
                {"name": "level", "type": "categorical", "values": ["low", "mid", "high"]},
                {"name": "code", "type": "categorical", "values": ["1", "2", "3"]},
                {"name": "email", "type": "categorical", "pii": True},
            ],
            "constraints": [
                {"type": "range", "column": "amount", "min": 10, "max": 300},
                {"type": "inequality", "low": "start", "high": "end"},
                {"type": "fixed_combinations", "columns": ["level", "code"]},
            ],
        }
    )
    return frame, schema


@pytest.mark.parametrize(
    ("kind", "numeric"), [("vae", None), ("cgan", None), ("cgan", "mode"), ("ar", None)]
)
def test_constraints_hold_and_ids_fresh(kind, numeric):
    frame, schema = _constrained_table()
    synth = TabularSynthesizer(
        kind, epochs=3, batch_size=100, progress=False, numeric_encoding=numeric
    ).fit(frame, schema)
    expected = numeric or get_kind("table", "generator", kind).extra["numeric_encoding"]
    assert synth.transformer_.numeric == expected
    out = synth.sample(700, seed=5)
    assert len(out) == 700
    assert out["amount"].between(10, 300).all()
    assert (out["start"] <= out["end"]).all()
    pairs = set(zip(out["level"], out["code"], strict=True))
    assert pairs <= {("low", "1"), ("mid", "2"), ("high", "3")}
    assert out["order_id"].is_unique
    assert not set(out["order_id"]) & set(frame["order_id"])
    assert out["email"].is_unique
    assert not set(out["email"]) & set(frame["email"])  # pii never copied from the data


def test_device_cuda_without_gpu_refused(census, census_schema):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(UsageError, match="no CUDA GPU"):
        TabularSynthesizer("vae", epochs=1, device="cuda", progress=False).fit(
            census, census_schema
        )


def test_cli_fit_generate_byte_identical(tmp_path, census_csv):
    schema = DEMO / "census.yaml"
    files = []
    for name in ("a", "b"):
        model = tmp_path / f"{name}.synth"
        res = runner.invoke(
            app,
            [
                "fit",
                str(census_csv),
                "--schema",
                str(schema),
                "-o",
                str(model),
                "--epochs",
                "2",
                "--batch-size",
                "100",
                "--seed",
                "3",
                "--device",
                "cpu",
                "-q",
            ],
        )
        assert res.exit_code == 0, res.output
        out = tmp_path / f"{name}.parquet"
        res = runner.invoke(
            app, ["generate", str(model), "--rows", "500", "-o", str(out), "--seed", "9", "-q"]
        )
        assert res.exit_code == 0, res.output
        files.append((model, out))
    assert _sha(files[0][0]) == _sha(files[1][0])
    assert _sha(files[0][1]) == _sha(files[1][1])
    assert len(pd.read_parquet(files[0][1])) == 500
    assert not list(tmp_path.glob("*.ckpt"))


def test_cli_generate_refusals(tmp_path, census_csv):
    model = tmp_path / "m.synth"
    res = runner.invoke(
        app,
        [
            "fit",
            str(census_csv),
            "--schema",
            str(DEMO / "census.yaml"),
            "-o",
            str(model),
            "--epochs",
            "1",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "out.csv"
    cases = [
        (["--rows", "0"], "positive"),
        (["--rows", "-5"], "positive"),
        (["--rows", "10", "-c", "income=rich"], "Known values"),
        (["--rows", "10", "-c", "nope=1"], "does not generate"),
        (["--rows", "10", "--device", "cuda"], "CUDA"),
    ]
    import torch

    for extra, needle in cases:
        if "cuda" in extra and torch.cuda.is_available():
            continue
        res = runner.invoke(app, ["generate", str(model), "-o", str(out), "-q", *extra])
        assert res.exit_code == 2, (extra, res.output)
        assert needle in res.output
        assert "Traceback" not in res.output
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.synth"]


def test_interrupted_generate_leaves_nothing(tmp_path, fitted, monkeypatch):
    import synthgen.tabular.io.write as io_mod

    model = fitted.save(tmp_path / "m.synth")
    calls = {"n": 0}
    original = io_mod.TableWriter.write

    def interrupt(self, df):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, df)

    monkeypatch.setattr(io_mod.TableWriter, "write", interrupt)
    from synthgen.jobs.generate import generate_to_file

    with pytest.raises(KeyboardInterrupt):
        generate_to_file(model, 3000, tmp_path / "out.csv", chunk_rows=1000, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.synth"]


def test_resume_continues_to_same_model(tmp_path, census, census_schema):
    ckpt = tmp_path / "run.ckpt"
    straight = TabularSynthesizer("vae", epochs=4, batch_size=100, progress=False)
    straight.fit(census, census_schema)
    first = TabularSynthesizer("vae", epochs=4, batch_size=100, progress=False)
    # stop after 2 epochs, as if killed
    first.train_config = lambda n_rows=None: _with_epochs(first, 2)
    first.fit(census, census_schema, checkpoint=ckpt)
    assert ckpt.exists()
    resumed = TabularSynthesizer("vae", epochs=4, batch_size=100, progress=False)
    resumed.fit(census, census_schema, checkpoint=ckpt, resume=True)
    assert resumed.training_["epochs_run"] == 4
    a, b = straight.sample(200, seed=1), resumed.sample(200, seed=1)
    pd.testing.assert_frame_equal(a, b)


def _with_epochs(synth, epochs):
    import dataclasses

    cfg = TabularSynthesizer.train_config(synth)
    return dataclasses.replace(cfg, epochs=epochs)


def test_cgan_files_from_before_the_weight_average_load_without_it():
    from synthgen.core.configs import config_from_dict
    from synthgen.tabular.models.cgan import CGANConfig

    assert CGANConfig().ema_decay > 0  # new fits average the generator's weights
    assert config_from_dict(CGANConfig, {"pac": 10}).ema_decay == 0.0  # older files did not
    assert config_from_dict(CGANConfig, {"ema_decay": 0.99}).ema_decay == 0.99


def test_small_tables_get_smaller_batches_and_enough_steps():
    """Without --batch-size/--epochs a table of a few hundred rows still gets at least ten
    steps an epoch and about the kind's target number of steps; Adult-sized ones keep 500."""
    for entry in kinds("table", "generator"):
        kind, spec = entry.name, entry.plan
        small, large = (TabularSynthesizer(kind).train_config(n) for n in (178, 26_048))
        assert large.batch_size == 500
        assert spec.min_batch_size <= small.batch_size < 500
        steps = small.epochs * max(1, int(178 * 0.9) // small.batch_size)
        assert steps >= spec.target_steps
        explicit = TabularSynthesizer(kind, batch_size=400, epochs=3).train_config(178)
        assert (explicit.batch_size, explicit.epochs) == (400, 3)  # the user's choice stands


def test_vae_trains_on_fewer_rows_than_half_a_batch(census, census_schema):
    """Fewer rows than half the batch is one batch of all of them, never an epoch of none
    (which left a vae untrained)."""
    tiny = census.iloc[:60].reset_index(drop=True)
    synth = TabularSynthesizer("vae", epochs=2, batch_size=500, seed=0, progress=False)
    synth.fit(tiny, census_schema)
    assert all("loss" in h for h in synth.training_["history"])
