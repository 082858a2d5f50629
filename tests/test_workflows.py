"""Workflows: validation with clear errors, exact replays on a hand-made history, honest uplift intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import kpis
from helpers import workflows as wf
from helpers.kpis import uplift_by_customer


def _flow(**change):
    spec = wf.cart_recovery().to_dict()
    spec.update(change)
    return spec


def test_ready_workflows_round_trip_as_dict_and_yaml():
    for w in (wf.cart_recovery(), wf.cross_sell()):
        assert wf.Workflow.from_dict(w.to_dict()) == w
        assert wf.Workflow.from_yaml(w.to_yaml()) == w
    w = wf.cart_recovery()
    assert w.order == ("wait_1", "check_1", "reminder", "wait_2", "check_2", "discount", "end")
    assert ("check_1", "end", "yes") in w.edges() and ("check_1", "reminder", "no") in w.edges()
    assert list(w.table()["type"]) == ["wait", "condition", "action", "wait", "condition", "action", "stop"]


def _steps(*steps):
    return {"name": "t", "trigger": "cart_abandon", "steps": list(steps)}


STOP = {"id": "end", "type": "stop"}


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            _steps(
                {"id": "a", "type": "wait", "hours": 1, "next": "b"},
                {"id": "b", "type": "condition", "if": "purchased", "yes": "end", "no": "a"},
                STOP,
            ),
            r"cycle a -> b -> a",
        ),
        ({**_steps(STOP), "trigger": "cart_abandoned"}, "unknown trigger event 'cart_abandoned'"),
        (_steps({"id": "a", "type": "sleep", "next": "end"}, STOP), "step 'a': unknown type 'sleep'"),
        (
            _steps({"id": "a", "type": "wait", "hours": 1, "next": "nowhere"}, STOP),
            "next -> 'nowhere', which is not a step",
        ),
        (_steps({"id": "a", "type": "wait", "hours": 0, "next": "end"}, STOP), "hours > 0"),
        (
            _steps(
                {"id": "a", "type": "action", "channel": "email", "offer": "discount", "discount": 1.5, "next": "end"},
                STOP,
            ),
            r"discount in \(0, 1\)",
        ),
        (
            _steps({"id": "a", "type": "action", "channel": "fax", "offer": "reminder", "next": "end"}, STOP),
            "unknown channel 'fax'",
        ),
        (
            _steps({"id": "a", "type": "condition", "if": "is_vip", "yes": "end", "no": "end"}, STOP),
            "unknown condition",
        ),
        (_steps(STOP, {"id": "orphan", "type": "wait", "hours": 1, "next": "end"}), "orphan cannot be reached"),
        (_steps({"id": "end", "type": "wait", "hours": 1, "next": "end"}, STOP), "two steps are called 'end'"),
        (_steps({"type": "stop"}), "step 0 has no id"),
        ({"name": "t", "trigger": "cart_abandon", "steps": []}, "no steps"),
        ({**_steps(STOP), "goal_hours": -1}, "goal_hours must be > 0"),
    ],
)
def test_invalid_workflows_are_refused_with_the_step_named(spec, message):
    with pytest.raises(wf.WorkflowError, match=message):
        wf.Workflow.from_dict(spec)


def test_invalid_yaml():
    with pytest.raises(wf.WorkflowError, match="not valid YAML"):
        wf.Workflow.from_yaml("name: [unclosed")


T = pd.Timestamp("2025-03-03 10:00:00")


def _history():
    """Five abandoned carts at T, each showing one path through the cart-recovery workflow."""
    h = pd.Timedelta(hours=1)
    events = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5, 3, 9],
            "timestamp": [T, T, T, T, T, T + 2 * h, T + 10 * 24 * h],
            "event_type": ["cart_abandon"] * 5 + ["unsubscribe", "site_visit"],
            "campaign_id": [None] * 7,
        }
    )
    transactions = pd.DataFrame(
        {
            "order_id": [10, 11, 12, 13],
            "customer_id": [1, 2, 5, 5],
            "order_date": [T + 0.5 * h, T + 5 * h, T - 30 * 24 * h, T - 60 * 24 * h],
            "product_id": ["P1", "P1", "P2", "P3"],
            "quantity": [1, 1, 1, 1],
            "unit_price": [50.0, 70.0, 100.0, 300.0],
        }
    )
    customers = pd.DataFrame(
        {"customer_id": [1, 2, 3, 4, 5, 9], "email_consent": [True, True, True, False, True, True]}
    )
    return events, transactions, customers


def test_replay_follows_each_path_exactly():
    events, tx, customers = _history()
    q1, q2 = 0.2, 0.3
    response = wf.Response.assumed(reminder=q1, discount=q2)
    sim_ = wf.Simulator(wf.cart_recovery(), events, tx, customers, response)
    # 1 bought before the first check, 2 after the reminder, 3 unsubscribed before the discount, 4 has no consent,
    # 5 walks to the end: the oracle is the mean of what each path can add
    assert sim_.true_uplift == pytest.approx((q1 + 1 - (1 - q1) * (1 - q2)) / 5)
    zero = wf.Simulator(wf.cart_recovery(), events, tx, customers, wf.Response.assumed(0.0, 0.0))
    e = zero.run(seed=0, control_share=1e-9).entries.set_index("customer_id")
    assert (e["group"] == "target").all()
    assert e["messages"].to_dict() == {1: 0, 2: 1, 3: 1, 4: 0, 5: 2}
    assert e["converted"].to_dict() == {1: True, 2: True, 3: False, 4: False, 5: False}
    assert e["revenue"].to_dict() == {1: 50.0, 2: 70.0, 3: 0.0, 4: 0.0, 5: 0.0}
    steps = zero.run(seed=0, control_share=1e-9).steps
    assert steps.loc["reminder", ["entered", "sent", "undeliverable"]].tolist() == [4, 3, 1]
    assert steps.loc["discount", ["entered", "sent", "undeliverable"]].tolist() == [2, 1, 1]
    assert zero.true_uplift == 0


def test_a_persuaded_customer_pays_the_discounted_mean_order_value():
    events, tx, customers = _history()
    sure = wf.Response(cart={"reminder": 0.0, "discount": 0.999999999})
    e = wf.simulate(wf.cart_recovery(discount=0.1), events, tx, customers, sure, control_share=1e-9).entries
    five = e.set_index("customer_id").loc[5]
    assert five["persuaded"] and five["converted"]
    assert five["revenue"] == pytest.approx(0.9 * 200.0) and five["discount_cost"] == pytest.approx(20.0)
    assert T + pd.Timedelta(hours=26) <= five["purchase_at"] <= T + pd.Timedelta(hours=72)


def test_simulation_bad_input():
    events, tx, customers = _history()
    with pytest.raises(wf.WorkflowError, match="control_share must be in"):
        wf.simulate(wf.cart_recovery(), events, tx, customers, wf.Response.assumed(), control_share=0.0)
    with pytest.raises(wf.WorkflowError, match="pass response="):
        wf.simulate(wf.cart_recovery(), events, tx, customers)
    with pytest.raises(wf.WorkflowError, match="no 'guide_download' events"):
        wf.simulate(
            wf.Workflow.from_dict({**wf.cart_recovery().to_dict(), "trigger": "guide_download"}),
            events,
            tx,
            customers,
            wf.Response.assumed(),
        )
    with pytest.raises(wf.WorkflowError, match="a probability"):
        wf.Response.assumed(reminder=1.5)
    no_order = tx.astype({"order_id": float})
    no_order.loc[2, "order_id"] = np.nan
    with pytest.raises(wf.WorkflowError, match=r"lines without an order_id \(e.g. row 2\)"):
        wf.simulate(wf.cart_recovery(), events, no_order, customers, wf.Response.assumed())


def test_an_order_of_several_lines_is_one_order_worth_their_sum():
    """Customer 5's order of 100 split into lines of 60 and 40 (listed apart): the same mean order value of 200."""
    events, tx, customers = _history()
    split = pd.concat([tx.iloc[[2]].assign(unit_price=60.0), tx.iloc[[0, 1, 3]], tx.iloc[[2]].assign(unit_price=40.0)])
    sure = wf.Response(cart={"reminder": 0.0, "discount": 0.999999999})
    for lines in (tx, split):
        sim_ = wf.Simulator(wf.cart_recovery(discount=0.1), events, lines, customers, sure)
        assert dict(zip(sim_.base["cust"], sim_.value, strict=True))[5] == pytest.approx(200.0)
        assert sim_.organic.tolist() == [True, True, False, False, False]  # 1 and 2 bought within the window


