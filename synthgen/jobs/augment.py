"""Write a real table plus synthetic rows made by exact conditional generation, streamed and
atomically (see :mod:`synthgen.tabular.augment` for the three ways to say what to add)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.core.estimator import check_seed
from synthgen.core.progress import phase
from synthgen.errors import UsageError, param
from synthgen.jobs.kinds import load_estimator
from synthgen.outputs import atomic_output, check_output
from synthgen.tabular.augment import (
    check_provenance_name,
    count_file,
    parse_ratio,
    plan_augmentation,
    synthetic_chunks,
    with_provenance,
)
from synthgen.tabular.checks import OutputValidator
from synthgen.tabular.io import TableWriter, iter_table, table_format


def augment_to_file(
    data: str | Path,
    model_path: str | Path,
    output: str | Path,
    *,
    balance: str | None = None,
    rows: int | None = None,
    ratios: list[str] | None = None,
    fmt: str | None = None,
    seed: int | None = None,
    provenance: bool = True,
    device: str = "auto",
    overwrite: bool = False,
    chunk_rows: int = 100_000,
    progress: bool = True,
    validate: bool = True,
) -> dict[str, Any]:
    """Write ``data`` plus synthetic rows from ``model_path`` to ``output`` (atomic, streamed).

    ``data`` is read (and validated) with the model's schema. Returns a summary: rows written,
    real and synthetic row counts, class counts before and after, and the validation result.
    """
    data, model_path, output = Path(data), Path(model_path), Path(output)
    if seed is not None:
        check_seed(seed, "seed")
    inputs = [data, model_path]
    check_output(output, overwrite=overwrite, inputs=inputs)
    fmt = table_format(output, fmt)
    if chunk_rows < 1:
        raise UsageError(f"chunk_rows must be positive, got {chunk_rows}.")
    synth = load_estimator(model_path, "generator", device=device)
    if synth.data != "table":
        raise UsageError(
            f"{param('model')} {model_path} generates images; augment works on tables.",
            param="model",
        )
    schema = synth.schema_
    check_provenance_name(schema, provenance)
    columns = [balance] if balance is not None else [parse_ratio(r)[0] for r in ratios or []]
    n_real, counts_of = count_file(data, schema, chunk_rows, columns)
    plan = plan_augmentation(counts_of, schema, balance=balance, rows=rows, ratios=ratios)
    seed = synth.random_seed if seed is None else seed
    n_syn = plan.synthetic_rows
    validator = OutputValidator(schema, max(n_syn, 1), seed=0) if validate and n_syn else None
    with atomic_output(output, overwrite=overwrite, inputs=inputs) as tmp:
        with (
            TableWriter(tmp, schema, format=fmt) as writer,
            phase(progress, "augmenting", n_real + n_syn) as advance,
        ):
            for chunk in iter_table(data, schema, chunksize=chunk_rows):
                writer.write(with_provenance(chunk, False) if provenance else chunk)
                advance(len(chunk))
            for chunk in synthetic_chunks(synth, plan, seed, chunk_rows):
                if validator is not None:
                    validator.check(chunk)
                writer.write(with_provenance(chunk, True) if provenance else chunk)
                advance(len(chunk))
        result = validator.finish(output, overwrite=overwrite) if validator is not None else None
    return {
        "output": str(output),
        "format": fmt,
        "mode": plan.mode,
        "column": plan.column,
        "rows": n_real + n_syn,
        "real_rows": n_real,
        "synthetic_rows": n_syn,
        "added": {
            ", ".join(f"{k}={v}" for k, v in cond.items()) or "(unconditional)": n
            for cond, n in plan.batches
        },
        "counts_before": plan.counts,
        "counts_after": plan.counts_after() if plan.column else {},
        "provenance": provenance,
        "validation": result,
    }
