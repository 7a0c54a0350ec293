"""SIGTERM and SIGHUP (kill, systemd, docker stop, CI timeouts) unwind like Ctrl-C: every writing
command, run as the ``synthgen`` console script or as ``python -m synthgen``, removes its outputs
in progress (final and hidden temp files) and exits 128 + the signal's number.

The commands run as real processes on tiny data sized to still be running when the signal
comes; the signal is sent as soon as the command's temp output (or a fit's first checkpoint)
exists. All of them run at once, so the test costs about one process start-up per core."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgen.core.checkpoint import is_checkpoint
from synthgen.schema import parse_schema

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SCHEMA_YAML = """\
name: tiny
target: income
columns:
  - {name: age, type: integer, min: 17, max: 90}
  - {name: job, type: categorical, values: [clerk, sales]}
  - {name: income, type: categorical, values: ["<=50K", ">50K"]}
"""
SCRIPT = shutil.which("synthgen", path=str(Path(sys.executable).parent))


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(17, 91, n),
            "job": rng.choice(["clerk", "sales"], n),
            "income": rng.choice(["<=50K", ">50K"], n),
        }
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    from synthgen.tabular.anomaly.detector import AnomalyDetector
    from synthgen.tabular.synthesizer import TabularSynthesizer

    root = tmp_path_factory.mktemp("signals")
    schema = parse_schema(
        {
            "name": "tiny",
            "target": "income",
            "columns": [
                {"name": "age", "type": "integer", "min": 17, "max": 90},
                {"name": "job", "type": "categorical", "values": ["clerk", "sales"]},
                {"name": "income", "type": "categorical", "values": ["<=50K", ">50K"]},
            ],
        }
    )
    (root / "s.yaml").write_text(SCHEMA_YAML)
    small = _frame(200)
    small.to_csv(root / "small.csv", index=False)
    _frame(4000, 1).to_csv(root / "fit.csv", index=False)
    _frame(300_000, 2).to_csv(root / "big.csv", index=False)
    opts = {"hidden": [8], "latent_dim": 4, "prior_components": 2}
    TabularSynthesizer(
        "vae", epochs=1, seed=0, progress=False, device="cpu", model_options=opts
    ).fit(small, schema).save(root / "m.synth")
    AnomalyDetector(random_state=0, epochs=1, model_options={"cross_steps": 20}, device="cpu").fit(
        small, schema
    ).save(root / "det.synth")
    return root


# name -> (entry, signal, args, outputs that must not be left, glob that shows it is writing)
CASES = {
    "generate": (
        "script",
        signal.SIGTERM,
        ["generate", "m.synth", "--rows", "20000000", "-o", "gen.csv"],
        ["gen.csv"],
        ".gen.csv.*.tmp",
    ),
    "generate-sighup": (
        "module",
        signal.SIGHUP,
        ["generate", "m.synth", "--rows", "20000000", "-o", "gen2.parquet"],
        ["gen2.parquet"],
        ".gen2.parquet.*.tmp",
    ),
    "fit": (
        "module",
        signal.SIGTERM,
        ["fit", "fit.csv", "-s", "s.yaml", "-o", "fit.synth", "--epochs", "5000"],
        ["fit.synth"],
        "*fit.synth.ckpt*",
    ),
    "augment": (
        "script",
        signal.SIGTERM,
        ["augment", "small.csv", "--model", "m.synth", "--rows", "20000000", "-o", "aug.csv"],
        ["aug.csv"],
        ".aug.csv.*.tmp",
    ),
    "anomalies-score": (
        "module",
        signal.SIGTERM,
        [
            "anomalies", "score", "big.csv", "--model", "det.synth", "-o", "scored.csv",
            "--report", "scored.html", "--chunk-rows", "2000",
        ],
        ["scored.csv", "scored.html"],
        ".scored.csv.*.tmp",
    ),
}  # fmt: skip


def test_sigterm_and_sighup_leave_no_file(work):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    before = set(os.listdir(work))
    procs = {}
    for name, (entry, _, args, _, _) in CASES.items():
        if entry == "script" and SCRIPT is None:
            entry = "module"
        cmd = [SCRIPT, *args] if entry == "script" else [sys.executable, "-m", "synthgen", *args]
        procs[name] = subprocess.Popen(
            [*cmd, "-q"], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    sent: dict[str, float] = {}
    deadline = time.monotonic() + 240
    try:
        while len(sent) < len(procs) and time.monotonic() < deadline:
            for name, proc in procs.items():
                if name not in sent and (proc.poll() is not None or any(work.glob(CASES[name][4]))):
                    if proc.poll() is None:
                        proc.send_signal(CASES[name][1])
                        if name == "generate":  # an impatient second signal: still clean
                            time.sleep(0.01)
                            proc.send_signal(CASES[name][1])
                    sent[name] = time.monotonic()
            time.sleep(0.02)
        results = {name: proc.communicate(timeout=60) for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    assert len(sent) == len(procs), f"never started writing: {set(procs) - set(sent)}"
    for name, proc in procs.items():
        _, sig, _, outputs, _ = CASES[name]
        err = results[name][1].decode()
        assert proc.returncode == 128 + sig, f"{name}: exit {proc.returncode}\n{err}"
        assert f"Stopped by {signal.Signals(sig).name}" in err, err
        assert "Traceback" not in err, err
        for out in outputs:
            assert not (work / out).exists(), f"{name} left {out}"
    left = set(os.listdir(work)) - before
    hidden = sorted(p for p in left if p.startswith("."))
    assert not hidden, f"temp files left: {hidden}"
    # a fit keeps its last complete checkpoint for --resume (by design), and only that
    assert left <= {"fit.synth.ckpt"}, left
    if left:
        assert is_checkpoint(work / "fit.synth.ckpt")


@pytest.mark.parametrize("directory", [False, True], ids=["file", "folder"])
def test_a_signal_while_the_temp_output_is_being_made_leaves_nothing(
    tmp_path, monkeypatch, directory
):
    """The race the process test can hit: the signal lands just after the temp file exists
    and before the code that removes it is in place. It is held, then raised, then cleaned up."""
    import tempfile

    from synthgen.cli import main as cli_main
    from synthgen.outputs import atomic_output

    make = tempfile.mkdtemp if directory else tempfile.mkstemp

    def make_then_signal(*args, **kwargs):
        made = make(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # delivered here, between creating and naming
        for _ in range(1000):  # bytecodes for the handler to run at
            pass
        return made

    monkeypatch.setattr(tempfile, "mkdtemp" if directory else "mkstemp", make_then_signal)
    old = signal.signal(signal.SIGTERM, cli_main._on_signal)
    try:
        with pytest.raises(cli_main.Terminated):
            with atomic_output(tmp_path / "out.csv", directory=directory) as tmp:
                tmp.write_text("never") if not directory else None
                raise AssertionError("the signal must stop the block before it runs")
    finally:
        signal.signal(signal.SIGTERM, old)
        for sig in cli_main._SIGNALS:  # the handler ignores repeats once it has fired
            signal.signal(sig, signal.SIG_DFL)
    assert list(tmp_path.iterdir()) == []
