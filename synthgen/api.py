"""File-level operations behind the CLI: each command calls one function here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.errors import SchemaError
from synthgen.outputs import check_output
from synthgen.schema import TableSchema, load_schema


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
    from synthgen.io import read_table
    from synthgen.synthesizer import TabularSynthesizer

    output = Path(output)
    check_output(output, overwrite=overwrite, inputs=[data, schema_path])
    schema = load_table_schema(schema_path)
    synth = TabularSynthesizer(
        model, epochs=epochs, batch_size=batch_size, seed=seed, device=device, progress=progress
    )
    synth.train_config()  # refuse bad --epochs/--batch-size/--model before reading data
    resolve_device(device)
    frame = read_table(data, schema)
    checkpoint = Path(f"{output}.ckpt")
    synth.fit(frame, schema, checkpoint=checkpoint, resume=resume)
    synth.save(output, overwrite=overwrite, inputs=[data, schema_path])
    checkpoint.unlink(missing_ok=True)
    return {**synth.training_, "fit_seconds": synth.fit_seconds_}
