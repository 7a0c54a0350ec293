"""``synthgen fit`` and ``synthgen generate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from synthgen.cli.options import (
    Device,
    FileSeed,
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

console = Console(stderr=True)
FORMATS = ("parquet", "csv", "jsonl", "npz", "png")


def fit(
    data: Annotated[
        Path,
        typer.Argument(
            metavar="DATA",
            help="Training table (CSV, Parquet, JSONL), a folder of Parquet files (fitted out "
            "of core: kinds ar, vae), or images (.npz or a PNG/JPEG folder).",
        ),
    ],
    schema: SchemaFile,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            "-k",
            metavar="KIND",
            help="Model kind: vae, cgan or ar for tables (default vae); fvae, cgan or vae for "
            "images (default fvae).",
            show_default=False,
        ),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", hidden=True)] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="MODEL",
            help="Model file to write (default: DATA-stem.KIND.synth).",
            show_default=False,
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs",
            metavar="N",
            help="Most epochs (default: planned from the data's size).",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            metavar="N",
            help="Mini-batch size (default: 500 for tables, 64 for images; less for small data).",
            show_default=False,
        ),
    ] = None,
    model_option: ModelOptions = None,
    device: Device = "auto",
    seed: Seed = 0,
    threads: Threads = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue from OUTPUT.ckpt if present.", show_default=False),
    ] = False,
    dp_epsilon: Annotated[
        float | None,
        typer.Option(
            "--dp-epsilon",
            metavar="E",
            help="Fit with (E, delta)-differential privacy (tables: vae, cgan, ar): DP-SGD and "
            "noisy statistics; the model file records the accounting.",
            show_default=False,
        ),
    ] = None,
    dp_delta: Annotated[
        float | None,
        typer.Option(
            "--dp-delta",
            metavar="D",
            help="Delta of --dp-epsilon (default 1/n^2 for n rows; must be below 1/n).",
            show_default=False,
        ),
    ] = None,
    rare_values: Annotated[
        str,
        typer.Option(
            "--rare-values",
            metavar="MODE",
            help="Tables: categories seen fewer than --rare-min-count times are generated as a "
            "placeholder ('placeholder'; columns with a declared category list: sampled) or as "
            "one of the common categories ('sample').",
        ),
    ] = "placeholder",
    rare_min_count: Annotated[
        int,
        typer.Option(
            "--rare-min-count",
            metavar="K",
            help="Tables: no category held by fewer than K rows (noisy K) is generated and "
            "numbers are clipped to the K-th smallest and largest value; 0 turns this off.",
        ),
    ] = 5,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Fit a generator to a table or an image set (the schema's kind decides).

    Started by torchrun (`torchrun --nproc-per-node P -m synthgen fit ...`), the P processes
    train one model together (gloo on CPU, NCCL on GPU, each on its share of every batch);
    rank 0 writes the model file.

    \b
    Examples:
      synthgen fit train.csv --schema adult.yaml --kind vae -o model.synth
      synthgen fit train.npz --schema mnist.yaml --epochs 10 -o mnist-model.synth
      synthgen fit train.csv --schema adult.yaml --dp-epsilon 3 -o private.synth
    """
    chosen = kind or model
    out = output or Path(f"{data.stem}.{chosen or 'model'}.synth")
    require_file(data, "Data file")  # cheap checks first: the heavy imports take seconds
    require_file(schema, "Schema file")
    check_output(out, overwrite=overwrite, inputs=[data, schema])
    from synthgen.jobs.fit import fit_to_file

    summary = fit_to_file(
        data,
        schema,
        out,
        model=chosen,
        epochs=epochs,
        batch_size=batch_size,
        device=device,
        seed=seed,
        resume=resume,
        overwrite=overwrite,
        progress=not quiet,
        model_options=key_values(model_option, "--model-option"),
        threads=threads,
        privacy={
            "dp_epsilon": dp_epsilon,
            "dp_delta": dp_delta,
            "rare_values": rare_values,
            "rare_min_count": rare_min_count,
        },
    )
    if not summary["written"]:
        return  # another torchrun process than rank 0: rank 0 writes and reports
    dp = summary.get("privacy")
    spent = f", epsilon {dp['epsilon_spent']:.3g} of {dp['epsilon']:g}" if dp else ""
    console.print(
        f"[green]wrote[/] {out}  ({summary['epochs_run']} epochs"
        f"{', stopped early' if summary['stopped_early'] else ''}, "
        f"{summary['fit_seconds']:.1f} s{spent})"
    )


