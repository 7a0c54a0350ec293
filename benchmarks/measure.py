"""One ``synthgen`` command measured in a fresh process: wall seconds, CPU seconds and the
peak RSS of its process tree.

A small Python process runs the command and reads ``RUSAGE_CHILDREN`` after it: so the CPU
time is the command's tree alone and the peak RSS is its largest process, never a process
that the benchmark ran earlier (which a ``ru_maxrss`` read in the benchmark itself would be).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

_MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "subprocess.run(sys.argv[1:], check=True); w = time.perf_counter() - t; "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(w, u.ru_utime + u.ru_stime, u.ru_maxrss / 1024)"
)


@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


def synthgen_measured(args: list[str], *, cwd: Path, env: dict | None = None) -> Measured:
    """``synthgen ARGS --quiet`` in a fresh process (``cwd``, ``env``), measured."""
    cmd = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "synthgen", *args, "--quiet"]
    out = subprocess.run(cmd, check=True, cwd=cwd, capture_output=True, text=True, env=env)
    wall, cpu, rss = out.stdout.split()[-3:]
    return Measured(float(wall), float(cpu), float(rss))


def machine() -> str:
    """This machine in words: architecture, cores, CPU model, memory, GPU (if torch sees one)."""
    import os
    import platform

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB"
    except (ValueError, OSError, AttributeError):
        memory = "memory unknown"
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.machine()}, {os.cpu_count()} cores ({model}), {memory}, {gpu}"


def write_results(tag: str, doc: dict, markdown: str) -> None:
    """``results/<tag>.json`` (``doc``) and ``results/<tag>.md`` (``markdown``)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{tag}.json").write_text(json.dumps(doc, indent=2))
    (RESULTS / f"{tag}.md").write_text(markdown)
