"""``synthgen fit``, ``synthgen generate`` and ``synthgen demo``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)


def fit(
    data: Path = typer.Argument(
        ..., help="Training table (CSV, Parquet, JSONL) or images (.npz or a PNG/JPEG folder)."
    ),
    schema: Path = typer.Option(..., "--schema", "-s", help="Schema file (YAML or JSON)."),
    model: str = typer.Option("vae", "--model", "-m", help="Model kind: vae or cgan."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Model file to write (default: DATA-stem.MODEL.synth)."
    ),
    epochs: int | None = typer.Option(
        None, "--epochs", help="Maximum epochs (default: about 3,000 steps vae, 7,000 cgan)."
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", help="Mini-batch size (default: 500, less for small tables)."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, data, device: same file)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUTPUT.ckpt if present."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing model file."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Fit a conditional VAE or GAN to a table or an image set (the schema's kind decides).

    Example: synthgen fit adult.csv --schema schemas/adult.yaml --model vae -o adult.synth
    """
    from synthgen.jobs.fit import fit_to_file

    out = output or Path(f"{data.stem}.{model}.synth")
    summary = fit_to_file(
        data,
        schema,
        out,
        model=model,
        epochs=epochs,
        batch_size=batch_size,
        device=device,
        seed=seed,
        resume=resume,
        overwrite=overwrite,
        progress=not quiet,
    )
    console.print(
        f"[green]wrote[/] {out}  ({summary['epochs_run']} epochs"
        f"{', stopped early' if summary['stopped_early'] else ''}, "
        f"{summary['fit_seconds']:.1f} s)"
    )


def generate(
    model: Path = typer.Argument(..., help="Model file written by synthgen fit."),
    rows: int = typer.Option(..., "--rows", "-n", help="Exactly this many rows are written."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Output file (default: MODEL-stem.synthetic.FORMAT)."
    ),
    condition: list[str] | None = typer.Option(
        None, "--condition", "-c", help="COLUMN=VALUE every row must satisfy (repeatable)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: fit seed)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    fmt: str | None = typer.Option(
        None,
        "--format",
        "-f",
        help="Tables: parquet, csv or jsonl. Images: npz, or png for a folder with one "
        "subfolder per label. Default: from the output's suffix.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Generate synthetic rows (or images) from a model file, streamed to disk.

    Example: synthgen generate adult.synth --rows 10000 -o synthetic.parquet -c income=>50K
    Images:  synthgen generate mnist.synth --rows 1000 -o digits --format png -c digit=3
    """
    from synthgen.core.modelfile import peek_kind
    from synthgen.jobs.fit import generate_file
    from synthgen.tabular.sampler import parse_conditions

    if fmt is not None and fmt not in ("parquet", "csv", "jsonl", "npz", "png"):
        raise typer.BadParameter(
            f"'{fmt}' is not one of parquet, csv, jsonl, npz, png.", param_hint="--format"
        )
    if output is None:
        image = (peek_kind(model) or "").startswith("image")
        suffix = {"png": ""}.get(fmt or "", f".{fmt or ('npz' if image else 'parquet')}")
        output = Path(f"{model.stem}.synthetic{suffix}")
    result = generate_file(
        model,
        rows,
        output,
        fmt=fmt,
        conditions=parse_conditions(condition),
        seed=seed,
        device=device,
        overwrite=overwrite,
        progress=not quiet,
    )
    what = "images" if result["format"] in ("npz", "png") else "rows"
    console.print(f"[green]wrote[/] {result['rows']} {what} to {output} ({result['format']})")


def demo(
    output_dir: Path = typer.Option(
        Path("synthgen-demo"), "--output-dir", "-o", help="Folder for the demo's files."
    ),
    model: str = typer.Option("vae", "--model", "-m", help="Model kind: vae or cgan."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace earlier demo outputs."),
    epochs: int | None = typer.Option(
        None, "--epochs", help="Maximum epochs (default: the model's)."
    ),
) -> None:
    """Fit, generate and evaluate on a small census table embedded in the package.

    Example: synthgen demo -o /tmp/demo
    """
    from synthgen.jobs.demo import run_demo

    run_demo(output_dir, model=model, overwrite=overwrite, epochs=epochs)


def register(app: typer.Typer) -> None:
    """Add fit, generate and demo to the synthgen app."""
    app.command("fit")(fit)
    app.command("generate")(generate)
    app.command("demo")(demo)