def _orders_by_pandas(tx: pd.DataFrame) -> pd.DataFrame:
    """The orders as plain pandas groups them: first line's customer and date, sum of values, by customer and date."""
    o = (
        tx.assign(value=tx["quantity"] * tx["unit_price"])
        .groupby("order_id", sort=False)
        .agg(customer_id=("customer_id", "first"), order_date=("order_date", "first"), value=("value", "sum"))
    )
    return o.sort_values(["customer_id", "order_date"], kind="stable").reset_index(drop=True)


def test_orders_are_the_same_whatever_path_computes_them(course_world):
    """Ascending order numbers (runs), shuffled lines (factorized), text ids, ties and times out of order."""
    tx = course_world.transactions.iloc[:60_000]
    rng = np.random.default_rng(3)
    variants = {
        "ascending numbers": tx,
        "shuffled": tx.sample(frac=1, random_state=1),
        "text ids": tx.assign(order_id="O" + tx["order_id"].astype(str)),
        "categorical ids": tx.assign(order_id=tx["order_id"].astype("category")),
        # order numbers ascending, but times not: the general stable sort instead of the sort by customer
        "times out of order": tx.assign(
            order_date=tx["order_date"] + pd.to_timedelta(rng.integers(0, 5, len(tx)) * 3600 * 24 * 30, unit="s")
        ),
        "fractions of seconds": tx.assign(order_date=tx["order_date"] + pd.Timedelta(milliseconds=1)),
    }
    for name, lines in variants.items():
        got = wf._orders(lines)
        expected = _orders_by_pandas(lines)
        assert_allclose = np.testing.assert_allclose
        assert got["customer_id"].tolist() == expected["customer_id"].tolist(), name
        assert (got["order_date"].to_numpy() == expected["order_date"].to_numpy()).all(), name
        assert_allclose(got["value"].to_numpy(), expected["value"].to_numpy(), rtol=1e-12, err_msg=name)
    # several customers' orders at the same second keep their order of appearance
    same = pd.DataFrame(
        {
            "order_id": [1, 2, 3, 4],
            "customer_id": [7, 5, 7, 5],
            "order_date": pd.to_datetime(["2025-01-01"] * 4),
            "quantity": [1, 1, 1, 1],
            "unit_price": [1.0, 2.0, 3.0, 4.0],
        }
    )
    assert wf._orders(same)["value"].tolist() == [2.0, 4.0, 1.0, 3.0]


