"""`make bench` works: the benchmark script runs at a tiny size and writes its tables (no timing is asserted)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import run as bench  # noqa: E402

# "course" and the lesson steps run `python -m helpers.run` on the world: the same command as `make course DATA=…`,
# which tests/test_run.py runs on two worlds; a 300-customer world is too small for the lessons' models.
SMOKE_STEPS = [s for s in bench.STEPS if s != "course" and not s.startswith("lesson_")]


def test_bench_smoke(tmp_path):
    rows = bench.run([300, 600], SMOKE_STEPS, tmp_path, repeat=1)
    assert {(r["step"], r["n_customers"]) for r in rows} == {(s, n) for s in SMOKE_STEPS for n in (300, 600)}
    assert all(r["wall_s"] > 0 and r["peak_mib"] > 0 for r in rows)
    with (tmp_path / "results.csv").open() as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    md = (tmp_path / "results.md").read_text()
    assert "| world | 600 |" in md and "growth exponent" in md
    assert "| rfm_summary vs rfm_lifetimes | 600 |" in md and "| ab_closed_form vs ab_pymc | 600 |" in md


def test_bench_repeats_short_steps_and_keeps_the_best_time(tmp_path, monkeypatch):
    calls = []

    def fake(code, n, world):
        calls.append(code)
        return [3.0, 1.0, 2.0][len(calls) - 1], 100.0 + len(calls), 5.0

    monkeypatch.setattr(bench, "_measure", fake)
    monkeypatch.setattr(bench, "_measure_values", lambda code, n, world: (*fake(code, n, world)[:2], {}, 5.0))
    (tmp_path / "world_10").mkdir()
    (tmp_path / "world_10" / "customers.csv").write_text("")
    rows = bench.run([10], ["rfm"], tmp_path / "out", worlds=tmp_path, repeat=3)
    assert len(calls) == 3 and rows[0]["wall_s"] == 1.0 and rows[0]["peak_mib"] == 103
    assert "best of 3 runs" in (tmp_path / "out" / "results.md").read_text()
    with pytest.raises(ValueError, match="repeat must be at least 1"):
        bench.run([10], ["rfm"], tmp_path / "out", worlds=tmp_path, repeat=0)


def test_bench_runs_each_lesson_once_and_tables_the_course(tmp_path, monkeypatch):
    """Lesson steps share a run folder, so each runs once; results.md adds them up per size with the heaviest cells."""
    calls = []

    def fake_values(code, n, world):
        calls.append((code, n))
        nn = int(code.split("'--only', '")[1][:2])
        return 10.0 * (nn + 1) * n / 10, 1024.0 * (nn + 1), {"heaviest": f"c{nn}(sec)={nn}s"}, 10.0

    monkeypatch.setattr(bench, "_measure_values", fake_values)
    for n in (10, 20):
        (tmp_path / f"world_{n}").mkdir()
        (tmp_path / f"world_{n}" / "customers.csv").write_text("")
    steps = [f"lesson_{nn}" for nn in bench.LESSONS]
    bench.run([10, 20], steps, tmp_path / "out", worlds=tmp_path, repeat=3)
    assert len(calls) == 14  # once per lesson and size, never repeated
    assert "shutil.rmtree(run_dir" in calls[0][0] and "shutil.rmtree(run_dir" not in calls[1][0]  # 00 starts afresh
    md = (tmp_path / "out" / "results.md").read_text()
    assert "| 00 | 10 s (1.0) | 20 s (1.0) |" in md and "| 06 | 70 s (7.0) | 140 s (7.0) |" in md
    assert "| **total** | **280 s** | **560 s** |" in md  # 10 * (1 + ... + 7), and twice that
    assert "- lesson 03, 20: c3(sec)=3s" in md
    again = bench.run([10], [], tmp_path / "out", worlds=tmp_path)  # earlier results are kept, heaviest cells too
    assert any(r.get("heaviest") == "c6(sec)=6s" for r in again)


def test_baskets_smoke(tmp_path):
    import baskets

    rows = baskets.run([300, 600], [20, 30], at_orders=300, min_support=0.01, out=tmp_path)
    points = {(r["sweep"], r["orders"], r["products"], r["algorithm"]) for r in rows}
    assert points == {
        (s, o, p, a)
        for s, o, p in [("orders", 300, 20), ("orders", 600, 20), ("catalogue", 300, 30)]
        for a in ("fpgrowth", "apriori")
    }
    assert all(r["wall_s"] > 0 and r["peak_mib"] > 0 and r["itemsets"] >= r["frequent_products"] > 0 for r in rows)
    md = (tmp_path / "baskets.md").read_text()
    assert "| catalogue | 300 | 30 |" in md and "apriori / fpgrowth time" in md


def test_pymc_models_smoke(tmp_path):
    import pymc_models

    rows = pymc_models.run(tmp_path, draws=50)
    assert [(r["model"], r["run"]) for r in rows] == [
        (m, r) for m in pymc_models.MODELS for r in ("first run (may compile)", "second run (cached)")
    ]
    assert all(r["wall_s"] > 0 for r in rows) and "| pymc_by_group |" in (tmp_path / "pymc.md").read_text()
