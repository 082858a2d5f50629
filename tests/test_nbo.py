"""nbo: baskets, rules against hand counts, apriori = fpgrowth, streaming = batch, offers with suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from helpers import nbo


def _tx() -> pd.DataFrame:
    # orders: 1 {a, b}, 2 {a, b}, 3 {a, c}, 4 {b}, 5 {c}; customers x (1, 2, 3) and y (4, 5)
    lines = [
        (1, "x", "a"),
        (1, "x", "b"),
        (2, "x", "a"),
        (2, "x", "b"),
        (3, "x", "a"),
        (3, "x", "c"),
        (4, "y", "b"),
        (5, "y", "c"),
    ]
    days = {1: "2025-01-01", 2: "2025-02-01", 3: "2025-03-01", 4: "2025-01-15", 5: "2025-03-20"}
    return pd.DataFrame(
        {
            "order_id": [o for o, _, _ in lines],
            "customer_id": [c for _, c, _ in lines],
            "product_id": [p for _, _, p in lines],
            "order_date": pd.to_datetime([days[o] for o, _, _ in lines]),
            "quantity": 1,
            "unit_price": 10.0,
        }
    )


def test_basket_matrix_and_unknown_products():
    m, rows, items = nbo.basket_matrix(_tx())
    assert rows.tolist() == [1, 2, 3, 4, 5] and items.tolist() == ["a", "b", "c"]
    assert m.toarray().astype(int).tolist() == [[1, 1, 0], [1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1]]
    catalogue = pd.DataFrame({"product_id": ["a", "b"], "category": ["home", "books"]})
    with pytest.raises(ValueError, match=r"product\(s\) \['c'\] are not in the products table"):
        nbo.basket_matrix(_tx(), products=catalogue)
    with pytest.raises(ValueError, match="no order lines"):
        nbo.basket_matrix(_tx().iloc[:0])


@pytest.mark.parametrize("kind", ["text", "category", "number"])
@pytest.mark.parametrize("level", ["product", "category"])
def test_basket_matrix_is_the_line_by_line_text_matrix(kind, level):
    """Items as text from their distinct values give the matrix of every line turned into text (unused
    categories are not items), for text, categorical and numbered product ids, products or their categories."""
    rng = np.random.default_rng(5)
    ids = rng.integers(10, 30, 3_000)
    tx = pd.DataFrame({"order_id": rng.integers(0, 900, 3_000), "product_id": ids})
    products = pd.DataFrame({"product_id": np.arange(10, 30), "category": [f"cat{i % 4}" for i in range(20)]})
    if kind != "number":
        tx["product_id"] = "p" + tx["product_id"].astype(str)
        products["product_id"] = "p" + products["product_id"].astype(str)
    if kind == "category":
        tx["product_id"] = tx["product_id"].astype(pd.CategoricalDtype(["unused", *pd.unique(tx["product_id"])]))
    text = tx["product_id"].astype(str)
    if level == "category":
        text = text.map(products.set_index(products["product_id"].astype(str))["category"])
    row_codes, rows = pd.factorize(tx["order_id"].to_numpy(), sort=True)
    col_codes, cols = pd.factorize(text.to_numpy(), sort=True)
    want = sparse.csr_matrix((np.ones(len(tx), bool), (row_codes, col_codes)), shape=(len(rows), len(cols)))
    m, got_rows, got_cols = nbo.basket_matrix(tx, products=products, level=level)
    assert got_cols.tolist() == list(cols) and got_rows.tolist() == list(rows)
    assert (m != want.astype(bool)).nnz == 0


def test_basket_matrix_refuses_lines_without_an_item():
    tx = _tx().astype({"product_id": object})
    tx.loc[2, "product_id"] = None
    with pytest.raises(ValueError, match="1 order lines have no product_id"):
        nbo.basket_matrix(tx)


def test_rules_by_hand_and_both_algorithms_agree():
    items_f, rules_f = nbo.mine_rules(_tx(), min_support=0.2, min_confidence=0.1)
    items_a, rules_a = nbo.mine_rules(_tx(), min_support=0.2, min_confidence=0.1, algorithm="apriori")
    items_p, rules_p = nbo.mine_rules(_tx(), min_support=0.2, min_confidence=0.1, algorithm="pairs")
    for items, rules in [(items_a, rules_a), (items_p, rules_p)]:
        pd.testing.assert_frame_equal(items_f, items)
        pd.testing.assert_frame_equal(rules_f, rules)
    r = rules_f.set_index(["antecedent", "consequent"])
    # {a, b} in 2 of 5 orders; a in 3, b in 3: confidence a => b = 2/3, lift = (2/5) / (3/5 * 3/5)
    assert r.loc[("a", "b"), "support"] == pytest.approx(0.4)
    assert r.loc[("a", "b"), "confidence"] == pytest.approx(2 / 3)
    assert r.loc[("a", "b"), "lift"] == pytest.approx(0.4 / 0.36)
    assert r.loc[("a", "b"), "leverage"] == pytest.approx(0.4 - 0.36)


def test_rules_bad_input_is_explained():
    with pytest.raises(ValueError, match=r"no item reaches min_support=0.9: the most frequent, 'a'"):
        nbo.mine_rules(_tx(), min_support=0.9)
    with pytest.raises(ValueError, match="only one distinct item"):
        nbo.mine_rules(_tx().assign(product_id="a"))
    with pytest.raises(ValueError, match="algorithm must be"):
        nbo.mine_rules(_tx(), algorithm="carma")
    items, rules = nbo.mine_rules(_tx(), min_support=0.5)  # frequent items but no frequent pair: no rules
    assert rules.empty and list(rules.columns)[:2] == ["antecedent", "consequent"] and len(items) == 2


@pytest.mark.parametrize("by", ["order_id", "customer_id"])
def test_pair_counting_equals_fpgrowth_on_a_world(small_world, by):
    tx = small_world.transactions
    a = nbo.mine_rules(tx, min_support=0.01, min_confidence=0.05, by=by)
    b = nbo.mine_rules(tx, min_support=0.01, min_confidence=0.05, by=by, algorithm="pairs")
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    with pytest.raises(ValueError, match="pairs only"):
        nbo.mine_rules(tx, algorithm="pairs", max_len=3)


def test_basket_sample_keeps_whole_baskets(small_world):
    """Lesson 03 sets apriori beside FP-growth on a sample of orders when an export is large: every line of a
    drawn order is kept (a basket cut in half would invent other itemsets), and no more orders than asked."""
    tx = small_world.transactions
    sample = nbo.basket_sample(tx, 500, random_state=3)
    assert sample["order_id"].nunique() == 500
    drawn = tx[tx["order_id"].isin(sample["order_id"])]
    pd.testing.assert_frame_equal(sample, drawn)  # whole baskets, in the table's order
    assert not sample.equals(nbo.basket_sample(tx, 500, random_state=4))
    assert nbo.basket_sample(tx, None) is tx and nbo.basket_sample(tx, 10**9) is tx
    a = nbo.mine_rules(sample, min_support=0.01, min_confidence=0.05)
    b = nbo.mine_rules(sample, min_support=0.01, min_confidence=0.05, algorithm="apriori")
    pd.testing.assert_frame_equal(a[1], b[1])
    with pytest.raises(ValueError, match="no column 'basket'"):
        nbo.basket_sample(tx, 5, by="basket")
    with pytest.raises(ValueError, match="at least 1"):
        nbo.basket_sample(tx, 0)


def test_streaming_rules_equal_the_batch_result(small_world):
    tx = small_world.transactions
    _, batch = nbo.mine_rules(tx, min_support=0.01, min_confidence=0.05, max_len=2)
    stream = nbo.StreamingRules(min_support=0.01, min_confidence=0.05)
    months = tx["order_date"].dt.to_period("M")
    for _, part in tx.groupby(months, sort=True):
        stream.partial_fit(part)
    got = stream.rules()
    assert stream.n_baskets_ == tx["order_id"].nunique()
    merged = batch.merge(got, on=["antecedent", "consequent"], suffixes=("", "_stream"), how="outer")
    assert merged[["support_stream", "support"]].notna().all().all()  # the same rules
    assert np.allclose(merged["support"], merged["support_stream"])
    assert np.allclose(merged["confidence"], merged["confidence_stream"])
    assert np.allclose(merged["lift"], merged["lift_stream"])


def test_offers_follow_rules_suppress_recent_purchases_and_explain():
    rules = pd.DataFrame(
        {"antecedent": ["a", "b"], "consequent": ["c", "a"], "confidence": [0.6, 0.5], "lift": [2.0, 1.5]}
    )
    pop = pd.Series({"a": 3.0, "b": 3.0, "c": 2.0})
    offers = nbo.next_best_offers(_tx(), rules, "2025-04-01", k=2, suppress_days=45, fill=pop)
    x = offers[offers["customer_id"] == "x"]
    # x bought a and c on Mar 1, within 45 days of Apr 1: both suppressed, so the rules (-> c, -> a) are silent
    assert x["product_id"].tolist() == ["b"] and x["rule"].tolist() == ["popular"]
    y = offers[offers["customer_id"] == "y"].set_index("rank")
    # y bought b (Jan 15) and c (Mar 20, suppressed): b => a is the justification of the first offer
    assert y.loc[1, "product_id"] == "a" and y.loc[1, "rule"].startswith("b => a (confidence 0.50")
    assert "c" not in set(y["product_id"])
    # no rules at all (a support threshold above every pair): popular products fill every list
    none = nbo.next_best_offers(_tx(), rules.iloc[:0], "2025-04-01", k=2, suppress_days=45, fill=pop)
    assert set(none["rule"]) == {"popular"} and none.groupby("customer_id").size().max() == 2
    # each justification's text is held once (a categorical), whichever chunk of customers its offer came from
    chunked = nbo.next_best_offers(_tx(), rules, "2025-04-01", k=2, suppress_days=45, fill=pop, chunk=1)
    assert isinstance(chunked["rule"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(chunked, offers)


def test_hit_rate_by_hand():
    offers = pd.DataFrame({"customer_id": [1, 1, 2, 3], "rank": [1, 2, 1, 1], "product_id": ["a", "b", "c", "d"]})
    future = pd.DataFrame({"customer_id": [1, 2, 4], "product_id": ["b", "a", "a"]})
    assert nbo.hit_rate(offers, future, k=2) == pytest.approx(1 / 3)  # buyers 1, 2, 4; only 1 was offered b
    assert nbo.hit_rate(offers, future, k=1) == 0.0


def test_precision_at_k_by_hand():
    offers = pd.DataFrame({"customer_id": [1, 1, 2, 3], "rank": [1, 2, 1, 1], "product_id": ["a", "b", "c", "d"]})
    future = pd.DataFrame({"customer_id": [1, 1, 1, 2, 4], "product_id": ["b", "a", "a", "a", "a"]})
    # buyers 1, 2, 4: customer 1 bought both offers (2 of 2 slots), 2 none of its 2 slots, 4 had no offer
    assert nbo.precision_at_k(offers, future, k=2) == pytest.approx((2 / 2 + 0 + 0) / 3)
    assert nbo.precision_at_k(offers, future, k=1) == pytest.approx((1 + 0 + 0) / 3)  # 1's rank-1 offer a
    assert nbo.hit_rate(offers, future, k=1) == pytest.approx(1 / 3)
    # an empty slot is a miss: precision@3 of the same offers is lower, never higher, than hit@3
    p3 = nbo.precision_at_k(offers, future, k=3)
    assert p3 == pytest.approx(2 / 3 / 3) and p3 < nbo.hit_rate(offers, future, 3)


def _catalogue() -> pd.DataFrame:
    return pd.DataFrame({"product_id": ["a", "b", "c", "d"], "price": [10.0, 100.0, 1000.0, 20.0]})


def test_price_levels_by_hand():
    level = nbo.price_levels(_tx(), _catalogue(), customers=["x", "y", "z"])
    # x: a, b, a, b, a, c -> exp(mean(log)); y: b, c; z: no lines
    assert level["x"] == pytest.approx(np.exp(np.mean(np.log([10, 100, 10, 100, 10, 1000]))))
    assert level["y"] == pytest.approx(np.sqrt(100 * 1000)) and np.isnan(level["z"])
    with pytest.raises(ValueError, match=r"product\(s\) \['c'\] have no price"):
        nbo.price_levels(_tx(), _catalogue().iloc[[0, 1, 3]])


@pytest.mark.parametrize("product_type", ["int", "str", "category"])
def test_price_levels_agree_with_a_plain_groupby_for_any_product_type(product_type):
    rng = np.random.default_rng(8)
    catalogue = pd.DataFrame({"product_id": np.arange(30).astype(str), "price": rng.uniform(1, 500, 30).round(2)})
    tx = pd.DataFrame({"customer_id": rng.integers(0, 400, 5_000), "product_id": rng.integers(0, 30, 5_000)})
    if product_type != "int":
        tx["product_id"] = tx["product_id"].astype(str).astype(product_type)
    got = nbo.price_levels(tx, catalogue, customers=range(-5, 400))
    price = catalogue.set_index("product_id")["price"]
    plain = np.exp(np.log(tx["product_id"].astype(str).map(price)).groupby(tx["customer_id"]).mean())
    np.testing.assert_allclose(got.loc[plain.index], plain, rtol=1e-12)
    assert got.loc[-5:-1].isna().all()  # no lines: no level
    with pytest.raises(ValueError, match=r"product\(s\) \['29'\] have no price"):
        nbo.price_levels(tx, catalogue.iloc[:29])


def test_price_band_keeps_offers_within_the_customers_budget():
    rules = pd.DataFrame(
        {
            "antecedent": ["a", "a", "b"],
            "consequent": ["c", "d", "d"],
            "confidence": [0.9, 0.5, 0.4],
            "lift": [2.0, 1.5, 1.2],
        }
    )
    tx = _tx()[_tx()["product_id"] != "c"]  # x bought a, b (level sqrt(10 * 100) = 31.6); y bought b (100)
    pop = pd.Series({"a": 3.0, "b": 2.0, "c": 1.0, "d": 0.5})
    free = nbo.next_best_offers(tx, rules, "2025-04-01", k=2, suppress_days=0, fill=pop)
    assert free[free["customer_id"] == "x"]["product_id"].tolist() == ["c", "d"]
    banded = nbo.next_best_offers(
        tx, rules, "2025-04-01", k=2, suppress_days=0, fill=pop, price_band=(0.5, 2.0), products=_catalogue()
    )
    # c at 1000 is far above x's 31.6 * 2; d at 20 is within [15.8, 63.2] and keeps its rule
    x = banded[banded["customer_id"] == "x"]
    assert x["product_id"].tolist() == ["d"] and x["rule"].iloc[0].startswith("a => d")
    # y (level 100, band [50, 200]): only b at 100 fits, and it is y's own product, still allowed (no suppression)
    assert banded[banded["customer_id"] == "y"]["product_id"].tolist() == ["b"]
    price = _catalogue().set_index("product_id")["price"]
    level = nbo.price_levels(tx, _catalogue())
    ratio = banded["product_id"].map(price).to_numpy() / banded["customer_id"].map(level).to_numpy()
    assert ((ratio >= 0.5) & (ratio <= 2.0)).all()
    with pytest.raises(ValueError, match="needs the products table"):
        nbo.next_best_offers(tx, rules, "2025-04-01", price_band=(0.5, 2.0))
    with pytest.raises(ValueError, match="0 <= low <= 1 <= high"):
        nbo.next_best_offers(tx, rules, "2025-04-01", price_band=(2.0, 0.5), products=_catalogue())


def test_segment_popularity_by_hand():
    tx = _tx()
    segments = pd.Series({"x": "home lovers"}, name="persona")  # y has no segment: overall popularity
    offers = nbo.segment_popularity_offers(tx, "2025-04-01", segments, customers=["x", "y"], k=3, suppress_days=0)
    x = offers[offers["customer_id"] == "x"]
    # x's orders: a in 3, b in 2, c in 1; overall: a 3, b 3, c 2 (ties keep catalogue order)
    assert x["product_id"].tolist() == ["a", "b", "c"] and set(x["rule"]) == {"popular in home lovers"}
    y = offers[offers["customer_id"] == "y"]
    assert y["product_id"].tolist() == ["a", "b", "c"] and set(y["rule"]) == {"popular"}
    # suppression applies: y bought c on Mar 20, within 30 days of Apr 1
    y30 = nbo.segment_popularity_offers(tx, "2025-04-01", segments, customers=["y"], k=3, suppress_days=30)
    assert y30["product_id"].tolist() == ["a", "b"]
    with pytest.raises(ValueError, match="more than once in segments"):
        nbo.segment_popularity_offers(tx, "2025-04-01", pd.Series(["s", "t"], index=["x", "x"]))


def test_course_world_rules_and_offers(course_world):
    tx = course_world.transactions
    _, rules = nbo.mine_rules(tx, min_support=0.005, min_confidence=0.05)
    planted = pd.DataFrame(course_world.truth["association_rules"])
    strong = planted[planted["lift"] >= course_world.truth["association_min_lift"]]
    found = strong.merge(rules, on=["antecedent", "consequent"], suffixes=("_true", ""))
    assert len(found) == len(strong)
    assert (abs(found["lift"] / found["lift_true"] - 1) < 0.1).all()
    as_of = pd.Timestamp("2025-10-01")
    train = tx[tx["order_date"] < as_of]
    future = tx[(tx["order_date"] >= as_of) & (tx["order_date"] < as_of + pd.Timedelta(days=90))]
    customers = np.sort(train["customer_id"].unique())
    _, cross = nbo.mine_rules(train, min_support=0.05, min_confidence=0.05, min_lift=1.1, by="customer_id")
    pop = nbo.popularity(train)
    hits = {
        name: nbo.hit_rate(o, future, 3)
        for name, o in {
            "nbo": nbo.next_best_offers(tx, cross, as_of, customers=customers, fill=pop),
            "popularity": nbo.popularity_offers(tx, as_of, customers),
            "oracle": nbo.planted_offers(course_world.truth, tx, as_of, customers),
            "segment": nbo.segment_popularity_offers(
                tx, as_of, course_world.truth.customers.set_index("customer_id")["segment_name"], customers
            ),
        }.items()
    }
    assert hits["nbo"] >= 0.8 * hits["oracle"] and hits["nbo"] > hits["popularity"] + 0.05
    # the planted baskets are driven by segment tastes: the true segment's favourites are as good as the oracle,
    # and better than rules from the customer's own history (lesson 03 says so)
    assert abs(hits["segment"] - hits["oracle"]) < 0.02 and hits["segment"] > hits["nbo"]


def test_buy_again_by_hand():
    tx = _tx()
    pop = pd.Series({"a": 3.0, "b": 3.0, "c": 2.0, "d": 1.0})
    offers = nbo.buy_again_offers(tx, "2025-04-01", ["x", "y", "z"], k=3, suppress_days=0, fill=pop)
    # x: a in 3 orders, b in 2, c in 1; y: b (Jan 15) and c (Mar 20) once each, c the more recent; z: no history
    assert offers.loc[offers["customer_id"] == "x", "product_id"].tolist() == ["a", "b", "c"]
    y = offers[offers["customer_id"] == "y"]
    assert y["product_id"].tolist() == ["c", "b", "a"] and y["rule"].tolist() == [
        "bought before",
        "bought before",
        "popular",
    ]
    z = offers[offers["customer_id"] == "z"]
    assert z["product_id"].tolist() == ["a", "b", "c"] and set(z["rule"]) == {"popular"}
    # suppression applies as for every other method: x bought a and c on Mar 1, within 45 days of Apr 1
    x45 = nbo.buy_again_offers(tx, "2025-04-01", ["x"], k=3, suppress_days=45)
    assert x45["product_id"].tolist() == ["b"]


@pytest.mark.parametrize("text_orders", [False, True])
def test_orders_per_pair_is_a_distinct_count_and_a_minimum(text_orders):
    """The buy-again counts from one sort equal drop_duplicates + groupby, with repeated lines in an order."""
    rng = np.random.default_rng(11)
    n = 5_000
    lines = pd.DataFrame(
        {
            "c": rng.integers(0, 60, n),
            "i": rng.integers(0, 7, n),
            "order_id": rng.integers(0, 400, n),
        }
    )
    lines["day"] = rng.integers(0, 300, n)  # even when lines of an order disagree: the first line's, as drop_duplicates
    if text_orders:
        lines["order_id"] = "o" + lines["order_id"].astype(str)
    want = (
        lines.drop_duplicates(["c", "i", "order_id"])
        .groupby(["c", "i"])
        .agg(orders=("order_id", "size"), days=("day", "min"))
    )
    assert (want["orders"] > 1).any() and len(lines.drop_duplicates(["c", "i", "order_id"])) < n
    c, i, orders, days = nbo._orders_per_pair(
        lines["c"].to_numpy(), lines["i"].to_numpy(), lines["order_id"].to_numpy(), lines["day"].to_numpy(), 7
    )
    assert np.array_equal(c, want.index.get_level_values("c")) and np.array_equal(i, want.index.get_level_values("i"))
    assert np.array_equal(orders, want["orders"].to_numpy(float)) and np.array_equal(days, want["days"].to_numpy(float))


def test_one_row_each_is_drop_duplicates():
    rng = np.random.default_rng(2)
    keys = [rng.integers(0, m, 4_000) for m in (5, 9, 70)]
    got = nbo._one_row_each(*keys)
    frame = pd.DataFrame({f"k{j}": k for j, k in enumerate(keys)})
    want = frame.drop_duplicates()
    assert len(got) == len(want) < len(frame)
    assert np.array_equal(np.sort(got), want.index.to_numpy())  # the first row of each, as drop_duplicates keeps
    pd.testing.assert_frame_equal(
        frame.iloc[got].sort_values(list(frame.columns)).reset_index(drop=True),
        want.sort_values(list(frame.columns)).reset_index(drop=True),
    )
    assert len(nbo._one_row_each(np.zeros(0, int), np.zeros(0, int))) == 0


def test_rules_rank_by_confidence_lift_or_added_value():
    # a => c: confidence 0.6, lift 1.2 (P(c) = 0.5, added value 0.1); a => d: confidence 0.3, lift 3 (P(d) = 0.1,
    # added value 0.2)
    rules = pd.DataFrame(
        {"antecedent": ["a", "a"], "consequent": ["c", "d"], "confidence": [0.6, 0.3], "lift": [1.2, 3.0]}
    )
    tx = _tx()[lambda d: d["customer_id"] == "y"].assign(product_id="a")
    first = {
        by: nbo.next_best_offers(tx, rules, "2025-04-01", k=1, suppress_days=0, rank_by=by)["product_id"].iloc[0]
        for by in ("confidence", "lift", "added_value")
    }
    assert first == {"confidence": "c", "lift": "d", "added_value": "d"}
    scores = nbo.next_best_offers(tx, rules, "2025-04-01", k=2, suppress_days=0, rank_by="added_value")
    assert scores["score"].tolist() == pytest.approx([0.2, 0.1])
    with pytest.raises(ValueError, match="rank_by must be"):
        nbo.next_best_offers(tx, rules, "2025-04-01", rank_by="support")


def _hits_by_merge(offers, future, k):
    """The offered-and-bought pairs counted the plain way: text products, a merge on both columns."""
    bought = future.assign(product_id=future["product_id"].astype(str))[["customer_id", "product_id"]]
    bought = bought.drop_duplicates()
    top = offers.loc[offers["rank"] <= k, ["customer_id", "product_id"]].astype({"product_id": str})
    hits = top.merge(bought, on=["customer_id", "product_id"]).groupby("customer_id").size()
    return hits, bought["customer_id"].nunique()


@pytest.mark.parametrize("product_type", ["int", "str", "category"])
def test_hits_agree_with_a_merge_on_random_offers(product_type):
    # numbered products in the order lines and text in the offers; offers to non-buyers, products nobody bought
    rng = np.random.default_rng(3)
    n = 3_000
    offers = pd.DataFrame(
        {
            "customer_id": np.repeat(np.arange(600), 5),
            "rank": np.tile(np.arange(1, 6), 600),
            "product_id": rng.integers(0, 60, n).astype(str),
        }
    )
    future = pd.DataFrame({"customer_id": rng.integers(200, 900, n), "product_id": rng.integers(0, 50, n)})
    if product_type != "int":
        future["product_id"] = future["product_id"].astype(str).astype(product_type)
    else:  # a line without a product id buys nothing (nor the product of the buyer before it)
        future["product_id"] = future["product_id"].astype(float).where(rng.random(n) > 0.05).astype("Int64")
    for k in (1, 3, 5):
        got, buyers = nbo._hits(offers, future, k)
        want, want_buyers = _hits_by_merge(offers, future, k)
        assert buyers == want_buyers and len(want) > 20
        pd.testing.assert_series_equal(got, want, check_names=False)
        assert nbo.hit_rate(offers, future, k) == len(want) / want_buyers
        assert nbo.precision_at_k(offers, future, k) == want.sum() / k / want_buyers
    table = nbo.hit_table(offers, future, ks=(1, 3, 5))
    assert table["hit"].tolist() == [len(_hits_by_merge(offers, future, k)[0]) / buyers for k in (1, 3, 5)]
    assert table["precision"].tolist() == [nbo.precision_at_k(offers, future, k) for k in (1, 3, 5)]
    assert table["hit"].is_monotonic_increasing and (table["precision"] <= table["hit"]).all()


def test_hits_per_buyer_is_the_hit_rate_per_buyer():
    offers = pd.DataFrame({"customer_id": [1, 1, 2, 3], "rank": [1, 2, 1, 1], "product_id": ["a", "b", "c", "d"]})
    future = pd.DataFrame({"customer_id": [1, 2, 4, 4], "product_id": ["b", "a", "a", "b"]})
    h = nbo.hits_per_buyer(offers, future, k=2)
    assert h.to_dict() == {1: 1, 2: 0, 4: 0}  # buyers only; 3 bought nothing
    assert h.mean() == pytest.approx(nbo.hit_rate(offers, future, k=2))


def test_numbered_ids_through_a_table_equal_hashing():
    rng = np.random.default_rng(2)
    compact = rng.integers(1_000, 5_000, 20_000)
    spread = rng.integers(0, 10**12, 20_000)  # too wide for a table: pandas' factorize
    for values in (compact, spread, compact.astype(np.int32), np.array(["b", "a", "b"], dtype=object)):
        codes, uniques = nbo._factorize_sorted(values)
        ref_codes, ref_uniques = pd.factorize(values, sort=True)
        assert np.array_equal(codes, ref_codes) and np.array_equal(uniques, ref_uniques)
        assert np.asarray(uniques).dtype == np.asarray(ref_uniques).dtype
    ids = pd.Index(np.unique(compact)[::2])  # every other id: the rest are absent
    lines = pd.Series(np.concatenate([compact, [0, 10**9, -5]]))  # and some outside the range
    assert np.array_equal(nbo._lookup(ids, lines), ids.get_indexer(lines))
    shuffled = pd.Index(rng.permutation(ids.to_numpy()))
    assert np.array_equal(nbo._lookup(shuffled, lines), shuffled.get_indexer(lines))
    text = pd.Index(["x", "y"])
    assert nbo._lookup(text, pd.Series(["y", "z"])).tolist() == [1, -1]


def test_orders_per_product_is_pandas_distinct_count():
    tx = _tx()
    cat = tx.assign(product_id=pd.Categorical(tx["product_id"], categories=["c", "z", "a", "b"]))  # z: never bought
    doubled = pd.concat([cat, cat.iloc[[0, 0, 5]]]).sort_values("order_id", kind="stable")  # repeated lines
    missing = cat.assign(product_id=cat["product_id"].where(cat.index != 1))  # a line without its product
    for lines in (cat, doubled, missing):
        expected = lines.groupby("product_id", observed=True)["order_id"].nunique()
        pd.testing.assert_series_equal(nbo._orders_per_product(lines), expected)
        pd.testing.assert_series_equal(nbo.popularity(lines), expected.rename(index=str))
    assert nbo.popularity(cat).to_dict() == {
        "c": 2,
        "a": 3,
        "b": 3,
    }  # by hand: c in orders 3, 5; a in 1-3; b in 1, 2, 4
    # text order ids or lines out of order: pandas counts them
    assert nbo._orders_per_product(cat.assign(order_id=cat["order_id"].astype(str))) is None
    assert nbo._orders_per_product(cat.iloc[::-1]) is None
    pd.testing.assert_series_equal(nbo.popularity(cat.iloc[::-1]), nbo.popularity(cat))
