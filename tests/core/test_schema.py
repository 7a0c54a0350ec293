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