def generate(
    model: Annotated[
        Path, typer.Argument(metavar="MODEL", help="Model file written by synthgen fit.")
    ],
    rows: Annotated[
        int,
        typer.Option("--rows", "-n", metavar="N", help="Exactly this many rows are written."),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="OUT",
            help="Output file (default: MODEL-stem.synthetic.FORMAT).",
            show_default=False,
        ),
    ] = None,
    condition: Annotated[
        list[str] | None,
        typer.Option(
            "--condition",
            "-c",
            metavar="COLUMN=VALUE",
            help="A value every row must have (repeatable).",
            show_default=False,
        ),
    ] = None,
    seed: FileSeed = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="Tables: parquet, csv or jsonl. Images: npz, or png for a folder with one "
            "subfolder per label. Default: from the output's suffix.",
            show_default=False,
        ),
    ] = None,
    device: Device = "auto",
    shards: Annotated[
        int | None,
        typer.Option(
            "--shards",
            metavar="K",
            help="Write a Parquet dataset: OUT is a folder of K files (whole blocks of "
            "65,536 rows each) and a manifest written last. Re-running resumes.",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            metavar="local|ray",
            help="With --shards: processes on this machine (local, the default) or one Ray "
            "task per shard (ray; needs synthgen[ray]).",
            show_default=False,
        ),
    ] = None,
    ray_address: RayAddress = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            metavar="N",
            help="With --shards: at most N shards at once (default: the CPU count).",
            show_default=False,
        ),
    ] = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Generate synthetic rows (or images) from a model file, streamed to disk.

    Every row meets the conditions: exactly for the model's condition columns, by bounded
    rejection for others. Rows are made in blocks of 65,536, each from its own random stream,
    so the same model, seed and conditions give the same rows however many shards make them.

    \b
    Examples:
      synthgen generate adult.synth --rows 10000 -o synthetic.parquet -c 'income=>50K'
      synthgen generate mnist.synth --rows 1000 -o digits --format png -c digit=3
    """
    if fmt is not None and fmt not in FORMATS:
        raise typer.BadParameter(
            f"'{fmt}' is not one of {', '.join(FORMATS)}.", param_hint="--format"
        )
    if shards is None and (engine is not None or ray_address is not None or workers is not None):
        raise typer.BadParameter(
            "--engine, --ray-address and --workers apply to a sharded run; add --shards K.",
            param_hint="--shards",
        )
    if shards is not None and device not in ("auto", "cpu"):
        raise typer.BadParameter(
            "a sharded run computes on CPU workers; leave out --device or give cpu.",
            param_hint="--device",
        )
    if shards is not None:
        _generate_shards(
            model,
            rows,
            output,
            condition,
            seed,
            fmt,
            shards,
            engine,
            ray_address,
            workers,
            overwrite,
            quiet,
        )
        return
    require_file(model, "Model file")  # cheap checks first: the heavy imports take seconds
    if output is not None:
        check_output(output, overwrite=overwrite, inputs=[model], directory=fmt == "png")
    from synthgen.jobs.conditions import parse_conditions
    from synthgen.jobs.generate import default_output, generate_to_file

    output = output or default_output(model, fmt)
    result = generate_to_file(
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


def _generate_shards(
    model,
    rows,
    output,
    condition,
    seed,
    fmt,
    shards,
    engine,
    ray_address,
    workers,
    overwrite,
    quiet,
) -> None:
    if fmt not in (None, "parquet"):
        raise typer.BadParameter(
            "a sharded run writes Parquet files; leave out --format or give parquet.",
            param_hint="--format",
        )
    if engine is not None and engine not in ("local", "ray"):
        raise typer.BadParameter(f"'{engine}' is not local or ray.", param_hint="--engine")
    require_file(model, "Model file")
    from synthgen.jobs.conditions import parse_conditions
    from synthgen.jobs.shards import generate_shards

    out = output or Path(f"{model.stem}.synthetic")
    manifest = generate_shards(
        model,
        rows,
        out,
        shards=shards,
        engine=engine or "local",
        ray_address=ray_address,
        conditions=parse_conditions(condition),
        seed=seed,
        workers=workers,
        overwrite=overwrite,
        progress=not quiet,
    )
    console.print(
        f"[green]wrote[/] {manifest['rows']} rows to {out}/ ({len(manifest['files'])} Parquet "
        f"files, blocks of {manifest['block_rows']} rows, manifest {out}/_manifest.json)"
    )


def register(app: typer.Typer) -> None:
    """Add fit and generate to the synthgen app."""
    app.command("fit", short_help="Fit a generator to a table or an image set.")(fit)
    app.command("generate", short_help="Generate rows or images from a model file.")(generate)
