"""churn: the outcome by hand, the neighbour score by hand, the planted probability, the course world's AUCs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from helpers import churn as ch
from helpers.planted import ChurnModel
from helpers.world import Truth, World


def _world() -> World:
    customers = pd.DataFrame(
        {"customer_id": [1, 2, 3, 4], "age": [30, 40, 50, 60], "signup_date": pd.to_datetime(["2024-01-01"] * 4)}
    )
    products = pd.DataFrame({"product_id": ["a"], "category": ["home"], "price": [10.0]})
    tx = pd.DataFrame(
        {
            "order_id": [1, 2, 3, 4, 5, 6],
            "customer_id": [1, 1, 2, 3, 3, 4],
            "order_date": pd.to_datetime(
                ["2024-02-01", "2024-06-15", "2024-03-01", "2024-05-01", "2024-04-01", "2024-07-30"]
            ),
            "product_id": ["a"] * 6,
            "quantity": [1] * 6,
            "unit_price": [10.0] * 6,
        }
    )
    return World({"customers": customers, "products": products, "transactions": tx})


def test_outcome_by_hand():
    x, y = ch.churn_frame(_world(), "2024-06-01", horizon_days=30)
    # past buyers before June 1: 1, 2, 3 (4 first buys in July); only 1 orders in [Jun 1, Jul 1)
    assert y.to_dict() == {1: 0, 2: 1, 3: 1}
    assert x.loc[3, "recency_days"] == 31 and x.loc[3, "inactive_days"] == 31
    assert x.loc[1, "expected_silence"] == pytest.approx(np.exp(-x.loc[1, "frequency"] * 121 / 30.4375))


def test_outcome_must_be_observable():
    with pytest.raises(ValueError, match="runs past the last order"):
        ch.churn_frame(_world(), "2024-07-15", horizon_days=30)
    with pytest.raises(ValueError, match="before the first order"):
        ch.churn_frame(_world(), "2024-01-15")


def test_neighbour_score_is_the_share_of_churned_neighbours():
    x = pd.DataFrame({"age": [20.0, 21.0, 22.0, 60.0, 61.0, 62.0]})
    y = np.array([1, 1, 0, 0, 0, 1])
    model = ch.NeighbourChurn(n_neighbors=3, log=False).fit(x, y)
    assert model.predict_proba(pd.DataFrame({"age": [20.5, 61.5]}))[:, 1].tolist() == [2 / 3, 1 / 3]
    with pytest.raises(ValueError, match="fewer customers than n_neighbors"):
        ch.NeighbourChurn(n_neighbors=10).fit(x, y)


def test_neighbour_score_remembers_a_sample_when_capped():
    """max_samples: the neighbours come from that many known customers drawn at random; the standardisation
    still learns from all; a cap above the customers changes nothing."""
    rng = np.random.default_rng(5)
    x = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(size=500)})
    y = (x["a"] + rng.normal(size=500) > 0).astype(int).to_numpy()
    q = pd.DataFrame({"a": [-1.0, 0.0, 1.0], "b": [0.0, 0.5, -0.5]})
    full = ch.NeighbourChurn(10, log=False).fit(x, y)
    np.testing.assert_array_equal(
        full.predict_proba(q), ch.NeighbourChurn(10, log=False, max_samples=500).fit(x, y).predict_proba(q)
    )
    capped = ch.NeighbourChurn(10, log=False, max_samples=100, random_state=3).fit(x, y)
    assert capped.knn_.n_samples_fit_ == 100
    keep = np.sort(np.random.default_rng(3).choice(500, 100, replace=False))
    z = (x.to_numpy() - x.to_numpy().mean(axis=0)) / x.to_numpy().std(axis=0)  # scaled on all 500
    d = (
        (z[keep][None, :, :] - ((q.to_numpy() - x.to_numpy().mean(axis=0)) / x.to_numpy().std(axis=0))[:, None]) ** 2
    ).sum(-1)
    by_hand = y[keep][np.argsort(d, axis=1)[:, :10]].mean(axis=1)
    np.testing.assert_allclose(capped.predict_proba(q)[:, 1], by_hand)
    with pytest.raises(ValueError, match="max_samples"):
        ch.NeighbourChurn(10, max_samples=0).fit(x, y)


def test_oracle_formula_by_hand():
    values = {
        "customer_latent": {
            "customer_id": [1, 2],
            "segment": [0, 0],
            "segment_name": ["s", "s"],
            "churn_date": ["2024-03-01", None],
            "churn_hazard_per_month": [0.1, 0.1],
            "web_sessions_per_month": [1.0, 1.0],
            "orders_per_month": [0.5, 0.5],
        },
        "churn_model": ChurnModel(drift_multiplier=2.0).to_dict(drift_segment="s"),
        "drift": {"date": "2025-07-01"},
    }
    truth = Truth({k: {"value": v, "description": k} for k, v in values.items()})
    p = ch.oracle_no_purchase(truth, [1, 2], "2024-06-01", horizon_days=61)
    big_h, rate = 61 / 30.4375, 0.6
    expected = 0.1 / rate * (1 - np.exp(-rate * big_h)) + np.exp(-rate * big_h)
    assert p.loc[1] == 1.0 and p.loc[2] == pytest.approx(expected)
    after = ch.oracle_no_purchase(truth, [2], "2025-08-01", horizon_days=61)  # hazard doubled after the drift
    rate = 0.7
    assert after.loc[2] == pytest.approx(0.2 / rate * (1 - np.exp(-rate * big_h)) + np.exp(-rate * big_h))


def _simulated_world(n: int, seed: int) -> World:
    """Customers drawn straight from the planted process (not through helpers.synth), observed for a year.

    Each customer has a monthly hazard h, order rate lam and web-session rate w; while active it starts
    sessions at rate lam + w, a share lam / (lam + w) of which end in an order (an order comes with its visit).
    """
    rng = np.random.default_rng(seed)
    start, month = pd.Timestamp("2024-01-01"), 30.4375
    h = rng.uniform(0.01, 0.12, n)
    lam = rng.uniform(0.2, 2.0, n)
    w = rng.uniform(0.5, 4.0, n)
    churn_m = rng.exponential(1 / h)
    end_m = 18.0  # 12 months of history, then 6 months in which the outcome is observed
    rows_c, rows_o = [], []
    for i in range(n):
        stop = min(churn_m[i], end_m)
        k = rng.poisson((lam[i] + w[i]) * stop)
        t = np.sort(rng.uniform(0, stop, k))
        is_order = rng.random(k) < lam[i] / (lam[i] + w[i])
        rows_c += [(i + 1, x) for x in t]
        rows_o += [(i + 1, x) for x in t[is_order]]
    stamp = lambda m: start + pd.to_timedelta(np.round(np.asarray(m) * month * 86400), unit="s")  # noqa: E731
    visits = pd.DataFrame(rows_c, columns=["customer_id", "m"])
    orders = pd.DataFrame(rows_o, columns=["customer_id", "m"])
    events = pd.DataFrame(
        {"customer_id": visits["customer_id"], "timestamp": stamp(visits["m"]), "event_type": "site_visit"}
    )
    tx = pd.DataFrame(
        {
            "order_id": np.arange(len(orders)) + 1,
            "customer_id": orders["customer_id"],
            "order_date": stamp(orders["m"]).normalize(),
            "product_id": "a",
            "quantity": 1,
            "unit_price": 10.0,
        }
    )
    customers = pd.DataFrame({"customer_id": np.arange(n) + 1, "signup_date": start})
    ids = np.arange(n) + 1
    latent = {
        "customer_id": ids.tolist(),
        "segment": [0] * n,
        "segment_name": ["s"] * n,
        "churn_date": [None] * n,
        "churn_hazard_per_month": h.tolist(),
        "web_sessions_per_month": w.tolist(),
        "orders_per_month": lam.tolist(),
    }
    truth = Truth(
        {
            k: {"value": v, "description": k}
            for k, v in {
                "customer_latent": latent,
                "churn_model": ChurnModel(drift_multiplier=1.0).to_dict(drift_segment="none"),
                "drift": {"date": "2030-01-01"},
            }.items()
        }
    )
    return World({"customers": customers, "transactions": tx, "events": events}, truth=truth)


def test_oracle_from_history_is_calibrated_on_the_planted_process():
    """The Bayes formula is right if, among customers it gives p, a share p do not order (Monte Carlo)."""
    world = _simulated_world(20000, seed=3)
    as_of = pd.Timestamp("2024-01-01") + pd.Timedelta(days=round(12 * 30.4375))
    p = ch.oracle_from_history(world, world.customers["customer_id"], as_of, horizon_days=90)
    tx = world.transactions
    bought = tx.loc[(tx["order_date"] >= as_of) & (tx["order_date"] < as_of + pd.Timedelta(days=90)), "customer_id"]
    y = (~p.index.isin(bought.unique())).astype(float)
    assert p.min() < 0.05 and p.max() > 0.99  # a wide range of cases, not one easy one
    table = pd.DataFrame({"p": p.to_numpy(), "y": y}).groupby(
        pd.qcut(p.to_numpy(), 10, labels=False, duplicates="drop")
    )
    table = table.agg(p=("p", "mean"), y=("y", "mean"), n=("y", "size"))
    table = table[table["p"] < 0.999]
    z = (table["y"] - table["p"]) / np.sqrt(table["p"] * (1 - table["p"]) / table["n"])
    # each decile within Monte Carlo error (a prior twice too pessimistic about leaving gives |z| up to 8.8)
    assert len(table) >= 5 and z.abs().max() < 3.5
    # and it ranks better than the same rates without the silence
    blind = 1 - (
        1
        - ch._p_no_order_if_active(
            world.truth.customers["churn_hazard_per_month"].to_numpy(),
            world.truth.customers["orders_per_month"].to_numpy(),
            90,
        )
    )
    assert roc_auc_score(y, p) > roc_auc_score(y, blind) + 0.05


def test_oracle_from_history_needs_truth():
    with pytest.raises(ValueError, match="truth.json"):
        ch.oracle_from_history(_world(), [1], "2024-06-01")


def test_course_world_churn_scores(course_world):
    # out of time, as the lesson scores: learn from the frame one horizon earlier, whose outcomes end on as_of
    lx, ly = ch.churn_frame(course_world, "2025-07-03", 90)
    x, y = ch.churn_frame(course_world, "2025-10-01", 90)
    model = ch.churn_model(42).fit(lx, ly)
    knn = ch.NeighbourChurn(50).fit(lx, ly)
    scores = pd.DataFrame(
        {
            "model": model.predict_proba(x)[:, 1],
            "knn": knn.predict_proba(x)[:, 1],
            "recency": x["recency_days"].astype(float),
            "bgnbd": ch.bgnbd_no_purchase(course_world, x.index, "2025-10-01", 90),
            "oracle": ch.oracle_no_purchase(course_world.truth, x.index, "2025-10-01", 90),
            "history": ch.oracle_from_history(course_world, x.index, "2025-10-01", 90),
        },
        index=x.index,
    )
    table = ch.auc_by_population(y, scores, x["recency_days"])
    auc, recent = table["all"], table["last order <= 180 d"]
    assert auc["oracle"] > auc["history"] > auc["model"] > auc["knn"] > auc["bgnbd"] > auc["recency"] > 0.8
    assert auc["oracle"] - auc["model"] < 0.03
    assert auc["history"] - auc["model"] < 0.01
    # long-gone customers are easy: every score loses AUC among recent buyers, and the model keeps its lead
    assert (recent[["model", "bgnbd", "recency"]] < auc[["model", "bgnbd", "recency"]] - 0.04).all()
    assert recent["model"] - recent["bgnbd"] > 0.02
    assert table.loc["customers", "all"] == len(y) > table.loc["customers", "last order <= 180 d"]


def test_learning_frame_uses_no_order_after_the_scoring_date(course_world):
    # the frame a model learns from on 2025-10-01 must not change when everything from that day on changes
    lx, ly = ch.churn_frame(course_world, "2025-07-03", 90)
    tx = course_world.transactions
    later = tx["order_date"] >= pd.Timestamp("2025-10-01")
    moved = tx.copy()
    moved.loc[later, "customer_id"] = moved.loc[later, "customer_id"].sample(frac=1, random_state=0).to_numpy()
    moved = moved[~later | (np.arange(len(tx)) % 2 == 0)]
    w = World({**course_world.tables, "transactions": moved.reset_index(drop=True)}, truth=course_world.truth)
    lx2, ly2 = ch.churn_frame(w, "2025-07-03", 90)
    pd.testing.assert_frame_equal(lx, lx2)
    pd.testing.assert_series_equal(ly, ly2)


def test_bgnbd_no_purchase_is_calibrated_on_the_course_world(course_world):
    x, y = ch.churn_frame(course_world, "2025-10-01", 90)
    p = ch.bgnbd_no_purchase(course_world, x.index, "2025-10-01", 90)
    assert p.between(0, 1).all() and abs(p.mean() - y.mean()) < 0.06
    with pytest.raises(ValueError, match="no order before"):
        ch.bgnbd_no_purchase(course_world, [x.index[0], -1], "2025-10-01", 90)


def test_auc_by_population_by_hand():
    y = pd.Series([1, 0, 1, 0, 1, 0])
    scores = pd.DataFrame({"s": [0.9, 0.8, 0.7, 0.1, 0.6, 0.5]})
    rec = pd.Series([400, 10, 20, 30, 40, 500])
    t = ch.auc_by_population(y, scores, rec, within_days=(None, 100))
    # all: positives 0.9, 0.7, 0.6 vs negatives 0.8, 0.1, 0.5: 7 of 9 pairs; recent (rows 1-4): 0.7, 0.6 vs 0.8, 0.1
    assert t.loc["s", "all"] == pytest.approx(7 / 9) and t.loc["s", "last order <= 100 d"] == pytest.approx(2 / 4)
    assert t.loc["customers", "last order <= 100 d"] == 4 and t.loc["churn rate", "all"] == 0.5
    with pytest.raises(ValueError, match="one class"):
        ch.auc_by_population(y, scores, rec, within_days=(15,))
    with pytest.raises(ValueError, match="share one index"):
        ch.auc_by_population(y, scores.iloc[:5], rec)


def test_customer_value_by_hand():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3],
            "quantity": [1, 2, 1, 1],
            "unit_price": [10.0, 5.0, 40.0, 99.0],
            "order_date": pd.to_datetime(["2025-06-01", "2025-09-01", "2024-01-01", "2025-10-01"]),
        }
    )
    v = ch.customer_value(tx, [1, 2, 3, 4], "2025-10-01", horizon_days=90, lookback_days=360)
    # 1: 20 in the year, a quarter of it; 2: bought too long ago; 3: on the day itself (not before); 4: never
    assert v.to_dict() == {1: 5.0, 2: 0.0, 3: 0.0, 4: 0.0}
    with pytest.raises(ValueError, match="positive"):
        ch.customer_value(tx, [1], "2025-10-01", lookback_days=0)


def test_churn_panel_stacks_the_frames_of_each_date():
    w = _world()
    panel = ch.churn_panel(w, ["2024-06-01", "2024-05-01"], horizon_days=30)
    assert panel["as_of"].is_monotonic_increasing  # dates sorted
    for as_of, part in panel.groupby("as_of"):
        x, y = ch.churn_frame(w, as_of, 30)
        got = part.set_index("customer_id")
        pd.testing.assert_frame_equal(got[list(x.columns)], x, check_names=False)
        assert got["churned"].tolist() == y.tolist()
    assert panel.groupby("as_of").size().tolist() == [3, 3]  # customers 1, 2, 3 bought before May 1 and June 1
    with pytest.raises(ValueError, match="no as-of dates"):
        ch.churn_panel(w, [])
    with pytest.raises(ValueError, match="runs past the last order"):
        ch.churn_panel(w, ["2024-06-01", "2024-07-15"], horizon_days=30)


def test_feature_importance_on_a_sample_agrees_with_every_row():
    """Permutation importance finds the feature that matters; on a sample it reads the same drops."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = pd.DataFrame(
        {"signal": rng.normal(size=30_000), "weak": rng.normal(size=30_000), "noise": rng.normal(size=30_000)}
    )
    y = (rng.random(30_000) < 1 / (1 + np.exp(-(1.5 * x["signal"] + 0.3 * x["weak"])))).astype(int)
    model = LogisticRegression().fit(x, y)
    full = ch.feature_importance(model, x, y, max_rows=None)
    sampled = ch.feature_importance(model, x, y, max_rows=10_000)
    assert list(full.index) == list(sampled.index) == ["signal", "weak", "noise"]
    assert abs(full["noise"]) < 0.002 and full["signal"] > 0.2
    assert (sampled - full).abs().max() < 0.02  # a few standard errors of an AUC on 10 000 rows
    small = ch.feature_importance(model, x.iloc[:5000], y[:5000], max_rows=10_000)  # fewer rows: all of them
    pd.testing.assert_series_equal(small, ch.feature_importance(model, x.iloc[:5000], y[:5000], max_rows=None))
    with pytest.raises(ValueError, match="30000 rows but y has 29999"):
        ch.feature_importance(model, x, y[:-1])


