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

The learners, scikit-learn style (``fit(X, y, treatment)``, ``predict(X)``: one column of uplift per treatment),
for any number of treatments against one control:

* :class:`TLearner` ("two models"): one classifier per arm; the uplift of an arm is its predicted conversion
  probability minus the control's (Künzel et al. 2019).
* :class:`DRLearner` (doubly robust): cross-fitted outcome models per arm give each customer a pseudo-outcome
  whose mean is the customer's true uplift whatever the outcome models' errors, since the chance of being
  assigned to each arm is known in a randomised campaign; a regressor of those pseudo-outcomes on the features is
  the uplift (Kennedy 2023, "Towards optimal doubly robust estimation of heterogeneous causal effects").

:func:`best_treatment` picks, per customer, the treatment with the largest expected gain in value, or none when no
treatment pays for its cost.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "qini_curve",
    "uplift_curve",
    "qini_coefficient",
    "auuc",
    "uplift_at_k",
    "TLearner",
    "DRLearner",
    "best_treatment",
    "planted_campaign",
    "uplift_features",
    "order_values",
    "cross_predict",
    "cross_response",
    "true_qini",
    "planted_uplift",
    "best_arm_agreement",
    "plan_budget",
    "plan_value",
    "one_campaign",
    "check_sends",
    "arm_summary",
    "send_list",
    "profit_outcome",
    "replay_test",
    "true_gains",
    "plan_total",
]


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


def _area_above_random(curve, column: str, y, treatment, score, normalize: bool) -> float:
    """Area between ``curve``'s ``column`` and the straight line of a random ranking, per customer.

    Trapezoids between the points where the score changes; with ``normalize``, divided by the same area for the best
    ranking of the outcomes.
    """

    def area(s) -> float:
        c = curve(y, treatment, s)
        x, v = c["n"].to_numpy(), c[column].to_numpy()
        return float(np.trapezoid(v - v[-1] * x / x[-1], x) / x[-1])

    got = area(score)
    if not normalize:
        return got
    top = area(_best_order(y, treatment))
    if top <= 0:
        raise ValueError("no ranking beats a random one on these outcomes (no one converted): nothing to normalize")
    return got / top


def _best_order(y, treatment) -> np.ndarray:
    """The best ranking of the observed outcomes: treated converters first, control converters last."""
    y_, t_ = np.asarray(y, float), np.asarray(treatment).astype(bool)
    return np.where(t_, y_, -y_)  # treated converters 1, control converters -1, the rest 0


def qini_coefficient(y, treatment, score, normalize: bool = False) -> float:
    """Area between the Qini curve and the random ranking's straight line, per customer.

    Positive when the ranking puts customers the treatment moves first; 0 for a ranking no better than random.
    ``normalize=True`` divides by the same area for the best ranking of these outcomes (treated converters first,
    control converters last), as scikit-uplift's ``qini_auc_score`` does: 1 for that ranking.

    Parameters
    ----------
    y : array of 0/1
        Whether each customer converted in the campaign's window.
    treatment : array of 0/1
        1 for a treated customer, 0 for the randomised control.
    score : array
        The ranking: higher first. Customers with equal scores are taken together.
    normalize : bool, default False
        Divide by the area of the best ranking of these outcomes.

    Returns
    -------
    float
        The area per customer (or its share of the best ranking's).
    """
    return _area_above_random(qini_curve, "qini", y, treatment, score, normalize)


def auuc(y, treatment, score, normalize: bool = False) -> float:
    """Area between the uplift curve and the random ranking's straight line, per customer.

    ``normalize=True`` divides by the same area for the best ranking of these outcomes, as scikit-uplift's
    ``uplift_auc_score`` does. Parameters as :func:`qini_curve`.
    """
    return _area_above_random(uplift_curve, "uplift", y, treatment, score, normalize)


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


def _arms(y, treatment, control) -> tuple[np.ndarray, np.ndarray, list]:
    """Outcomes, arm labels and the treatments (arms other than the control, sorted); clear errors otherwise."""
    y_ = np.asarray(y)
    t_ = np.asarray(treatment)
    if y_.ndim != 1 or t_.ndim != 1 or len(y_) != len(t_):
        raise ValueError(f"y and treatment must be one value per customer each; got shapes {y_.shape} and {t_.shape}")
    if y_.dtype.kind not in "biuf" or not np.isin(y_, (0, 1)).all():
        raise ValueError("y must be 0 or 1 for every customer (converted in the campaign's window or not)")
    arms = pd.unique(t_)
    if control not in set(arms.tolist()):
        raise ValueError(
            f"no customer is in the control arm {control!r} (arms: {sorted(map(str, arms))}); uplift needs a "
            "randomised control group: name it with control=..."
        )
    treatments = sorted((a for a in arms.tolist() if a != control), key=str)
    if not treatments:
        raise ValueError(f"every customer is in the control arm {control!r}: no treatment to learn the uplift of")
    for arm in [control, *treatments]:
        got = y_[t_ == arm]
        if got.min() == got.max():
            raise ValueError(
                f"every customer of arm {arm!r} {'converted' if got[0] else 'did not convert'} ({len(got)} customers): "
                "a model cannot learn who converts from it"
            )
    return y_.astype(int), t_, treatments


def _classifier(estimator):
    """A fresh copy of ``estimator``, or the default outcome model (gradient-boosted trees)."""
    if estimator is not None:
        return clone(estimator)
    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=0)


def _proba(model, X) -> np.ndarray:
    return model.predict_proba(X)[:, 1]


def _matrix(X) -> np.ndarray:
    """Features as a numpy array (a DataFrame's values, in its column order)."""
    return X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)


def _folds(y_: np.ndarray, t_: np.ndarray, n_folds, random_state):
    """Shuffled folds stratified by arm and outcome: ``(train, test)`` index pairs, as every cross-fit here uses."""
    if not isinstance(n_folds, Integral) or n_folds < 2:
        raise ValueError(f"n_folds must be an integer of at least 2, got {n_folds!r}")
    strata = pd.factorize(pd.Series(t_).astype(str) + "|" + pd.Series(y_).astype(str))[0]
    return StratifiedKFold(n_folds, shuffle=True, random_state=random_state).split(np.zeros(len(y_)), strata)


