"""segmentation: hand-computed features, two-step recovering known structure, personas, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from helpers import segmentation as sg
from helpers.synth import World


def _tiny_world() -> World:
    customers = pd.DataFrame({"customer_id": [1, 2, 3], "age": [30, 40, 50],
                              "signup_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-01"])})
    products = pd.DataFrame({"product_id": ["a", "b"], "category": ["home", "books"], "price": [10.0, 20.0]})
    tx = pd.DataFrame({
        "order_id": [1, 1, 2, 3], "customer_id": [1, 1, 1, 2],
        "order_date": pd.to_datetime(["2024-01-10", "2024-01-10", "2024-02-20", "2024-03-01"]),
        "product_id": ["a", "b", "a", "b"], "quantity": [1, 1, 2, 1], "unit_price": [10.0, 20.0, 10.0, 20.0],
    })
    events = pd.DataFrame({
        "customer_id": [1, 1, 1, 3, 3], "timestamp": pd.to_datetime(["2024-01-05", "2024-01-06", "2024-01-07",
                                                                    "2024-03-05", "2024-03-06"]),
        "event_type": ["site_visit", "email_sent", "email_open", "email_sent", "site_visit"],
    })
    return World({"customers": customers, "products": products, "transactions": tx, "events": events})


def test_features_by_hand():
    w = _tiny_world()
    f = sg.customer_features(w, as_of="2024-04-01", shrink=0.0)
    # customer 1: active from 2024-01-05 (the first day in the data) to 2024-04-01 = 87 days; 2 orders, spent 50
    months = 87 / 30.4375
    assert f.loc[1, "frequency"] == pytest.approx(2 / months)
    assert f.loc[1, "monetary"] == pytest.approx(50.0)
    assert f.loc[1, "avg_order_value"] == pytest.approx(25.0)
    assert f.loc[1, "recency_days"] == 41  # last order 2024-02-20
    assert f.loc[1, "share_home"] == pytest.approx(30 / 50) and f.loc[1, "share_books"] == pytest.approx(20 / 50)
    assert f.loc[1, "email_open_rate"] == pytest.approx(1.0)
    assert f.loc[1, "web_sessions"] == pytest.approx(1 / months)
    # customer 3 never ordered: zero frequency, recency = tenure, shares fall back to the population (shrink=0 -> 0)
    assert f.loc[3, "frequency"] == 0 and f.loc[3, "recency_days"] == 31  # signed up 2024-03-01
    assert f.loc[3, "email_open_rate"] == 0.0


def test_shrinkage_pulls_thin_histories_to_the_population():
    w = _tiny_world()
    f = sg.customer_features(w, as_of="2024-04-01", shrink=3.0)
    pop_home = 30 / 70  # population spend share of home
    # customer 2 has one order (books only): with 3 pseudo-orders its share is 1/4 own + 3/4 population
    assert f.loc[2, "share_home"] == pytest.approx(0.25 * 0.0 + 0.75 * pop_home)
    assert f.loc[3, "share_home"] == pytest.approx(pop_home)


def _blobs(k: int, n: int = 3000, seed: int = 0):
    """k groups that differ in 3 numeric columns and one categorical column."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, size=(k, 3))
    y = rng.integers(0, k, n)
    x = pd.DataFrame(centres[y] + rng.normal(0, 1, size=(n, 3)), columns=["a", "b", "c"])
    probs = rng.dirichlet(np.ones(4) * 0.3, size=k)
    x["colour"] = [str(rng.choice(4, p=probs[g])) for g in y]
    return x, y


@pytest.mark.parametrize("k", [3, 5, 7])
def test_two_step_finds_the_number_of_groups_and_the_groups(k):
    x, y = _blobs(k, seed=k)
    ts = sg.TwoStepClustering(categorical=["colour"], random_state=0).fit(x)
    assert ts.n_clusters_ == k
    assert adjusted_rand_score(y, ts.labels_) > 0.95
    assert (ts.predict(x) == ts.labels_).mean() > 0.99
    assert ts.bic_.index[0] == 1 and len(ts.bic_) == ts.max_clusters


