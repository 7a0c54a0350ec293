"""File-level operations behind the CLI: each command calls one function here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.errors import SchemaError, UsageError
from synthgen.outputs import check_output
from synthgen.schema import ImageSchema, TableSchema, load_schema


def load_table_schema(path: str | Path) -> TableSchema:
    """A schema file that must describe a table."""
    schema = load_schema(path)
    if not isinstance(schema, TableSchema):
        raise SchemaError(f"Schema {path} describes images; this command needs a table schema.")
    return schema


def fit_to_file(
    data: str | Path,
    schema_path: str | Path,
    output: str | Path,
    *,
    model: str = "vae",
    epochs: int | None = None,
    batch_size: int | None = None,
    device: str = "auto",
    seed: int = 0,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Read and validate ``data``, fit a model, write it atomically to ``output``.

    Training checkpoints go to ``OUTPUT.ckpt`` (for ``--resume``) and are removed once the model
    file is written.
    """
    from synthgen.device import resolve_device

    output = Path(output)
    check_output(output, overwrite=overwrite, inputs=[data, schema_path])
    schema = load_schema(schema_path)
    options = dict(epochs=epochs, batch_size=batch_size, seed=seed, device=device)
    if isinstance(schema, ImageSchema):
        from synthgen.images.io.read import read_images as read
        from synthgen.images.synthesizer import ImageSynthesizer

        synth = ImageSynthesizer(model, progress=progress, **options)
        synth.check_params()  # refuse bad --model/--epochs/--batch-size before reading data
    else:
        from synthgen.tabular.io.read import read_table as read
        from synthgen.tabular.synthesizer import TabularSynthesizer

        synth = TabularSynthesizer(model, progress=progress, **options)
        synth.train_config()  # the same refusals for tables
    resolve_device(device)
    checkpoint = Path(f"{output}.ckpt")
    synth.fit(read(data, schema), schema, checkpoint=checkpoint, resume=resume)
    synth.save(output, overwrite=overwrite, inputs=[data, schema_path])
    checkpoint.unlink(missing_ok=True)
    return {**synth.training_, "fit_seconds": synth.fit_seconds_}


def generate_file(
    model_path: str | Path,
    rows: int,
    output: str | Path,
    *,
    fmt: str | None = None,
    conditions: dict[str, str] | None = None,
    seed: int | None = None,
    device: str = "auto",
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate from a table or image model file, whichever ``model_path`` holds."""
    from synthgen.core.modelfile import peek_kind

    kwargs = dict(
        fmt=fmt,
        conditions=conditions,
        seed=seed,
        device=device,
        overwrite=overwrite,
        progress=progress,
    )
    if (peek_kind(model_path) or "").startswith("image"):
        from synthgen.jobs.generate_images import generate_images_to_file

        return generate_images_to_file(model_path, rows, output, **kwargs)
    from synthgen.tabular.sampler import generate_to_file

    if fmt is not None and fmt not in ("parquet", "csv", "jsonl"):
        raise UsageError(f"--format {fmt} does not apply to tables; use parquet, csv or jsonl.")
    return generate_to_file(model_path, rows, output, **kwargs)
