"""Uplift evaluation: how well a ranking of customers finds the ones a message moves, against a randomised holdout.

A campaign sent to a random part of an audience (treated) and withheld from the rest (control) lets one measure,
for the top of any ranking, how many more conversions the treated customers made than the control customers would
have made in their place. The curves follow Radcliffe (2007) and scikit-uplift's definitions:

* :func:`qini_curve`: for the customers ranked first, ``Q = Y_t - Y_c * N_t / N_c`` — the treated conversions
  minus the control conversions scaled to as many customers as were treated (incremental conversions among the
  treated);
* :func:`uplift_curve`: ``(Y_t / N_t - Y_c / N_c) * (N_t + N_c)`` — the uplift rate of the top customers times
  their number (incremental conversions had all of them been treated);
* :func:`qini_coefficient` / :func:`auuc`: the area between a curve and the straight line of a random ranking,
  per customer; ``normalize=True`` divides it by the area of the best possible ranking of the observed outcomes;
* :func:`uplift_at_k`: the uplift rate among the top ``k`` share of the ranking.

Customers with equal scores are taken together (the curves are evaluated where the score changes, as
``sklearn.metrics.roc_curve`` does), so the result does not depend on the order of the rows. Several treatments
are evaluated one at a time, each against the same control.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["qini_curve", "uplift_curve", "qini_coefficient", "auuc", "uplift_at_k"]


def _inputs(y, treatment, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcomes (0/1), treatment flags (0/1) and scores as arrays; clear errors for what cannot be evaluated."""
    arrays = []
    for name, v in (("y", y), ("treatment", treatment), ("score", score)):
        a = np.asarray(v.to_numpy() if isinstance(v, pd.Series | pd.Index) else v)
        if a.ndim != 1:
            raise ValueError(f"{name} must be one value per customer (1-D), got shape {a.shape}")
        arrays.append(a)
    y_, t_, s_ = arrays
    if not (len(y_) == len(t_) == len(s_)):
        raise ValueError(
            f"y, treatment and score must have one value per customer each; got lengths {len(y_)}, {len(t_)}, {len(s_)}"
        )
    if len(y_) == 0:
        raise ValueError("no customers to evaluate: y, treatment and score are empty")
    for name, a in (("y", y_), ("treatment", t_)):
        if a.dtype.kind not in "biuf" or not np.isin(a, (0, 1)).all():
            bad = np.flatnonzero(~np.isin(a, (0, 1)) if a.dtype.kind in "biuf" else np.ones(len(a), bool))[:3]
            raise ValueError(f"{name} must be 0 or 1 for every customer; rows {bad.tolist()} are not")
    if s_.dtype.kind not in "biuf":
        raise TypeError(f"score must be numeric, got {s_.dtype}")
    if np.isnan(s_.astype(float)).any():
        raise ValueError(f"score is missing (NaN) for rows {np.flatnonzero(np.isnan(s_.astype(float)))[:3].tolist()}")
    t_ = t_.astype(bool)
    if t_.all() or not t_.any():
        raise ValueError(
            "uplift needs treated and control customers; every customer is "
            + ("treated: keep a randomised holdout" if t_.all() else "in the control group: no one was treated")
        )
    return y_.astype(float), t_, s_.astype(float)


def _cumulative(y, treatment, score) -> pd.DataFrame:
    """Counts among the customers ranked first, at each change of the score (ties taken together), from 0."""
    y_, t_, s_ = _inputs(y, treatment, score)
    order = np.argsort(-s_, kind="stable")
    s_, y_, t_ = s_[order], y_[order], t_[order]
    ends = np.r_[np.flatnonzero(np.diff(s_) != 0), len(s_) - 1]  # last row of each group of equal scores
    n_t = np.cumsum(t_)[ends]
    n_c = np.cumsum(~t_)[ends]
    y_t = np.cumsum(y_ * t_)[ends]
    y_c = np.cumsum(y_ * ~t_)[ends]
    zero = np.zeros(1)
    return pd.DataFrame(
        {
            "n": np.r_[zero, ends + 1.0],
            "n_treated": np.r_[zero, n_t],
            "n_control": np.r_[zero, n_c],
            "y_treated": np.r_[zero, y_t],
            "y_control": np.r_[zero, y_c],
        }
    )


def qini_curve(y, treatment, score) -> pd.DataFrame:
    """The Qini curve of a ranking: incremental conversions among the treated of the top customers.

    Parameters
    ----------
    y : array of 0/1
        Whether each customer converted in the campaign's window.
    treatment : array of 0/1
        1 for a treated customer, 0 for the randomised control.
    score : array
        The ranking: higher first (e.g. a predicted uplift). Customers with equal scores are taken together.

    Returns
    -------
    DataFrame with ``n`` (customers ranked first, from 0 to all), the counts of treated and control customers and
    their conversions among them, and ``qini`` = ``y_treated - y_control * n_treated / n_control`` (the control
    term 0 while no control customer is among them, as in scikit-uplift).

    Examples
    --------
    >>> qini_curve([1, 0, 1, 0], [1, 1, 0, 0], [4, 3, 2, 1])["qini"].tolist()
    [0.0, 1.0, 1.0, -1.0, 0.0]
    """
    c = _cumulative(y, treatment, score)
    ratio = np.divide(c["n_treated"], c["n_control"], out=np.zeros(len(c)), where=c["n_control"].to_numpy() > 0)
    c["qini"] = c["y_treated"] - c["y_control"] * ratio
    return c


