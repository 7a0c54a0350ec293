"""The service under a hostile network and hostile files: slowloris, oversized and slow uploads
against a real `synthgen serve` on 127.0.0.1, malformed uploads and broken model files."""

from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import socket
import threading
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import serve_process

from synthgen.service import Limits, create_app

NOFILE = 512  # the server's open-file limit: its connection cap is 512 - 192 = 320
UPLOAD_MB = 8
HEADER_SECONDS = 1.0
UPLOAD_SECONDS = 2.0
QUEUE_SECONDS = 1.5


# --- a real server ---------------------------------------------------------------------------
def _rss_mib(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(key)


@pytest.fixture(scope="module")
def real(models_dir, tmp_path_factory):
    """`synthgen serve` with tight limits, a low open-file limit and its own TMPDIR."""
    tmp = tmp_path_factory.mktemp("server-tmp")
    args = [
        str(models_dir),
        "--port",
        "0",
        "--max-concurrent",
        "1",
        "--queue-seconds",
        str(QUEUE_SECONDS),
        "--max-upload-mb",
        str(UPLOAD_MB),
        "--header-seconds",
        str(HEADER_SECONDS),
        "--upload-seconds",
        str(UPLOAD_SECONDS),
        "--device",
        "cpu",
        "--log-level",
        "error",
    ]

    def low_fd_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))

    env = {**os.environ, "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp)}
    with serve_process(args, env, preexec_fn=low_fd_limit) as (proc, url):
        drain = threading.Thread(target=proc.stderr.read, daemon=True)  # never blocks on logs
        drain.start()
        yield proc, int(url.rsplit(":", 1)[1]), tmp


def _health(port: int, timeout: float = 2.0) -> float:
    started = time.monotonic()
    resp = httpx.get(f"http://127.0.0.1:{port}/health", timeout=timeout)
    assert resp.status_code == 200 and resp.json()["status"] == "ok"
    return time.monotonic() - started


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready) and sock.recv(4096) == b""
    except OSError:
        return True


def test_idle_half_open_connections_do_not_starve_health(real):
    """More half-open sockets than the server may hold files: /health still answers at once
    (the longest-waiting ones are closed to make room)."""
    proc, port, _ = real
    socks = []
    try:
        for _ in range(400):
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(b"GET /models HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # headers never end
            socks.append(s)
        for _ in range(3):
            assert _health(port) < 1.5
        time.sleep(0.2)  # let the evictions land
        assert sum(_closed_by_server(s) for s in socks) >= 400 - 320
    finally:
        for s in socks:
            s.close()
    assert proc.poll() is None


def test_header_deadline_closes_trickling_and_kept_alive_connections(real):
    _, port, _ = real
    trickling = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(20)]
    kept = socket.create_connection(("127.0.0.1", port), timeout=2)
    kept.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert kept.recv(4096).startswith(b"HTTP/1.1 200")
    trickling.append(kept)  # its next request trickles in too
    started = time.monotonic()
    request = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 100
    open_ = dict.fromkeys(trickling, 0)
    try:
        while open_ and time.monotonic() - started < HEADER_SECONDS + 3:
            for s, sent in list(open_.items()):
                try:
                    s.send(request[sent : sent + 1])  # one byte at a time, every 50 ms
                    open_[s] = sent + 1
                except OSError:
                    del open_[s]
                    continue
                if _closed_by_server(s):
                    del open_[s]
            time.sleep(0.05)
        assert not open_, f"{len(open_)} trickling connection(s) outlived the header deadline"
        assert time.monotonic() - started >= HEADER_SECONDS * 0.9
    finally:
        for s in trickling:
            s.close()
    _health(port)


