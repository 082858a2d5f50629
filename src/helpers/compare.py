"""Is A better than B? Intervals for the difference between two methods scored on the same units.

Every "A beats B" in the course is a difference of two means over the same customers, leads or buyers: the hit
of A's offer and of B's offer for each buyer, say. The two are correlated (a buyer easy to predict is easy for
both), so their difference is judged on the pairs, not as if the two samples were independent.
:func:`paired_difference` resamples the units with their pair of values (scipy's ``bootstrap(paired=True)``,
BCa intervals by default) and reports the difference with its interval. :func:`paired_metric_difference` does
the same for a metric that is not a mean over units (the adjusted Rand index of two segmentations, an AUC).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["paired_difference", "paired_metric_difference", "difference_table"]


def paired_difference(a: pd.Series, b: pd.Series, level: float = 0.95, n_resamples: int = 2000,
                      random_state: int = 0, method: str = "BCa") -> dict:
    """Mean of ``a - b`` over the units they share, with a paired bootstrap interval.

    Parameters
    ----------
    a, b : Series
        One value per unit (e.g. :func:`helpers.nbo.hits_per_buyer` of two methods), indexed by the unit's id.
        Both must cover the same units: a unit scored by one method only is an error, not silently dropped.
    level : float
        Confidence level of the interval.
    n_resamples, random_state, method
        As for :func:`scipy.stats.bootstrap`.

    Returns
    -------
    dict with ``difference`` (mean of a minus mean of b), ``low``, ``high``, ``n`` (units) and ``a``, ``b``
    (the two means).

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
    a, b = pd.Series(a), pd.Series(b)
    for name, s in (("a", a), ("b", b)):
        if s.index.has_duplicates:
            raise ValueError(f"{name} has repeated unit ids (e.g. {s.index[s.index.duplicated()][0]!r}): "
                             "give one value per unit")
        if s.isna().any():
            raise ValueError(f"{name} has {int(s.isna().sum())} missing value(s): score every unit")
    only_a, only_b = a.index.difference(b.index), b.index.difference(a.index)
    if len(only_a) or len(only_b):
        raise ValueError(f"a and b must score the same units: {len(only_a)} unit(s) only in a, {len(only_b)} only in "
                         "b; score both methods on the same units")
    if len(a) < 2:
        raise ValueError("a paired difference needs at least 2 units")
    x = a.to_numpy(float)
    y = b.reindex(a.index).to_numpy(float)
    d = x - y
    if np.all(d == d[0]):  # no variation in the differences: the interval is the value itself
        low = high = float(d[0])
    else:
        r = stats.bootstrap((x, y), lambda u, v, axis=-1: u.mean(axis=axis) - v.mean(axis=axis), paired=True,
                            vectorized=True, confidence_level=level, n_resamples=n_resamples, method=method,
                            rng=np.random.default_rng(random_state))
        low, high = float(r.confidence_interval.low), float(r.confidence_interval.high)
    return {"difference": float(d.mean()), "low": low, "high": high, "n": int(len(d)), "a": float(x.mean()),
            "b": float(y.mean())}


def paired_metric_difference(metric: Callable, truth, a, b, level: float = 0.95, n_resamples: int = 1000,
                             random_state: int = 0) -> dict:
    """``metric(truth, a) - metric(truth, b)`` with a paired bootstrap interval: the units (rows of ``truth``,
    ``a`` and ``b`` together) are resampled with replacement and the metric recomputed on each resample.

    For metrics that are not a mean over units, where :func:`paired_difference` does not apply: the adjusted
    Rand index of two segmentations against the planted one, the AUC of two scores. The interval is the
    percentile interval (BCa would need the metric once per unit left out). When any of the three holds labels
    that are not numbers (segment names), all three are coded as integers once, jointly, before resampling, so
    that equal labels stay equal and unequal ones unequal: the metric must then depend on labels only through
    which are equal (as the ARI, accuracy or a confusion table do), and it runs several times faster.

    Returns the same keys as :func:`paired_difference`: ``difference``, ``low``, ``high``, ``n``, ``a``, ``b``
    (the metric of each on all units).

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
    for i in range(n_resamples):
        take = rng.integers(0, n, n)
        diffs[i] = metric(truth[take], a[take]) - metric(truth[take], b[take])
    low, high = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    ma, mb = float(metric(truth, a)), float(metric(truth, b))
    return {"difference": ma - mb, "low": float(low), "high": float(high), "n": int(n), "a": ma, "b": mb}


def difference_table(values: dict[str, pd.Series], pairs: list[tuple[str, str]], level: float = 0.95,
                     n_resamples: int = 2000, random_state: int = 0) -> pd.DataFrame:
    """:func:`paired_difference` for each ``(a, b)`` of ``pairs``, named from ``values``; one row per pair."""
    rows = []
    for a, b in pairs:
        r = paired_difference(values[a], values[b], level=level, n_resamples=n_resamples, random_state=random_state)
        rows.append({"A": a, "B": b, "mean A": r["a"], "mean B": r["b"], "A - B": r["difference"],
                     "low": r["low"], "high": r["high"], "units": r["n"]})
    return pd.DataFrame(rows).set_index(["A", "B"])
