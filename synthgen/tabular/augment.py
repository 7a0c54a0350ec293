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
``_synthetic`` provenance column unless ``provenance=False``. The file job is
:func:`synthgen.jobs.augment.augment_to_file`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.errors import DataError, UsageError, param
from synthgen.schema import TableSchema, category_label
from synthgen.tabular.io import iter_table, validate_frame

PROVENANCE = "_synthetic"
_CONDITIONABLE = ("categorical", "boolean", "integer")

__all__ = [
    "PROVENANCE",
    "AugmentPlan",
    "augment",
    "check_provenance_name",
    "count_file",
    "parse_ratio",
    "plan_augmentation",
    "synthetic_chunks",
    "with_provenance",
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
            f"{param('ratios')} '{item}' must look like COLUMN=VALUE:RATIO (e.g. income=>50K:1)."
        )
    column, value = (part.strip() for part in head.split("=", 1))
    try:
        ratio = float(raw)
    except ValueError:
        raise UsageError(f"{param('ratios')} '{item}': '{raw}' is not a number.") from None
    if not column:
        raise UsageError(f"{param('ratios')} '{item}' names no column before '='.")
    if not math.isfinite(ratio) or ratio <= 0:
        raise UsageError(
            f"{param('ratios')} '{item}': the ratio must be a positive number, got {raw}."
        )
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
            f"Say how to augment with exactly one of {param('balance')} COL, {param('rows')} N "
            f"or {param('ratios')} "
            f"COL=VALUE:r (got {sum(given)} of them)."
        )
    if rows is not None:
        if rows <= 0:
            raise UsageError(f"{param('rows')} must be a positive number of rows, got {rows}.")
        return AugmentPlan("rows", None, [({}, int(rows))])
    if balance is not None:
        _check_column(schema, balance, f"{param('balance')}")
        counts = counts_of(balance)
        if not counts:
            raise DataError(
                f"{param('balance')} {balance}: the column holds no values in the data."
            )
        top = max(counts.values())
        batches = [({balance: v}, top - n) for v, n in counts.items() if top - n > 0]
        return AugmentPlan("balance", balance, batches, counts)
    parsed = [parse_ratio(item) for item in ratios or []]
    seen: set[tuple[str, str]] = set()
    batches = []
    all_counts: dict[str, dict[str, int]] = {}
    for column, value, ratio in parsed:
        if (column, value) in seen:
            raise UsageError(f"{param('ratios')} gives {column}={value} more than once.")
        seen.add((column, value))
        _check_column(schema, column, f"{param('ratios')}")
        if column not in all_counts:
            all_counts[column] = counts_of(column)
        have = all_counts[column].get(value, 0)
        if have == 0:
            known = ", ".join(list(all_counts[column])[:30])
            raise UsageError(
                f"{param('ratios')} {column}={value}:{ratio:g}: no row of the data has "
                f"{column}={value}, "
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


def synthetic_chunks(
    synth: Any, plan: AugmentPlan, seed: int, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    for i, (conditions, n) in enumerate(plan.batches):
        yield from synth.iter_sample(
            n, conditions, seed=_batch_seed(seed, i), chunk_rows=chunk_rows
        )


def with_provenance(frame: pd.DataFrame, synthetic: bool) -> pd.DataFrame:
    out = frame.copy()
    out[PROVENANCE] = pd.array(np.full(len(out), synthetic), dtype="boolean")
    return out


def check_provenance_name(schema: TableSchema, provenance: bool) -> None:
    if provenance and PROVENANCE in schema.column_names:
        raise UsageError(
            f"Schema '{schema.name}' already has a column '{PROVENANCE}'; use "
            f"{param('provenance')} "
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
    synthesizer._check_fitted()
    schema = synthesizer.schema_
    check_provenance_name(schema, provenance)
    typed = validate_frame(data, schema, source="augment data")
    plan = plan_augmentation(
        lambda col: class_counts(typed[col]), schema, balance=balance, rows=rows, ratios=ratios
    )
    seed = synthesizer.random_seed if seed is None else seed
    synthetic = list(synthetic_chunks(synthesizer, plan, seed, 100_000))
    parts = [with_provenance(typed, False) if provenance else typed]
    parts += [with_provenance(c, True) if provenance else c for c in synthetic]
    return pd.concat(parts, ignore_index=True)


def count_file(
    path: Path, schema: TableSchema, chunk_rows: int, columns: list[str]
) -> tuple[int, Any]:
    """One streaming pass: the row count and the class counts of ``columns``."""
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
