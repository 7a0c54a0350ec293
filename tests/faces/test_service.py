"""The HTTP service through FastAPI's TestClient (the live server, the fuzz run and the docs
pages in a browser: ``test_service_live.py``; the token, the binds and the request line:
``test_service_access.py``)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from service_calls import expect_error as _error

from synthgen.service import Limits, create_app

REPO = Path(__file__).resolve().parents[2]
CENSUS = REPO / "synthgen" / "data" / "census.csv"
CENSUS_SCHEMA = REPO / "synthgen" / "data" / "census.yaml"
CHUNK = 400


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def limits():
    return Limits(
        max_rows=3000,
        max_upload_mb=0.5,
        max_json_kb=4,
        max_concurrent=2,
        queue_seconds=0.2,
        chunk_rows=CHUNK,
    )


@pytest.fixture(scope="session")
def app(models_dir, limits):
    return create_app(models_dir, limits=limits, device="cpu")


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app) as c:
        yield c


def _gen(client, rows=50, **body):
    return client.post("/models/census/generate", json={"rows": rows, **body})


# --- listing -------------------------------------------------------------------------------------
def test_health_and_listing(client):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["active_generations"] == 0
    models = {m["name"]: m for m in client.get("/models").json()["models"]}
    assert set(models) == {"census", "census-det", "inside-link"}  # the link out is not listed
    census = models["census"]
    assert census["kind"] == "table-vae" and census["family"] == "generator"
    assert census["schema"]["n_columns"] == 15
    assert {"name": "income", "type": "categorical"} in census["schema"]["columns"]
    assert census["training"]["epochs_run"] == 1
    assert models["census-det"]["family"] == "detector"


def test_model_detail(client):
    detail = client.get("/models/census").json()
    assert detail["schema"]["condition_columns"] == ["income"]
    assert len(detail["weights_sha256"]) == 64 and detail["size_bytes"] > 0
    assert detail["training"]["train_rows"] == 360


@pytest.mark.parametrize(
    "name,status",
    [
        ("nope", 404),
        ("escape", 404),
        ("secret", 404),
        ("..", 422),
        (".hidden", 422),
        ("..%2Fsecret", 404),
        ("%2e%2e", 422),
        ("a" * 200, 422),
    ],
)
def test_names_stay_inside_models_dir(client, name, status):
    for resp in (client.get(f"/models/{name}"), _client_gen(client, name)):
        assert resp.status_code in (status, 404), (name, resp.status_code, resp.text)
        assert resp.json()["error"] in ("not_found", "invalid_request")


def _client_gen(client, name):
    return client.post(f"/models/{name}/generate", json={"rows": 5})


def test_symlink_out_of_the_folder_is_refused_by_name(client):
    detail = _error(client.get("/models/escape"), 404, "not_found")
    assert "outside the folder" in detail
    assert client.get("/models/inside-link").status_code == 200  # links within are fine


def test_broken_model_file_is_a_clear_server_error(tmp_path, models_dir):
    folder = models_dir.parent / "broken"
    with TestClient(create_app(folder)) as c:
        listed = c.get("/models").json()["models"]
        assert listed[0]["name"] == "broken" and "not a synthgen model" in listed[0]["error"]
        resp = c.post("/models/broken/generate", json={"rows": 3})
        assert _error(resp, 500, "model_file_error").startswith("Model file 'broken'")
        assert str(folder) not in resp.text  # no server paths in errors


# --- generation ----------------------------------------------------------------------------------
def test_generate_csv_streams_exact_rows_and_matches_the_cli(client, models_dir, tmp_path):
    from synthgen.jobs.generate import generate_to_file

    rows = 2 * CHUNK + 123
    resp = _gen(client, rows, seed=7)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["x-synthgen-rows"] == str(rows)
    frame = pd.read_csv(io.BytesIO(resp.content))
    assert len(frame) == rows and frame.shape[1] == 15
    out = tmp_path / "cli.csv"
    generate_to_file(
        models_dir / "census.synth",
        rows,
        out,
        seed=7,
        chunk_rows=CHUNK,
        progress=False,
        validate=False,
        device="cpu",
    )
    assert resp.content == out.read_bytes()  # same seed: the CLI's bytes
    assert _gen(client, rows, seed=8).content != resp.content


def test_each_request_gets_fresh_rows_and_its_seed_repeats_them(client):
    a, b = _gen(client, 30), _gen(client, 30)
    assert a.content != b.content  # no seed given: fresh rows per request
    seed = int(a.headers["x-synthgen-seed"])
    again = _gen(client, 30, seed=seed)
    assert again.headers["x-synthgen-seed"] == str(seed) and again.content == a.content


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_generate_other_formats(client, fmt):
    rows = 2 * CHUNK + 5
    resp = _gen(client, rows, seed=3, format=fmt)
    assert resp.status_code == 200
    if fmt == "jsonl":
        lines = resp.content.decode().splitlines()
        assert len(lines) == rows and set(json.loads(lines[0])) >= {"age", "income"}
    else:
        pfile = pq.ParquetFile(io.BytesIO(resp.content))
        assert pfile.metadata.num_rows == rows
        assert pfile.num_row_groups == 3  # one row group per streamed chunk
    csv = pd.read_csv(io.BytesIO(_gen(client, rows, seed=3).content))
    other = (
        pd.read_json(io.BytesIO(resp.content), lines=True)
        if fmt == "jsonl"
        else pd.read_parquet(io.BytesIO(resp.content))
    )
    assert csv["age"].tolist() == other["age"].tolist()


def test_conditions(client):
    resp = _gen(client, 200, conditions={"income": ">50K", "sex": "Female"}, seed=1)
    assert resp.status_code == 200, resp.text
    frame = pd.read_csv(io.BytesIO(resp.content))
    assert len(frame) == 200
    assert (frame["income"] == ">50K").all() and (frame["sex"] == "Female").all()
    resp = _gen(client, 50, conditions={"education-num": 9}, seed=1)  # JSON number, integer col
    assert (
        resp.status_code == 200
        and (pd.read_csv(io.BytesIO(resp.content))["education-num"] == 9).all()
    )


@pytest.mark.parametrize(
    "conditions,named",
    [
        ({"income": "rich"}, "'rich'"),
        ({"nope": "x"}, "'nope'"),
        ({"age": 200}, "range"),
        ({"age": "old"}, "not a number"),
        ({"income": True}, "'True'"),
    ],
)
def test_bad_conditions_are_422_naming_the_problem(client, conditions, named):
    detail = _error(_gen(client, 10, conditions=conditions), 422, "usage_error")
    assert named in detail and "--condition" not in detail


@pytest.mark.parametrize(
    "body,field",
    [
        ({"rows": 0}, "rows"),
        ({"rows": "ten"}, "rows"),
        ({"rows": 5, "seed": -1}, "seed"),
        ({"rows": 5, "format": "xlsx"}, "format"),
        ({"rows": 5, "colour": 1}, "colour"),
        ({"rows": 5, "conditions": {"income": None}}, "conditions"),
        ({}, "rows"),
    ],
)
def test_bad_request_bodies_are_422(client, body, field):
    resp = client.post("/models/census/generate", json=body)
    detail = _error(resp, 422, "invalid_request")
    assert field in detail


def test_not_json_is_422(client):
    resp = client.post(
        "/models/census/generate", content=b"{rows: 5", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 422


def test_generator_and_detector_names_are_not_interchangeable(client):
    assert "/detectors/census-det/score" in _error(
        client.post("/models/census-det/generate", json={"rows": 5}), 422, "wrong_model_kind"
    )
    assert "generate" in _error(
        client.post(
            "/detectors/census/score", content=b"a\n1\n", headers={"content-type": "text/csv"}
        ),
        422,
        "wrong_model_kind",
    )


# --- limits --------------------------------------------------------------------------------------
def test_row_limit(client, limits):
    detail = _error(_gen(client, limits.max_rows + 1), 422)
    assert str(limits.max_rows) in detail and "--max-rows" in detail
    assert _gen(client, limits.max_rows).status_code == 200


def test_body_limits(client):
    huge = {"rows": 5, "conditions": {f"c{i}": "x" * 50 for i in range(200)}}
    assert "request bodies" in _error(client.post("/models/census/generate", json=huge), 413)

    def chunks():  # no Content-Length: counted while it streams in
        yield b'{"rows": 5, "conditions": {"a": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}}'

    resp = client.post(
        "/models/census/generate", content=chunks(), headers={"content-type": "application/json"}
    )
    _error(resp, 413, "body_too_large")
    upload = b"age\n" + b"1\n" * 400_000
    detail = _error(
        client.post(
            "/detectors/census-det/score", content=upload, headers={"content-type": "text/csv"}
        ),
        413,
    )
    assert "--max-upload-mb" in detail


def test_concurrency_limit_gives_429_then_recovers(app, client, limits):
    slots = app.state.slots
    taken = [slots.try_acquire() for _ in range(limits.max_concurrent)]
    try:
        assert all(taken)
        resp = _gen(client, 5)
        assert "--max-concurrent" in _error(resp, 429, "too_many_requests")
        assert resp.headers["retry-after"] == "1"
    finally:
        for _ in taken:
            slots.release()
    assert _gen(client, 5).status_code == 200
    assert slots.in_use == 0


# --- scoring -------------------------------------------------------------------------------------
def test_score_csv_jsonl_parquet(client, census, models_dir):
    from synthgen.tabular.anomaly.detector import AnomalyDetector

    _, df = census
    sample = df.iloc[:60].copy()
    sample.loc[0, "age"] = 90
    sample.loc[0, "capital-gain"] = 99999
    sample["note"] = "extra column kept"
    expected = AnomalyDetector.load(models_dir / "census-det.synth", device="cpu").score(sample)
    bodies = {
        "text/csv": sample.to_csv(index=False).encode(),
        "application/x-ndjson": sample.to_json(orient="records", lines=True).encode(),
        "application/vnd.apache.parquet": sample.to_parquet(index=False),
    }
    for ctype, body in bodies.items():
        resp = client.post(
            "/detectors/census-det/score",
            content=body,
            headers={"content-type": ctype},
            params={"format": "csv"},
        )
        assert resp.status_code == 200, resp.text
        scored = pd.read_csv(io.BytesIO(resp.content))
        assert len(scored) == 60 and scored["note"].eq("extra column kept").all()
        assert scored["anomaly_score"].round(6).tolist() == (
            expected["anomaly_score"].round(6).tolist()
        )
        assert scored["is_anomaly"].sum() == int(resp.headers["x-synthgen-flagged"])
        assert scored["anomaly_score"].idxmax() == 0
    resp = client.post(
        "/detectors/census-det/score",
        content=bodies["text/csv"],
        headers={"content-type": "text/csv"},
        params={"threshold": 0.0},
    )
    assert pd.read_csv(io.BytesIO(resp.content))["is_anomaly"].all()


def test_score_bad_input(client):
    url = "/detectors/census-det/score"
    csv = {"content-type": "text/csv"}
    assert "'age'" in _error(client.post(url, content=b"a,b\n1,2\n", headers=csv), 422)
    assert "empty" in _error(client.post(url, content=b"", headers=csv), 422)
    _error(client.post(url, content=b"age\n1\n", headers={"content-type": "image/png"}), 415)
    _error(client.post(url, content=b"PAR1garbage", headers={"content-type": "text/plain"}), 422)
    _error(client.post(url, content=b"\x00\xff\xfe", headers=csv), 422)
    resp = client.post(
        url, content=b"age\n1\n", headers=csv, params={"contamination": 0.1, "threshold": 1.0}
    )
    assert "not both" in _error(resp, 422)
    _error(client.post(url, content=b"age\n1\n", headers=csv, params={"contamination": 2}), 422)
    detail = client.post(url, content=b"a\n1\n", headers=csv).json()["detail"]
    assert detail.startswith("The uploaded data") and "synthgen-score" not in detail
