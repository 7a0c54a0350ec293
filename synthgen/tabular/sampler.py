"""Sampling rows that meet conditions and constraints, and streaming them to a file.

Conditions on the model's conditioned columns are met by conditioning (exact); others by
bounded rejection. Schema constraints hold on every row: ranges by clipping, inequalities by
rejection, fixed combinations by repair where one column determines the others and by rejection
otherwise (``combinations.py``). id and pii columns get fresh values, never training values.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import torch

from synthgen.dtypes import STRING_DTYPE
from synthgen.errors import GenerationError, UsageError, param
from synthgen.schema import (
    InequalityConstraint,
    RangeConstraint,
    TableSchema,
    category_label,
)
from synthgen.tabular.combinations import FixedCombination
from synthgen.tabular.transform.categorical import OTHER

MAX_ATTEMPT_FACTOR = 50  # rejection draws at most this many candidate rows per requested row
PROBE_ROWS = 2_000


class Sampler:
    """Draws rows from a fitted synthesizer under conditions, constraints and fresh ids."""

    def __init__(self, synth, conditions: dict[str, Any], *, seed: int) -> None:
        self.synth = synth
        self.schema: TableSchema = synth.schema_
        self.transformer = synth.transformer_
        self.model = synth.model_
        self.info = synth.generation_info_ or {}
        self.seed = seed
        self.fixed, self.rejected = self._resolve_conditions(conditions)
        self.torch_gen = torch.Generator(device="cpu")
        self.torch_gen.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.produced = 0
        self._combos = [
            FixedCombination(c["columns"], c["values"])
            for c in self.info.get("fixed_combinations", [])
        ]

    # --- conditions ----------------------------------------------------------------------------
    def _resolve_conditions(self, conditions: dict[str, Any]) -> tuple[dict[str, int], dict]:
        names = [c.name for c in self.schema.columns if c.type != "id" and not c.pii]
        fixed: dict[str, int] = {}
        rejected: dict[str, Any] = {}
        model_cols = self.model.conditionable
        one_only = self.model.kind == "cgan"  # a CTGAN cond vector carries one column
        where = param("conditions")
        for name, raw in conditions.items():
            if name not in names:
                raise UsageError(
                    f"{where} names column '{name}', which the model does not generate; "
                    f"columns: {', '.join(names)}.",
                    param="conditions",
                )
            spec = self.schema.column(name)
            if spec.type in ("categorical", "boolean"):
                value = _discrete_label(raw, spec.type, spec.true_false)
                known = self._known_values(name)
                if value not in known:
                    shown = ", ".join(map(str, known[:30])) + (" ..." if len(known) > 30 else "")
                    raise UsageError(
                        f"{where} {name}={raw}: '{raw}' is not a value the model knows for "
                        f"'{name}'. Known values: {shown}.",
                        param="conditions",
                    )
                slot = self.transformer.category_index(name, value)
                own_slot = self._slot_label(name, slot) == value  # not a grouped "other" slot
                if name in model_cols and own_slot and not (one_only and fixed):
                    fixed[name] = slot
                else:
                    rejected[name] = value
            elif spec.type == "integer":
                try:
                    number = float(raw)
                except ValueError:
                    raise UsageError(
                        f"{where} {name}={raw}: '{raw}' is not a number.",
                        param="conditions",
                    ) from None
                if not number.is_integer():
                    raise UsageError(
                        f"{where} {name}={raw}: '{name}' holds integers.",
                        param="conditions",
                    )
                lo = spec.min if spec.min is not None else -math.inf
                hi = spec.max if spec.max is not None else math.inf
                if not lo <= number <= hi:
                    raise UsageError(
                        f"{where} {name}={raw}: outside the column's range [{lo:g}, {hi:g}].",
                        param="conditions",
                    )
                rejected[name] = int(number)
            else:
                raise UsageError(
                    f"{where} {name}=...: '{name}' is {spec.type}; exact conditions are "
                    "supported on categorical, boolean and integer columns (use a range "
                    "constraint in the schema for continuous ones).",
                    param="conditions",
                )
        return fixed, rejected

    def _slot_label(self, column: str, slot: int) -> str | None:
        for d in self.transformer.discrete_columns_:
            if d.column == column:
                return d.categories[slot]
        return None

    def _known_values(self, column: str) -> list[str]:
        for d in self.transformer.discrete_columns_:
            if d.column == column:
                named = [c for c in d.categories if c is not None and c != OTHER]
                return named + list(getattr(d, "grouped", ()))
        return []

    # --- drawing -------------------------------------------------------------------------------
    def _draw(self, n: int) -> pd.DataFrame:
        sample_draw = getattr(self.model, "sample_draw", None)
        if sample_draw is None:  # a model that only makes the one-hot matrix
            matrix = self.model.sample(n, self.fixed, self.torch_gen).cpu().numpy()
            df = self.transformer.inverse_transform(matrix, rng=self.rng)
        else:
            draw = sample_draw(n, self.fixed, self.torch_gen)
            df = self.transformer.inverse_transform_parts(
                draw.values.cpu().numpy(), draw.codes.cpu().numpy(), rng=self.rng
            )
        for combo in self._combos:
            df = combo.repair(df)
        return df

    def _accept(self, df: pd.DataFrame) -> pd.DataFrame:
        keep = np.ones(len(df), dtype=bool)
        for name, value in self.rejected.items():
            col = df[name]
            if isinstance(value, int):
                keep &= col.to_numpy(dtype="float64", na_value=np.nan) == value
            else:
                keep &= (col.astype(object).map(_label) == value).to_numpy(dtype=bool)
        for con in self.schema.constraints:
            if isinstance(con, InequalityConstraint):
                low, high = df[con.low], df[con.high]
                ok = (low < high) if con.strict else (low <= high)
                ok = ok.fillna(True).to_numpy(dtype=bool)  # a missing side cannot violate
                keep &= ok
        for combo in self._combos:
            keep &= combo.accept(df)
        return df[keep]

    def _clip(self, df: pd.DataFrame) -> pd.DataFrame:
        for con in self.schema.constraints:
            if isinstance(con, RangeConstraint):
                df[con.column] = df[con.column].clip(lower=con.min, upper=con.max)
        return df

    def _add_fresh_columns(self, df: pd.DataFrame, start: int) -> pd.DataFrame:
        """Fresh id/pii values (built in Arrow, no Python strings); columns in schema order."""
        ids = self.info.get("ids", {})
        columns: dict[str, Any] = {}
        for col in self.schema.columns:
            if col.type != "id" and not col.pii:
                columns[col.name] = df[col.name]
                continue
            style = ids.get(col.name, {"style": "token", "prefix": col.name})
            counter = np.arange(start, start + len(df), dtype=np.int64)
            if style["style"] == "int":
                counter += style["start"]
            text = pc.cast(pa.array(counter), pa.large_string())
            if style["style"] != "int":
                prefix = pa.scalar(f"{style['prefix']}-{self.seed:x}-", pa.large_string())
                text = pc.binary_join_element_wise(prefix, text, pa.scalar("", pa.large_string()))
            columns[col.name] = pd.Series(
                STRING_DTYPE.__from_arrow__(text), index=df.index, name=col.name
            )
        return pd.DataFrame(columns, index=df.index, copy=False)

    def chunks(self, n: int, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """Yield chunks that add up to exactly ``n`` rows, or raise GenerationError."""
        if n <= 0:
            raise UsageError(
                f"{param('rows')} must be a positive number of rows, got {n}.", param="rows"
            )
        needs_filter = (
            bool(self.rejected)
            or self._combos
            or any(isinstance(c, InequalityConstraint) for c in self.schema.constraints)
        )
        rate = 1.0
        if needs_filter:
            probe = self._accept(self._draw(PROBE_ROWS))
            rate = len(probe) / PROBE_ROWS
            if rate * MAX_ATTEMPT_FACTOR < 1:
                raise GenerationError(
                    f"Only {len(probe)} of {PROBE_ROWS} candidate rows met the conditions "
                    f"{self._describe()} and the schema's constraints; at that rate synthgen "
                    f"cannot make {n} rows within {MAX_ATTEMPT_FACTOR}x attempts. Relax the "
                    "conditions, or condition on the model's condition columns "
                    f"({', '.join(self.model.conditionable) or 'none'})."
                )
        budget = n * MAX_ATTEMPT_FACTOR + PROBE_ROWS
        drawn = 0
        pending: list[pd.DataFrame] = []
        have = 0
        while self.produced < n:
            want = min(chunk_rows, n - self.produced)
            if not needs_filter:  # every drawn row is kept: draw the chunk exactly
                out = self._draw(want)
                out = self._add_fresh_columns(self._clip(out), self.produced)
                self.produced += len(out)
                yield out
                continue
            while have < want:
                if drawn >= budget:
                    raise GenerationError(
                        f"Generation stopped after producing {self.produced + have} of {n} rows: "
                        f"too few candidate rows met {self._describe()} and the constraints "
                        f"within {budget} attempts. No output was written."
                    )
                ask = int(min(max((want - have) / max(rate, 1e-3) * 1.1, 256), 4 * chunk_rows))
                batch = self._draw(ask)
                drawn += ask
                batch = self._accept(batch) if needs_filter else batch
                pending.append(batch)
                have += len(batch)
            merged = pd.concat(pending, ignore_index=True)
            out, rest = merged.iloc[:want], merged.iloc[want:]
            pending, have = ([rest] if len(rest) else []), len(rest)
            out = self._clip(out.reset_index(drop=True))
            out = self._add_fresh_columns(out, self.produced)
            self.produced += len(out)
            yield out

    def _describe(self) -> str:
        parts = [f"{k}={v}" for k, v in {**self.rejected}.items()]
        parts += [f"{k}=<slot {v}>" for k, v in self.fixed.items()]
        return "{" + ", ".join(parts) + "}" if parts else "{}"


def _label(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return category_label(value)


def _discrete_label(raw: str, col_type: str, true_false: list[str] | None = None) -> str:
    if col_type == "boolean":
        low = raw.strip().lower()
        if true_false and low in (t.strip().lower() for t in true_false):
            return "True" if low == true_false[0].strip().lower() else "False"
        if low in ("true", "t", "yes", "y", "1"):
            return "True"
        if low in ("false", "f", "no", "n", "0"):
            return "False"
    return raw
