"""explore: checked against hand computations on tiny tables."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import explore

TX = pd.DataFrame(
    {
        "order_id": [1, 1, 2, 3, 3, 4, 5],
        "customer_id": [10, 10, 11, 10, 10, 12, 11],
        "order_date": pd.to_datetime(
            ["2024-01-02", "2024-01-02", "2024-01-20", "2024-02-03", "2024-02-03", "2024-02-10", "2024-03-01"]
        ),
        "product_id": ["a", "b", "a", "a", "b", "c", "b"],
        "quantity": [1, 2, 1, 3, 1, 1, 1],
        "unit_price": [10.0, 5.0, 10.0, 10.0, 5.0, 7.5, 5.0],
    }
)


def test_pair_lift_by_hand():
    # 5 orders; a in {1,2,3}, b in {1,3,5}; both in {1,3}
    got = explore.pair_lift(TX, "a", "b")
    assert got["support"] == pytest.approx(2 / 5)
    assert got["confidence"] == pytest.approx(2 / 3)
    assert got["lift"] == pytest.approx((2 / 5) / ((3 / 5) * (3 / 5)))


def test_pair_lift_unknown_product():
    with pytest.raises(ValueError, match="'z' appears in no order"):
        explore.pair_lift(TX, "a", "z")


def test_monthly_orders_by_hand():
    m = explore.monthly_orders(TX)
    assert m["orders"].tolist() == [2, 2, 1]
    assert m["customers"].tolist() == [2, 2, 1]
    assert m["revenue"].tolist() == [30.0, 42.5, 5.0]


def test_checks_against_truth_on_a_generated_world(small_world):
    shares = explore.segment_share_check(small_world.customers, small_world.truth)
    assert shares["drawn_share"].sum() == pytest.approx(1.0)
    assert shares["difference"].abs().max() < 0.05
    rules = explore.planted_rule_check(small_world.transactions, small_world.truth)
    assert len(rules) == len(small_world.truth["association_rules"])
    assert rules["relative_error"].max() < 0.2
