"""Load run of ``synthgen serve`` on loopback, compared with ``synthgen generate``.

    python benchmarks/service.py [--model M.synth] [--clients 20] [--duration 60] [--rows 10000]

Starts ``synthgen serve`` on 127.0.0.1 (a free port), runs ``--clients`` threads that each ask
for ``--rows``-row CSV generations back to back for ``--duration`` seconds (every loop bounded in
time and count), checks every response (status 200, exactly ``--rows`` rows), samples the
server's RSS, stops the server, then times the CLI on the same model. Writes a markdown table to
benchmarks/results/service.md. Never contacts anything but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from synthgen.cli.main import main; main()"]
MAX_REQUESTS_PER_CLIENT = 10_000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fit_model(out: Path, epochs: int) -> Path:
    data = REPO / "synthgen" / "data"
    cmd = [*CLI, "fit", str(data / "census.csv"), "--schema", str(data / "census.yaml")]
    cmd += ["--epochs", str(epochs), "-o", str(out), "-q", "--device", "cpu"]
    subprocess.run(cmd, check=True, timeout=1800)
    return out


def start_server(models: Path, args) -> tuple[subprocess.Popen, str]:
    cmd = [*CLI, "serve", str(models), "--host", "127.0.0.1", "--port", "0"]
    cmd += ["--max-concurrent", str(args.max_concurrent), "--chunk-rows", str(args.chunk_rows)]
    cmd += ["--queue-seconds", str(args.queue_seconds)]
    cmd += ["--device", "cpu", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", proc.stderr.readline())
        if found:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining
            return proc, found.group(1)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def client_loop(url: str, name: str, args, deadline: float, seed0: int, out: list, lock) -> None:
    body = {"rows": args.rows, "format": "csv"}
    with httpx.Client(base_url=url, timeout=args.request_timeout) as http:
        for i in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() >= deadline:
                return
            started = time.perf_counter()
            status, rows, error = 0, 0, None
            try:
                with http.stream(
                    "POST", f"/models/{name}/generate", json={**body, "seed": seed0 + i}
                ) as resp:
                    status = resp.status_code
                    lines = 0
                    for block in resp.iter_bytes():
                        lines += block.count(b"\n")
                    rows = lines - 1
            except httpx.HTTPError as err:
                error = type(err).__name__
            elapsed = time.perf_counter() - started
            ok = status == 200 and rows == args.rows and error is None
            with lock:
                out.append((elapsed, rows if ok else 0, ok, status, error, time.monotonic()))


def cli_rows_per_s(model: Path, rows: int) -> dict[str, tuple[float, float]]:
    """rows/s of ``synthgen generate`` end to end (process start-up and the default output
    validation included), and of its API in-process with and without that validation."""
    import torch

    from synthgen.jobs.generate import generate_to_file

    torch.set_num_threads(2)
    out: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "cli.csv"
        cmd = [*CLI, "generate", str(model), "--rows", str(rows), "-o", str(target)]
        cmd += ["--seed", "1", "-q", "--device", "cpu", "--overwrite"]
        started = time.perf_counter()
        subprocess.run(cmd, check=True, timeout=1800, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        out["cli"] = (rows / wall, wall)
        for key, validate in (("api_validated", True), ("api_raw", False)):
            started = time.perf_counter()
            generate_to_file(
                model,
                rows,
                target,
                seed=1,
                device="cpu",
                overwrite=True,
                progress=False,
                validate=validate,
            )
            wall = time.perf_counter() - started
            out[key] = (rows / wall, wall)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="a table .synth model [default: fit one]")
    ap.add_argument("--epochs", type=int, default=5, help="epochs when fitting the model")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    ap.add_argument("--rows", type=int, default=10_000, help="rows per request")
    ap.add_argument("--max-concurrent", type=int, default=4)
    ap.add_argument("--queue-seconds", type=float, default=60.0)
    ap.add_argument("--chunk-rows", type=int, default=10_000)
    ap.add_argument("--request-timeout", type=float, default=600.0)
    ap.add_argument("--cli-rows", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "service.md")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="synthgen-bench-") as tmp:
        models = Path(tmp)
        model = models / "bench.synth"
        if args.model:
            model.write_bytes(args.model.read_bytes())
        else:
            fit_model(model, args.epochs)
        proc, url = start_server(models, args)
        try:
            with httpx.Client(base_url=url, timeout=args.request_timeout) as http:
                warm = http.post("/models/bench/generate", json={"rows": 100})
                assert warm.status_code == 200, warm.text
            rss = {"idle": rss_mb(proc.pid)}
            results: list = []
            lock = threading.Lock()
            t0 = time.monotonic()
            deadline = t0 + args.duration
            threads = [
                threading.Thread(
                    target=client_loop,
                    args=(url, "bench", args, deadline, 1000 * k, results, lock),
                    daemon=True,
                )
                for k in range(args.clients)
            ]
            for t in threads:
                t.start()
            time.sleep(args.duration * 0.1)
            rss["early"] = rss_mb(proc.pid)
            time.sleep(args.duration * 0.4)
            rss["middle"] = rss_mb(proc.pid)
            rss_peak = rss["middle"]
            # the last requests started before the deadline finish after it: bounded wait
            hard_stop = deadline + args.request_timeout
            for t in threads:
                while t.is_alive() and time.monotonic() < hard_stop:
                    t.join(timeout=1.0)
                    rss_peak = max(rss_peak, rss_mb(proc.pid))
            wall = time.monotonic() - t0
            rss["end"] = rss_mb(proc.pid)
            still = sum(t.is_alive() for t in threads)
        finally:
            stop(proc)
        cli = cli_rows_per_s(model, args.cli_rows)

    n = len(results)
    ok = [r for r in results if r[2]]
    errors = n - len(ok) + still
    total_rows = sum(r[1] for r in ok)
    lat = sorted(r[0] for r in ok)
    p50 = statistics.median(lat) if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))] if lat else float("nan")
    served = total_rows / wall if wall else 0.0
    kinds = sorted({f"{r[3]}/{r[4]}" for r in results if not r[2]})
    table = [
        "# Service load run (`benchmarks/service.py`)",
        "",
        f"Machine: {platform.machine()} CPU, 2 cores, SHARED with other busy processes "
        "(figures are noisy; compare ratios, not absolutes). Loopback only (127.0.0.1).",
        f"Model: census VAE ({'given' if args.model else f'{args.epochs} epochs'}); "
        f"{args.clients} clients x {args.rows}-row CSV requests for {args.duration:g} s; "
        f"server --max-concurrent {args.max_concurrent}, --chunk-rows {args.chunk_rows}.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| requests completed | {len(ok)} |",
        f"| errors (non-200, short or failed responses) | {errors}"
        + (f" ({', '.join(kinds)})" if kinds else "")
        + " |",
        f"| wall time incl. drain | {wall:.1f} s |",
        f"| served throughput | {served:,.0f} rows/s |",
        f"| latency p50 / p99 | {p50:.2f} s / {p99:.2f} s |",
        f"| server RSS idle / at 10 % / 50 % / end of load (peak) | {rss['idle']:.0f} / "
        f"{rss['early']:.0f} / {rss['middle']:.0f} / {rss['end']:.0f} ({rss_peak:.0f}) MiB |",
        f"| CLI `synthgen generate` end to end ({args.cli_rows:,} rows, CSV; start-up and "
        f"default output validation included) | {cli['cli'][0]:,.0f} rows/s "
        f"({cli['cli'][1]:.1f} s) |",
        f"| same, in-process `generate_to_file` (validation on) | "
        f"{cli['api_validated'][0]:,.0f} rows/s |",
        f"| same, in-process, validation off (the service's path) | "
        f"{cli['api_raw'][0]:,.0f} rows/s |",
        f"| served / CLI end to end | {served / cli['cli'][0]:.0%} (target >= 80 %) |",
        f"| served / in-process without validation (strictest) | "
        f"{served / cli['api_raw'][0]:.0%} |",
        "",
        f"Latency includes waiting in line: {args.clients} clients share "
        f"{args.max_concurrent} generation slots (first come, first served).",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(table))
    print("\n".join(table))


if __name__ == "__main__":
    main()
