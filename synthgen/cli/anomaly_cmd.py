"""``synthgen anomalies fit|score``: autoencoder anomaly screening of tables and images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthgen.cli.options import (
    Device,
    ModelFile,
    ModelOptions,
    Overwrite,
    Quiet,
    RayAddress,
    SchemaFile,
    Seed,
    Threads,
    key_values,
)
from synthgen.outputs import check_output, require_file

anomalies = typer.Typer(
    rich_markup_mode=None,
    name="anomalies",
    help="Screen table rows or images for anomalies by autoencoder reconstruction error.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@anomalies.command("fit", short_help="Fit a detector on trusted data.")
def fit_cmd(
    data: Annotated[
        Path,
        typer.Argument(
            metavar="DATA",
            help="Trusted data to learn normal rows from (CSV, Parquet, JSONL), or images "
            "(npz or a folder, as the image schema says).",
        ),
    ],
    schema: SchemaFile,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="DETECTOR",
            help="Detector file to write (default: DATA's name + .detector.synth).",
            show_default=False,
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs",
            min=1,
            metavar="N",
            help="Most training epochs (tables: 20, early stopping usually ends sooner; images: "
            "60, within 200..5000 optimiser steps).",
            show_default=False,
        ),
    ] = None,
    model_option: ModelOptions = None,
    seed: Seed = 0,
    device: Device = "auto",
    threads: Threads = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Fit an anomaly detector on trusted data (a table or an image set).

    \b
    Examples:
      synthgen anomalies fit train.csv --schema adult.yaml -o det.synth
      synthgen anomalies fit train.npz --schema mnist.yaml -o det-images.synth
    """
    output = output or data.with_name(f"{data.stem}.detector.synth")
    require_file(data, "Data file")  # cheap checks first: the heavy imports take seconds
    require_file(schema, "Schema file")
    check_output(output, overwrite=overwrite, inputs=[data, schema])
    from synthgen.jobs.screen import fit_detector_to_file

    det = fit_detector_to_file(
        data,
        schema,
        output,
        epochs=epochs,
        seed=seed,
        device=device,
        overwrite=overwrite,
        progress=not quiet,
        model_options=key_values(model_option, "--model-option"),
        threads=threads,
    )
    t = det.training_
    if det.data == "table":
        what = f"anomaly detector on {t['rows']:,} rows"
    else:
        what = f"image anomaly detector on {t['images']:,} images"
    typer.echo(
        f"Fitted an {what} in {det.fit_seconds_:.1f} s "
        f"({t['epochs_run']} epochs, {t['steps']} steps); wrote {output}.",
        err=True,
    )


@anomalies.command("score", short_help="Score rows or images with a detector.")
def score_cmd(
    data: Annotated[
        Path,
        typer.Argument(
            metavar="DATA", help="Rows to screen (CSV, Parquet, JSONL), or images (npz/folder)."
        ),
    ],
    model: ModelFile,
    contamination: Annotated[
        float | None,
        typer.Option(
            "--contamination",
            metavar="SHARE",
            help="Flag this share of the fitting data's score distribution (e.g. 0.01).",
            show_default=False,
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            metavar="SCORE",
            help="Flag rows whose score exceeds this.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="OUT",
            help="Scored rows to write (default: DATA's name + .scored + its suffix; images: "
            "DATA's name + .scored.csv).",
            show_default=False,
        ),
    ] = None,
    only_flagged: Annotated[
        bool,
        typer.Option(
            "--only-flagged", help="Write only the flagged rows to OUT.", show_default=False
        ),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="HTML",
            help="Write a self-contained HTML summary here.",
            show_default=False,
        ),
    ] = None,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, metavar="N", help="Rows read and scored at once.")
    ] = 50_000,
    device: Device = "auto",
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            metavar="local|ray",
            help="ray: score a Parquet file or dataset folder with Ray Data into the Parquet "
            "dataset folder OUT (needs synthgen[ray]; no --report, no input_row).",
        ),
    ] = "local",
    ray_address: RayAddress = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Score rows: the input plus anomaly_score, is_anomaly, top_columns, the signals behind
    the score (reconstruction_score, neighbour_score) and input_row (1-based, as the report
    numbers rows). Images: one row per image with its file name (or npz index), its label if
    any, anomaly_score, is_anomaly.

    \b
    Examples:
      synthgen anomalies score test.csv --model detector.synth -o scored.csv
      synthgen anomalies score test.csv --model detector.synth --contamination 0.01 \\
          --only-flagged -o flagged.csv --report screening.html
    """
    if engine not in ("local", "ray"):
        raise typer.BadParameter(f"'{engine}' is not local or ray.", param_hint="--engine")
    if engine == "ray" and report is not None:
        raise typer.BadParameter(
            "--engine ray writes a Parquet dataset of scored rows, not a report; leave out "
            "--report, or score with --engine local.",
            param_hint="--report",
        )
    if engine != "ray" and ray_address is not None:
        raise typer.BadParameter("applies to --engine ray only.", param_hint="--ray-address")
    require_file(data, "Data file")  # cheap checks first: the heavy imports take seconds
    require_file(model, "Model file")
    if engine == "ray":
        _score_on_ray(
            data, model, output, contamination, threshold, only_flagged, overwrite, ray_address
        )
        return
    from synthgen.jobs.screen import score_to_file

    suffix = data.suffix if data.suffix and not data.is_dir() and data.suffix != ".npz" else ".csv"
    output = output or data.with_name(f"{data.stem}.scored{suffix}")
    summary = score_to_file(
        data,
        model,
        output=None if only_flagged else output,
        flagged=output if only_flagged else None,
        report=report,
        contamination=contamination,
        threshold=threshold,
        overwrite=overwrite,
        chunk_rows=chunk_rows,
        device=device,
        progress=not quiet,
    )
    share = 100 * summary.flagged / summary.rows if summary.rows else 0.0
    typer.echo(
        f"Scored {summary.rows:,} rows: {summary.flagged:,} flagged ({share:.2f} %) above "
        f"threshold {summary.threshold:.6g} ({summary.threshold_rule}); wrote {output}"
        + (f" and {report}." if report else "."),
        err=True,
    )


def _score_on_ray(
    data, model, output, contamination, threshold, only_flagged, overwrite, ray_address
) -> None:
    from synthgen.jobs.ray_data import score_parquet_to_folder

    output = output or data.with_name(f"{data.stem}.scored")
    done = score_parquet_to_folder(
        data,
        model,
        output,
        contamination=contamination,
        threshold=threshold,
        only_flagged=only_flagged,
        overwrite=overwrite,
        ray_address=ray_address,
    )
    share = 100 * done["flagged"] / done["rows"] if done["rows"] else 0.0
    typer.echo(
        f"Scored {done['rows']:,} rows on Ray: {done['flagged']:,} flagged ({share:.2f} %) "
        f"above threshold {done['threshold']:.6g} ({done['rule']}); wrote {output}/.",
        err=True,
    )


def register(app: typer.Typer) -> None:
    """Add the ``anomalies`` group to the synthgen app."""
    app.add_typer(anomalies, name="anomalies", short_help="Fit anomaly detectors and score data.")
