"""compare: paired differences agree with the normal theory, cover the truth, and refuse unpaired input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import compare


def test_paired_interval_matches_the_normal_theory_and_is_narrower_than_unpaired():
    rng = np.random.default_rng(3)
    n = 4000
    easy = rng.random(n) < 0.5  # a buyer easy for one method is easy for the other: the results correlate
    a = pd.Series((easy | (rng.random(n) < 0.10)).astype(int))
    b = pd.Series((easy & (rng.random(n) < 0.95)).astype(int))
    r = compare.paired_difference(a, b)
    d = (a - b).to_numpy(float)
    se = d.std(ddof=1) / np.sqrt(n)
    assert r["difference"] == pytest.approx(d.mean())
    assert r["low"] == pytest.approx(d.mean() - 1.96 * se, abs=0.25 * se)
    assert r["high"] == pytest.approx(d.mean() + 1.96 * se, abs=0.25 * se)
    unpaired_se = np.sqrt(a.var() / n + b.var() / n)
    assert (r["high"] - r["low"]) < 0.6 * 2 * 1.96 * unpaired_se


def test_paired_interval_covers_the_true_difference():
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(200):
        u = rng.random(300)
        a = pd.Series((u < 0.55).astype(int))  # true difference: P(u < 0.55) - P(u < 0.5) = 0.05
        b = pd.Series((u < 0.50).astype(int))
        r = compare.paired_difference(a, b, n_resamples=999, random_state=int(rng.integers(1 << 30)))
        covered += r["low"] <= 0.05 <= r["high"]
    assert 0.90 <= covered / 200 <= 0.99


def test_paired_difference_refuses_unpaired_or_incomplete_input():
    a = pd.Series([1, 0, 1], index=[1, 2, 3])
    with pytest.raises(ValueError, match=r"1 unit\(s\) only in a, 0 only in b"):
        compare.paired_difference(a, pd.Series([1, 0], index=[1, 2]))
    with pytest.raises(ValueError, match="repeated unit ids"):
        compare.paired_difference(pd.Series([1, 0], index=[1, 1]), pd.Series([1, 0], index=[1, 2]))
    with pytest.raises(ValueError, match="missing value"):
        compare.paired_difference(pd.Series([1, np.nan]), pd.Series([1, 0]))
    with pytest.raises(ValueError, match="level"):
        compare.paired_difference(a, a, level=95)
    same = compare.paired_difference(a, a)
    assert (same["difference"], same["low"], same["high"]) == (0.0, 0.0, 0.0)


def test_difference_table_names_each_pair():
    v = {"A": pd.Series([1, 1, 0, 1] * 25), "B": pd.Series([1, 0, 0, 1] * 25), "C": pd.Series([0, 0, 0, 1] * 25)}
    t = compare.difference_table(v, [("A", "B"), ("B", "C")])
    assert t.loc[("A", "B"), "A - B"] == pytest.approx(0.25) and t.loc[("B", "C"), "A - B"] == pytest.approx(0.25)
    assert (t["low"] <= t["A - B"]).all() and (t["A - B"] <= t["high"]).all() and (t["units"] == 100).all()


def test_paired_metric_difference_agrees_with_the_paired_mean_where_both_apply():
    # accuracy is a mean over units: the metric form and the mean form must say the same
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 3, 3000)
    a = np.where(rng.random(3000) < 0.8, truth, rng.integers(0, 3, 3000))
    b = np.where(rng.random(3000) < 0.7, truth, rng.integers(0, 3, 3000))
    r = compare.paired_metric_difference(lambda t, x: float(np.mean(t == x)), truth, a, b, n_resamples=2000)
    m = compare.paired_difference(
        pd.Series((a == truth).astype(int)), pd.Series((b == truth).astype(int)), method="percentile"
    )
    assert r["difference"] == pytest.approx(m["difference"], abs=1e-12)
    assert r["a"] == pytest.approx(np.mean(a == truth)) and r["n"] == 3000
    assert r["low"] == pytest.approx(m["low"], abs=0.004) and r["high"] == pytest.approx(m["high"], abs=0.004)
    # the same seed, the same interval
    assert r == compare.paired_metric_difference(lambda t, x: float(np.mean(t == x)), truth, a, b, n_resamples=2000)


def test_paired_metric_difference_on_a_segmentation_and_bad_input():
    from sklearn.metrics import adjusted_rand_score

    truth = np.repeat(["u", "v", "w"], 200)
    one_off, many_off = truth.copy(), truth.copy()
    one_off[:10], many_off[::4] = "v", "u"
    r = compare.paired_metric_difference(adjusted_rand_score, truth, one_off, many_off)
    assert r["low"] > 0 and r["low"] <= r["difference"] <= r["high"]
    # names are coded jointly before resampling: the same figures as with integer labels, exactly
    code = {"u": 0, "v": 1, "w": 2}
    as_ints = [np.vectorize(code.get)(x) for x in (truth, one_off, many_off)]
    assert r == compare.paired_metric_difference(adjusted_rand_score, *as_ints)
    # and equality between the three is kept: a name in truth never matches a number in a
    accuracy = compare.paired_metric_difference(lambda t, x: float(np.mean(t == x)), truth, np.zeros(600, int), one_off)
    assert accuracy["a"] == 0.0 and accuracy["b"] == pytest.approx(590 / 600)
    with pytest.raises(ValueError, match="same units"):
        compare.paired_metric_difference(adjusted_rand_score, truth, one_off[:-1], many_off)
    with pytest.raises(ValueError, match="missing"):
        compare.paired_metric_difference(adjusted_rand_score, truth, np.r_[one_off[:-1], None], many_off)
    with pytest.raises(ValueError, match="level"):
        compare.paired_metric_difference(adjusted_rand_score, truth, one_off, many_off, level=95)


@pytest.mark.parametrize("method", ["BCa", "percentile", "basic"])
def test_paired_difference_agrees_with_scipy_bootstrap(method):
    from scipy import stats

    rng = np.random.default_rng(8)
    a = pd.Series(rng.exponential(1.0, 400))  # skewed, where BCa and percentile differ
    b = pd.Series(a * 0.8 + rng.exponential(0.3, 400))
    ours = compare.paired_difference(a, b, n_resamples=20_000, method=method)
    ref = stats.bootstrap(
        (a.to_numpy(), b.to_numpy()),
        lambda u, v, axis=-1: u.mean(axis=axis) - v.mean(axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=20_000,
        method=method,
        rng=np.random.default_rng(0),
    )
    # the same resamples from the same seed, the same formulas: the same interval, to rounding
    assert ours["low"] == pytest.approx(ref.confidence_interval.low, abs=1e-12)
    assert ours["high"] == pytest.approx(ref.confidence_interval.high, abs=1e-12)
    with pytest.raises(ValueError, match="method must be"):
        compare.paired_difference(a, b, method="studentized")


@pytest.mark.parametrize("method", ["BCa", "percentile", "basic"])
def test_many_units_of_few_values_are_resampled_as_counts_with_the_same_interval(monkeypatch, method):
    """Above MULTINOMIAL_UNITS, hits (differences in {-1, 0, 1}) are resampled as multinomial counts: the same
    bootstrap distribution, so the same interval up to Monte Carlo error; continuous differences (too many distinct
    values) keep the unit-by-unit draw exactly; below the threshold nothing changes."""
    rng = np.random.default_rng(12)
    a = pd.Series((rng.random(6_000) < 0.55).astype(float))
    b = pd.Series((rng.random(6_000) < 0.50).astype(float))
    by_unit = compare.paired_difference(a, b, n_resamples=20_000, method=method)
    monkeypatch.setattr(compare, "MULTINOMIAL_UNITS", 1_000)
    by_count = compare.paired_difference(a, b, n_resamples=20_000, method=method)
    width = by_unit["high"] - by_unit["low"]
    assert by_count["low"] == pytest.approx(by_unit["low"], abs=0.03 * width)
    assert by_count["high"] == pytest.approx(by_unit["high"], abs=0.03 * width)
    d = (a - b).to_numpy()
    means = compare._resample_means(d, 20_000, np.random.default_rng(0))
    unit_means = d[np.random.default_rng(0).integers(0, len(d), (2_000, len(d)))].mean(axis=1)
    assert not np.isin(means[:2_000], unit_means).all()  # drawn as counts, not as the units' draw ...
    assert means.mean() == pytest.approx(d.mean(), abs=4 * d.std() / np.sqrt(len(d) * 20_000))  # ... unbiased
    assert means.std() == pytest.approx(d.std() / np.sqrt(len(d)), rel=0.03)  # with the bootstrap's spread
    x = pd.Series(rng.normal(size=6_000))
    y = pd.Series(rng.normal(size=6_000))
    continuous = compare.paired_difference(x, y, n_resamples=500, method=method)
    monkeypatch.setattr(compare, "MULTINOMIAL_UNITS", 10**9)
    assert continuous == compare.paired_difference(x, y, n_resamples=500, method=method)


def test_paired_difference_is_scale_equivariant_on_discrete_data():
    # 0/1 values: many resamples tie the observed difference exactly; a BCa that lets the last bit decide those
    # ties (as scipy's does) gives a different interval per unit for the same data in other units (x 3, x 0.7).
    # Ties count half here, so the interval scales with the data.
    for seed in range(6):
        rng = np.random.default_rng(seed)
        a = pd.Series((rng.random(300) < 0.6).astype(float))
        b = pd.Series((rng.random(300) < 0.5).astype(float))
        base = compare.paired_difference(a, b)
        for k in (3.0, 0.7):
            scaled = compare.paired_difference(a * k, b * k)
            assert scaled["low"] / k == pytest.approx(base["low"], abs=1e-12)
            assert scaled["high"] / k == pytest.approx(base["high"], abs=1e-12)


def test_paired_difference_memory_grows_with_units_not_their_square():
    import tracemalloc

    rng = np.random.default_rng(2)
    n = 100_000  # a generic jackknife would hold n x n values: 80 GB
    a, b = pd.Series(rng.random(n)), pd.Series(rng.random(n))
    tracemalloc.start()
    r = compare.paired_difference(a, b, n_resamples=200)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 150e6 and r["low"] < r["difference"] < r["high"]


def test_adjusted_rand_score_from_the_resampled_table_is_scikit_learns_figure():
    """The fast path for the ARI gives, resample for resample, the float scikit-learn's function gives."""
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(3)
    truth = rng.integers(0, 5, 3000)
    a = np.where(rng.random(3000) < 0.8, truth, rng.integers(0, 6, 3000))
    b = np.where(rng.random(3000) < 0.6, truth, rng.integers(0, 3, 3000))
    names = np.array(["loyal", "bargain", "tech", "window", "lapsing"])[truth]
    fast = compare.paired_metric_difference(adjusted_rand_score, names, a, b, n_resamples=300, random_state=5)
    generic = compare.paired_metric_difference(
        lambda x, y: adjusted_rand_score(x, y), names, a, b, n_resamples=300, random_state=5
    )
    assert fast == generic
    assert fast["low"] > 0  # a agrees with the truth more often than b
    same = compare.paired_metric_difference(adjusted_rand_score, truth, truth, truth, n_resamples=50)
    assert (same["low"], same["high"], same["a"]) == (0.0, 0.0, 1.0)
