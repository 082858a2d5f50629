"""Loading and validating a world: exact round-trip of good data, a clear SchemaError for each kind of bad data."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import io
from helpers.io import SCHEMAS, SchemaError, available_tables, describe_schema, load_table, load_world
from helpers.world import TABLES

TODAY = dt.date(
    2026, 7, 1
)  # fixed "today" (after the leads export of 2026-06-30): the future-date rule is deterministic


def _digest(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def _edit(path: Path, row: int, column: str, value: str) -> int:
    """Set ``column`` of data row ``row`` (0-based) to ``value``; return that row's line number in the file."""
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    rows[row + 1][rows[0].index(column)] = value
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return row + 2


def _expect(
    d: Path, file: str, column: str | None, *fragments: str, lines: list[int] | None = None, tables=None
) -> SchemaError:
    before = _digest(d)
    with pytest.raises(SchemaError) as info:
        load_world(d, tables=tables, today=TODAY)
    e = info.value
    msg = str(e)
    assert Path(e.file).name == file and file in msg
    assert e.column == column
    if column:
        assert f"column '{column}'" in msg
    for frag in fragments:
        assert frag in msg, msg
    if lines is not None:
        assert e.lines[: len(lines)] == lines
        for ln in lines:
            assert f"line {ln}" in msg
    assert "Fix: " in msg and len(e.fix) > 10
    assert _digest(d) == before, "loading must never change the input files"
    return e


# ---------------------------------------------------------------------------------------------------- good data
def test_round_trip_is_exact(small_world, small_world_dir):
    loaded = load_world(small_world_dir, today=TODAY)
    assert set(loaded.tables) == set(TABLES)
    for name in TABLES:
        a, b = small_world.tables[name], loaded.tables[name]
        assert list(a.columns) == list(b.columns), name
        assert len(a) == len(b), name
        for col in a.columns:
            x, y = a[col], b[col]
            if pd.api.types.is_float_dtype(x):
                np.testing.assert_allclose(x.to_numpy(float), y.to_numpy(float), atol=0.005 + 1e-9)
            elif pd.api.types.is_datetime64_any_dtype(x):
                assert (x.isna() == y.isna()).all() and (x.dropna().to_numpy() == y.dropna().to_numpy()).all()
            else:
                assert (x.isna() == y.isna()).all(), (name, col)
                assert (x.dropna().astype(str).to_numpy() == y.dropna().astype(str).to_numpy()).all(), (name, col)
    assert loaded.truth is not None and loaded.truth["seed"] == 7


def test_types_are_what_the_schema_says(small_world_dir):
    w = load_world(small_world_dir, tables=["transactions", "leads"], today=TODAY)
    assert set(w.tables) == {"customers", "products", "transactions", "leads"}  # parents come along
    tx = w.transactions
    assert tx["order_date"].dtype == "datetime64[s]"
    assert tx["quantity"].dtype == np.int64 and tx["unit_price"].dtype == np.float64
    assert w.leads["converted"].dtype == bool
    assert w.leads["converted_date"].isna().sum() == (~w.leads["converted"]).sum()


def test_team_data_without_truth_and_with_extra_columns(world_copy):
    (world_copy / "truth.json").unlink()
    cust = pd.read_csv(world_copy / "customers.csv")
    cust["crm_owner"] = "team-a"
    cust["email_consent"] = cust["email_consent"].map({1: "true", 0: "false"})
    cust.to_csv(world_copy / "customers.csv", index=False)
    w = load_world(world_copy, tables=["customers"], today=TODAY)
    assert w.truth is None
    assert (w.customers["crm_owner"] == "team-a").all()
    assert w.customers["email_consent"].dtype == bool
    assert w.customers["email_consent"].sum() == (cust["email_consent"] == "true").sum()


def test_text_ids_are_kept_as_text(world_copy):
    for name in ("customers", "transactions"):
        df = pd.read_csv(world_copy / f"{name}.csv")
        df["customer_id"] = "C-" + df["customer_id"].astype(str)
        df.to_csv(world_copy / f"{name}.csv", index=False)
    w = load_world(world_copy, tables=["transactions"], today=TODAY)
    assert w.transactions["customer_id"].str.startswith("C-").all()


def test_only_existing_tables_are_loaded_by_default(world_copy):
    for name in ("leads", "lead_events", "email_sends", "experiments"):
        (world_copy / f"{name}.csv").unlink()
    w = load_world(world_copy, today=TODAY)
    assert set(w.tables) == {"customers", "products", "transactions", "events", "campaigns", "campaign_sends"}


# ---------------------------------------------------------------------------------------------------- bad data
def test_missing_folder():
    with pytest.raises(SchemaError, match="folder not found"):
        load_world("/nonexistent/crm_export")


def test_missing_file(world_copy):
    (world_copy / "products.csv").unlink()
    _expect(
        world_copy, "products.csv", None, "file not found", "product_id, name, category, price", tables=["transactions"]
    )


