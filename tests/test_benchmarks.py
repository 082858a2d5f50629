"""`make bench` works: the benchmark script runs at a tiny size and writes its tables (no timing is asserted)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import run as bench  # noqa: E402


def test_bench_smoke(tmp_path):
    rows = bench.run([300, 600], list(bench.STEPS), tmp_path)
    assert {(r["step"], r["n_customers"]) for r in rows} == {(s, n) for s in bench.STEPS for n in (300, 600)}
    assert all(r["wall_s"] > 0 and r["peak_mib"] > 0 for r in rows)
    with (tmp_path / "results.csv").open() as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    md = (tmp_path / "results.md").read_text()
    assert "| world | 600 |" in md and "growth exponent" in md


def test_baskets_smoke(tmp_path):
    import baskets

    rows = baskets.run([300, 600], [20, 30], at_orders=300, min_support=0.01, out=tmp_path)
    points = {(r["sweep"], r["orders"], r["products"], r["algorithm"]) for r in rows}
    assert points == {(s, o, p, a) for s, o, p in [("orders", 300, 20), ("orders", 600, 20), ("catalogue", 300, 30)]
                      for a in ("fpgrowth", "apriori")}
    assert all(r["wall_s"] > 0 and r["peak_mib"] > 0 and r["itemsets"] >= r["frequent_products"] > 0 for r in rows)
    md = (tmp_path / "baskets.md").read_text()
    assert "| catalogue | 300 | 30 |" in md and "apriori / fpgrowth time" in md


def test_pymc_models_smoke(tmp_path):
    import pymc_models

    rows = pymc_models.run(tmp_path, draws=50)
    assert [(r["model"], r["run"]) for r in rows] == [(m, r) for m in pymc_models.MODELS
                                                      for r in ("first run (may compile)", "second run (cached)")]
    assert all(r["wall_s"] > 0 for r in rows) and "| pymc_by_group |" in (tmp_path / "pymc.md").read_text()
