"""Outputs through the CLI: never over the input, never over an existing file or through a
link without ``--overwrite``, and a worded error for a folder that cannot be written or made."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_cases import GOOD_CSV, GOOD_SCHEMA, check_refusal, run_noting_files, write_case
from typer.testing import CliRunner

from synthgen.cli.main import app


def test_output_equal_to_input(tmp_path):
    data = write_case(tmp_path / "in.csv", GOOD_CSV)
    result, created = run_noting_files(tmp_path, ["schema", "infer", str(data), "-o", str(data)])
    check_refusal(result, created, 1, "in.csv", "same file as the input")
    assert data.read_text() == GOOD_CSV


def test_output_exists_without_overwrite(tmp_path):
    data = write_case(tmp_path / "in.csv", GOOD_CSV)
    out = write_case(tmp_path / "out.yaml", "keep me\n")
    result, created = run_noting_files(tmp_path, ["schema", "infer", str(data), "-o", str(out)])
    check_refusal(result, created, 1, "out.yaml", "already exists", "--overwrite")
    assert out.read_text() == "keep me\n"
    ok = CliRunner().invoke(app, ["schema", "infer", str(data), "-o", str(out), "--overwrite"])
    assert ok.exit_code == 0, ok.output
    assert "name: age" in out.read_text()


UNWRITABLE = {
    "schema-infer": ["schema", "infer", "d.csv", "-o", "ro/out.yaml"],
    "fit": ["fit", "d.csv", "-s", "s.yaml", "-o", "ro/m.synth"],
    "generate": ["generate", "m.synth", "--rows", "5", "-o", "ro/out.csv"],
    "anomalies-fit": ["anomalies", "fit", "d.csv", "-s", "s.yaml", "-o", "ro/det.synth"],
}


@pytest.mark.parametrize("command", list(UNWRITABLE))
def test_unwritable_output_folder(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    write_case(tmp_path / "d.csv", GOOD_CSV)
    write_case(tmp_path / "s.yaml", GOOD_SCHEMA)
    write_case(tmp_path / "m.synth", b"PK\x05\x06" + b"\0" * 18)  # read only after the output check
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: let the kernel refuse as it does for users
        real_access = os.access
        monkeypatch.setattr(
            os,
            "access",
            lambda p, mode, **kw: False if Path(p) == Path("ro") else real_access(p, mode, **kw),
        )
    try:
        result, created = run_noting_files(tmp_path, UNWRITABLE[command])
    finally:
        ro.chmod(0o755)
    check_refusal(result, created, 1, "ro/", "cannot be written", "not writable")
    assert not list(ro.iterdir())


def test_temp_file_refused_by_the_file_system_is_worded(tmp_path, monkeypatch):
    """The folder looked writable but the file system said no (read-only mount, a race)."""
    import tempfile

    from synthgen.errors import OutputError
    from synthgen.outputs import atomic_output

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OutputError, match="not writable .Permission denied."):
        with atomic_output(tmp_path / "out.csv"):
            pass
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("existing", ["file", "symlink", "dangling-symlink"])
def test_output_never_follows_or_replaces_a_link_without_overwrite(tmp_path, existing):
    from synthgen.errors import OutputError
    from synthgen.outputs import atomic_output

    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "out.json"
    if existing == "file":
        out.write_text("keep")
    elif existing == "symlink":
        out.symlink_to(victim)
    else:
        out.symlink_to(tmp_path / "nowhere.txt")
    with pytest.raises(OutputError, match="already exists"):
        with atomic_output(out) as tmp:
            tmp.write_text("new")
    assert victim.read_text() == "keep" and not (tmp_path / "nowhere.txt").exists()
    with atomic_output(out, overwrite=True) as tmp:  # replaces the link itself, not its target
        tmp.write_text("new")
    assert out.read_text() == "new" and not out.is_symlink() and victim.read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "victim.txt"]


def test_output_folder_that_cannot_be_created(tmp_path, monkeypatch):
    """A folder to create under a file (or an unwritable one): a worded error, exit 1."""
    monkeypatch.chdir(tmp_path)
    write_case(tmp_path / "afile", "x")
    result, created = run_noting_files(tmp_path, ["demo", "--data-only", "-o", "afile/examples"])
    check_refusal(result, created, 1, "afile/examples", "cannot be created")
