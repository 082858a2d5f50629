"""abtest: assignment and SRM, tests against independent computations, Bayesian closed form = PyMC, decisions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from helpers import abtest as ab


# ---- assignment -------------------------------------------------------------------------------------------------
def test_assignment_is_balanced_within_strata_and_reproducible():
    units = np.arange(1000, 2003)
    strata = np.where(units % 7 == 0, "north", np.where(units % 3 == 0, "south", "east"))
    v = ab.assign(units, ["A", "B", "C"], strata=strata, seed=5)
    table = pd.crosstab(strata, v.to_numpy())
    assert (table.max(axis=1) - table.min(axis=1) <= 1).all()  # equal within one unit in every stratum
    assert v.equals(ab.assign(units, ["A", "B", "C"], strata=strata, seed=5))
    assert not v.equals(ab.assign(units, ["A", "B", "C"], strata=strata, seed=6))
    # random, not round-robin by id: consecutive ids are not in a fixed A, B, C cycle
    assert (v.to_numpy()[:-1] == v.to_numpy()[1:]).any()
    ab.check_srm(v.value_counts())


def test_assignment_bad_input():
    with pytest.raises(ValueError, match="at least two variants"):
        ab.assign([1, 2, 3], ["A"])
    with pytest.raises(ValueError, match="appear more than once"):
        ab.assign([1, 1, 2], 2)
    with pytest.raises(ValueError, match="distinct"):
        ab.assign([1, 2], ["A", "A"])


def test_sample_ratio_mismatch_is_refused():
    assert ab.check_srm([5000, 5050]) > 0.001
    with pytest.raises(ab.SampleRatioMismatch, match=r"A: 5000 \(expected 5250\), B: 5500 \(expected 5250\)"):
        ab.check_srm(pd.Series({"A": 5000, "B": 5500}))
    assert ab.check_srm([3000, 1000], shares=[3, 1]) > 0.5  # a designed 75/25 split is fine


# ---- counts -----------------------------------------------------------------------------------------------------
def test_counts_and_bad_counts():
    sends = pd.DataFrame({"variant": ["A", "A", "B", "B", "B"], "opened": [1, 0, 1, 1, 0]})
    c = ab.counts(sends, "opened")
    assert c.index.tolist() == ["A", "B"]
    # a categorical column that met B first still sorts A first (A is the control)
    cat = ab.counts(sends.assign(variant=pd.Categorical(sends["variant"], categories=["B", "A"])), "opened")
    assert cat.index.tolist() == ["A", "B"] and cat.equals(c)
    assert c.loc["A", "n"] == 2 and c.loc["B", "successes"] == 2 and c.loc["B", "rate"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no column 'clicked'"):
        ab.counts(sends, "clicked")
    with pytest.raises(ValueError, match="must be 0/1"):
        ab.counts(sends.assign(opened=[1, 2, 0, 0, 1]), "opened")
    with pytest.raises(ValueError, match=r"variant\(s\) \[1\] have no recipients"):
        ab.compare_proportions([10, 0], [100, 0])
    with pytest.raises(ValueError, match="more conversions than sends"):
        ab.compare_proportions([10, 120], [100, 100])
    with pytest.raises(ValueError, match="at least 2 variants"):
        ab.compare_proportions([10], [100])


def test_revenue_per_recipient_by_hand():
    sends = pd.DataFrame(
        {"customer_id": [1, 2, 3], "sent_at": pd.to_datetime(["2025-01-10 08:00"] * 3)}, index=[10, 11, 12]
    )
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2],
            "quantity": [1, 2, 1, 1],
            "unit_price": [10.0, 5.0, 7.0, 3.0],
            "order_date": pd.to_datetime(
                ["2025-01-10 09:00", "2025-01-16 23:00", "2025-01-17 08:00", "2025-01-10 07:59"]
            ),
        }
    )
    # customer 1: 10 + 2 x 5 inside the 7 days, the third order is exactly at the end (excluded); 2 ordered before
    assert ab.revenue_per_recipient(sends, tx).to_dict() == {10: 20.0, 11: 0.0, 12: 0.0}


# ---- frequentist ------------------------------------------------------------------------------------------------
def test_two_proportions_agree_with_statsmodels_and_chi_square():
    from statsmodels.stats.proportion import proportions_ztest

    r = ab.compare_proportions([120, 150], [1000, 1100], names=["A", "B"])
    z, p = proportions_ztest([150, 120], [1100, 1000])
    assert r.loc["B", "z"] == pytest.approx(z) and r.loc["B", "p_value"] == pytest.approx(p)
    # with two variants the chi-square test is the square of the pooled z-test
    assert r.attrs["chi2_p"] == pytest.approx(p)
    pa, pb = 0.12, 150 / 1100
    se = np.sqrt(pa * (1 - pa) / 1000 + pb * (1 - pb) / 1100)
    assert r.loc["B", "ci_low"] == pytest.approx(pb - pa - 1.959964 * se, abs=1e-6)


def test_holm_correction_by_hand():
    r = ab.compare_proportions([100, 130, 125, 101], [1000] * 4)
    p = r["p_value"].iloc[1:].to_numpy()
    order = np.argsort(p)
    holm = np.maximum.accumulate(np.minimum(1, p[order] * (3 - np.arange(3))))
    expected = np.empty(3)
    expected[order] = holm
    assert r["p_adjusted"].iloc[1:].to_numpy() == pytest.approx(expected)


def test_welch_by_hand_and_bootstrap():
    rng = np.random.default_rng(0)
    a, b = rng.gamma(2.0, 10.0, 400), rng.gamma(2.0, 12.0, 300)
    w = ab.welch(a, b)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (b.mean() - a.mean()) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    assert w["t"] == pytest.approx(t) and w["p_value"] == pytest.approx(2 * stats.t.sf(abs(t), df))
    assert w["ci_high"] - w["diff"] == pytest.approx(stats.t.ppf(0.975, df) * np.sqrt(va + vb))
    boot = ab.bootstrap_diff(a, b, seed=1)
    assert boot["ci_low"] < boot["diff"] < boot["ci_high"]
    assert abs(boot["ci_low"] - w["ci_low"]) < 0.25 * (w["ci_high"] - w["ci_low"])  # close to the t interval


@pytest.mark.parametrize("n_resamples", [2000, 999])
def test_bootstrap_diff_is_scipys_bca_in_bounded_memory(n_resamples):
    """The BCa interval of scipy.stats.bootstrap, from the same resamples (drawn a block of rows at a time) and
    the jackknife's closed form for a mean, whatever the block: scipy's jackknife is O(n²) in time and its
    resamples O(n x resamples) in memory (7 GiB in lesson 04 at 100 k customers)."""
    from helpers import abtest

    rng = np.random.default_rng(8)
    for trial in range(6):
        na, nb = rng.integers(3, 2500, 2)
        a = rng.lognormal(0, 1.5, na) * (rng.random(na) < 0.2)  # revenue per recipient: mostly zeros
        b = rng.lognormal(0.2, 1.5, nb) * (rng.random(nb) < 0.25)
        if a.std() == 0 or b.std() == 0:
            continue
        ref = stats.bootstrap(
            (b, a),
            lambda x, y, axis=-1: x.mean(axis=axis) - y.mean(axis=axis),
            vectorized=True,
            n_resamples=n_resamples,
            confidence_level=0.9,
            method="BCa",
            rng=np.random.default_rng(trial),
        ).confidence_interval
        mine = ab.bootstrap_diff(a, b, alpha=0.1, n_resamples=n_resamples, seed=trial)
        assert mine["ci_low"] == pytest.approx(ref.low, rel=1e-11, abs=1e-13)
        assert mine["ci_high"] == pytest.approx(ref.high, rel=1e-11, abs=1e-13)
        small_blocks = abtest._resample_means.__defaults__
        try:
            abtest._resample_means.__defaults__ = (int(na) + 1,)  # blocks of one or two rows
            assert ab.bootstrap_diff(a, b, alpha=0.1, n_resamples=n_resamples, seed=trial) == mine
        finally:
            abtest._resample_means.__defaults__ = small_blocks
    with pytest.raises(ValueError, match="group a needs at least two values"):
        ab.bootstrap_diff([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="group b holds 1 missing"):
        ab.bootstrap_diff([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(ValueError, match="cannot be computed"):
        ab.bootstrap_diff([1.0, 1.0, 1.0], [2.0, 2.0])


def test_sample_size_gives_the_power_it_promises():
    n = ab.sample_size(0.10, 0.20)  # 10 % -> 12 %
    assert ab.power(0.10, 0.12, n) == pytest.approx(0.8, abs=0.005)
    rng = np.random.default_rng(3)
    sa, sb = rng.binomial(n, 0.10, 4000), rng.binomial(n, 0.12, 4000)
    pooled = (sa + sb) / (2 * n)
    z = (sb - sa) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    assert (np.abs(z) > 1.959964).mean() == pytest.approx(0.8, abs=0.025)  # simulated power
    assert ab.sample_size(0.10, 0.20, n_variants=3) > n  # Bonferroni for two challengers
    with pytest.raises(ValueError, match="lift != 0"):
        ab.sample_size(0.1, 0.0)


def test_peeking_inflates_false_positives():
    sim = ab.peeking_simulation(0.1, 5000, looks=10, n_experiments=4000, seed=2)
    assert (sim["single look"] - 0.05).abs().max() < 0.015  # nominal alpha at any single look
    assert sim["peeking"].iloc[-1] > 0.15 and sim["peeking"].is_monotonic_increasing


def test_minimum_detectable_lift_is_the_inverse_of_sample_size():
    for p, n in ((0.131, 3101), (0.02, 50_000), (0.5, 400)):
        lift = ab.minimum_detectable_lift(p, n)
        assert ab.sample_size(p, lift) in (n, n + 1)  # sample_size rounds up
        assert ab.power(p, p * (1 + lift), n) == pytest.approx(0.8, abs=1e-5)
    assert ab.minimum_detectable_lift(0.131, 3101, power=0.9) > ab.minimum_detectable_lift(0.131, 3101)
    assert ab.minimum_detectable_lift(0.95, 10) == float("inf")  # no rate up to 100 % is detected reliably
    with pytest.raises(ValueError, match="0 < p_base < 1"):
        ab.minimum_detectable_lift(1.2, 1000)


# Jennison and Turnbull (2000), Group Sequential Methods, tables 2.1 and 2.3: two-sided alpha = 0.05, K looks
POCOCK = {1: 1.960, 2: 2.178, 3: 2.289, 4: 2.361, 5: 2.413, 10: 2.555}
OBRIEN_FLEMING = {1: 1.960, 2: 1.977, 3: 2.004, 4: 2.024, 5: 2.040, 10: 2.087}  # the bound at the last look


@pytest.mark.parametrize("kind, table", [("pocock", POCOCK), ("obrien-fleming", OBRIEN_FLEMING)])
def test_sequential_bounds_reproduce_the_published_tables(kind, table):
    for looks, value in table.items():
        bounds = ab.sequential_bounds(looks, kind=kind)
        assert bounds[-1] == pytest.approx(value, abs=6e-4)
        assert len(bounds) == looks
    of = ab.sequential_bounds(5)
    assert of == pytest.approx(of[-1] * np.sqrt(5 / np.arange(1, 6)))  # c / sqrt(k / K)


def test_sequential_bounds_keep_the_false_positive_rate_by_simulation():
    # independent of the integration: Brownian paths with no effect, read at 8 looks
    rng = np.random.default_rng(11)
    z = rng.standard_normal((200_000, 8)).cumsum(axis=1) / np.sqrt(np.arange(1, 9))
    se = np.sqrt(0.05 * 0.95 / 200_000)
    for kind in ("pocock", "obrien-fleming"):
        crossed = (np.abs(z) >= ab.sequential_bounds(8, kind=kind)).any(axis=1).mean()
        assert abs(crossed - 0.05) < 4 * se
    assert (np.abs(z) >= 1.959964).any(axis=1).mean() > 0.15  # a fixed 1.96 at every look does not
    # on binomial A/A tests, as in the lesson: peeking with the bounds stays near alpha
    sim = ab.peeking_simulation(0.1, 5000, looks=10, n_experiments=4000, seed=2, bounds=ab.sequential_bounds(10))
    assert sim["peeking"].iloc[-1] == pytest.approx(0.05, abs=0.012)


def test_sequential_bounds_bad_input():
    with pytest.raises(ValueError, match="kind must be"):
        ab.sequential_bounds(5, kind="haybittle")
    with pytest.raises(ValueError, match="whole number"):
        ab.sequential_bounds(0)
    with pytest.raises(ValueError, match="alpha"):
        ab.sequential_bounds(5, alpha=1.5)
    with pytest.raises(ValueError, match="odd number"):
        ab.sequential_bounds(5, points=200)
    with pytest.raises(ValueError, match="one critical value per look"):
        ab.peeking_simulation(0.1, 1000, looks=4, bounds=[2.0, 2.0])


# ---- Bayesian -----------------------------------------------------------------------------------------------------
def test_prior_from_history_recovers_the_spread_of_true_rates():
    rng = np.random.default_rng(4)
    true = rng.beta(20, 80, 400)
    n = rng.integers(2000, 6000, 400)
    a, b = ab.beta_prior_from_rates(rng.binomial(n, true) / n, n=n)
    assert a / (a + b) == pytest.approx(0.2, abs=0.005) and a + b == pytest.approx(100, rel=0.25)
    assert sum(ab.beta_prior_from_rates([0.2, 0.2, 0.2])) == pytest.approx(
        1000.0
    )  # identical past rates: capped strength
    with pytest.raises(ValueError, match="at least two"):
        ab.beta_prior_from_rates([0.2])


def _miller(a_a, b_a, a_b, b_b) -> float:
    """Evan Miller's closed form of P(p_B > p_A) for integer a_b (an independent computation)."""
    i = np.arange(a_b)
    return float(
        np.sum(
            np.exp(
                special.betaln(a_a + i, b_a + b_b)
                - np.log(b_b + i)
                - special.betaln(1 + i, b_b)
                - special.betaln(a_a, b_a)
            )
        )
    )


