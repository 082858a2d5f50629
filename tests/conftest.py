"""Shared fixtures: small worlds generated once per session, and a copy of one for breaking on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers.synth import generate_world, write_world


@pytest.fixture(scope="session")
def small_world():
    """A 3,000-customer world (fast) with its truth."""
    return generate_world(seed=7, n_customers=3_000, n_campaigns=60)


@pytest.fixture(scope="session")
def course_world():
    """The course world in data/ (``make test`` generates it first), with its truth."""
    from helpers import io, paths

    if not (paths.DATA_DIR / "customers.csv").exists():
        pytest.fail("data/ has no course world: run `make data` (make test does it for you)")
    return io.load_world()


@pytest.fixture(scope="session")
def small_world_dir(tmp_path_factory, small_world) -> Path:
    d = tmp_path_factory.mktemp("small_world")
    write_world(small_world, d)
    return d


@pytest.fixture()
def world_copy(tmp_path, small_world_dir) -> Path:
    """A private copy of the small world's files, to damage in one test."""
    d = tmp_path / "world"
    shutil.copytree(small_world_dir, d)
    return d
