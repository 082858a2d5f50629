"""segmentation: hand-computed features, two-step recovering known structure, personas, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import Pipeline

from helpers import segmentation as sg
from helpers.synth import generate_world
from helpers.world import World


def _tiny_world() -> World:
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "age": [30, 40, 50],
            "signup_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-01"]),
        }
    )
    products = pd.DataFrame({"product_id": ["a", "b"], "category": ["home", "books"], "price": [10.0, 20.0]})
    tx = pd.DataFrame(
        {
            "order_id": [1, 1, 2, 3],
            "customer_id": [1, 1, 1, 2],
            "order_date": pd.to_datetime(["2024-01-10", "2024-01-10", "2024-02-20", "2024-03-01"]),
            "product_id": ["a", "b", "a", "b"],
            "quantity": [1, 1, 2, 1],
            "unit_price": [10.0, 20.0, 10.0, 20.0],
        }
    )
    events = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 3, 3],
            "timestamp": pd.to_datetime(["2024-01-05", "2024-01-06", "2024-01-07", "2024-03-05", "2024-03-06"]),
            "event_type": ["site_visit", "email_sent", "email_open", "email_sent", "site_visit"],
        }
    )
    return World({"customers": customers, "products": products, "transactions": tx, "events": events})


def test_features_by_hand():
    w = _tiny_world()
    f = sg.customer_features(w, as_of="2024-04-01", shrink=0.0)
    # customer 1: observed from 2024-01-05 (the first day in the data); last own action 2024-02-20 (an order),
    # so the active life is 46 days + 30 days of padding = 76 days; 2 orders, spent 50
    months = 76 / 30.4375
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


def test_undefined_features_can_be_missing():
    w = _tiny_world()
    f = sg.customer_features(w, as_of="2024-04-01", undefined="missing")
    share_cols = [c for c in f.columns if c.startswith("share_")]
    # customer 3 never ordered: no basket mix, no order value; customer 2 was never emailed: no email rates
    assert f.loc[3, share_cols + ["avg_order_value"]].isna().all()
    assert f.loc[2, ["email_open_rate", "email_click_rate"]].isna().all()
    assert f.loc[1].notna().all() and f.loc[3, "frequency"] > 0
    with pytest.raises(ValueError, match="undefined must be"):
        sg.customer_features(w, undefined="zero")


def test_unknown_customers_in_history_are_an_error():
    w = _tiny_world()
    w.tables["transactions"] = w.transactions.assign(customer_id=[1, 1, 1, 99])
    with pytest.raises(ValueError, match=r"transactions has customer_id\(s\) not in customers, e.g. \[99\]"):
        sg.customer_features(w)


def test_shrinkage_pulls_thin_histories_to_the_population():
    w = _tiny_world()
    f = sg.customer_features(w, as_of="2024-04-01", shrink=3.0)
    pop_home = 30 / 70  # population spend share of home
    # customer 2 has one order (books only): with 3 pseudo-orders its share is 1/4 own + 3/4 population
    assert f.loc[2, "share_home"] == pytest.approx(0.25 * 0.0 + 0.75 * pop_home)
    assert f.loc[3, "share_home"] == pytest.approx(pop_home)


def _blobs(k: int, n: int = 3000, seed: int = 0):
    """k groups that differ in 3 numeric columns and one categorical column; returns (X, y, centres)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, size=(k, 3))
    y = rng.integers(0, k, n)
    x = pd.DataFrame(centres[y] + rng.normal(0, 1, size=(n, 3)), columns=["a", "b", "c"])
    probs = rng.dirichlet(np.ones(4) * 0.3, size=k)
    x["colour"] = [str(rng.choice(4, p=probs[g])) for g in y]
    return x, y, centres


