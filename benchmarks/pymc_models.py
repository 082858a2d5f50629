"""Wall time of lesson 04's PyMC models: first run (compiles into PyTensor's cache) and a second run (cached).

    python benchmarks/pymc_models.py [--out benchmarks/results]

Each model runs twice in its own fresh interpreter with the course's PYTENSOR_FLAGS (compile cache in
.cache/pytensor, as `make` and CI use), on the course world's data for lesson 04's default experiments. The
target: every model samples in under 20 s on 2 cores once compiled. Results go to ``<out>/pymc.md`` and
``<out>/pymc.csv``. Never part of ``make test``; tests/test_benchmarks.py smoke-tests it with tiny draws.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
from pathlib import Path

from run import ROOT, _measure

MODELS = {
    "pymc_ab": (
        "Beta-Binomial A/B on X012's opens (2 chains x {draws} draws, 1,000 tuning), as in lesson 04",
        "from helpers import abtest as ab, io\n"
        "w = io.load_world(world, tables=['email_sends'], truth=False)\n"
        "s = w.email_sends[w.email_sends['campaign_id'] == 'X012']\n"
        "t = ab.counts(s, 'opened')\n"
        "timed_from = time.perf_counter()\n"
        "ab.pymc_ab(t['successes'], t['n'], prior=(1.5, 10.0), names=t.index, draws={draws}, seed=42)",
    ),
    "pymc_by_group": (
        "hierarchical A/B by region on X014's opens (2 chains x {draws} draws, 1,000 tuning); lesson "
        "04 groups by persona, five groups as here",
        "from helpers import abtest as ab, io\n"
        "w = io.load_world(world, tables=['customers', 'email_sends'], truth=False)\n"
        "s = w.email_sends[w.email_sends['campaign_id'] == 'X014'].merge("
        "w.customers[['customer_id', 'region']], on='customer_id')\n"
        "t = ab.counts(s.rename(columns={{'region': 'group'}}), 'opened', by='group').reset_index()\n"
        "timed_from = time.perf_counter()\n"
        "ab.pymc_by_group(t, draws={draws}, seed=42)",
    ),
}


DRAWS = {"pymc_ab": 2000, "pymc_by_group": 1000}  # the lesson's defaults


def run(out: Path, draws: int | None = None, world: Path = ROOT / "data") -> list[dict]:
    """Time each model twice; ``draws`` overrides the lesson's draws (the smoke test uses few)."""
    os.environ.setdefault("PYTENSOR_FLAGS", f"base_compiledir={ROOT / '.cache' / 'pytensor'}")
    rows = []
    for name, (_, code) in MODELS.items():
        for attempt in ("first run (may compile)", "second run (cached)"):
            wall, peak, _ = _measure(code.format(draws=draws or DRAWS[name]), 0, world)
            rows.append({"model": name, "run": attempt, "wall_s": round(wall, 2), "peak_mib": round(peak)})
            print(f"{name:14s} {attempt:24s} {wall:7.2f} s {peak:7.0f} MiB", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "pymc.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["model", "run", "wall_s", "peak_mib"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        f"Machine: {machine}. Wall time of sampling (data loading excluded); target: < 20 s once compiled.",
        "",
        "| model | run | wall (s) | peak memory (MiB) |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {r['model']} | {r['run']} | {r['wall_s']} | {r['peak_mib']:,} |" for r in rows]
    lines += ["", *(f"- **{n}**: {what.format(draws=draws or DRAWS[n])}" for n, (what, _) in MODELS.items())]
    (out / "pymc.md").write_text("\n".join(lines) + "\n")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--draws", type=int, default=None, help="draws per chain (default: the lesson's)")
    a = ap.parse_args(argv)
    run(a.out, a.draws)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
