"""A world: its tables and, when it is the course's synthetic world, its planted truth.

What a loaded folder of CSV files becomes (:func:`helpers.io.load_world`) and what the generator returns
(:func:`helpers.synth.generate_world`). This module needs neither: loading a team's tables never imports the
generator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["TABLES", "EVENT_TYPES", "Truth", "World"]

TABLES = (
    "customers",
    "products",
    "transactions",
    "events",
    "campaigns",
    "experiments",
    "email_sends",
    "leads",
    "lead_events",
    "campaign_sends",
)
"""Every table of the world, in the order they are written."""

EVENT_TYPES = (
    "site_visit",
    "product_page_view",
    "catalog_click",
    "guide_download",
    "cart_add",
    "cart_abandon",
    "payment_form_view",
    "email_sent",
    "email_open",
    "email_click",
    "unsubscribe",
    "push_sent",
    "push_open",
    "push_click",
)
"""Event types of the course world's events table (a team's may have others)."""


@dataclass
class Truth:
    """The planted parameters of a world: ``truth.json`` as a mapping of key -> value, each with a description.

    ``truth["segments"]`` gives a value; :meth:`describe` lists every key with what it means; ``customers``
    and ``leads`` give the per-customer and per-lead latent variables as DataFrames.
    """

    entries: dict[str, dict[str, Any]]

    def __getitem__(self, key: str) -> Any:
        """The value of truth key ``key``."""
        return self.entries[key]["value"]

    def __contains__(self, key: object) -> bool:
        """Whether the truth has key ``key``."""
        return key in self.entries

    def keys(self) -> list[str]:
        """Every truth key, in file order."""
        return list(self.entries)

    def describe(self) -> pd.DataFrame:
        """One row per truth key with its description."""
        return pd.DataFrame(
            {"key": list(self.entries), "description": [e["description"] for e in self.entries.values()]}
        )

    @property
    def customers(self) -> pd.DataFrame:
        """Per-customer latent truth: segment (index and name), churn date, rates."""
        df = pd.DataFrame(self["customer_latent"])
        df["churn_date"] = pd.to_datetime(df["churn_date"])
        return df

    @property
    def leads(self) -> pd.DataFrame:
        """Per-lead latent truth: the planted conversion probability."""
        return pd.DataFrame(self["lead_latent"])

    def to_json(self) -> str:
        """The truth as the text of ``truth.json``."""
        return json.dumps(self.entries, indent=1, sort_keys=False, ensure_ascii=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Truth:
        """A truth from the text of ``truth.json``."""
        return cls(json.loads(text))


@dataclass
class World:
    """The tables of a world (``world.customers``, ``world.tables["events"]``, ...) and its truth, if known."""

    tables: dict[str, pd.DataFrame]
    truth: Truth | None = None
    source: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        """A table of the world by name, e.g. ``world.customers``."""
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(f"World has no table or attribute {name!r}; tables: {sorted(tables)}")

    def summary(self) -> pd.DataFrame:
        """Rows and columns of each table; the lines mapping.yml dropped and the columns derived, if any."""
        out = pd.DataFrame(
            [(n, len(t), t.shape[1]) for n, t in self.tables.items()], columns=["table", "rows", "columns"]
        ).set_index("table")
        dropped = self.meta.get("dropped")
        if dropped is not None and len(dropped):  # never silent: a run that dropped lines shows it here
            per = dropped.groupby("table")[["lines", "value_share"]].sum().reindex(out.index)
            out["dropped lines"] = per["lines"].fillna(0).astype(int)
            out["dropped share of value"] = per["value_share"].fillna(0.0)
        derived = self.meta.get("derived") or []
        if derived:  # what the export left out and the loader derived (io.load_world says how)
            what: dict[str, list[str]] = {}
            for note in derived:
                head = note.split(":", 1)[0]
                table, _, col = head.partition(".")
                what.setdefault(table, []).append(col or "the whole table")
            out["derived"] = [", ".join(what.get(t, [])) for t in out.index]
        return out
