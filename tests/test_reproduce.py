"""Re-derivation on any machine: the comparison rule, the simulated configurations, and the course itself in the
alternate configuration (``make test`` runs that in the background; see conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import paths, plotting, reproduce  # noqa: E402


def _nb(text_plain: str, png: str, version: str = "3.11.7", stdout: str = "x = 1\n") -> dict:
    return {
        "metadata": {"language_info": {"name": "python", "version": version}},
        "cells": [
            {
                "cell_type": "code",
                "source": "plot()",
                "metadata": {},
                "execution_count": 1,
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": stdout},
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"image/png": png, "text/plain": text_plain},
                    },
                ],
            }
        ],
    }


def test_png_bytes_and_python_version_do_not_count_but_everything_else_does():
    committed = _nb("<Figure ...; marks aaa>", "PNG-1")
    assert reproduce.differences(_nb("<Figure ...; marks aaa>", "PNG-2", version="3.13.0"), committed) == []
    moved = reproduce.differences(_nb("<Figure ...; marks bbb>", "PNG-1"), committed)
    assert len(moved) == 1 and "cell 0 output 1 text/plain" in moved[0] and "marks bbb" in moved[0]
    printed = reproduce.differences(_nb("<Figure ...; marks aaa>", "PNG-1", stdout="x = 2\n"), committed)
    assert len(printed) == 1 and "output 0 text" in printed[0]


def test_make_course_keeps_the_committed_png_only_of_figures_that_are_the_same():
    committed = _nb("<Figure ...; marks aaa>", "PNG-committed")
    same, moved = _nb("<Figure ...; marks aaa>", "PNG-fresh"), _nb("<Figure ...; marks bbb>", "PNG-fresh")
    assert reproduce.keep_committed_figures(same, committed) == 1
    assert same["cells"][0]["outputs"][1]["data"]["image/png"] == "PNG-committed"
    assert reproduce.keep_committed_figures(moved, committed) == 0
    assert moved["cells"][0]["outputs"][1]["data"]["image/png"] == "PNG-fresh"


def test_a_figure_summary_ignores_last_bits_and_sees_what_a_person_sees():
    x = np.linspace(0, 10, 200)
    y = np.log1p(x * 1000)

    def summary(values, title="Growth", mc=False):
        fig, ax = plt.subplots()
        ax.plot(x, values)
        ax.scatter(x[::10], values[::10])
        if mc:
            plotting.monte_carlo(ax)
        plotting.finish(ax, title, "x", "y")
        out = plotting.figure_summary(fig)
        plt.close(fig)
        return out

    base = summary(y)
    assert summary(np.nextafter(y, np.inf)) == base  # the last bit of every value
    assert summary(y * (1 + 1e-9)) == base
    assert summary(np.where(np.arange(200) == 100, y + 0.05, y)) != base  # one point moved by a visible amount
    assert summary(y, title="Growth!") != base
    # a Monte-Carlo axis: its marks may move, its texts and the number of marks may not
    noise = summary(y, mc=True)
    assert summary(y + np.random.default_rng(0).normal(0, 0.1, 200), mc=True) == noise
    assert summary(y, title="Other", mc=True) != noise


def test_every_committed_figure_has_a_summary_as_its_text():
    for p in sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(p.read_text())
        figures = [o["data"] for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
        assert figures, p.name
        for data in figures:
            text = "".join(data["text/plain"])
            assert text.startswith("<Figure ") and "; marks " in text, f"{p.name}: {text}"


def _numpy_in(env: dict) -> dict:
    code = (
        "import json, numpy\nfrom numpy._core._multiarray_umath import __cpu_features__ as f\n"
        "from threadpoolctl import threadpool_info\n"
        "print(json.dumps({'on': [k for k, v in f.items() if v], 'blas': [i.get('architecture') for i in "
        "threadpool_info() if i.get('internal_api') == 'openblas'], 'threads': [i['num_threads'] for i in "
        "threadpool_info()]}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_the_alternate_configuration_really_differs_from_the_native_one(tmp_path):
    configs = reproduce.configurations(tmp_path)
    alt = configs["alternate"]
    assert configs["native"] == {}
    native, changed = _numpy_in({}), _numpy_in(alt)
    dispatch, enabled = reproduce._numpy_targets()
    if enabled:  # a CPU with any SIMD level above numpy's baseline: the top one is switched off
        already = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").split()
        off = [t for t in alt["NPY_DISABLE_CPU_FEATURES"].split() if t not in already]
        assert off and all(t in native["on"] and t not in changed["on"] for t in off)
        assert all(t not in changed["on"] for t in already)  # what the machine switched off stays off
    if "OPENBLAS_CORETYPE" in alt:
        assert set(changed["blas"]) == {alt["OPENBLAS_CORETYPE"]} != set(native["blas"])
    assert set(changed["threads"]) == {1}
    assert alt["HOME"] != os.environ.get("HOME") and alt["XDG_CACHE_HOME"] != os.environ.get("XDG_CACHE_HOME")
    assert not any((tmp_path / "cache").iterdir())  # a fresh cache
    assert alt["TZ"] != os.environ.get("TZ") and alt["LC_ALL"] != os.environ.get("LC_ALL")
    text = reproduce.describe("alternate", alt)
    assert "NPY_DISABLE_CPU_FEATURES" in text and "native:" in text


def test_arviz_warns_about_its_refactor_by_date_and_cache_unless_helpers_silences_it(tmp_path):
    code = (
        "import warnings\n{pre}\nwith warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('default') if {reset} else None\n    import arviz\n"
        "print(sum('ArviZ is undergoing' in str(x.message) for x in w))"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "fresh"), "HOME": str(tmp_path)}

    def count(pre: str, reset: bool) -> int:
        out = subprocess.run(
            [sys.executable, "-c", code.format(pre=pre, reset=reset)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout.split()[-1])

    assert count("pass", reset=True) == 1  # a fresh cache: ArviZ warns (the check can fail)
    (tmp_path / "fresh").rename(tmp_path / "old")  # and again with another fresh cache, after helpers
    assert count("import helpers", reset=False) == 0


def test_alternate_configuration_rederives_the_course(alternate_run):
    """``make test``: the course executed and nbval run again with numpy's top SIMD level off, another OpenBLAS
    kernel, one thread, a fresh HOME and cache, another time zone and locale, must match the committed notebooks."""
    if not alternate_run:
        pytest.skip("run by `make test` (pytest --rederive-alternate), or: python -m helpers.reproduce")
    proc, log = alternate_run["proc"], alternate_run["log"]
    try:
        proc.wait(timeout=3600)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the alternate re-derivation took more than an hour; its log: {log}")
    text = log.read_text()
    assert proc.returncode == 0, f"in the alternate configuration the course does not re-derive:\n{text}"
    assert "every committed notebook re-derived" in text and "nbval over the committed notebooks" in text


def test_no_lesson_output_reads_the_clock():
    """The date enters only helpers.io's refusal of future dates; no helper or notebook reads the clock else."""
    import re

    clock = re.compile(
        r"date\.today\(|datetime\.now\(|datetime\.utcnow\(|Timestamp\.now\(|Timestamp\(['\"]today|"
        r"time\.time\(|perf_counter\(|time\.localtime\("
    )
    found = []
    for p in sorted((paths.ROOT / "src" / "helpers").glob("*.py")):
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if clock.search(line) and not (  # io._future_limit: the one place the date enters
                p.name == "io.py" and "pd.Timestamp(today or _dt.date.today()) + pd.Timedelta(days=1)" in line
            ):
                found.append(f"{p.name}:{i}: {line.strip()}")
    for p in sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        for c in json.loads(p.read_text())["cells"]:
            if c["cell_type"] == "code" and clock.search("".join(c["source"])):
                found.append(f"{p.name}: {''.join(c['source'])[:80]}")
    assert not found, "outputs must not depend on the date or the time:\n" + "\n".join(found)
