"""Out-of-core fitting: a folder of Parquet files streamed through the one training loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from synthgen.cli.main import app
from synthgen.errors import DataError, UsageError
from synthgen.schema import load_table_schema
from synthgen.tabular.evaluate.fidelity import column_report, pair_report
from synthgen.tabular.evaluate.frames import column_kinds, prepare
from synthgen.tabular.io import read_table
from synthgen.tabular.io.dataset import ParquetDataset
from synthgen.tabular.stream_source import ParquetSource, Reservoir
from synthgen.tabular.synthesizer import TabularSynthesizer


def _dataset(frame: pd.DataFrame, folder: Path, files: int, row_group: int) -> Path:
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), files)):
        table = pa.Table.from_pandas(frame.iloc[part], preserve_index=False)
        pq.write_table(table, folder / f"part-{i}.parquet", row_group_size=row_group)
    (folder / "_manifest.json").write_text("{}")  # not data: skipped
    return folder


@pytest.fixture(scope="module")
def adult(adult_path, repo_root):
    schema = load_table_schema(repo_root / "schemas" / "adult.yaml")
    return read_table(adult_path, schema).iloc[:2400].reset_index(drop=True), schema


def _quality(model: TabularSynthesizer, real: pd.DataFrame, schema) -> float:
    """The evaluation's quality score (the mean of column shapes and pair trends)."""
    syn = model.sample(1500, seed=1)
    real_f, syn_f = prepare(real, schema, "real"), prepare(syn, schema, "synthetic")
    kinds = column_kinds(schema)
    shapes = np.nanmean([c["score"] for c in column_report(real_f, syn_f, kinds)])
    trends = np.nanmean([p["score"] for p in pair_report(real_f, syn_f, kinds)])
    return float((shapes + trends) / 2)


def test_an_out_of_core_fit_lands_in_the_in_memory_fits_quality_band(adult, tmp_path):
    frame, schema = adult
    folder = _dataset(frame, tmp_path / "ds", files=3, row_group=300)
    streamed = TabularSynthesizer("ar", epochs=4, batch_size=100, progress=False)
    streamed.fit(ParquetDataset(folder, schema), schema)
    in_memory = TabularSynthesizer("ar", epochs=4, batch_size=100, progress=False)
    in_memory.fit(frame, schema)
    ooc = streamed.training_["out_of_core"]
    assert ooc["dataset_rows"] == 2400 and ooc["files"] == 3
    assert ooc["train_rows"] + ooc["held_out_rows"] == 2400
    n = ooc["train_rows"]
    assert streamed.training_["steps"] == 4 * len(range(0, n - 50, 100))  # 4 epochs, 1 a pass
    # what generation learns from every row: the education / education-num pairs, the count
    assert streamed.generation_info_["n_train"] == 2400
    pairs = {tuple(v) for v in streamed.generation_info_["fixed_combinations"][0]["values"]}
    assert pairs == {
        tuple(v) for v in in_memory.generation_info_["fixed_combinations"][0]["values"]
    }
    q_stream, q_memory = _quality(streamed, frame, schema), _quality(in_memory, frame, schema)
    assert q_stream > 0.85 and abs(q_stream - q_memory) < 0.03, (q_stream, q_memory)


