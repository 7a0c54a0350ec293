"""Typed schema models (tables and images), loaded from YAML or JSON.

The JSON Schema in ``schemas/schema.json`` is generated from these models
(``python -m synthgen.schema > schemas/schema.json``); a test keeps it in sync.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from synthgen.errors import SchemaError
from synthgen.parsing import parse_json, parse_yaml, read_document

SCHEMA_VERSION = 1
ColumnType = Literal["continuous", "integer", "categorical", "boolean", "datetime", "id"]
NUMERIC_TYPES = ("continuous", "integer")
DISCRETE_TYPES = ("categorical", "boolean")
DEFAULT_MISSING = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]
#: A float that must be a finite number: NaN would switch range checks off silently.
Finite = Annotated[float, Field(allow_inf_nan=False)]
Category = str | int | Finite | bool
#: The spellings of true and false recorded by ``schema infer``, by the first letters' case.
BOOLEAN_PAIRS = {"true": "false", "yes": "no", "t": "f", "y": "n"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ColumnSpec(_Strict):
    """One column: its type and what values it may take."""

    name: str = Field(min_length=1)
    type: ColumnType
    nullable: bool = False
    min: Finite | None = None
    max: Finite | None = None
    values: list[Category] | None = None
    true_false: list[str] | None = Field(
        default=None,
        description="how a boolean column writes true and false, e.g. [yes, no] (set by infer; "
        "read as well as true/false/yes/no/1/0)",
    )
    format: str | None = Field(default=None, description="strftime format of a datetime column")
    pii: bool = Field(default=False, description="never copy values from the data")
    high_cardinality: bool = Field(
        default=False, description="set by infer when a category set exceeded the cap"
    )

    @model_validator(mode="after")
    def _check(self) -> ColumnSpec:
        where = f"column '{self.name}'"
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{where}: min ({self.min:g}) is greater than max ({self.max:g})")
        if (self.min is not None or self.max is not None) and self.type not in NUMERIC_TYPES:
            raise ValueError(f"{where}: min/max are only allowed on continuous or integer columns")
        if self.values is not None:
            if self.type != "categorical":
                raise ValueError(f"{where}: 'values' is only allowed on categorical columns")
            if not self.values:
                raise ValueError(f"{where}: 'values' is an empty category set")
            labels = [category_label(v) for v in self.values]
            if len(set(labels)) != len(labels):
                dup = sorted({v for v in labels if labels.count(v) > 1})
                raise ValueError(f"{where}: 'values' repeats {dup}")
        if self.true_false is not None:
            if self.type != "boolean":
                raise ValueError(f"{where}: 'true_false' is only allowed on boolean columns")
            tokens = [t.strip() for t in self.true_false]
            if len(tokens) != 2 or not all(tokens) or tokens[0].lower() == tokens[1].lower():
                raise ValueError(
                    f"{where}: 'true_false' must be two different non-empty tokens, the one "
                    "for true first (e.g. [yes, no])"
                )
        if self.format is not None and self.type != "datetime":
            raise ValueError(f"{where}: 'format' is only allowed on datetime columns")
        return self

    @property
    def categories(self) -> list[str] | None:
        """The category set as strings (how values are held in frames), or None."""
        return None if self.values is None else [category_label(v) for v in self.values]


def category_label(value: Category) -> str:
    """The string form a category takes in a frame: 3 -> '3', 3.0 -> '3', True -> 'True'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class RangeConstraint(_Strict):
    """``min <= column <= max`` on every generated row."""

    type: Literal["range"]
    column: str
    min: Finite | None = None
    max: Finite | None = None

    @model_validator(mode="after")
    def _check(self) -> RangeConstraint:
        if self.min is None and self.max is None:
            raise ValueError(f"range constraint on '{self.column}' needs min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"range constraint on '{self.column}': min is greater than max")
        return self


class InequalityConstraint(_Strict):
    """``low <= high`` (or ``<`` when strict) on every generated row."""

    type: Literal["inequality"]
    low: str
    high: str
    strict: bool = False


class FixedCombinationsConstraint(_Strict):
    """Only combinations of these columns seen in the training data are generated."""

    type: Literal["fixed_combinations"]
    columns: list[str] = Field(min_length=2)


Constraint = Annotated[
    RangeConstraint | InequalityConstraint | FixedCombinationsConstraint,
    Field(discriminator="type"),
]


class TableSchema(_Strict):
    """A table: columns, missing-value tokens, target, condition columns and constraints."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: str = "dataset"
    kind: Literal["table"] = "table"
    missing_values: list[str] = Field(default_factory=lambda: list(DEFAULT_MISSING))
    target: str | None = None
    conditions: list[str] | None = None
    columns: list[ColumnSpec] = Field(min_length=1)
    constraints: list[Constraint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> TableSchema:
        names = [c.name for c in self.columns]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise ValueError(f"duplicate column name(s): {', '.join(dups)}")
        by_name = {c.name: c for c in self.columns}
        missing = set(self.missing_values)
        for c in self.columns:
            clash = [t for t in c.true_false or [] if t.strip() in missing]
            if clash:
                raise ValueError(
                    f"column '{c.name}': true_false token {clash[0]!r} is also a missing value"
                )

        def need(col: str, what: str) -> ColumnSpec:
            if col not in by_name:
                raise ValueError(f"{what} names column '{col}', which is not in 'columns'")
            return by_name[col]

        if self.target is not None:
            if need(self.target, "target").type == "id":
                raise ValueError(f"target '{self.target}' is an id column")
        for col in self.conditions or []:
            spec = need(col, "conditions")
            if spec.type not in DISCRETE_TYPES:
                raise ValueError(
                    f"condition column '{col}' is {spec.type}; conditions must be categorical "
                    "or boolean"
                )
        for i, con in enumerate(self.constraints):
            what = f"constraints[{i}] ({con.type})"
            if isinstance(con, RangeConstraint):
                if need(con.column, what).type not in NUMERIC_TYPES:
                    raise ValueError(f"{what}: column '{con.column}' is not numeric")
            elif isinstance(con, InequalityConstraint):
                for col in (con.low, con.high):
                    if need(col, what).type not in (*NUMERIC_TYPES, "datetime"):
                        raise ValueError(f"{what}: column '{col}' is not numeric or datetime")
            else:
                for col in con.columns:
                    need(col, what)
        return self

    def column(self, name: str) -> ColumnSpec:
        """The spec of one column (KeyError if absent)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def condition_columns(self) -> list[str]:
        """Columns models condition on exactly: ``conditions``, else the target if discrete."""
        if self.conditions is not None:
            return list(self.conditions)
        if self.target is not None and self.column(self.target).type in DISCRETE_TYPES:
            return [self.target]
        return []


class ImageShape(_Strict):
    height: int = Field(gt=0, le=4096)
    width: int = Field(gt=0, le=4096)
    channels: Literal[1, 3] = 1


class NpzSource(_Strict):
    format: Literal["npz"]
    images_key: str = "images"
    labels_key: str | None = "labels"


class FolderSource(_Strict):
    format: Literal["folder"]


class LabelSpec(_Strict):
    name: str = "label"
    values: list[Category] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> LabelSpec:
        labels = [category_label(v) for v in self.values]
        if len(set(labels)) != len(labels):
            raise ValueError(f"label '{self.name}': 'values' repeats a value")
        return self


class ImageSchema(_Strict):
    """An image set: size, channels, where the arrays live, and the class labels."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: str = "images"
    kind: Literal["image"]
    image: ImageShape
    source: Annotated[NpzSource | FolderSource, Field(discriminator="format")]
    label: LabelSpec | None = None


Schema = Annotated[TableSchema | ImageSchema, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[TableSchema | ImageSchema] = TypeAdapter(Schema)


_MAX_SHOWN = 20
_TAGS = {"range", "inequality", "fixed_combinations", "npz", "folder"}


def _describe(err: ValidationError, data: Any = None) -> str:
    """One line per pydantic error, located by key path (columns named, not just numbered)."""
    columns = data.get("columns") if isinstance(data, dict) else None
    parts = []
    for e in err.errors():
        raw = list(e["loc"])
        if raw and raw[0] in ("table", "image"):
            raw = raw[1:]  # the kind tag of the top-level union
        loc: list[str] = []
        for i, p in enumerate(raw):
            text = str(p)
            if text.startswith("function-after"):
                continue
            prev = raw[i - 1] if i else None
            if text in _TAGS and (isinstance(prev, int) or prev == "source"):
                continue  # the discriminator tag of a constraint or source
            if isinstance(p, int) and prev == "columns" and isinstance(columns, list):
                col = columns[p] if p < len(columns) else None
                name = col.get("name") if isinstance(col, dict) else None
                loc[-1] = f"columns[{p}]" + (f" ('{name}')" if isinstance(name, str) else "")
                continue
            loc.append(f"[{p}]" if isinstance(p, int) else text)
        where = ".".join(loc).replace(".[", "[")
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = f"unknown key '{loc[-1] if loc else ''}'"
        parts.append(f"{where}: {msg}" if where else msg)
    if len(parts) > _MAX_SHOWN:
        parts = [*parts[:_MAX_SHOWN], f"and {len(parts) - _MAX_SHOWN} more problem(s)"]
    return "; ".join(parts)


def parse_schema(data: Any, source: str = "<schema>") -> TableSchema | ImageSchema:
    """Validate a parsed schema document (a dict)."""
    if not isinstance(data, dict):
        raise SchemaError(f"Schema {source} must be a mapping of keys, got {type(data).__name__}.")
    data = {"kind": "table", **data}
    if data["kind"] not in ("table", "image"):
        raise SchemaError(
            f"Schema {source}: kind must be 'table' or 'image', not {data['kind']!r}."
        )
    version = data.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise SchemaError(
            f"Schema {source} has schema_version {version}; this synthgen reads version "
            f"{SCHEMA_VERSION}. Upgrade synthgen to read it."
        )
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as err:
        raise SchemaError(f"Schema {source} is invalid: {_describe(err, data)}.") from None


#: Largest schema file read (a schema of 1,000 columns with 100 categories each is ~2 MiB).
MAX_SCHEMA_BYTES = 8 * 2**20


def load_schema(path: str | Path) -> TableSchema | ImageSchema:
    """Read a schema from a YAML or JSON file (size, nesting and duplicate keys checked)."""
    path = Path(path)
    if not path.exists():
        raise SchemaError(f"Schema file {path} does not exist.")
    if path.is_dir():
        raise SchemaError(f"Schema path {path} is a directory, not a schema file.")
    source = f"Schema file {path}"
    text = read_document(path, source, SchemaError, MAX_SCHEMA_BYTES)
    if not text.strip():
        raise SchemaError(f"Schema file {path} is empty.")
    if path.suffix.lower() == ".json":
        data = parse_json(text, source, SchemaError)
    else:
        data = parse_yaml(text, source, SchemaError)
    try:
        return parse_schema(data, str(path))
    except RecursionError:  # pragma: no cover - check_depth bounds the nesting first
        raise SchemaError(f"{source} nests too deeply; refused.") from None


def schema_to_dict(schema: TableSchema | ImageSchema) -> dict[str, Any]:
    """A plain dict of the schema (defaults left out), as written to YAML/JSON and model files."""
    doc = schema.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    doc = {"schema_version": schema.schema_version, "name": schema.name, "kind": schema.kind, **doc}
    for col in doc.get("columns", []):
        for key in ("min", "max"):
            if isinstance(col.get(key), float) and col[key].is_integer():
                col[key] = int(col[key])
    if isinstance(schema, TableSchema):
        doc["missing_values"] = list(schema.missing_values)
    else:  # spelled out so that a written image schema reads without the defaults at hand
        doc["image"]["channels"] = schema.image.channels
        if schema.label is not None:
            doc["label"] = {"name": schema.label.name, **doc.get("label", {})}
    return doc


def dump_schema(schema: TableSchema | ImageSchema) -> str:
    """YAML text of a schema."""
    return yaml.safe_dump(schema_to_dict(schema), sort_keys=False, allow_unicode=True, width=100)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the schema format."""
    doc = _ADAPTER.json_schema()
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "synthgen schema"
    return doc


def load_table_schema(path: str | Path) -> TableSchema:
    """A schema file that must describe a table."""
    schema = load_schema(path)
    if not isinstance(schema, TableSchema):
        raise SchemaError(f"Schema {path} describes images; this needs a table schema.")
    return schema


def load_image_schema(path: str | Path) -> ImageSchema:
    """A schema file that must describe an image set."""
    schema = load_schema(path)
    if not isinstance(schema, ImageSchema):
        raise SchemaError(f"Schema {path} describes a table; this needs an image schema.")
    return schema


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2))
