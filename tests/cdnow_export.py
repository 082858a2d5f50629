"""CDNOW's transaction log (it ships inside the pinned lifetimes wheel) exported as a team would hand it over.

python tests/cdnow_export.py /tmp/cdnow      # then: make course DATA=/tmp/cdnow
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd


def write_cdnow_export(d: Path) -> Path:
    """The log as a team would hand it over: its own file and column names, compact dates, and a mapping.yml.

    ``python tests/cdnow_export.py DIR`` writes it; ``make course DATA=DIR`` runs the course on it, and
    docs/real-data.md reports what each lesson found.
    """
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None and spec.submodule_search_locations
    raw = pd.read_csv(Path(spec.submodule_search_locations[0]) / "datasets" / "CDNOW_master.txt", sep=r"\s+", dtype=str)
    d.mkdir(parents=True, exist_ok=True)
    raw.to_csv(d / "cdnow_master.csv", index=False, lineterminator="\n")  # customer_id,date,number_of_cds,dollar_value
    (d / "mapping.yml").write_text(
        "transactions:\n"
        "  file: cdnow_master.csv\n"
        "  columns:\n"
        "    order_date: date\n"
        "    quantity: number_of_cds\n"
        "    amount: dollar_value\n"
        '  date_format: "%Y%m%d"\n'
    )
    return d


if __name__ == "__main__":
    print(write_cdnow_export(Path(sys.argv[1])))