def test_missing_column(world_copy):
    df = pd.read_csv(world_copy / "products.csv").drop(columns=["category"])
    df.to_csv(world_copy / "products.csv", index=False)
    _expect(
        world_copy, "products.csv", "category", "missing column 'category'", "found: product_id", tables=["products"]
    )


def test_unparseable_date(world_copy):
    line = _edit(world_copy / "customers.csv", 4, "signup_date", "2024-13-45")
    _expect(
        world_copy,
        "customers.csv",
        "signup_date",
        "not valid dates",
        "'2024-13-45'",
        "YYYY-MM-DD",
        lines=[line],
        tables=["customers"],
    )


def test_date_with_a_time_in_a_date_column(world_copy):
    line = _edit(world_copy / "customers.csv", 2, "signup_date", "2024-01-05 10:00:00")
    _expect(world_copy, "customers.csv", "signup_date", "not valid dates", lines=[line], tables=["customers"])


def test_wrong_type(world_copy):
    l1 = _edit(world_copy / "customers.csv", 3, "age", "forty")
    l2 = _edit(world_copy / "customers.csv", 9, "age", "41.5")
    _expect(
        world_copy,
        "customers.csv",
        "age",
        "2 values are not whole numbers",
        "'forty'",
        "'41.5'",
        lines=[l1, l2],
        tables=["customers"],
    )


def test_wrong_boolean(world_copy):
    line = _edit(world_copy / "customers.csv", 0, "email_consent", "maybe")
    _expect(
        world_copy, "customers.csv", "email_consent", "not yes/no values", "'maybe'", lines=[line], tables=["customers"]
    )


def test_negative_quantity(world_copy):
    line = _edit(world_copy / "transactions.csv", 10, "quantity", "-2")
    _expect(world_copy, "transactions.csv", "quantity", "below 1", "'-2'", lines=[line], tables=["transactions"])


def test_negative_price(world_copy):
    line = _edit(world_copy / "transactions.csv", 3, "unit_price", "-4.99")
    _expect(world_copy, "transactions.csv", "unit_price", "negative", "'-4.99'", lines=[line], tables=["transactions"])


def test_future_date(world_copy):
    line = _edit(world_copy / "transactions.csv", 5, "order_date", "2099-01-01 10:00:00")
    _expect(
        world_copy,
        "transactions.csv",
        "order_date",
        "in the future",
        "2026-07-01",
        lines=[line],
        tables=["transactions"],
    )


def test_duplicate_primary_key(world_copy):
    path = world_copy / "customers.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[3]]) + "\n")
    e = _expect(
        world_copy,
        "customers.csv",
        "customer_id",
        "1 duplicate values of the key customer_id",
        lines=[len(lines) + 1],
        tables=["customers"],
    )
    assert e.values == [int(lines[3].split(",")[0])]


def test_duplicate_composite_key(world_copy):
    path = world_copy / "transactions.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[1]]) + "\n")
    _expect(
        world_copy,
        "transactions.csv",
        "order_id",
        "duplicate values of the key order_id + product_id",
        lines=[len(lines) + 1],
        tables=["transactions"],
    )


def test_unknown_foreign_key(world_copy):
    line = _edit(world_copy / "transactions.csv", 7, "customer_id", "999999999")
    _expect(
        world_copy,
        "transactions.csv",
        "customer_id",
        "do not exist in customers.csv (customer_id)",
        "999999999",
        lines=[line],
        tables=["transactions"],
    )


def test_unknown_campaign_in_events(world_copy):
    df = pd.read_csv(world_copy / "events.csv", dtype=str, keep_default_na=False)
    row = int(np.flatnonzero(df["campaign_id"] != "")[0])
    line = _edit(world_copy / "events.csv", row, "campaign_id", "C9999")
    _expect(
        world_copy,
        "events.csv",
        "campaign_id",
        "campaigns.csv (campaign_id) or experiments.csv",
        "C9999",
        lines=[line],
        tables=["events", "campaigns", "experiments"],
    )


def test_unknown_lead_in_lead_events(world_copy):
    """A text key checked against a parent of many distinct texts (the look-up into the parent's distinct values)."""
    line = _edit(world_copy / "lead_events.csv", 3, "lead_id", "L-NOBODY")
    _expect(
        world_copy,
        "lead_events.csv",
        "lead_id",
        "1 values do not exist in leads.csv (lead_id)",
        "L-NOBODY",
        lines=[line],
        tables=["lead_events"],
    )


@pytest.mark.parametrize("allowed_kind", ["text", "category", "int"])
def test_in_text_is_isin_on_text(allowed_kind):
    rng = np.random.default_rng(3)
    allowed = pd.Series(rng.integers(0, 40, 60))
    values = pd.Series(rng.integers(-5, 60, 500)).astype(str)
    if allowed_kind != "int":
        allowed = allowed.astype(str)
    if allowed_kind == "category":  # an unused category is not an allowed value
        allowed = allowed.astype(pd.CategoricalDtype([*allowed.unique(), "55"]))
    want = values.isin(allowed.astype(str)).to_numpy()
    assert 0 < want.sum() < len(want)
    assert np.array_equal(io._in_text(values, allowed), want)


