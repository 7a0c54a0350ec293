"""``synthgen anomalies fit|score``: autoencoder anomaly screening of tables and images."""

from __future__ import annotations

from pathlib import Path

import typer

from synthgen.errors import UsageError

anomalies = typer.Typer(
    name="anomalies",
    help="Screen table rows or images for anomalies by autoencoder reconstruction error.",
    no_args_is_help=True,
)


def _default_output(data: Path, suffix: str) -> Path:
    return data.with_name(f"{data.stem}{suffix}")


@anomalies.command("fit")
def fit_cmd(
    data: Path = typer.Argument(
        ...,
        help="Trusted data to learn normal rows from (CSV, Parquet, JSONL), or images "
        "(npz or a folder, as the image schema says).",
    ),
    schema: Path = typer.Option(..., "--schema", help="Schema file (YAML or JSON)."),
    output: Path = typer.Option(
        None,
        "-o",
        "--output",
        help="Detector file to write (default: DATA's name + .detector.synth).",
    ),
    seed: int = typer.Option(
        0, "--seed", help="Training seed: the same seed gives the same scores."
    ),
    epochs: int = typer.Option(
        None,
        "--epochs",
        min=1,
        help="Most training epochs (tables: 20, early stopping usually ends sooner; images: "
        "60, within 200..5000 optimiser steps).",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
) -> None:
    """Fit an anomaly detector on trusted data.

    Example: synthgen anomalies fit train.csv --schema schemas/adult.yaml -o detector.synth

    Images: synthgen anomalies fit train.npz --schema schemas/mnist.yaml -o digits.synth
    """
    from synthgen.device import resolve_device
    from synthgen.outputs import check_output
    from synthgen.schema import TableSchema, load_schema
    from synthgen.tabular.anomaly import AnomalyDetector
    from synthgen.tabular.io.read import read_table

    output = output or _default_output(data, ".detector.synth")
    resolve_device(device)  # refuse --device cuda without a GPU before reading anything
    sch = load_schema(schema)
    if not isinstance(sch, TableSchema):
        from synthgen.images.anomaly.detector import fit_detector_to_file

        det = fit_detector_to_file(
            data,
            sch,
            schema,
            output,
            epochs=epochs,
            seed=seed,
            device=device,
            overwrite=overwrite,
        )
        t = det.training_
        typer.echo(
            f"Fitted an image anomaly detector on {t['images']:,} images in "
            f"{det.fit_seconds_:.1f}s ({t['epochs_run']:g} epochs); wrote {output}."
        )
        return
    check_output(output, overwrite=overwrite, inputs=(data, schema))
    frame = read_table(data, sch, strict_values=False)
    det = AnomalyDetector(seed=seed, epochs=20 if epochs is None else epochs, device=device)
    det.fit(frame, sch)
    det.save(output, overwrite=overwrite, inputs=(data, schema))
    t = det.training_
    typer.echo(
        f"Fitted an anomaly detector on {t['rows']:,} rows in {t['fit_seconds']:.1f}s "
        f"({t['epochs_run']} epochs); wrote {output}."
    )


@anomalies.command("score")
def score_cmd(
    data: Path = typer.Argument(
        ..., help="Rows to screen (CSV, Parquet, JSONL), or images (npz or a folder)."
    ),
    model: Path = typer.Option(..., "--model", help="Detector file written by 'anomalies fit'."),
    contamination: float = typer.Option(
        None,
        "--contamination",
        help="Flag this share of the fitting data's score distribution (e.g. 0.01).",
    ),
    threshold: float = typer.Option(
        None, "--threshold", help="Flag rows whose score exceeds this value."
    ),
    output: Path = typer.Option(
        None,
        "-o",
        "--output",
        help="Scored rows to write (default: DATA's name + .scored + its suffix; for images "
        "DATA's name + .scored.csv).",
    ),
    report: Path = typer.Option(None, "--report", help="Write a self-contained HTML summary here."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    chunk_rows: int = typer.Option(
        50_000, "--chunk-rows", min=1, help="Rows read and scored at a time."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
) -> None:
    """Score rows: the input plus anomaly_score, is_anomaly and top_columns. Images: one row
    per image with its file name (or npz index), its label if any, anomaly_score, is_anomaly.

    Example: synthgen anomalies score batch.csv --model det.synth --contamination 0.01 -o out.csv
    --report screening.html
    """
    from synthgen.core.modelfile import peek_kind
    from synthgen.device import resolve_device
    from synthgen.images.anomaly.detector import KIND as IMAGE_KIND
    from synthgen.tabular.anomaly import AnomalyDetector
    from synthgen.tabular.anomaly.stream import score_file

    if contamination is not None and threshold is not None:
        raise UsageError("Give either --contamination or --threshold, not both.")
    resolve_device(device)
    if (peek_kind(model) or "").startswith(IMAGE_KIND):
        from synthgen.images.anomaly.detector import ImageAnomalyDetector, score_images_to_file

        output = output or data.with_name(f"{data.stem}.scored.csv")
        img = ImageAnomalyDetector.load(model, device=device)
        summary = score_images_to_file(
            img,
            data,
            output,
            contamination=contamination,
            threshold=threshold,
            report=report,
            overwrite=overwrite,
            inputs=(model,),
        )
        _echo_summary(summary, "images", output, report)
        return
    output = output or data.with_name(f"{data.stem}.scored{data.suffix or '.csv'}")
    det = AnomalyDetector.load(model, device=device)
    summary = score_file(
        det,
        data,
        output,
        contamination=contamination,
        threshold=threshold,
        report=report,
        overwrite=overwrite,
        chunk_rows=chunk_rows,
        inputs=(model,),
    )
    _echo_summary(summary, "rows", output, report)


def _echo_summary(summary, what: str, output: Path, report: Path | None) -> None:
    share = 100 * summary.flagged / summary.rows if summary.rows else 0.0
    typer.echo(
        f"Scored {summary.rows:,} {what}: {summary.flagged:,} flagged ({share:.2f} %) above "
        f"threshold {summary.threshold:.6g} ({summary.threshold_rule}); wrote {output}"
        + (f" and {report}." if report else ".")
    )


def register(app: typer.Typer) -> None:
    """Add the ``anomalies`` group to the synthgen app."""
    app.add_typer(anomalies, name="anomalies")
