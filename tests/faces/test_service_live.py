"""The HTTP service live: a schemathesis run over the OpenAPI spec, one real uvicorn process,
and the API docs pages rendered offline in a headless browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import httpx
import pytest
from live_server import serve_process

from synthgen.service import Limits, create_app


# --- property-based: no 5xx anywhere in the spec ------------------------------------------------
def test_openapi_fuzz_finds_no_server_errors(models_dir):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis.checks import not_a_server_error

    app = create_app(
        models_dir, limits=Limits(max_rows=40, chunk_rows=16, max_json_kb=8), device="cpu"
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    calls: dict[int, int] = {}
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()

        strategy = operation.as_strategy()
        real = "census-det" if "detectors" in operation.path else "census"
        if "{name}" in operation.path:  # half the cases use a real model name
            strategy = st.one_of(strategy, strategy.map(partial(_with_name, real)))

        @given(case=strategy)
        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case):
            resp = case.call_and_validate(checks=[not_a_server_error])
            calls[resp.status_code] = calls.get(resp.status_code, 0) + 1

        try:
            check()
        except Exception as err:  # noqa: BLE001 - collected and shown below
            failures.append(f"{operation.label}: {err}")
    assert not failures, "\n".join(failures)
    assert sum(calls.values()) >= 40 and 200 in calls and 422 in calls, calls
    assert time.monotonic() - started < 60


def _with_name(name, case):
    case.path_parameters = {**(case.path_parameters or {}), "name": name}
    return case


# --- a real uvicorn process ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(models_dir):
    """``synthgen serve`` on 127.0.0.1, a free port; stopped in teardown (bounded waits)."""
    args = [str(models_dir), "--host", "127.0.0.1", "--port", "0", "--max-rows", "5000000"]
    args += ["--max-concurrent", "3", "--chunk-rows", "1000", "--device", "cpu"]
    args += ["--log-level", "warning"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with serve_process(args, env) as (proc, url), httpx.Client(base_url=url, timeout=30) as http:
        deadline = time.monotonic() + 60
        while http.get("/health").status_code != 200:  # pragma: no cover - already up
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield http
    proc.stderr.close()  # the server has stopped


def test_real_server_concurrent_requests_are_deterministic(server):
    def ask(seed):
        resp = server.post("/models/census/generate", json={"rows": 3000, "seed": seed})
        assert resp.status_code == 200, resp.text
        return resp.content

    with ThreadPoolExecutor(6) as pool:
        parallel = list(pool.map(ask, [1, 2, 3, 1, 2, 3]))
    assert parallel[0] == parallel[3] and parallel[1] == parallel[4]
    assert parallel[0] != parallel[1]
    assert ask(2) == parallel[1]  # concurrency does not change the bytes
    assert all(len(p.splitlines()) == 3001 for p in parallel)


def test_real_server_stops_generating_when_the_client_leaves(server):
    rows = 4_000_000  # many minutes of work on this machine if it were not stopped
    with server.stream("POST", "/models/census/generate", json={"rows": rows}) as resp:
        assert resp.status_code == 200
        got = 0
        # the iterator is kept: a dropped one is closed at once, and httpx then closes the
        # connection (the client would leave before the check below)
        blocks = resp.iter_bytes()
        for block in blocks:
            got += len(block)
            if got > 300_000:
                break
        assert server.get("/health").json()["active_generations"] == 1
        del blocks
    # leaving the with-block closed the connection midway
    deadline = time.monotonic() + 20
    while server.get("/health").json()["active_generations"] != 0:
        assert time.monotonic() < deadline, "generation kept running after the client left"
        time.sleep(0.1)
    resp = server.post("/models/census/generate", json={"rows": 10})
    assert resp.status_code == 200 and len(resp.text.splitlines()) == 11


# --- the API docs, offline, in a real browser -----------------------------------------------------
def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.parametrize(("page", "rendered"), [("/docs", "opblock"), ("/redoc", "api-content")])
def test_docs_pages_render_offline_in_a_headless_browser(server, tmp_path, page, rendered):
    html = server.get(page).text
    assert not re.findall(r"(?:src|href)=[\"']https?://", html)  # nothing from a CDN
    browser = _chromium()
    if browser is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=15000",
        "--dump-dom",
    ]
    url = f"{server.base_url}{page}"
    out = subprocess.run([browser, *flags, url], capture_output=True, text=True, timeout=120).stdout
    assert rendered in out, out[-2000:]
    assert "/models/{name}/generate" in out  # the operations came from /openapi.json