class TLearner(BaseEstimator):
    """One classifier per arm; uplift of an arm = its conversion probability minus the control's.

    Parameters
    ----------
    estimator : classifier, optional
        Cloned for each arm; default ``HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05,
        random_state=0)``.
    control : object, default "control"
        The label of the control arm in ``treatment``.

    Attributes
    ----------
    treatments_ : list
        The treatment arms, in the order of ``predict``'s columns.
    models_ : dict
        The fitted classifier of each arm (control included).
    """

    treatments_: list
    models_: dict

    def __init__(self, estimator=None, control="control") -> None:
        self.estimator = estimator
        self.control = control

    def _base(self):
        return _classifier(self.estimator)

    def fit(self, X, y, treatment) -> TLearner:
        """Fit one classifier per arm on that arm's customers.

        Parameters
        ----------
        X : array or DataFrame (customers x features)
            The customers' features.
        y : array of 0/1
            Whether each customer converted in the campaign's window.
        treatment : array
            The arm each customer was randomised to (the control's label is ``control``).

        Returns
        -------
        TLearner
            The fitted learner.
        """
        y_, t_, self.treatments_ = _arms(y, treatment, self.control)
        X_ = _matrix(X)
        self.models_ = {
            arm: self._base().fit(X_[t_ == arm], y_[t_ == arm]) for arm in [self.control, *self.treatments_]
        }
        return self

    def predict_proba_arms(self, X) -> np.ndarray:
        """Conversion probability under each arm, columns: control, then ``treatments_``.

        Parameters
        ----------
        X : array or DataFrame (customers x features)
            The customers' features, as in ``fit``.

        Returns
        -------
        array (customers x arms)
            Each arm's predicted probability of converting.
        """
        check_is_fitted(self, "models_")
        X_ = _matrix(X)
        return np.column_stack([_proba(self.models_[a], X_) for a in [self.control, *self.treatments_]])

    def predict(self, X) -> np.ndarray:
        """Uplift of each treatment (columns in the order of ``treatments_``).

        Parameters
        ----------
        X : array or DataFrame (customers x features)
            The customers' features, as in ``fit``.

        Returns
        -------
        array (customers x treatments)
            Each treatment's predicted probability of converting minus the control's.
        """
        p = self.predict_proba_arms(X)
        return p[:, 1:] - p[:, [0]]


class DRLearner(BaseEstimator):
    """Doubly robust uplift: cross-fitted outcome models, known assignment shares, a regressor of pseudo-outcomes.

    For a treatment ``a`` and a customer in arm ``a`` or in the control, with outcome models ``m_a`` and ``m_c``
    fitted on other folds and ``e`` the share of arm ``a`` among the two arms (known in a randomised campaign, or
    estimated as the observed share), the pseudo-outcome is
    ``m_a(x) - m_c(x) + [in a] (y - m_a(x)) / e - [in control] (y - m_c(x)) / (1 - e)``; its expectation given ``x``
    is the true uplift of ``a``, so a regression of it on ``x`` estimates the uplift even where the outcome models
    are wrong.

    Parameters
    ----------
    estimator : classifier, optional
        The outcome model, cloned per arm and fold; default as :class:`TLearner`'s.
    regressor : regressor, optional
        The final model of the pseudo-outcomes; default ``HistGradientBoostingRegressor(max_iter=200,
        learning_rate=0.05, min_samples_leaf=200, random_state=0)``.
    control : object, default "control"
        The label of the control arm.
    shares : dict, optional
        Each arm's assignment probability as designed (e.g. ``{"control": 0.25, "reminder": 0.25, ...}``); default:
        the observed shares.
    n_folds : int, default 2
        Folds of the cross-fitting.
    random_state : int, default 0
        Seed of the folds.
    """

    treatments_: list
    models_: dict

    def __init__(
        self, estimator=None, regressor=None, control="control", shares=None, n_folds: int = 2, random_state: int = 0
    ) -> None:
        self.estimator = estimator
        self.regressor = regressor
        self.control = control
        self.shares = shares
        self.n_folds = n_folds
        self.random_state = random_state

    def _outcome_model(self):
        return _classifier(self.estimator)

    def _final_model(self):
        if self.regressor is not None:
            return clone(self.regressor)
        return HistGradientBoostingRegressor(
            max_iter=200, learning_rate=0.05, min_samples_leaf=200, random_state=self.random_state
        )

    def _shares(self, t_: np.ndarray) -> dict:
        arms = [self.control, *self.treatments_]
        if self.shares is None:
            return {a: float(np.mean(t_ == a)) for a in arms}
        missing = [a for a in arms if a not in self.shares]
        if missing:
            raise ValueError(f"shares has no assignment probability for arm(s) {missing}")
        bad = {a: self.shares[a] for a in arms if not 0 < self.shares[a] < 1}
        if bad:
            raise ValueError(f"assignment probabilities must be in (0, 1); got {bad}")
        return {a: float(self.shares[a]) for a in arms}

    def fit(self, X, y, treatment) -> DRLearner:
        """Cross-fit the outcome models, form each treatment's pseudo-outcomes, regress them on the features.

        Parameters
        ----------
        X : array or DataFrame (customers x features)
            The customers' features.
        y : array of 0/1
            Whether each customer converted in the campaign's window.
        treatment : array
            The arm each customer was randomised to (the control's label is ``control``).

        Returns
        -------
        DRLearner
            The fitted learner.
        """
        y_, t_, self.treatments_ = _arms(y, treatment, self.control)
        X_ = _matrix(X)
        share = self._shares(t_)
        arms = [self.control, *self.treatments_]
        # out-of-fold predictions of every arm's outcome model for every customer
        mu = np.zeros((len(y_), len(arms)))
        for train, test in _folds(y_, t_, self.n_folds, self.random_state):
            for j, arm in enumerate(arms):
                rows = train[t_[train] == arm]
                mu[test, j] = _proba(self._outcome_model().fit(X_[rows], y_[rows]), X_[test])
        self.models_ = {}
        for j, arm in enumerate(self.treatments_, start=1):
            rows = np.flatnonzero((t_ == arm) | (t_ == self.control))
            e = share[arm] / (share[arm] + share[self.control])
            in_a = (t_[rows] == arm).astype(float)
            m_a, m_c, yy = mu[rows, j], mu[rows, 0], y_[rows]
            pseudo = m_a - m_c + in_a * (yy - m_a) / e - (1 - in_a) * (yy - m_c) / (1 - e)
            self.models_[arm] = self._final_model().fit(X_[rows], pseudo)
        return self

    def predict(self, X) -> np.ndarray:
        """Uplift of each treatment (columns in the order of ``treatments_``).

        Parameters
        ----------
        X : array or DataFrame (customers x features)
            The customers' features, as in ``fit``.

        Returns
        -------
        array (customers x treatments)
            Each treatment's predicted uplift.
        """
        check_is_fitted(self, "models_")
        X_ = _matrix(X)
        return np.column_stack([self.models_[a].predict(X_) for a in self.treatments_])


