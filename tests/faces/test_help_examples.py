"""Every example in every command's ``--help`` runs as written, through bash, on small files of
the names it uses: exit 0, no file it does not name (an unquoted ``>`` would create one), and
no library warning on its output (the demo runs here in full)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from typer.testing import CliRunner

from synthgen.cli.main import app

REPO = Path(__file__).resolve().parents[2]
CENSUS = REPO / "synthgen" / "data"
BIN = Path(sys.executable).parent
WARNING = re.compile(r"\b\w*Warning\b|warnings\.warn")


def _commands(group=app, path=()) -> list[tuple[str, ...]]:
    import typer.main

    click_group = typer.main.get_command(group) if path == () else group
    out = []
    for name, cmd in sorted(click_group.commands.items()):
        if hasattr(cmd, "commands"):
            out += _commands(cmd, (*path, name))
        else:
            out.append((*path, name))
    return out


def _examples() -> list[tuple[str, str]]:
    """(command, example) pairs read from the help texts; continuation lines joined."""
    found = []
    for path in _commands():
        text = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).output
        lines, on = [], False
        for line in text.splitlines():
            if re.match(r"^\s*Examples?:\s*$", line):
                on = True
                continue
            if on and not line.strip():
                on = False
            if on:
                lines.append(line.strip())
        joined = " ".join(lines).replace("\\ ", "")
        for example in re.split(r"\s(?=synthgen |export )", " " + joined):
            if example.strip():
                found.append((" ".join(path), example.strip()))
    # an export only prepares the next line
    merged = []
    for cmd, ex in found:
        if merged and merged[-1][1].startswith("export "):
            merged[-1] = (cmd, merged[-1][1] + "; " + ex)
        else:
            merged.append((cmd, ex))
    return merged


EXAMPLES = _examples()


def test_every_command_has_an_example():
    with_examples = {cmd for cmd, _ in EXAMPLES}
    assert with_examples == {" ".join(p) for p in _commands()}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A folder holding every file the examples name (small, real, fitted quickly)."""
    from synthgen.images.data import ImageSet
    from synthgen.images.io import write_images
    from synthgen.images.synthesizer import ImageSynthesizer
    from synthgen.jobs.generate import generate_to_file
    from synthgen.schema import load_schema, load_table_schema
    from synthgen.tabular.anomaly.detector import AnomalyDetector
    from synthgen.tabular.io import read_table
    from synthgen.tabular.synthesizer import TabularSynthesizer

    d = tmp_path_factory.mktemp("examples")
    raw = pd.read_csv(CENSUS / "census.csv", dtype=str, keep_default_na=False)
    raw.iloc[:300].to_csv(d / "train.csv", index=False)
    raw.iloc[300:400].to_csv(d / "test.csv", index=False)
    shutil.copy(CENSUS / "census.yaml", d / "adult.yaml")
    schema = load_table_schema(d / "adult.yaml")
    train = read_table(d / "train.csv", schema)
    quick = {"epochs": 2, "random_state": 0, "device": "cpu", "progress": False}
    planned = {**quick, "epochs": None}  # a fit as good as the examples expect
    TabularSynthesizer("vae", **planned).fit(train, schema).save(d / "adult.synth")
    generate_to_file(d / "adult.synth", 200, d / "synthetic.csv", progress=False, device="cpu")
    AnomalyDetector(**quick).fit(train, schema).save(d / "detector.synth")
    digits = load_digits()
    images = (digits.images * 15).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    np.savez(d / "train.npz", images=images[:120], labels=labels[:120])
    np.savez(d / "test.npz", images=images[120:180], labels=labels[120:180])
    (d / "mnist.yaml").write_text(
        "schema_version: 1\nname: mnist\nkind: image\nimage: {height: 8, width: 8, channels: 1}\n"
        "source: {format: npz, images_key: images, labels_key: labels}\n"
        "label: {name: digit, values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}\n"
    )
    ischema = load_schema(d / "mnist.yaml")
    real = ImageSet(images[:120, :, :, None], labels[:120])
    synth = ImageSynthesizer("cgan", **{**quick, "epochs": 1}).fit(real, ischema)
    synth.save(d / "mnist.synth")
    write_images(synth.sample(60, seed=1), d / "digits.npz", ischema)
    (d / "models").mkdir()
    shutil.copy(d / "adult.synth", d / "models" / "adult.synth")
    (d / "spec.yaml").write_text(
        "name: example\nsteps:\n"
        "  - {name: fit, type: fit, data: train.csv, schema: adult.yaml, epochs: 2,"
        " output: runs/model.synth}\n"
        "  - {name: gen, type: generate, model: runs/model.synth, rows: 100,"
        " output: runs/rows.csv}\n"
    )
    return d


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.mark.parametrize(("command", "example"), EXAMPLES, ids=[e for _, e in EXAMPLES])
def test_example_runs_as_written(command, example, base, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(base, work)
    before = {p.name for p in work.iterdir()}
    if command == "serve":
        _serve(example, work)
        return
    res = subprocess.run(
        ["bash", "-c", f"set -e; {example}"],
        cwd=work,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert not WARNING.search(res.stdout + res.stderr), res.stderr[-3000:]
    tokens = set()
    for part in example.split(";"):
        tokens |= {t.rstrip("/") for t in shlex.split(part)}
    if command == "pipeline run":  # the spec names its outputs
        tokens |= set(re.findall(r"[\w.-]+", (work / "spec.yaml").read_text()))
    created = {p.name for p in work.iterdir()} - before
    stray = {n for n in created if n not in tokens and not n.endswith(".run.json")}
    assert not stray, f"files the example does not name: {stray}"


def _serve(example: str, work: Path) -> None:
    port = int(re.search(r"--port (\d+)", example).group(1))
    if not _port_free(port):
        pytest.skip(f"port {port} is in use on this machine")
    proc = subprocess.Popen(
        ["bash", "-c", f"exec bash -c {shlex.quote(example)}"],
        cwd=work,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline and _port_free(port):
            if proc.poll() is not None:
                pytest.fail(f"the server stopped: {proc.stdout.read()[-2000:]}")
            time.sleep(0.2)
        assert not _port_free(port), "the server never listened"
    finally:
        os.killpg(proc.pid, 15)
        out = proc.communicate(timeout=30)[0]
    assert proc.returncode in (0, 143, -15), out[-2000:]
    assert not WARNING.search(out), out[-2000:]