@pytest.mark.parametrize("params", [(13, 90, 20, 85), (120, 880, 151, 850), (2, 3, 1, 1)])
def test_prob_b_beats_a_matches_the_closed_form(params):
    assert ab.prob_b_beats_a(*params) == pytest.approx(_miller(*params), abs=1e-7)


def test_pymc_posterior_agrees_with_the_conjugate_one():
    s, n, prior = [118, 151], [1000, 1020], (4.0, 30.0)
    a, b = ab.posterior(s, n, prior)
    draws = ab.pymc_ab(s, n, prior=prior, names=["A", "B"], seed=7)
    mean, sd = a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    mc_error = sd / np.sqrt(len(draws) / 2)  # NUTS: an effective sample of at least half the draws
    assert np.all(np.abs(draws.mean().to_numpy() - mean) < 4 * mc_error)
    assert draws.std().to_numpy() == pytest.approx(sd, rel=0.08)
    exact = ab.prob_b_beats_a(a[0], b[0], a[1], b[1])
    assert abs((draws["B"] > draws["A"]).mean() - exact) < 0.01
    summary = ab.bayes_summary(draws)
    mcse = summary.loc["B", "p_beats_first_mcse"]
    assert 0.002 < mcse < 0.02 and abs(summary.loc["B", "p_beats_first"] - exact) < 4 * mcse
    iid = ab.bayes_summary(np.random.default_rng(0).beta(a, b, size=(10_000, 2)))  # independent draws
    p = iid["p_beats_first"].iloc[1]
    assert iid["p_beats_first_mcse"].iloc[1] == pytest.approx(np.sqrt(p * (1 - p) / 10_000))
    again = ab.pymc_ab(s, n, prior=prior, names=["A", "B"], seed=7)
    pd.testing.assert_frame_equal(draws, again)  # seeded: identical draws


