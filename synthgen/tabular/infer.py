"""Infer a table schema from data: column types, missing-value tokens, ranges, category sets.

Rules (decided on the distinct values, so it is fast on large tables):

* missing tokens: ``""``, ``?``, ``NA``, ``N/A``, ``null``, ... — those present are recorded
  (with the default set) and make a column nullable;
* boolean: every value is one of true/false/yes/no/t/f (any case); 0/1 columns stay integer;
* integer: every value is an integer literal (``-3``, ``42``) or the stored type is integer —
  low-cardinality integer codes (education-num) stay integer;
* continuous: every value parses as a number;
* datetime: every value parses with one of a few common formats (recorded in ``format``);
* id: every value is unique and either the values are string-like keys or the column's name
  says it is a key (``id``, ``*_id``, ``key``, ``uuid``). A nearly-unique numeric measure such as
  fnlwgt is *not* an id: numbers are ids only when unique *and* named like one;
* categorical otherwise, with the category set when it has at most ``max_categories`` values
  and is not mostly unique; else ``high_cardinality: true`` and no values, and ``pii: true``
  when mostly unique (names, e-mails, addresses: generated fresh, never copied).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.errors import DataError, SchemaError, param
from synthgen.schema import DEFAULT_MISSING, ColumnSpec, TableSchema
from synthgen.tabular.dependence import dependent_pairs
from synthgen.tabular.infer_rules import (
    INT64_MAX,
    beyond_int64,
    json_booleans,
    looks_like_pii,
    refuse_infinite,
    refuse_outside_ns,
    true_false,
)
from synthgen.tabular.infer_text import DATETIME_FORMATS, text_counts, text_kind
from synthgen.tabular.io import read_raw

__all__ = ["infer_schema", "MISSING_CANDIDATES", "DATETIME_FORMATS"]

#: Tokens recognised as missing values when they occur in the data.
MISSING_CANDIDATES = (
    "",
    "?",
    "NA",
    "N/A",
    "n/a",
    "na",
    "NaN",
    "nan",
    "null",
    "NULL",
    "Null",
    "None",
    "none",
    "#N/A",
    "-",
    "--",
)
#: Tokens that count as missing only when the rest of the column is numeric (a lone "-" or
#: "none" may be a real category otherwise).
_NUMERIC_ONLY_TOKENS = {"-", "--", "none", "None"}

_UUID_RE = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
_ID_WORDS = {"id", "key", "uuid", "guid", "pk"}
_MIN_ROWS_FOR_RATIO = 20


def _looks_like_id(name: str) -> bool:
    """``id``, ``user_id``, ``userId``, ``customer-key``, ``UUID``, ``row id``..."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.strip())
    words = [w for w in re.split(r"[_\-\s.]+", snake.lower()) if w]
    return bool(words) and words[-1] in _ID_WORDS


def infer_schema(
    path_or_frame: str | Path | pd.DataFrame,
    *,
    target: str | None = None,
    name: str | None = None,
    max_categories: int = 100,
) -> TableSchema:
    """Infer a :class:`TableSchema` from a table file (CSV/Parquet/JSONL) or a DataFrame."""
    if max_categories < 1:
        raise DataError(f"max_categories must be at least 1, got {max_categories}.")
    if isinstance(path_or_frame, pd.DataFrame):
        frame = path_or_frame
        source = "the frame"
        default_name = "dataset"
    else:
        path = Path(path_or_frame)
        frame = read_raw(path)
        source = f"Data file {path}"
        default_name = path.stem or "dataset"
    if len(frame) == 0:
        raise DataError(f"{source} has no rows; cannot infer a schema.")
    names = [str(c) for c in frame.columns]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise DataError(f"{source} has duplicate column name(s): {', '.join(dups)}.")
    if target is not None and target not in names:
        raise DataError(
            f"{param('target')} '{target}' is not a column of {source}; columns are: "
            f"{', '.join(names)}.",
            param="target",
        )

    specs: list[ColumnSpec] = []
    found: list[set[str]] = []
    for i, col_name in enumerate(names):
        try:
            spec, tokens = _infer_column(col_name, frame.iloc[:, i], max_categories)
        except DataError as err:
            raise err.with_context(f"{source}: ") from None
        specs.append(spec)
        found.append(tokens)
    # missing_values is one list for the whole table: a token that some numeric column uses as
    # missing ("-") is missing everywhere, so re-infer the columns that kept it as a category
    forced = set().union(*found) & _NUMERIC_ONLY_TOKENS if found else set()
    for i, spec in enumerate(specs):
        if spec.values is not None and forced & {str(v) for v in spec.values}:
            specs[i], found[i] = _infer_column(
                spec.name, frame.iloc[:, i], max_categories, forced=frozenset(forced)
            )
    found_tokens = set().union(*found) if found else set()
    kept_as_values = set().union(
        *(_kept_tokens(spec, frame.iloc[:, i], found[i]) for i, spec in enumerate(specs))
    )
    columns = specs
    # tokens found first, then the defaults; a default that is a real category somewhere
    # (e.g. "None" as a diagnosis) is left out so it is not read as missing
    missing_values = sorted(found_tokens, key=lambda t: (t != "?", t)) + [
        t for t in DEFAULT_MISSING if t not in found_tokens and t not in kept_as_values
    ]
    conditions = None
    if target is not None:
        t = names.index(target)
        columns[t] = _class_target(columns[t], frame.iloc[:, t], found[t])
        tspec = columns[t]
        if tspec.type == "id":
            raise DataError(
                f"{param('target')} '{target}' looks like an id column (every value is unique); "
                "a target must be a label or a measure."
            )
        if tspec.type in ("categorical", "boolean"):
            conditions = [target]
    discrete = [c.name for c in columns if c.type in ("categorical", "boolean", "integer")]
    typed = frame.replace(list(missing_values), pd.NA) if discrete else frame
    constraints = [
        {"type": "fixed_combinations", "columns": pair} for pair in dependent_pairs(typed, discrete)
    ]
    try:
        return TableSchema(
            name=name or default_name,
            missing_values=missing_values,
            target=target,
            conditions=conditions,
            columns=columns,
            constraints=constraints,
        )
    except ValueError as err:  # pragma: no cover - defensive: inferred schemas are valid
        raise SchemaError(f"Inferred schema is invalid: {err}") from None