def test_empty_table(world_copy):
    path = world_copy / "products.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    _expect(world_copy, "products.csv", None, "no rows", tables=["products"])


def test_empty_file(world_copy):
    (world_copy / "products.csv").write_text("")
    _expect(world_copy, "products.csv", None, "empty", tables=["products"])


def test_nan_in_required_column(world_copy):
    line = _edit(world_copy / "products.csv", 6, "category", "")
    _expect(
        world_copy, "products.csv", "category", "1 empty values in a required column", lines=[line], tables=["products"]
    )
    # a blank demographic is unknown, not an error (tests/test_partial_exports.py)
    _edit(world_copy / "customers.csv", 6, "region", "")
    assert load_world(world_copy, tables=["customers"], today=TODAY).customers["region"].isna().sum() == 1


def test_many_bad_rows_show_the_first_five(world_copy):
    path = world_copy / "products.csv"
    df = pd.read_csv(path, dtype=str)
    df.loc[:9, "price"] = "n/a"
    df.to_csv(path, index=False)
    e = _expect(
        world_copy, "products.csv", "price", "10 values are not numbers", lines=[2, 3, 4, 5, 6], tables=["products"]
    )
    assert "..." in str(e)


def test_unknown_table_name():
    with pytest.raises(KeyError, match="unknown table"):
        load_table(None, "orders")


def test_schema_table_covers_every_column():
    d = describe_schema()
    assert set(d["table"]) == set(SCHEMAS)
    assert d["description"].str.len().min() > 3


def test_bad_value_deep_in_a_large_file_is_still_named(world_copy):
    """pyarrow infers types from the first block; a bad value far below it must still get a line-level error."""
    path = world_copy / "transactions.csv"
    n_rows = sum(1 for _ in path.open()) - 1
    assert path.stat().st_size > 2_000_000  # several pyarrow blocks
    line = _edit(path, n_rows - 1, "quantity", "two")
    _expect(
        world_copy, "transactions.csv", "quantity", "not whole numbers", "'two'", lines=[line], tables=["transactions"]
    )


def _recode_line(path: Path, line: int, old: str, new: bytes) -> None:
    """Replace ``old`` on CSV line ``line`` (header = 1) by the raw bytes ``new`` (e.g. Latin-1 text)."""
    raw = path.read_bytes().split(b"\n")
    assert old.encode() in raw[line - 1]
    raw[line - 1] = raw[line - 1].replace(old.encode(), new, 1)
    path.write_bytes(b"\n".join(raw))


def test_latin1_text_is_refused_with_the_line_and_how_to_resave(world_copy):
    """A catalogue saved as Latin-1 loaded with its names as Python bytes objects; now it is refused."""
    path = world_copy / "products.csv"
    name = pd.read_csv(path)["name"].iloc[2]
    _recode_line(path, 4, name, "Caf\u00e9 Cr\u00e8me".encode("latin-1"))
    e = _expect(
        world_copy, "products.csv", None, "not UTF-8 text", "byte 0xe9", "Café Crème", "encoding: latin-1", lines=[4]
    )
    assert e.lines == [4]


def test_text_that_is_not_utf8_deep_in_a_large_file_is_refused_at_its_line(world_copy, monkeypatch):
    """Past pyarrow's first block the column is typed as text: the bad bytes make it fail, and the line is named."""
    from helpers import io

    blocks = io._csv_chunks
    monkeypatch.setattr(io, "_csv_chunks", lambda p, size: blocks(p, 4096))  # many small blocks
    path = world_copy / "customers.csv"
    n_rows = sum(1 for _ in path.open()) - 1
    region = pd.read_csv(path)["region"].iloc[n_rows - 3]
    _recode_line(path, n_rows - 1, region, b"S\xfcd")
    _expect(world_copy, "customers.csv", None, "not UTF-8 text", "Süd", lines=[n_rows - 1], tables=["customers"])


def test_a_header_that_is_not_utf8_is_refused_at_line_1(world_copy):
    path = world_copy / "products.csv"
    _recode_line(path, 1, "name", b"n\xe4me")
    _expect(world_copy, "products.csv", None, "not UTF-8 text", lines=[1], tables=["products"])


def test_available_tables_lists_the_optional_files_present(world_copy):
    assert available_tables(world_copy, ["events", "leads"]) == ["events", "leads"]
    (world_copy / SCHEMAS["events"].file).unlink()
    assert available_tables(world_copy, ["events", "leads"]) == ["leads"]
    with pytest.raises(KeyError, match="unknown table"):
        available_tables(world_copy, ["event"])