def test_hierarchical_model_finds_a_winner_that_differs_by_group():
    rng = np.random.default_rng(8)
    base = {"north": -1.0, "south": -1.5, "east": -0.8}
    effect = {"north": 0.3, "south": -0.3, "east": 0.3}
    rows = []
    for g in base:
        for v, e in (("A", 0.0), ("B", effect[g])):
            p = 1 / (1 + np.exp(-(base[g] + e)))
            rows.append({"group": g, "variant": v, "n": 6000, "successes": int(rng.binomial(6000, p))})
    out = ab.pymc_by_group(pd.DataFrame(rows), seed=3)
    p = out["p_beats_control"].xs("B", level="variant")
    assert p["north"] > 0.95 and p["east"] > 0.95 and p["south"] < 0.05
    assert out.attrs["sigma_mean"] > 0.1  # the model sees that the effect varies between groups
    # the count is never printed (it differs between CPUs); only whether there is any
    for count, word in ((0, "none"), (1, "some"), (7, "some")):
        out.attrs["divergences"] = count
        assert ab.divergence_note(out).split(":")[0] == word
    with pytest.raises(ValueError, match="needs columns"):
        ab.pymc_by_group(pd.DataFrame(rows).drop(columns="group"))


def test_exact_summary_against_closed_forms_and_independent_draws():
    a, b = np.array([148.0, 163.0, 184.0]), np.array([1326.0, 1397.0, 1299.0])
    exact = ab.exact_summary(a, b, names=["A", "B", "C"])
    assert exact["p_best"].sum() == pytest.approx(1.0, abs=1e-8)
    assert exact["mean"].tolist() == pytest.approx((a / (a + b)).tolist())
    assert exact.loc["C", "p_beats_first"] == pytest.approx(ab.prob_b_beats_a(a[0], b[0], a[2], b[2]))
    two = ab.exact_summary(a[:2], b[:2])
    assert two["p_best"].iloc[1] == pytest.approx(two["p_beats_first"].iloc[1], abs=1e-8)  # two variants: the same
    # E[1/p] of a Beta(a, b) is (a + b - 1) / (a - 1): the lift of B over A in closed form
    assert two["lift_vs_first"].iloc[1] == pytest.approx(a[1] / (a[1] + b[1]) * (a[0] + b[0] - 1) / (a[0] - 1) - 1)
    draws = pd.DataFrame(np.random.default_rng(3).beta(a, b, size=(100_000, 3)), columns=["A", "B", "C"])
    gap = ab.mc_check(ab.bayes_summary(draws), exact, ab.mc_errors(draws))
    assert list(gap.columns) == list(exact.columns) and (gap.to_numpy() < 4).all()
    # the check can fail: a wrong "exact" answer (B's mean off by 0.002) lies many errors away
    wrong = exact.assign(mean=exact["mean"] + [0.0, 0.002, 0.0])
    assert ab.mc_check(ab.bayes_summary(draws), wrong, ab.mc_errors(draws)).loc["B", "mean"] > 10
    with pytest.raises(ValueError, match="positive Beta"):
        ab.exact_summary([1.0, 0.0], [1.0, 1.0])