def test_two_step_fixed_k_and_labels_by_size():
    x, y = _blobs(4, seed=1)
    ts = sg.TwoStepClustering(n_clusters=4, categorical=["colour"]).fit(x)
    sizes = np.bincount(ts.labels_)
    assert len(sizes) == 4 and (np.diff(sizes) <= 0).all()


def test_two_step_bad_input():
    x, _ = _blobs(3)
    with pytest.raises(ValueError, match="not numeric"):
        sg.TwoStepClustering().fit(x)
    with pytest.raises(ValueError, match="not in X"):
        sg.TwoStepClustering(categorical=["shape"]).fit(x)
    x.loc[3, "a"] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        sg.TwoStepClustering(categorical=["colour"]).fit(x)
    x, _ = _blobs(3)
    ts = sg.TwoStepClustering(categorical=["colour"]).fit(x)
    x.loc[0, "colour"] = "purple"
    with pytest.raises(ValueError, match="categories not seen"):
        ts.predict(x)


def test_two_step_single_category_column_is_harmless():
    x, y = _blobs(3, seed=2)
    x["country"] = "NL"
    ts = sg.TwoStepClustering(categorical=["colour", "country"]).fit(x)
    assert ts.n_clusters_ == 3 and adjusted_rand_score(y, ts.labels_) > 0.95


def test_scale_features_refuses_constant_and_missing():
    f = pd.DataFrame({"frequency": [1.0, 2.0, 3.0], "flat": [1.0, 1.0, 1.0]})
    with pytest.raises(ValueError, match=r"constant feature\(s\) \['flat'\]"):
        sg.scale_features(f)
    f = pd.DataFrame({"frequency": [1.0, np.nan, 3.0], "age": [20.0, 30.0, 40.0]})
    with pytest.raises(ValueError, match="missing values"):
        sg.scale_features(f)
    z = sg.scale_features(pd.DataFrame({"frequency": [0.0, 1.0, 3.0], "age": [20.0, 30.0, 40.0]}))
    assert np.allclose(z.mean(), 0) and np.allclose(z.std(ddof=0), 1)
    assert z["frequency"].iloc[1] < 0.5 * (z["frequency"].iloc[0] + z["frequency"].iloc[2]) + 1  # log-scaled


def test_choose_k_prefers_the_true_k_on_blobs_and_refuses_too_few_rows():
    x, _ = _blobs(4, seed=3)
    z = sg.scale_features(x[["a", "b", "c"]], skewed=())
    table = sg.choose_k(z, ks=range(2, 7), n_boot=3)
    assert table["silhouette"].idxmax() == 4
    assert table.loc[4, "stability_ari"] > 0.95
    with pytest.raises(ValueError, match="fewer than the largest k"):
        sg.choose_k(z.iloc[:3], ks=range(2, 6))


def test_pca_summary_shapes_and_variance():
    x, _ = _blobs(3, seed=4)
    z = sg.scale_features(x[["a", "b", "c"]], skewed=())
    explained, loadings, proj = sg.pca_summary(z)
    assert explained["cumulative"].iloc[-1] == pytest.approx(1.0)
    assert loadings.shape == (3, 3) and proj.shape == (len(z), 2)


def test_personas_name_the_distinguishing_feature():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"frequency": rng.normal(1, 0.1, 300), "age": rng.normal(40, 3, 300)})
    labels = np.repeat([0, 1, 2], 100)
    f.loc[labels == 1, "frequency"] += 2  # cluster 1: frequent buyers
    f.loc[labels == 2, "age"] -= 15  # cluster 2: young
    profile, top = sg.profile_clusters(f, labels, top=1)
    assert top.set_index("cluster").loc[1, "feature"] == "frequency"
    assert top.set_index("cluster").loc[2, ["feature", "direction"]].tolist() == ["age", "low"]
    assert profile.loc[1, "frequency"] > 150 and profile["size"].sum() == 300
    names = sg.propose_labels(top)
    assert names[1] == "frequent buyers" and names[2] == "young"
