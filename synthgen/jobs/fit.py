"""Fit a generator to a data file and write the model file: tables and images alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.core import distributed
from synthgen.core.checkpoint import is_checkpoint
from synthgen.errors import OutputError, UsageError, param
from synthgen.jobs.kinds import data_of, default_kind, estimator_class, read_data, schema_of
from synthgen.outputs import check_output
from synthgen.tabular.io.dataset import ParquetDataset, is_parquet_dataset


def fit_to_file(
    data: str | Path,
    schema_path: str | Path,
    output: str | Path,
    *,
    model: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    device: str = "auto",
    seed: int = 0,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    model_options: dict[str, Any] | None = None,
    threads: int | None = None,
    privacy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Read and check ``data`` with its schema, fit a generator (the schema's kind picks the
    table or image estimator), write the model atomically to ``output``.

    Training checkpoints go to ``OUTPUT.ckpt`` (``resume`` continues from it) and are removed
    once the model file is written. A file there that is not a synthgen checkpoint is refused;
    an earlier fit's checkpoint is replaced only with ``resume`` (which continues it) or
    ``overwrite``.

    ``data`` may be a Parquet dataset (a folder of Parquet files) for a table schema: it is
    fitted out of core (``synthgen.tabular.stream_source``), kinds ar and vae.

    ``privacy`` holds the table estimator's privacy parameters (``dp_epsilon``, ``dp_delta``,
    ``rare_values``, ``rare_min_count``); images have none.

    Under ``torchrun`` every process runs this (see ``core/distributed.py``); rank 0 alone
    writes the model file (``written`` in the summary says whether this process did).
    """
    output = Path(output)
    check_output(output, overwrite=overwrite, inputs=[data, schema_path])
    schema = schema_of(schema_path)
    kind = data_of(schema)
    cls = estimator_class(kind, "generator")
    privacy = {k: v for k, v in (privacy or {}).items() if v is not None}
    if kind != "table":
        if privacy.get("dp_epsilon") is not None or privacy.get("dp_delta") is not None:
            raise UsageError(
                f"{param('dp_epsilon')} applies to tables (vae, cgan, ar); image kinds have no "
                "differentially private training yet.",
                param="dp_epsilon",
            )
        privacy = {}
    synth = cls(
        model or default_kind(kind, "generator"),
        epochs=epochs,
        batch_size=batch_size,
        random_state=seed,
        device=device,
        progress=progress,
        model_options=model_options,
        threads=threads,
        **privacy,
    )
    synth.check_params()  # a bad kind, option, seed or device is refused before reading data
    distributed.refuse_unsupported(resume=resume, private=privacy.get("dp_epsilon") is not None)
    synth.train_config()
    checkpoint = Path(f"{output}.ckpt")
    if checkpoint.exists() or checkpoint.is_symlink():
        if checkpoint.is_symlink() or not is_checkpoint(checkpoint):
            raise OutputError(
                f"{checkpoint} exists and is not a synthgen checkpoint; fit keeps its training "
                "checkpoints there. Move it or choose another output."
            )
        if not (resume or overwrite):
            raise OutputError(
                f"{checkpoint} holds the checkpoint of an earlier fit; pass {param('resume')} "
                f"to continue it or {param('overwrite')} to start afresh (it is then replaced)."
            )
    if kind == "table" and is_parquet_dataset(data):  # a folder of Parquet files: out of core
        rows = ParquetDataset(data, schema)
    else:
        rows = read_data(data, schema)
    synth.fit(rows, schema, checkpoint=checkpoint, resume=resume)
    written = distributed.is_main()
    if written:
        synth.save(output, overwrite=overwrite, inputs=[data, schema_path])
        checkpoint.unlink(missing_ok=True)
    dp = (getattr(synth, "privacy_", None) or {}).get("differential_privacy")
    return {
        **synth.training_,
        "fit_seconds": synth.fit_seconds_,
        "data": kind,
        "privacy": dp,
        "written": written,
    }