def best_treatment(uplift, treatments: list, value=1.0, costs=None, none: str = "none") -> pd.DataFrame:
    """Per customer, the treatment with the largest expected gain (uplift x value - cost), or ``none``.

    Parameters
    ----------
    uplift : array (customers x treatments)
        Predicted (or true) uplift of each treatment, e.g. ``model.predict(X)``.
    treatments : list
        The treatments, in the order of ``uplift``'s columns (``model.treatments_``).
    value : float or array, default 1.0
        What a conversion is worth (per customer if an array).
    costs : dict, optional
        Cost per message of each treatment (e.g. a discount's expected cost); default 0.
    none : str, default "none"
        The label of sending nothing (when no treatment's gain is positive).

    Returns
    -------
    DataFrame with ``treatment`` and ``gain`` (expected incremental value net of cost; 0 for ``none``).
    """
    u = np.asarray(uplift, float)
    if u.ndim != 2 or u.shape[1] != len(treatments):
        raise ValueError(f"uplift must have one column per treatment ({len(treatments)}); got shape {u.shape}")
    cost = np.array([float((costs or {}).get(t, 0.0)) for t in treatments])
    gain = u * np.asarray(value, float).reshape(-1, 1) - cost
    best = np.argmax(gain, axis=1)
    top = gain[np.arange(len(u)), best]
    names = np.asarray(treatments, dtype=object)[best]
    return pd.DataFrame({"treatment": np.where(top > 0, names, none), "gain": np.where(top > 0, top, 0.0)})


def planted_campaign(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict, np.ndarray]:
    """A small randomised campaign whose uplifts are known: for checking learners against the truth.

    Five features uniform on [0, 1]; conversion without a message 4 to 16 % (rising with the first feature); a
    reminder adds 3.5 points for customers with the second feature above 0.5 and takes 2 points from those with
    the fourth above 0.8 (sleeping dogs); a discount adds -1 to 6 points as the third feature grows. Customers are
    assigned at random, a third to each of control, reminder and discount.

    Returns
    -------
    ``(X, y, arm, uplift, base)``: features, conversions, arm labels, each treatment's true uplift per customer,
    and the conversion probability without a message.
    """
    rng = np.random.default_rng(seed)
    X = rng.random((n, 5))
    base = 0.04 + 0.12 * X[:, 0]
    uplift = {
        "reminder": np.where(X[:, 3] > 0.8, -0.02, 0.035 * (X[:, 1] > 0.5)),
        "discount": 0.07 * X[:, 2] - 0.01,
    }
    arm = rng.choice(np.array(["control", "reminder", "discount"], dtype=object), n)
    p = base + sum(np.where(arm == a, u, 0.0) for a, u in uplift.items())
    return X, (rng.random(n) < p).astype(int), arm, uplift, base


# ---------------------------------------------------------------------------------------------------------------
# Learning from a randomised campaign: features at the decision time, out-of-fold predictions, the answer key
# ---------------------------------------------------------------------------------------------------------------
def uplift_features(world, as_of, n_personas: int = 5, random_state: int = 0) -> pd.DataFrame:
    """Few, stable features of each customer from the history before ``as_of``: persona, orders, days inactive.

    A campaign test of a few thousand customers per arm cannot teach a flexible model which of twenty noisy
    features matter: its uplift is a few points against a purchase noise of tens. The features here compress the
    history the way step 1 of the method does — a persona (k-means on lesson 01's scaled behaviour features, one
    column per persona) — and keep two signals no persona holds: how many orders the customer has placed (a
    recommendation needs a history) and how long ago their last action of any kind was (a customer who has left
    answers no message).

    Parameters
    ----------
    world : World
        ``customers`` and ``transactions`` (``events`` and ``products`` are used when present).
    as_of : date
        The decision time: only history before it counts.
    n_personas : int, default 5
        Number of personas (lesson 01 chooses it from the data).
    random_state : int, default 0
        Seed of k-means.

    Returns
    -------
    DataFrame indexed by ``customer_id``: ``persona_1 ... persona_k`` (0/1), ``log_orders`` (log(1 + orders)) and
    ``log_inactive_days`` (log(1 + days since the last order or event)). Behaviour features that are the same for
    every customer (e.g. open rates, when a team's events hold no opens) tell personas nothing: they are left out of
    the k-means and named in ``attrs["left_out"]``.
    """
    from sklearn.cluster import KMeans

    from . import segmentation

    if not isinstance(n_personas, Integral) or n_personas < 1:
        raise ValueError(f"n_personas must be a whole number of at least 1, got {n_personas!r}")
    as_of = pd.Timestamp(as_of)
    feats, last = segmentation._features_and_last_action(world, as_of, shrink=3.0, undefined="population")
    if len(feats) < n_personas:
        raise ValueError(f"{len(feats)} customers cannot form {n_personas} personas")
    inactive = (as_of - last).dt.days.fillna(feats["recency_days"]).astype(float)
    tx = world.transactions
    before = tx.loc[tx["order_date"] < as_of, ["order_id", "customer_id"]]
    orders = before.loc[~before["order_id"].duplicated(), "customer_id"].value_counts()
    orders = orders.reindex(feats.index, fill_value=0).to_numpy()
    constant = [c for c in feats.columns if feats[c].nunique(dropna=False) < 2]
    if len(constant) == feats.shape[1]:
        raise ValueError("every behaviour feature is the same for all customers: no personas can be formed")
    scaled = segmentation.scale_features(feats.drop(columns=constant))
    persona = KMeans(n_personas, n_init=10, random_state=random_state).fit_predict(scaled)
    out = pd.DataFrame({f"persona_{k + 1}": (persona == k).astype(float) for k in range(n_personas)}, index=feats.index)
    out.attrs["left_out"] = constant
    out["log_orders"] = np.log1p(orders.astype(float))
    out["log_inactive_days"] = np.log1p(inactive.clip(lower=0).to_numpy())
    return out


