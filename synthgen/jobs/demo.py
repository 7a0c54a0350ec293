"""``synthgen demo``: fit, generate and evaluate on the census table embedded in the package."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from synthgen.core.html import write_json
from synthgen.errors import OutputError
from synthgen.jobs.generate import generate_to_file
from synthgen.outputs import atomic_output, check_output, make_folder
from synthgen.schema import load_table_schema
from synthgen.tabular.evaluate.evaluation import run_evaluation
from synthgen.tabular.evaluate.report import write_html
from synthgen.tabular.io import read_table
from synthgen.tabular.synthesizer import TabularSynthesizer

console = Console(stderr=True)
HOLDOUT_ROWS = 1000


def demo_paths() -> tuple[Path, Path]:
    """The embedded demo table and its schema."""
    base = resources.files("synthgen") / "data"
    return Path(str(base / "census.csv")), Path(str(base / "census.yaml"))


def run_demo(
    output_dir: Path,
    *,
    model: str = "vae",
    overwrite: bool = False,
    epochs: int | None = None,
    threads: int | None = None,
    progress: bool = True,
) -> dict:
    """Fit ``model`` on 4,000 embedded rows, generate 4,000, evaluate against 1,000 held out.

    Writes the model, the synthetic CSV, ``metrics.json`` and ``report.html`` to ``output_dir``
    (each atomically) and returns the summary figures.
    """
    data_path, schema_path = demo_paths()
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputError(f"Demo output {output_dir} exists and is not a folder.")
    make_folder(output_dir)
    model_path = output_dir / f"census.{model}.synth"
    synthetic_path = output_dir / "census.synthetic.csv"
    json_path, html_path = output_dir / "metrics.json", output_dir / "report.html"
    for path in (model_path, synthetic_path, json_path, html_path):
        check_output(path, overwrite=overwrite)

    started = time.perf_counter()
    schema = load_table_schema(schema_path)
    frame = read_table(data_path, schema)
    order = np.random.default_rng(0).permutation(len(frame))
    holdout = frame.iloc[order[:HOLDOUT_ROWS]].reset_index(drop=True)
    train = frame.iloc[order[HOLDOUT_ROWS:]].reset_index(drop=True)
    console.print(f"[bold]synthgen demo[/]: {len(train)} training rows, {len(holdout)} held out")

    synth = TabularSynthesizer(
        model, epochs=epochs, random_state=0, threads=threads, progress=progress
    ).fit(train, schema)
    synth.save(model_path, overwrite=overwrite)
    fit_s = synth.fit_seconds_
    t = time.perf_counter()
    generate_to_file(
        model_path, len(train), synthetic_path, overwrite=overwrite, progress=False, seed=1
    )
    gen_s = time.perf_counter() - t
    synthetic = read_table(synthetic_path, schema)
    ev = run_evaluation(
        train, synthetic, schema, holdout=holdout, target=schema.target, progress=progress
    )
    with atomic_output(json_path, overwrite=overwrite) as tmp:
        write_json(ev.doc, tmp)
    with atomic_output(html_path, overwrite=overwrite) as tmp:
        write_html(ev, tmp)

    s = ev.doc["summary"]
    table = Table(title=f"synthgen demo ({model}) — census sample")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    rows = [
        ("column shapes", s["shapes"], "1.0 = every column's distribution matches"),
        ("pair trends", s["trends"], "1.0 = every pairwise correlation matches"),
        ("quality", s["quality"], "mean of the two (SDMetrics' definition)"),
        ("TSTR / TRTR", s["tstr_ratio"], "utility of synthetic rows for predicting income"),
        ("detection AUC", s["detection_auc"], "0.5 = a classifier cannot tell them apart"),
        ("exact copies", s["exact_copies"], "share of synthetic rows copied from training"),
        ("schema valid", s["valid"], "great-expectations suite on the output"),
    ]
    for name, value, meaning in rows:
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        table.add_row(name, shown, meaning)
    console.print(table)
    console.print(
        f"fit {fit_s:.1f} s, generated {len(train)} rows in {gen_s:.1f} s, "
        f"total {time.perf_counter() - started:.1f} s. Files in {output_dir}/: "
        f"{model_path.name}, {synthetic_path.name}, {json_path.name}, {html_path.name}"
    )
    return {"fit_seconds": fit_s, **s}


def write_example_data(output_dir: Path, *, overwrite: bool = False) -> list[Path]:
    """The files the README's and the ``--help`` examples use, made without any download:
    ``train.csv``/``test.csv`` and ``adult.yaml`` (the embedded census sample, split 4,000 /
    1,000), and ``train.npz``/``test.npz`` and ``mnist.yaml`` (scikit-learn's bundled 8x8
    digits, split 1,400 / 397)."""
    from sklearn.datasets import load_digits

    data_path, schema_path = demo_paths()
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputError(f"Example data output {output_dir} exists and is not a folder.")
    make_folder(output_dir)
    names = ["train.csv", "test.csv", "adult.yaml", "train.npz", "test.npz", "mnist.yaml"]
    paths = [output_dir / n for n in names]
    for path in paths:
        check_output(path, overwrite=overwrite)
    lines = data_path.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    order = np.random.default_rng(0).permutation(len(rows))
    for path, part in ((paths[0], order[HOLDOUT_ROWS:]), (paths[1], order[:HOLDOUT_ROWS])):
        with atomic_output(path, overwrite=overwrite) as tmp:
            tmp.write_text(header + "".join(rows[i] for i in sorted(part)), encoding="utf-8")
    with atomic_output(paths[2], overwrite=overwrite) as tmp:
        tmp.write_text(schema_path.read_text(encoding="utf-8"), encoding="utf-8")
    digits = load_digits()
    images = (digits.images * 15).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    for path, part in ((paths[3], slice(0, 1400)), (paths[4], slice(1400, None))):
        with atomic_output(path, overwrite=overwrite) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, images=images[part], labels=labels[part])
    with atomic_output(paths[5], overwrite=overwrite) as tmp:
        tmp.write_text(DIGITS_SCHEMA, encoding="utf-8")
    return paths


DIGITS_SCHEMA = """\
# scikit-learn's bundled 8x8 handwritten digits (1,797 images), grey levels 0..240
schema_version: 1
name: mnist
kind: image
image: {height: 8, width: 8, channels: 1}
source: {format: npz, images_key: images, labels_key: labels}
label: {name: digit, values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}
"""
