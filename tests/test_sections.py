"""Which sections of each lesson run on which data: the registry, the notebooks' section cells, the docs table."""

from __future__ import annotations

import ast
import json

import pandas as pd
import pytest

from helpers import io, paths, run, sections
from helpers.world import TABLES, World

NOTEBOOKS = sorted((paths.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _orders(**extra) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [1, 2, 3],
            "customer_id": [1, 2, 2],
            "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
            **extra,
        }
    )


def _world(**tables) -> World:
    tx = tables.get("transactions")
    customers = tables.pop("customers", None)
    if customers is None:
        customers = pd.DataFrame({"customer_id": sorted(tx["customer_id"].unique()) if tx is not None else [1]})
    return World(tables={"customers": customers, **tables})


def _section_cells(nb):
    """(cell index, section keys or None, source) of every code cell after the setup cell."""
    cells = json.loads(nb.read_text())["cells"]
    out = []
    for i, c in enumerate(cells):
        if c["cell_type"] != "code" or "parameters" in c["metadata"].get("tags", []):
            continue
        src = "".join(c["source"])
        m = sections._CELL.match(src.splitlines()[0]) if src else None  # what the notebooks' transformer reads
        out.append((i, [k.strip() for k in m["keys"].split(",")] if m else None, src))
    return out


# ---------------------------------------------------------------------------------------------------------------
# the plan
# ---------------------------------------------------------------------------------------------------------------
def test_a_transaction_log_runs_rfm_churn_and_segmentation_and_says_what_else_needs():
    w = _world(transactions=_orders(quantity=[1, 1, 2], unit_price=[5.0, 0.0, 3.0]))
    p = {lesson: sections.plan(lesson, w, activate=False) for lesson in sections.SECTIONS}
    assert p["01_segmentation"].ran == ["segmentation"]
    assert p["02_scoring"].ran == ["rfm", "churn"]
    assert p["02_scoring"].skipped == {
        "leads": "needs leads.csv, lead_events.csv",
        "loyalty": "needs a column loyalty_member in customers.csv",
    }
    assert p["03_nbo"].ran == [] and "product_id" in p["03_nbo"].skipped["nbo"]
    assert p["04_abtest"].ran == [] and p["05_kpis"].ran == []
    assert p["06_retraining"].ran == ["churn_drift"]
    assert "Nothing in this lesson runs" in str(p["05_kpis"])
    assert "events.csv" in str(p["02_scoring"])  # what churn would also use


def test_next_best_offer_needs_two_distinct_products():
    products = pd.DataFrame({"product_id": ["a", "b"], "category": ["x", "y"]})
    one = _world(transactions=_orders(product_id=["a", "a", "a"]), products=products)
    two = _world(transactions=_orders(product_id=["a", "b", "a"]), products=products)
    assert sections.plan("03_nbo", one, activate=False).skipped["nbo"] == (
        "needs at least 2 distinct values of transactions.product_id (it has 1)"
    )
    assert sections.plan("03_nbo", two, activate=False).runs("nbo")


def test_a_blank_column_is_no_column_and_any_of_several_will_do():
    blank = pd.DataFrame({"customer_id": [1, 2], "income_band": [None, None]})
    some = pd.DataFrame({"customer_id": [1, 2], "income_band": [None, "high"]})
    assert not sections.plan("00_the_world", _world(customers=blank), activate=False).runs("customer_mix")
    assert sections.plan("00_the_world", _world(customers=some), activate=False).runs("customer_mix")


def test_every_section_of_every_lesson_runs_on_the_course_world():
    w = io.load_world(None, today=pd.Timestamp("2026-12-01").date())
    for lesson in sections.SECTIONS:
        p = sections.plan(lesson, w, activate=False)
        assert not p.skipped, (lesson, p.skipped)
        assert str(p) == f"This data supports every section of the lesson ({len(p.ran)} of {len(p.ran)})."


def test_unknown_lessons_sections_and_needs_are_errors():
    w = _world(transactions=_orders())
    with pytest.raises(KeyError, match="no lesson"):
        sections.plan("07_nothing", w, activate=False)
    with pytest.raises(KeyError, match="has no section 'rmf'; its sections are leads, rfm, churn, loyalty"):
        sections.plan("02_scoring", w, activate=False).runs("rmf")
    with pytest.raises(ValueError, match="cannot read the need"):
        sections._missing(w, "transactions..order_id")