def order_values(world, as_of, customer_ids) -> pd.Series:
    """Each customer's mean order value (revenue per order, as paid) before ``as_of``.

    What a conversion of that customer is worth, as the history tells it: the value a send plan multiplies
    uplifts by. A customer who never ordered gets the population's mean order value.

    Parameters
    ----------
    world : World
        ``transactions`` (with ``quantity`` and ``unit_price``).
    as_of : date
        Only orders before it count.
    customer_ids : array
        The customers to value.

    Returns
    -------
    Series
        The mean order value per customer, in the order asked.
    """
    as_of = pd.Timestamp(as_of)
    tx = world.transactions
    before = tx["order_date"].to_numpy() < as_of.to_datetime64()
    if not before.any():
        raise ValueError(f"no order before {as_of.date()}: no history to value a conversion by")
    lines = pd.DataFrame(
        {
            "customer_id": tx["customer_id"].to_numpy()[before],
            "order_id": tx["order_id"].to_numpy()[before],
            "value": (tx["quantity"].to_numpy() * tx["unit_price"].to_numpy())[before],
        }
    )
    orders = lines.groupby(["customer_id", "order_id"], sort=False, observed=True)["value"].sum()
    per_customer = orders.groupby(level=0, sort=False).mean()
    out = per_customer.reindex(pd.Index(customer_ids))
    return out.fillna(float(orders.mean())).rename("order_value")


def cross_predict(
    learner, X, y, treatment, n_folds: int = 5, random_state: int = 0, method: str = "predict"
) -> np.ndarray:
    """Out-of-fold predictions: each customer's from a copy of ``learner`` fitted on the other folds only.

    So every customer of a campaign gets a prediction that did not see their own outcome, and all of them can be
    graded, or planned for, without a separate hold-out. Folds are stratified by arm and outcome.

    Parameters
    ----------
    learner : TLearner or DRLearner
        Any estimator with ``fit(X, y, treatment)``; cloned for each fold.
    X : array or DataFrame
        The customers' features.
    y : array of 0/1
        Whether each customer converted.
    treatment : array
        Each customer's arm.
    n_folds : int, default 5
        Number of folds.
    random_state : int, default 0
        Seed of the folds.
    method : {"predict", "predict_proba_arms"}
        Uplift per treatment, or (T-learner) the conversion probability under each arm, control first.

    Returns
    -------
    array with one row per customer, columns as ``method`` gives them (treatments in sorted order).
    """
    if method not in ("predict", "predict_proba_arms"):
        raise ValueError(f"method must be 'predict' or 'predict_proba_arms', got {method!r}")
    y_, t_ = np.asarray(y), np.asarray(treatment)
    X_ = _matrix(X)
    out = None
    for train, test in _folds(y_, t_, n_folds, random_state):
        got = getattr(clone(learner).fit(X_[train], y_[train], t_[train]), method)(X_[test])
        if out is None:
            out = np.zeros((len(y_), got.shape[1]))
        out[test] = got
    assert out is not None
    return out


def cross_response(
    estimator, X, y, treatment, control="control", n_folds: int = 5, random_state: int = 0
) -> np.ndarray:
    """Propensity targeting's scores: out-of-fold P(converts | sent treatment ``a``) per treatment (sorted).

    What a response model trained on the customers who got a message predicts: who buys when sent it — the usual
    way to choose a campaign's audience, which ranks first the customers who would have bought anyway.

    Parameters
    ----------
    estimator : classifier
        The response model, cloned per treatment and fold (None: gradient-boosted trees).
    X : array or DataFrame
        The customers' features.
    y : array of 0/1
        Whether each customer converted.
    treatment : array
        Each customer's arm.
    control : object, default "control"
        The control arm's label.
    n_folds : int, default 5
        Number of folds.
    random_state : int, default 0
        Seed of the folds.

    Returns
    -------
    array (customers x treatments)
        Each customer's out-of-fold probability of converting when sent each treatment.
    """
    y_, t_, treatments = _arms(y, treatment, control)
    X_ = _matrix(X)
    out = np.zeros((len(y_), len(treatments)))
    for train, test in _folds(y_, t_, n_folds, random_state):
        for j, arm in enumerate(treatments):
            rows = train[t_[train] == arm]
            out[test, j] = _proba(_classifier(estimator).fit(X_[rows], y_[rows]), X_[test])
    return out


