"""Shared fixtures: small worlds generated once per session, and a copy of one for breaking on purpose.

With ``--rederive-alternate`` (``make test`` passes it), the session also re-derives the whole course in the
alternate numeric configuration (:mod:`helpers.reproduce`) in a second process, from the first test on, so that
it runs beside the other tests on the machine's second core; the last test of the session waits for it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
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


# ----------------------------------------------------------------------------------------------------------------
# The course re-derived in the alternate numeric configuration, beside the other tests
# ----------------------------------------------------------------------------------------------------------------
ALTERNATE_TEST = "test_alternate_configuration_rederives_the_course"
_ALTERNATE: dict = {}


def pytest_addoption(parser):
    parser.addoption(
        "--rederive-alternate",
        action="store_true",
        help="also execute the course and nbval in the alternate numeric configuration (helpers.reproduce)",
    )


def pytest_sessionstart(session):
    if not session.config.getoption("--rederive-alternate", default=False):
        return
    from helpers import paths

    folder = Path(tempfile.mkdtemp(prefix="mlm-alternate-"))
    log = folder / "alternate.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "helpers.reproduce", "--config", "alternate", "--nbval"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(paths.ROOT),
        )
    _ALTERNATE.update(proc=proc, log=log, folder=folder)


def pytest_collection_modifyitems(session, config, items):
    last = [item for item in items if item.name == ALTERNATE_TEST]
    items[:] = [item for item in items if item.name != ALTERNATE_TEST] + last


def pytest_terminal_summary(terminalreporter):
    text = _ALTERNATE.get("text") or (
        _ALTERNATE["log"].read_text() if "log" in _ALTERNATE and _ALTERNATE["log"].exists() else ""
    )
    if text:
        terminalreporter.write_sep("-", "numeric configurations compared (helpers.reproduce)")
        for line in text.splitlines():
            if line.startswith(("native:", "alternate:")):
                terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    proc = _ALTERNATE.get("proc")
    if proc is not None and proc.poll() is None:  # the session ended early: do not leave it running
        proc.kill()
        proc.wait()
    if proc is not None and _ALTERNATE["log"].exists():
        _ALTERNATE["text"] = _ALTERNATE["log"].read_text()  # for the terminal summary, which comes after
    if proc is not None and proc.returncode == 0:  # kept for reading when it failed
        shutil.rmtree(_ALTERNATE["folder"], ignore_errors=True)


@pytest.fixture()
def alternate_run() -> dict:
    """The background re-derivation started by ``--rederive-alternate`` (empty without it)."""
    return _ALTERNATE