@pytest.mark.parametrize("k", [3, 5, 7])
def test_two_step_finds_the_number_of_groups_and_the_groups(k):
    x, y, centres = _blobs(k, seed=k)
    ts = sg.TwoStepClustering(categorical=["colour"], random_state=0).fit(x)
    assert ts.n_clusters_ == k
    assert adjusted_rand_score(y, ts.labels_) > 0.95
    assert ts.bic_.index[0] == 1 and len(ts.bic_) == ts.max_clusters
    # the fitted mixture recovers the planted centres (means are stored in standardised units)
    found = ts.means_ * ts.num_sd_.to_numpy() + ts.num_mean_.to_numpy()
    match = sg.match_clusters(ts.labels_, y)
    for cluster, group in match.items():
        assert np.abs(found[cluster] - centres[group]).max() < 0.15
    assert ts.variances_.shape == (k, 3) and ts.weights_.sum() == pytest.approx(1.0)
    # how k was chosen: the BIC rule bounds the search, the largest merge-distance ratio below it picks k
    how = ts.k_diagnostics()
    assert how["chosen"].sum() == 1 and how.index[how["chosen"]][0] == k
    bound = how.index[how["bic_rule"]][0]
    assert bound >= k and how.loc[bound, "change_ratio"] < 0.04 <= how.loc[: bound - 1, "change_ratio"].min()
    ratios = how.loc[2:bound, "distance_ratio"]
    assert ratios[k] * 1.15 >= ratios.max()  # the largest, or the larger of two within 15 % of each other
    bic = ts.bic_.to_numpy()
    assert how["bic_change"].iloc[:-1].to_numpy() == pytest.approx(bic[:-1] - bic[1:])


def test_two_step_predict_and_predict_proba_agree_with_fit():
    x, y, _ = _blobs(4, seed=1)
    ts = sg.TwoStepClustering(n_clusters=4, categorical=["colour"]).fit(x)
    proba = ts.predict_proba(x)
    assert proba.shape == (len(x), 4) and np.allclose(proba.sum(axis=1), 1.0)
    assert (ts.predict(x) == ts.labels_).all()
    sizes = np.bincount(ts.labels_)
    assert (np.diff(sizes) <= 0).all()  # numbered largest first
    plain = sg.TwoStepClustering(n_clusters=4, categorical=["colour"], refine=False).fit(x)
    assert (plain.labels_ == plain.hierarchical_labels_).all()
    assert (plain.predict(x) == plain.labels_).mean() > 0.99


def test_two_step_leaves_missing_values_out_of_the_likelihood():
    x, y, _ = _blobs(3, seed=5)
    rng = np.random.default_rng(0)
    x.loc[rng.random(len(x)) < 0.3, "a"] = np.nan  # a third of one column unknown
    ts = sg.TwoStepClustering(categorical=["colour"]).fit(x)
    assert ts.n_clusters_ == 3 and adjusted_rand_score(y, ts.labels_) > 0.95


def test_two_step_is_a_scikit_learn_estimator():
    x, y, _ = _blobs(3, seed=2)
    est = sg.TwoStepClustering(n_clusters=3, categorical=["colour"], random_state=3)
    assert clone(est).get_params() == est.get_params()
    pipe = Pipeline([("cluster", est)]).fit(x)
    assert adjusted_rand_score(y, pipe.predict(x)) > 0.95
    a = sg.TwoStepClustering(categorical=["colour"], random_state=3).fit(x).labels_
    b = sg.TwoStepClustering(categorical=["colour"], random_state=3).fit(x).labels_
    assert (a == b).all()  # deterministic for a given random_state


def test_two_step_bad_input():
    x, _, _ = _blobs(3)
    with pytest.raises(ValueError, match="not numeric: list them in categorical="):
        sg.TwoStepClustering().fit(x)
    with pytest.raises(ValueError, match=r"\['shape'\] are not in X"):
        sg.TwoStepClustering(categorical=["shape"]).fit(x)
    bad = x.assign(a=np.nan)
    with pytest.raises(ValueError, match=r"\['a'\] have no value at all"):
        sg.TwoStepClustering(categorical=["colour"]).fit(bad)
    bad = x.copy()
    bad.loc[3, "colour"] = None
    with pytest.raises(ValueError, match=r"\['colour'\] have missing values"):
        sg.TwoStepClustering(categorical=["colour"]).fit(bad)
    with pytest.raises(ValueError, match="n_clusters=5 is impossible with 4 rows"):
        sg.TwoStepClustering(n_clusters=5, categorical=["colour"]).fit(x.iloc[:4])
    with pytest.raises(ValueError, match="at least 2 rows"):
        sg.TwoStepClustering(categorical=["colour"]).fit(x.iloc[:1])
    ts = sg.TwoStepClustering(categorical=["colour"]).fit(x)
    new = x.copy()
    new.loc[0, "colour"] = "purple"
    with pytest.raises(ValueError, match="categories not seen in fit"):
        ts.predict(new)
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing:\n- c"):
        ts.predict(x.drop(columns="c"))