def true_qini(true_uplift, score, normalize: bool = True) -> float:
    """Qini coefficient of a ranking measured on each customer's true uplift: exact, no outcome noise.

    In a planted world the expected incremental conversions of treating the top ``k`` customers are the sum of
    their true uplifts; the area between that curve and a random ranking's straight line, per customer, is the
    ranking's Qini coefficient without the noise of one campaign's outcomes. ``normalize=True`` divides it by the
    area of the oracle's ranking (by true uplift): 1 for the oracle, 0 for random, negative for worse than random.
    Customers with equal scores are taken together.

    Parameters
    ----------
    true_uplift : array
        Each customer's true uplift of the treatment (e.g. from :func:`planted_uplift`).
    score : array
        The ranking to grade: higher first.
    normalize : bool, default True
        Divide by the oracle's area.

    Returns
    -------
    float
        The area per customer, or its share of the oracle's.
    """
    t = np.asarray(true_uplift, float)
    s = np.asarray(score, float)
    if t.ndim != 1 or s.shape != t.shape or not len(t):
        raise ValueError(f"true_uplift and score must be one value per customer each; got {t.shape} and {s.shape}")
    if np.isnan(s).any() or np.isnan(t).any():
        raise ValueError("true_uplift and score may not be NaN")

    def area(sc: np.ndarray) -> float:
        order = np.argsort(-sc, kind="stable")
        ordered = sc[order]
        ends = np.r_[ordered[1:] != ordered[:-1], True]
        k = np.r_[0, np.flatnonzero(ends) + 1].astype(float)
        g = np.r_[0.0, np.cumsum(t[order])[ends]]
        return float((np.trapezoid(g, k) - t.sum() * len(t) / 2) / len(t))

    got = area(s)
    if not normalize:
        return got
    top = area(t)
    if top <= 0:
        raise ValueError("every customer has the same true uplift: no ranking beats a random one")
    return got / top


def planted_uplift(truth, customer_ids) -> pd.DataFrame:
    """The answer key of the course world's test (truth ``uplift_test``): P(buy) under each arm, per customer.

    Columns: each arm's true probability of buying in the window (``p_<arm>``), indexed by ``customer_id`` in the
    order asked. Raises when the truth has no such test or a customer was not in it.

    Parameters
    ----------
    truth : Truth
        The world's truth (``world.truth``).
    customer_ids : array
        The customers to look up.

    Returns
    -------
    DataFrame
        One row per customer, one column per arm.
    """
    if truth is None or "uplift_test" not in truth:
        raise ValueError(
            "the world has no planted uplift_test in truth.json: the answer key exists only for the course's worlds"
        )
    value = truth["uplift_test"]
    r = pd.DataFrame(value["recipients"]).set_index("customer_id")
    cols = [f"p_{a}" for a in value["arms"]]
    ids = pd.Index(customer_ids)
    missing = ids.difference(r.index)
    if len(missing):
        raise ValueError(f"{len(missing)} customers are not in the planted test, e.g. {missing[:3].tolist()}")
    return r.loc[ids, cols]


def best_arm_agreement(uplift, true_uplift, min_gap: float = 0.01) -> tuple[float, int]:
    """Share of customers whose predicted best arm (a treatment, or none when no uplift is positive) is the true one.

    Counted among the customers whose true best arm beats their second best by more than ``min_gap`` (where the
    choice matters).

    Parameters
    ----------
    uplift : array (customers x treatments)
        Predicted uplift of each treatment.
    true_uplift : array (customers x treatments)
        True uplift of each treatment, columns in the same order.
    min_gap : float, default 0.01
        How much the true best arm must beat the second for the customer to count.

    Returns
    -------
    tuple
        ``(share, number of customers counted)``.
    """
    u, t = np.asarray(uplift, float), np.asarray(true_uplift, float)
    if u.shape != t.shape or u.ndim != 2:
        raise ValueError(
            f"uplift and true_uplift must have the same shape (customers x treatments); got {u.shape} and {t.shape}"
        )
    zero = np.zeros((len(u), 1))
    uu, tt = np.hstack([zero, u]), np.hstack([zero, t])
    ranked = np.sort(tt, axis=1)
    clear = ranked[:, -1] - ranked[:, -2] > min_gap
    if not clear.any():
        raise ValueError(f"no customer's true best arm beats the second by more than {min_gap}")
    agree = np.argmax(uu, axis=1) == np.argmax(tt, axis=1)
    return float(agree[clear].mean()), int(clear.sum())


def plan_budget(gain, cost, budget: float, treatments: list, none: str = "none") -> pd.DataFrame:
    """Who gets which treatment within a budget: the largest total expected gain whose expected cost fits it.

    Each customer gets at most one treatment. With a price ``lam`` on each unit of budget, every customer takes the
    treatment of largest ``gain - lam * cost`` (none if no such value is positive); ``lam`` is the smallest price
    whose plan fits the budget (found by bisection), the Lagrangian solution of this multiple-choice knapsack,
    optimal up to the last few customers at the budget's edge.

    Parameters
    ----------
    gain : array (customers x treatments)
        Expected incremental profit of each treatment, net of its cost.
    cost : array (customers x treatments) or one value per treatment
        What each treatment spends of the budget (messages, expected discounts), all positive.
    budget : float
        The most the plan may spend; at least the cheapest single message.
    treatments : list
        Names of the columns.
    none : str, default "none"
        The label of sending nothing.

    Returns
    -------
    DataFrame with ``treatment``, ``gain`` and ``cost`` per customer (0 for ``none``).
    """
    g = np.asarray(gain, float)
    if g.ndim != 2 or g.shape[1] != len(treatments):
        raise ValueError(f"gain must have one column per treatment ({len(treatments)}); got shape {g.shape}")
    c = np.broadcast_to(np.asarray(cost, float), g.shape)
    if not np.isfinite(g).all() or not np.isfinite(c).all():
        raise ValueError("gain and cost must be finite numbers (no NaN)")
    if (c <= 0).any():
        raise ValueError("every treatment must cost something (cost > 0): a free treatment needs no budget")
    if not np.isfinite(budget) or budget < c.min():
        raise ValueError(
            f"the budget ({budget:g}) is smaller than the cheapest message ({c.min():g}): it cannot pay for anyone"
        )

    def plan(lam: float) -> tuple[np.ndarray, np.ndarray]:
        score = g - lam * c
        best = np.argmax(score, axis=1)
        take = score[np.arange(len(g)), best] > 0
        return best, take

    def spend(lam: float) -> float:
        best, take = plan(lam)
        return float(c[np.arange(len(g)), best][take].sum())

    lo, hi = 0.0, max(float((g / c).max()), 0.0) + 1.0
    if spend(lo) > budget:
        while hi - lo > 1e-12 * hi:  # about 40 halvings: the price to twelve digits
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if spend(mid) <= budget else (mid, hi)
        lo = hi
    best, take = plan(lo)
    rows = np.arange(len(g))
    names = np.asarray(treatments, dtype=object)[best]
    return pd.DataFrame(
        {
            "treatment": np.where(take, names, none),
            "gain": np.where(take, g[rows, best], 0.0),
            "cost": np.where(take, c[rows, best], 0.0),
        }
    )


