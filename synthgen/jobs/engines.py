"""Where shard tasks run: ``local`` (processes on this machine) or ``ray`` (one Ray task per
shard, on the cluster at ``--ray-address``/``RAY_ADDRESS``, else on a local Ray started for the
run). Ray is optional (``synthgen[ray]``); it is imported only here and in ``ray_data``.

Nothing reaches out to the network: Ray's usage statistics are off and a local Ray listens on
127.0.0.1 only, without its dashboard; its logs do not reach the terminal.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import socket
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from synthgen.errors import GenerationError, SynthgenError, UsageError, param
from synthgen.jobs.shard_task import quiet_worker, write_shard

ENGINES = ("local", "ray")
RAY_EXTRA = "pip install 'synthgen[ray]'"
_QUIET_RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",  # no usage statistics sent anywhere
    "RAY_USAGE_STATS_PROMPT_ENABLED": "0",
    "RAY_DISABLE_DOCKER_CPU_WARNING": "1",
    "RAY_DEDUP_LOGS": "0",
    "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
    "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0",
    "RAY_TRAIN_V2_ENABLED": "0",
}


def check_engine(engine: str, ray_address: str | None) -> None:
    """Refuse an unknown engine, an address without ``ray``, and ``ray`` without Ray."""
    if engine not in ENGINES:
        raise UsageError(f"{param('engine')} must be local or ray, not {engine!r}.", param="engine")
    if ray_address and engine != "ray":
        raise UsageError(
            f"{param('ray_address')} applies to {param('engine')} ray only.",
            param="ray_address",
        )
    if engine == "ray":
        import_ray()
        address = ray_address or os.environ.get("RAY_ADDRESS")
        if address:
            _reachable(address)


def import_ray() -> Any:
    """The ``ray`` module, or a UsageError naming the extra to install."""
    for key, value in _QUIET_RAY_ENV.items():
        os.environ.setdefault(key, value)
    try:
        import ray
    except ImportError:
        raise UsageError(
            f"{param('engine')} ray needs Ray, which is not installed here. Install the extra: "
            f"{RAY_EXTRA}",
            param="engine",
        ) from None
    return ray


def _reachable(address: str) -> None:
    """Refuse, quickly and clearly, a ``host:port`` address nothing listens on."""
    if address == "auto" or "://" in address and not address.startswith("ray://"):
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(
            f"{param('ray_address')} {address!r} is not HOST:PORT (or ray://HOST:PORT, or auto).",
            param="ray_address",
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
            pass
    except OSError as err:
        raise UsageError(
            f"No Ray cluster answers at {param('ray_address')} {address} "
            f"({err.strerror or type(err).__name__}). Check the address and that the cluster "
            "is up, or leave the address out to run on a local Ray.",
            param="ray_address",
        ) from None


@contextlib.contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray, connected for the block: an already initialised Ray is used as it is; else the
    cluster at ``address`` (or ``RAY_ADDRESS``); else a local Ray started for the block and
    shut down after it."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    logging.getLogger("ray").setLevel(logging.ERROR)
    options: dict[str, Any] = {
        "log_to_driver": False,
        "logging_level": logging.ERROR,
        "include_dashboard": False,
        "configure_logging": True,
    }
    if address:
        _reachable(address)
        options.pop("include_dashboard")
        start = {"address": address, **options}
    else:
        cpus = num_cpus or os.cpu_count() or 1
        start = {"address": "local", "num_cpus": cpus, "_node_ip_address": "127.0.0.1"}
        start.update(options)
    try:
        ray.init(**start)
    except Exception as err:  # Ray's own errors vary by version: worded, not a traceback
        where = f"at {address}" if address else "on this machine"
        raise GenerationError(f"Ray could not be started {where}: {_first_line(err)}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def run_local(
    tasks: list[dict[str, Any]], workers: int | None, done: Callable[[dict], None]
) -> list[dict[str, Any]]:
    """Run shard tasks in up to ``workers`` spawned processes (one thread each); ``done`` is
    called with each result as it comes. A shard that fails stops the run (finished shards are
    kept for a re-run to resume)."""
    count = max(1, min(len(tasks), workers or os.cpu_count() or 1))
    results = []
    if count == 1:  # nothing to run beside it: here, without a process to start
        for task in tasks:
            result = write_shard(task)
            results.append(result)
            done(result)
        return results
    pool = ProcessPoolExecutor(
        count,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=quiet_worker,
    )
    try:
        running = {pool.submit(write_shard, task) for task in tasks}
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                result = future.result()
                results.append(result)
                done(result)
    except BrokenProcessPool:
        _stop(pool)
        raise GenerationError(
            "A worker process ended abruptly (killed, or out of memory); the shards it had "
            "finished are kept. Run the same command again to resume."
        ) from None
    except BaseException:  # a failed shard, Ctrl-C, SIGTERM: the others stop now
        _stop(pool)
        raise
    pool.shutdown(wait=True)
    return results


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the running workers (their temp files are
    removed by the caller)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(timeout=10)


def run_ray(
    tasks: list[dict[str, Any]],
    address: str | None,
    workers: int | None,
    done: Callable[[dict], None],
) -> list[dict[str, Any]]:
    """One Ray task per shard (retried by Ray when its worker dies)."""
    with ray_session(address, num_cpus=workers) as ray, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library's notices, not the user's business
        remote = ray.remote(num_cpus=1, max_retries=3)(write_shard)
        pending = [remote.remote(task) for task in tasks]
        results = []
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                result = _ray_get(ray, ready[0])
                results.append(result)
                done(result)
        finally:
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
        return results


def _ray_get(ray: Any, ref: Any) -> Any:
    """``ray.get``, with a task's SynthgenError raised as itself, not wrapped in Ray's."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        cause = getattr(err, "cause", None)
        if isinstance(cause, SynthgenError) and type(cause).__module__.startswith("synthgen"):
            raise cause from None
        raise GenerationError(
            f"A Ray task failed: {_first_line(cause or err)}. The shards already written are "
            "kept; run the same command again to resume."
        ) from None
    except ray.exceptions.RayError as err:
        raise GenerationError(
            f"Ray lost a task ({type(err).__name__}); the shards already written are kept. Run "
            "the same command again to resume."
        ) from None
