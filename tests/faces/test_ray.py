"""Ray (the ``ray`` extra; CI installs it): one local 2-CPU Ray for the module. Sharded
generation on Ray gives the rows of one process; ``synthetic_dataset`` gives them as a
``ray.data.Dataset``; scoring a Parquet dataset with Ray Data gives the local scores."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthgen.cli.main import app

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    from synthgen.jobs.engines import import_ray

    import_ray()  # no usage statistics, no network
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
        _node_ip_address="127.0.0.1",
    )
    yield ray
    ray.shutdown()


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_ray_shards_and_dataset_equal_one_process(local_ray, models_dir, two_block_rows, tmp_path):
    from synthgen import synthetic_dataset

    rows, single, _ = two_block_rows
    model = models_dir / "census.synth"
    out = tmp_path / "ds"
    result = _cli("generate", model, "-n", rows, "--shards", 2, "--engine", "ray", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert (out / "_manifest.json").exists()
    pd.testing.assert_frame_equal(pd.read_parquet(out), single)
    dataset = synthetic_dataset(model, rows)
    with warnings.catch_warnings():  # Ray Data's own pandas notices, in the caller's code
        warnings.simplefilter("ignore")
        frame = dataset.to_pandas()
    pd.testing.assert_frame_equal(frame, single, check_dtype=False)


def test_ray_scoring_equals_local(local_ray, models_dir, census, tmp_path):
    from synthgen.jobs.screen import score_to_file

    _, frame = census
    data = tmp_path / "data"
    data.mkdir()
    frame.iloc[:250].to_parquet(data / "part-0.parquet")
    frame.iloc[250:].to_parquet(data / "part-1.parquet")
    frame.to_parquet(tmp_path / "all.parquet")
    det = models_dir / "census-det.synth"
    out = tmp_path / "scored"
    result = _cli("anomalies", "score", data, "--model", det, "--engine", "ray", "-o", out)
    assert result.exit_code == 0, result.output
    assert "Scored 400 rows on Ray" in result.output and "Warning" not in result.output
    score_to_file(tmp_path / "all.parquet", det, output=tmp_path / "local.parquet", progress=False)
    local = pd.read_parquet(tmp_path / "local.parquet")
    on_ray = pd.read_parquet(out)
    assert len(on_ray) == 400
    for col in ("anomaly_score", "reconstruction_score", "neighbour_score"):
        np.testing.assert_allclose(on_ray[col], local[col], rtol=1e-9)
    assert on_ray["is_anomaly"].tolist() == local["is_anomaly"].tolist()
    assert on_ray["top_columns"].tolist() == local["top_columns"].tolist()
    assert on_ray["age"].tolist() == frame["age"].tolist()  # rows in order


def test_ray_retries_a_killed_worker(local_ray, models_dir, two_block_rows, tmp_path, monkeypatch):
    import shard_faults

    from synthgen.jobs import engines

    rows, single, _ = two_block_rows
    marker = tmp_path / "killed-once"
    out = tmp_path / "ds"
    ray.cloudpickle.register_pickle_by_value(shard_faults)  # Ray's workers need not find it
    monkeypatch.setattr(engines, "write_shard", shard_faults.killed_once(marker))
    model = models_dir / "census.synth"
    result = _cli("generate", model, "-n", rows, "--shards", 2, "--engine", "ray", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert marker.exists()  # shard 1's first worker was killed half-way; Ray ran it again
    assert sorted(p.name for p in out.iterdir()) == [
        "_manifest.json", "part-00000.parquet", "part-00001.parquet"
    ]  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_parquet(out), single)
