"""Finished outputs get the permissions a plainly created file or folder would have."""

from __future__ import annotations

import os
import stat

from synthgen.outputs import atomic_output


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_file_output_has_default_permissions(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    target = tmp_path / "out.txt"
    with atomic_output(target) as tmp:
        tmp.write_text("x")
    assert _mode(target) == _mode(plain)


def test_folder_output_has_default_permissions(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    target = tmp_path / "out"
    with atomic_output(target, directory=True) as tmp:
        (tmp / "a.txt").write_text("x")
    assert _mode(target) == _mode(plain)
