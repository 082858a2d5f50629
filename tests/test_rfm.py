"""rfm: hand-computed recency/frequency/monetary, scores and segments, lifetimes definitions, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import rfm


def _tx() -> pd.DataFrame:
    # customer 1: orders 10 (two lines, Jan 1) and 11 (Mar 1); customer 2: order 12 (Feb 1) and 13 (Feb 1, same day)
    # customer 3: one order (Mar 20)
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2, 3],
            "order_id": [10, 10, 11, 12, 13, 14],
            "order_date": pd.to_datetime(
                [
                    "2025-01-01 00:00",
                    "2025-01-01 00:00",
                    "2025-03-01 00:00",
                    "2025-02-01 09:00",
                    "2025-02-01 17:00",
                    "2025-03-20 00:00",
                ]
            ),
            "quantity": [1, 2, 1, 1, 1, 3],
            "unit_price": [10.0, 5.0, 40.0, 30.0, 20.0, 1.0],
        }
    )


def test_rfm_by_hand():
    t = rfm.rfm_table(_tx(), as_of="2025-04-01", bins=3)
    assert t["recency_days"].to_dict() == {1: 31, 2: 58, 3: 12}  # whole days: Feb 1 17:00 -> Apr 1 is 58.3
    assert t["frequency"].to_dict() == {1: 2, 2: 2, 3: 1}
    assert t["monetary"].to_dict() == {1: 60.0, 2: 50.0, 3: 3.0}
    # scores: 1 + floor(3 * (number strictly below) / 3); recency is scored on -days (recent = high)
    assert t["R"].to_dict() == {1: 2, 2: 1, 3: 3}
    assert t["F"].to_dict() == {1: 2, 2: 2, 3: 1}  # ties share a score
    assert t["M"].to_dict() == {1: 3, 2: 2, 3: 1}
    assert t["rfm"].to_dict() == {1: 223, 2: 122, 3: 311}
    # with 3 bins, R = 2 is "slipping" and R = 1 "gone": 1 is almost lost, 2 (F, M in the top two bins) lost
    assert t["segment"].to_dict() == {1: "almost lost", 2: "lost", 3: "recent"}


def test_text_ids_give_the_same_numbers():
    tx = _tx().assign(customer_id=lambda d: "c" + d["customer_id"].astype(str))
    for f in (rfm.rfm_table, rfm.lifetimes_summary):
        a, b = f(_tx(), "2025-04-01"), f(tx, "2025-04-01")
        assert b.index.tolist() == ["c1", "c2", "c3"]
        np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())


def test_rfm_ignores_order_of_rows_and_later_orders():
    tx = _tx()
    shuffled = tx.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(rfm.rfm_table(tx, "2025-04-01"), rfm.rfm_table(shuffled, "2025-04-01"))
    early = rfm.rfm_table(tx, as_of="2025-02-15", bins=3)
    assert 3 not in early.index and early.loc[1, "frequency"] == 1


def test_segments_follow_the_rules_in_order():
    scores = pd.DataFrame({"R": [5, 2, 1, 1, 3, 3, 4], "F": [5, 5, 4, 1, 5, 2, 1], "M": [5, 4, 5, 1, 1, 5, 1]})
    names = rfm.name_segments(scores, bins=5).tolist()
    assert names == ["best customers", "almost lost", "lost", "lost cheap", "loyal", "big spenders", "other"]
    mine = [("vip", (("M", ">=", 4),))]
    assert rfm.name_segments(scores, 5, rules=mine).tolist()[:3] == ["vip", "vip", "vip"]
    with pytest.raises(ValueError, match="unknown operator"):
        rfm.name_segments(scores, 5, rules=[("x", (("R", "=>", 1),))])


def test_degenerate_tables_have_documented_scores():
    one = _tx()[_tx()["customer_id"] == 3]
    t = rfm.rfm_table(one, as_of="2025-04-01")
    assert t[["R", "F", "M"]].iloc[0].tolist() == [1, 1, 1]  # scores are relative: one customer is the bottom
    single = _tx().drop_duplicates("customer_id")  # everyone ordered once
    assert (rfm.rfm_table(single, as_of="2025-04-01")["F"] == 1).all()


def test_bad_transactions_are_refused_with_the_fix():
    tx = _tx()
    tx.loc[2, "unit_price"] = -40.0
    with pytest.raises(
        ValueError, match=r"1 line\(s\) with a negative or missing quantity x unit_price .*drop returns"
    ):
        rfm.rfm_table(tx, "2025-04-01")
    tx = _tx().drop(columns=["quantity", "unit_price"]).assign(amount=[20.0, 0.0, 40.0, -1.0, 30.0, 50.0])
    with pytest.raises(ValueError, match=r"1 line\(s\) with a negative or missing amount \(rows \[3\]\)"):
        rfm.lifetimes_summary(tx, "2025-04-01")
    with pytest.raises(ValueError, match="a line value: quantity and unit_price, or one amount column"):
        rfm.rfm_table(_tx().drop(columns="quantity"), "2025-04-01")
    with pytest.raises(ValueError, match="as_of 2024-12-01 is not after the first order"):
        rfm.rfm_table(_tx(), "2024-12-01")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['unit_price'\]; RFM needs"):
        rfm.rfm_table(_tx().drop(columns="unit_price"), "2025-04-01")
    with pytest.raises(ValueError, match="is empty"):
        rfm.rfm_table(_tx().iloc[:0], "2025-04-01")
    with pytest.raises(ValueError, match="bins must be between 2 and 10"):
        rfm.rfm_table(_tx(), "2025-04-01", bins=1)


@pytest.mark.parametrize("column", ["quantity", "unit_price"])
def test_a_missing_amount_is_refused_not_summed_as_nan(column):
    tx = _tx().astype({column: float})
    tx.loc[1, column] = np.nan
    before = tx.copy()
    for fn in (rfm.rfm_table, rfm.lifetimes_summary):
        with pytest.raises(
            ValueError,
            match=r"1 line\(s\) with a negative or missing quantity x unit_price \(rows \[1\]\)"
            r".*fill or drop missing amounts",
        ):
            fn(tx, as_of="2025-04-01")
    pd.testing.assert_frame_equal(tx, before)  # the caller's frame is untouched


def test_a_zero_value_line_is_a_purchase():
    """A free item or a fully discounted line is an order (as lifetimes counts it) that adds nothing to spend."""
    tx = _tx()
    tx.loc[2, "unit_price"] = 0.0  # customer 1's second order (Mar 1) was free
    t = rfm.rfm_table(tx, "2025-04-01")
    assert t.loc[1, ["recency_days", "frequency", "monetary"]].tolist() == [31, 2, 20.0]
    s = rfm.lifetimes_summary(tx, "2025-04-01")
    assert s.loc[1].tolist() == [1.0, 59.0, 89.0, 0.0]  # one repeat day, worth 0


def test_one_amount_column_and_no_order_id_give_the_same_summaries():
    """An export with one value per line and no order ids: a customer's lines at one moment are one order."""
    tx = _tx()
    plain = tx.assign(amount=tx["quantity"] * tx["unit_price"]).drop(columns=["order_id", "quantity", "unit_price"])
    pd.testing.assert_frame_equal(rfm.rfm_table(plain, "2025-04-01"), rfm.rfm_table(tx, "2025-04-01"))
    pd.testing.assert_frame_equal(rfm.lifetimes_summary(plain, "2025-04-01"), rfm.lifetimes_summary(tx, "2025-04-01"))
    # two lines at one moment are one order; the same customer later the same day is another
    same = plain.assign(order_date=plain["order_date"].where(plain.index != 4, plain["order_date"][3]))
    assert rfm.rfm_table(same, "2025-04-01").loc[2, "frequency"] == 1


