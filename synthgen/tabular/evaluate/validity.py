"""Validity: a great-expectations suite built from the schema, run in memory.

The suite checks the column set (exactly the schema's columns), each column's dtype family,
numeric ranges (the column's min/max and range constraints), category sets, booleans,
nullability, uniqueness of id columns and inequality constraints. It runs on an ephemeral GX
context with analytics and progress bars off; nothing is written to disk. GX is imported only
when a suite runs (it takes seconds to import).

``validate_synthetic(df, schema)`` is also what ``synthgen generate`` calls before it publishes
a file.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synthgen.core.jsonable import jsonable
from synthgen.schema import InequalityConstraint, RangeConstraint, TableSchema

_INTS = [f"{p}int{b}" for p in ("", "u") for b in (8, 16, 32, 64)]
_NULLABLE_INTS = [f"{p}Int{b}Dtype" for p in ("", "U") for b in (8, 16, 32, 64)]
_FLOATS = ["float16", "float32", "float64", "Float32Dtype", "Float64Dtype"]
_DATETIMES = [f"datetime64[{u}]" for u in ("s", "ms", "us", "ns")]
# GX compares a column's dtype with these names; object columns are checked value by value.
TYPE_LISTS: dict[str, list[str] | None] = {
    "integer": _INTS + _NULLABLE_INTS,
    "continuous": _FLOATS + _INTS + _NULLABLE_INTS,
    "categorical": ["str"],
    "boolean": ["bool", "BooleanDtype", "str"],
    "datetime": _DATETIMES + ["Timestamp"],
    "id": None,
}


@dataclass
class ValidationResult:
    """Outcome of the schema's GX suite on one table; ``results`` is JSON-able."""

    success: bool
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def statistics(self) -> dict[str, Any]:
        passed = sum(r["success"] for r in self.results)
        total = len(self.results)
        return {
            "evaluated": total,
            "successful": passed,
            "unsuccessful": total - passed,
            "success_percent": 100.0 * passed / total if total else 100.0,
        }

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.results if not r["success"]]

    def to_dict(self) -> dict[str, Any]:
        return {"success": self.success, "statistics": self.statistics, "results": self.results}

    def summary(self, limit: int = 5) -> str:
        """One line per failed expectation (at most ``limit``), for error messages."""
        lines = [
            f"{r['expectation']}({r['column'] or ''}): {r['details']}"
            for r in self.failures[:limit]
        ]
        more = len(self.failures) - limit
        return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


def _gx():
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    for name in ("great_expectations", "great_expectations._docs_decorators"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx, gxe


def build_expectations(schema: TableSchema) -> list:
    """The GX expectations the schema implies (see the module doc)."""
    _, gxe = _gx()
    exps = [gxe.ExpectTableColumnsToMatchSet(column_set=schema.column_names, exact_match=True)]
    for col in schema.columns:
        types = TYPE_LISTS[col.type]
        if types is not None and not col.pii:
            exps.append(gxe.ExpectColumnValuesToBeInTypeList(column=col.name, type_list=types))
        if not col.nullable:
            exps.append(gxe.ExpectColumnValuesToNotBeNull(column=col.name))
        if col.type == "id":
            exps.append(gxe.ExpectColumnValuesToBeUnique(column=col.name))
        if col.min is not None or col.max is not None:
            exps.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=col.name, min_value=col.min, max_value=col.max
                )
            )
        if col.categories is not None and not col.pii:
            exps.append(gxe.ExpectColumnValuesToBeInSet(column=col.name, value_set=col.categories))
        if col.type == "boolean":
            exps.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=col.name, value_set=[True, False, "True", "False"]
                )
            )
    for con in schema.constraints:
        if isinstance(con, RangeConstraint):
            exps.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=con.column, min_value=con.min, max_value=con.max
                )
            )
        elif isinstance(con, InequalityConstraint):
            exps.append(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=con.high,
                    column_B=con.low,
                    or_equal=not con.strict,
                    ignore_row_if="either_value_is_missing",
                )
            )
    return exps


def _gx_view(df: pd.DataFrame) -> pd.DataFrame:
    """A shallow view GX can type-check: string and category dtypes become object columns
    (GX does not recognise pandas' ``str``/``string``/``category`` dtypes by name)."""
    out = df.copy(deep=False)
    for name in out.columns:
        dtype = out[name].dtype
        if isinstance(dtype, (pd.StringDtype, pd.CategoricalDtype)):
            out[name] = out[name].astype(object).where(out[name].notna(), None)
    return out


def _details(result: dict) -> str:
    res = result.get("result") or {}
    info = result.get("exception_info") or {}
    messages = [v.get("exception_message") for v in info.values() if isinstance(v, dict)]
    messages.append(info.get("exception_message"))
    messages = [m for m in messages if m]
    if messages:
        return f"error: {messages[0].splitlines()[0][:200]}"
    if res.get("unexpected_count"):
        sample = ", ".join(map(str, (res.get("partial_unexpected_list") or [])[:5]))
        return f"{res['unexpected_count']} unexpected value(s), e.g. {sample}"
    if "observed_value" in res:
        return f"observed {res['observed_value']}"
    return "ok" if result.get("success") else "failed"


def validate_synthetic(df: pd.DataFrame, schema: TableSchema) -> ValidationResult:
    """Run the schema's GX suite on ``df`` in memory; never raises on bad data."""
    gx, _ = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("synthgen").add_dataframe_asset(schema.name)
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": _gx_view(df)}
    )
    suite = gx.ExpectationSuite(
        name=f"{schema.name}-schema", expectations=build_expectations(schema)
    )
    outcome = batch.validate(suite, result_format="SUMMARY").to_json_dict()
    results = []
    for item in outcome["results"]:
        config = item["expectation_config"]
        kwargs = {k: v for k, v in config["kwargs"].items() if k != "batch_id"}
        results.append(
            {
                "expectation": config["type"],
                "column": kwargs.get("column"),
                "kwargs": jsonable(kwargs),
                "success": bool(item["success"]),
                "details": _details(item),
                "result": jsonable(
                    {
                        k: v
                        for k, v in (item.get("result") or {}).items()
                        if k
                        in (
                            "observed_value",
                            "element_count",
                            "unexpected_count",
                            "unexpected_percent",
                            "partial_unexpected_list",
                        )
                    }
                ),
            }
        )
    json.dumps(results)  # fail here, not in a writer, if anything is not JSON-able
    return ValidationResult(success=all(r["success"] for r in results), results=results)
