"""A second, differently shaped dataset: a small CRM-like export that the whole course must run on.

It starts from a world of the generator and then looks like somebody else's export: three segments instead of
five, another catalogue (30 products with the team's own SKUs, names and category labels), other region names,
experiment and campaign ids of another scheme, dates shifted to March 2022 – February 2024, an extra column the
course does not use, and no truth file. Built on the fly (deterministically) rather than committed as CSV files.

    python tests/crm_export.py /tmp/crm     # write it to a folder, e.g. to run `make course DATA=/tmp/crm`
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import io
from helpers.synth import generate_world

SHIFT = pd.Timestamp("2022-03-01") - pd.Timestamp("2024-01-01")  # the export's first day is 2022-03-01
REGIONS = {"North": "Nordics", "South": "Iberia", "East": "Baltics", "West": "Benelux", "Central": "DACH"}
CATEGORIES = {
    "beauty": "Skin care",
    "books": "Media",
    "electronics": "Gadgets",
    "fashion": "Apparel",
    "home": "Living",
    "sports": "Outdoor",
}


def make_crm_export(dest: str | Path, seed: int = 11) -> Path:
    """Write the export's CSV files into ``dest`` and return it."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    world = generate_world(seed=seed, n_customers=1_500, n_segments=3, n_products=30, n_campaigns=60)
    tables = {name: df.copy() for name, df in world.tables.items()}
    sku = {p: f"SKU-{1000 + i}" for i, p in enumerate(tables["products"]["product_id"])}
    rng = np.random.default_rng(seed)
    ids = {c: f"CMP-{i:04d}" for i, c in enumerate(tables["campaigns"]["campaign_id"])}
    ids.update(
        {x: f"EXP-{2022 + i // 12}-{i % 12 + 1:02d}" for i, x in enumerate(tables["experiments"]["campaign_id"])}
    )
    for name, df in tables.items():
        schema = io.SCHEMAS[name]
        for col in schema.columns:
            if col.name not in df:
                continue
            if col.kind in ("date", "datetime"):
                df[col.name] = pd.to_datetime(df[col.name]) + SHIFT
        if "product_id" in df:
            df["product_id"] = df["product_id"].map(sku)
        if "campaign_id" in df:
            df["campaign_id"] = df["campaign_id"].map(lambda c: ids.get(c, c) if isinstance(c, str) else c)
        if "region" in df:
            df["region"] = df["region"].map(lambda r: REGIONS.get(r, r))
    products = tables["products"]
    products["category"] = products["category"].map(lambda c: CATEGORIES.get(c, c))
    products["name"] = [f"{c} item {i + 1}" for i, c in enumerate(products["category"])]
    tables["customers"]["crm_owner"] = rng.choice(["team-a", "team-b", "partner"], size=len(tables["customers"]))
    for name, df in tables.items():
        df.to_csv(dest / io.SCHEMAS[name].file, index=False, date_format="%Y-%m-%d %H:%M:%S")
    return dest


if __name__ == "__main__":
    print(make_crm_export(sys.argv[1] if len(sys.argv) > 1 else "crm_export"))
