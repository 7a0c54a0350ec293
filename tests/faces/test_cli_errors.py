"""The bad-input battery through the CLI: exit code, a message naming the culprit, no traceback,
and no file written."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_cases import GOOD_CSV, GOOD_SCHEMA, check_refusal, run_noting_files, write_case
from typer.testing import CliRunner

from synthgen.cli.main import app


def _parquet(**columns) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


DEEP = 100_000  # levels of nesting: far past Python's recursion limit

# name -> (file name, content, words the message must contain)
BAD_DATA = {
    # nested values (cause 12) and deep nesting (cause 10): refused at read, column named
    "jsonl-object": (
        "obj.jsonl",
        '{"age": 25, "job": "clerk", "income": "x"}\n{"age": 26, "job": {"a": 1}, "income": "y"}\n',
        ["obj.jsonl", "line 2, column 'job' holds an object", "flat tables"],
    ),
    "jsonl-array": (
        "arr.jsonl",
        '{"age": [1, 2], "job": "clerk", "income": "x"}\n',
        ["arr.jsonl", "line 1, column 'age' holds an array"],
    ),
    "jsonl-deep": (
        "deep.jsonl",
        '{"age": ' + "[" * DEEP + "]" * DEEP + "}\n",
        ["deep.jsonl", "line 1 nests JSON too deeply"],
    ),
    "jsonl-duplicate-key": (
        "dup.jsonl",
        '{"age": 25, "job": "clerk", "age": 26, "income": "x"}\n',
        ["dup.jsonl", "line 1 gives the key 'age' twice"],
    ),
    "parquet-list": (
        "list.parquet",
        _parquet(age=[25, 40], job=[["a"], ["b", "c"]], income=["x", "y"]),
        ["list.parquet", "'job' (list<", "nested values"],
    ),
    "parquet-struct": (
        "struct.parquet",
        _parquet(age=[{"y": 25}, {"y": 40}], job=["a", "b"], income=["x", "y"]),
        ["struct.parquet", "'age' (struct<", "nested values"],
    ),
    "missing-path": ("nope.csv", None, ["nope.csv", "does not exist"]),
    "directory": ("folder.csv", "<dir>", ["folder.csv", "is a directory"]),
    "zero-bytes": ("empty.csv", "", ["empty.csv", "empty (0 bytes)"]),
    "header-only": ("head.csv", "age,job,income\n", ["head.csv", "no rows"]),
    "ragged": ("ragged.csv", GOOD_CSV + "33,clerk\n", ["ragged.csv", "line 4 has 2 fields"]),
    "non-utf8": (
        "latin.csv",
        (GOOD_CSV + "30,caf\xe9,>50K\n").encode("latin-1"),
        ["latin.csv", "not UTF-8", "line 4"],
    ),
    "corrupt-parquet": (
        "bad.parquet",
        b"PAR1 this is not parquet at all",
        ["bad.parquet", "not a valid Parquet file"],
    ),
    "unknown-extension": ("data.xlsx", GOOD_CSV, ["data.xlsx", "extension '.xlsx'"]),
}


@pytest.mark.parametrize("command", ["infer", "validate"])
@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_file(tmp_path, case, command):
    name, content, needles = BAD_DATA[case]
    data = write_case(tmp_path / name, content)
    if command == "infer":
        args = ["schema", "infer", str(data), "-o", str(tmp_path / "out.yaml")]
    else:
        schema = write_case(tmp_path / "s.yaml", GOOD_SCHEMA)
        args = ["schema", "validate", str(schema), "--data", str(data)]
    result, created = run_noting_files(tmp_path, args)
    check_refusal(result, created, 1, *needles)


BAD_SCHEMAS = {
    "invalid-yaml": ("columns:\n  - {name: age, type: integer\n", ["not valid YAML", "line"]),
    "unknown-key": (GOOD_SCHEMA + "colour: blue\n", ["unknown key 'colour'"]),
    "duplicate-column": (
        GOOD_SCHEMA + "  - {name: age, type: integer}\n",
        ["duplicate column name(s): age"],
    ),
    "min-gt-max": (
        GOOD_SCHEMA.replace("min: 17", "min: 95"),
        ["columns[0] ('age')", "min (95) is greater than max (90)"],
    ),
}


BAD_SCHEMAS.update(
    {
        # cause 18: NaN bounds would switch range checks off; a key given twice
        "nan-min": (GOOD_SCHEMA.replace("min: 17", "min: .nan"), ["('age').min", "finite"]),
        "inf-max": (GOOD_SCHEMA.replace("max: 90", "max: .inf"), ["('age').max", "finite"]),
        "duplicate-key": (
            GOOD_SCHEMA.replace("target: income\n", "target: income\ntarget: job\n"),
            ["line 4", "found the key 'target' twice"],
        ),
        "duplicate-column-key": (
            GOOD_SCHEMA.replace("type: integer,", "type: integer, type: continuous,"),
            ["found the key 'type' twice"],
        ),
        # cause 10: nesting deeper than any schema needs, within and beyond Python's limit
        "deep-flow": ("columns: " + "[" * DEEP + "]" * DEEP + "\n", ["levels deep"]),
        "deep-blocks": (
            "columns:\n" + "".join("  " * i + "- \n" for i in range(300)),
            ["levels deep"],
        ),
    }
)


@pytest.mark.parametrize("case", list(BAD_SCHEMAS))
def test_bad_schema(tmp_path, case):
    content, needles = BAD_SCHEMAS[case]
    schema = write_case(tmp_path / "bad.yaml", content)
    data = write_case(tmp_path / "good.csv", GOOD_CSV)
    result, created = run_noting_files(
        tmp_path, ["schema", "validate", str(schema), "--data", str(data)]
    )
    check_refusal(result, created, 1, "bad.yaml", *needles)


MISMATCHES = {
    "missing-column": ("age,income\n25,<=50K\n", ["missing column(s): 'job'"]),
    "extra-column": (
        "age,job,income,zip\n25,clerk,<=50K,12345\n",
        ["extra column(s) not in the schema: 'zip'"],
    ),
    "wrong-type": (
        "age,job,income\nold,clerk,<=50K\n",
        ["column 'age'", "are not integers: 'old' (row 1)"],
    ),
    "out-of-range": (
        "age,job,income\n25,clerk,<=50K\n130,sales,>50K\n",
        ["column 'age'", "out of range [17, 90]: '130' (row 2)"],
    ),
    # cause 1: beyond int64, refused with the value and row (not cast to -2**63)
    "beyond-int64": (
        "age,job,income\n25,clerk,<=50K\n18446744073709551621,sales,>50K\n",
        ["column 'age'", "beyond the 64-bit integer range: '18446744073709551621' (row 2)"],
    ),
    "float-integral-beyond-int64": (
        "age,job,income\n1e300,clerk,<=50K\n",
        ["column 'age'", "beyond the 64-bit integer range: '1e300' (row 1)"],
    ),
    "unknown-category": (
        "age,job,income\n25,pilot,<=50K\n",
        ["column 'job'", "'pilot' (row 1)", "known: 'clerk', 'sales'"],
    ),
}


@pytest.mark.parametrize("case", list(MISMATCHES))
def test_data_does_not_match(tmp_path, case):
    content, needles = MISMATCHES[case]
    schema = write_case(tmp_path / "s.yaml", GOOD_SCHEMA)
    data = write_case(tmp_path / "mismatch.csv", content)
    result, created = run_noting_files(
        tmp_path, ["schema", "validate", str(schema), "--data", str(data)]
    )
    check_refusal(result, created, 1, "mismatch.csv", "does not match schema 'tiny'", *needles)


def test_every_mismatch_in_one_message(tmp_path):
    schema = write_case(tmp_path / "s.yaml", GOOD_SCHEMA)
    data = write_case(tmp_path / "all.csv", "age,income,zip\n130,maybe,1\nold,<=50K,2\n")
    result, created = run_noting_files(
        tmp_path, ["schema", "validate", str(schema), "--data", str(data)]
    )
    check_refusal(
        result,
        created,
        1,
        "missing column(s): 'job'",
        "'zip'",
        "'old' (row 2)",
        "'130' (row 1)",
        "'maybe' (row 1)",
    )


def test_usage_error_is_exit_2(tmp_path):
    result = CliRunner().invoke(app, ["schema", "infer"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_infer_then_validate_ok(tmp_path, adult_path):
    out = tmp_path / "adult.yaml"
    result = CliRunner().invoke(
        app, ["schema", "infer", str(adult_path), "--target", "income", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adult.yaml"]
    result = CliRunner().invoke(app, ["schema", "validate", str(out), "--data", str(adult_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok ") and "26048 rows" in result.stdout


def test_infer_prints_yaml_without_output(tmp_path):
    data = write_case(tmp_path / "in.csv", GOOD_CSV)
    result = CliRunner().invoke(app, ["schema", "infer", str(data)])
    assert result.exit_code == 0
    assert "type: integer" in result.stdout and result.stdout.startswith("schema_version: 1")


def test_validate_schema_only(repo_root):
    result = CliRunner().invoke(app, ["schema", "validate", str(repo_root / "schemas/adult.yaml")])
    assert result.exit_code == 0
    assert result.stdout.startswith("ok ") and "15 columns" in result.stdout


SEED_COMMANDS = {
    "fit": ["fit", "d.csv", "-s", "s.yaml", "-o", "m.synth"],
    "generate": ["generate", "m.synth", "--rows", "5", "-o", "out.csv"],
    "augment": ["augment", "d.csv", "--model", "m.synth", "--rows", "5", "-o", "out.csv"],
    "anomalies-fit": ["anomalies", "fit", "d.csv", "-s", "s.yaml", "-o", "det.synth"],
    "evaluate": ["evaluate", "--real", "d.csv", "--synthetic", "d.csv", "-s", "s.yaml"],
}


@pytest.mark.parametrize("seed", ["-1", str(2**63), str(10**30), "1e3", "0x10"])
@pytest.mark.parametrize("command", list(SEED_COMMANDS))
def test_seed_out_of_range_is_a_usage_error(tmp_path, monkeypatch, command, seed):
    monkeypatch.chdir(tmp_path)
    write_case(tmp_path / "d.csv", GOOD_CSV)
    write_case(tmp_path / "s.yaml", GOOD_SCHEMA)
    result, created = run_noting_files(tmp_path, [*SEED_COMMANDS[command], "--seed", seed])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "--seed" in result.output and seed in result.output
    assert not created


def test_seed_bounds_hold_in_the_library_too(tmp_path):
    from synthgen.errors import UsageError
    from synthgen.jobs.augment import augment_to_file
    from synthgen.jobs.evaluate import evaluate_files
    from synthgen.jobs.generate import generate_to_file

    for seed in (-1, 2**63, True, 1.5):
        with pytest.raises(UsageError, match="seed"):
            generate_to_file(tmp_path / "m.synth", 5, tmp_path / "o.csv", seed=seed)
        with pytest.raises(UsageError, match="seed"):
            augment_to_file(tmp_path / "d.csv", tmp_path / "m.synth", tmp_path / "o.csv", seed=seed)
        with pytest.raises(UsageError, match="seed"):
            evaluate_files(tmp_path / "r.csv", tmp_path / "s.csv", tmp_path / "s.yaml", seed=seed)
    assert not list(tmp_path.iterdir())


def test_schema_file_size_limit(tmp_path):
    """Cause 21: a huge schema file is refused from its size, before it is read."""
    schema = write_case(tmp_path / "huge.yaml", GOOD_SCHEMA + "#" * (9 * 2**20) + "\n")
    data = write_case(tmp_path / "good.csv", GOOD_CSV)
    result, created = run_noting_files(
        tmp_path, ["schema", "validate", str(schema), "--data", str(data)]
    )
    check_refusal(result, created, 1, "huge.yaml", "is 9.0 MiB", "up to 8 MiB")


# cause 17: what schema infer writes, validate must accept: infer refuses such values itself
INFER_REFUSES = {
    "inf": ("a,b\n1,2.5\n2,inf\n", ["column 'b'", "infinite value: 'inf' (row 2)"]),
    "-infinity": ("a,b\n1,-Infinity\n2,3\n", ["column 'b'", "'-Infinity' (row 1)"]),
    "overflow": ("a,b\n1,1e400\n2,3\n", ["column 'b'", "'1e400' (row 1)"]),
    "date-1500": (
        "a,d\n1,2020-01-01\n2,1500-06-30\n",
        ["column 'd'", "years 1677-2262", "'1500-06-30' (row 2)"],
    ),
    "date-2999": ("a,d\n1,2999-01-01 10:00:00\n", ["column 'd'", "'2999-01-01 10:00:00'"]),
}


@pytest.mark.parametrize("case", list(INFER_REFUSES))
def test_infer_refuses_what_validate_would(tmp_path, case):
    content, needles = INFER_REFUSES[case]
    data = write_case(tmp_path / "odd.csv", content)
    args = ["schema", "infer", str(data), "-o", str(tmp_path / "odd.yaml")]
    result, created = run_noting_files(tmp_path, args)
    check_refusal(result, created, 1, "odd.csv", *needles)


def test_integers_beyond_int64(tmp_path):
    """Cause 1: infer types them continuous (so validate and fit read them as numbers); a
    schema that says integer refuses them in validate and fit, naming column and row."""
    data = write_case(
        tmp_path / "big.csv", "k,big\n1,9223372036854775808\n2,18446744073709551621\n"
    )
    out = tmp_path / "big.yaml"
    result = CliRunner().invoke(app, ["schema", "infer", str(data), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "type: continuous" in out.read_text()
    result = CliRunner().invoke(app, ["schema", "validate", str(out), "--data", str(data)])
    assert result.exit_code == 0, result.output
    ints = "columns:\n  - {name: k, type: integer}\n  - {name: big, type: integer}\n"
    schema = write_case(tmp_path / "int.yaml", ints)
    needles = ["big.csv", "column 'big'", "'9223372036854775808' (row 1)", "(row 2)"]
    for args in (
        ["schema", "validate", str(schema), "--data", str(data)],
        ["fit", str(data), "--schema", str(schema), "-o", str(tmp_path / "m.synth")],
    ):
        result, created = run_noting_files(tmp_path, args)
        check_refusal(result, created, 1, *needles)
    # int64's own limits are read exactly
    edge = write_case(
        tmp_path / "edge.csv", "k,big\n1,9223372036854775807\n2,-9223372036854775808\n"
    )
    result = CliRunner().invoke(app, ["schema", "validate", str(schema), "--data", str(edge)])
    assert result.exit_code == 0, result.output


def test_condition_column_given_twice(tmp_path):
    """Cause 19: ``-c`` naming a column twice is a usage error, not "the last one wins"."""
    model = write_case(tmp_path / "m.synth", b"not read: the options are checked first")
    args = ["generate", str(model), "-n", "5", "-o", str(tmp_path / "out.csv")]
    result, created = run_noting_files(tmp_path, [*args, "-c", "job=clerk", "-c", " job =sales"])
    check_refusal(
        result, created, 2, "names column 'job' twice", "job=clerk", "give each column once"
    )


def test_schema_commands_quiet_print_nothing_on_success_and_still_fail_loudly(tmp_path):
    data = write_case(tmp_path / "good.csv", GOOD_CSV)
    schema = tmp_path / "inferred.yaml"
    result = CliRunner().invoke(app, ["schema", "infer", str(data), "-o", str(schema), "-q"])
    assert result.exit_code == 0 and result.output == "" and schema.exists()
    result = CliRunner().invoke(app, ["schema", "validate", str(schema), "--data", str(data), "-q"])
    assert result.exit_code == 0 and result.output == ""
    bad = write_case(tmp_path / "bad.csv", "age,job,income\nold,clerk,<=50K\n")
    result, created = run_noting_files(
        tmp_path, ["schema", "validate", str(schema), "--data", str(bad), "-q"]
    )
    check_refusal(result, created, 1, "bad.csv", "age")
