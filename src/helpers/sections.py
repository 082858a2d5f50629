"""Which sections of each lesson a world's data supports: the one place that decides, for notebooks and docs.

A team's export rarely has every table of the course world. Each lesson is cut into sections, and each section
names what it needs (tables, columns, a minimum of distinct values) and what it uses when present. A lesson asks
:func:`plan` once, after loading its data; every code cell of a section begins with a comment naming it::

    # section: churn
    lx, ly = churn.churn_frame(world, learn_as_of, churn_horizon_days)

and a cell whose section the data does not support is not run: the first such cell of a section prints what
would enable it instead. ``metrics.json`` records the sections that ran and those skipped with the reason, and
the table in ``docs/own-data.md`` is generated from :data:`SECTIONS` (``python -m helpers.sections --write``).

Needs are written as ``"table"`` (a non-empty table), ``"table.column"`` (a column with at least one value) or
``"table.column>=N"`` (at least N distinct values); ``"a|b"`` is met when either is.

Examples
--------
>>> import pandas as pd
>>> from helpers.world import World
>>> orders = pd.DataFrame({"customer_id": [1, 2], "order_date": pd.to_datetime(["2024-01-01", "2024-02-01"])})
>>> p = plan("02_scoring", World({"customers": orders[["customer_id"]], "transactions": orders}), activate=False)
>>> p.runs("rfm"), p.runs("leads")
(True, False)
>>> p.skipped["leads"]
'needs leads.csv, lead_events.csv'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["Section", "SECTIONS", "Plan", "plan", "tables", "usable_columns", "markdown_table", "main"]


@dataclass(frozen=True)
class Section:
    """One section of a lesson: what it needs to run and what it uses when present."""

    key: str
    title: str
    needs: tuple[str, ...]
    uses: tuple[str, ...] = ()


def _s(key: str, title: str, needs: Iterable[str], uses: Iterable[str] = ()) -> Section:
    return Section(key, title, tuple(needs), tuple(uses))


_CRM = ("customers.acquisition_channel", "customers.income_band", "customers.preferred_device")
_EMAIL_TESTS = ("campaigns", "experiments", "email_sends", "customers.email_consent")

SECTIONS: dict[str, tuple[Section, ...]] = {
    "00_the_world": (
        _s("customers", "1. Customers", ["customers"]),
        _s("customer_mix", "1. Customers: channels, income bands, devices", ["|".join(_CRM)]),
        _s("purchases", "2. What customers buy", ["transactions"]),
        _s("events", "3. What customers do", ["events"]),
        _s("campaigns", "4. Campaigns", ["campaigns"]),
        _s(
            "spend_by_channel",
            "Exercise 1: spend by acquisition channel",
            ["transactions", "customers.acquisition_channel"],
        ),
    ),
    "01_segmentation": (
        _s(
            "segmentation",
            "1-5. Behaviour features, PCA, k-means, two-step clustering, personas",
            ["transactions"],
            ["events", "products", "transactions.product_id", "customers.age", *_CRM, "customers.loyalty_member"],
        ),
    ),
    "02_scoring": (
        _s("leads", "Part A. Lead scoring: rules, a learned trigger, logistic regression", ["leads", "lead_events"]),
        _s("rfm", "Part B. RFM and the lifetimes summary", ["transactions"]),
        _s(
            "churn",
            "Part C. Churn",
            ["transactions"],
            ["events", "products", "transactions.product_id", "customers.age"],
        ),
        _s("loyalty", "Exercise 3: churn with loyalty membership", ["transactions", "customers.loyalty_member"]),
    ),
    "03_nbo": (
        _s(
            "nbo",
            "1-5. Baskets, association rules, streaming rules, next best offers, cold starts",
            ["transactions.product_id>=2", "products"],
            ["events"],
        ),
    ),
    "04_abtest": (
        _s(
            "design",
            "1. Designing a test: random assignment, sample-ratio check",
            ["customers.email_consent", "customers.region"],
        ),
        _s(
            "tests",
            "1-5. Test size, frequentist and Bayesian reading, segments, the answer key",
            [*_EMAIL_TESTS, "transactions"],
            ["products", "events"],
        ),
        _s("send_time", "6. Send time: a bandit", ["experiments", "email_sends", "customers.email_consent"]),
    ),
    "05_kpis": (
        _s("workflows", "2-3. Workflows replayed on the history, against a control group", ["transactions", "events"]),
        _s("kpis", "4-5. Campaign KPIs against a holdout, channels", ["campaigns"]),
        _s(
            "forecast",
            "6-7. Forecasting a campaign's KPIs, what would have saved a weak one",
            ["campaigns", "transactions", "events.campaign_id"],
        ),
        _s(
            "uplift",
            "8-9. Uplift: who to send to, with what, within a budget",
            ["campaign_sends", "transactions"],
            ["events"],
        ),
    ),
    "06_retraining": (
        _s("lead_drift", "1-4. Lead score drift, walk-forward retraining, the registry", ["leads"]),
        _s("churn_drift", "5. The churn model over time", ["transactions"], ["events", "products"]),
    ),
}
"""Per lesson, its sections in notebook order (a test checks them against the notebooks' ``# section:`` cells)."""

_NEED = re.compile(r"^(?P<table>\w+)(?:\.(?P<column>\w+))?(?:>=(?P<n>\d+))?$")
_CELL = re.compile(r"^#\s*section:\s*(?P<keys>[\w ,]+?)\s*$")


def _missing(world, need: str) -> str | None:
    """What of ``need`` ``world`` lacks, in words (None when it has it); ``a|b`` is met when either is."""
    if "|" in need:
        why = [_missing(world, n) for n in need.split("|")]
        return None if any(w is None for w in why) else " or ".join(w for w in why if w)
    m = _NEED.match(need)
    if m is None:
        raise ValueError(f"cannot read the need {need!r}: write table, table.column or table.column>=N")
    table, column, n = m["table"], m["column"], m["n"]
    df = world.tables.get(table)
    if df is None or not len(df):
        return f"{table}.csv"
    if column is None:
        return None
    if column not in df.columns or not df[column].notna().any():
        return f"a column {column} in {table}.csv"
    if n is not None and df[column].nunique() < int(n):
        return f"at least {n} distinct values of {table}.{column} (it has {df[column].nunique()})"
    return None


def _section(lesson: str, key: str) -> Section:
    if lesson not in SECTIONS:
        raise KeyError(f"no lesson {lesson!r}; the course has {', '.join(SECTIONS)}")
    for s in SECTIONS[lesson]:
        if s.key == key:
            return s
    raise KeyError(
        f"lesson {lesson} has no section {key!r}; its sections are {', '.join(s.key for s in SECTIONS[lesson])}"
    )


@dataclass
class Plan:
    """The sections of one lesson on one world: which run, and for those skipped, what would enable them."""

    lesson: str
    skipped: dict[str, str]
    used: dict[str, list[str]] = field(default_factory=dict)
    _announced: set[str] = field(default_factory=set, repr=False)

    @property
    def ran(self) -> list[str]:
        """The sections that run, in notebook order."""
        return [s.key for s in SECTIONS[self.lesson] if s.key not in self.skipped]

    def runs(self, *keys: str) -> bool:
        """Whether every one of the sections ``keys`` runs on this data.

        Parameters
        ----------
        *keys : str
            Section keys of this lesson (:data:`SECTIONS`).
        """
        for k in keys:
            _section(self.lesson, k)
        return not any(k in self.skipped for k in keys)

    def table(self) -> pd.DataFrame:
        """One row per section: runs or not, and what it needs or what it would use in addition."""
        rows = []
        for s in SECTIONS[self.lesson]:
            rows.append(
                {
                    "section": s.title,
                    "runs": s.key not in self.skipped,
                    "why not / what it leaves out": self.skipped.get(s.key, "; ".join(self.used.get(s.key, []))),
                }
            )
        return pd.DataFrame(rows).set_index("section")

    def __str__(self) -> str:
        """The plan in words: every section runs, or which are skipped and why."""
        n = len(SECTIONS[self.lesson])
        if not self.skipped and not any(self.used.values()):
            return f"This data supports every section of the lesson ({n} of {n})."
        lines = [f"This data supports {len(self.ran)} of the lesson's {n} sections."]
        for s in SECTIONS[self.lesson]:
            if s.key in self.skipped:
                lines.append(f"  skipped: {s.title} - {self.skipped[s.key]}")
            elif self.used.get(s.key):
                lines.append(f"  runs, without {', '.join(self.used[s.key])}: {s.title}")
        if not self.ran:
            lines.append("  Nothing in this lesson runs on this data: the sections above say which tables would.")
        return "\n".join(lines)

    def _transform(self, lines: list[str]) -> list[str]:
        """IPython input transformer: a cell of a section the data does not support is replaced by a note.

        IPython may transform a cell more than once before running it, so this is a pure function of the cell;
        the note is printed by the replacement code, once per section (:meth:`note`).
        """
        m = _CELL.match(lines[0].rstrip("\n")) if lines else None
        if m is None:
            return lines
        keys = [k.strip() for k in m["keys"].split(",") if k.strip()]
        try:
            if self.runs(*keys):
                return lines
        except KeyError as e:
            return [f"raise KeyError({str(e)!r})\n"]
        first = next(k for k in keys if k in self.skipped)
        return [f"__import__('helpers.sections', fromlist=['_ACTIVE'])._ACTIVE.note({first!r})\n"]

    def note(self, key: str) -> None:
        """Print, the first time a cell of the skipped section ``key`` comes up, what would enable it.

        Parameters
        ----------
        key : str
            A skipped section of this lesson.
        """
        if key in self._announced:
            return
        self._announced.add(key)
        print(f"Skipped: {_section(self.lesson, key).title} - {self.skipped[key]}.")


_ACTIVE: Plan | None = None


def _unmet_uses(world, section: Section) -> list[str]:
    return [w for w in (_missing(world, u) for u in section.uses) if w]


def plan(lesson: str, world, *, record: bool = True, activate: bool = True) -> Plan:
    """Decide which sections of ``lesson`` run on ``world``; record it and skip the others' cells.

    Parameters
    ----------
    lesson : str
        The notebook's name, e.g. ``"02_scoring"``.
    world : World
        The loaded world (:func:`helpers.io.load_world` with ``missing="skip"``).
    record : bool
        Write ``sections_ran`` and ``sections_skipped`` (section: reason) into the lesson's metrics, when a run
        has started (:func:`helpers.run.start`).
    activate : bool
        In a notebook, skip the cells that begin with ``# section: <key>`` of a section that does not run.

    Returns
    -------
    Plan
        ``plan.runs("churn")``, ``plan.skipped``, ``plan.table()``; ``print(plan)`` says it in words.
    """
    if lesson not in SECTIONS:
        raise KeyError(f"no lesson {lesson!r}; the course has {', '.join(SECTIONS)}")
    skipped, used = {}, {}
    for s in SECTIONS[lesson]:
        why = [w for w in (_missing(world, n) for n in s.needs) if w]
        if why:
            skipped[s.key] = "needs " + ", ".join(why)
        else:
            used[s.key] = _unmet_uses(world, s)
    p = Plan(lesson, skipped, used)
    if record:
        from . import run

        if run._CONTEXT is not None and run._CONTEXT.notebook == lesson:
            run.record("sections_ran", p.ran)
            run.record("sections_skipped", dict(skipped))
    if activate:
        _activate(p)
    return p


def _activate(p: Plan) -> None:
    global _ACTIVE
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - the course's environment has IPython
        return
    ip = get_ipython()
    if ip is None:
        return
    ts = ip.input_transformers_post
    ts[:] = [t for t in ts if getattr(t, "__name__", "") != "_transform"]
    ts.append(p._transform)
    _ACTIVE = p


def tables(lesson: str) -> list[str]:
    """The tables a lesson reads: every table its sections need or use, in the world's order.

    Parameters
    ----------
    lesson : str
        The notebook's name.
    """
    from .world import TABLES

    names = {"customers"}
    for s in SECTIONS[lesson]:
        for n in (*s.needs, *s.uses):
            for alt in n.split("|"):
                names.add(alt.split(".")[0].split(">=")[0])
    return [t for t in TABLES if t in names]


def usable_columns(df: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """The columns among ``columns`` that ``df`` has with at least two distinct values (blank = unknown).

    What a team's customers table lacks, or leaves blank for everyone, cannot tell customers apart: a method
    fed the list leaves such columns out instead of failing on them or guessing values.

    Parameters
    ----------
    df : DataFrame
        The table, e.g. ``world.customers``.
    columns : sequence of str
        The columns wanted.

    Examples
    --------
    >>> usable_columns(pd.DataFrame({"a": ["x", "y"], "b": [None, None]}), ["a", "b", "c"])
    ['a']
    """
    return [c for c in columns if c in df.columns and df[c].nunique() >= 2]


def _need_text(n: str) -> str:
    if "|" in n:
        return " or ".join(_need_text(x) for x in n.split("|"))
    m = _NEED.match(n)
    assert m is not None, n
    if m["column"] is None:
        return f"`{m['table']}`"
    text = f"`{m['table']}.{m['column']}`"
    return text + (f" (≥ {m['n']} distinct)" if m["n"] else "")


def markdown_table() -> str:
    """The lesson × section × tables table of ``docs/own-data.md``, from :data:`SECTIONS`."""
    out = ["| lesson | section | needs | uses when present |", "|---|---|---|---|"]
    for lesson, secs in SECTIONS.items():
        for s in secs:
            needs = ", ".join(_need_text(n) for n in s.needs) or "nothing more"
            uses = ", ".join(_need_text(n) for n in s.uses) or ""
            out.append(f"| {lesson} | {s.title} | {needs} | {uses} |")
    return "\n".join(out) + "\n"


BEGIN, END = "<!-- sections table: begin (python -m helpers.sections --write) -->", "<!-- sections table: end -->"


def docs_block(text: str) -> str:
    """The generated block of a docs page (between :data:`BEGIN` and :data:`END`)."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"the page has no {BEGIN} ... {END} block")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.sections [--write]``: print the table, or write it into docs/own-data.md.

    Parameters
    ----------
    argv : sequence of str, optional
        The command-line arguments (default: ``sys.argv[1:]``).
    """
    import argparse

    from . import paths

    ap = argparse.ArgumentParser(prog="python -m helpers.sections", description=main.__doc__)
    ap.add_argument("--write", action="store_true", help="write the table into docs/own-data.md")
    a = ap.parse_args(argv)
    table = markdown_table()
    if not a.write:
        print(table, end="")
        return 0
    page = Path(paths.ROOT) / "docs" / "own-data.md"
    text = page.read_text()
    docs_block(text)  # the page must have the block
    head, rest = text.split(BEGIN, 1)
    page.write_text(head + BEGIN + "\n" + table + END + rest.split(END, 1)[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
