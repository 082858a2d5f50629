"""Is A better than B? Intervals for the difference between two methods scored on the same units.

Every "A beats B" in the course is a difference of two means over the same customers, leads or buyers: the hit
of A's offer and of B's offer for each buyer, say. The two are correlated (a buyer easy to predict is easy for
both), so their difference is judged on the pairs, not as if the two samples were independent.
:func:`paired_difference` resamples the units with their pair of values (as scipy's ``bootstrap(paired=True)``
does; BCa intervals by default, computed directly for a mean) and reports the difference with its interval.
:func:`paired_metric_difference` does the same for a metric that is not a mean over units (the adjusted Rand
index of two segmentations, an AUC).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["paired_difference", "paired_metric_difference", "difference_table", "MULTINOMIAL_UNITS"]


def paired_difference(
    a: pd.Series, b: pd.Series, level: float = 0.95, n_resamples: int = 2000, random_state: int = 0, method: str = "BCa"
) -> dict:
    """Mean of ``a - b`` over the units they share, with a paired bootstrap interval.

    Parameters
    ----------
    a, b : Series
        One value per unit (e.g. :func:`helpers.nbo.hits_per_buyer` of two methods), indexed by the unit's id.
        Both must cover the same units: a unit scored by one method only is an error, not silently dropped.
    level : float
        Confidence level of the interval.
    n_resamples, random_state
        Bootstrap resamples of the units, and the random seed that draws them.
    method : {"BCa", "percentile", "basic"}
        The interval, as named by :func:`scipy.stats.bootstrap`.

    Returns
    -------
    dict with ``difference`` (mean of a minus mean of b), ``low``, ``high``, ``n`` (units) and ``a``, ``b``
    (the two means).

    Notes
    -----
    Resampling units with their pair of values and taking the difference of the two means is resampling the
    per-unit differences and taking their mean, so that is what is computed, and the BCa acceleration comes from
    the jackknife of a mean, which has a closed form. Time and memory grow as units x resamples (in chunks of
    at most a few million values): scipy's generic BCa would build a units x units jackknife (9.5 GB for 17,000
    customers). Above :data:`MULTINOMIAL_UNITS` units, differences with few distinct values (hits, profits in
    steps) are resampled as multinomial counts of those values: the same bootstrap, in time that does not grow
    with the units.

    Examples
    --------
    >>> a = pd.Series([1, 1, 0, 1] * 50)
    >>> b = pd.Series([1, 0, 0, 1] * 50)
    >>> r = paired_difference(a, b)
    >>> round(r["difference"], 2), r["low"] > 0
    (0.25, True)
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1, got {level!r}")
    if method not in ("BCa", "percentile", "basic"):
        raise ValueError(f"method must be 'BCa', 'percentile' or 'basic', got {method!r}")
    a, b = pd.Series(a), pd.Series(b)
    for name, s in (("a", a), ("b", b)):
        if s.index.has_duplicates:
            raise ValueError(
                f"{name} has repeated unit ids (e.g. {s.index[s.index.duplicated()][0]!r}): give one value per unit"
            )
        if s.isna().any():
            raise ValueError(f"{name} has {int(s.isna().sum())} missing value(s): score every unit")
    only_a, only_b = a.index.difference(b.index), b.index.difference(a.index)
    if len(only_a) or len(only_b):
        raise ValueError(
            f"a and b must score the same units: {len(only_a)} unit(s) only in a, {len(only_b)} only in "
            "b; score both methods on the same units"
        )
    if len(a) < 2:
        raise ValueError("a paired difference needs at least 2 units")
    x = a.to_numpy(float)
    y = b.reindex(a.index).to_numpy(float)
    d = x - y
    if np.all(d == d[0]):  # no variation in the differences: the interval is the value itself
        low = high = float(d[0])
    else:
        low, high = _mean_interval(d, level, n_resamples, np.random.default_rng(random_state), method)
    return {
        "difference": float(d.mean()),
        "low": low,
        "high": high,
        "n": int(len(d)),
        "a": float(x.mean()),
        "b": float(y.mean()),
    }


MULTINOMIAL_UNITS = 100_000
"""Above this many units, :func:`paired_difference` draws each resample as the counts of the differences' distinct
values (when there are at most 4,096 of them): the same bootstrap distribution, drawn in a fraction of the time.
The course world (20 k customers) stays below it, so its intervals are drawn unit by unit as before."""
_MULTINOMIAL_VALUES = 4096


