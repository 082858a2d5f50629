"""uplift: Qini and uplift curves against a row-by-row computation, ties, a planted true uplift, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import uplift


def _by_hand(y, t, score):
    """Each curve after every customer, ranked one at a time (scores without ties): scikit-uplift's definitions
    (a group's term is 0 while the group is absent), looped."""
    qini, up = [0.0], [0.0]
    yt = nt = yc = nc = 0.0
    for i in np.argsort(-np.asarray(score)):
        if t[i]:
            nt, yt = nt + 1, yt + y[i]
        else:
            nc, yc = nc + 1, yc + y[i]
        qini.append(yt - (yc * nt / nc if nc else 0.0))
        up.append(((yt / nt if nt else 0.0) - (yc / nc if nc else 0.0)) * (nt + nc))
    return np.array(qini), np.array(up)


def _population(n: int, seed: int):
    """Customers with a planted uplift: propensity and uplift drawn apart, a tenth of them hurt by a message."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.02, 0.3, n)  # would buy anyway
    tau = rng.normal(0.04, 0.05, n)
    tau[rng.random(n) < 0.1] = -0.05  # sleeping dogs
    tau = np.clip(tau, -base, 1 - base)
    t = rng.random(n) < 0.5
    y = (rng.random(n) < base + t * tau).astype(int)
    return y, t.astype(int), base, tau


def test_curves_equal_the_definitions_customer_by_customer():
    rng = np.random.default_rng(0)
    y, t = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    score = rng.permutation(300).astype(float)
    qini, up = _by_hand(y, t, score)
    np.testing.assert_allclose(uplift.qini_curve(y, t, score)["qini"], qini, atol=1e-12)
    np.testing.assert_allclose(uplift.uplift_curve(y, t, score)["uplift"], up, atol=1e-12)
    n = np.arange(301)
    area = np.trapezoid(qini - qini[-1] * n / 300, n) / 300
    assert uplift.qini_coefficient(y, t, score) == pytest.approx(area, abs=1e-12)
    top = np.argsort(-score)[:60]
    assert uplift.uplift_at_k(y, t, score, 0.2) == pytest.approx(
        y[top][t[top] == 1].mean() - y[top][t[top] == 0].mean()
    )
    assert uplift.uplift_at_k(y, t, score, 1.0) == pytest.approx(y[t == 1].mean() - y[t == 0].mean())


def test_ties_are_taken_together_whatever_the_row_order():
    rng = np.random.default_rng(1)
    y, t = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    score = rng.integers(0, 8, 500).astype(float)  # eight levels: many ties
    order = rng.permutation(500)
    a = uplift.qini_curve(y, t, score)
    b = uplift.qini_curve(y[order], t[order], score[order])
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 9  # from 0, then once per distinct score
    for f in (uplift.qini_coefficient, uplift.auuc):
        assert f(y, t, score) == pytest.approx(f(y[order], t[order], score[order]), abs=1e-12)
    assert uplift.uplift_at_k(y, t, score, 0.3) == uplift.uplift_at_k(y[order], t[order], score[order], 0.3)


def test_true_uplift_ranks_best_propensity_and_random_do_not():
    y, t, base, tau = _population(200_000, seed=2)
    q = {name: uplift.qini_coefficient(y, t, s) for name, s in (("truth", tau), ("propensity", base))}
    rng = np.random.default_rng(3)
    random_q = [uplift.qini_coefficient(y, t, rng.random(len(y))) for _ in range(20)]
    # a random ranking: 0 on average, within its spread
    assert abs(np.mean(random_q)) < 3 * np.std(random_q) / np.sqrt(len(random_q)) + 1e-9
    assert q["truth"] > 10 * np.std(random_q)
    assert q["propensity"] < q["truth"] / 3  # buying anyway is not being moved by the message
    # the normalised coefficient: 1 for the best ranking of these outcomes, the truth below it
    best = np.where(t == 1, y, -y)
    assert uplift.qini_coefficient(y, t, best, normalize=True) == pytest.approx(1.0)
    assert 0 < uplift.qini_coefficient(y, t, tau, normalize=True) < 1
    assert 0 < uplift.auuc(y, t, tau, normalize=True) < 1
    # the top tenth by true uplift: its observed uplift is close to its mean true uplift
    top = np.argsort(-tau)[: len(tau) // 10]
    assert uplift.uplift_at_k(y, t, tau, 0.1) == pytest.approx(tau[top].mean(), abs=0.01)
    assert uplift.uplift_at_k(y, t, tau, 0.1) > uplift.uplift_at_k(y, t, tau, 1.0)


def test_bad_input_is_named():
    y, t, s = [1, 0, 1, 0], [1, 1, 0, 0], [0.4, 0.3, 0.2, 0.1]
    with pytest.raises(ValueError, match="every customer is treated: keep a randomised holdout"):
        uplift.qini_curve(y, [1, 1, 1, 1], s)
    with pytest.raises(ValueError, match="no one was treated"):
        uplift.qini_curve(y, [0, 0, 0, 0], s)
    with pytest.raises(ValueError, match="got lengths 4, 3, 4"):
        uplift.qini_curve(y, t[:3], s)
    with pytest.raises(ValueError, match=r"y must be 0 or 1 for every customer; rows \[1\]"):
        uplift.qini_curve([1, 2, 0, 0], t, s)
    with pytest.raises(ValueError, match=r"treatment must be 0 or 1 .* rows \[0, 1, 2\]"):
        uplift.qini_curve(y, ["a", "b", "c", "d"], s)
    with pytest.raises(ValueError, match=r"missing \(NaN\) for rows \[2\]"):
        uplift.qini_curve(y, t, [0.4, 0.3, np.nan, 0.1])
    with pytest.raises(ValueError, match="empty"):
        uplift.qini_curve([], [], [])
    with pytest.raises(ValueError, match="in \\(0, 1\\]"):
        uplift.uplift_at_k(y, t, s, 0)
    with pytest.raises(ValueError, match="holds no control customer: take a larger k"):
        uplift.uplift_at_k(y, t, s, 0.5)
    with pytest.raises(ValueError, match="no one converted"):
        uplift.auuc([0, 0, 0, 0], t, s, normalize=True)


def test_learners_recover_the_planted_uplift_of_several_treatments():
    X, y, arm, _, _ = uplift.planted_campaign(90_000, seed=0)
    Xt, yt, armt, tau, base = uplift.planted_campaign(90_000, seed=1)  # graded on customers they did not learn from
    ratios = {}
    for learner in (uplift.TLearner(), uplift.DRLearner()):
        u = learner.fit(X, y, arm).predict(Xt)
        assert learner.treatments_ == ["discount", "reminder"] and u.shape == (len(Xt), 2)
        for j, a in enumerate(learner.treatments_):
            m = (armt == a) | (armt == "control")
            treated = (armt[m] == a).astype(int)
            oracle = uplift.qini_coefficient(yt[m], treated, tau[a][m])
            ratios[type(learner).__name__, a] = uplift.qini_coefficient(yt[m], treated, u[m, j]) / oracle
            assert np.corrcoef(u[:, j], tau[a])[0, 1] > 0.5
            # propensity to buy anyway ranks far below the true uplift
            assert uplift.qini_coefficient(yt[m], treated, base[m]) / oracle < 0.3
        # the best treatment per customer, where the true uplifts differ by more than a point
        truth = uplift.best_treatment(np.column_stack([tau[a] for a in learner.treatments_]), learner.treatments_)
        got = uplift.best_treatment(u, learner.treatments_)
        clear = np.abs(tau["reminder"] - tau["discount"]) > 0.01
        assert (got["treatment"] == truth["treatment"])[clear].mean() > 0.75
    assert min(ratios.values()) > 0.5, ratios
    # the doubly robust learner does at least as well as two models on average
    dr = np.mean([v for (k, _), v in ratios.items() if k == "DRLearner"])
    t = np.mean([v for (k, _), v in ratios.items() if k == "TLearner"])
    assert dr > t - 0.02, ratios


def test_best_treatment_weighs_value_and_cost():
    u = np.array([[0.02, 0.05], [0.03, 0.01], [-0.01, -0.02], [0.01, 0.012]])
    got = uplift.best_treatment(u, ["reminder", "discount"], value=100.0, costs={"discount": 3.0})
    # gains: [2, 2], [3, -2], [-1, -5], [1, -1.8]: ties go to the first column; nothing pays for customer 3
    assert got["treatment"].tolist() == ["reminder", "reminder", "none", "reminder"]
    assert got["gain"].tolist() == pytest.approx([2.0, 3.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="one column per treatment"):
        uplift.best_treatment(u, ["reminder"])


def test_learners_bad_input_is_named():
    X, y, arm, _, _ = uplift.planted_campaign(2_000, seed=2)
    with pytest.raises(ValueError, match="no customer is in the control arm 'holdout'"):
        uplift.TLearner(control="holdout").fit(X, y, arm)
    with pytest.raises(ValueError, match="every customer is in the control arm"):
        uplift.TLearner().fit(X, y, np.full(len(y), "control"))
    with pytest.raises(ValueError, match="every customer of arm 'reminder' did not convert"):
        uplift.TLearner().fit(X, np.where(arm == "reminder", 0, y), arm)
    with pytest.raises(ValueError, match="y must be 0 or 1"):
        uplift.DRLearner().fit(X, y * 2, arm)
    with pytest.raises(ValueError, match=r"shares has no assignment probability for arm\(s\) \['reminder'\]"):
        uplift.DRLearner(shares={"control": 0.5, "discount": 0.25}).fit(X, y, arm)
    with pytest.raises(ValueError, match="n_folds must be an integer of at least 2"):
        uplift.DRLearner(n_folds=1).fit(X, y, arm)


@pytest.mark.parametrize("make", [uplift.TLearner, uplift.DRLearner])
def test_learners_keep_scikit_learns_contract(make):
    """What scikit-learn's checks ask of an estimator, on a campaign (their random matrices have no treatment)."""
    import pickle

    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    X, y, arm, _, _ = uplift.planted_campaign(6_000, seed=4)
    learner = make()
    with pytest.raises(NotFittedError):
        learner.predict(X)
    assert clone(learner).get_params() == learner.get_params()
    assert learner.fit(X, y, arm) is learner
    assert "models_" not in clone(learner).__dict__  # a clone is unfitted
    first = learner.predict(X[:500])
    again = make().fit(X, y, arm).predict(X[:500])
    assert np.array_equal(first, again)  # the same data and parameters: the same model
    assert np.array_equal(pickle.loads(pickle.dumps(learner)).predict(X[:500]), first)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    assert np.array_equal(make().fit(frame, pd.Series(y), pd.Series(arm)).predict(frame[:500]), first)


# ------------------------------------------------------------------------------------- grading and planning helpers
def test_true_qini_is_one_for_the_oracle_zero_for_a_tie_and_negative_reversed():
    _, _, _, tau = _population(3_000, 4)
    assert uplift.true_qini(tau, tau) == pytest.approx(1.0)
    assert uplift.true_qini(tau, np.zeros_like(tau)) == pytest.approx(0.0, abs=1e-12)
    assert uplift.true_qini(tau, -tau) < -0.5
    # by hand on four customers: gains after 1..4 treated customers (0.1, 0.1, 0.3, 0.2), random line k * 0.2 / 4
    t = np.array([0.1, 0.0, 0.2, -0.1])
    s = np.array([4.0, 3.0, 2.0, 1.0])
    g, line = np.array([0, 0.1, 0.1, 0.3, 0.2]), np.arange(5) * 0.2 / 4
    assert uplift.true_qini(t, s, normalize=False) == pytest.approx(np.trapezoid(g - line) / 4)
    # ties taken together: the row order of tied customers does not matter
    s2 = np.round(tau * 20) / 20
    perm = np.random.default_rng(1).permutation(len(tau))
    assert uplift.true_qini(tau, s2) == pytest.approx(uplift.true_qini(tau[perm], s2[perm]))
    with pytest.raises(ValueError, match="same true uplift"):
        uplift.true_qini(np.zeros(5), np.arange(5.0))
    with pytest.raises(ValueError, match="NaN"):
        uplift.true_qini(tau, np.full_like(tau, np.nan))


def test_cross_predict_gives_every_customer_a_prediction_from_a_model_that_never_saw_them():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    X, y, arm, _, _ = uplift.planted_campaign(3_000, seed=5)
    learner = uplift.TLearner(estimator=LogisticRegression())
    got = uplift.cross_predict(learner, X, y, arm, n_folds=3, random_state=2)
    strata = pd.factorize(pd.Series(arm).astype(str) + "|" + pd.Series(y).astype(str))[0]
    expected = np.zeros_like(got)
    for train, test in StratifiedKFold(3, shuffle=True, random_state=2).split(X, strata):
        expected[test] = (
            uplift.TLearner(estimator=LogisticRegression()).fit(X[train], y[train], arm[train]).predict(X[test])
        )
    np.testing.assert_array_equal(got, expected)
    probs = uplift.cross_predict(learner, X, y, arm, n_folds=3, random_state=2, method="predict_proba_arms")
    np.testing.assert_allclose(probs[:, 1:] - probs[:, [0]], got)
    with pytest.raises(ValueError, match="n_folds"):
        uplift.cross_predict(learner, X, y, arm, n_folds=1)


def test_propensity_scores_rank_buyers_not_the_moved():
    """Buying anyway rises with one feature, the message's effect with another: the response model finds buyers."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(6)
    n = 20_000
    X = rng.random((n, 2))
    base = 0.05 + 0.5 * X[:, 0]
    tau = np.where(X[:, 1] > 0.5, 0.04, -0.02)
    arm = np.where(rng.random(n) < 0.5, "reminder", "control").astype(object)
    y = (rng.random(n) < base + (arm == "reminder") * tau).astype(int)
    prop = uplift.cross_response(LogisticRegression(), X, y, arm)[:, 0]
    learned = uplift.cross_predict(uplift.TLearner(estimator=LogisticRegression()), X, y, arm)[:, 0]
    assert np.corrcoef(prop, base)[0, 1] > 0.8
    assert uplift.true_qini(tau, prop) < 0.3 < 0.7 < uplift.true_qini(tau, learned)


def test_best_arm_agreement_counts_only_clear_choices():
    true = np.array([[0.05, 0.0], [0.0, 0.03], [-0.02, -0.03], [0.011, 0.01]])
    pred = np.array([[0.02, 0.01], [0.02, 0.01], [0.01, -0.01], [0.0, 1.0]])
    # clear: rows 0 (arm 1), 1 (arm 2), 2 (none); row 3's best beats the second by 0.001 only
    assert uplift.best_arm_agreement(pred, true, min_gap=0.01) == (pytest.approx(1 / 3), 3)
    with pytest.raises(ValueError, match="same shape"):
        uplift.best_arm_agreement(pred[:, :1], true)


def _brute_force(gain, cost, budget):
    """The best plan by enumeration: every customer none or one treatment."""
    import itertools

    n, k = gain.shape
    best = (0.0, None)
    for choice in itertools.product(range(k + 1), repeat=n):
        c = sum(cost[i, a - 1] for i, a in enumerate(choice) if a)
        g = sum(gain[i, a - 1] for i, a in enumerate(choice) if a)
        if c <= budget + 1e-12 and g > best[0]:
            best = (g, choice)
    return best[0]


def test_budget_plan_fits_the_budget_and_is_optimal_for_what_it_spends():
    rng = np.random.default_rng(7)
    for _ in range(20):
        gain = rng.normal(0.5, 1.0, (6, 2))
        cost = rng.uniform(0.2, 1.5, (6, 2))
        budget = rng.uniform(0.3, 4.0)
        plan = uplift.plan_budget(gain, cost, budget, ["a", "b"])
        assert plan["cost"].sum() <= budget + 1e-9
        # a Lagrangian plan is the best of all plans that spend no more than it does
        assert plan["gain"].sum() == pytest.approx(_brute_force(gain, cost, plan["cost"].sum()))
    # an unlimited budget gives everyone their best positive treatment
    gain = rng.normal(0.0, 1.0, (50, 3))
    plan = uplift.plan_budget(gain, 1.0, 1e9, ["a", "b", "c"])
    want = np.where(gain.max(1) > 0, np.array(["a", "b", "c"], dtype=object)[gain.argmax(1)], "none")
    assert plan["treatment"].tolist() == want.tolist()


def test_budget_plan_bad_input_is_named():
    gain = np.ones((3, 2))
    with pytest.raises(ValueError, match="smaller than the cheapest message"):
        uplift.plan_budget(gain, 0.5, 0.1, ["a", "b"])
    with pytest.raises(ValueError, match="cost > 0"):
        uplift.plan_budget(gain, 0.0, 10.0, ["a", "b"])
    with pytest.raises(ValueError, match="NaN"):
        uplift.plan_budget(np.full((3, 2), np.nan), 1.0, 10.0, ["a", "b"])
    with pytest.raises(ValueError, match="one column per treatment"):
        uplift.plan_budget(gain, 1.0, 10.0, ["a"])


def test_plan_value_is_unbiased_and_its_interval_covers():
    """A fixed plan's value estimated on many randomised campaigns: centred on the truth, 95 % intervals cover ~95 %."""
    n, hits, errors = 4_000, 0, []
    arms = np.array(["control", "reminder", "discount"], dtype=object)
    shares = {a: 1 / 3 for a in arms}
    for seed in range(300):
        rng = np.random.default_rng(seed)
        X = np.random.default_rng(0).random((n, 5))  # the same customers every time
        base = 0.04 + 0.12 * X[:, 0]
        tau = {"reminder": np.where(X[:, 3] > 0.8, -0.02, 0.035 * (X[:, 1] > 0.5)), "discount": 0.07 * X[:, 2] - 0.01}
        plan = np.where(X[:, 2] > 0.5, "discount", np.where(X[:, 1] > 0.5, "reminder", "none"))
        truth = sum(np.where(plan == a, t, 0.0) for a, t in tau.items()).sum()
        a = arms[rng.integers(0, 3, n)]
        y = rng.random(n) < base + sum(np.where(a == k, t, 0.0) for k, t in tau.items())
        est, se = uplift.plan_value(plan, a, y.astype(float), shares)
        errors.append((est - truth) / se)
        hits += abs(est - truth) < 1.96 * se
    assert abs(np.mean(errors)) < 0.2
    assert 0.92 <= hits / 300 <= 0.98


def test_plan_value_bad_input_is_named():
    arm = np.array(["control", "a", "a", "control"], dtype=object)
    shares = {"control": 0.5, "a": 0.5}
    with pytest.raises(ValueError, match="never sent"):
        uplift.plan_value(np.array(["b", "none", "a", "a"]), arm, np.ones(4), shares)
    with pytest.raises(ValueError, match="no customer is in the control arm"):
        uplift.plan_value(np.array(["a"] * 4), np.array(["a"] * 4), np.ones(4), shares)
    with pytest.raises(ValueError, match="shares has no"):
        uplift.plan_value(np.array(["a"] * 4), arm, np.ones(4), {"a": 0.5})


def test_answer_key_and_features_of_the_planted_test(small_world):
    s = small_world.tables["campaign_sends"]
    key = uplift.planted_uplift(small_world.truth, s["customer_id"])
    assert list(key.columns) == [f"p_{a}" for a in small_world.truth["uplift_test"]["arms"]]
    assert key.index.tolist() == s["customer_id"].tolist()
    with pytest.raises(ValueError, match="not in the planted test"):
        uplift.planted_uplift(small_world.truth, [1])
    with pytest.raises(ValueError, match="no planted uplift_test"):
        uplift.planted_uplift(None, s["customer_id"])
    as_of = s["sent_at"].min()
    f = uplift.uplift_features(small_world, as_of, n_personas=4)
    personas = [f"persona_{k}" for k in range(1, 5)]
    assert list(f.columns) == [*personas, "log_orders", "log_inactive_days"]
    assert (f[personas].sum(axis=1) == 1).all() and f.notna().all().all()
    # only the history before the decision time counts
    cut = pd.Timestamp("2025-06-01")
    w2 = type(small_world)(
        tables={**small_world.tables, "transactions": small_world.transactions.loc[lambda t: t["order_date"] < cut]},
        truth=small_world.truth,
    )
    orders = small_world.transactions.loc[lambda t: t["order_date"] < cut].groupby("customer_id")["order_id"].nunique()
    got = np.expm1(uplift.uplift_features(w2, cut, n_personas=4)["log_orders"])
    np.testing.assert_allclose(got.loc[orders.index], orders.to_numpy())
    with pytest.raises(ValueError, match="n_personas"):
        uplift.uplift_features(small_world, as_of, n_personas=0)
    assert f.attrs["left_out"] == []
    # a team's events without opens or clicks: the open and click rates are the same for all, and left out
    ev = small_world.events
    quiet = type(small_world)(
        tables={**small_world.tables, "events": ev[~ev["event_type"].isin(["email_open", "email_click"])]},
        truth=small_world.truth,
    )
    g = uplift.uplift_features(quiet, as_of, n_personas=4)
    assert set(g.attrs["left_out"]) == {"email_open_rate", "email_click_rate"}
    assert (g.filter(like="persona_").sum(axis=1) == 1).all()


def test_check_sends_names_what_is_wrong(small_world):
    from helpers.io import SchemaError

    s = small_world.tables["campaign_sends"].reset_index(drop=True)
    arms = ["control", "discount", "nbo", "reminder"]
    assert uplift.check_sends(s, arms, window_days=7) == ["discount", "nbo", "reminder"]
    with pytest.raises(SchemaError, match=r"campaign_sends.csv.*arm.*not among the declared arms.*line 2"):
        uplift.check_sends(s.assign(arm=np.where(s.index == 0, "sms", s["arm"])), arms)
    with pytest.raises(SchemaError, match=r"declared arm\(s\) \['push'\] have no customers"):
        uplift.check_sends(s, [*arms, "push"])
    with pytest.raises(SchemaError, match="no customer is in the control arm 'control'"):
        uplift.check_sends(s[s["arm"] != "control"])
    late = s.copy()
    row = int(np.flatnonzero(late["converted"])[0])
    late.loc[row, "converted_at"] = late.loc[row, "sent_at"] + pd.Timedelta(days=9)
    with pytest.raises(SchemaError, match=rf"converted_at.*outside the 7-day window.*line {row + 2}"):
        uplift.check_sends(late, arms, window_days=7)
    with pytest.raises(SchemaError, match="no rows"):
        uplift.check_sends(s.iloc[:0])


def test_arm_summary_agrees_with_a_hand_count():
    arm = np.array(["control"] * 400 + ["a"] * 600, dtype=object)
    y = np.r_[np.ones(40), np.zeros(360), np.ones(90), np.zeros(510)]
    t = uplift.arm_summary(y, arm, revenue=y * 10.0)
    assert t.index.tolist() == ["control", "a"] and t["customers"].tolist() == [400, 600]
    assert t.loc["a", "uplift"] == pytest.approx(0.15 - 0.10)
    se = np.sqrt(0.15 * 0.85 / 600 + 0.1 * 0.9 / 400)
    assert t.loc["a", "uplift_high_95%"] - t.loc["a", "uplift"] == pytest.approx(1.959964 * se, rel=1e-6)
    assert t.loc["a", "revenue_per_customer"] == pytest.approx(1.5)
    with pytest.raises(ValueError, match="control arm"):
        uplift.arm_summary(y, np.full(1000, "a", dtype=object))


def test_send_list_prices_each_treatment_by_hand():
    uplift_ = np.array([[0.05, 0.02], [-0.01, 0.00], [0.01, 0.03]])
    p = np.array([[0.20, 0.10], [0.30, 0.31], [0.05, 0.08]])
    value = np.array([100.0, 50.0, 200.0])
    plan, budget, gain, spend = uplift.send_list(
        uplift_,
        p,
        value,
        ["discount", "reminder"],
        gross_margin=0.4,
        discounts={"discount": 0.1},
        message_cost=0.01,
        budget=100.0,
    )
    # discount: 0.4 * 100 * 0.05 - 0.1 * 100 * 0.20 - 0.01 = 2 - 2 - 0.01; reminder: 0.4 * 100 * 0.02 - 0.01
    assert gain[0].tolist() == pytest.approx([-0.01, 0.79])
    assert spend[0].tolist() == pytest.approx([2.01, 0.01])
    assert plan["treatment"].tolist() == ["reminder", "none", "reminder"] and budget == 100.0
    assert plan["incremental_buyers"].tolist() == pytest.approx([0.02, 0.0, 0.03])
    # "auto": half of what the list would spend without a budget
    _, auto, _, _ = uplift.send_list(
        uplift_, p, value, ["discount", "reminder"], gross_margin=0.4, discounts={"discount": 0.1}, message_cost=0.01
    )
    assert auto == pytest.approx(0.5 * 0.02)
    for kwargs, match in (
        (dict(gross_margin=1.5), "gross_margin"),
        (dict(message_cost=0.0), "message_cost"),
        (dict(discounts={"discount": 1.2}), "discounts"),
        (dict(budget="all"), "budget must be"),
    ):
        args = {**dict(gross_margin=0.4, discounts={}, message_cost=0.01), **kwargs}
        with pytest.raises(ValueError, match=match):
            uplift.send_list(uplift_, p, value, ["discount", "reminder"], **args)


def test_profit_outcome_and_plan_total_by_hand():
    profit = uplift.profit_outcome(
        [90.0, 100.0, 0.0],
        ["discount", "control", "reminder"],
        gross_margin=0.35,
        discounts={"discount": 0.1},
        message_cost=0.004,
    )
    # list value 100 at 10 % off: 90 paid, 65 of goods; full price: 100 paid, 65 of goods
    assert profit.tolist() == pytest.approx([25 - 0.004, 35.0, -0.004])
    gain = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert uplift.plan_total(np.array(["b", "none", "a"], dtype=object), gain, ["a", "b"]) == 7.0


def test_replays_of_the_planted_test_follow_its_truth(small_world):
    s = small_world.tables["campaign_sends"]
    key = uplift.planted_uplift(small_world.truth, s["customer_id"])
    rates, n = {}, 0
    for seed in range(20):
        r = uplift.replay_test(small_world.truth, s["customer_id"], seed)
        assert r["customer_id"].tolist() == s["customer_id"].tolist()
        assert ((r["revenue"] > 0) == r["converted"]).all()
        for arm, rows in r.groupby("arm"):
            got, want = rates.get(arm, (0.0, 0.0))
            rates[arm] = (got + rows["converted"].sum(), want + key.loc[rows["customer_id"], f"p_{arm}"].sum())
        n += len(r)
    for arm, (got, want) in rates.items():
        assert abs(got - want) < 4 * np.sqrt(want), arm
    assert uplift.replay_test(small_world.truth, s["customer_id"], 3).equals(
        uplift.replay_test(small_world.truth, s["customer_id"], 3)
    )
    # the oracle's gains are the planted formula
    gain, spend = uplift.true_gains(small_world.truth, s["customer_id"], ["discount", "nbo"], message_cost=0.004)
    test = small_world.truth["uplift_test"]
    seg = small_world.truth.customers.set_index("customer_id").loc[s["customer_id"], "segment_name"]
    v = seg.map(test["order_value"]).to_numpy()
    want = 0.35 * v * (key["p_discount"] - key["p_control"]) - 0.1 * v * key["p_discount"] - 0.004
    np.testing.assert_allclose(gain[:, 0], want)
    np.testing.assert_allclose(spend[:, 1], 0.004)


def test_one_campaign_of_a_longer_log_keeps_the_file_lines(small_world):
    from helpers.io import SchemaError

    s = small_world.tables["campaign_sends"].reset_index(drop=True)
    earlier = s.assign(campaign_id="T000", sent_at=s["sent_at"] - pd.Timedelta(days=30))
    log = pd.concat([earlier, s], ignore_index=True)  # as load_world reads it: the index is the file's row order
    got, campaign = uplift.one_campaign(log)
    assert campaign == "T001" and got.index.tolist() == list(range(len(s), 2 * len(s)))
    assert uplift.one_campaign(log, "T000")[0].index.tolist() == list(range(len(s)))
    with pytest.raises(SchemaError, match="no campaign 'T999' in the log"):
        uplift.one_campaign(log, "T999")
    bad = got.copy()
    bad.loc[bad.index[2], "arm"] = "sms"
    # the third row of the second campaign is line len(s) + 2 + 2 of the file (header = line 1)
    with pytest.raises(SchemaError, match=rf"not among the declared arms.*line {len(s) + 4}"):
        uplift.check_sends(bad, ["control", "discount", "nbo", "reminder"])
