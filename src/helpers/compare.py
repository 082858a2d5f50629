"""Is A better than B? Intervals for the difference between two methods scored on the same units.

Every "A beats B" in the course is a difference of two means over the same customers, leads or buyers: the hit
of A's offer and of B's offer for each buyer, say. The two are correlated (a buyer easy to predict is easy for
both), so their difference is judged on the pairs, not as if the two samples were independent.
:func:`paired_difference` resamples the units with their pair of values (scipy's ``bootstrap(paired=True)``,
BCa intervals by default) and reports the difference with its interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["paired_difference", "difference_table"]


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


def difference_table(values: dict[str, pd.Series], pairs: list[tuple[str, str]], level: float = 0.95,
                     n_resamples: int = 2000, random_state: int = 0) -> pd.DataFrame:
    """:func:`paired_difference` for each ``(a, b)`` of ``pairs``, named from ``values``; one row per pair."""
    rows = []
    for a, b in pairs:
        r = paired_difference(values[a], values[b], level=level, n_resamples=n_resamples, random_state=random_state)
        rows.append({"A": a, "B": b, "mean A": r["a"], "mean B": r["b"], "A - B": r["difference"],
                     "low": r["low"], "high": r["high"], "units": r["n"]})
    return pd.DataFrame(rows).set_index(["A", "B"])
