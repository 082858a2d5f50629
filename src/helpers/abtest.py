"""A/B tests of messages: assignment, frequentist tests, and Bayesian decisions (closed form and PyMC).

* :func:`assign` splits an audience into variants at random, balanced within strata (segment, region), from a
  seed; :func:`check_srm` refuses a split whose sizes are not what the design said (sample-ratio mismatch).
* Frequentist: :func:`compare_proportions` (z-tests against the control with intervals and a multiple-variant
  correction, plus the chi-square of all variants), :func:`welch` and :func:`bootstrap_diff` for revenue per
  recipient, :func:`sample_size` and :func:`power`, and :func:`peeking_simulation`, which shows why looking at
  a running test and stopping at the first significant result inflates false positives.
* Bayesian: a Beta prior fitted to past campaigns (:func:`beta_prior_from_rates`), conjugate posteriors
  (:func:`posterior`), P(B > A) exactly (:func:`prob_b_beats_a`), P(best) and expected loss from draws
  (:func:`bayes_summary`) and a stopping rule by expected loss (:func:`decide`). Whether one variant beats
  another is a question about the *lift*: :func:`past_lifts` and :class:`LiftPrior` turn past experiments into
  a prior on it, :func:`lift_expected_loss` is the rule under that prior, and
  :func:`bayes_decision_simulation` checks its promise on an answer key drawn from the same priors. The same models
  in PyMC: :func:`pymc_ab` and, with rates that differ by
  group (segment, region, gender), :func:`pymc_by_group`.

Counts arrive as arrays (one entry per variant, the control first); :func:`counts` builds them from a table of
sends and checks them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import integrate, special, stats

__all__ = [
    "assign",
    "srm_test",
    "check_srm",
    "SampleRatioMismatch",
    "pick_experiment",
    "counts",
    "revenue_per_recipient",
    "compare_proportions",
    "welch",
    "bootstrap_diff",
    "sample_size",
    "power",
    "minimum_detectable_lift",
    "sequential_bounds",
    "peeking_simulation",
    "beta_prior_from_rates",
    "posterior",
    "prob_b_beats_a",
    "bayes_summary",
    "exact_summary",
    "mc_errors",
    "mc_check",
    "MC_TOLERANCE",
    "decide",
    "LiftPrior",
    "past_lifts",
    "lift_expected_loss",
    "bayes_decision_simulation",
    "pymc_ab",
    "pymc_by_group",
    "divergence_note",
    "by_group_exact",
]


# ----------------------------------------------------------------------------------------------------------------
# Assignment
# ----------------------------------------------------------------------------------------------------------------
def assign(
    units: Sequence, variants: int | Sequence[str], strata: pd.Series | Sequence | None = None, seed: int = 0
) -> pd.Series:
    """Random, balanced assignment of ``units`` (customer ids) to variants, reproducible from ``seed``.

    Within each stratum (e.g. segment or region, aligned with ``units``) the units are shuffled and dealt to the
    variants in turn, so each variant's share of every stratum is equal to within one unit. ``variants`` is a
    number (names "A", "B", ...) or a list of names.

    Parameters
    ----------
    units : sequence
        The units to assign (customer ids), each once.
    variants : int or sequence of str
        The number of variants (named "A", "B", ...) or their names, at least two and distinct.
    strata : Series or sequence, optional
        A stratum per unit (e.g. segment), aligned with ``units``; default: one stratum.
    seed : int, default 0
        Random seed of the shuffle.

    Examples
    --------
    >>> assign([1, 2, 3, 4], ["A", "B"], seed=1).value_counts().tolist()
    [2, 2]
    """
    names = [chr(ord("A") + i) for i in range(variants)] if isinstance(variants, int) else list(variants)
    if len(names) < 2:
        raise ValueError(f"an A/B test needs at least two variants, got {names}")
    if len(set(names)) != len(names):
        raise ValueError(f"variant names must be distinct, got {names}")
    ids = pd.Index(units, name="customer_id")
    if ids.has_duplicates:
        raise ValueError(f"units {ids[ids.duplicated()].unique().tolist()[:5]} appear more than once")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    if strata is None:
        group = np.zeros(len(ids), np.int64)
    else:
        group = pd.factorize(np.asarray(strata, dtype=object), sort=True, use_na_sentinel=False)[0]
    # rank of each unit within its stratum, in shuffled order; then a random variant offset per stratum
    shuffled_group = group[order]
    rank = pd.Series(shuffled_group).groupby(shuffled_group).cumcount().to_numpy()
    offset = rng.integers(0, len(names), group.max() + 1 if len(group) else 1)
    slot = np.empty(len(ids), np.int64)
    slot[order] = (rank + offset[shuffled_group]) % len(names)
    return pd.Series(np.asarray(names, dtype=object)[slot], index=ids, name="variant")


class SampleRatioMismatch(ValueError):
    """The variants' sizes differ from the designed split more than chance allows."""


def srm_test(sizes: ArrayLike, shares: ArrayLike | None = None) -> float:
    """Chi-square goodness-of-fit p-value of the variant sizes against the designed shares (default: equal)."""
    n = np.asarray(sizes, float)
    w = np.full(len(n), 1 / len(n)) if shares is None else np.asarray(shares, float) / np.sum(shares)
    return float(stats.chisquare(n, n.sum() * w).pvalue)


def check_srm(sizes: ArrayLike | pd.Series, shares: ArrayLike | None = None, alpha: float = 0.001) -> float:
    """Raise :class:`SampleRatioMismatch` when the split is off (p < ``alpha``); return the p-value otherwise.

    A mismatch means the assignment or the logging is broken (a variant's emails bounced, a filter ran after
    the split): the test's results cannot be trusted, whatever they say.

    Parameters
    ----------
    sizes : array-like or Series
        Recipients per variant (a Series names the variants in the message).
    shares : array-like, optional
        The designed shares (normalised to sum to 1); default: equal.
    alpha : float, default 0.001
        The p-value below which the split is refused.
    """
    n = np.asarray(sizes, float)
    names = list(sizes.index) if isinstance(sizes, pd.Series) else list(range(len(n)))
    p = srm_test(n, shares)
    if p < alpha:
        expect = n.sum() * (np.full(len(n), 1 / len(n)) if shares is None else np.asarray(shares) / np.sum(shares))
        detail = ", ".join(f"{k}: {int(a)} (expected {e:.0f})" for k, a, e in zip(names, n, expect, strict=True))
        raise SampleRatioMismatch(
            f"sample-ratio mismatch (p = {p:.2g} < {alpha}): {detail}. Check the assignment "
            "and the delivery logs before reading any result."
        )
    return p


# ----------------------------------------------------------------------------------------------------------------
# Counts
# ----------------------------------------------------------------------------------------------------------------
def pick_experiment(
    experiments: pd.DataFrame,
    sends: pd.DataFrame,
    preferred: str,
    n_variants: int | None = 2,
    exclude: Sequence[str] = (),
) -> tuple[str, str]:
    """Choose the experiment a lesson reads.

    The experiment a lesson reads: ``preferred`` when the data has it, else the one with the most recipients
    (among those with ``n_variants`` variants, and not in ``exclude``). Returns its id and why it was chosen.

    A lesson written for the course world's tests (e.g. ``X012``) then still runs on a team's experiments,
    and says which one it read instead.

    Parameters
    ----------
    experiments : DataFrame
        The experiments table (``campaign_id``, ``variants``).
    sends : DataFrame
        One row per recipient with ``campaign_id`` and ``variant``.
    preferred : str
        The experiment the lesson was written for.
    n_variants : int or None, default 2
        Only experiments with this many variants qualify; None for any.
    exclude : sequence of str, default ()
        Experiments not to choose (e.g. the one another section reads).
    """
    ids = experiments["campaign_id"].astype(str)
    if preferred in set(ids):
        return preferred, "as asked"
    nv = experiments["variants"].astype(str).str.count(r"\|") + 1
    ok = ~ids.isin(list(exclude)) & ((nv == n_variants) if n_variants else True)
    size = sends["campaign_id"].astype(str).value_counts()
    candidates = size.reindex(ids[ok]).dropna()
    if candidates.empty:
        raise ValueError(
            f"experiments.csv: no experiment {preferred!r} and none with {n_variants} variants to read "
            "instead; set the lesson's experiment parameter to one of "
            f"{', '.join(ids.head(10))}"
        )
    chosen = candidates.sort_values(ascending=False, kind="stable").index[0]
    return chosen, f"{preferred} is not in this data; the {n_variants}-variant test with most recipients instead"


def counts(sends: pd.DataFrame, metric: str, variant: str = "variant", by: str | None = None) -> pd.DataFrame:
    """Sends and successes per variant (and per ``by`` group) from one row per recipient with a 0/1 ``metric``.

    Returns a DataFrame indexed by variant (or by ``(by, variant)``), labels as text in sorted order, with
    columns ``n, successes, rate``.

    Parameters
    ----------
    sends : DataFrame
        One row per recipient, with ``variant`` and a 0/1 ``metric`` column.
    metric : str
        The 0/1 outcome column (e.g. ``opened``).
    variant : str, default "variant"
        The column holding each recipient's variant.
    by : str, optional
        A column to count within (e.g. ``segment``).
    """
    for col in [metric, variant] + ([by] if by else []):
        if col not in sends:
            raise ValueError(f"the sends table has no column {col!r}; columns: {list(sends.columns)}")
    y = pd.to_numeric(sends[metric], errors="coerce")
    if y.isna().any() or not y.isin([0, 1]).all():
        raise ValueError(f"column {metric!r} must be 0/1 per recipient")
    # labels as text, so that variants sort "A", "B", ... whatever order a categorical column met them in
    labels = {c: sends[c].astype(str).to_numpy() for c in ([by] if by else []) + [variant]}
    g = pd.DataFrame({**labels, "_y": y.to_numpy()}).groupby(list(labels), sort=True)["_y"]
    out = pd.DataFrame({"n": g.size(), "successes": g.sum().astype(int)})
    out["rate"] = out["successes"] / out["n"]
    return out