def _resample_means(d: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The means of ``n_resamples`` bootstrap resamples of ``d``."""
    n = len(d)
    values, inverse = np.unique(d, return_inverse=True) if n > MULTINOMIAL_UNITS else (d, None)
    if inverse is not None and len(values) <= _MULTINOMIAL_VALUES:
        # the same bootstrap, drawn as how often each distinct value is resampled (multinomial counts) instead of
        # n indices per resample: hits and profits take a few values, and a million units x 2,000 resamples of
        # indices took 13 s per pair
        counts = rng.multinomial(n, np.bincount(inverse, minlength=len(values)) / n, size=n_resamples)
        means = counts @ values / n
    else:
        means = np.empty(n_resamples)
        chunk = max(1, 4_000_000 // n)  # resamples drawn at once: a few million indices
        for start in range(0, n_resamples, chunk):
            k = min(chunk, n_resamples - start)
            means[start : start + k] = d[rng.integers(0, n, (k, n))].mean(axis=1)
    return means


def _mean_interval(
    d: np.ndarray, level: float, n_resamples: int, rng: np.random.Generator, method: str
) -> tuple[float, float]:
    """Bootstrap interval for the mean of ``d`` (Efron and Tibshirani 1993, ch. 13-14 for BCa)."""
    n = len(d)
    means = _resample_means(d, n_resamples, rng)
    alpha = (1 - level) / 2
    theta = d.mean()
    if method == "basic":
        q_low, q_high = np.quantile(means, [1 - alpha, alpha])
        return float(2 * theta - q_low), float(2 * theta - q_high)
    if method == "percentile":
        probs = np.array([alpha, 1 - alpha])
    else:  # BCa: bias from the share of resamples below the estimate, acceleration from the jackknife
        # discrete values (0/1 hits, profits in steps) make many resample means equal the estimate; whether the
        # last bit puts one below it is summation order, not data: a tie counts half
        tie = np.abs(means - theta) <= 1e-9 * max(np.abs(d).max(), 1e-300)
        below = np.mean((means < theta) & ~tie) + 0.5 * np.mean(tie)
        below = np.clip(below, 1 / (n_resamples + 1), n_resamples / (n_resamples + 1))
        z0 = stats.norm.ppf(below)
        jack = (d.sum() - d) / (n - 1)  # the mean without unit i, for every i
        u = jack.mean() - jack
        acc = np.sum(u**3) / (6 * np.sum(u**2) ** 1.5)
        z = stats.norm.ppf([alpha, 1 - alpha])
        probs = stats.norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z)))
    low, high = np.quantile(means, probs)
    return float(low), float(high)


def paired_metric_difference(
    metric: Callable, truth, a, b, level: float = 0.95, n_resamples: int = 1000, random_state: int = 0
) -> dict:
    """Paired bootstrap difference of a metric that is not a mean over units.

    ``metric(truth, a) - metric(truth, b)`` with a paired bootstrap interval: the units (rows of ``truth``,
    ``a`` and ``b`` together) are resampled with replacement and the metric recomputed on each resample.

    For metrics that are not a mean over units, where :func:`paired_difference` does not apply: the adjusted
    Rand index of two segmentations against the planted one, the AUC of two scores. The interval is the
    percentile interval (BCa would need the metric once per unit left out). When any of the three holds labels
    that are not numbers (segment names), all three are coded as integers once, jointly, before resampling, so
    that equal labels stay equal and unequal ones unequal: the metric must then depend on labels only through
    which are equal (as the ARI, accuracy or a confusion table do), and it runs several times faster.

    Returns the same keys as :func:`paired_difference`: ``difference``, ``low``, ``high``, ``n``, ``a``, ``b``
    (the metric of each on all units).

    Parameters
    ----------
    metric : callable
        ``metric(truth, prediction) -> float`` (e.g. ``adjusted_rand_score``).
    truth : array-like
        The true labels or values, one per unit.
    a, b : array-like
        The two methods' predictions, aligned with ``truth``.
    level : float, default 0.95
        Confidence level of the interval.
    n_resamples : int, default 1000
        Bootstrap resamples.
    random_state : int, default 0
        Random seed of the resampling.

    Examples
    --------
    >>> from sklearn.metrics import adjusted_rand_score
    >>> truth = np.repeat([0, 1, 2], 100)
    >>> good, poor = truth.copy(), truth.copy()
    >>> poor[::3] = 0  # a third of the units put in group 0
    >>> r = paired_metric_difference(adjusted_rand_score, truth, good, poor)
    >>> round(r["a"], 2), r["low"] > 0
    (1.0, True)
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1, got {level!r}")
    truth, a, b = (np.asarray(v) for v in (truth, a, b))
    if not len(truth) == len(a) == len(b):
        raise ValueError(f"truth, a and b must describe the same units: {len(truth)}, {len(a)} and {len(b)} values")
    if len(truth) < 2:
        raise ValueError("a paired difference needs at least 2 units")
    for name, v in (("truth", truth), ("a", a), ("b", b)):
        if pd.isna(v).any():
            raise ValueError(f"{name} has {int(pd.isna(v).sum())} missing value(s): every unit needs a value")
    if not all(np.issubdtype(v.dtype, np.number) or v.dtype == bool for v in (truth, a, b)):
        codes = pd.factorize(np.concatenate([truth.astype(object), a.astype(object), b.astype(object)]))[0]
        truth, a, b = np.split(codes, 3)
    rng = np.random.default_rng(random_state)
    n = len(truth)
    diffs = np.empty(n_resamples)
    if _is_adjusted_rand_score(metric):  # from the resampled three-way table: the same figures, no sort per resample
        (t, ka), (u, kb), (v, kc) = (_codes(x) for x in (truth, a, b))
        cell = (t * kb + u) * kc + v
        for i in range(n_resamples):
            table = np.bincount(cell[rng.integers(0, n, n)], minlength=ka * kb * kc).reshape(ka, kb, kc)
            diffs[i] = _ari_from_table(table.sum(axis=2)) - _ari_from_table(table.sum(axis=1))
    else:
        for i in range(n_resamples):
            take = rng.integers(0, n, n)
            diffs[i] = metric(truth[take], a[take]) - metric(truth[take], b[take])
    low, high = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    ma, mb = float(metric(truth, a)), float(metric(truth, b))
    return {"difference": ma - mb, "low": float(low), "high": float(high), "n": int(n), "a": ma, "b": mb}


def _is_adjusted_rand_score(metric: Callable) -> bool:
    from sklearn.metrics import adjusted_rand_score

    return metric is adjusted_rand_score


def _codes(labels: np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(labels)
    return codes.astype(np.int64), max(len(uniques), 1)


def _ari_from_table(table: np.ndarray) -> float:
    """scikit-learn's adjusted Rand index from a contingency table, in its integer arithmetic (the same float)."""
    table = table.astype(np.int64)
    n = np.int64(table.sum())
    n_c, n_k = table.sum(axis=1), table.sum(axis=0)
    sum_squares = (table**2).sum()
    fp = int((table @ n_k).sum() - sum_squares)
    fn = int((table.T @ n_c).sum() - sum_squares)
    tp = int(sum_squares - n)
    tn = int(n**2 - fp - fn - sum_squares)
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def difference_table(
    values: dict[str, pd.Series],
    pairs: list[tuple[str, str]],
    level: float = 0.95,
    n_resamples: int = 2000,
    random_state: int = 0,
) -> pd.DataFrame:
    """:func:`paired_difference` for each ``(a, b)`` of ``pairs``, named from ``values``; one row per pair.

    Parameters
    ----------
    values : dict of str to Series
        Per-unit values of each method (e.g. a hit or a squared error per customer), on a common index.
    pairs : list of (str, str)
        The pairs ``(a, b)`` of keys of ``values`` to compare (a - b).
    level : float, default 0.95
        Confidence level of the intervals.
    n_resamples : int, default 2000
        Bootstrap resamples.
    random_state : int, default 0
        Random seed of the resampling.
    """
    rows = []
    for a, b in pairs:
        r = paired_difference(values[a], values[b], level=level, n_resamples=n_resamples, random_state=random_state)
        rows.append(
            {
                "A": a,
                "B": b,
                "mean A": r["a"],
                "mean B": r["b"],
                "A - B": r["difference"],
                "low": r["low"],
                "high": r["high"],
                "units": r["n"],
            }
        )
    return pd.DataFrame(rows).set_index(["A", "B"])