def uplift_curve(y, treatment, score) -> pd.DataFrame:
    """The uplift curve of a ranking: the top customers' uplift rate times their number.

    ``uplift`` = ``(y_treated / n_treated - y_control / n_control) * n``, each rate 0 while its group is absent
    from the top customers (as in scikit-uplift). Parameters as :func:`qini_curve`.

    Examples
    --------
    >>> uplift_curve([1, 0, 1, 0], [1, 1, 0, 0], [4, 3, 2, 1])["uplift"].tolist()
    [0.0, 1.0, 1.0, -1.5, 0.0]
    """
    c = _cumulative(y, treatment, score)
    rate_t = np.divide(c["y_treated"], c["n_treated"], out=np.zeros(len(c)), where=c["n_treated"].to_numpy() > 0)
    rate_c = np.divide(c["y_control"], c["n_control"], out=np.zeros(len(c)), where=c["n_control"].to_numpy() > 0)
    c["uplift"] = (rate_t - rate_c) * c["n"]
    return c


def _area_above_random(x: np.ndarray, curve: np.ndarray) -> float:
    """Area between a curve from (0, 0) to (N, end) and the straight line between them, per customer (trapezoids)."""
    random_line = curve[-1] * x / x[-1]
    return float(np.trapezoid(curve - random_line, x) / x[-1])


def _best_order(y, treatment) -> np.ndarray:
    """The best ranking of the observed outcomes: treated converters first, control converters last."""
    y_, t_ = np.asarray(y, float), np.asarray(treatment).astype(bool)
    return np.where(t_, y_, -y_)  # treated converters 1, control converters -1, the rest 0


def qini_coefficient(y, treatment, score, normalize: bool = False) -> float:
    """Area between the Qini curve and the random ranking's straight line, per customer.

    Positive when the ranking puts customers the treatment moves first; 0 for a ranking no better than random.
    ``normalize=True`` divides by the same area for the best ranking of these outcomes (treated converters first,
    control converters last), as scikit-uplift's ``qini_auc_score`` does: 1 for that ranking. Parameters as
    :func:`qini_curve`.
    """
    c = qini_curve(y, treatment, score)
    area = _area_above_random(c["n"].to_numpy(), c["qini"].to_numpy())
    if not normalize:
        return area
    best = qini_curve(y, treatment, _best_order(y, treatment))
    top = _area_above_random(best["n"].to_numpy(), best["qini"].to_numpy())
    if top <= 0:
        raise ValueError("no ranking beats a random one on these outcomes (no one converted): nothing to normalize")
    return area / top


def auuc(y, treatment, score, normalize: bool = False) -> float:
    """Area between the uplift curve and the random ranking's straight line, per customer.

    ``normalize=True`` divides by the same area for the best ranking of these outcomes, as scikit-uplift's
    ``uplift_auc_score`` does. Parameters as :func:`qini_curve`.
    """
    c = uplift_curve(y, treatment, score)
    area = _area_above_random(c["n"].to_numpy(), c["uplift"].to_numpy())
    if not normalize:
        return area
    best = uplift_curve(y, treatment, _best_order(y, treatment))
    top = _area_above_random(best["n"].to_numpy(), best["uplift"].to_numpy())
    if top <= 0:
        raise ValueError("no ranking beats a random one on these outcomes (no one converted): nothing to normalize")
    return area / top


def uplift_at_k(y, treatment, score, k: float) -> float:
    """Uplift rate (treated conversion rate minus control conversion rate) among the top ``k`` share of customers.

    The top share is taken whole: customers tied with the last one kept are kept too. Parameters as
    :func:`qini_curve`; ``k`` in (0, 1].
    """
    if not 0 < k <= 1:
        raise ValueError(f"k is a share of the customers, in (0, 1]; got {k!r}")
    c = _cumulative(y, treatment, score)
    row = int(np.searchsorted(c["n"].to_numpy(), k * c["n"].iloc[-1], side="left"))
    top = c.iloc[row]
    if top["n_treated"] == 0 or top["n_control"] == 0:
        raise ValueError(
            f"the top {k:.0%} holds {'no treated' if top['n_treated'] == 0 else 'no control'} customer: take a larger k"
        )
    return float(top["y_treated"] / top["n_treated"] - top["y_control"] / top["n_control"])