def test_two_step_single_category_column_is_harmless():
    x, y, _ = _blobs(3, seed=2)
    x["country"] = "NL"
    ts = sg.TwoStepClustering(categorical=["colour", "country"]).fit(x)
    assert ts.n_clusters_ == 3 and adjusted_rand_score(y, ts.labels_) > 0.95
    assert (ts.category_probs_["country"]["NL"] > 0.99).all()


def test_scale_features_by_hand_and_refusals():
    f = pd.DataFrame({"frequency": [0.0, 1.0, 3.0], "age": [20.0, 30.0, 40.0]})
    z = sg.scale_features(f)
    logged = np.log1p(np.array([0.0, 1.0, 3.0]))  # frequency is in SKEWED
    assert np.allclose(z["frequency"], (logged - logged.mean()) / logged.std())
    assert np.allclose(z["age"], [-np.sqrt(1.5), 0.0, np.sqrt(1.5)])
    with pytest.raises(ValueError, match=r"constant feature\(s\) \['flat'\]"):
        sg.scale_features(f.assign(flat=1.0))
    with pytest.raises(ValueError, match=r"\['empty'\] have no value at all"):
        sg.scale_features(f.assign(empty=np.nan))
    g = f.copy()
    g.loc[1, "frequency"] = np.nan
    with pytest.raises(ValueError, match=r"\['frequency'\] have missing values"):
        sg.scale_features(g)
    kept = sg.scale_features(g, allow_missing=True)
    assert np.isnan(kept.loc[1, "frequency"]) and kept["frequency"].mean() == pytest.approx(0.0)


def test_choose_k_finds_well_separated_groups_and_refuses_too_few_rows():
    rng = np.random.default_rng(3)
    centres = np.array([[0, 0], [8, 0], [0, 8], [8, 8]])
    y = rng.integers(0, 4, 2000)
    z = pd.DataFrame(centres[y] + rng.normal(0, 1, (2000, 2)), columns=["a", "b"])
    table = sg.choose_k(z, ks=range(2, 7), n_boot=3)
    assert table["silhouette"].idxmax() == 4
    assert table.loc[4, "stability_ari"] > 0.99
    assert (table["inertia"].diff().dropna() < 0).all()  # the elbow curve falls
    assert sg.suggest_k(table) == 4 and sg.suggest_k(table, rule="silhouette") == 4
    shaky = pd.DataFrame(
        {
            "inertia": [100.0, 50.0, 40.0, 35.0],
            "silhouette": [0.3, 0.5, 0.4, 0.35],
            "stability_ari": [0.95, 0.7, 0.92, 0.93],
        },
        index=[2, 3, 4, 5],
    )
    assert sg.suggest_k(shaky, rule="silhouette") == 4  # k=3 scores best but is not stable
    assert sg.suggest_k(shaky) == 4  # the elbow is at 3, which is not stable: the next-best stable k
    assert sg.suggest_k(shaky, min_stability=0.99) == 2  # none stable enough: the most stable
    with pytest.raises(ValueError, match="rule must be"):
        sg.suggest_k(shaky, rule="gap")
    with pytest.raises(ValueError, match="fewer than the largest k"):
        sg.choose_k(z.iloc[:3], ks=range(2, 6))
    # on a sample of 600 rows: the same k, and the table of those rows exactly; max_rows above the rows: no change
    small = sg.choose_k(z, ks=range(2, 7), n_boot=3, max_rows=600)
    assert sg.suggest_k(small) == 4 and small["inertia"].iloc[0] < table["inertia"].iloc[0] / 2
    rows = np.sort(np.random.default_rng([0, 1]).choice(2000, size=600, replace=False))
    pd.testing.assert_frame_equal(small, sg.choose_k(z.iloc[rows], ks=range(2, 7), n_boot=3))
    pd.testing.assert_frame_equal(table, sg.choose_k(z, ks=range(2, 7), n_boot=3, max_rows=2000))
    with pytest.raises(ValueError, match="max_rows=5 is fewer"):
        sg.choose_k(z, ks=range(2, 7), max_rows=5)


def test_pca_summary_matches_the_eigen_decomposition():
    x, _, _ = _blobs(3, seed=4)
    z = sg.scale_features(x[["a", "b", "c"]], skewed=())
    explained, loadings, proj = sg.pca_summary(z)
    eig = np.sort(np.linalg.eigvalsh(np.cov(z.to_numpy().T)))[::-1]
    assert np.allclose(explained["explained_variance_ratio"], eig / eig.sum())
    assert explained["cumulative"].iloc[-1] == pytest.approx(1.0)
    assert loadings.shape == (3, 3) and proj.shape == (len(z), 2)
    assert np.allclose(proj["PC1"].var(ddof=1), eig[0])


