"""Apriori vs FP-growth as the baskets and the catalogue grow: wall time, peak memory, itemsets found.

    python benchmarks/baskets.py [--orders 10000 100000 1000000] [--products 50 200 500 2000]
                                 [--at-orders 100000] [--min-support 0.001] [--memory-limit-gib 12]
                                 [--out benchmarks/results]

Two sweeps over orders drawn from worlds of helpers.synth (seed 42): the number of orders grows at a
catalogue of ``--products``' smallest value, and the catalogue grows at ``--at-orders`` orders. The orders of a
point are a seeded random sample of one world's orders, so every point of a sweep has the same shopping habits.
Both miners get the same sparse basket matrix (helpers.nbo.mine_rules, itemsets of one or two products, rules at
confidence >= 0.05); each (miner, point) runs in a fresh subprocess (see run.py) and its wall time excludes
reading the orders. A miner that would need more than ``--memory-limit-gib`` of address space is stopped and
reported as such (apriori's candidate pairs grow with the square of the frequent products). Results go to
``<out>/baskets.csv`` and ``<out>/baskets.md`` with the apriori / fpgrowth
ratios. Never part of ``make test``; tests/test_benchmarks.py smoke-tests it at a tiny size.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import tempfile
from pathlib import Path

from run import ROOT, BenchmarkFailed, _measure, _measure_values

ORDERS_PER_CUSTOMER = 9  # a little under the course world's ~10.6, so a world always has enough orders

PREPARE = """
import numpy as np
from helpers.synth import generate_world
tx = generate_world(seed=42, n_customers=n, n_products={products}).transactions
ids = np.unique(tx['order_id'].to_numpy())
for size in {sizes}:
    if size > len(ids):
        raise SystemExit(f'the world has {{len(ids)}} orders, fewer than {{size}}')
    pick = np.random.default_rng(42).choice(ids, size, replace=False)
    tx[tx['order_id'].isin(pick)].to_parquet(f'{{world}}/orders_{{size}}.parquet')
