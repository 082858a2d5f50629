"""The pins are exact, in one place per audience, and the conda files and the three locks agree.

requirements.in is what a student installs to run the lessons; requirements-dev.in adds what only testing and
checking the course needs; requirements-spark.in adds pyspark. Each lock is compiled from its .in file, the two
extra locks constrained by the course's lock.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^\s*-?\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)")
# the tools that test and check the course, and the peers only benchmarks use: never in a student's install
TEST_ONLY = {"pytest", "nbval", "pytest-cov", "coverage", "ruff", "mypy", "selenium", "lifetimes"}


def _pins(path: Path, skip: set[str] = frozenset()) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = PIN.match(line)
        if m and m.group(1).lower() not in skip:
            out[m.group(1).lower()] = m.group(2)
    return out


def _direct(name: str = "requirements.in") -> dict[str, str]:
    lines = [ln.split("#")[0].strip() for ln in (ROOT / name).read_text().splitlines()]
    lines = [ln for ln in lines if ln]
    loose = [ln for ln in lines if "==" not in ln]
    assert not loose, f"{name} must pin exactly (==): {loose}"
    return _pins(ROOT / name)


def _dev() -> dict[str, str]:
    return _direct("requirements-dev.in")


def test_every_direct_dependency_is_pinned_exactly():
    pins = _direct()
    for needed in ("jupyterlab", "papermill", "pandas", "scikit-learn", "mlxtend", "pymc", "matplotlib", "ipykernel"):
        assert needed in pins, f"{needed} is a direct dependency of the lessons and must be pinned in requirements.in"
    dev = _dev()
    for needed in ("pytest", "nbval", "pytest-cov", "ruff", "mypy"):
        assert needed in dev, f"{needed} tests or checks the course and must be pinned in requirements-dev.in"


def test_a_students_install_carries_no_test_tool():
    lessons = set(_pins(ROOT / "requirements.lock"))
    assert not lessons & TEST_ONLY, f"requirements.lock installs test-only tools: {sorted(lessons & TEST_ONLY)}"
    both = set(_direct()) & set(_dev())
    assert not both, f"pinned in both requirements.in and requirements-dev.in: {sorted(both)}"


def test_environment_files_have_the_same_pins():
    assert _pins(ROOT / "environment.yml", skip={"python"}) == _direct()
    assert _pins(ROOT / "environment-dev.yml") == _dev()


def test_lock_agrees_with_direct_pins():
    lock = _pins(ROOT / "requirements.lock")
    for name, ver in _direct().items():
        assert lock.get(name) == ver, f"requirements.lock has {name}=={lock.get(name)}, requirements.in {ver}"


def test_dev_lock_agrees_with_its_pins_and_with_the_course_lock():
    dev_lock = _pins(ROOT / "requirements-dev.lock")
    for name, ver in _dev().items():
        assert dev_lock.get(name) == ver, f"requirements-dev.lock has {name}=={dev_lock.get(name)}, .in {ver}"
    course = _pins(ROOT / "requirements.lock")
    clashes = {n: (v, course[n]) for n, v in dev_lock.items() if n in course and course[n] != v}
    assert not clashes, f"requirements-dev.lock and requirements.lock pin different versions: {clashes}"


@pytest.mark.parametrize("name", sorted({**_direct(), **_dev()}))
def test_installed_versions_are_the_pinned_ones(name):
    assert version(name) == {**_direct(), **_dev()}[name]


def test_spark_lock_pins_pyspark_and_agrees_with_the_course_lock():
    spark_in = _pins(ROOT / "requirements-spark.in")
    spark_lock = _pins(ROOT / "requirements-spark.lock")
    assert "pyspark" in spark_in and spark_lock["pyspark"] == spark_in["pyspark"]
    course = _pins(ROOT / "requirements.lock")
    clashes = {n: (v, course[n]) for n, v in spark_lock.items() if n in course and course[n] != v}
    assert not clashes, f"requirements-spark.lock and requirements.lock pin different versions: {clashes}"
    assert set(spark_lock) - set(course) == {"pyspark", "py4j"}, "the Spark lock should add pyspark and py4j only"
