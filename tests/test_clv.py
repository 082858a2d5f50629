"""clv.BetaGeo: the published CDNOW fit, agreement with lifetimes and with numerical integration, recovery of a
simulated population, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from helpers import clv


def _cdnow() -> pd.DataFrame:
    # lifetimes.datasets imports pkg_resources, absent from the pinned environment: read the shipped file by path
    lifetimes = pytest.importorskip("lifetimes")
    return pd.read_csv(Path(lifetimes.__file__).parent / "datasets" / "cdnow_customers_summary.csv", index_col="ID")


@pytest.fixture(scope="module")
def cdnow_fit():
    s = _cdnow()
    return s, clv.BetaGeo().fit(s)


def test_cdnow_bgnbd_published_parameters(cdnow_fit):
    # Fader, Hardie and Lee (2005), 2,357 CDNOW customers, 39-week calibration in weeks
    _, m = cdnow_fit
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for k, v in published.items():
        assert m.params_[k] == pytest.approx(v, rel=0.01), k
    assert m.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)  # the paper's maximised log-likelihood


def test_gradient_is_the_likelihood_s_and_the_fit_reaches_one_maximum(cdnow_fit):
    from scipy import optimize

    s, m = cdnow_fit
    rows, weight = np.unique(s[["frequency", "recency", "T"]].to_numpy(float), axis=0, return_counts=True)
    args = (rows[:, 0], rows[:, 1] / 30.0, rows[:, 2] / 30.0, weight.astype(float))
    for point in ([0.1, -0.5, 0.3, 0.8], [-1.0, 1.0, -0.2, 1.5], [0.0, 0.0, 0.0, 0.0]):
        numeric = optimize.approx_fprime(np.array(point), lambda p: clv._loglik(p, *args), 1e-6)
        assert clv._gradient(np.array(point), *args) == pytest.approx(numeric, rel=1e-4, abs=1e-3)
    # at the fitted maximum the gradient vanishes, and Newton's steps land there from elsewhere too: the same
    # parameters whatever the start, which is what makes the fit the same on every machine
    scale = float(np.median(rows[:, 2]))
    args = (rows[:, 0], rows[:, 1] / scale, rows[:, 2] / scale, weight.astype(float))
    fitted = np.log(m.params_[["r", "alpha", "a", "b"]].to_numpy() / np.array([1, scale, 1, 1]))
    assert np.abs(clv._gradient(fitted, *args)).max() < 1e-6
    for nudge in ([1e-3, -1e-3, 2e-3, -2e-3], [-5e-3, 4e-3, 1e-3, 3e-3]):
        assert clv._polish(fitted + np.array(nudge), args) == pytest.approx(fitted, abs=1e-10)


def test_cdnow_agrees_with_lifetimes(cdnow_fit):
    from lifetimes import BetaGeoFitter

    s, m = cdnow_fit
    peer = BetaGeoFitter()
    peer.params_ = m.params_.copy()
    np.testing.assert_allclose(
        m.p_alive(s), peer.conditional_probability_alive(s["frequency"], s["recency"], s["T"]), rtol=1e-10
    )
    for t in (1.0, 10.0, 39.0):
        theirs = peer.conditional_expected_number_of_purchases_up_to_time(t, s["frequency"], s["recency"], s["T"])
        np.testing.assert_allclose(m.expected_purchases(s, t), theirs, rtol=1e-9)
    # and the fit itself: the peer's own optimiser lands on the same parameters
    fitted = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    np.testing.assert_allclose(m.params_[["r", "alpha", "a", "b"]], fitted.params_[["r", "alpha", "a", "b"]], rtol=1e-4)


def test_p_no_purchase_equals_numerical_integration(cdnow_fit):
    # P(no purchase in t | x, t_x, T) = 1 - P(alive and >= 1 purchase in t | history), integrated over the
    # posterior of (lambda, p): prior Gamma(r, alpha) x Beta(a, b), likelihood
    # (1-p)^x lambda^x e^{-lambda T} (alive) + [x > 0] p (1-p)^(x-1) lambda^x e^{-lambda t_x} (left at the last buy)
    _, m = cdnow_fit
    r, alpha, a, b = m.params_[["r", "alpha", "a", "b"]]
    hist = pd.DataFrame({"frequency": [0.0, 2.0, 7.0], "recency": [0.0, 30.4, 20.0], "T": [38.9, 38.9, 35.0]})
    t = 10.0
    ours = m.p_no_purchase(hist, t)

    def over_lam(x, stop):
        f = lambda lam: stats.gamma.pdf(lam, r, scale=1 / alpha) * lam**x * np.exp(-lam * stop)  # noqa: E731
        return integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-9, limit=200)[0]

    def over_p(f):
        return integrate.quad(lambda p: stats.beta.pdf(p, a, b) * f(p), 0, 1, epsabs=0, epsrel=1e-9, limit=200)[0]

    for i, (x, tx, big_t) in hist.iterrows():
        # lambda and p are independent a priori and each term factorises: four one-dimensional integrals
        stays = over_p(lambda p, x=x: (1 - p) ** x)
        alive, alive_quiet = stays * over_lam(x, big_t), stays * over_lam(x, big_t + t)
        left = over_p(lambda p, x=x: p * (1 - p) ** (x - 1)) * over_lam(x, tx) if x > 0 else 0.0
        assert ours[i] == pytest.approx(1 - (alive - alive_quiet) / (alive + left), rel=1e-7)


def _simulate(n: int, r: float, alpha: float, a: float, b: float, big_t: float, horizon: float, seed: int):
    """BG/NBD customers from their first purchase: purchases at rate lambda, after each one leave with prob. p."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x, tx, later = np.zeros(n), np.zeros(n), np.zeros(n, bool)
    for i in range(n):
        now, alive = 0.0, True  # dropout can follow a repeat purchase only (FHL 2005)
        while alive:
            now += rng.exponential(1 / lam[i])
            if now >= big_t + horizon:
                break
            if now < big_t:
                x[i] += 1
                tx[i] = now
            else:
                later[i] = True
                break
            alive = rng.random() >= p[i]
    return pd.DataFrame({"frequency": x, "recency": tx, "T": big_t}), later