def test_quantile_segments_and_match_clusters():
    v = pd.Series([5.0, 1.0, 3.0, 3.0, 2.0, 4.0])
    assert sg.quantile_segments(v, 3).tolist() == [2, 0, 1, 1, 0, 2]  # two rows each; tied 3s by position
    with pytest.raises(ValueError, match="k must be between"):
        sg.quantile_segments(v, 7)
    truth = np.array(["x", "x", "y", "y", "z", "z"])
    assert sg.match_clusters([2, 2, 0, 0, 1, 0], truth) == {0: "y", 1: "z", 2: "x"}


def test_personas_name_the_distinguishing_feature():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"frequency": rng.normal(1, 0.1, 300), "age": rng.normal(40, 3, 300)})
    labels = np.repeat([0, 1, 2], 100)
    f.loc[labels == 1, "frequency"] += 2  # cluster 1: frequent buyers
    f.loc[labels == 2, "age"] -= 15  # cluster 2: young
    profile, top = sg.profile_clusters(f, labels, top=1)
    assert top.set_index("cluster").loc[1, "feature"] == "frequency"
    assert top.set_index("cluster").loc[2, ["feature", "direction"]].tolist() == ["age", "low"]
    expected = 100 * f["frequency"][labels == 1].mean() / f["frequency"].mean()
    assert profile.loc[1, "frequency"] == round(expected) and profile["size"].sum() == 300
    names = sg.propose_labels(top)
    assert names[1] == "frequent buyers" and names[2] == "young"


def test_mixed_inputs_errors_name_the_fix(small_world):
    with pytest.raises(ValueError, match=r"no column\(s\) \['shoe_size'\]; pass categorical="):
        sg.mixed_inputs(small_world, categorical=["shoe_size"])
    with pytest.raises(ValueError, match=r"unknown feature\(s\) \['spend'\]"):
        sg.mixed_inputs(small_world, left_out=["spend"])
    x = sg.mixed_inputs(small_world)
    assert list(x.columns[-len(sg.CRM_COLUMNS) :]) == list(sg.CRM_COLUMNS)
    assert not set(sg.LEFT_OUT) & set(x.columns) and x["share_home"].isna().any()


def _as_known_on(world, as_of, rng=None) -> World:
    """The world as a team saw it on ``as_of``: later sign-ups, orders and events gone (or, with ``rng``,
    replaced by scrambled ones that keep the tables' shapes)."""
    as_of = pd.Timestamp(as_of)
    tx, ev, cust = world.transactions, world.events, world.customers
    if rng is None:
        return World(
            {
                **world.tables,
                "customers": cust[cust["signup_date"] < as_of],
                "transactions": tx[tx["order_date"] < as_of],
                "events": ev[ev["timestamp"] < as_of],
            }
        )
    later_tx = tx["order_date"] >= as_of
    tx = tx.copy()
    tx.loc[later_tx, "customer_id"] = rng.permutation(tx.loc[later_tx, "customer_id"].to_numpy())
    tx.loc[later_tx, "quantity"] = rng.integers(1, 9, int(later_tx.sum()))
    later_ev = ev["timestamp"] >= as_of
    ev = ev.copy()
    ev.loc[later_ev, "event_type"] = rng.permutation(ev.loc[later_ev, "event_type"].to_numpy())
    cust = cust.copy()
    late = cust["signup_date"] >= as_of
    cust.loc[late, "age"] = rng.integers(18, 90, int(late.sum()))
    return World({**world.tables, "customers": cust, "transactions": tx, "events": ev})


def test_personas_as_of_see_nothing_after_the_decision_date(small_world):
    as_of = "2025-01-01"
    seg, model = sg.personas(small_world, as_of=as_of, k=4, random_state=0)
    cust = small_world.customers
    assert seg.index.equals(pd.Index(cust.loc[cust["signup_date"] < as_of, "customer_id"]))
    assert seg["persona"].notna().all() and seg["cluster"].nunique() == model.n_clusters_ == 4
    # the same personas whether the later history is gone or scrambled: nothing after as_of enters
    for variant in (_as_known_on(small_world, as_of), _as_known_on(small_world, as_of, np.random.default_rng(5))):
        again, _ = sg.personas(variant, as_of=as_of, k=4, random_state=0)
        pd.testing.assert_frame_equal(again, seg)
    # the test has teeth: personas built on the whole history (lesson 01's) do see the later history
    whole, _ = sg.personas(small_world, k=4, random_state=0)
    scrambled, _ = sg.personas(_as_known_on(small_world, as_of, np.random.default_rng(5)), k=4, random_state=0)
    assert adjusted_rand_score(whole["cluster"].loc[seg.index], scrambled["cluster"].loc[seg.index]) < 0.99