def test_churn_model_is_fitted_on_every_row_or_on_the_documented_draw():
    """Below the cap the fit is the plain one (the course world's lesson 02 is unchanged); above it, the model is
    the plain model fitted on the rows that sampling.sample_positions draws, and it still ranks churners."""
    from helpers import retraining
    from helpers.sampling import sample_positions

    rng = np.random.default_rng(4)
    x = pd.DataFrame({"recency_days": rng.exponential(60, 3_000), "frequency": rng.gamma(2, 1, 3_000)})
    y = pd.Series(rng.random(3_000) < 1 / (1 + np.exp(-(x["recency_days"] - 60) / 20)), name="churned")
    whole, n = ch.fit_churn_model(x, y, random_state=3)
    assert n == len(x)
    assert np.array_equal(whole.predict_proba(x), ch.churn_model(3).fit(x, y).predict_proba(x))
    part, n = ch.fit_churn_model(x, y, random_state=3, max_rows=1_000)
    rows = sample_positions(len(x), 1_000, 3)
    assert n == 1_000 and len(rows) == 1_000
    want = ch.churn_model(3).fit(x.iloc[rows], y.iloc[rows])
    assert np.array_equal(part.predict_proba(x), want.predict_proba(x))
    assert roc_auc_score(y, part.predict_proba(x)[:, 1]) > 0.8
    assert ch.FIT_ROWS == retraining.FIT_ROWS  # lessons 02 and 06 fit on the same number of rows