def plan_value(plan, treatment, outcome, shares: dict, control="control", none: str = "none") -> tuple[float, float]:
    """Incremental value of a plan against sending nothing, estimated on a randomised campaign, and its standard error.

    For a plan that gives customer ``i`` the arm ``π_i`` (or nothing), each customer of the campaign contributes
    ``R_i ([A_i = π_i] / e(π_i) - [A_i = control] / e(control))``, where ``A_i`` is the arm the campaign drew, ``e`` the
    arms' assignment shares and ``R_i`` the customer's observed outcome (e.g. profit); customers the plan leaves
    alone contribute 0. The mean of these terms estimates, without bias when the plan did not use customer ``i``'s
    own outcome (out-of-fold predictions), the plan's mean incremental value per customer; the total is ``n`` times
    it.

    Parameters
    ----------
    plan : array
        The treatment the plan gives each customer of the campaign, or ``none``.
    treatment : array
        The arm the campaign drew for each customer.
    outcome : array
        Each customer's observed outcome (profit, revenue or conversion).
    shares : dict
        Each arm's assignment probability.
    control : object, default "control"
        The control arm's label.
    none : str, default "none"
        The plan's label for sending nothing.

    Returns
    -------
    tuple
        ``(total incremental value, its standard error)``.
    """
    p, a = np.asarray(plan, dtype=object), np.asarray(treatment, dtype=object)
    r = np.asarray(outcome, float)
    if not len(p) == len(a) == len(r):
        raise ValueError(
            f"plan, treatment and outcome must be one value per customer each ({len(p)}, {len(a)}, {len(r)})"
        )
    arms = set(pd.unique(a).tolist())
    if control not in arms:
        raise ValueError(f"no customer is in the control arm {control!r}: a plan's value needs a control group")
    planned = set(pd.unique(p).tolist()) - {none}
    unknown = sorted(map(str, planned - arms))
    if unknown:
        raise ValueError(
            f"the plan uses treatment(s) {unknown} the campaign never sent: their value cannot be estimated"
        )
    missing = sorted(map(str, (arms | {control}) - set(shares)))
    if missing:
        raise ValueError(f"shares has no assignment probability for arm(s) {missing}")
    acted = p != none
    e_plan = np.array([shares[x] if x != none else 1.0 for x in p], float)
    terms = np.where(acted, r * ((a == p) / e_plan - (a == control) / shares[control]), 0.0)
    n = len(terms)
    return float(terms.sum()), float(np.sqrt(n) * terms.std(ddof=1))


# ---------------------------------------------------------------------------------------------------------------
# A send log of a randomised campaign: checked, then summarised per arm
# ---------------------------------------------------------------------------------------------------------------
def one_campaign(sends: pd.DataFrame, campaign=None, file: str = "campaign_sends.csv") -> tuple[pd.DataFrame, str]:
    """The rows of one campaign of a send log: the one named, or the most recent; and its id.

    Parameters
    ----------
    sends : DataFrame
        The send log, with ``campaign_id`` and ``sent_at``.
    campaign : object, optional
        The campaign to keep; default: the one sent last.
    file : str, default "campaign_sends.csv"
        The file named in the error.

    Returns
    -------
    tuple
        ``(rows of that campaign, with the log's index; its id)``.
    """
    from .io import SchemaError

    if sends.empty:
        raise SchemaError(file, "no rows", "export the campaign's customers, one row each with its arm", "campaign_id")
    ids = sends["campaign_id"].astype(str)
    if campaign is None:
        campaign = str(ids.loc[sends["sent_at"].idxmax()])
    elif str(campaign) not in set(ids):
        raise SchemaError(
            file,
            f"no campaign {campaign!r} in the log (it holds {sorted(set(ids))[:5]})",
            "name one of the log's campaigns in uplift_campaign, or None for the most recent",
            "campaign_id",
        )
    return sends[(ids == str(campaign)).to_numpy()], str(campaign)


def check_sends(
    sends: pd.DataFrame,
    arms=None,
    control="control",
    window_days: float | None = None,
    file: str = "campaign_sends.csv",
) -> list:
    """Refuse a send log uplift cannot be learned from; return its treatments (sorted).

    A log of one randomised campaign (``helpers.io`` has checked its columns and kinds; the index is each row's
    position in the file, as :func:`helpers.io.load_world` gives it, so a campaign picked out of a longer log with
    :func:`one_campaign` still names the file's lines): every arm it names must be
    declared in ``arms`` (when given), every declared arm must have customers, there must be a control arm, and
    every conversion must fall in the campaign's window after its send time. Each problem raises
    :class:`helpers.io.SchemaError` naming the file, the column, the first lines (as read, header = line 1) and the fix.

    Parameters
    ----------
    sends : DataFrame
        The send log (``campaign_sends``): ``arm``, ``sent_at``, ``converted`` and, optionally, ``converted_at``.
    arms : list, optional
        The arms the campaign declared; default: the arms found.
    control : object, default "control"
        The arm sent nothing.
    window_days : float, optional
        The campaign's window; conversions outside it are refused.
    file : str, default "campaign_sends.csv"
        The file named in the errors.

    Returns
    -------
    list
        The treatments (arms other than the control), sorted.
    """
    from .io import _SHOW, SchemaError, _vals

    def _lines(mask: np.ndarray) -> list[int]:  # the rows' lines in the file: the index is their position there
        return [int(i) + 2 for i in sends.index[mask][:_SHOW]]

    if sends.empty:
        raise SchemaError(file, "no rows", "export the campaign's customers, one row each with its arm", "arm")
    arm = sends["arm"].astype(object).to_numpy()
    present = pd.unique(arm).tolist()
    if arms is not None:
        unknown = ~pd.Series(arm).isin(list(arms)).to_numpy()
        if unknown.any():
            raise SchemaError(
                file,
                f"{int(unknown.sum())} rows name an arm that is not among the declared arms {list(arms)}",
                "correct the arm names in the export, or declare the arm in the lesson's parameter uplift_arms",
                "arm",
                _lines(unknown),
                _vals(sends["arm"], unknown),
            )
        empty = [a for a in arms if a not in present]
        if empty:
            raise SchemaError(
                file,
                f"the declared arm(s) {empty} have no customers",
                "export the whole campaign (every arm), or leave the empty arm out of uplift_arms",
                "arm",
            )
    if control not in present:
        raise SchemaError(
            file,
            f"no customer is in the control arm {control!r} (arms: {sorted(map(str, present))})",
            "uplift needs a randomised control group sent nothing: export it, or name it with uplift_control",
            "arm",
        )
    if window_days is not None and "converted_at" in sends:
        wait = (sends["converted_at"] - sends["sent_at"]).dt.total_seconds().to_numpy() / 86400
        outside = sends["converted_at"].notna().to_numpy() & ((wait < 0) | (wait > window_days))
        if outside.any():
            raise SchemaError(
                file,
                f"{int(outside.sum())} conversions fall outside the {window_days:g}-day window after sent_at",
                "count as converted only the orders in the window after each customer's send time (and set "
                "converted_at to the first of them)",
                "converted_at",
                _lines(outside),
                _vals(sends["converted_at"], outside),
            )
        bought = sends["converted"].to_numpy(bool)
        mismatch = bought != sends["converted_at"].notna().to_numpy()
        if mismatch.any():
            raise SchemaError(
                file,
                f"{int(mismatch.sum())} rows disagree between converted and converted_at",
                "give converted_at exactly for the rows with converted = 1",
                "converted_at",
                _lines(mismatch),
            )
    return sorted((a for a in present if a != control), key=str)