def revenue_per_recipient(sends: pd.DataFrame, transactions: pd.DataFrame, days: float = 7.0) -> pd.Series:
    """Revenue of each recipient's orders within ``days`` after the send (0 when none), aligned with ``sends``.

    ``sends`` has ``customer_id, sent_at``; ``transactions`` has ``customer_id, order_date, quantity,
    unit_price``. Every order in the window counts, as in a campaign's attribution window: the control variant
    has the same organic orders, so the difference between variants is the effect.

    Parameters
    ----------
    sends : DataFrame
        One row per recipient with ``customer_id, sent_at``.
    transactions : DataFrame
        Order lines with ``customer_id, order_date, quantity, unit_price``.
    days : float, default 7.0
        The attribution window after each send, in days.
    """
    lines = transactions[transactions["customer_id"].isin(sends["customer_id"])]
    lines = pd.DataFrame(
        {
            "customer_id": lines["customer_id"].to_numpy(),
            "t": lines["order_date"].to_numpy(),
            "value": (lines["quantity"] * lines["unit_price"]).to_numpy(float),
        }
    )
    keyed = pd.DataFrame(
        {
            "row": np.arange(len(sends)),
            "customer_id": sends["customer_id"].to_numpy(),
            "sent": pd.to_datetime(sends["sent_at"]).to_numpy(),
        }
    )
    both = keyed.merge(lines, on="customer_id")
    inside = (both["t"] >= both["sent"]) & (both["t"] < both["sent"] + pd.Timedelta(days=days))
    total = np.bincount(
        both.loc[inside, "row"].to_numpy(), weights=both.loc[inside, "value"].to_numpy(), minlength=len(sends)
    )
    return pd.Series(total, index=sends.index, name="revenue")


def _check_counts(successes, n, min_variants: int = 2) -> tuple[np.ndarray, np.ndarray]:
    s, n = np.asarray(successes, float), np.asarray(n, float)
    if s.shape != n.shape or s.ndim != 1:
        raise ValueError(f"successes and n must be two 1-D arrays of the same length, got {s.shape} and {n.shape}")
    if len(n) < min_variants:
        raise ValueError(f"a comparison needs at least {min_variants} variants, got {len(n)}")
    if (n <= 0).any():
        raise ValueError(
            f"variant(s) {np.flatnonzero(n <= 0).tolist()} have no recipients (n = 0): drop them or fix the assignment"
        )
    if (s < 0).any() or (s > n).any():
        bad = np.flatnonzero((s < 0) | (s > n)).tolist()
        raise ValueError(
            f"variant(s) {bad} have successes outside [0, n] (e.g. more conversions than sends): "
            "count each recipient once"
        )
    return s, n


# ----------------------------------------------------------------------------------------------------------------
# Frequentist
# ----------------------------------------------------------------------------------------------------------------
def compare_proportions(
    successes: Sequence[int],
    n: Sequence[int],
    names: Sequence[str] | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
) -> pd.DataFrame:
    """Each variant against the first (the control): difference in rates, interval, z-test, corrected p-value.

    The z-test pools the two rates under the null; the interval (1 - ``alpha``) is the unpooled Wald interval of
    the difference. With more than one challenger the p-values are adjusted (``correction``: any method of
    ``statsmodels.stats.multitest.multipletests``, e.g. "holm", "bonferroni"; None for none). The frame's
    ``attrs["chi2_p"]`` holds the chi-square test that all variants share one rate.

    Parameters
    ----------
    successes : sequence of int
        Successes per variant, the control first.
    n : sequence of int
        Recipients per variant.
    names : sequence of str, optional
        Variant names; default "A", "B", ...
    alpha : float, default 0.05
        One minus the intervals' confidence level.
    correction : str or None, default "holm"
        Multiple-comparison correction of the challengers' p-values (a ``multipletests`` method), None for none.
    """
    from statsmodels.stats.multitest import multipletests

    s, m = _check_counts(successes, n)
    names = [str(x) for x in (names if names is not None else range(len(m)))]
    rate = s / m
    diff = rate[1:] - rate[0]
    z = _pooled_z(s[0], m[0], s[1:], m[1:])
    p = 2 * stats.norm.sf(np.abs(z))
    se = np.sqrt(rate[1:] * (1 - rate[1:]) / m[1:] + rate[0] * (1 - rate[0]) / m[0])
    q = stats.norm.ppf(1 - alpha / 2)
    adj = multipletests(p, alpha=alpha, method=correction)[1] if correction and len(p) > 1 else p
    out = pd.DataFrame(
        {
            "variant": names,
            "n": m.astype(int),
            "successes": s.astype(int),
            "rate": rate,
            "diff": np.r_[0.0, diff],
            "ci_low": np.r_[np.nan, diff - q * se],
            "ci_high": np.r_[np.nan, diff + q * se],
            "z": np.r_[np.nan, z],
            "p_value": np.r_[np.nan, p],
            "p_adjusted": np.r_[np.nan, adj],
        }
    ).set_index("variant")
    out["significant"] = out["p_adjusted"] < alpha
    table = np.c_[s, m - s]
    out.attrs["chi2_p"] = float(stats.chi2_contingency(table, correction=False)[1]) if (table.sum(0) > 0).all() else 1.0
    return out


def _pooled_z(s_a, n_a, s_b, n_b) -> np.ndarray:
    """Two-proportion z statistic of rate b - rate a, with the rates pooled under the null (0 when both are 0/1)."""
    pooled = (s_a + s_b) / (n_a + n_b)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    diff = s_b / n_b - s_a / n_a
    return np.divide(diff, se, out=np.zeros(np.broadcast(diff, se).shape), where=se > 0)


def welch(a: Sequence[float], b: Sequence[float], alpha: float = 0.05) -> dict:
    """Welch's t-test of mean(b) - mean(a) (e.g. revenue per recipient), with its (1 - ``alpha``) interval.

    Parameters
    ----------
    a, b : sequence of float
        The values of the two groups; the difference is mean(b) - mean(a).
    alpha : float, default 0.05
        One minus the interval's confidence level.
    """
    xa, xb = np.asarray(a, float), np.asarray(b, float)
    if min(len(xa), len(xb)) < 2:
        raise ValueError("each group needs at least two recipients for a t-test")
    r = stats.ttest_ind(xb, xa, equal_var=False)
    ci = r.confidence_interval(1 - alpha)
    return {
        "diff": float(xb.mean() - xa.mean()),
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
        "t": float(r.statistic),
        "p_value": float(r.pvalue),
    }


def bootstrap_diff(
    a: Sequence[float], b: Sequence[float], alpha: float = 0.05, n_resamples: int = 2000, seed: int = 0
) -> dict:
    """Bootstrap (BCa) interval of mean(b) - mean(a): no normality assumed, for skewed revenue.

    Parameters
    ----------
    a, b : sequence of float
        The values of the two groups (e.g. revenue per recipient); the difference is mean(b) - mean(a).
    alpha : float, default 0.05
        One minus the interval's confidence level.
    n_resamples : int, default 2000
        Bootstrap resamples.
    seed : int, default 0
        Random seed of the resampling.
    """
    xa, xb = np.asarray(a, float), np.asarray(b, float)
    for name, x in (("a", xa), ("b", xb)):
        if x.ndim != 1 or len(x) < 2:
            raise ValueError(f"bootstrap_diff: group {name} needs at least two values, got {x.size}")
        if not np.isfinite(x).all():
            raise ValueError(
                f"bootstrap_diff: group {name} holds {int((~np.isfinite(x)).sum())} missing or infinite value(s)"
            )
    rng = np.random.default_rng(seed)
    # scipy.stats.bootstrap's draws, in its order (all of b's resamples, then a's), a block of rows at a time:
    # the same resamples in O(rows x block) memory instead of O(rows x n_resamples)
    theta_b = _resample_means(xb, n_resamples, rng) - _resample_means(xa, n_resamples, rng)
    theta = xb.mean() - xa.mean()
    # BCa (Efron & Tibshirani 1993, 14.3): bias from the share of resamples below the estimate; acceleration from
    # the jackknife, which for a mean has a closed form (the leave-one-out influence of x_i is x_i - mean), where
    # scipy recomputes n means of n - 1 values (O(n²): minutes at 100 k recipients)
    z0 = special.ndtri(((theta_b < theta).sum() + (theta_b <= theta).sum()) / (2 * n_resamples))
    ub, ua = xb - xb.mean(), -(xa - xa.mean())
    num = (ub**3).sum() / len(xb) ** 3 + (ua**3).sum() / len(xa) ** 3
    den = (ub**2).sum() / len(xb) ** 2 + (ua**2).sum() / len(xa) ** 2
    accel = num / (6 * den**1.5) if den > 0 else np.nan
    z = special.ndtri(alpha / 2)
    levels = [special.ndtr(z0 + (z0 + q) / (1 - accel * (z0 + q))) for q in (z, -z)]
    if not np.isfinite(levels).all():
        raise ValueError(
            "bootstrap_diff: the BCa interval cannot be computed — both groups are constant, or every resample "
            "lies on one side of the estimate; look at the values (a bootstrap needs spread)"
        )
    low, high = np.quantile(theta_b, levels)
    return {"diff": float(theta), "ci_low": float(low), "ci_high": float(high)}


