"""Schema models: rejections name the offending key; JSON Schema in sync; shipped schemas."""

from __future__ import annotations

import json

import pytest

from synthgen.errors import SchemaError
from synthgen.schema import (
    ImageSchema,
    TableSchema,
    dump_schema,
    json_schema,
    load_schema,
    parse_schema,
)

COL = {"name": "age", "type": "integer"}


@pytest.mark.parametrize(
    ("doc", "named"),
    [
        ({"columns": [COL], "colums": []}, "unknown key 'colums'"),
        ({"columns": [{**COL, "minn": 1}]}, "unknown key 'minn'"),
        ({"columns": [COL, {"name": "x", "type": "id"}, COL]}, "duplicate column name(s): age"),
        ({"columns": [{**COL, "min": 5, "max": 1}]}, "columns[0] ('age')"),
        ({"columns": [{"name": "c", "type": "categorical", "values": []}]}, "empty category set"),
        ({"columns": [{"name": "c", "type": "text"}]}, "columns[0] ('c').type"),
        ({"columns": [COL], "target": "income"}, "target names column 'income'"),
        ({"columns": [COL], "conditions": ["age"]}, "condition column 'age' is integer"),
        (
            {
                "kind": "image",
                "image": {"height": 2, "width": 2, "depth": 3},
                "source": {"format": "npz"},
            },
            "image.depth: unknown key 'depth'",
        ),
    ],
    ids=[
        "top-key",
        "column-key",
        "dup-column",
        "min-gt-max",
        "empty-values",
        "bad-type",
        "bad-target",
        "numeric-condition",
        "image-key",
    ],
)
def test_schema_rejections_name_the_key(doc, named):
    with pytest.raises(SchemaError) as err:
        parse_schema(doc, "s.yaml")
    assert named in err.value.message
    assert "s.yaml" in err.value.message


def test_min_gt_max_message():
    with pytest.raises(SchemaError, match=r"min \(5\) is greater than max \(1\)"):
        parse_schema({"columns": [{**COL, "min": 5, "max": 1}]})


def test_newer_schema_version_refused():
    with pytest.raises(SchemaError, match="schema_version 2"):
        parse_schema({"schema_version": 2, "columns": [COL]})


def test_json_schema_file_in_sync(repo_root):
    on_disk = json.loads((repo_root / "schemas" / "schema.json").read_text())
    assert on_disk == json_schema(), "regenerate: python -m synthgen.schema > schemas/schema.json"