def arm_summary(converted, arm, revenue=None, control="control", level: float = 0.95) -> pd.DataFrame:
    """Per arm: customers, conversion rate, uplift over the control with its interval, revenue per customer.

    The interval of each treatment's uplift is the normal one of a difference of two proportions (independent
    random groups); the control's row has uplift 0 by definition.

    Parameters
    ----------
    converted : array of 0/1
        Whether each customer converted in the window.
    arm : array
        Each customer's arm.
    revenue : array, optional
        Each customer's revenue in the window.
    control : object, default "control"
        The control arm's label.
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        One row per arm, the control first.
    """
    from scipy.stats import norm

    y, a = np.asarray(converted, float), np.asarray(arm, dtype=object)
    if control not in set(a.tolist()):
        raise ValueError(f"no customer is in the control arm {control!r}")
    z = float(norm.ppf(0.5 + level / 2))
    df = pd.DataFrame({"arm": a, "y": y})
    if revenue is not None:
        df["revenue"] = np.asarray(revenue, float)
    g = df.groupby("arm", sort=False)
    out = pd.DataFrame({"customers": g.size(), "conversion": g["y"].mean()})
    if revenue is not None:
        out["revenue_per_customer"] = g["revenue"].mean()
    order = [control, *sorted((x for x in out.index if x != control), key=str)]
    out = out.loc[order]
    pc, nc = out.loc[control, "conversion"], out.loc[control, "customers"]
    p, n = out["conversion"], out["customers"]
    se = np.sqrt(p * (1 - p) / n + pc * (1 - pc) / nc)
    out["uplift"] = p - pc
    lo, hi = out["uplift"] - z * se, out["uplift"] + z * se
    out[f"uplift_low_{level:.0%}"], out[f"uplift_high_{level:.0%}"] = lo, hi
    out.loc[control, ["uplift", f"uplift_low_{level:.0%}", f"uplift_high_{level:.0%}"]] = 0.0  # by definition
    out.index.name = "arm"
    return out


# ---------------------------------------------------------------------------------------------------------------
# A send list from estimated uplifts, its profit outcome, and replays of a planted test
# ---------------------------------------------------------------------------------------------------------------
def send_list(
    uplift,
    p_treated,
    value,
    treatments: list,
    *,
    gross_margin: float,
    discounts: dict,
    message_cost: float,
    budget="auto",
) -> tuple[pd.DataFrame, float, np.ndarray, np.ndarray]:
    """The send list within a budget: each treatment's expected incremental profit, and the plan that spends best.

    A treatment ``a`` given to a customer whose order is worth ``v`` brings ``m v uplift_a - d_a v P(buy | a) - c``:
    the margin on the extra orders, less the discount paid on every order of the window (the ones that would have
    come anyway too), less the message. It spends ``c + d_a v P(buy | a)`` of the budget. :func:`plan_budget` picks.

    Parameters
    ----------
    uplift : array (customers x treatments)
        Estimated uplift of each treatment.
    p_treated : array (customers x treatments)
        Estimated probability of buying when sent each treatment.
    value : array
        Each customer's order value (e.g. :func:`order_values`).
    treatments : list
        The treatments, in the order of the columns.
    gross_margin : float
        Share of an order's value that is profit before any discount, in (0, 1).
    discounts : dict
        Discount each treatment gives on every order of the window (treatments not named: none).
    message_cost : float
        Cost of one message (> 0).
    budget : float or "auto", default "auto"
        What the list may spend; "auto": half of what the best list without a budget would spend.

    Returns
    -------
    tuple
        ``(plan, budget, gain, spend)``: the plan (:func:`plan_budget`'s table with ``incremental_buyers``), the
        budget used, and the expected gain and spend of every treatment for every customer.
    """
    u, p = np.asarray(uplift, float), np.asarray(p_treated, float)
    v = np.asarray(value, float)
    if u.shape != p.shape or u.ndim != 2 or u.shape[1] != len(treatments) or len(v) != len(u):
        raise ValueError(
            f"uplift {u.shape} and p_treated {p.shape} must be customers x treatments ({len(treatments)}), "
            f"value one per customer ({len(v)})"
        )
    if not 0 < gross_margin < 1:
        raise ValueError(f"gross_margin is a share of an order's value, in (0, 1); got {gross_margin!r}")
    if not message_cost > 0:
        raise ValueError(f"message_cost must be positive, got {message_cost!r}")
    d = np.array([float(discounts.get(t, 0.0)) for t in treatments])
    if ((d < 0) | (d >= 1)).any():
        raise ValueError(f"discounts are shares of an order's value, in [0, 1); got {dict(discounts)}")
    expected_discount = d * v[:, None] * p
    gain = gross_margin * v[:, None] * u - expected_discount - message_cost
    spend = message_cost + expected_discount
    if isinstance(budget, str):
        if budget != "auto":
            raise ValueError(f"budget must be a number or 'auto', got {budget!r}")
        unlimited = plan_budget(gain, spend, float(spend.sum()), treatments)
        budget = 0.5 * float(unlimited["cost"].sum())
    plan = plan_budget(gain, spend, float(budget), treatments)
    column = pd.Index(treatments).get_indexer(plan["treatment"])  # -1: none
    rows = np.arange(len(u))
    plan["incremental_buyers"] = np.where(column >= 0, u[rows, np.maximum(column, 0)], 0.0)
    return plan, float(budget), gain, spend


