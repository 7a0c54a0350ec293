"""Checks on generated output before it is published.

Every chunk is validated against the schema in full (vectorised: types, ranges, categories,
nulls, missing-value tokens); a uniform sample of rows is then run through the
great-expectations suite built from the schema. A failure leaves the target untouched and
writes the validation result beside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from synthgen.errors import DataError, GenerationError, OutputError
from synthgen.outputs import atomic_output
from synthgen.schema import TableSchema

GX_SAMPLE_ROWS = 20_000


class OutputValidator:
    """Validate chunks as they stream; keep an even sample of rows for the GX suite."""

    def __init__(
        self,
        schema: TableSchema,
        total_rows: int,
        *,
        seed: int = 0,
        sample_rows: int = GX_SAMPLE_ROWS,
        valid_columns: frozenset[str] = frozenset(),
    ) -> None:
        """``valid_columns``: categorical columns whose values are valid by construction
        (``TabularSynthesizer.columns_valid_by_construction``); only their type and missing
        values are checked."""
        self.schema = schema
        self.valid_columns = frozenset(valid_columns)
        self.total_rows = total_rows
        self.sample_rows = sample_rows
        self.rng = np.random.default_rng(seed)
        # kept as Arrow tables (Arrow's memory pool): thousands of small frames left on the
        # malloc heap between large transient chunks fragment it, and RSS creeps up with N
        self.samples: list[pa.Table | pd.DataFrame] = []
        self.dtypes: dict[str, Any] = {}
        self.seen = 0
        self.problems: list[str] = []

    def check(self, chunk: pd.DataFrame) -> None:
        """Validate every row of a chunk. A typed chunk (what generation yields) is checked in
        a few vectorised passes per column; one that is not typed, or that fails, goes through
        the full conversion check of ``validate_frame``, which also words the problems."""
        from synthgen.tabular.io import validate_frame

        if not typed_chunk_ok(chunk, self.schema, self.valid_columns):
            try:
                validate_frame(chunk, self.schema, source="generated rows", row_offset=self.seen)
            except DataError as err:
                self.problems.append(err.message)
        self._keep_sample(chunk)

    def _keep_sample(self, chunk: pd.DataFrame) -> None:
        """Keep a share of each chunk so the sample is spread evenly over all rows."""
        k = min(len(chunk), int(np.ceil(len(chunk) * self.sample_rows / max(self.total_rows, 1))))
        pick = np.sort(self.rng.choice(len(chunk), size=k, replace=False))
        self.dtypes = self.dtypes or dict(chunk.dtypes)
        rows = chunk.iloc[pick]
        try:
            self.samples.append(pa.Table.from_pandas(rows, preserve_index=False))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # untyped: Arrow cannot hold it
            self.samples.append(rows)
        self.seen += len(chunk)

    def absorb(self, sample: pd.DataFrame | None, seen: int) -> None:
        """Add the kept rows of a validator that checked ``seen`` rows elsewhere (a shard made
        in another process), as if its chunks had been checked here."""
        if sample is not None and len(sample):
            self.dtypes = self.dtypes or dict(sample.dtypes)
            try:
                self.samples.append(pa.Table.from_pandas(sample, preserve_index=False))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
                self.samples.append(sample)
        self.seen += int(seen)

    def sample(self) -> pd.DataFrame:
        """The kept rows as one frame, with the chunks' dtypes."""
        if all(isinstance(piece, pa.Table) for piece in self.samples):
            # an all-missing column in one chunk is Arrow type null: promoted, not refused
            frame = pa.concat_tables(self.samples, promote_options="permissive").to_pandas()
            try:
                return frame.astype(self.dtypes)
            except (TypeError, ValueError):
                return frame
        pieces = [p.to_pandas() if isinstance(p, pa.Table) else p for p in self.samples]
        return pd.concat(pieces, ignore_index=True)

    def finish(self, target: str | Path, *, overwrite: bool = False) -> dict[str, Any]:
        """Run the GX suite on the sample; on any failure write the result to
        ``TARGET.validation.json`` (atomically; an existing one only with ``overwrite``) and
        raise."""
        from synthgen.tabular.evaluate.validity import validate_synthetic

        sample = self.sample()
        result = validate_synthetic(sample, self.schema)
        summary = {
            "success": bool(result.success) and not self.problems,
            "rows_checked_in_full": self.seen,
            "gx_sample_rows": len(sample),
            "schema_problems": self.problems,
            "great_expectations": result.to_dict(),
        }
        if not summary["success"]:
            report = Path(f"{target}.validation.json")
            where = f"The validation result is in {report}."
            try:
                with atomic_output(report, overwrite=overwrite) as tmp:
                    tmp.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
            except OutputError as err:
                where = f"The validation result was not written: {err.template}"
            raise GenerationError(
                f"Generated rows failed validation against the schema, so {target} was not "
                f"written. {where}"
            )
        return {k: v for k, v in summary.items() if k != "great_expectations"}


def typed_chunk_ok(
    frame: pd.DataFrame, schema: TableSchema, valid_columns: frozenset[str] = frozenset()
) -> bool:
    """Whether ``frame`` is a typed frame of ``schema`` that ``validate_frame`` would accept:
    the schema's columns in order, each with its typed dtype, no missing values where the
    column is not nullable and no missing-value tokens standing as values, categories within
    the declared set, numbers finite and within min/max. False means "not shown to be valid"
    (the caller runs the full check); every test is one vectorised pass (Arrow or numpy).
    Categorical ``valid_columns`` (values valid by construction) are checked for their type
    and missing values only."""
    if [str(c) for c in frame.columns] != schema.column_names:
        return False
    tokens = set(schema.missing_values)
    for spec, (_, col) in zip(schema.columns, frame.items(), strict=True):
        dtype = col.dtype
        if spec.type in ("categorical", "id"):
            if not isinstance(dtype, pd.StringDtype):
                return False
            if spec.name in valid_columns and spec.type == "categorical":
                if not spec.nullable and col.isna().any():
                    return False
                continue
            arr = pa.array(col.array, type=pa.large_string())
            if arr.null_count and not spec.nullable:
                return False
            seen = set(pc.unique(arr).drop_null().to_pylist())
            if seen & tokens:  # read back as missing: validate_frame decides
                return False
            cats = spec.categories
            if cats is not None and not seen <= set(cats):
                return False
        elif spec.type in ("integer", "continuous"):
            want = "Int64" if spec.type == "integer" else "float64"
            if str(dtype) != want:
                return False
            vals = col.to_numpy(dtype="float64", na_value=np.nan)
            missing = np.isnan(vals)
            if np.isinf(vals).any() or (missing.any() and not spec.nullable):
                return False
            if missing.all():
                continue
            if spec.min is not None and np.nanmin(vals) < spec.min:
                return False
            if spec.max is not None and np.nanmax(vals) > spec.max:
                return False
        elif spec.type == "boolean":
            if str(dtype) != "boolean" or (not spec.nullable and col.isna().any()):
                return False
        elif spec.type == "datetime":
            if str(dtype) != "datetime64[ns]" or (not spec.nullable and col.isna().any()):
                return False
        else:  # pragma: no cover - a column type this check does not know
            return False
    return True