def test_personas_are_lesson_01s_steps_in_one_call(small_world):
    # personas computes the features once; the same steps spelled out with the public functions agree exactly
    as_of = pd.Timestamp("2025-01-01")
    seg, model = sg.personas(small_world, as_of=as_of, k="auto", random_state=3)
    cust = small_world.customers
    known = World({**small_world.tables, "customers": cust[cust["signup_date"] < as_of]})
    inputs = sg.mixed_inputs(known, as_of=as_of)
    again = sg.TwoStepClustering(n_clusters="auto", categorical=sg.CRM_COLUMNS, random_state=3).fit(inputs)
    assert np.array_equal(again.labels_, seg["cluster"].to_numpy()) and seg.index.equals(inputs.index)
    _, top = sg.profile_clusters(sg.customer_features(known, as_of=as_of), again.labels_, top=3)
    assert seg["persona"].to_dict() == dict(
        zip(inputs.index, pd.Series(again.labels_).map(sg.propose_labels(top)), strict=True)
    )
    # undefined features: missing for two-step, the population value for the profile
    assert inputs.isna().any().any() and not sg.customer_features(known, as_of=as_of).isna().any().any()


def test_personas_refuse_what_cannot_be_known(small_world):
    with pytest.raises(ValueError, match="no customer had signed up before 1990-01-01"):
        sg.personas(small_world, as_of="1990-01-01")
    no_signup = World({**small_world.tables, "customers": small_world.customers.drop(columns=["signup_date"])})
    with pytest.raises(ValueError, match="needs the customers table's signup_date"):
        sg.personas(no_signup, as_of="2025-01-01")


# ---- against the planted truth (issue 3's targets)


def _segments(world) -> np.ndarray:
    lat = world.truth.customers.set_index("customer_id")
    return lat.loc[world.customers["customer_id"], "segment_name"].to_numpy()


@pytest.fixture(scope="module")
def course_two_step(course_world):
    return sg.TwoStepClustering(categorical=list(sg.CRM_COLUMNS)).fit(sg.mixed_inputs(course_world))


def test_course_world_segments_are_recovered(course_world, course_two_step):
    truth = _segments(course_world)
    assert course_two_step.n_clusters_ == course_world.truth["n_segments"] == 5
    assert adjusted_rand_score(truth, course_two_step.labels_) >= 0.9
    features = sg.customer_features(course_world)
    x = sg.scale_features(features.drop(columns=list(sg.LEFT_OUT)))
    km = KMeans(5, n_init=10, random_state=42).fit(x)
    ari_kmeans = adjusted_rand_score(truth, km.labels_)
    baseline = adjusted_rand_score(truth, sg.quantile_segments(features["frequency"], 5))
    assert 0.8 < ari_kmeans < adjusted_rand_score(truth, course_two_step.labels_)
    assert baseline < 0.5


def test_course_world_personas_name_the_planted_defining_feature(course_world, course_two_step):
    _, top = sg.profile_clusters(sg.customer_features(course_world), course_two_step.labels_, top=3)
    match = sg.match_clusters(course_two_step.labels_, _segments(course_world))
    defining = {s["name"]: (s["defining_feature"], s["defining_direction"]) for s in course_world.truth["segments"]}
    for cluster, segment in match.items():
        mine = top[top["cluster"] == cluster]
        assert defining[segment] in list(zip(mine["feature"], mine["direction"], strict=True)), (segment, mine)


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "k"), [(7, 4), (11, 6)])
def test_auto_k_finds_other_planted_numbers_of_segments(seed, k):
    world = generate_world(seed=seed, n_segments=k)
    ts = sg.TwoStepClustering(categorical=list(sg.CRM_COLUMNS)).fit(sg.mixed_inputs(world))
    assert ts.n_clusters_ == k
    assert adjusted_rand_score(_segments(world), ts.labels_) > 0.85
