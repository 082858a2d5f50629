"""mapping.yml: a team's own file and column names, date format, delimiter, decimal comma, encoding, and the
declared drops of returns and guest orders, counted and never silent; bad mappings refused with the fix."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.io import SchemaError, load_table, load_world

TODAY = dt.date(2026, 7, 1)

# the shape the course promises teams (docs/own-data.md), key for key
MAPPING = """\
transactions:
  file: online_retail.csv          # the team's file name
  columns:                         # course column: the export's column
    order_id: Invoice
    customer_id: Customer ID
    order_date: InvoiceDate
    product_id: StockCode
    quantity: Quantity
    unit_price: Price
  date_format: "%d/%m/%Y %H:%M"    # strftime codes; day-first dates are common
  delimiter: ";"
  decimal: ","
  encoding: latin-1
  returns: drop                    # lines with a negative quantity, or cancelled invoices: refuse (default) or drop
  missing_customer: drop           # guest orders without a customer id: refuse (default) or drop
"""
RENAME = {
    "order_id": "Invoice",
    "customer_id": "Customer ID",
    "order_date": "InvoiceDate",
    "product_id": "StockCode",
    "quantity": "Quantity",
    "unit_price": "Price",
}


def _digest(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def _team_export(world_copy: Path, n_returns: int = 7, n_guests: int = 5) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """The small world's transactions written as a retailer's export: the team's names, day-first dates to the
    minute, semicolons, decimal commas, Latin-1 text, return lines and guest orders mixed in."""
    tx = pd.read_csv(world_copy / "transactions.csv", dtype={"product_id": str})
    tx["order_date"] = pd.to_datetime(tx["order_date"]).dt.floor("min")
    tx = tx.drop_duplicates(["order_id", "product_id"]).reset_index(drop=True)
    rng = np.random.default_rng(3)
    returns = tx.sample(n_returns, random_state=1).assign(quantity=lambda t: -t["quantity"], order_id=9_000_001)
    returns = returns.assign(order_id=9_000_000 + np.arange(n_returns))
    guests = tx.sample(n_guests, random_state=2).assign(customer_id=np.nan, order_id=9_100_000 + np.arange(n_guests))
    export = pd.concat([tx, returns, guests]).iloc[rng.permutation(len(tx) + n_returns + n_guests)]
    export["Description"] = "Café crème"  # an extra text column, in Latin-1 like the rest of the file
    out = export.rename(columns=RENAME)
    out["InvoiceDate"] = export["order_date"].dt.strftime("%d/%m/%Y %H:%M")
    out["Price"] = export["unit_price"].map(lambda v: f"{v:.2f}".replace(".", ","))
    out["Customer ID"] = export["customer_id"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    (world_copy / "transactions.csv").unlink()
    out.to_csv(world_copy / "online_retail.csv", sep=";", index=False, encoding="latin-1")
    (world_copy / "mapping.yml").write_text(MAPPING)
    return world_copy, tx, export


def test_the_documented_mapping_reads_a_retailers_export_exactly(world_copy):
    d, tx, export = _team_export(world_copy)
    before = _digest(d)
    world = load_world(d, tables=["transactions"], today=TODAY)
    got = world.transactions
    assert list(got.columns[:6]) == list(RENAME) and got["Description"].eq("Café crème").all()
    want = tx.sort_values(["order_id", "product_id"]).reset_index(drop=True)
    got = got.astype({"product_id": str}).sort_values(["order_id", "product_id"]).reset_index(drop=True)
    assert len(got) == len(want)
    np.testing.assert_array_equal(got["order_id"].astype(np.int64), want["order_id"])
    np.testing.assert_array_equal(got["customer_id"].astype(np.int64), want["customer_id"])
    np.testing.assert_array_equal(got["order_date"].to_numpy(), want["order_date"].to_numpy().astype("datetime64[s]"))
    np.testing.assert_array_equal(got["product_id"].astype(str), want["product_id"])
    np.testing.assert_array_equal(got["quantity"], want["quantity"])
    np.testing.assert_allclose(got["unit_price"], want["unit_price"].round(2), rtol=0, atol=1e-9)
    assert _digest(d) == before, "loading never changes or adds a file in the team's folder"


def test_what_the_mapping_drops_is_counted_in_lines_and_share_of_value(world_copy):
    d, _, export = _team_export(world_copy, n_returns=7, n_guests=5)
    dropped = load_world(d, tables=["transactions"], today=TODAY).meta["dropped"].set_index("dropped")
    value = (export["quantity"] * export["unit_price"]).abs()
    ret, guest = export["quantity"] < 0, export["customer_id"].isna()
    assert dropped.loc["returns (negative quantity or price)", "lines"] == 7
    assert dropped.loc["no customer id (guest orders)", "lines"] == 5
    share = dropped["value_share"].to_dict()
    assert share["returns (negative quantity or price)"] == pytest.approx(value[ret].sum() / value.sum(), abs=1e-6)
    assert share["no customer id (guest orders)"] == pytest.approx(value[guest].sum() / value.sum(), abs=1e-6)
    assert load_table(d, "transactions", today=TODAY).attrs["dropped"][0]["lines"] == 7


def test_without_drop_returns_and_guest_orders_are_refused_at_their_file_lines(world_copy):
    d, _, export = _team_export(world_copy)
    (d / "mapping.yml").write_text(MAPPING.replace("missing_customer: drop", "missing_customer: refuse"))
    with pytest.raises(SchemaError) as e:
        load_table(d, "transactions", today=TODAY)
    guests = np.flatnonzero(export["customer_id"].isna().to_numpy()) + 2
    assert e.value.column == "customer_id" and e.value.lines == sorted(guests.tolist())
    assert "the file's column 'Customer ID', mapped in mapping.yml" in str(e.value)
    (d / "mapping.yml").write_text(MAPPING.replace("returns: drop", "returns: refuse"))
    with pytest.raises(SchemaError, match=r"values are below 1 .*the file's column 'Quantity'") as e:
        load_table(d, "transactions", today=TODAY)
    assert e.value.lines == sorted((np.flatnonzero((export["quantity"] < 0).to_numpy()) + 2).tolist())[:5]


def test_a_bad_value_after_dropped_lines_is_named_at_its_line_in_the_file(world_copy):
    d, _, export = _team_export(world_copy)
    lines = (d / "online_retail.csv").read_bytes().split(b"\n")
    last = len(export) + 1  # the last data line, after every dropped one
    lines[last - 1] = lines[last - 1].replace(lines[last - 1].split(b";")[2], b"31/02/2025 10:00")
    (d / "online_retail.csv").write_bytes(b"\n".join(lines))
    with pytest.raises(SchemaError, match=r"not valid dates .*\(line \d+: '31/02/2025 10:00'\)") as e:
        load_table(d, "transactions", today=TODAY)
    assert e.value.lines == [last] and "date_format '%d/%m/%Y %H:%M' of mapping.yml" in str(e.value)


def test_dates_that_are_not_iso_without_a_date_format_say_how_to_declare_one(world_copy):
    path = world_copy / "customers.csv"
    c = pd.read_csv(path)
    c["signup_date"] = pd.to_datetime(c["signup_date"]).dt.strftime("%d/%m/%Y")
    c.to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"YYYY-MM-DD.*declare the export's date_format in mapping.yml"):
        load_table(world_copy, "customers", today=TODAY)
    (world_copy / "mapping.yml").write_text("customers:\n  date_format: '%d/%m/%Y'\n")
    assert load_table(world_copy, "customers", today=TODAY)["signup_date"].dt.year.min() >= 2019


def test_a_utc_offset_is_read_as_the_moment_it_names(world_copy):
    path = world_copy / "transactions.csv"
    tx = pd.read_csv(path)
    tx.loc[0, "order_date"] = "2025-03-01T10:00:00+02:00"
    tx.to_csv(path, index=False)
    assert str(load_table(world_copy, "transactions", today=TODAY)["order_date"].iloc[0]) == "2025-03-01 08:00:00"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("transaction:\n  file: x.csv\n", r"unknown table\(s\) \['transaction'\].*customers, products, transactions"),
        ("transactions:\n  sep: ';'\n", r"unknown key\(s\) \['sep'\].*file, columns, date_format, delimiter"),
        ("transactions:\n  columns:\n    buyer: Customer\n", r"transactions has no column\(s\) \['buyer'\]"),
        ("customers:\n  returns: drop\n", "returns applies to transactions only"),
        ("transactions:\n  returns: ignore\n", "write returns: refuse or returns: drop"),
        ("transactions:\n  decimal: ','\n  delimiter: ','\n", "the decimal mark and the delimiter are the same"),
        ("transactions:\n  encoding: utf-16\n", "does not write plain letters as ASCII"),
        ("transactions:\n  encoding: klingon\n", "unknown encoding 'klingon'"),
        ("transactions:\n  file: ../other/tx.csv\n", "is a path"),
        ("transactions:\n  date_format: dd/mm/yyyy\n", "has no % code"),
        ("transactions: [\n", "not valid YAML"),
        ("transactions: !!python/object/apply:os.system ['echo unsafe']\n", "not valid YAML"),
    ],
)
def test_a_bad_mapping_is_refused_with_the_known_keys(world_copy, text, match):
    (world_copy / "mapping.yml").write_text(text)
    with pytest.raises(SchemaError, match=match) as e:
        load_world(world_copy, tables=["transactions"], today=TODAY)
    assert e.value.file.endswith("mapping.yml") and "Fix: " in str(e.value)


def test_a_mapped_file_that_is_absent_is_named_by_its_own_name(world_copy):
    (world_copy / "mapping.yml").write_text("products:\n  file: catalogue.csv\n")
    with pytest.raises(SchemaError, match=r"catalogue.csv: file not found"):
        load_world(world_copy, tables=["products"], today=TODAY)


# ------------------------------------------------------------------------------------------------ the data doctor
def test_the_doctor_reports_a_mapped_folder_and_what_it_dropped(world_copy, capsys):
    from helpers import io

    d, _, _ = _team_export(world_copy)
    before = _digest(d)
    assert io.main([str(d)]) == 0
    report = capsys.readouterr().out
    assert "mapping.yml: maps transactions" in report
    assert "from online_retail.csv; order_id <- 'Invoice', customer_id <- 'Customer ID'" in report
    assert "dropped 7 lines: returns (negative quantity or price)" in report
    assert "dropped 5 lines: no customer id (guest orders)" in report
    assert "01_segmentation  1 of 1 sections run: segmentation" in report
    assert "04_abtest        3 of 3 sections run: design, tests, send_time" in report
    assert _digest(d) == before


def test_the_doctor_names_each_problem_and_the_lessons_it_stops(world_copy, capsys):
    from helpers import io

    (world_copy / "products.csv").write_bytes((world_copy / "products.csv").read_bytes().replace(b"P0003", b"P\xe903"))
    (world_copy / "leads.csv").unlink()
    assert io.main([str(world_copy)]) == 1
    report = capsys.readouterr().out
    assert "products     PROBLEM" in report and "not UTF-8 text" in report
    assert "leads        absent (leads.csv)" in report
    assert "01_segmentation  cannot run: fix products first (PROBLEM above)" in report
    assert "02_scoring       cannot run: fix products first" in report
    assert "05_kpis          cannot run: fix products first" in report  # its orders' product ids point there
    assert "04_abtest        cannot run" in report and "06_retraining    cannot run" in report
    assert "00_the_world     cannot run: fix products first" in report


def test_the_doctor_reports_a_bad_mapping_without_reading_further(world_copy):
    from helpers import io

    (world_copy / "mapping.yml").write_text("transactions:\n  sep: ';'\n")
    report, ok = io.doctor(world_copy)
    assert not ok and "unknown key(s) ['sep']" in report and "tables:" not in report


def test_lesson_tables_are_the_tables_each_notebook_loads():
    import ast
    import json

    from helpers import paths, sections

    for nb in sorted((paths.ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        loads = [
            node
            for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load_world"
        ]
        assert len(loads) == 1, nb.stem
        kw = {k.arg: k.value for k in loads[0].keywords}
        if nb.stem == "00_the_world":  # loads whatever the folder holds
            assert "tables" not in kw and len(loads[0].args) == 1
            continue
        assert [e.value for e in kw["tables"].elts] == sections.tables(nb.stem), nb.stem
        assert kw["missing"].value == "skip", nb.stem  # an absent table skips the sections that need it


def test_the_guide_documents_every_key_of_mapping_yml():
    from helpers import mapping, paths

    guide = (paths.ROOT / "docs" / "own-data.md").read_text()
    for key in mapping.KEYS:
        assert f"| `{key}` |" in guide, f"docs/own-data.md does not document the mapping.yml key {key!r}"
    assert MAPPING.strip() in guide.replace(
        "# lines with a negative quantity or price: refuse (default) or drop",
        "# lines with a negative quantity, or cancelled invoices: refuse (default) or drop",
    )


def test_the_worlds_summary_shows_what_was_dropped(world_copy, small_world_dir):
    d, _, _ = _team_export(world_copy)
    summary = load_world(d, tables=["transactions"], today=TODAY).summary()
    assert summary.loc["transactions", "dropped lines"] == 12 and summary.loc["customers", "dropped lines"] == 0
    assert 0 < summary.loc["transactions", "dropped share of value"] < 0.01
    plain = load_world(small_world_dir, tables=["transactions"], today=TODAY).summary()
    assert list(plain.columns) == ["rows", "columns"]  # nothing dropped, nothing added