def test_the_plan_is_recorded_in_the_lessons_metrics(tmp_path):
    run.start("02_scoring", tmp_path)
    sections.plan("02_scoring", _world(transactions=_orders()), activate=False)
    m = json.loads(run.context().metrics_file.read_text())
    assert m["sections_ran"] == ["rfm", "churn"]
    assert m["sections_skipped"]["leads"] == "needs leads.csv, lead_events.csv"


def test_a_skipped_sections_cells_print_what_would_enable_it_once(capsys):
    p = sections.plan("02_scoring", _world(transactions=_orders()), activate=False)
    running = ["# section: rfm\n", "scores = 1\n"]
    assert p._transform(running) == running
    assert p._transform(["x = 1\n"]) == ["x = 1\n"]  # a cell of no section always runs
    skipped = p._transform(["# section: leads\n", "world.leads\n"])
    assert skipped == p._transform(["# section: leads, churn\n", "y = 2\n"])  # IPython may transform twice
    sections._ACTIVE = p
    try:
        for _ in range(3):
            exec("".join(skipped), {})
    finally:
        sections._ACTIVE = None
    out = capsys.readouterr().out
    assert out == (
        "Skipped: Part A. Lead scoring: rules, a learned trigger, logistic regression - "
        "needs leads.csv, lead_events.csv.\n"
    )
    assert "KeyError" in p._transform(["# section: leeds\n", "x\n"])[0]


def test_usable_columns_need_two_distinct_values():
    df = pd.DataFrame({"a": ["x", "y", None], "b": ["x", "x", "x"], "c": [None, None, None]})
    assert sections.usable_columns(df, ["c", "b", "a", "missing"]) == ["a"]


# ---------------------------------------------------------------------------------------------------------------
# the notebooks and the registry agree
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_lesson_plans_its_sections_and_tags_its_cells_in_order(nb):
    cells = _section_cells(nb)
    setup = cells[0][2]
    assert f'plan = sections.plan("{nb.stem}", world)' in setup and "print(plan)" in setup
    order = [s.key for s in sections.SECTIONS[nb.stem]]
    used = {k for _, keys, _ in cells if keys for k in keys}
    assert used == set(order), f"{nb.stem}: sections without cells {set(order) - used}, unknown {used - set(order)}"


def _accesses(tree: ast.AST):
    """(table, column or None) of each world.<table>[...] read outside an ``if has_truth`` branch."""
    found = []

    def visit(node, guarded):
        if isinstance(node, ast.If) and "has_truth" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child, guarded)
            for child in node.body:
                visit(child, True)
            return
        if not guarded and isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "world" and node.attr in TABLES:
                found.append((node.attr, None))
        if (
            not guarded
            and isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "world"
            and node.value.attr in TABLES
            and isinstance(node.slice, ast.Constant)
        ):
            found.append((node.value.attr, node.slice.value))
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return found


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_cell_reads_only_the_tables_and_optional_columns_its_section_needs(nb):
    """The static check that keeps a lesson from ending in an AttributeError on a partial export."""
    secs = {s.key: s for s in sections.SECTIONS[nb.stem]}
    for i, keys, src in _section_cells(nb)[1:]:
        needs = {n for k in keys or [] for n in secs[k].needs for n in n.split("|")}
        tables = {n.split(".")[0].split(">=")[0] for n in needs} | {"customers"}
        columns = {n.split(">=")[0] for n in needs if "." in n}
        for table, column in _accesses(ast.parse(src)):
            assert table in tables, f"{nb.stem} cell {i} reads world.{table} but its sections {keys} do not need it"
            if column is not None and table in io.SCHEMAS and column in [c.name for c in io.SCHEMAS[table].columns]:
                if io.SCHEMAS[table].column(column).optional and f"{table}.{column}" not in io.DERIVED_COLUMNS:
                    assert f"{table}.{column}" in columns, (
                        f"{nb.stem} cell {i} reads the optional column {table}.{column}: a section must need it"
                    )


def test_the_tables_of_a_lesson_are_those_its_sections_name():
    assert sections.tables("02_scoring") == ["customers", "products", "transactions", "events", "leads", "lead_events"]
    assert sections.tables("05_kpis") == ["customers", "transactions", "events", "campaigns", "campaign_sends"]


def test_the_docs_table_is_generated_from_the_registry():
    page = (paths.ROOT / "docs" / "own-data.md").read_text()
    assert sections.docs_block(page) == sections.markdown_table(), (
        "docs/own-data.md is out of date: run python -m helpers.sections --write"
    )
    for lesson, secs in sections.SECTIONS.items():
        for s in secs:
            assert f"| {lesson} | {s.title} |" in page