def _by_group_counts(seed=8, n=800):
    rng = np.random.default_rng(seed)
    base = {"north": -1.0, "south": -1.5, "east": -0.8, "west": -2.5}
    effect = {"north": 0.3, "south": -0.3, "east": 0.3, "west": 0.0}
    return pd.DataFrame(
        [
            {"group": g, "variant": v, "n": n, "successes": int(rng.binomial(n, 1 / (1 + np.exp(-(base[g] + e)))))}
            for g in base
            for v, e in (("A", 0.0), ("B", effect[g]))
        ]
    )


def test_hierarchical_posterior_by_integration_agrees_with_pymc_within_its_monte_carlo_error():
    table = _by_group_counts()
    exact = ab.by_group_exact(table)
    assert list(exact.columns) == ["lift", "eti_3%", "eti_97%", "p_beats_control"]
    assert (exact["eti_3%"] < exact["lift"]).all() and (exact["lift"] < exact["eti_97%"]).all()
    finer = ab.by_group_exact(table, points=145)  # the grid is fine enough: a finer one changes nothing printed
    assert (exact - finer).abs().to_numpy().max() < 3e-4
    assert abs(exact.attrs["sigma_mean"] - finer.attrs["sigma_mean"]) < 1e-4
    for seed in (1, 2):  # two independent runs of NUTS, as on two computers
        sampled = ab.pymc_by_group(table, seed=seed)
        assert (ab.mc_check(sampled, exact).to_numpy() < ab.MC_TOLERANCE).all()
        sigma_gap = abs(sampled.attrs["sigma_mean"] - exact.attrs["sigma_mean"]) / sampled.attrs["sigma_mean_mcse"]
        assert sigma_gap < ab.MC_TOLERANCE
    # a weaker prior on the spread between groups (sigma_sd) is a different model: the check sees it
    other = ab.by_group_exact(table, sigma_sd=0.03)
    assert (ab.mc_check(sampled, other).to_numpy() > ab.MC_TOLERANCE).any()
    with pytest.raises(ValueError, match="two variants"):
        ab.by_group_exact(pd.concat([table, table.assign(variant="C")]))


