"""Augment a real table with synthetic rows made by exact conditional generation.

Three ways to say how many rows to add (exactly one per call):

``balance="COL"``
    For every class ``v`` of ``COL`` found in the data (missing values are not a class), add
    ``max_count - count(v)`` rows generated under the condition ``COL = v``; afterwards every
    class has the majority class's count.
``rows=N``
    Add ``N`` rows sampled from the model without conditions (the model's own distribution).
``ratios=["COL=VALUE:r", ...]``
    For each entry add ``round(r * count(VALUE))`` rows generated under ``COL = VALUE``, where
    ``count(VALUE)`` is the number of real rows with that value. ``r`` is a positive number:
    ``income=>50K:1`` doubles the ``>50K`` rows, ``:0.5`` adds half as many again. The value is
    everything between the first ``=`` and the last ``:``; each ``COL=VALUE`` may appear once.

The output is the real rows (first, unchanged) then the synthetic rows, with a boolean
``_synthetic`` provenance column unless ``provenance=False``. Synthetic rows are validated
against the schema like ``generate``'s output before the file is published; the file is
written in chunks to a temp file and renamed into place only when complete.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.errors import DataError, UsageError
from synthgen.schema import TableSchema, category_label

PROVENANCE = "_synthetic"
_CONDITIONABLE = ("categorical", "boolean", "integer")

__all__ = [
    "PROVENANCE",
    "AugmentPlan",
    "augment",
    "augment_to_file",
    "parse_ratio",
    "plan_augmentation",
]


@dataclass
class AugmentPlan:
    """How many synthetic rows to make under which condition.

    ``batches`` is a list of ``(conditions, rows)``; ``counts`` holds the real class counts of
    the planned column (empty for ``rows=N``).
    """

    mode: str
    column: str | None
    batches: list[tuple[dict[str, str], int]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def synthetic_rows(self) -> int:
        return sum(n for _, n in self.batches)

    def counts_after(self) -> dict[str, int]:
        """Class counts of ``column`` once the synthetic rows are added (``balance``/``ratio``)."""
        after = dict(self.counts)
        for cond, n in self.batches:
            if self.column is not None and self.column in cond:
                value = cond[self.column]
                after[value] = after.get(value, 0) + n
        return after


def parse_ratio(item: str) -> tuple[str, str, float]:
    """``"income=>50K:1.5"`` -> ``("income", ">50K", 1.5)``; UsageError when malformed."""
    head, sep, raw = item.rpartition(":")
    if not sep or "=" not in head:
        raise UsageError(
            f"--ratio '{item}' must look like COLUMN=VALUE:RATIO (e.g. income=>50K:1)."
        )
    column, value = (part.strip() for part in head.split("=", 1))
    try:
        ratio = float(raw)
    except ValueError:
        raise UsageError(f"--ratio '{item}': '{raw}' is not a number.") from None
    if not column:
        raise UsageError(f"--ratio '{item}' names no column before '='.")
    if not math.isfinite(ratio) or ratio <= 0:
        raise UsageError(f"--ratio '{item}': the ratio must be a positive number, got {raw}.")
    return column, value, ratio


def _check_column(schema: TableSchema, column: str, option: str) -> None:
    names = schema.column_names
    if column not in names:
        raise UsageError(
            f"{option} names column '{column}', which is not in schema '{schema.name}'; "
            f"columns: {', '.join(names)}."
        )
    spec = schema.column(column)
    if spec.type not in _CONDITIONABLE or spec.pii:
        raise UsageError(
            f"{option} {column}: '{column}' is a {spec.type}{' pii' if spec.pii else ''} column; "
            "classes can be balanced or scaled only on categorical, boolean or integer columns."
        )


def _labels(series: pd.Series) -> pd.Series:
    """Non-missing values of a typed column as category labels ("3", "True", ">50K")."""
    values = series.dropna()
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
        return values.astype(object).map(category_label)
    return values.astype(str)


def class_counts(series: pd.Series) -> dict[str, int]:
    """Real class counts of a typed column, most frequent first (ties by label)."""
    counts = _labels(series).value_counts()
    items = sorted(counts.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
    return {str(k): int(v) for k, v in items}


def plan_augmentation(
    counts_of: Any,
    schema: TableSchema,
    *,
    balance: str | None = None,
    rows: int | None = None,
    ratios: list[str] | None = None,
) -> AugmentPlan:
    """Work out the synthetic batches. ``counts_of(column) -> {label: count}`` gives real counts
    (a callable, so callers can count a file in one streaming pass)."""
    given = [balance is not None, rows is not None, bool(ratios)]
    if sum(given) != 1:
        raise UsageError(
            "Say how to augment with exactly one of --balance COL, --rows N or --ratio "
            f"COL=VALUE:r (got {sum(given)} of them)."
        )
    if rows is not None:
        if rows <= 0:
            raise UsageError(f"--rows must be a positive number of rows, got {rows}.")
        return AugmentPlan("rows", None, [({}, int(rows))])
    if balance is not None:
        _check_column(schema, balance, "--balance")
        counts = counts_of(balance)
        if not counts:
            raise DataError(f"--balance {balance}: the column holds no values in the data.")
        top = max(counts.values())
        batches = [({balance: v}, top - n) for v, n in counts.items() if top - n > 0]
        return AugmentPlan("balance", balance, batches, counts)
    parsed = [parse_ratio(item) for item in ratios or []]
    seen: set[tuple[str, str]] = set()
    batches = []
    all_counts: dict[str, dict[str, int]] = {}
    for column, value, ratio in parsed:
        if (column, value) in seen:
            raise UsageError(f"--ratio gives {column}={value} more than once.")
        seen.add((column, value))
        _check_column(schema, column, "--ratio")
        if column not in all_counts:
            all_counts[column] = counts_of(column)
        have = all_counts[column].get(value, 0)
        if have == 0:
            known = ", ".join(list(all_counts[column])[:30])
            raise UsageError(
                f"--ratio {column}={value}:{ratio:g}: no row of the data has {column}={value}, "
                f"so there is nothing to scale. Values present: {known}."
            )
        n = int(round(ratio * have))
        if n > 0:
            batches.append(({column: value}, n))
    columns = sorted({c for c, _, _ in parsed})
    column = columns[0] if len(columns) == 1 else None
    counts = all_counts[column] if column is not None else {}
    return AugmentPlan("ratio", column, batches, counts)


def _batch_seed(seed: int, index: int) -> int:
    """Independent, reproducible seed for the ``index``-th synthetic batch."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint32)[0])


