"""Property test of the schema-file parser: whatever bytes or structures a schema file holds,
``load_schema`` returns a schema or raises SchemaError (never another exception), quickly."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthgen.errors import SchemaError
from synthgen.schema import dump_schema, load_schema, parse_schema

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KEYS = [
    "name", "kind", "type", "columns", "min", "max", "values", "nullable", "format", "target",
    "conditions", "constraints", "missing_values", "schema_version", "true_false", "column",
    "low", "high", "image", "source", "label", "height", "width", "channels", "pii", "x",
]  # fmt: skip
TYPES = ["continuous", "integer", "categorical", "boolean", "datetime", "id", "table", "image",
         "range", "inequality", "fixed_combinations", "npz", "folder"]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TYPES + KEYS + ["", "yes", "no", "Y", "N", "a"]),
    st.text(max_size=12),
)
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=6),
    ),
    max_leaves=40,
)
COLUMN = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "c"]), "type": st.sampled_from(TYPES[:6])},
    optional={k: SCALARS | st.lists(SCALARS, max_size=3) for k in KEYS[3:16]},
)
TABLES = st.fixed_dictionaries(
    {"columns": st.lists(COLUMN, min_size=1, max_size=4)},
    optional={k: DOCS for k in ("target", "conditions", "constraints", "missing_values")},
)


def _load(text: str | bytes, suffix: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"s{suffix}"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        try:
            return load_schema(path)
        except SchemaError as err:
            assert str(path) in err.message
            return None


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([".yaml", ".yml", ".json"]))
def test_arbitrary_bytes(raw, suffix):
    _load(raw, suffix)


@FUZZ
@given(DOCS | TABLES, st.sampled_from([".yaml", ".json"]))
def test_arbitrary_documents(doc, suffix):
    if suffix == ".json":
        text = json.dumps(doc)  # NaN/Infinity literals included: refused, not read
    else:
        text = yaml.safe_dump(doc, allow_unicode=True)
    schema = _load(text, suffix)
    if schema is not None:  # what loads dumps and loads again to the same schema
        assert parse_schema(yaml.safe_load(dump_schema(schema))) == schema


@FUZZ
@given(st.text(alphabet="[]{}-:, \n'\"&*!|>#abc019.", max_size=300))
def test_yaml_syntax_soup(text):
    _load(text, ".yaml")