def _kept_tokens(spec: ColumnSpec, col: pd.Series, tokens: set[str]) -> set[str]:
    """The soft missing tokens ("-", "none") this column keeps as real values: listed in its
    category set, or present in an id or high-cardinality column that lists none."""
    if spec.values is not None:
        return {str(v) for v in spec.values if str(v) in _NUMERIC_ONLY_TOKENS}
    if spec.type not in ("id", "categorical") or _strings(col)[1] != "text":
        return set()
    present = set(text_counts(col).index) & _NUMERIC_ONLY_TOKENS
    return present - tokens


def _strings(col: pd.Series) -> tuple[pd.Series, str]:
    """Distinct values of a column as stripped strings, and the column's storage kind."""
    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return col, "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return col, "datetime"
    if pd.api.types.is_integer_dtype(dtype):
        return col, "int"
    if pd.api.types.is_float_dtype(dtype):
        return col, "float"
    return col, "text"


def _infer_column(
    name: str, col: pd.Series, max_categories: int, forced: frozenset[str] = frozenset()
) -> tuple[ColumnSpec, set[str]]:
    _, storage = _strings(col)
    n_rows = len(col)
    if storage != "text":
        return _infer_native(name, col, storage, max_categories), set()

    counts = text_counts(col)
    present = set(counts.index)
    tokens = {t for t in MISSING_CANDIDATES if t in present}
    soft = {t for t in tokens if t in _NUMERIC_ONLY_TOKENS and t not in forced}
    values = counts.drop(index=sorted(tokens))
    kind, fmt = text_kind(pd.Series(values.index, dtype=object))
    if soft and kind not in ("integer", "continuous"):
        # "-", "none" are real categories unless the rest of the column is numeric
        tokens -= soft
        values = counts.drop(index=sorted(tokens))
        kind, fmt = text_kind(pd.Series(values.index, dtype=object))
    uniques = pd.Series(values.index, dtype=object)
    if kind == "empty":
        # nothing but missing tokens: keep it as a nullable categorical with no value set
        return ColumnSpec(name=name, type="categorical", nullable=True), tokens
    n_missing = n_rows - int(values.sum())
    nullable = n_missing > 0
    n_values = int(values.sum())
    all_unique = len(values) == n_values

    if kind == "integer" and beyond_int64(uniques):
        kind = "continuous"  # integers beyond int64 are read as numbers, not corrupted
    if kind in ("integer", "continuous"):
        nums = pd.to_numeric(uniques.astype(str), errors="coerce").to_numpy(dtype="float64")
        refuse_infinite(name, col, uniques, nums)
        if kind == "integer" and all_unique and _looks_like_id(name) and n_values > 1:
            return ColumnSpec(name=name, type="id", nullable=nullable), tokens
        return _numeric_spec(name, kind, nums, nullable), tokens
    if kind == "boolean":
        if json_booleans(col):  # JSON true/false: written back as JSON booleans
            return ColumnSpec(name=name, type="boolean", nullable=nullable), tokens
        spelling = true_false([str(v) for v in values.index])
        if spelling is not None:
            return (
                ColumnSpec(name=name, type="boolean", nullable=nullable, true_false=spelling),
                tokens,
            )
        # several spellings of one value (yes, Yes, true): categorical keeps each as it is
        return _categorical_spec(name, values, nullable, max_categories, all_unique), tokens
    if kind == "datetime":
        parsed = pd.to_datetime(uniques.astype(str), format=fmt or "ISO8601", errors="coerce")
        refuse_outside_ns(name, col, uniques, parsed)
        return ColumnSpec(name=name, type="datetime", nullable=nullable, format=fmt), tokens
    return _categorical_spec(name, values, nullable, max_categories, all_unique), tokens


