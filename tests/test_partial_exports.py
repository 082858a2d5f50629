"""Exports that hold less than the course world: a transaction log alone, blank or absent demographics.

What the export leaves out is derived (and said) or makes the sections that need it skip; never guessed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from helpers import io, rfm
from helpers import segmentation as sg
from helpers.io import SchemaError, load_world

TODAY = dt.date(2026, 1, 1)


def _write(d, name, df):
    d.mkdir(parents=True, exist_ok=True)
    df.to_csv(d / name, index=False)
    return d / name


LOG = pd.DataFrame(
    {
        "customer_id": ["C3", "C1", "C1", "C2", "C1"],
        "order_date": ["2024-01-05", "2024-01-02 10:00", "2024-01-02 10:00", "2024-02-01", "2024-03-01 09:30"],
        "amount": [10.0, 5.0, 0.0, 7.5, 12.25],
    }
)


def test_a_transaction_log_alone_loads_with_customers_orders_and_prices_derived(tmp_path):
    _write(tmp_path, "transactions.csv", LOG)
    w = load_world(tmp_path, today=TODAY)
    assert list(w.tables) == ["customers", "transactions"]
    # everyone who ordered, in id order, signing up on the day of their first order
    assert w.customers["customer_id"].tolist() == ["C1", "C2", "C3"]
    assert w.customers["signup_date"].astype(str).tolist() == ["2024-01-02", "2024-02-01", "2024-01-05"]
    tx = w.transactions
    # a customer's lines at one timestamp are one order: C1's two lines at 10:00 share an id, 09:30 is another
    assert tx["order_id"].tolist() == [1, 2, 2, 3, 4]
    assert tx["quantity"].tolist() == [1] * 5 and tx["unit_price"].tolist() == LOG["amount"].tolist()
    assert tx["amount"].tolist() == LOG["amount"].tolist()  # the export's value, unchanged
    derived = w.meta["derived"]
    assert derived[0].startswith("customers: no customers file, the 3 customers")
    assert any(n.startswith("transactions.order_id") and "(4 orders)" in n for n in derived)
    s = w.summary()
    assert s.loc["customers", "derived"] == "the whole table"
    assert s.loc["transactions", "derived"] == "quantity, unit_price, order_id"


def test_the_zero_value_line_is_a_purchase_and_rfm_reads_the_amount(tmp_path):
    _write(tmp_path, "transactions.csv", LOG)
    tx = load_world(tmp_path, today=TODAY).transactions
    t = rfm.rfm_table(tx, as_of=pd.Timestamp("2024-04-01"))
    assert t.loc["C1", "frequency"] == 2 and t.loc["C1", "monetary"] == pytest.approx(17.25)


def test_quantity_and_amount_give_the_unit_price_and_must_agree_with_it(tmp_path):
    log = LOG.assign(quantity=[2, 1, 1, 3, 1])
    _write(tmp_path, "transactions.csv", log)
    tx = load_world(tmp_path, today=TODAY).transactions
    np.testing.assert_allclose(tx["unit_price"] * tx["quantity"], log["amount"])
    _write(tmp_path, "transactions.csv", log.assign(unit_price=[5.0, 5.0, 0.0, 2.5, 12.0]))
    with pytest.raises(SchemaError) as e:
        load_world(tmp_path, today=TODAY)
    assert e.value.column == "amount" and e.value.lines == [6]  # 12.25 is not 1 x 12.0
    assert "quantity x unit_price" in str(e.value)


def test_a_line_without_any_value_is_refused_and_a_negative_amount_too(tmp_path):
    _write(tmp_path, "transactions.csv", LOG.drop(columns="amount"))
    with pytest.raises(SchemaError, match="missing column 'unit_price'"):
        load_world(tmp_path, today=TODAY)
    _write(tmp_path, "transactions.csv", LOG.assign(amount=[10.0, -5.0, 0.0, 7.5, 1.0]))
    with pytest.raises(SchemaError) as e:
        load_world(tmp_path, today=TODAY)
    assert e.value.column == "amount" and e.value.lines == [3] and "negative" in str(e.value)


def test_customers_without_signup_date_sign_up_on_their_first_order(tmp_path):
    _write(tmp_path, "transactions.csv", LOG)
    _write(tmp_path, "customers.csv", pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4"]}))
    w = load_world(tmp_path, today=TODAY)
    assert w.customers["signup_date"].astype(str).tolist() == ["2024-01-02", "2024-02-01", "2024-01-05", "2024-01-02"]
    assert "1 customers without either: the data's first day" in w.meta["derived"][0]


def test_customers_with_events_but_no_order_are_customers_too(tmp_path):
    _write(tmp_path, "transactions.csv", LOG)
    _write(
        tmp_path,
        "events.csv",
        pd.DataFrame(
            {"customer_id": ["C9", "C1"], "timestamp": ["2023-12-30 08:00", "2024-01-01"], "event_type": "site_visit"}
        ),
    )
    w = load_world(tmp_path, today=TODAY)
    assert w.customers["customer_id"].tolist() == ["C1", "C2", "C3", "C9"]
    assert str(w.customers.set_index("customer_id").loc["C9", "signup_date"].date()) == "2023-12-30"
    assert str(w.customers.set_index("customer_id").loc["C1", "signup_date"].date()) == "2024-01-01"


def test_blank_and_absent_demographics_are_unknown_never_guessed(tmp_path):
    _write(tmp_path, "transactions.csv", LOG)
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "signup_date": ["2024-01-01"] * 3,
            "age": [34, None, 51],
            "region": ["North", None, "South"],
            "loyalty_member": [None, None, None],
            "email_consent": [1, None, 0],
        }
    )
    _write(tmp_path, "customers.csv", customers)
    w = load_world(tmp_path, today=TODAY)
    c = w.customers.set_index("customer_id")
    assert c["age"].isna().tolist() == [False, True, False] and str(c["age"].dtype) == "Int64"
    assert c["loyalty_member"].isna().all() and c["email_consent"].isna().tolist() == [False, True, False]
    assert "gender" not in c.columns  # absent stays absent
    f = sg.customer_features(w)
    assert "age" not in f.columns  # a blank age is unknown: the feature is left out, not filled in
    x = sg.mixed_inputs(w, left_out=["tenure_months"], categorical=["region"])
    assert x["region"].tolist() == ["North", "unknown", "South"]


def test_a_team_without_products_gets_no_spend_mix(tmp_path):
    _write(tmp_path, "transactions.csv", LOG)
    f = sg.customer_features(load_world(tmp_path, today=TODAY))
    assert not [c for c in f.columns if c.startswith("share_")]
    assert {"frequency", "recency_days", "monetary", "avg_order_value"} <= set(f.columns)


def test_a_lesson_skips_absent_tables_only_when_asked(tmp_path):
    _write(tmp_path, "transactions.csv", LOG)
    with pytest.raises(SchemaError, match="file not found"):
        load_world(tmp_path, tables=["transactions", "events"], today=TODAY)
    w = load_world(tmp_path, tables=["transactions", "events", "leads"], today=TODAY, missing="skip")
    assert list(w.tables) == ["customers", "transactions"]
    with pytest.raises(ValueError, match="missing must be"):
        load_world(tmp_path, missing="ignore")


def test_without_a_customers_file_or_orders_there_is_nothing_to_derive_from(tmp_path):
    _write(tmp_path, "leads.csv", pd.DataFrame({"lead_id": [1]}))
    with pytest.raises(SchemaError, match="customers.csv: file not found"):
        load_world(tmp_path, tables=["customers"], today=TODAY)


def test_the_doctor_says_the_customers_are_derived(tmp_path):
    _write(tmp_path, "transactions.csv", LOG)
    report, ok = io.doctor(tmp_path, today=TODAY)
    assert ok and "customers    absent (customers.csv); derived from the orders" in report
    assert "02_scoring       2 of 4 sections run: rfm, churn" in report