def test_key_order_is_numpys_stable_sort():
    rng = np.random.default_rng(0)
    cust = rng.integers(0, 200_000, 50_000)  # more than 16 bits: both radix digits matter
    in_time = np.sort(rng.integers(1_700_000_000, 1_700_100_000, 50_000))
    shuffled = rng.permutation(in_time)
    key = (cust << 32) | in_time
    assert np.array_equal(wf._stable_order(cust.astype(np.uint32)), np.argsort(cust, kind="stable"))
    assert np.array_equal(wf._key_order(cust, in_time), np.argsort(key, kind="stable"))
    assert np.array_equal(wf._key_order(cust, shuffled), np.argsort((cust << 32) | shuffled, kind="stable"))
    ordered = np.argsort(key, kind="stable")
    assert np.array_equal(wf._key_order(cust[ordered], in_time[ordered]), np.arange(len(cust)))
    assert wf._key_order(cust - 300_000, in_time) is None  # negative ids: pandas' sort instead
    assert wf._key_order(cust, in_time - 1_800_000_000) is None  # before 1970


def test_mean_order_value_per_customer_is_pandas_mean():
    rng = np.random.default_rng(4)
    ocust = np.sort(rng.integers(0, 500, 5_000))
    value = rng.gamma(2.0, 30.0, 5_000)
    known = np.arange(-3, 510, 2)  # some without orders: the mean of all orders
    expected = pd.Series(value).groupby(ocust).mean().reindex(known).fillna(pd.Series(value).mean()).to_numpy()
    assert np.array_equal(wf._mean_value(ocust, value, known), expected)  # sorted: the same reduceat as pandas'
    shuffle = rng.permutation(5_000)  # unsorted: pandas itself
    np.testing.assert_allclose(wf._mean_value(ocust[shuffle], value[shuffle], known), expected, rtol=1e-12)


def test_planted_cart_response_matches_the_truth(course_world):
    r = wf.Response.planted(course_world.truth)
    cr = course_world.truth["cart_recovery"]
    assert r.cart["reminder"] * (1 - cr["organic"]) == pytest.approx(cr["reminder"])
    both = 1 - (1 - r.cart["reminder"]) * (1 - r.cart["discount"])
    assert both * (1 - cr["organic"]) == pytest.approx(cr["discount"])


@pytest.mark.parametrize("flow", [wf.cart_recovery(), wf.cross_sell()], ids=["cart", "cross_sell"])
def test_uplift_interval_covers_the_planted_uplift(course_world, flow):
    """The issue's target: the 95 % interval holds the planted uplift in >= 90 % of repeated simulations."""
    w = course_world
    s = wf.Simulator(flow, w.events, w.transactions, w.customers, wf.Response.planted(w.truth))
    cov = s.coverage(n_runs=100, level=0.95)
    assert cov["covered"].mean() >= 0.9
    # and the estimate is unbiased: the mean over runs is within 3 standard errors of the oracle
    assert abs(cov["uplift"].mean() - s.true_uplift) < 3 * cov["uplift"].std() / np.sqrt(len(cov))
    assert s.true_uplift > 0