def test_yaml_yes_no_stay_strings(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("columns:\n  - {name: c, type: categorical, values: [yes, no, NO, On]}\n")
    assert load_schema(path).column("c").categories == ["yes", "no", "NO", "On"]


def test_invalid_yaml_names_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("columns:\n  - {name: a, type: integer\n")
    with pytest.raises(SchemaError, match=r"not valid YAML at line \d+"):
        load_schema(path)


def test_dump_round_trip(adult_schema):
    import yaml

    again = parse_schema(yaml.safe_load(dump_schema(adult_schema)))
    assert again == adult_schema


def test_adult_schema(adult_schema):
    assert isinstance(adult_schema, TableSchema)
    assert adult_schema.target == "income"
    assert adult_schema.condition_columns == ["income"]
    assert "?" in adult_schema.missing_values
    ints = {c.name for c in adult_schema.columns if c.type == "integer"}
    assert ints == {
        "age",
        "fnlwgt",
        "education-num",
        "capital-gain",
        "capital-loss",
        "hours-per-week",
    }
    assert all(
        c.min is not None and c.max is not None for c in adult_schema.columns if c.type == "integer"
    )
    assert all(c.values for c in adult_schema.columns if c.type == "categorical")


def test_mnist_schema(repo_root, shared_data):
    from synthgen.images.io import read_images

    schema = load_schema(repo_root / "schemas" / "mnist.yaml")
    assert isinstance(schema, ImageSchema)
    assert (schema.image.height, schema.image.width, schema.image.channels) == (28, 28, 1)
    assert schema.label is not None and schema.label.name == "digit"
    assert len(read_images(shared_data / "mnist10k" / "train.npz", schema)) == 8000
    assert len(read_images(shared_data / "mnist10k" / "test.npz", schema)) == 2000


def test_image_data_problems_listed(tmp_path, repo_root):
    import numpy as np

    from synthgen.errors import DataError
    from synthgen.images.io import read_images

    schema = load_schema(repo_root / "schemas" / "mnist.yaml")
    path = tmp_path / "bad.npz"
    np.savez(path, images=np.zeros((3, 32, 32), np.uint8), labels=np.array([1, 2, 3]))
    with pytest.raises(DataError) as err:
        read_images(path, schema)
    assert "shape (3, 32, 32)" in err.value.message and "28x28x1" in err.value.message
    np.savez(path, images=np.zeros((3, 28, 28), np.uint8), labels=np.array([1, 2, 11]))
    with pytest.raises(DataError) as err:
        read_images(path, schema)
    assert "'11'" in err.value.message and "'digit'" in err.value.message


# hostile schema documents (causes 10, 18, 21): refused with a SchemaError naming the file
HOSTILE_JSON = {
    "nan-min": ('{"columns": [{"name": "a", "type": "continuous", "min": NaN}]}', "NaN"),
    "infinity-max": (
        '{"columns": [{"name": "a", "type": "integer", "max": Infinity}]}',
        "Infinity",
    ),
    "duplicate-key": ('{"name": "x", "columns": [], "name": "y"}', "the key 'name' is given twice"),
    "deep": ('{"columns": ' + "[" * 100_000 + "]" * 100_000 + "}", "levels deep"),
    "deep-within-limit": ('{"columns": ' + "[" * 200 + "]" * 200 + "}", "levels deep"),
}


@pytest.mark.parametrize("case", list(HOSTILE_JSON))
def test_hostile_json_schema(tmp_path, case):
    text, named = HOSTILE_JSON[case]
    path = tmp_path / "s.json"
    path.write_text(text)
    with pytest.raises(SchemaError) as err:
        load_schema(path)
    assert named in err.value.message and "s.json" in err.value.message


@pytest.mark.parametrize(
    ("doc", "named"),
    [
        ({"columns": [{**COL, "min": float("nan")}]}, "('age').min: Input should be a finite"),
        ({"columns": [{**COL, "max": float("inf")}]}, "('age').max: Input should be a finite"),
        (
            {
                "columns": [COL],
                "constraints": [{"type": "range", "column": "age", "min": float("nan")}],
            },
            "constraints[0].min",
        ),
        (
            {"columns": [{"name": "c", "type": "categorical", "values": ["a", float("nan")]}]},
            "values[1]",
        ),
        ({"columns": [{**COL, "true_false": ["yes", "no"]}]}, "only allowed on boolean"),
        (
            {"columns": [{"name": "b", "type": "boolean", "true_false": ["Y", "y"]}]},
            "two different",
        ),
        ({"columns": [{"name": "b", "type": "boolean", "true_false": ["yes"]}]}, "two different"),
        (
            {
                "missing_values": ["N"],
                "columns": [{"name": "b", "type": "boolean", "true_false": ["Y", "N"]}],
            },
            "'N' is also a missing value",
        ),
    ],
    ids=[
        "nan-min",
        "inf-max",
        "nan-range",
        "nan-category",
        "tokens-on-int",
        "same-tokens",
        "one-token",
        "token-is-missing",
    ],
)
def test_non_finite_bounds_and_bad_tokens_refused(doc, named):
    with pytest.raises(SchemaError) as err:
        parse_schema(doc, "s.yaml")
    assert named in err.value.message


def test_boolean_tokens_optional_and_dumped():
    """Old schemas (no true_false) still load; infer's tokens survive a dump and a load."""
    plain = parse_schema({"columns": [{"name": "b", "type": "boolean"}]})
    assert plain.column("b").true_false is None
    doc = {"columns": [{"name": "b", "type": "boolean", "true_false": ["yes", "no"]}]}
    import yaml

    text = dump_schema(parse_schema(doc))
    assert "true_false:\n  - 'yes'\n  - 'no'" in text
    assert parse_schema(yaml.safe_load(text)).column("b").true_false == ["yes", "no"]


def test_oversized_schema_refused_before_reading(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as fh:  # sparse: 1 GiB on paper, nothing to read
        fh.truncate(2**30)
    with pytest.raises(SchemaError, match=r"big.yaml is 1024.0 MiB; .* up to 8 MiB"):
        load_schema(path)


def test_many_problems_capped(tmp_path):
    doc = {"columns": [{"name": f"c{i}", "type": "nope"} for i in range(200)]}
    with pytest.raises(SchemaError) as err:
        parse_schema(doc, "s.yaml")
    assert "and 180 more problem(s)" in err.value.message
    assert len(err.value.message) < 5000
