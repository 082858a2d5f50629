"""The pins are exact, in one place, and environment.yml, requirements.lock and requirements-spark.lock agree."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^\s*-?\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)")


def _pins(path: Path, skip: set[str] = frozenset()) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = PIN.match(line)
        if m and m.group(1).lower() not in skip:
            out[m.group(1).lower()] = m.group(2)
    return out


def _direct() -> dict[str, str]:
    lines = [ln.split("#")[0].strip() for ln in (ROOT / "requirements.in").read_text().splitlines()]
    lines = [ln for ln in lines if ln]
    loose = [ln for ln in lines if "==" not in ln]
    assert not loose, f"requirements.in must pin exactly (==): {loose}"
    return _pins(ROOT / "requirements.in")


def test_every_direct_dependency_is_pinned_exactly():
    pins = _direct()
    for needed in (
        "jupyterlab",
        "papermill",
        "nbval",
        "pandas",
        "scikit-learn",
        "mlxtend",
        "pymc",
        "matplotlib",
        "ipykernel",
        "pytest",
    ):
        assert needed in pins, f"{needed} is a direct dependency of the course and must be pinned"


def test_environment_yml_has_the_same_pins():
    env = _pins(ROOT / "environment.yml", skip={"python"})
    assert env == _direct()


def test_lock_agrees_with_direct_pins():
    lock = _pins(ROOT / "requirements.lock")
    for name, ver in _direct().items():
        assert lock.get(name) == ver, f"requirements.lock has {name}=={lock.get(name)}, requirements.in {ver}"


@pytest.mark.parametrize("name", sorted(_direct()))
def test_installed_versions_are_the_pinned_ones(name):
    assert version(name) == _direct()[name]


def test_spark_lock_pins_pyspark_and_agrees_with_the_course_lock():
    spark_in = _pins(ROOT / "requirements-spark.in")
    spark_lock = _pins(ROOT / "requirements-spark.lock")
    assert "pyspark" in spark_in and spark_lock["pyspark"] == spark_in["pyspark"]
    course = _pins(ROOT / "requirements.lock")
    clashes = {n: (v, course[n]) for n, v in spark_lock.items() if n in course and course[n] != v}
    assert not clashes, f"requirements-spark.lock and requirements.lock pin different versions: {clashes}"
    assert set(spark_lock) - set(course) == {"pyspark", "py4j"}, "the Spark lock should add pyspark and py4j only"