def profit_outcome(revenue, treatment, *, gross_margin: float, discounts: dict, message_cost: float, control="control"):
    """Each customer's observed profit in a campaign's window: margin on the revenue, less discounts and message.

    Revenue is net of the arm's discount ``d``; its list value is ``revenue / (1 - d)``, of which ``1 -
    gross_margin`` is the cost of the goods: profit = ``revenue - (1 - gross_margin) revenue / (1 - d)``, less the
    message for customers who were sent one.

    Parameters
    ----------
    revenue : array
        Each customer's revenue in the window (0 if none).
    treatment : array
        Each customer's arm.
    gross_margin : float
        Share of list value that is profit.
    discounts : dict
        Each arm's discount (arms not named: none).
    message_cost : float
        Cost of one message.
    control : object, default "control"
        The arm sent nothing.

    Returns
    -------
    array
        Profit per customer.
    """
    a = np.asarray(treatment, dtype=object)
    d = np.array([float(discounts.get(x, 0.0)) for x in a])
    r = np.asarray(revenue, float)
    return r * (1.0 - (1.0 - gross_margin) / (1.0 - d)) - message_cost * (a != control)


def replay_test(truth, customer_ids, seed: int) -> pd.DataFrame:
    """The planted test drawn again: new arms, purchases and revenues from the true probabilities (planted worlds).

    Each customer is drawn into an arm with equal shares, buys with the true probability of that arm, and a buyer's
    revenue is the segment's mean order value times a Gamma draw of mean 1, less the arm's discount, as the world
    was generated (:class:`helpers.planted.UpliftTest`).

    Parameters
    ----------
    truth : Truth
        The world's truth, with ``uplift_test``.
    customer_ids : array
        The test's customers.
    seed : int
        Seed of the draws.

    Returns
    -------
    DataFrame
        ``customer_id``, ``arm``, ``converted``, ``revenue``.
    """
    from .planted import UpliftTest

    test, _ = UpliftTest.from_truth(truth)
    key = planted_uplift(truth, customer_ids)
    rng = np.random.default_rng(seed)
    n = len(key)
    arm_idx = rng.integers(0, len(test.arms), n)
    p = key[[f"p_{a}" for a in test.arms]].to_numpy()[np.arange(n), arm_idx]
    bought = rng.random(n) < p
    segment = truth.customers.set_index("customer_id").loc[key.index, "segment_name"]
    value = segment.map(truth["uplift_test"]["order_value"]).to_numpy(float)
    value = value * rng.gamma(test.order_value_shape, 1.0 / test.order_value_shape, n)
    discount = np.array([test.discounts.get(a, 0.0) for a in test.arms])[arm_idx]
    arms = np.asarray(test.arms, dtype=object)
    return pd.DataFrame(
        {
            "customer_id": key.index.to_numpy(),
            "arm": arms[arm_idx],
            "converted": bought,
            "revenue": np.where(bought, np.round(value * (1 - discount), 2), 0.0),
        }
    )


def true_gains(truth, customer_ids, treatments: list, *, message_cost: float) -> tuple[np.ndarray, np.ndarray]:
    """The oracle's expected incremental profit and spend of each treatment per customer (planted worlds).

    As :func:`send_list` computes them, with the true probabilities, the planted order values, margin and discounts.

    Parameters
    ----------
    truth : Truth
        The world's truth, with ``uplift_test``.
    customer_ids : array
        The customers.
    treatments : list
        The treatments, in the order wanted.
    message_cost : float
        Cost of one message.

    Returns
    -------
    tuple
        ``(gain, spend)``, each customers x treatments.
    """
    test = truth["uplift_test"]
    key = planted_uplift(truth, customer_ids)
    segment = truth.customers.set_index("customer_id").loc[key.index, "segment_name"]
    v = segment.map(test["order_value"]).to_numpy(float)
    p = key[[f"p_{t}" for t in treatments]].to_numpy()
    tau = p - key[[f"p_{test['arms'][0]}"]].to_numpy()
    expected_discount = np.array([test["discounts"].get(t, 0.0) for t in treatments]) * v[:, None] * p
    return test["gross_margin"] * v[:, None] * tau - expected_discount - message_cost, message_cost + expected_discount


def plan_total(plan, gain, treatments: list) -> float:
    """The sum of ``gain`` (customers x treatments) over a plan's customers, each at its planned treatment.

    Parameters
    ----------
    plan : DataFrame or array
        The plan's ``treatment`` per customer (``none`` for nobody).
    gain : array (customers x treatments)
        A value per customer and treatment, e.g. :func:`true_gains`.
    treatments : list
        The treatments, in the order of ``gain``'s columns.

    Returns
    -------
    float
        The total.
    """
    t = plan["treatment"] if isinstance(plan, pd.DataFrame) else pd.Series(plan)
    column = pd.Index(treatments).get_indexer(t)
    rows = np.flatnonzero(column >= 0)
    return float(np.asarray(gain, float)[rows, column[rows]].sum())
