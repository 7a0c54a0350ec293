"""Shared fixtures: paths to the repository and to the benchmark data in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# property tests run the same examples on every run, so CI never fails by chance; set
# SYNTHGEN_FUZZ_RANDOM=1 (and SYNTHGEN_FUZZ_EXAMPLES) to search afresh
settings.register_profile("fixed", derandomize=True)
settings.register_profile("random", derandomize=False)
settings.load_profile("random" if os.environ.get("SYNTHGEN_FUZZ_RANDOM") == "1" else "fixed")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is missing: check out ../shared beside the repository")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return _need(SHARED_DATA)


@pytest.fixture(scope="session")
def adult_path() -> Path:
    return _need(SHARED_DATA / "adult" / "train.csv")


@pytest.fixture(scope="session")
def adult_test_path() -> Path:
    return _need(SHARED_DATA / "adult" / "test.csv")


@pytest.fixture(scope="session")
def adult_schema():
    from synthgen.schema import load_schema

    return load_schema(REPO / "schemas" / "adult.yaml")