def _synthetic_chunks(
    synth: Any, plan: AugmentPlan, seed: int, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    for i, (conditions, n) in enumerate(plan.batches):
        yield from synth.iter_sample(
            n, conditions, seed=_batch_seed(seed, i), chunk_rows=chunk_rows
        )


def _with_provenance(frame: pd.DataFrame, synthetic: bool) -> pd.DataFrame:
    out = frame.copy()
    out[PROVENANCE] = pd.array(np.full(len(out), synthetic), dtype="boolean")
    return out


def _check_provenance_name(schema: TableSchema, provenance: bool) -> None:
    if provenance and PROVENANCE in schema.column_names:
        raise UsageError(
            f"Schema '{schema.name}' already has a column '{PROVENANCE}'; use --no-provenance "
            "or rename that column."
        )


def augment(
    data: pd.DataFrame,
    synthesizer: Any,
    *,
    balance: str | None = None,
    rows: int | None = None,
    ratios: list[str] | None = None,
    seed: int | None = None,
    provenance: bool = True,
) -> pd.DataFrame:
    """In memory: the typed ``data`` (see ``synthgen.io.read_table``) plus synthetic rows from a
    fitted :class:`~synthgen.synthesizer.TabularSynthesizer` (see the module docstring)."""
    from synthgen.tabular.io.read import validate_frame

    synthesizer._check_fitted()
    schema = synthesizer.schema_
    _check_provenance_name(schema, provenance)
    typed = validate_frame(data, schema, source="augment data")
    plan = plan_augmentation(
        lambda col: class_counts(typed[col]), schema, balance=balance, rows=rows, ratios=ratios
    )
    seed = synthesizer.seed if seed is None else seed
    synthetic = list(_synthetic_chunks(synthesizer, plan, seed, 100_000))
    parts = [_with_provenance(typed, False) if provenance else typed]
    parts += [_with_provenance(c, True) if provenance else c for c in synthetic]
    return pd.concat(parts, ignore_index=True)


def _count_file(
    path: Path, schema: TableSchema, chunk_rows: int, columns: list[str]
) -> tuple[int, Any]:
    """One streaming pass: the row count and the class counts of ``columns``."""
    from synthgen.tabular.io.read import iter_table

    known = set(schema.column_names)
    wanted = [c for c in dict.fromkeys(columns) if c in known]
    totals: dict[str, pd.Series] = {}
    n = 0
    for chunk in iter_table(path, schema, chunksize=chunk_rows):
        n += len(chunk)
        for col in wanted:
            vc = _labels(chunk[col]).value_counts()
            totals[col] = vc if col not in totals else totals[col].add(vc, fill_value=0)

    def counts_of(column: str) -> dict[str, int]:
        series = totals.get(column, pd.Series(dtype="int64"))
        items = sorted(series.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
        return {str(k): int(v) for k, v in items}

    return n, counts_of


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
    from rich.progress import Progress

    from synthgen.outputs import atomic_output, check_output
    from synthgen.tabular.checks import OutputValidator
    from synthgen.tabular.io.read import TableWriter, iter_table, table_format
    from synthgen.tabular.synthesizer import TabularSynthesizer

    data, model_path, output = Path(data), Path(model_path), Path(output)
    inputs = [data, model_path]
    check_output(output, overwrite=overwrite, inputs=inputs)
    fmt = table_format(output, fmt)
    if chunk_rows < 1:
        raise UsageError(f"chunk_rows must be positive, got {chunk_rows}.")
    synth = TabularSynthesizer.load(model_path, device=device)
    schema = synth.schema_
    _check_provenance_name(schema, provenance)
    columns = [balance] if balance is not None else [parse_ratio(r)[0] for r in ratios or []]
    n_real, counts_of = _count_file(data, schema, chunk_rows, columns)
    plan = plan_augmentation(counts_of, schema, balance=balance, rows=rows, ratios=ratios)
    seed = synth.seed if seed is None else seed
    n_syn = plan.synthetic_rows
    validator = OutputValidator(schema, max(n_syn, 1), seed=0) if validate and n_syn else None
    with atomic_output(output, overwrite=overwrite, inputs=inputs) as tmp:
        with TableWriter(tmp, fmt, schema) as writer, Progress(disable=not progress) as bar:
            task = bar.add_task("augmenting", total=n_real + n_syn)
            for chunk in iter_table(data, schema, chunksize=chunk_rows):
                writer.write(_with_provenance(chunk, False) if provenance else chunk)
                bar.advance(task, len(chunk))
            for chunk in _synthetic_chunks(synth, plan, seed, chunk_rows):
                if validator is not None:
                    validator.check(chunk)
                writer.write(_with_provenance(chunk, True) if provenance else chunk)
                bar.advance(task, len(chunk))
        result = validator.finish(output) if validator is not None else None
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
