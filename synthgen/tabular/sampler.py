"""Sampling rows that meet conditions and constraints, and streaming them to a file.

Conditions on the model's conditioned columns are met by conditioning (exact); others by
bounded rejection. Schema constraints hold on every row: ranges by clipping, inequalities by
rejection, fixed combinations by repair where one column determines the others and by rejection
otherwise (``combinations.py``). id and pii columns get fresh values, never training values.

Rows are made in blocks (:mod:`synthgen.core.blocks`): block ``i`` holds rows ``[i*B, (i+1)*B)``
and draws from its own stream, with rejection inside the block, so it is a pure function of
(model, seed, conditions, i); fresh ids come from the global row index, so they stay unique
across blocks and shards.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from synthgen.core.blocks import (
    TABLE_BLOCK_ROWS,
    block_generators,
    block_length,
    n_blocks,
    next_piece,
    probe_generators,
)
from synthgen.device import thread_limit
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
        self.block_rows = TABLE_BLOCK_ROWS
        # one order for a set of conditions: the rows do not depend on how they were listed
        self.fixed, self.rejected = self._resolve_conditions(dict(sorted(conditions.items())))
        self._combos = [
            FixedCombination(c["columns"], c["values"])
            for c in self.info.get("fixed_combinations", [])
        ]
        self.needs_filter = (
            bool(self.rejected)
            or bool(self._combos)
            or any(isinstance(c, InequalityConstraint) for c in self.schema.constraints)
        )
        self._probed = False

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
    def _draw(self, n: int, rng: np.random.Generator, torch_gen) -> pd.DataFrame:
        return self._draw_repaired(n, rng, torch_gen)[0]

    def _draw_accepted(self, n: int, rng: np.random.Generator, torch_gen) -> pd.DataFrame:
        """``n`` candidate rows, those that meet the conditions and constraints kept."""
        df, repaired = self._draw_repaired(n, rng, torch_gen)
        return self._accept(df, repaired)

    def _draw_repaired(
        self, n: int, rng: np.random.Generator, torch_gen
    ) -> tuple[pd.DataFrame, list[np.ndarray]]:
        sample_draw = getattr(self.model, "sample_draw", None)
        if sample_draw is None:  # a model that only makes the one-hot matrix
            matrix = self.model.sample(n, self.fixed, torch_gen).cpu().numpy()
            df = self.transformer.inverse_transform(matrix, rng=rng)
        else:
            draw = sample_draw(n, self.fixed, torch_gen)
            df = self.transformer.inverse_transform_parts(
                draw.values.cpu().numpy(), draw.codes.cpu().numpy(), rng=rng
            )
        repaired = []
        for combo in self._combos:
            df, valid = combo.repair_valid(df)
            repaired.append(valid)
        return df, repaired

    def _accept(self, df: pd.DataFrame, repaired: list[np.ndarray] | None = None) -> pd.DataFrame:
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
        for i, combo in enumerate(self._combos):
            keep &= combo.accept(df, repaired[i] if repaired else None)
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

    def probe(self) -> None:
        """Refuse conditions that too few candidate rows meet, before any row is made (from a
        stream of its own, so the blocks' rows do not depend on it)."""
        if not self.needs_filter or self._probed:
            return
        probe = self._draw_accepted(PROBE_ROWS, *probe_generators(self.seed))
        rate = len(probe) / PROBE_ROWS
        if rate * MAX_ATTEMPT_FACTOR < 1:
            raise GenerationError(
                f"Only {len(probe)} of {PROBE_ROWS} candidate rows met the conditions "
                f"{self._describe()} and the schema's constraints; at that rate synthgen "
                f"cannot make the rows asked for within {MAX_ATTEMPT_FACTOR}x attempts. Relax "
                "the conditions, or condition on the model's condition columns "
                f"({', '.join(self.model.conditionable) or 'none'})."
            )
        self._probed = True

    def block(self, index: int, want: int | None = None) -> pd.DataFrame:
        """The first ``want`` rows (default all ``B``) of block ``index``: rows
        ``[index*B, index*B + want)`` of every output made with this model, seed and
        conditions. Candidates are drawn in fixed steps, so a short block is the start of the
        full one. Raises GenerationError when rejection cannot fill it."""
        want = self.block_rows if want is None else int(want)
        rng, torch_gen = block_generators(self.seed, index)
        budget = want * MAX_ATTEMPT_FACTOR + PROBE_ROWS if self.needs_filter else want
        pieces: list[pd.DataFrame] = []
        have = drawn = step = 0
        # one CPU thread for the draws: a matrix product split over more threads may round its
        # last bits differently, and a slot drawn at a boundary then differs (about one row in
        # millions); one thread gives the same rows in any process and any pool
        with thread_limit(1 if self.synth.model_.device.type == "cpu" else None):
            while have < want and drawn < budget:
                batch, size = self._step(step, have, drawn, rng, torch_gen)
                drawn += size
                step += 1
                pieces.append(batch)
                have += len(batch)
        if have < want:
            raise GenerationError(
                f"Generation stopped in block {index} (rows from {index * self.block_rows}) "
                f"with {have} of its {want} rows: too few candidate rows met "
                f"{self._describe()} and the constraints within {drawn} attempts. No output "
                "was written."
            )
        merged = pieces[0] if len(pieces) == 1 else pd.concat(pieces, ignore_index=True)
        out = self._clip(merged.iloc[:want].reset_index(drop=True))
        return self._add_fresh_columns(out, index * self.block_rows)

    def _step(self, step, have, drawn, rng, torch_gen) -> tuple[pd.DataFrame, int]:
        size = next_piece(step, have, drawn, self.block_rows)
        if self.needs_filter:
            return self._draw_accepted(size, rng, torch_gen), size
        return self._draw(size, rng, torch_gen), size

    def chunks(
        self,
        n: int,
        chunk_rows: int = 100_000,
        *,
        first_block: int = 0,
        end_block: int | None = None,
        threads: int = 1,
    ) -> Iterator[pd.DataFrame]:
        """Yield chunks that add up to exactly the rows of blocks ``[first_block, end_block)``
        of an ``n``-row output (all of it by default), in order, each at most ``chunk_rows``
        rows; or raise GenerationError.

        With ``threads`` > 1 (a CPU model) that many blocks are drawn at once, each in a
        thread of its own on one CPU thread, and yielded in order: the same rows, sooner."""
        if n <= 0:
            raise UsageError(
                f"{param('rows')} must be a positive number of rows, got {n}.", param="rows"
            )
        chunk_rows = max(1, int(chunk_rows))
        self.probe()
        last = n_blocks(n, self.block_rows) if end_block is None else end_block
        for out in self._blocks(n, first_block, last, threads):
            if len(out) <= chunk_rows:
                yield out
                continue
            for at in range(0, len(out), chunk_rows):
                yield out.iloc[at : at + chunk_rows].reset_index(drop=True)

    def _blocks(self, n: int, first: int, last: int, threads: int) -> Iterator[pd.DataFrame]:
        """Blocks ``[first, last)`` of an ``n``-row output in order, up to ``threads`` drawn
        at once (torch held at one thread meanwhile, so no block's draws change with it)."""
        if self.synth.model_.device.type != "cpu":
            threads = 1
        if threads <= 1 or last - first <= 1:
            for index in range(first, last):
                yield self.block(index, block_length(n, self.block_rows, index))
            return
        pending: deque[Future] = deque()
        with (
            thread_limit(1),
            ThreadPoolExecutor(threads, thread_name_prefix="synthgen-draw") as pool,
        ):
            try:
                upcoming = iter(range(first, last))

                def submit(index: int) -> None:
                    length = block_length(n, self.block_rows, index)
                    pending.append(pool.submit(self.block, index, length))

                for index in itertools.islice(upcoming, threads):
                    submit(index)
                while pending:
                    out = pending.popleft().result()
                    for index in itertools.islice(upcoming, 1):  # keep `threads` drawing
                        submit(index)
                    yield out
            finally:  # stopped early (a failed block, the consumer gone): drop the rest
                for future in pending:
                    future.cancel()
                with contextlib.suppress(Exception):
                    for future in pending:
                        if not future.cancelled():
                            future.exception()

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