def test_recovers_a_simulated_population_and_its_outcome():
    truth = {"r": 0.8, "alpha": 20.0, "a": 1.2, "b": 4.0}
    s, later = _simulate(20_000, **truth, big_t=365.0, horizon=90.0, seed=7)
    m = clv.BetaGeo().fit(s)
    for k, v in truth.items():
        assert m.params_[k] == pytest.approx(v, rel=0.2), k
    p0 = m.p_no_purchase(s, 90.0)
    # calibrated: within deciles of the score, the share without a purchase matches the prediction
    deciles = pd.qcut(p0.rank(method="first"), 10, labels=False)
    observed = pd.Series(~later, index=s.index).groupby(deciles).mean()
    predicted = p0.groupby(deciles).mean()
    assert np.abs(observed - predicted).max() < 0.03
    # a wrong model (everyone equally likely to stay quiet) cannot pass the same check
    assert np.abs(observed - (~later).mean()).max() > 0.1


def test_fast_on_repeated_histories():
    s = pd.DataFrame(
        {"frequency": [0.0, 1.0, 3.0] * 50_000, "recency": [0.0, 5.0, 20.0] * 50_000, "T": [30.0, 30.0, 30.0] * 50_000}
    )
    m = clv.BetaGeo().fit(s)
    assert m.n_customers_ == 150_000 and np.isfinite(m.log_likelihood_)


def test_bad_input():
    good = pd.DataFrame({"frequency": [0.0, 2.0], "recency": [0.0, 10.0], "T": [20.0, 30.0]}, index=[11, 12])
    with pytest.raises(ValueError, match="lacks column.*T"):
        clv.BetaGeo().fit(good.drop(columns="T"))
    with pytest.raises(ValueError, match="empty"):
        clv.BetaGeo().fit(good.iloc[:0])
    with pytest.raises(ValueError, match=r"recency > T.*\[12\]"):
        clv.BetaGeo().fit(good.assign(recency=[0.0, 40.0]))
    with pytest.raises(ValueError, match="negative"):
        clv.BetaGeo().fit(good.assign(T=[-1.0, 30.0]))
    with pytest.raises(ValueError, match="fractional frequency"):
        clv.BetaGeo().fit(good.assign(frequency=[0.0, 1.5]))
    with pytest.raises(TypeError, match="numeric"):
        clv.BetaGeo().fit(good.assign(T=["20", "30"]))
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        clv.BetaGeo().fit(good.assign(frequency=0.0, recency=0.0))
    with pytest.raises(ValueError, match="missing"):
        clv.BetaGeo().fit(good.assign(T=[np.nan, 30.0]))
    m = clv.BetaGeo().fit(pd.concat([good] * 20, ignore_index=True))
    for t in (0, -5, np.nan):
        with pytest.raises(ValueError, match="positive"):
            m.p_no_purchase(good, t)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        clv.BetaGeo().p_alive(good)