def test_lifetimes_summary_by_hand():
    s = rfm.lifetimes_summary(_tx(), as_of="2025-04-01")
    # customer 1: purchase days Jan 1 (20) and Mar 1 (40): one repeat, recency 59 days, T = Mar 31 - Jan 1 = 89
    assert s.loc[1].tolist() == [1.0, 59.0, 89.0, 40.0]
    # customer 2: two orders on one day = one purchase day, no repeat: frequency 0, monetary 0
    assert s.loc[2].tolist() == [0.0, 0.0, 58.0, 0.0]
    assert s.loc[3].tolist() == [0.0, 0.0, 11.0, 0.0]


def test_rfm_on_the_course_world_is_consistent(course_world):
    t = rfm.rfm_table(course_world.transactions, bins=5)
    tx = course_world.transactions
    spend = (tx["quantity"] * tx["unit_price"]).groupby(tx["customer_id"]).sum()
    assert np.allclose(t["monetary"], spend.loc[t.index].round(2))
    assert set(t["R"]) == set(range(1, 6)) and t["segment"].isin([n for n, _ in rfm.SEGMENT_RULES] + ["other"]).all()
    # recency and the R score move in opposite directions
    assert t.groupby("R")["recency_days"].mean().is_monotonic_decreasing


@pytest.mark.filterwarnings("ignore:The 'mode.chained_assignment' option is deprecated")
def test_lifetimes_summary_agrees_with_the_lifetimes_package(small_world):
    from lifetimes.utils import summary_data_from_transaction_data

    tx = small_world.transactions
    as_of = pd.Timestamp("2025-07-01")
    ours = rfm.lifetimes_summary(tx, as_of=as_of)
    before = tx[tx["order_date"] < as_of]
    theirs = summary_data_from_transaction_data(
        before.assign(value=before["quantity"] * before["unit_price"]),
        "customer_id",
        "order_date",
        monetary_value_col="value",
        observation_period_end=as_of - pd.Timedelta(days=1),
        freq="D",
    )
    theirs.index = theirs.index.astype(ours.index.dtype)
    pd.testing.assert_frame_equal(ours, theirs[ours.columns], check_names=False, rtol=1e-9)