def _upload(port: int, body_size: int, *, chunked: bool, results: list, block=b"age\n") -> None:
    """POST a CSV upload of ``body_size`` bytes; record the status (or 'reset')."""
    head = b"POST /detectors/census-det/score HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
    head += (
        b"Transfer-Encoding: chunked\r\n\r\n"
        if chunked
        else b"Content-Length: %d\r\n\r\n" % (body_size)
    )
    piece = (block * (65536 // len(block)))[:65536]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(head)
            sent = 0
            while sent < body_size:
                if select.select([s], [], [], 0)[0]:  # answered early (413): stop sending
                    break
                s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked and sent >= body_size:
                s.sendall(b"0\r\n\r\n")
            results.append(_status(s))
    except OSError:
        results.append("reset")


def _status(s: socket.socket) -> int | str:
    data = b""
    while b"\r\n" not in data:
        more = s.recv(4096)
        if not more:
            return "reset"
        data += more
    return int(data.split(b" ", 2)[1])


def _no_temp_files(tmp: Path) -> None:
    deadline = time.monotonic() + 5
    while list(tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(tmp.iterdir()), list(tmp.iterdir())


def test_uploads_wait_for_a_slot_before_their_bodies_are_read(real):
    """While the one slot is held (by a client that never finishes its upload), six 7.5 MiB
    uploads wait unread: the server's memory does not grow by their size. The slow client
    gets 408 once its upload time is spent."""
    proc, port, tmp = real
    before = _rss_mib(proc.pid, "VmHWM")
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    slow.sendall(
        b"POST /detectors/census-det/score HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        b"Content-Length: 100000\r\n\r\nage\n37\n"
    )
    time.sleep(0.3)  # it holds the slot now
    results: list = []
    threads = [
        threading.Thread(
            target=_upload, args=(port, 7_500_000), kwargs={"chunked": False, "results": results}
        )
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    answer = b""
    while chunk := slow.recv(65536):  # the server closes after its 408
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408") and b"Traceback" not in answer
    assert json.loads(body)["error"] == "request_timeout"
    slow.close()
    grown = _rss_mib(proc.pid, "VmHWM") - before
    assert grown < 20, f"peak RSS grew by {grown:.0f} MiB while 45 MiB of uploads waited"
    assert len(results) == 6 and set(results) <= {429, "reset"}, results
    _health(port)
    _no_temp_files(tmp)


def test_oversized_uploads_are_413_with_bounded_memory(real):
    proc, port, tmp = real
    before = _rss_mib(proc.pid, "VmHWM")
    results: list = []
    size = 3 * UPLOAD_MB * 1024 * 1024
    threads = [
        threading.Thread(
            target=_upload, args=(port, size), kwargs={"chunked": i % 2 == 0, "results": results}
        )
        for i in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    grown = _rss_mib(proc.pid, "VmHWM") - before
    assert grown < 2 * UPLOAD_MB, f"peak RSS grew by {grown:.0f} MiB"
    assert len(results) == 6 and set(results) <= {413, 429, "reset"} and 413 in results, results
    resp = httpx.post(
        f"http://127.0.0.1:{port}/detectors/census-det/score",
        content=b"x" * (UPLOAD_MB * 1024 * 1024 + 1),
        headers={"content-type": "text/csv"},
    )
    assert resp.status_code == 413 and "--max-upload-mb" in resp.json()["detail"]
    _health(port)
    _no_temp_files(tmp)


def test_sigterm_stops_the_server_under_a_slowloris_flood(real):
    """Runs last among the real-server tests: it stops the server. Before the connection cap,
    a flood past the open-file limit left the server deaf to SIGTERM as well."""
    proc, port, tmp = real
    socks = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(400)]
    try:
        for s in socks:
            s.sendall(b"GET / HTTP/1.1\r\n")
        _health(port)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        assert time.monotonic() - started < 10
    finally:
        for s in socks:
            s.close()
    _no_temp_files(tmp)


# --- malformed uploads (in process) -------------------------------------------------------------
@pytest.fixture(scope="module")
def client(models_dir):
    limits = Limits(max_upload_mb=1, upload_seconds=5)
    with TestClient(create_app(models_dir, limits=limits, device="cpu")) as c:
        yield c


ND = "application/x-ndjson"
CSV = "text/csv"
PQ = "application/vnd.apache.parquet"
HOSTILE_UPLOADS = [
    (ND, b'{"age": {"a": 1}}\n', 422),
    (ND, b'{"age": [1, 2]}\n', 422),
    (ND, b'{"age": 37, "workclass": {"x": [1]}}\n', 422),
    (ND, b"[1, 2, 3]\n", 422),
    (ND, b'"just a string"\n', 422),
    (ND, b"[" * 100_000 + b"\n", 422),
    (ND, b'{"age":' * 5000 + b"1" + b"}" * 5000 + b"\n", 422),
    (ND, b'{"age": 1e999}\n', 422),
    (ND, b'{"age": NaN}\n', 422),
    (ND, b'{"age": 37\n', 422),
    (ND, b"\n\n\n", 422),
    (ND, b"\xff\xfe\x00\x00garbage\n", 422),
    (CSV, b"age\n\xff\xfe\n", 422),
    (CSV, b"\x00\x01\x02\x03" * 100, 422),
    (CSV, b'age\n"unterminated\n', 422),
    (CSV, b"age,age\n1,2\n", 422),
    (CSV, b",".join(b"c%d" % i for i in range(20_000)) + b"\n", 422),
    (CSV, b"age\n" + b"9" * 500_000 + b"\n", 422),
    (PQ, b"PAR1\x00\x00\x00\x00PAR1", 422),
    (PQ, b"PAR1" + b"\x00" * 1000, 422),
    ("text/plain", b"PAR1garbage", 422),
    ("image/png", b"\x89PNG\r\n", 415),
    ("", b"age\n37\n", 415),
]


def _clean_error(resp, status):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) >= {"error", "detail"} and body["detail"].strip()
    assert "Traceback" not in resp.text and "/tmp" not in resp.text
    assert "synthgen-upload" not in resp.text
    return body["detail"]


@pytest.mark.parametrize(("ctype", "body", "status"), HOSTILE_UPLOADS)
def test_malformed_uploads_are_4xx_json_without_temp_files(
    client, tmp_path, monkeypatch, ctype, body, status
):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    headers = {"content-type": ctype} if ctype else {}
    detail = _clean_error(
        client.post("/detectors/census-det/score", content=body, headers=headers), status
    )
    if status == 422:
        assert detail.startswith("The uploaded data") or "request body" in detail
    assert not list(tmp_path.iterdir())


def test_upload_headers_refused_before_a_slot(client):
    url = "/detectors/census-det/score"
    detail = _clean_error(
        client.post(url, content=b"x", headers={"content-type": CSV, "content-encoding": "gzip"}),
        415,
    )
    assert "gzip" in detail
    _clean_error(client.post(url, content=b"", headers={"content-type": CSV}), 422)
    assert client.app.state.slots.in_use == 0


# --- broken model files ---------------------------------------------------------------------------
def _rewrite_manifest(src: Path, dst: Path, edit) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "manifest.json":
                data = edit(data)
            zout.writestr(item, data)


def _deep(n: int) -> bytes:
    return b'{"a":' * n + b"1" + b"}" * n


@pytest.fixture
def broken_folder(models_dir, tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    good = models_dir / "census.synth"
    shutil.copy(good, folder / "good.synth")
    _rewrite_manifest(good, folder / "deep.synth", lambda _: _deep(100_000))
    _rewrite_manifest(good, folder / "deep-list.synth", lambda _: b"[" * 100_000)

    def deep_training(data):
        manifest = json.loads(data)
        return json.dumps(manifest)[:-1].encode() + b', "training": ' + _deep(600) + b"}"

    _rewrite_manifest(good, folder / "deep-training.synth", deep_training)

    def tampered(data):
        manifest = json.loads(data)
        manifest["training"] = {**manifest.get("training", {}), "note": "changed"}
        return json.dumps(manifest).encode()

    _rewrite_manifest(good, folder / "tampered.synth", tampered)
    _rewrite_manifest(
        good, folder / "kind-int.synth", lambda d: d.replace(b'"kind"', b'"kind": 5, "x"', 1)
    )
    (folder / "empty.synth").write_bytes(b"")
    (folder / "truncated.synth").write_bytes(good.read_bytes()[:5000])
    (folder / "dir.synth").mkdir()
    return folder


def test_one_broken_model_file_does_not_break_the_listing(broken_folder):
    app = create_app(broken_folder, device="cpu")
    with TestClient(app) as c:
        resp = c.get("/models")
        assert resp.status_code == 200, resp.text
        listed = {m["name"]: m for m in resp.json()["models"]}
        assert listed["good"]["kind"] == "table-vae"
        for name in ("deep", "deep-list", "kind-int", "empty", "truncated"):
            assert listed[name]["status"] == "broken" and listed[name]["error"], name
        assert "nested" in listed["deep"]["error"]
        assert str(broken_folder) not in resp.text and "Traceback" not in resp.text
        # training nested 600 deep: the loader refuses it like any manifest nested too deep
        assert listed["deep-training"]["status"] == "broken"
        assert "nested" in listed["deep-training"]["error"]
        assert _clean_error(c.get("/models/deep"), 500).startswith("Model file 'deep'")
        assert _clean_error(c.get("/models/deep-training"), 500).startswith("Model file")
        assert c.get("/health").status_code == 200


def test_a_failed_load_is_cached_per_file_version(broken_folder):
    app = create_app(broken_folder, device="cpu")
    registry = app.state.registry
    calls = []
    real_load = registry._load

    def counting(path, want):
        calls.append(path.name)
        return real_load(path, want)

    registry._load = counting
    with TestClient(app) as c:
        for _ in range(3):
            resp = c.post("/models/tampered/generate", json={"rows": 3})
            detail = _clean_error(resp, 500)
            assert "'tampered'" in detail and str(broken_folder) not in detail
        assert calls == ["tampered.synth"]
        path = broken_folder / "tampered.synth"
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
        _clean_error(c.post("/models/tampered/generate", json={"rows": 3}), 500)
        assert calls == ["tampered.synth"] * 2  # a changed file is tried again
        assert c.get("/health").json()["models_loaded"] == 0
        assert c.post("/models/good/generate", json={"rows": 3}).status_code == 200