def test_decision_rule_waits_then_decides():
    assert ab.decide([10, 12], [100, 100], threshold=0.001)["winner"] is None  # too little data
    d = ab.decide([1000, 1300], [10000, 10000], threshold=0.001)
    assert d["winner"] == 1 and d["p_best"] > 0.99 and d["expected_loss"] < 1e-4


def _lift_prior(spread=0.12, k=12, seed=4):
    """A lift prior from ``k`` past tests of 4,000 recipients a variant whose true log-odds lifts have sd ``spread``."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, d in enumerate(rng.normal(0, spread, k)):
        pa = 0.12
        pb = 1 / (1 + np.exp(-(np.log(pa / (1 - pa)) + d)))
        sa, sb = rng.binomial(4000, pa), rng.binomial(4000, pb)
        la, lb = np.log((sa + 0.5) / (4000.5 - sa)), np.log((sb + 0.5) / (4000.5 - sb))
        se = np.sqrt(1 / (sa + 0.5) + 1 / (4000.5 - sa) + 1 / (sb + 0.5) + 1 / (4000.5 - sb))
        rows.append(dict(campaign_id=f"E{i}", lift=lb - la, se=se))
    return ab.LiftPrior(pd.DataFrame(rows))


def test_past_lifts_use_only_earlier_message_tests_and_the_first_variant_as_base():
    experiments = pd.DataFrame(
        {
            "campaign_id": ["E1", "E2", "E3"],
            "date": ["2025-01-10", "2025-03-01", "2025-06-01"],
            "kind": ["subject", "send_time", "subject"],
            "variants": ["A|B", "h08|h12", "A|B"],
        }
    )
    sends = pd.DataFrame(
        {
            "campaign_id": ["E1"] * 200 + ["E2"] * 100 + ["E3"] * 100,
            "variant": ["A"] * 100 + ["B"] * 100 + ["h08"] * 50 + ["h12"] * 50 + ["A"] * 50 + ["B"] * 50,
            "opened": [1] * 10 + [0] * 90 + [1] * 20 + [0] * 80 + [0] * 100 + [1] * 100,
        }
    )
    got = ab.past_lifts(experiments, sends, "opened", before="2025-06-01")
    assert got["campaign_id"].tolist() == ["E1"]  # E2 tests hours, E3 is not before the test it would inform
    by_hand = np.log(20.5 / 80.5) - np.log(10.5 / 90.5)
    assert got.loc[0, "lift"] == pytest.approx(by_hand)
    assert got.loc[0, "se"] == pytest.approx(np.sqrt(1 / 20.5 + 1 / 80.5 + 1 / 10.5 + 1 / 90.5))
    with pytest.raises(ValueError, match="at least one past comparison"):
        ab.LiftPrior(got.iloc[:0])


def test_lift_prior_density_is_the_mixture_of_normals():
    """logpdf is log(sum_k w_k N(d; 0, tau_k)): scipy's normal densities and log-sum-exp agree with it (it is
    written out, a block at a time, because the expected-loss rule calls it on 121 lifts x 1000 tests a look)."""
    prior = _lift_prior(0.12)
    d = np.random.default_rng(2).normal(0, 0.5, (37, 1, 121)) * np.r_[1, 10, 100][np.arange(37) % 3][:, None, None]
    ref = special.logsumexp(
        stats.norm.logpdf(d[..., None], 0.0, prior.tau) + np.log(np.maximum(prior.weights, 1e-300)), axis=-1
    )
    got = prior.logpdf(d)
    assert got.shape == d.shape
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    assert np.exp(prior.logpdf(np.linspace(-3, 3, 6001))).sum() * 0.001 == pytest.approx(1, abs=1e-6)  # a density
    assert prior.logpdf(np.array([np.inf, -np.inf])).tolist() == [-np.inf, -np.inf]
    assert np.ndim(prior.logpdf(0.1)) == 0


def test_lift_prior_recovers_the_spread_of_past_lifts():
    assert 0.06 < _lift_prior(0.12).sd < 0.2
    assert _lift_prior(0.02).sd < 0.1 < _lift_prior(0.5).sd


def test_lift_expected_loss_agrees_with_importance_sampling():
    """The grid posterior against an independent estimate: draws from a wide normal proposal, weighted."""
    lift, level = _lift_prior(0.12), (1.5, 10.0)
    sa, na, sb, nb = 130, 1000, 152, 1000
    grid = ab.lift_expected_loss(sa, na, sb, nb, level, lift)[0]
    rng = np.random.default_rng(0)
    n = 400_000
    mu = rng.normal(np.log(130.5 / 870.5), 0.2, n)
    d = rng.normal(0.0, 0.4, n)
    from scipy import special, stats

    logw = (
        level[0] * special.log_expit(mu)
        + level[1] * special.log_expit(-mu)
        + lift.logpdf(d)
        + sa * special.log_expit(mu)
        + (na - sa) * special.log_expit(-mu)
        + sb * special.log_expit(mu + d)
        + (nb - sb) * special.log_expit(-(mu + d))
        - stats.norm.logpdf(mu, np.log(130.5 / 870.5), 0.2)
        - stats.norm.logpdf(d, 0, 0.4)
    )
    w = np.exp(logw - logw.max())
    diff = special.expit(mu + d) - special.expit(mu)
    sampled = [np.sum(w * np.maximum(diff, 0)) / w.sum(), np.sum(w * np.maximum(-diff, 0)) / w.sum()]
    assert grid == pytest.approx(sampled, rel=0.03)


def test_expected_loss_rule_keeps_its_promise_on_a_realistic_answer_key():
    """Lifts drawn from past experiments (log-odds sd ~0.12), not two independent rates from the between-campaign
    prior (which makes variants differ by ten points and lets any rule look right 98 % of the time)."""
    lift, level = _lift_prior(0.12), (1.5, 10.0)
    sim = ab.bayes_decision_simulation(
        level, lift, batch=500, max_batches=40, threshold=0.001, n_experiments=400, seed=11
    )
    decided = sim[sim["decided"]]
    assert len(decided) > 0.9 * len(sim)
    # the promise: the loss accepted, averaged over the key, is at most the threshold (and what the rule stated)
    assert decided["realised_loss"].mean() <= 0.001
    assert decided["realised_loss"].mean() == pytest.approx(decided["stated_loss"].mean(), abs=0.0003)
    # realistic lifts are small: the rule picks the better variant far less often than 98 %
    assert 0.6 < decided["better"].mean() < 0.9
    assert sim["true_lift"].std() == pytest.approx(lift.sd, rel=0.2)
    # A/A tests: the rule names a variant every time, and it costs nothing: that is not a false positive
    aa = ab.bayes_decision_simulation(level, lift, n_experiments=200, aa=True, seed=12)
    assert aa["decided"].mean() > 0.95 and (aa.loc[aa["decided"], "realised_loss"] == 0).all()
    with pytest.raises(ValueError, match="must be positive"):
        ab.bayes_decision_simulation(level, lift, threshold=0)


def test_pick_experiment_prefers_the_named_test_and_otherwise_says_which_it_reads():
    experiments = pd.DataFrame({"campaign_id": ["E1", "E2", "E3"], "variants": ["A|B", "A|B|C", "A|B"]})
    sends = pd.DataFrame({"campaign_id": ["E1"] * 3 + ["E2"] * 9 + ["E3"] * 5})
    assert ab.pick_experiment(experiments, sends, "E1") == ("E1", "as asked")
    chosen, why = ab.pick_experiment(experiments, sends, "X012")
    assert chosen == "E3" and "X012 is not in this data" in why  # E2 is bigger but has three variants
    assert ab.pick_experiment(experiments, sends, "X014", n_variants=None, exclude=["E3"])[0] == "E2"
    with pytest.raises(ValueError, match="experiments.csv: no experiment 'X012'"):
        ab.pick_experiment(experiments, sends, "X012", n_variants=4)


def test_a_variant_that_wins_every_draw_has_a_tiny_loss_not_an_exact_zero():
    """All of B's draws lose nothing, yet its exact expected loss is positive: the check uses a floor, not inf."""
    rng = np.random.default_rng(0)
    a_post, b_post = ab.posterior(np.array([1930, 2230]), np.array([15911, 15911]))
    draws = pd.DataFrame(
        np.column_stack([rng.beta(a_post[0], b_post[0], 4000), rng.beta(a_post[1], b_post[1], 4000)]),
        columns=["A", "B"],
    )
    assert (draws["B"] > draws["A"]).all()  # nine standard errors apart: B wins every draw
    errors = ab.mc_errors(draws)
    assert 0 < errors.loc["B", "expected_loss"] < 1e-6
    exact = ab.exact_summary(a_post, b_post, names=["A", "B"])
    assert 0 < exact.loc["B", "expected_loss"] < 1e-8
    z = ab.mc_check(ab.bayes_summary(draws), exact, errors)
    assert np.isfinite(z.to_numpy()).all() and (z < ab.MC_TOLERANCE).all().all()
    wrong = exact.assign(expected_loss=exact["expected_loss"] + [0.0, 1e-4])  # a formula off by 0.01 points
    assert ab.mc_check(ab.bayes_summary(draws), wrong, errors).loc["B", "expected_loss"] > ab.MC_TOLERANCE