def test_the_oracle_walks_entries_a_slice_at_a_time_with_the_same_numbers(course_world, monkeypatch):
    w = course_world
    flow, response = wf.cross_sell(), wf.Response.planted(w.truth)
    whole = wf.Simulator(flow, w.events, w.transactions, w.customers, response)
    monkeypatch.setattr(wf, "ORACLE_ENTRIES", 997)
    sliced = wf.Simulator(flow, w.events, w.transactions, w.customers, response)
    assert len(whole) > 10 * 997
    np.testing.assert_array_equal(sliced._gain, whole._gain)
    assert sliced.true_uplift == whole.true_uplift


def test_coverage_is_each_replays_uplift_by_customer(course_world):
    # coverage counts conversions per customer from arrays; each replay's table through uplift_by_customer agrees
    w = course_world
    s = wf.Simulator(wf.cart_recovery(), w.events, w.transactions, w.customers, wf.Response.planted(w.truth))
    cov = s.coverage(n_runs=4, level=0.9, control_share=0.3, seed=11)
    for r in range(4):
        u = uplift_by_customer(s.run(seed=11 + r, control_share=0.3).entries, level=0.9)
        assert cov.loc[r, ["uplift", "low", "high"]].tolist() == u[["uplift", "low", "high"]].tolist()
    with pytest.raises(wf.WorkflowError, match="control_share must be in"):
        s.coverage(n_runs=2, control_share=1.0)


def test_a_sample_of_customers_is_a_replay_of_their_entries_with_their_oracle(course_world):
    w = course_world
    s = wf.Simulator(wf.cart_recovery(), w.events, w.transactions, w.customers, wf.Response.planted(w.truth))
    assert s.sample(None) is s and s.sample(len(s.customers_unique)) is s
    part = s.sample(1_000, random_state=4)
    kept = np.isin(s.base["cust"], part.customers_unique)
    assert len(part.customers_unique) == 1_000 and len(part) == kept.sum() > 1_000  # every entry of each
    # the sample's oracle is its entries' own: a simulator built on those customers' history alone agrees
    alone = wf.Simulator(
        wf.cart_recovery(),
        w.events[w.events["customer_id"].isin(part.customers_unique)],
        w.transactions[w.transactions["customer_id"].isin(part.customers_unique)],
        w.customers,
        wf.Response.planted(w.truth),
    )
    assert part.true_uplift == pytest.approx(alone.true_uplift, rel=1e-12) != pytest.approx(s.true_uplift, rel=1e-3)
    a, b = part.run(seed=3).entries, alone.run(seed=3).entries
    # the same replay, but for the value of a customer who never ordered: the mean order of the history given
    money = ["revenue", "discount_cost"]
    pd.testing.assert_frame_equal(a.drop(columns=money), b.drop(columns=money))
    ordered = a["customer_id"].isin(w.transactions["customer_id"]).to_numpy()
    assert (a["converted"] & ~ordered).any()
    pd.testing.assert_frame_equal(a.loc[ordered, money], b.loc[ordered, money])
    assert part.coverage(n_runs=3, seed=1).equals(alone.coverage(n_runs=3, seed=1))
    with pytest.raises(ValueError, match="max_customers must be at least 1"):
        s.sample(0)


def test_clustered_uplift_is_uplift_by_customer_from_sums():
    rng = np.random.default_rng(2)
    e = pd.DataFrame({"customer_id": rng.integers(0, 300, 2_000), "converted": rng.random(2_000) < 0.3})
    e = e.sort_values("customer_id", kind="stable")
    e["group"] = np.where(e["customer_id"] % 3 == 0, "control", "target")
    per = e.groupby(["group", "customer_id"])["converted"].agg(["sum", "size"])
    t, c = per.loc["target"], per.loc["control"]
    got = kpis.clustered_uplift(t["sum"], t["size"], c["sum"], c["size"], level=0.8)
    pd.testing.assert_series_equal(got, uplift_by_customer(e, level=0.8))
    with pytest.raises(kpis.KPIError, match="the control group is empty"):
        kpis.clustered_uplift([1.0, 0.0], [2.0, 1.0], [], [])


def test_workflow_kpis_from_a_replay(course_world):
    w = course_world
    sim_ = wf.simulate(wf.cart_recovery(), w.events, w.transactions, w.customers, wf.Response.planted(w.truth))
    e = sim_.entries
    assert e["group"].value_counts(normalize=True)["control"] == pytest.approx(0.5, abs=0.03)
    assert (e.loc[e["group"] == "control", "messages"] == 0).all()
    assert not e.loc[e["group"] == "control", "persuaded"].any()
    u = kpis.uplift_by_customer(e)
    assert u["significant"] and u["low"] > 0
    # the organic recovery the world planted shows in the control group (other orders add a little)
    assert 0.12 <= u["rate_control"] <= 0.14
