"""Assemble benchmarks/RESULTS.md from the per-benchmark tables in benchmarks/results/*.md."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = [
    (
        "tabular",
        "Quality frontier on Adult: every kind beside TabularARGN in one run "
        "(`benchmarks/tabular.py`)",
    ),
    ("busy_idle", "The demo on an idle and a busy machine (`benchmarks/busy_idle.py`)"),
    ("tabular_sdv", "Tabular models on Adult beside SDV (`benchmarks/tabular.py`, idle, run 4)"),
    (
        "tabular_dev",
        "How `ar`'s defaults were chosen (`benchmarks/tabular.py`, development runs under load)",
    ),
    (
        "tabular_robustness_dev",
        "`ar`, `vae` and TabularARGN on ten tables they were not tuned on "
        "(`benchmarks/tabular_robustness.py`, development run under load)",
    ),
    ("profile_ar", "Where the `ar` kind's time goes (`benchmarks/profile_model.py`)"),
    (
        "tabular_robustness",
        "Tabular defaults on tables they were not tuned on (`benchmarks/tabular_robustness.py`)",
    ),
    (
        "tabular_robustness_dp",
        "`ar`'s and `vae`'s differential-privacy defaults on tables they were not tuned on "
        "(`benchmarks/tabular_robustness.py`)",
    ),
    (
        "dp_clip",
        "DP-SGD's clipping bound, chosen on development data (`benchmarks/dp_clip.py`)",
    ),
    ("transformer_speed", "Reversible transformer speed (`benchmarks/transformer_speed.py`)"),
    ("evaluate_vs_sdmetrics", "Evaluation vs SDMetrics (`benchmarks/evaluate_vs_sdmetrics.py`)"),
    ("generation_speed", "Tabular generation speed (`benchmarks/generation_speed.py`)"),
    (
        "scale",
        "Generation at scale (one process, sharded, on Ray) and out-of-core fitting "
        "(`benchmarks/scale.py`, issue 15)",
    ),
    (
        "scale_shards",
        "Sharded generation at 20M rows: local processes and Ray with 1 and 2 workers "
        "(`benchmarks/scale.py`, issue 15)",
    ),
    (
        "scale_ooc",
        "Out-of-core fitting on a 20M-row synthgen-made Parquet dataset (`benchmarks/scale.py "
        "--ooc-rows`, issue 15)",
    ),
    (
        "throughput",
        "Generation throughput per core: where the CPU-seconds go (`benchmarks/throughput.py`, "
        "issue 15)",
    ),
    (
        "images",
        "Image models on MNIST10k and real RGB patches, judged by three independent classifiers "
        "(`benchmarks/images.py`)",
    ),
    (
        "image_validation",
        "How the default image kind's settings were chosen: train split only, no judge "
        "(`benchmarks/image_validation.py`)",
    ),
    (
        "image_gap",
        "Where the pixel judge's TSTR gap comes from: train split only, no judge "
        "(`benchmarks/image_gap.py`)",
    ),
    (
        "image_tstr_size",
        "TSTR by the number of generated images, for the default image kind "
        "(`benchmarks/image_tstr_size.py`)",
    ),
    (
        "image_unseen",
        "The image kinds on digits no default was chosen on: scikit-learn's 8x8 digits "
        "(`benchmarks/image_unseen.py`)",
    ),
    (
        "image_family_probe",
        "Would another model family close the pixel MLP's gap in the CPU budget? Train split "
        "only, no judge (`benchmarks/image_family_probe.py`)",
    ),
    ("anomaly", "Anomaly screening on ADBench, both protocols (`benchmarks/anomaly.py`)"),
    (
        "image_anomaly",
        "One-class image anomaly screening on MNIST10k (`benchmarks/image_anomaly.py`)",
    ),
    ("augment", "Class balancing on Adult (`benchmarks/augment.py`)"),
    (
        "privacy",
        "Privacy on Adult: differential privacy beside DP peers, and attacks "
        "(`benchmarks/privacy.py`)",
    ),
    ("service", "HTTP service load run (`benchmarks/service.py`)"),
]


def main() -> None:
    intro = (
        (HERE / "results" / "README.md").read_text()
        if (HERE / "results" / "README.md").exists()
        else ""
    )
    parts = ["# Benchmark results", "", intro.strip(), ""]
    for name, title in SECTIONS:
        path = HERE / "results" / f"{name}.md"
        if path.exists():
            body = path.read_text().strip()
            if body.startswith("#"):  # the section's own heading gives way to ours
                body = body.split("\n", 1)[1].strip() if "\n" in body else ""
            parts += [f"## {title}", "", body, ""]
            notes = HERE / "results" / f"{name}_notes.md"
            if notes.exists():
                parts += [notes.read_text().strip(), ""]
    (HERE / "RESULTS.md").write_text("\n".join(parts).rstrip() + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
