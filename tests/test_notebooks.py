"""Notebook hygiene, checked rather than hoped for (nbval separately re-derives every output)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import syllabus  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
VOLATILE = re.compile(r"0x[0-9a-f]{6,}|/work/|/home/|/Users/|/tmp/|\d+\.\d+ ?s(ec)?\b|it/s|\d{4}-\d\d-\d\dT\d\d:\d\d")


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def nb(request):
    return nbformat.read(request.param, as_version=4)


def test_valid_and_executed(nb):
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), "commit the outputs of `make course`"
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "cells must be executed once, top to bottom"


def test_parameters_cell(nb):
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "data_dir = None" in tagged[0].source and "seed = " in tagged[0].source


def test_no_errors_warnings_or_volatile_output(nb):
    for c in nb.cells:
        for o in c.get("outputs", []):
            assert o.output_type != "error", o
            assert not (o.output_type == "stream" and o.name == "stderr"), o.text
            text = o.get("text", "") + json.dumps(o.get("data", {}).get("text/plain", ""))
            assert not VOLATILE.search(text), VOLATILE.search(text).group(0)


def test_no_run_metadata(nb):
    assert "papermill" not in nb.metadata
    assert "version" not in nb.metadata.get("language_info", {}), "the interpreter's version is a machine's"
    for c in nb.cells:
        assert "papermill" not in c.metadata and "execution" not in c.metadata


def test_has_objectives_exercises_solutions_and_summary(nb):
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "you will be able to" in text.lower()
    assert "## Exercises" in text and "## Summary" in text
    assert any("solution" in c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "code")


FIGURE = re.compile(r"<Figure \d+x\d+ px, (\d+) axes: (.*); marks [0-9a-f]{12}(; MISSING .*)?>")


def test_figures_are_titled_and_labelled(nb):
    """Every figure's text form (helpers.plotting.figure_summary) shows a title per panel and no missing label.

    The summary is made from the drawn figure, so a title set anywhere (finish, set_title, a helper) counts and an
    empty one does not."""
    figures = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            text = o.get("data", {}).get("text/plain", "")
            if "image/png" in o.get("data", {}):
                m = FIGURE.fullmatch(text.strip())
                assert m, f"a figure without the course's text form: {text!r}"
                figures.append(m)
    for m in figures:
        assert m.group(3) is None, f"figure '{m.group(2)}':{m.group(3)}"
        assert m.group(2) != "untitled", m.group(0)


def test_navigation_is_generated_and_current(nb, request):
    stem = Path(request.node.callspec.id).name
    nav = [c for c in nb.cells if syllabus.NAV_TAG in c.metadata.get("tags", [])]
    assert len(nav) == 2 and nb.cells[0] is nav[0] and nb.cells[-1] is nav[1]
    assert all(c.source == syllabus.nav_text(stem) for c in nav), "run: python tools/syllabus.py"


def test_readme_syllabus_is_current():
    readme = (ROOT / "README.md").read_text()
    assert syllabus.syllabus_table() in readme, "run: python tools/syllabus.py"


def test_committed_notebooks_never_point_into_a_machine():
    for p in NOTEBOOKS:
        assert "injected-parameters" not in p.read_text(), f"{p.name} was committed from a run with parameters"


def test_make_course_reproduces_every_committed_notebook(tmp_path):
    """Stricter than nbval: outputs, figures (by their text form, helpers.reproduce's rule) and metadata of a fresh
    run equal the committed ones. ``python -m helpers.reproduce`` runs the same check in another configuration."""
    from helpers import reproduce, run

    run.run_course(None, tmp_path, progress=False, jobs=None)  # as `make course`: lessons side by side
    found = [f"{p.name} {d}" for p in NOTEBOOKS for d in reproduce.differences(tmp_path / p.name, p)]
    assert not found, "a fresh `make course` differs from the committed notebooks:\n" + "\n".join(found)