MAX_TARGET_CLASSES = 20


def _class_target(spec: ColumnSpec, col: pd.Series, tokens: set[str]) -> ColumnSpec:
    """A target of a few integer codes (``0``/``1``, digits 0-9) is a class label, as
    scikit-learn reads it: categorical, so models condition on it and ``--balance`` works.
    Integers with more than ``MAX_TARGET_CLASSES`` distinct values stay a measure."""
    if spec.type != "integer":
        return spec
    labels = [v for v in text_counts(col).index if v not in tokens and v != ""]
    if len(labels) > MAX_TARGET_CLASSES:
        return spec
    return ColumnSpec(
        name=spec.name,
        type="categorical",
        nullable=spec.nullable,
        values=sorted((str(v) for v in labels), key=_sort_key),
    )


def _numeric_spec(name: str, kind: str, nums: np.ndarray, nullable: bool) -> ColumnSpec:
    finite = nums[np.isfinite(nums)]
    lo = float(finite.min()) if len(finite) else None
    hi = float(finite.max()) if len(finite) else None
    return ColumnSpec(name=name, type=kind, nullable=nullable, min=lo, max=hi)


def _categorical_spec(
    name: str, counts: pd.Series, nullable: bool, max_categories: int, all_unique: bool
) -> ColumnSpec:
    n_distinct = len(counts)
    n_values = int(counts.sum())
    uniques = [str(v) for v in counts.index]
    mostly_unique = n_values >= _MIN_ROWS_FOR_RATIO and n_distinct > 0.5 * n_values
    looks_key = all(re.fullmatch(_UUID_RE, v) for v in uniques[:1000])
    if (
        all_unique
        and n_values > 1
        and (
            _looks_like_id(name)
            or looks_key
            or n_distinct > max_categories
            or n_values >= _MIN_ROWS_FOR_RATIO
        )
    ):
        return ColumnSpec(name=name, type="id", nullable=nullable)
    pii = looks_like_pii(name, uniques) or mostly_unique  # near-unique text identifies people
    if n_distinct > max_categories or mostly_unique:
        return ColumnSpec(
            name=name, type="categorical", nullable=nullable, high_cardinality=True, pii=pii
        )
    return ColumnSpec(
        name=name,
        type="categorical",
        nullable=nullable,
        values=sorted(uniques, key=_sort_key),
        pii=pii,
    )


def _sort_key(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def _infer_native(name: str, col: pd.Series, storage: str, max_categories: int) -> ColumnSpec:
    nullable = bool(col.isna().any())
    data = col.dropna()
    if len(data) == 0:
        return ColumnSpec(name=name, type="categorical", nullable=True)
    if storage == "bool":
        return ColumnSpec(name=name, type="boolean", nullable=nullable)
    if storage == "datetime":
        refuse_outside_ns(name, col, data.reset_index(drop=True), data.reset_index(drop=True))
        return ColumnSpec(name=name, type="datetime", nullable=nullable)
    nums = data.to_numpy(dtype="float64")
    unique = data.is_unique
    refuse_infinite(name, col, data.reset_index(drop=True), nums)
    if storage == "int" and data.max() > INT64_MAX:  # uint64 beyond int64: a measure
        return _numeric_spec(name, "continuous", nums, nullable)
    if storage == "int":
        if unique and _looks_like_id(name) and len(data) > 1:
            return ColumnSpec(name=name, type="id", nullable=nullable)
        return _numeric_spec(name, "integer", nums, nullable)
    # float storage: JSON integers with nulls arrive as floats; integral values + an integer
    # appearance elsewhere is not knowable, so integral floats stay continuous unless the frame
    # came from JSONL-like objects (handled as text). Name-based ids still apply.
    if unique and _looks_like_id(name) and np.all(nums == np.floor(nums)) and len(data) > 1:
        return ColumnSpec(name=name, type="id", nullable=nullable)
    return _numeric_spec(name, "continuous", nums, nullable)