def _resample_means(x: np.ndarray, n_resamples: int, rng: np.random.Generator, cells: int = 2**22) -> np.ndarray:
    """Means of ``n_resamples`` bootstrap resamples of ``x``, drawn as one (n_resamples, n) block would be."""
    rows = max(2, cells // len(x)) // 2 * 2  # even: a block of 32-bit draws ends on a whole 64-bit one
    out = np.empty(n_resamples)
    for k in range(0, n_resamples, rows):
        m = min(rows, n_resamples - k)
        out[k : k + m] = x[rng.integers(0, len(x), (m, len(x)))].mean(axis=-1)
    return out


def sample_size(p_base: float, lift: float, alpha: float = 0.05, power: float = 0.8, n_variants: int = 2) -> int:
    """Recipients per variant to detect a relative ``lift`` of the rate ``p_base`` (two-sided z-test).

    With more than two variants, ``alpha`` is split among the challengers (Bonferroni), as the analysis will.

    Parameters
    ----------
    p_base : float
        The base rate (e.g. the usual open rate).
    lift : float
        The relative lift to detect (0.10: 10 % above ``p_base``).
    alpha : float, default 0.05
        Significance level (split among the challengers when there are more than two variants).
    power : float, default 0.8
        Probability of detecting the lift.
    n_variants : int, default 2
        Number of variants, the control included.

    Examples
    --------
    >>> sample_size(0.20, 0.10)  # 20 % -> 22 % open rate
    6508
    """
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    p_alt = p_base * (1 + lift)
    if not (0 < p_base < 1 and 0 < p_alt < 1) or lift == 0:
        raise ValueError(f"need 0 < p_base < 1, 0 < p_base * (1 + lift) < 1 and lift != 0; got {p_base}, {lift}")
    h = abs(proportion_effectsize(p_alt, p_base))
    n = NormalIndPower().solve_power(effect_size=h, alpha=alpha / max(n_variants - 1, 1), power=power, ratio=1.0)
    return int(np.ceil(n))


def power(p_base: float, p_alt: float, n_per_variant: int, alpha: float = 0.05) -> float:
    """Probability that a two-sided z-test at ``alpha`` detects ``p_base`` -> ``p_alt`` with this many per arm."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    h = abs(proportion_effectsize(p_alt, p_base))
    return float(NormalIndPower().power(effect_size=h, nobs1=n_per_variant, alpha=alpha, ratio=1.0))


def minimum_detectable_lift(p_base: float, n_per_variant: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable lift of a two-sided z-test.

    The smallest relative lift of ``p_base`` that a two-sided z-test with ``n_per_variant`` recipients per
    variant detects with probability ``power``: the figure to fix *before* a test (or to state for a test that
    was too small), instead of the "observed power", which only restates the p-value.

    The inverse of :func:`sample_size` (on Cohen's arcsine scale ``h``).

    Parameters
    ----------
    p_base : float
        The base rate (e.g. the usual open rate).
    n_per_variant : int
        Recipients per variant.
    alpha : float, default 0.05
        Significance level of the two-sided test.
    power : float, default 0.8
        Probability of detecting the lift.

    Examples
    --------
    >>> round(minimum_detectable_lift(0.20, 6508), 3)  # sample_size(0.20, 0.10) is 6508
    0.1
    """
    from statsmodels.stats.power import NormalIndPower

    if not 0 < p_base < 1 or n_per_variant < 2:
        raise ValueError(f"need 0 < p_base < 1 and at least 2 recipients per variant; got {p_base}, {n_per_variant}")
    h = NormalIndPower().solve_power(nobs1=n_per_variant, alpha=alpha, power=power, ratio=1.0)
    angle = np.arcsin(np.sqrt(p_base)) + h / 2
    if angle >= np.pi / 2:
        return float("inf")  # not even a rate of 100 % would be detected reliably
    return float(np.sin(angle) ** 2 / p_base - 1)


def sequential_bounds(looks: int, alpha: float = 0.05, kind: str = "obrien-fleming", points: int = 201) -> np.ndarray:
    """Group-sequential critical values (Pocock or O'Brien-Fleming).

    Two-sided critical |z| at each of ``looks`` equally spaced looks, so that "stop at the first look whose
    |z| crosses its bound" keeps the false-positive rate at ``alpha`` (a group-sequential design).

    ``kind="obrien-fleming"`` asks for a very large z early and close to 1.96 at the end (``c / sqrt(k / K)``);
    ``kind="pocock"`` for the same z at every look. The constant is found by bisection on the exact crossing
    probability, computed by recursive numerical integration of the z-statistic's path (Armitage, McPherson and
    Rowe 1969; Jennison and Turnbull 2000, ch. 19), so it needs no simulation. Reproduces Jennison and Turnbull's
    tables 2.1 and 2.3 (e.g. 5 looks at 5 %: Pocock 2.413, O'Brien-Fleming 2.040 at the last look).

    Parameters
    ----------
    looks : int
        Number of equally spaced looks.
    alpha : float, default 0.05
        The overall two-sided false-positive rate to keep.
    kind : {"obrien-fleming", "pocock"}
        The shape of the bounds.
    points : int, default 201
        Grid points of the numerical integration.

    Examples
    --------
    >>> sequential_bounds(5, kind="obrien-fleming").round(3).tolist()
    [4.562, 3.226, 2.634, 2.281, 2.04]
    """
    from scipy.optimize import brentq

    if kind not in ("obrien-fleming", "pocock"):
        raise ValueError(f"kind must be 'obrien-fleming' or 'pocock', got {kind!r}")
    if int(looks) != looks or looks < 1:
        raise ValueError(f"looks must be a whole number >= 1, got {looks!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha!r}")
    if points < 3 or points % 2 == 0:
        raise ValueError(f"points must be an odd number of at least 3 (Simpson's rule), got {points!r}")
    t = np.arange(1, looks + 1) / looks  # information fractions

    def shape(c: float) -> np.ndarray:
        return c / np.sqrt(t) if kind == "obrien-fleming" else np.full(looks, c)

    if looks == 1:
        return shape(stats.norm.isf(alpha / 2))
    c = brentq(lambda c: _crossing_probability(shape(c), t, points) - alpha, stats.norm.isf(alpha / 2), 10.0, xtol=1e-9)
    return shape(round(c, 6))  # six decimals: beyond what any test needs, and the same on every machine


def _crossing_probability(z_bounds: np.ndarray, t: np.ndarray, points: int) -> float:
    """P(|Z_k| >= z_bounds[k] at some look k) for a z-statistic with no effect, observed at fractions ``t``.

    On the score scale S_k = Z_k sqrt(t_k), a Brownian motion, the density of S on the continuation region is
    carried from look to look with Simpson's rule over a grid of ``points`` (odd) on that region.
    """
    b = z_bounds * np.sqrt(t)
    dt = np.diff(np.r_[0.0, t])
    crossed = 2 * stats.norm.sf(b[0] / np.sqrt(dt[0]))
    grid = np.linspace(-b[0], b[0], points)
    density = stats.norm.pdf(grid, scale=np.sqrt(dt[0]))
    simpson = np.ones(points)
    simpson[1:-1:2], simpson[2:-1:2] = 4.0, 2.0
    for k in range(1, len(t)):
        w = simpson * (grid[1] - grid[0]) / 3  # Simpson weights on the previous grid
        sd = np.sqrt(dt[k])
        crossed += float(
            np.sum(w * density * (stats.norm.sf((b[k] - grid) / sd) + stats.norm.cdf((-b[k] - grid) / sd)))
        )
        new = np.linspace(-b[k], b[k], points)
        density = (stats.norm.pdf((new[:, None] - grid[None, :]) / sd) / sd) @ (w * density)
        grid = new
    return float(crossed)


def peeking_simulation(
    p: float,
    n_per_variant: int,
    looks: int,
    n_experiments: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
    bounds: Sequence[float] | None = None,
) -> pd.DataFrame:
    """A/A tests (both variants at rate ``p``) read ``looks`` times as data arrive, and once at the end.

    Returns, per look, the share of experiments that a "stop at the first significant look" analyst has
    already declared significant (``peeking``), next to the share significant at that look alone
    (``single look``): the latter stays near ``alpha``, the former climbs with every look. With ``bounds``
    (a critical |z| per look, e.g. :func:`sequential_bounds`) a look is significant when |z| reaches its bound
    instead of the fixed ``alpha``: the same simulation then checks that a sequential design keeps its promise.

    Parameters
    ----------
    p : float
        The rate of both variants.
    n_per_variant : int
        Recipients per variant at the end of a test.
    looks : int
        Equally spaced looks at the data.
    n_experiments : int, default 2000
        Number of simulated A/A tests.
    alpha : float, default 0.05
        Significance level of each look.
    seed : int, default 0
        Random seed.
    bounds : sequence of float, optional
        A critical |z| per look (e.g. :func:`sequential_bounds`) instead of the fixed ``alpha``.
    """
    rng = np.random.default_rng(seed)
    step = n_per_variant // looks
    if step < 1:
        raise ValueError("n_per_variant must be at least the number of looks")
    if bounds is not None and np.shape(bounds) != (looks,):
        raise ValueError(f"bounds needs one critical value per look ({looks}), got {np.size(bounds)}")
    sa = rng.binomial(step, p, (n_experiments, looks)).cumsum(axis=1)
    sb = rng.binomial(step, p, (n_experiments, looks)).cumsum(axis=1)
    m = step * np.arange(1, looks + 1)
    z = _pooled_z(sa, m, sb, m)
    significant = 2 * stats.norm.sf(np.abs(z)) < alpha if bounds is None else np.abs(z) >= np.asarray(bounds, float)
    return pd.DataFrame(
        {
            "recipients per variant": m,
            "single look": significant.mean(axis=0),
            "peeking": np.maximum.accumulate(significant, axis=1).mean(axis=0),
        },
        index=pd.RangeIndex(1, looks + 1, name="look"),
    )


# ----------------------------------------------------------------------------------------------------------------
# Bayesian, closed form
# ----------------------------------------------------------------------------------------------------------------
def beta_prior_from_rates(
    rates: Sequence[float], n: Sequence[float] | None = None, max_strength: float = 1000.0
) -> tuple[float, float]:
    """Beta(a, b) prior from the rates of past campaigns (method of moments, empirical Bayes).

    The mean is the mean past rate; the spread is the spread of past rates *minus* the binomial noise of each
    rate (if ``n``, the campaigns' sizes, are given), so the prior says how much true rates vary between
    campaigns. The strength ``a + b`` is capped at ``max_strength`` pseudo-recipients, so a prior never outweighs a
    test's own data when past campaigns happened to be alike.

    Parameters
    ----------
    rates : sequence of float
        The rates of past campaigns.
    n : sequence of float, optional
        The campaigns' sizes, to remove each rate's binomial noise from the spread.
    max_strength : float, default 1000.0
        Cap on the prior's strength ``a + b``, in pseudo-recipients.

    Examples
    --------
    >>> a, b = beta_prior_from_rates([0.1, 0.2, 0.3])
    >>> round(a / (a + b), 3)
    0.2
    """
    r = np.asarray(rates, float)
    if len(r) < 2:
        raise ValueError("a prior from history needs at least two past rates")
    if ((r < 0) | (r > 1)).any():
        raise ValueError("past rates must lie in [0, 1]")
    mean = r.mean()
    var = r.var(ddof=1)
    if n is not None:
        var -= np.mean(mean * (1 - mean) / np.asarray(n, float))
    strength = mean * (1 - mean) / var - 1 if var > 0 else max_strength
    strength = float(np.clip(strength, 2.0, max_strength))
    return float(mean * strength), float((1 - mean) * strength)


def posterior(successes, n, prior: tuple[float, float] = (1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Conjugate Beta posterior parameters per variant: (a + successes, b + failures).

    Parameters
    ----------
    successes, n : array-like
        Successes and recipients per variant.
    prior : tuple of float, default (1.0, 1.0)
        The Beta(a, b) prior of every variant's rate.
    """
    s, m = _check_counts(successes, n, min_variants=1)
    a, b = prior
    if a <= 0 or b <= 0:
        raise ValueError(f"Beta prior parameters must be positive, got {prior}")
    return a + s, b + m - s


def prob_b_beats_a(a_a: float, b_a: float, a_b: float, b_b: float) -> float:
    """P(p_B > p_A) for independent p_A ~ Beta(a_a, b_a), p_B ~ Beta(a_b, b_b), by numerical integration.

    Parameters
    ----------
    a_a, b_a : float
        A's Beta posterior parameters.
    a_b, b_b : float
        B's Beta posterior parameters.

    Examples
    --------
    >>> round(prob_b_beats_a(1, 1, 2, 1), 6)  # p_B ~ Beta(2, 1) against a uniform p_A: 2/3
    0.666667
    """
    fa, fb = stats.beta(a_a, b_a), stats.beta(a_b, b_b)
    # integrate where the mass is: the central range of both distributions
    lo = max(min(fa.ppf(1e-12), fb.ppf(1e-12)), 0.0)
    hi = min(max(fa.isf(1e-12), fb.isf(1e-12)), 1.0)
    value, _ = integrate.quad(lambda x: fb.pdf(x) * fa.cdf(x), lo, hi, limit=200, epsabs=1e-10, epsrel=1e-10)
    return float(value + fb.sf(hi))  # mass of B above hi beats A almost surely


def bayes_summary(draws: np.ndarray | pd.DataFrame, names: Sequence[str] | None = None) -> pd.DataFrame:
    """From posterior draws (draws x variants): mean, 94 % interval, P(best), expected loss, lift vs the first.

    The interval is equal-tailed (``eti_3%``, ``eti_97%``: the 3 % and 97 % quantiles), not ArviZ's
    highest-density interval; for the nearly symmetric posteriors of rates the two almost coincide.

    Expected loss of choosing a variant = E[max over variants - its rate]: what we expect to give up, in rate
    points, if we pick it and it is not the best. ``p_beats_first_mcse`` is the Monte-Carlo standard error of
    ``p_beats_first``: from the chains (ArviZ, effective sample size) when the draws come from :func:`pymc_ab`,
    else for independent draws.

    Parameters
    ----------
    draws : ndarray or DataFrame
        Posterior draws of the variants' rates, draws x variants.
    names : sequence of str, optional
        Variant names; default: the DataFrame's columns, or "A", "B", ...
    """
    chains = draws.attrs.get("chains") if isinstance(draws, pd.DataFrame) else None
    if isinstance(draws, pd.DataFrame):
        names = list(draws.columns) if names is None else names
        draws = draws.to_numpy()
    d = np.asarray(draws, float)
    names = [str(x) for x in (names if names is not None else range(d.shape[1]))]
    winner = d.argmax(axis=1)
    lift = d / d[:, [0]] - 1
    return pd.DataFrame(
        {
            "mean": d.mean(axis=0),
            "eti_3%": np.quantile(d, 0.03, axis=0),
            "eti_97%": np.quantile(d, 0.97, axis=0),
            "p_best": np.bincount(winner, minlength=d.shape[1]) / len(d),
            "expected_loss": _expected_loss(d),
            "lift_vs_first": lift.mean(axis=0),
            "p_beats_first": (d > d[:, [0]]).mean(axis=0),
            "p_beats_first_mcse": _mcse(d > d[:, [0]], chains),
        },
        index=pd.Index(names, name="variant"),
    )


def exact_summary(a, b, names: Sequence[str] | None = None) -> pd.DataFrame:
    """The figures of :func:`bayes_summary` computed exactly for independent Beta(a, b) posteriors.

    No draws: means and lifts in closed form, the 3 % and 97 % quantiles from the Beta distribution, P(best) and
    expected loss by numerical integration over the rate. These are the numbers Monte-Carlo draws of the same
    posterior (independent, or PyMC's) estimate; they are the same on every computer, to their last printed digit.

    Parameters
    ----------
    a, b : array-like
        The Beta posterior parameters per variant (e.g. from :func:`posterior`).
    names : sequence of str, optional
        Variant names; default "A", "B", ...

    Examples
    --------
    >>> s = exact_summary([1, 2], [1, 1], names=["A", "B"])
    >>> s["p_beats_first"].round(6).tolist(), s["mean"].round(6).tolist()
    ([0.0, 0.666667], [0.5, 0.666667])
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1 or (a <= 0).any() or (b <= 0).any():
        raise ValueError("exact_summary takes two 1-D arrays of positive Beta parameters of the same length")
    names = [str(x) for x in (names if names is not None else range(len(a)))]
    dists = [stats.beta(x, y) for x, y in zip(a, b, strict=True)]
    lo = max(min(d.ppf(1e-12) for d in dists), 0.0)
    hi = min(max(d.isf(1e-12) for d in dists), 1.0)
    opts = dict(limit=200, epsabs=1e-11, epsrel=1e-10)

    def cdf_all_but(i: int, x: float) -> float:
        return float(np.prod([d.cdf(x) for j, d in enumerate(dists) if j != i]))

    p_best = np.array(
        [integrate.quad(lambda x, i=i: dists[i].pdf(x) * cdf_all_but(i, x), lo, hi, **opts)[0] for i in range(len(a))]
    )
    # E[max] = lo + the integral of P(max > x) over [lo, hi] (the mass outside is below 1e-12)
    e_max = lo + integrate.quad(lambda x: 1.0 - float(np.prod([d.cdf(x) for d in dists])), lo, hi, **opts)[0]
    mean = a / (a + b)
    inv_first = (a[0] + b[0] - 1) / (a[0] - 1) if a[0] > 1 else np.inf  # E[1 / p_first]
    beats = np.array([0.0] + [prob_b_beats_a(a[0], b[0], a[i], b[i]) for i in range(1, len(a))])
    return pd.DataFrame(
        {
            "mean": mean,
            "eti_3%": [d.ppf(0.03) for d in dists],
            "eti_97%": [d.ppf(0.97) for d in dists],
            "p_best": p_best,
            "expected_loss": e_max - mean,
            "lift_vs_first": np.r_[0.0, mean[1:] * inv_first - 1],
            "p_beats_first": beats,
        },
        index=pd.Index(names, name="variant"),
    )


def mc_errors(draws: pd.DataFrame, chains: int | None = None) -> pd.DataFrame:
    """The Monte-Carlo standard error of each figure of :func:`bayes_summary` (same rows and columns).

    From the chains (ArviZ's MCSE, which accounts for autocorrelation) when the draws come from :func:`pymc_ab`
    (or ``chains`` is given), else for independent draws. A figure that is the same in every draw (e.g. the
    control's lift over itself) has an error of 0.

    Parameters
    ----------
    draws : DataFrame
        Posterior draws, draws x variants (from :func:`pymc_ab` or independent).
    chains : int, optional
        Number of chains the draws come from; default: the draws' ``attrs["chains"]``, else independent draws.
    """
    chains = chains or (draws.attrs.get("chains") if isinstance(draws, pd.DataFrame) else None) or None
    names = list(draws.columns) if isinstance(draws, pd.DataFrame) else None
    d = np.asarray(draws, float)
    best = d.max(axis=1, keepdims=True)
    per_draw = {
        "mean": d,
        "p_best": (d == best).astype(float),
        "expected_loss": best - d,
        "lift_vs_first": d / d[:, [0]] - 1,
        "p_beats_first": (d > d[:, [0]]).astype(float),
    }
    out = {k: (_share_mcse if k.startswith("p_") else _mcse)(v, chains) for k, v in per_draw.items()}
    out["expected_loss"] = _loss_mcse_floor(d, out["expected_loss"])
    out["eti_3%"] = _mcse(d, chains, prob=0.03)
    out["eti_97%"] = _mcse(d, chains, prob=0.97)
    cols = ["mean", "eti_3%", "eti_97%", "p_best", "expected_loss", "lift_vs_first", "p_beats_first"]
    idx = pd.Index([str(x) for x in (names if names is not None else range(d.shape[1]))], name="variant")
    return pd.DataFrame({c: out[c] for c in cols}, index=idx)


MC_TOLERANCE = 5.0
"""How many Monte-Carlo standard errors an estimate may lie from the exact value and still agree with it."""


def mc_check(estimate: pd.DataFrame, exact: pd.DataFrame, mcse: pd.DataFrame | None = None) -> pd.DataFrame:
    """How many Monte-Carlo standard errors each estimated figure lies from its exact value (|z|, rows x figures).

    ``mcse`` holds the errors with the same rows and columns (default: the columns ``<figure>_mcse`` of
    ``estimate``). Only the figures that ``exact`` has are compared. A figure with no error (the same in every
    draw) must equal the exact value: 0 if it does, infinity if not. Below :data:`MC_TOLERANCE` (5) everywhere,
    the draws agree with the exact answer; a larger value is a sampler, a model or a formula that is wrong, not
    bad luck (the chance of |z| > 5 is 6 in 10 million per figure; the errors of tail quantiles are themselves
    estimated from few draws, which the margin allows for).

    Parameters
    ----------
    estimate : DataFrame
        Figures estimated from draws (e.g. :func:`bayes_summary`).
    exact : DataFrame
        The same figures computed exactly, same rows (e.g. :func:`exact_summary`).
    mcse : DataFrame, optional
        Their Monte-Carlo standard errors; default: the ``<figure>_mcse`` columns of ``estimate``.
    """
    figures = [c for c in exact.columns if c in estimate.columns]
    errors = mcse[figures] if mcse is not None else estimate[[f"{c}_mcse" for c in figures]].set_axis(figures, axis=1)
    gap = (estimate[figures] - exact[figures]).abs()
    err = errors.reindex_like(gap).to_numpy(float)
    z = np.where(
        err > 0, gap.to_numpy(float) / np.where(err > 0, err, 1.0), np.where(gap.to_numpy(float) < 1e-12, 0.0, np.inf)
    )
    return pd.DataFrame(z, index=gap.index, columns=figures)


def _share_mcse(indicator: np.ndarray, chains: int | None) -> np.ndarray:
    """Monte-Carlo standard error of a share of draws (0/1 columns), never below that of independent draws.

    When every draw agrees (a probability near 0 or 1), the chains show no variation at all, yet the estimate
    is not exact: the floor uses the share moved half a draw inside (0, 1), as for independent draws.
    """
    x = np.asarray(indicator, float)
    n = len(x)
    p = np.clip(x.mean(axis=0), 0.5 / n, 1 - 0.5 / n)
    return np.maximum(_mcse(x, chains), np.sqrt(p * (1 - p) / n))


def _loss_mcse_floor(d: np.ndarray, err: np.ndarray) -> np.ndarray:
    """The expected loss's Monte-Carlo error, floored where a variant won every draw (all its losses 0).

    Such a loss is not exactly 0 (the exact one is tiny, e.g. 2e-10 for a variant ahead by nine standard
    errors): as for a share (:func:`_share_mcse`), the chance of a positive loss is taken half a draw inside
    (0, 1), and a positive loss as large as the spread of the variant's gap to the best other one.
    """
    n, k = d.shape
    if k < 2:
        return err
    floor = np.empty(k)
    for j in range(k):
        gap = np.delete(d, j, axis=1).max(axis=1) - d[:, j]
        p = 0.5 / n
        floor[j] = np.sqrt(p * (1 - p) / n) * gap.std()
    return np.where(err > 0, err, floor)


def _mcse(values: np.ndarray, chains: int | None, prob: float | None = None) -> np.ndarray:
    """Monte-Carlo standard error of the mean (or, with ``prob``, of that quantile) of each column (draws x columns)."""
    x = np.asarray(values, float)
    if prob is None:
        iid = x.std(axis=0) / np.sqrt(len(x))
    else:  # a quantile of independent draws: sqrt(q (1 - q) / n) / density, the density from the draws' spacing
        lo, hi = np.quantile(x, [max(prob - 0.01, 0.0), min(prob + 0.01, 1.0)], axis=0)
        iid = np.sqrt(prob * (1 - prob) / len(x)) / (0.02 / np.maximum(hi - lo, 1e-300))
    if not chains:
        return iid
    import arviz as az

    errors = []
    for col in x.T:
        if col.min() == col.max():
            errors.append(0.0)
        elif prob is None:
            errors.append(float(np.ravel(az.mcse(col.reshape(chains, -1)))[0]))
        else:
            errors.append(float(np.ravel(az.mcse(col.reshape(chains, -1), method="quantile", prob=prob))[0]))
    out = np.asarray(errors)
    # ArviZ's error of a tail quantile comes from a noisy estimate of its effective sample size and can come out
    # below what even independent draws would give: never report less than that
    return np.maximum(out, iid) if prob is not None else out


def _expected_loss(draws: np.ndarray) -> np.ndarray:
    """E[max over variants - each variant], from draws with variants on the last axis and draws on the one before."""
    return (draws.max(axis=-1, keepdims=True) - draws).mean(axis=-2)


def decide(
    successes,
    n,
    prior: tuple[float, float] = (1.0, 1.0),
    threshold: float = 0.001,
    n_draws: int = 20_000,
    seed: int = 0,
) -> dict:
    """The stopping rule: pick the variant with the least expected loss once that loss is below ``threshold``.

    Returns ``{"winner": name index or None, "expected_loss": ..., "p_best": ...}``; ``winner`` is None while
    every variant could still cost more than ``threshold`` (keep the test running).

    Parameters
    ----------
    successes, n : array-like
        Successes and recipients per variant.
    prior : tuple of float, default (1.0, 1.0)
        The Beta(a, b) prior of every variant's rate.
    threshold : float, default 0.001
        Expected loss (rate points) below which a winner is declared.
    n_draws : int, default 20000
        Posterior draws used to estimate the expected losses.
    seed : int, default 0
        Random seed of the draws.
    """
    a, b = posterior(successes, n, prior)
    d = np.random.default_rng(seed).beta(a, b, size=(n_draws, len(a)))
    s = bayes_summary(d)
    i = int(np.argmin(s["expected_loss"].to_numpy()))
    loss = float(s["expected_loss"].iloc[i])
    return {"winner": i if loss < threshold else None, "expected_loss": loss, "p_best": float(s["p_best"].iloc[i])}


# ----------------------------------------------------------------------------------------------------------------
# A prior on the lift, from past experiments, and the expected-loss rule under it
# ----------------------------------------------------------------------------------------------------------------
class LiftPrior:
    """What past experiments say about how far two variants' rates differ, on the log-odds scale.

    Each past comparison of a variant with its experiment's first variant gives a log-odds lift and its standard
    error. The true lifts are taken as normal around 0 (which variant is called "A" is arbitrary) with a spread
    ``tau`` that differs from experiment to experiment only by chance; ``tau``'s posterior given the past lifts
    (a half-normal hyper-prior of scale ``hyper_scale``, on a grid) makes the prior of a new test's lift a
    mixture of normals. ``sd`` is its standard deviation: the typical size of a lift.

    Attributes: ``lifts`` (the table of past lifts), ``tau`` (the grid) and ``weights`` (its posterior).

    Parameters
    ----------
    lifts : DataFrame
        Past lifts, one row per comparison, with ``lift`` (log-odds) and ``se`` (its standard error), as made by
        :func:`past_lifts`.
    hyper_scale : float, default 0.5
        Scale of the half-normal hyper-prior of ``tau``, the spread of true lifts.
    grid : int, default 400
        Number of grid points for ``tau``.
    max_tau : float, default 2.0
        Largest ``tau`` on the grid (log-odds).
    """

    def __init__(self, lifts: pd.DataFrame, hyper_scale: float = 0.5, grid: int = 400, max_tau: float = 2.0):
        if len(lifts) == 0:
            raise ValueError("a lift prior needs at least one past comparison of two variants")
        self.lifts = lifts.reset_index(drop=True)
        self.hyper_scale = float(hyper_scale)
        self.tau = np.linspace(max_tau / grid, max_tau, grid)
        lift, se = self.lifts["lift"].to_numpy(float), self.lifts["se"].to_numpy(float)
        ll = stats.norm.logpdf(lift[None, :], 0.0, np.sqrt(se[None, :] ** 2 + self.tau[:, None] ** 2)).sum(axis=1)
        lp = ll + stats.halfnorm.logpdf(self.tau, scale=self.hyper_scale)
        w = np.exp(lp - lp.max())
        self.weights = w / w.sum()

    @property
    def sd(self) -> float:
        """Standard deviation of a new test's true log-odds lift under the prior."""
        return float(np.sqrt((self.weights * self.tau**2).sum()))

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """True log-odds lifts of ``size`` new tests: a spread from its posterior, then a lift.

        Parameters
        ----------
        size : int
            Number of lifts to draw.
        rng : numpy.random.Generator
            The random generator to draw with.
        """
        return rng.normal(0.0, rng.choice(self.tau, size=size, p=self.weights))

    def logpdf(self, d: np.ndarray) -> np.ndarray:
        """Log-density of the prior at lifts ``d``.

        Parameters
        ----------
        d : ndarray
            Log-odds lifts.
        """
        # log w_k + log N(d; 0, tau_k), summed over the grid by log-sum-exp, a block of lifts at a time: the same
        # figures as scipy.stats.norm.logpdf and special.logsumexp to ~1e-15, 30 times faster and in bounded memory
        # (the expected-loss rule evaluates it on 121 lifts x 1000 tests per look)
        d = np.asarray(d, float)
        const = np.log(np.maximum(self.weights, 1e-300)) - np.log(self.tau) - 0.5 * np.log(2 * np.pi)
        curve = -0.5 / self.tau**2
        flat = d.reshape(-1)
        out = np.empty(flat.shape)
        step = max(1, 2**21 // len(self.tau))
        for k in range(0, len(flat), step):
            x = flat[k : k + step, None] ** 2 * curve + const
            top = x.max(axis=1)
            top[~np.isfinite(top)] = 0.0  # an infinite lift: every term is -inf, and so is the sum's log
            with np.errstate(divide="ignore"):
                out[k : k + step] = np.log(np.exp(x - top[:, None]).sum(axis=1)) + top
        return out.reshape(d.shape)


def past_lifts(
    experiments: pd.DataFrame, sends: pd.DataFrame, metric: str, before, kinds: Sequence[str] | None = None
) -> pd.DataFrame:
    """Log-odds lift of each variant over its experiment's first variant, for experiments dated before ``before``.

    ``metric`` is a 0/1 column of ``sends`` (``opened``, ``clicked``); ``kinds`` restricts the experiments (by
    default every kind but ``send_time``, whose variants are hours, not messages). Counts get half a pseudo-count
    so that a variant without a success has a finite lift. Only experiments sent *before* the one a prior is for
    may inform it: later ones were not known when it was read.

    Parameters
    ----------
    experiments : DataFrame
        The experiments table (``campaign_id``, ``date``, ``kind``, optionally ``variants`` as "A|B|...").
    sends : DataFrame
        One row per recipient with ``campaign_id``, ``variant`` and ``metric``.
    metric : str
        The 0/1 outcome column (``opened``, ``clicked``).
    before : date
        Only experiments dated before this day are used.
    kinds : sequence of str, optional
        The experiment kinds to use; default: every kind but ``send_time``.
    """
    when = pd.to_datetime(experiments["date"])
    keep = when < pd.Timestamp(before)
    keep &= experiments["kind"].isin(kinds) if kinds is not None else experiments["kind"] != "send_time"
    rows = []
    for _, e in experiments[keep].iterrows():
        s = sends[sends["campaign_id"] == e["campaign_id"]]
        if s.empty:
            continue
        g = s.groupby(s["variant"].astype(str))[metric].agg(["sum", "count"]).astype(float)
        order = [v for v in str(e["variants"]).split("|") if v in g.index] if "variants" in e else list(g.index)
        g = g.loc[order]
        k, m = g["sum"].to_numpy() + 0.5, g["count"].to_numpy() + 1.0
        logit = np.log(k / (m - k))
        var = 1 / k + 1 / (m - k)
        for j in range(1, len(g)):
            rows.append(
                dict(
                    campaign_id=e["campaign_id"],
                    date=when[_].date(),
                    kind=e["kind"],
                    variant=g.index[j],
                    lift=float(logit[j] - logit[0]),
                    se=float(np.sqrt(var[j] + var[0])),
                )
            )
    return pd.DataFrame(rows, columns=["campaign_id", "date", "kind", "variant", "lift", "se"])


def lift_expected_loss(
    successes_a,
    n_a,
    successes_b,
    n_b,
    level: tuple[float, float],
    lift: LiftPrior,
    mu_points: int = 41,
    lift_points: int = 121,
) -> np.ndarray:
    """Expected loss (in rate points) of choosing A and of choosing B, for one test or many (arrays).

    The model: A's rate has the Beta ``level`` prior, B's log-odds are A's plus a lift with the prior ``lift``;
    the posterior is integrated on a grid around the data (A's log-odds ± 6 standard errors; the lift ± 6
    posterior standard deviations), which is exact to well under the rule's thresholds. Returns shape (tests, 2).

    Parameters
    ----------
    successes_a, n_a : array-like
        A's successes and recipients, one value per test.
    successes_b, n_b : array-like
        B's successes and recipients, one value per test.
    level : tuple of float
        The Beta(a, b) prior of A's rate.
    lift : LiftPrior
        The prior of B's log-odds lift over A.
    mu_points : int, default 41
        Grid points for A's log-odds.
    lift_points : int, default 121
        Grid points for the lift.
    """
    sa, na, sb, nb = (np.atleast_1d(np.asarray(x, float))[:, None, None] for x in (successes_a, n_a, successes_b, n_b))
    mu_hat = np.log((sa + 0.5) / (na - sa + 0.5))
    se_mu = np.sqrt(1 / (sa + 0.5) + 1 / (na - sa + 0.5))
    d_hat = np.log((sb + 0.5) / (nb - sb + 0.5)) - mu_hat
    se_d = np.sqrt(se_mu**2 + 1 / (sb + 0.5) + 1 / (nb - sb + 0.5))
    post_var = 1 / (1 / se_d**2 + 1 / max(lift.sd, 1e-6) ** 2)
    mu = mu_hat + se_mu * np.linspace(-6, 6, mu_points)[None, :, None]
    d = d_hat * post_var / se_d**2 + 6 * np.sqrt(post_var) * np.linspace(-1, 1, lift_points)[None, None, :]
    a, b = level
    lw = (
        a * special.log_expit(mu)
        + b * special.log_expit(-mu)
        + lift.logpdf(d)
        + sa * special.log_expit(mu)
        + (na - sa) * special.log_expit(-mu)
        + sb * special.log_expit(mu + d)
        + (nb - sb) * special.log_expit(-(mu + d))
    )
    w = np.exp(lw - lw.max(axis=(1, 2), keepdims=True))
    w /= w.sum(axis=(1, 2), keepdims=True)
    diff = special.expit(mu + d) - special.expit(mu)
    return np.stack([(w * np.maximum(diff, 0)).sum(axis=(1, 2)), (w * np.maximum(-diff, 0)).sum(axis=(1, 2))], axis=1)


def bayes_decision_simulation(
    level: tuple[float, float],
    lift: LiftPrior,
    batch: int = 500,
    max_batches: int = 40,
    threshold: float = 0.001,
    n_experiments: int = 1000,
    aa: bool = False,
    seed: int = 0,
) -> pd.DataFrame:
    """The answer key of the expected-loss rule: repeated A/B tests drawn from the priors the rule uses.

    Each simulated test draws A's true rate from ``level`` and B's log-odds lift from ``lift`` (``aa=True``: no
    lift, an A/A test), adds ``batch`` recipients per variant at a time and stops as soon as the least expected
    loss (:func:`lift_expected_loss`) falls below ``threshold``, or after ``max_batches``. The rule's promise is
    that the loss it accepts is, on average over such tests, at most the threshold: compare ``realised_loss`` (best
    true rate minus the chosen one's) with ``stated_loss`` (the expected loss at the stop). Returns one row per
    test: ``decided``, ``chosen``, ``better`` (the chosen rate is the higher one), ``recipients`` per variant at the
    stop, ``true_lift`` (B's log-odds over A's), ``stated_loss`` and ``realised_loss``.

    Parameters
    ----------
    level : tuple of float
        The Beta(a, b) prior of A's rate, from which each test's A rate is drawn.
    lift : LiftPrior
        The prior of B's log-odds lift over A, from which each test's lift is drawn.
    batch : int, default 500
        Recipients added per variant at each look.
    max_batches : int, default 40
        Looks before a test stops undecided.
    threshold : float, default 0.001
        Expected loss (rate points) below which the rule stops and chooses.
    n_experiments : int, default 1000
        Number of simulated tests.
    aa : bool, default False
        Simulate A/A tests (no lift).
    seed : int, default 0
        Random seed.
    """
    if threshold <= 0 or batch < 1 or max_batches < 1 or n_experiments < 1:
        raise ValueError("threshold, batch, max_batches and n_experiments must be positive")
    rng = np.random.default_rng(seed)
    base = rng.beta(level[0], level[1], n_experiments)
    delta = np.zeros(n_experiments) if aa else lift.sample(n_experiments, rng)
    true = np.stack([base, base if aa else special.expit(special.logit(base) + delta)], axis=1)
    s = np.zeros((n_experiments, 2))
    m = np.zeros(n_experiments)
    open_ = np.ones(n_experiments, bool)
    chosen = np.full(n_experiments, -1)
    stated = np.full(n_experiments, np.nan)
    for _ in range(max_batches):
        idx = np.flatnonzero(open_)
        if not len(idx):
            break
        s[idx] += rng.binomial(batch, true[idx])
        m[idx] += batch
        loss = lift_expected_loss(s[idx, 0], m[idx], s[idx, 1], m[idx], level, lift)
        pick = loss.argmin(axis=1)
        least = loss[np.arange(len(idx)), pick]
        stop = least < threshold
        chosen[idx[stop]], stated[idx[stop]] = pick[stop], least[stop]
        open_[idx[stop]] = False
    decided = chosen >= 0
    got = true[np.arange(n_experiments), np.where(decided, chosen, 0)]
    realised = np.where(decided, true.max(axis=1) - got, np.nan)
    return pd.DataFrame(
        {
            "decided": decided,
            "chosen": chosen,
            "better": decided & (realised == 0),
            "recipients": m,
            "true_lift": delta,
            "stated_loss": stated,
            "realised_loss": realised,
        }
    )


# ----------------------------------------------------------------------------------------------------------------
# Bayesian, PyMC
# ----------------------------------------------------------------------------------------------------------------
def _quiet_pymc() -> None:
    for name in ("pymc", "pymc.sampling.mcmc", "pymc.stats.convergence", "pytensor"):
        logging.getLogger(name).setLevel(logging.ERROR)


def pymc_ab(
    successes,
    n,
    prior: tuple[float, float] = (1.0, 1.0),
    names: Sequence[str] | None = None,
    draws: int = 2000,
    chains: int = 2,
    seed: int = 0,
) -> pd.DataFrame:
    """Posterior draws of each variant's rate from PyMC (Beta prior, Binomial likelihood), draws x variants.

    The same model as :func:`posterior`, sampled by NUTS: the two must agree (tests check it), and this one
    extends to models without a closed form. Sampling is seeded and silent.

    Parameters
    ----------
    successes, n : array-like
        Successes and recipients per variant.
    prior : tuple of float, default (1.0, 1.0)
        The Beta(a, b) prior of every variant's rate.
    names : sequence of str, optional
        Variant names; default "A", "B", ...
    draws : int, default 2000
        Draws per chain after tuning.
    chains : int, default 2
        Number of chains.
    seed : int, default 0
        Random seed of the sampler.
    """
    import pymc as pm

    _quiet_pymc()
    s, m = _check_counts(successes, n, min_variants=1)
    names = [str(x) for x in (names if names is not None else range(len(m)))]
    with pm.Model(coords={"variant": names}):
        p = pm.Beta("p", alpha=prior[0], beta=prior[1], dims="variant")
        pm.Binomial("y", n=m.astype(int), p=p, observed=s.astype(int), dims="variant")
        idata = pm.sample(
            draws=draws,
            tune=1000,
            chains=chains,
            cores=1,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
        )
    # chain by chain, so that attrs["chains"] lets bayes_summary compute Monte-Carlo errors from the chains
    post = idata.posterior["p"].stack(sample=("chain", "draw")).transpose("sample", "variant").to_numpy()
    out = pd.DataFrame(post, columns=pd.Index(names, name="variant"))
    out.attrs["chains"] = chains
    return out


def _groups_and_variants(table: pd.DataFrame) -> tuple[list, list]:
    """A by-group table's groups and variants in order of appearance, after checking its columns and counts."""
    need = {"group", "variant", "n", "successes"}
    if not need <= set(table.columns):
        raise ValueError(f"table needs columns {sorted(need)}; it has {list(table.columns)}")
    _check_counts(table["successes"], table["n"], min_variants=2)
    groups, variants = list(pd.unique(table["group"])), list(pd.unique(table["variant"]))
    if len(variants) < 2:
        raise ValueError(f"an A/B test needs at least two variants, got {variants}")
    return groups, variants


def pymc_by_group(
    table: pd.DataFrame,
    prior_logit_sd: float = 1.5,
    effect_sd: float = 0.5,
    draws: int = 1000,
    chains: int = 2,
    seed: int = 0,
    centered: bool = False,
) -> pd.DataFrame:
    """Hierarchical A/B model: variants' effects that may differ by group (segment, region, gender).

    ``table`` has one row per (group, variant) with ``group, variant, n, successes``; the first variant (in
    order of appearance) is the control. The model, on the logit scale::

        logit p[g, v] = level[g] + e[g, v] - mean_v e[g, v],   e[g, v] = effect[v] + sigma * z[g, v]

    with ``e[g, control] = 0`` and ``z ~ N(0, 1)``: the non-centred form, which NUTS samples without divergences
    here. ``centered=True`` draws ``e ~ N(effect, sigma)`` directly; its funnel between ``sigma`` and ``e`` gives
    divergent transitions on the course world's test (a few in 2,000 draws; how many depends on the last bits
    of the machine's arithmetic), a sign that part of the posterior is not explored. ``attrs["divergences"]``
    counts them; trust the draws only when it is 0 (:func:`divergence_note` says so in words). ``level`` is free per
    group (groups differ in their level), ``effect`` is the variant's average effect, and
    ``sigma`` (half-normal) is how much the effect varies between groups: small groups borrow strength from the
    others instead of crowning a winner on noise. Returns, per group and challenger, the posterior mean lift in
    rate points, its 94 % equal-tailed interval and P(challenger beats the control in that group), each with its
    Monte-Carlo standard error (``<figure>_mcse``, from the chains), and ``attrs["sigma_mean"]`` with its error. With
    two
    variants, :func:`by_group_exact` computes the same figures without sampling; :func:`mc_check` compares them.

    Parameters
    ----------
    table : DataFrame
        One row per (group, variant) with ``group, variant, n, successes``; the first variant is the control.
    prior_logit_sd : float, default 1.5
        Standard deviation of the prior of each group's level (logit scale).
    effect_sd : float, default 0.5
        Standard deviation of the prior of each variant's shared effect (logit scale).
    draws : int, default 1000
        Draws per chain after tuning.
    chains : int, default 2
        Number of chains.
    seed : int, default 0
        Random seed of the sampler.
    centered : bool, default False
        Sample the centred form (a funnel; for the lesson's comparison) instead of the non-centred one.
    """
    import pymc as pm

    _quiet_pymc()
    groups, variants = _groups_and_variants(table)
    gi = pd.Index(groups).get_indexer(table["group"])
    vi = pd.Index(variants).get_indexer(table["variant"])
    rate = (table["successes"].sum() + 0.5) / (table["n"].sum() + 1.0)
    with pm.Model(
        coords={
            "group": [str(g) for g in groups],
            "variant": [str(v) for v in variants],
            "challenger": [str(v) for v in variants[1:]],
        }
    ):
        # each group's level is the mean logit of its variants (nearly uncorrelated with the effects, which keeps
        # NUTS's trajectories short); challenger v's effect in group g is effect[v] + sigma * z[g, v]
        level = pm.Normal("level", mu=np.log(rate / (1 - rate)), sigma=prior_logit_sd, dims="group")
        eff = pm.Normal("effect", 0.0, effect_sd, dims="challenger")
        sigma = pm.HalfNormal("sigma", 0.3)
        if centered:  # the funnel: NUTS diverges where sigma is small and e must follow it
            e = pm.Normal("e", eff[None, :], sigma, dims=("group", "challenger"))
        else:  # non-centred: z is independent of sigma a priori, so the geometry stays simple
            e = eff[None, :] + sigma * pm.Normal("z", 0.0, 1.0, dims=("group", "challenger"))
        full = pm.math.concatenate([pm.math.zeros((len(groups), 1)), e], axis=1)
        logit_p = level[:, None] + full - full.mean(axis=1, keepdims=True)
        p = pm.Deterministic("p", pm.math.sigmoid(logit_p), dims=("group", "variant"))
        pm.Binomial("y", n=table["n"].to_numpy(int), p=p[gi, vi], observed=table["successes"].to_numpy(int))
        idata = pm.sample(
            draws=draws,
            tune=1000,
            chains=chains,
            cores=1,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
        )
    p = idata.posterior["p"].stack(sample=("chain", "draw")).transpose("sample", "group", "variant").to_numpy()
    rows = []
    for g, name in enumerate(groups):
        for v in range(1, len(variants)):
            lift = p[:, g, v] - p[:, g, 0]
            rows.append(
                {
                    "group": name,
                    "variant": variants[v],
                    "lift": lift.mean(),
                    "eti_3%": np.quantile(lift, 0.03),
                    "eti_97%": np.quantile(lift, 0.97),
                    "p_beats_control": (lift > 0).mean(),
                    "lift_mcse": _mcse(lift[:, None], chains)[0],
                    "eti_3%_mcse": _mcse(lift[:, None], chains, prob=0.03)[0],
                    "eti_97%_mcse": _mcse(lift[:, None], chains, prob=0.97)[0],
                    "p_beats_control_mcse": _share_mcse((lift > 0)[:, None], chains)[0],
                }
            )
    out = pd.DataFrame(rows).set_index(["group", "variant"])
    sigma_draws = idata.posterior["sigma"].stack(sample=("chain", "draw")).to_numpy()
    out.attrs["sigma_mean"] = float(sigma_draws.mean())
    out.attrs["sigma_mean_mcse"] = float(_mcse(sigma_draws[:, None], chains)[0])
    out.attrs["divergences"] = int(idata.sample_stats["diverging"].sum())
    return out


def divergence_note(draws: pd.DataFrame) -> str:
    """Whether a NUTS run of :func:`pymc_by_group` had divergent transitions, in words a lesson can print.

    The count itself follows each chain's exact path, which last-bit differences between CPUs change (3 on one
    machine, 5 on another for the same seed), so a lesson reports only what a reader acts on: none, or some.

    Parameters
    ----------
    draws : DataFrame
        Draws made by :func:`pymc_by_group` (their ``attrs["divergences"]`` is read).

    Examples
    --------
    >>> divergence_note(pd.DataFrame())  # no attrs: nothing was sampled
    Traceback (most recent call last):
    ...
    ValueError: these draws carry no divergence count (attrs['divergences']): make them with pymc_by_group
    """
    if "divergences" not in draws.attrs:
        raise ValueError("these draws carry no divergence count (attrs['divergences']): make them with pymc_by_group")
    return "none" if draws.attrs["divergences"] == 0 else "some: do not trust these draws"


def by_group_exact(
    table: pd.DataFrame, prior_logit_sd: float = 1.5, effect_sd: float = 0.5, sigma_sd: float = 0.3, points: int = 97
) -> pd.DataFrame:
    """The posterior of :func:`pymc_by_group`'s model for two variants, by numerical integration on a grid.

    The same model (``level[g]``, ``effect``, ``sigma`` and each group's effect ``e[g] ~ N(effect, sigma)`` on
    the logit scale; the control's logit is ``level - e / 2``, the challenger's ``level + e / 2``) with no
    sampling: each group's likelihood is tabulated on a (level, e) grid around its data, integrated over its
    level, and combined over a grid of (effect, sigma); every posterior figure is then a weighted sum. The
    result has the columns of :func:`pymc_by_group` (lift in rate points, its 3 % and 97 % quantiles,
    P(challenger beats the control)) and ``attrs["sigma_mean"]``. It is deterministic, so it is the same on every
    computer to its last printed digit, and PyMC's draws must agree with it within their Monte-Carlo error
    (:func:`mc_check`). Grid error is below 1e-4 in every figure on groups of a few hundred recipients or more.

    Parameters
    ----------
    table : DataFrame
        One row per (group, variant) with ``group, variant, n, successes``, two variants, the control first.
    prior_logit_sd : float, default 1.5
        Standard deviation of the prior of each group's level (logit scale).
    effect_sd : float, default 0.5
        Standard deviation of the prior of the shared effect (logit scale).
    sigma_sd : float, default 0.3
        Scale of the half-normal prior of ``sigma``, the spread of the groups' effects.
    points : int, default 97
        Grid points per dimension.
    """
    groups, variants = _groups_and_variants(table)
    if len(variants) != 2:
        raise ValueError(
            f"by_group_exact integrates two variants (a control and one challenger), got {variants}; "
            "use pymc_by_group for more"
        )
    from scipy.special import expit, gammaln, log_expit, logsumexp

    t = table.set_index(["group", "variant"])
    if t.index.has_duplicates:
        raise ValueError("table has more than one row for a (group, variant): sum them first")
    n = np.array([[t.loc[(g, v), "n"] for v in variants] for g in groups], float)
    y = np.array([[t.loc[(g, v), "successes"] for v in variants] for g in groups], float)
    rate = (y.sum() + 0.5) / (n.sum() + 1.0)
    m0 = np.log(rate / (1 - rate))
    # each group's logits and their standard errors, from its data (0.5 added so that 0 or n successes work)
    ph = (y + 0.5) / (n + 1.0)
    se = 1.0 / np.sqrt((n + 1.0) * ph * (1 - ph))
    logit_hat = np.log(ph / (1 - ph))
    e_hat, e_se = logit_hat[:, 1] - logit_hat[:, 0], np.sqrt((se**2).sum(axis=1))
    # one grid of e for every group, wide enough for each group's likelihood, with 0 on it (so that P(lift > 0)
    # is a midpoint sum); for each e, a grid of the group's level around its most likely level given e
    e_lo, e_hi = min((e_hat - 7 * e_se).min(), 0.0), max((e_hat + 7 * e_se).max(), 0.0)
    h = max(e_se.min() / 12, (e_hi - e_lo) / 4000)  # at most ~4,000 points, however unequal the groups
    e_grid = h * np.arange(np.floor(e_lo / h), np.ceil(e_hi / h) + 1)
    steps = np.linspace(-6.0, 6.0, points)
    log_binom = gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)
    logL, lifts = [], []
    for g in range(len(groups)):
        wa, wb = se[g, 0] ** -2, se[g, 1] ** -2
        centre = ((logit_hat[g, 0] + e_grid / 2) * wa + (logit_hat[g, 1] - e_grid / 2) * wb) / (wa + wb)
        lv = centre[None, :] + steps[:, None] / np.sqrt(wa + wb)  # (level, e); the same spacing for every e
        a = lv - e_grid[None, :] / 2  # the control's logit
        b = lv + e_grid[None, :] / 2  # the challenger's
        logL.append(
            log_binom[g, 0]
            + y[g, 0] * log_expit(a)
            + (n[g, 0] - y[g, 0]) * log_expit(-a)
            + log_binom[g, 1]
            + y[g, 1] * log_expit(b)
            + (n[g, 1] - y[g, 1]) * log_expit(-b)
            - 0.5 * ((lv - m0) / prior_logit_sd) ** 2
        )
        lifts.append(expit(b) - expit(a))
    logM = np.array([logsumexp(ll, axis=0) for ll in logL])  # groups x e: integrated over the level
    M = np.exp(logM - logM.max(axis=1, keepdims=True))  # each group's scale cancels in every posterior figure
    # hyper-parameters: effect and sigma on a grid; each group's e ~ N(effect, sigma) as weights on e_grid
    effect = np.linspace(-4 * effect_sd, 4 * effect_sd, 2 * points + 1)
    sigma = np.linspace(0, 4 * sigma_sd, 2 * points + 1)[1:]

    def kernel(sd: float) -> np.ndarray:  # a discrete normal over e_grid per effect; rows sum to 1
        logk = -0.5 * ((e_grid[None, :] - effect[:, None]) / sd) ** 2
        k = np.exp(logk - logk.max(axis=1, keepdims=True))  # never all zero, however narrow
        return k / k.sum(axis=1, keepdims=True)

    Z = np.stack([M @ kernel(sd).T for sd in sigma], axis=2)  # groups x effect x sigma
    with np.errstate(divide="ignore"):
        logH = (
            -0.5 * (effect[:, None] / effect_sd) ** 2 - 0.5 * (sigma[None, :] / sigma_sd) ** 2 + np.log(Z).sum(axis=0)
        )
    H = np.exp(logH - logH.max())
    H /= H.sum()  # posterior of (effect, sigma)
    # p(e_g | data) is M_g(e) times u_g(e) = the sum over (effect, sigma) of H * K(e) / Z_g
    ratio = np.divide(H[None, :, :], Z, out=np.zeros_like(Z), where=Z > 0)
    u = sum(ratio[:, :, k] @ kernel(sd) for k, sd in enumerate(sigma))  # groups x e
    rows = []
    for g, name in enumerate(groups):
        w = np.exp(logL[g] - logL[g].max()) * u[g][None, :]
        w = (w / w.sum()).ravel()
        lift = lifts[g].ravel()
        order = np.argsort(lift, kind="stable")
        cdf = np.cumsum(w[order])
        q = np.interp([0.03, 0.97], cdf - w[order] / 2, lift[order])
        beats = float(w[lift > 0].sum() + 0.5 * w[lift == 0].sum())
        rows.append(
            {
                "group": name,
                "variant": variants[1],
                "lift": float(w @ lift),
                "eti_3%": float(q[0]),
                "eti_97%": float(q[1]),
                "p_beats_control": beats,
            }
        )
    out = pd.DataFrame(rows).set_index(["group", "variant"])
    out.attrs["sigma_mean"] = float((H.sum(axis=0) * sigma).sum())
    return out