"""

MINE = """
import pandas as pd
from helpers import nbo
tx = pd.read_parquet(world + '/orders_{orders}.parquet')
timed_from = time.perf_counter()
itemsets, rules = nbo.mine_rules(tx, min_support={min_support}, min_confidence=0.05, algorithm='{algorithm}')
timed_to = time.perf_counter()
print('__value__ itemsets', len(itemsets))
print('__value__ frequent_products', int((itemsets['size'] == 1).sum()))
"""

ALGORITHMS = ("fpgrowth", "apriori")


def run(
    orders: list[int], products: list[int], at_orders: int, min_support: float, out: Path, memory_limit_gib: float = 12
) -> list[dict]:
    """Measure both miners on every point of the two sweeps; write ``baskets.csv`` and ``baskets.md``."""
    orders, products = sorted(orders), sorted(products)
    points = [("orders", o, products[0]) for o in orders] + [("catalogue", at_orders, p) for p in products[1:]]
    if at_orders not in orders:
        points.insert(len(orders), ("catalogue", at_orders, products[0]))
    needed: dict[int, set[int]] = {}
    for _, o, p in points:
        needed.setdefault(p, set()).add(o)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mlm-baskets-") as tmp:
        for p, sizes in needed.items():
            world = Path(tmp) / f"products_{p}"
            world.mkdir()
            customers = max(1000, math.ceil(max(sizes) / ORDERS_PER_CUSTOMER))
            _measure(PREPARE.format(products=p, sizes=sorted(sizes)), customers, world)
            for sweep, o, p2 in points:
                if p2 != p:
                    continue
                for algorithm in ALGORITHMS:
                    code = MINE.format(orders=o, min_support=min_support, algorithm=algorithm)
                    row = {"sweep": sweep, "algorithm": algorithm, "orders": o, "products": p}
                    try:
                        wall, peak, values, _ = _measure_values(code, o, world, round(memory_limit_gib * 1024))
                    except BenchmarkFailed as e:
                        if not e.out_of_memory:
                            raise
                        rows.append(
                            {
                                **row,
                                "frequent_products": "",
                                "itemsets": "",
                                "wall_s": "",
                                "peak_mib": "",
                                "status": f"stopped: over {memory_limit_gib:g} GiB",
                            }
                        )
                        print(
                            f"{algorithm:9s} orders={o:>9,d} products={p:>5,d} stopped: over {memory_limit_gib:g} GiB",
                            flush=True,
                        )
                        continue
                    rows.append(
                        {
                            **row,
                            "frequent_products": int(values["frequent_products"]),
                            "itemsets": int(values["itemsets"]),
                            "wall_s": round(wall, 3),
                            "peak_mib": round(peak),
                            "status": "ok",
                        }
                    )
                    print(
                        f"{algorithm:9s} orders={o:>9,d} products={p:>5,d} itemsets={values['itemsets']:>6s} "
                        f"{wall:8.2f} s {peak:8.0f} MiB",
                        flush=True,
                    )
    rows.sort(key=lambda r: (r["sweep"] != "orders", r["orders"], r["products"], r["algorithm"]))
    _write(rows, min_support, out)
    return rows


def _write(rows: list[dict], min_support: float, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cols = ["sweep", "algorithm", "orders", "products", "frequent_products", "itemsets", "wall_s", "peak_mib", "status"]
    with (out / "baskets.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        f"Machine: {machine}. Minimum support {min_support:g} (share of orders), itemsets of 1 or 2 "
        "products. Both miners find the same number of itemsets at every point (the run stops otherwise; "
        "tests/test_nbo.py checks that the itemsets are identical).",
        "",
        "| sweep | orders | products | frequent products | itemsets | fpgrowth (s) | apriori (s) | "
        "apriori / fpgrowth time | fpgrowth peak (MiB) | apriori peak (MiB) | apriori / fpgrowth memory |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    pairs: dict[tuple, dict] = {}
    for r in rows:
        pairs.setdefault((r["sweep"], r["orders"], r["products"]), {})[r["algorithm"]] = r
    for (sweep, o, p), d in pairs.items():
        f, a = d["fpgrowth"], d["apriori"]
        ok = [r for r in (f, a) if r["status"] == "ok"]
        if len({r["itemsets"] for r in ok}) > 1:
            raise RuntimeError(f"fpgrowth and apriori disagree at {o} orders x {p} products")
        ref = ok[0] if ok else f
        cells = [
            sweep,
            f"{o:,}",
            f"{p:,}",
            f"{ref['frequent_products']:,}" if ok else "",
            f"{ref['itemsets']:,}" if ok else "",
        ]
        both = f["status"] == a["status"] == "ok"
        cells += [
            f["wall_s"] if f["status"] == "ok" else f["status"],
            a["wall_s"] if a["status"] == "ok" else a["status"],
            f"{a['wall_s'] / max(f['wall_s'], 1e-9):.1f}" if both else "",
            f"{f['peak_mib']:,}" if f["status"] == "ok" else f["status"],
            f"{a['peak_mib']:,}" if a["status"] == "ok" else a["status"],
            f"{a['peak_mib'] / max(f['peak_mib'], 1):.1f}" if both else "",
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    (out / "baskets.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--products", type=int, nargs="+", default=[50, 200, 500, 2_000])
    ap.add_argument("--at-orders", type=int, default=100_000, help="orders of the catalogue sweep")
    ap.add_argument("--min-support", type=float, default=0.001)
    ap.add_argument(
        "--memory-limit-gib",
        type=float,
        default=12,
        help="stop a miner that needs more address space than this (default: 12)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    a = ap.parse_args(argv)
    run(a.orders, a.products, a.at_orders, a.min_support, a.out, a.memory_limit_gib)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