def test_fit_on_a_parquet_folder_through_the_cli_writes_a_model_that_generates(
    adult, tmp_path, repo_root
):
    frame, schema = adult
    folder = _dataset(frame.iloc[:400], tmp_path / "ds", files=2, row_group=100)
    out = tmp_path / "m.synth"
    args = ["fit", str(folder), "--schema", str(repo_root / "schemas" / "adult.yaml")]
    result = CliRunner().invoke(app, [*args, "-o", str(out), "--quiet", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    model = TabularSynthesizer.load(out)  # the default kind, vae
    assert model.kind_.name == "vae" and model.training_["out_of_core"]["dataset_rows"] == 400
    rows = model.sample(300, seed=0)
    assert len(rows) == 300 and set(rows.columns) == set(frame.columns)


class _Identity:
    """A transformer stand-in whose matrix is the row number: which rows were streamed."""

    output_dim_ = 1

    def fit(self, frame):
        self.fitted_on = len(frame)
        return self

    def transform(self, frame, rng=None):
        return frame[["k"]].to_numpy(dtype=np.float32)


def test_an_epoch_streams_every_training_row_once_and_never_a_held_out_one(tmp_path):
    from synthgen.schema import TableSchema

    schema = TableSchema.model_validate(
        {"name": "n", "columns": [{"name": "k", "type": "integer", "min": 0, "max": 10**6}]}
    )
    frame = pd.DataFrame({"k": np.arange(5000)})
    folder = _dataset(frame, tmp_path / "ds", files=4, row_group=333)
    dataset = ParquetDataset(folder, schema, chunk_rows=100)
    source = ParquetSource(
        dataset, _Identity(), seed=3, sample_rows=700, val_rows=400, buffer_rows=1000
    )
    held = set(source.validation()[:, 0].astype(int))
    assert source.n_held == len(held) and 0 < len(held) <= 400
    assert source.n_rows + source.n_held == 5000
    assert len(source.sample()) == 700 and not held & set(source.sample()[:, 0].astype(int))
    gen = torch.Generator().manual_seed(0)
    epochs = []
    for _ in range(2):
        batches = list(source.batches(64, gen))
        assert len(batches) == source.steps_per_epoch(64)
        assert all(len(b) == 64 for b in batches[:-1])
        rows = np.concatenate(batches)[:, 0].astype(int)
        assert len(rows) == len(set(rows)) and not held & set(rows)
        assert source.n_rows - len(rows) < 32  # only a short last batch is dropped
        epochs.append(rows)
    assert not np.array_equal(epochs[0][:500], epochs[1][:500])  # a fresh order each epoch


def test_the_reservoir_never_holds_more_than_its_cap_and_keeps_the_smallest_keys():
    rng = np.random.default_rng(0)
    res = Reservoir(50)
    keys_all = []
    for size in (10, 30, 200, 5, 1000, 0, 64):
        keys = rng.random(size)
        keys_all.append(keys)
        res.add(pd.DataFrame({"key": keys}), keys)
        assert len(res) <= 50 and len(res.frame) == len(res)
    everything = np.concatenate(keys_all)
    assert res.seen == len(everything)
    assert np.array_equal(np.sort(res.frame["key"].to_numpy()), np.sort(everything)[:50])


def test_kinds_and_settings_that_need_the_table_in_memory_are_refused(adult, tmp_path):
    frame, schema = adult
    dataset = ParquetDataset(_dataset(frame.iloc[:200], tmp_path / "ds", 2, 50), schema)
    with pytest.raises(UsageError, match="whole table in memory"):
        TabularSynthesizer("cgan", progress=False).fit(dataset, schema)
    with pytest.raises(UsageError, match="dp_epsilon"):
        TabularSynthesizer("vae", dp_epsilon=1.0, progress=False).fit(dataset, schema)


def _text_ages(table: pa.Table) -> pa.Table:  # the pandas metadata still says Int64
    return table.set_column(0, "age", pa.array([f"{v}y" for v in table["age"].to_pylist()]))


@pytest.mark.parametrize(
    "bad, needles",
    [
        (_text_ages, ["column 'age'", "integer"]),
        (lambda t: t.drop_columns(["income"]), ["missing column(s) 'income'"]),
    ],
)
def test_a_file_that_disagrees_with_the_schema_is_named(adult, tmp_path, repo_root, bad, needles):
    frame, _ = adult
    folder = _dataset(frame.iloc[:300], tmp_path / "ds", files=3, row_group=50)
    table = bad(pa.Table.from_pandas(frame.iloc[300:400], preserve_index=False))
    pq.write_table(table, folder / "part-9.parquet")
    out = tmp_path / "m.synth"
    args = ["fit", str(folder), "--schema", str(repo_root / "schemas" / "adult.yaml")]
    result = CliRunner().invoke(app, [*args, "-o", str(out), "--quiet", "--epochs", "1"])
    flat = " ".join(result.output.split())
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    assert flat.startswith("Error: ") and "part-9.parquet" in flat, flat
    for needle in needles:
        assert needle in flat, flat
    assert not out.exists() and not Path(f"{out}.ckpt").exists()
    check = ["schema", "validate", str(repo_root / "schemas" / "adult.yaml"), "--data", str(folder)]
    result = CliRunner().invoke(app, check)
    assert result.exit_code != 0 and "part-9.parquet" in " ".join(result.output.split())


def test_schema_inference_on_a_folder_takes_ranges_and_categories_from_every_row(tmp_path):
    from synthgen.jobs.schema import infer_to_text
    from synthgen.tabular.infer_dataset import infer_dataset_schema

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "amount": rng.integers(10, 20, 3000),
            "colour": rng.choice(["red", "blue"], 3000),
            "label": rng.choice(["yes", "no"], 3000),
        }
    )
    frame.loc[2999, ["amount", "colour"]] = [5000, "violet"]  # one row, in the last file
    folder = _dataset(frame, tmp_path / "ds", files=3, row_group=400)
    schema = infer_dataset_schema(folder, target="label", sample_rows=100)
    amount, colour = schema.column("amount"), schema.column("colour")
    assert (amount.min, amount.max) == (10, 5000)
    assert colour.values == ["blue", "red", "violet"] and schema.conditions == ["label"]
    assert infer_to_text(folder)[0].column("colour").values == ["blue", "red", "violet"]
    other = frame.iloc[:10].assign(amount=frame["amount"].iloc[:10].astype(float))
    pq.write_table(pa.Table.from_pandas(other, preserve_index=False), folder / "part-7.parquet")
    with pytest.raises(DataError, match=r"part-7.parquet: column 'amount' is stored as double"):
        infer_dataset_schema(folder)
