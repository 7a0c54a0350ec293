"""Fixtures shared by the service tests: a tiny generator and detector fitted once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from synthgen.schema import load_schema
from synthgen.tabular.io import read_table

REPO = Path(__file__).resolve().parents[2]
CENSUS = REPO / "synthgen" / "data" / "census.csv"
CENSUS_SCHEMA = REPO / "synthgen" / "data" / "census.yaml"


@pytest.fixture(scope="session")
def census():
    schema = load_schema(CENSUS_SCHEMA)
    return schema, read_table(CENSUS, schema).iloc[:400].reset_index(drop=True)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory, census):
    """A tiny VAE, a tiny detector, a link to a model outside the folder, a broken file."""
    from synthgen.tabular.anomaly.detector import AnomalyDetector
    from synthgen.tabular.synthesizer import TabularSynthesizer

    torch.set_num_threads(1)
    schema, df = census
    root = tmp_path_factory.mktemp("service")
    models = root / "models"
    models.mkdir()
    synth = TabularSynthesizer("vae", epochs=1, batch_size=100, seed=0, progress=False)
    synth.fit(df, schema).save(models / "census.synth")
    AnomalyDetector(epochs=1, model_options={"members": 1}, random_state=0).fit(df, schema).save(
        models / "census-det.synth"
    )
    outside = root / "secret.synth"
    shutil.copy(models / "census.synth", outside)
    (models / "escape.synth").symlink_to(outside)
    (models / "inside-link.synth").symlink_to(models / "census.synth")
    (root / "broken").mkdir()
    (root / "broken" / "broken.synth").write_bytes(b"not a zip file at all")
    return models


@pytest.fixture(scope="session")
def two_block_rows(models_dir, tmp_path_factory):
    """(rows, frame, path): two blocks of the tiny VAE's rows (the second short), made by one
    process into one Parquet file, as read back."""
    import pandas as pd

    from synthgen.core.blocks import TABLE_BLOCK_ROWS
    from synthgen.jobs.generate import generate_to_file

    rows = TABLE_BLOCK_ROWS + 300
    out = tmp_path_factory.mktemp("single") / "one.parquet"
    generate_to_file(models_dir / "census.synth", rows, out, progress=False)
    return rows, pd.read_parquet(out), out
