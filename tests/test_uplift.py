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
