"""Churn scores: the probability that a customer does not buy in the next ``horizon`` days.

* :func:`churn_frame` builds, as of a date, one row per customer who has bought before: behaviour and RFM
  features from the history before the date (:func:`helpers.segmentation.customer_features`) and the outcome
  "no order in the next ``horizon_days``" from the history after it.
* :func:`churn_panel` stacks such frames at several dates, for a model that is retrained as time goes by.
* :class:`NeighbourChurn` is the method's similarity approach: a customer's score is the share of churners among
  its k most similar customers (standardised features).
* :func:`oracle_no_purchase` is the planted probability of the same outcome, from the world's truth: it knows
  who has already left.
* :func:`oracle_from_history` is a reference, not a ceiling: the planted rates and hazard, but of the history
  only the time since the customer's last visit or order. It ignores email and push activity, which a model
  sees, so a model can beat it (among customers silent for a long time it does).
* :func:`bgnbd_no_purchase` is the classic baseline from purchases alone: BG/NBD (:class:`helpers.clv.BetaGeo`)
  fitted on the summary as of the date, without any label.
* :func:`auc_by_population` reports an AUC for everyone and for the customers who bought recently: long-gone
  customers are easy to call churned and inflate the AUC of every score.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import segmentation
from .planted import ChurnModel
from .sampling import sample_positions
from .timeline import DAYS_PER_MONTH

__all__ = [
    "churn_frame",
    "churn_panel",
    "churn_model",
    "FIT_ROWS",
    "fit_churn_model",
    "feature_importance",
    "NEIGHBOUR_ROWS",
    "NeighbourChurn",
    "oracle_from_history",
    "oracle_no_purchase",
    "bgnbd_no_purchase",
    "auc_by_population",
    "customer_value",
]


def churn_frame(world, as_of: pd.Timestamp | str, horizon_days: int = 90) -> tuple[pd.DataFrame, pd.Series]:
    """Features as of ``as_of`` and the outcome "no order in [as_of, as_of + horizon)" per past buyer.

    The features are those of :func:`helpers.segmentation.customer_features` plus ``inactive_days`` (days since
    the customer's last own action of any kind) and ``expected_silence`` (the probability of a silence as long
    as ``recency_days`` at the customer's own order rate: near 0 means "overdue") and ``expected_quiet`` (the
    same for ``inactive_days`` at the customer's rate of orders, visits and product views).

    Raises when the horizon runs past the end of the data (the outcome would be unknown, not "churned").

    Parameters
    ----------
    world : World
        The world (``customers``, ``transactions``, ``events``).
    as_of : Timestamp or str
        The date the features are known on; the outcome is read in the horizon after it.
    horizon_days : int, default 90
        The horizon of "no order", in days.
    """
    as_of = pd.Timestamp(as_of)
    tx = world.transactions
    end = tx["order_date"].max()
    if as_of <= tx["order_date"].min():
        raise ValueError(f"as_of {as_of.date()} is before the first order ({tx['order_date'].min().date()})")
    horizon_end = as_of + pd.Timedelta(days=horizon_days)
    if horizon_end > end + pd.Timedelta(days=1):
        raise ValueError(
            f"as_of {as_of.date()} + {horizon_days} days runs past the last order "
            f"({end.date()}): the outcome is not observed yet; choose an earlier as_of"
        )
    # two signals of having left: no own action (visit, open, click, order) for a long time, and a silence
    # that is long for this customer's own buying rhythm (P(no order in `recency` days) at its rate)
    feats, last = segmentation._features_and_last_action(world, as_of, shrink=3.0, undefined="population")
    feats["inactive_days"] = (as_of - last).dt.days.fillna(feats["recency_days"]).astype(float)
    feats["expected_silence"] = np.exp(-feats["frequency"] * feats["recency_days"] / DAYS_PER_MONTH)
    own_rate = feats["frequency"] + feats.get("web_sessions", 0.0) + feats.get("product_views", 0.0)
    feats["expected_quiet"] = np.exp(-own_rate * feats["inactive_days"] / DAYS_PER_MONTH)
    before = tx.loc[tx["order_date"] < as_of, "customer_id"].unique()
    feats = feats.loc[feats.index.isin(before)]
    during = tx.loc[(tx["order_date"] >= as_of) & (tx["order_date"] < horizon_end), "customer_id"].unique()
    y = pd.Series(~feats.index.isin(during), index=feats.index, name="churned").astype(int)
    return feats, y


def churn_panel(world, as_of_dates, horizon_days: int = 90) -> pd.DataFrame:
    """:func:`churn_frame` at each date of ``as_of_dates``, stacked: one row per customer and date.

    Columns: ``customer_id``, ``as_of``, the features and ``churned``. A customer appears at every date at
    which they had bought before; each row's outcome is only known ``horizon_days`` after its ``as_of``, so a
    model that scores one date may learn only from dates at least a horizon earlier.

    Parameters
    ----------
    world : World
        The world (``customers``, ``transactions``, ``events``).
    as_of_dates : sequence of date
        The dates to stack, each as in :func:`churn_frame`.
    horizon_days : int, default 90
        The horizon of "no order", in days.
    """
    dates = sorted(pd.Timestamp(d) for d in as_of_dates)
    if not dates:
        raise ValueError("churn_panel: no as-of dates given")
    parts = []
    for as_of in dates:
        x, y = churn_frame(world, as_of, horizon_days)
        parts.append(x.assign(churned=y).rename_axis("customer_id").reset_index().assign(as_of=as_of))
    out = pd.concat(parts, ignore_index=True)
    return out[["customer_id", "as_of", *[c for c in out.columns if c not in ("customer_id", "as_of")]]]


NEIGHBOUR_ROWS = 20_000
"""Known customers a lesson's :class:`NeighbourChurn` remembers at most (its ``max_samples``)."""


class NeighbourChurn(ClassifierMixin, BaseEstimator):
    """Churn score as the share of churners among the ``n_neighbors`` most similar known customers.

    Features are standardised first (so that no unit dominates the distance); ``log`` applies log1p (of the value
    clipped at 0) to the columns named in :data:`helpers.segmentation.SKEWED` that are present, which needs a
    DataFrame; an array's columns are used as they are.

    Parameters
    ----------
    n_neighbors : int
        How many similar customers vote; fitting needs at least this many.
    log : bool
        Log-transform the skewed count and amount columns.
    max_samples : int, optional
        Remember at most this many known customers, drawn at random (the standardisation still learns from all):
        every customer scored is compared with every one remembered, so the cost grows with their product —
        at 1 M customers, a lesson's k-NN column took longer than the rest of the lesson. Lessons pass
        ``NEIGHBOUR_ROWS``. Default: every customer.
    random_state : int
        Random seed of that draw.

    Attributes
    ----------
    classes_, n_features_in_, feature_names_in_ (for a DataFrame), scaler_, knn_

    Examples
    --------
    >>> x = pd.DataFrame({"age": [20, 21, 22, 60, 61, 62]})
    >>> NeighbourChurn(n_neighbors=3, log=False).fit(x, [1, 1, 0, 0, 0, 1]).predict_proba(x.head(1))[:, 1].round(3)
    array([0.667])
    """

    _parameter_constraints: dict = {  # noqa: RUF012 (scikit-learn's convention)
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "log": ["boolean"],
        "max_samples": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self, n_neighbors: int = 50, log: bool = True, max_samples: int | None = None, random_state: int = 0
    ) -> None:
        self.n_neighbors = n_neighbors
        self.log = log
        self.max_samples = max_samples
        self.random_state = random_state

    def _prep(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float)
        names = getattr(self, "feature_names_in_", None)
        if self.log and names is not None:
            for j, c in enumerate(names):
                if c in segmentation.SKEWED:
                    x[:, j] = np.log1p(np.clip(x[:, j], 0, None))
        return x

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, x: pd.DataFrame, y) -> NeighbourChurn:
        """Remember the standardised customers ``x`` and whether each churned (``y``).

        Parameters
        ----------
        x : DataFrame
            Standardised features of the known customers.
        y : array-like
            Whether each churned (0/1).
        """
        x, y = validate_data(self, x, y, dtype=float)
        check_classification_targets(y)
        if len(x) < self.n_neighbors:
            raise ValueError(
                f"n_samples={len(x)}: fewer customers than n_neighbors={self.n_neighbors}; lower "
                "n_neighbors or fit on more customers"
            )
        z = self._prep(x)
        self.scaler_ = StandardScaler().fit(z)
        keep = sample_positions(len(z), self.max_samples, self.random_state, what="max_samples")
        if keep is not None:
            z, y = z[keep], np.asarray(y)[keep]
        self.knn_ = KNeighborsClassifier(self.n_neighbors).fit(self.scaler_.transform(z), y)
        self.classes_ = self.knn_.classes_
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        """Share of each class among the nearest known customers (columns in the order of ``classes_``).

        Parameters
        ----------
        x : DataFrame
            Standardised features of the customers to score, in the columns of ``fit``.
        """
        check_is_fitted(self)
        x = validate_data(self, x, dtype=float, reset=False)
        return self.knn_.predict_proba(self.scaler_.transform(self._prep(x)))

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """The majority class among the nearest known customers.

        Parameters
        ----------
        x : DataFrame
            Standardised features of the customers to score, in the columns of ``fit``.
        """
        check_is_fitted(self)
        return self.classes_[self.predict_proba(x).argmax(axis=1)]


def oracle_no_purchase(truth, customer_ids, as_of: pd.Timestamp | str, horizon_days: int = 90) -> pd.Series:
    """Planted P(no order in the horizon): 1 if the customer has already left, else from hazard and order rate.

    While active a customer orders at rate ``lambda`` and leaves at hazard ``h`` (per month; the drift segment's
    hazard is multiplied after the drift date). With horizon H: P = h/(h+lambda) (1 - e^{-(h+lambda)H}) +
    e^{-(h+lambda)H}. Campaign-driven extra orders are not in this formula, so it is an excellent, not a perfect,
    score.

    Parameters
    ----------
    truth : Truth
        The world's planted truth.
    customer_ids : array-like
        The customers to score.
    as_of : Timestamp or str
        The scoring date.
    horizon_days : int, default 90
        The horizon of "no order", in days.
    """
    as_of = pd.Timestamp(as_of)
    lat, h, lam = _planted_rates(truth, customer_ids, as_of)
    gone = lat["churn_date"].notna().to_numpy() & (pd.to_datetime(lat["churn_date"]) <= as_of).to_numpy()
    return pd.Series(np.where(gone, 1.0, _p_no_order_if_active(h, lam, horizon_days)), index=lat.index, name="oracle")


def oracle_from_history(world, customer_ids, as_of: pd.Timestamp | str, horizon_days: int = 90) -> pd.Series:
    """Planted P(no order in the horizon) from the planted rates and one fact of the history: the silence.

    It knows each customer's planted hazard ``h``, order rate ``lambda`` and web-session rate ``w`` (per month),
    but not whether the customer has left: only the time ``d`` since the last site visit or order before
    ``as_of``. An active customer starts a session (a visit, or the visit before an order) at rate
    ``r0 = lambda + w``, so a silence of ``d`` has likelihood ``e^{-(h + r0) d}`` if still active and
    ``h / (h + r0) (1 - e^{-(h + r0) d})`` if the customer left during it. Bayes gives P(active | silence), and

        P(no order) = 1 - P(active | silence) (1 - P(no order in the horizon | active)).

    A customer with no visit or order before ``as_of`` counts from signup. ``world`` needs ``truth``,
    ``transactions`` and ``events``.

    Parameters
    ----------
    world : World
        The world, with ``truth``, ``transactions`` and ``events``.
    customer_ids : array-like
        The customers to score.
    as_of : Timestamp or str
        The scoring date: only the history before it is used.
    horizon_days : int, default 90
        The horizon of "no order", in days.
    """
    as_of = pd.Timestamp(as_of)
    if world.truth is None:
        raise ValueError("oracle_from_history needs the world's truth.json; a team's own data has none")
    ids = pd.Index(customer_ids)
    lat, h, lam = _planted_rates(world.truth, ids, as_of)
    w = lat["web_sessions_per_month"].to_numpy(float)
    tx, ev = world.transactions, world.events
    visits = ev.loc[(ev["event_type"] == "site_visit") & (ev["timestamp"] < as_of), ["customer_id", "timestamp"]]
    orders = tx.loc[tx["order_date"] < as_of, ["customer_id", "order_date"]]
    last = pd.concat(
        [
            visits.groupby("customer_id")["timestamp"].max().reindex(ids),
            orders.groupby("customer_id")["order_date"].max().reindex(ids),
        ],
        axis=1,
    ).max(axis=1)
    signup = world.customers.set_index("customer_id")["signup_date"].reindex(ids)
    last = last.fillna(signup)
    d = ((as_of - last).dt.total_seconds() / 86400 / DAYS_PER_MONTH).clip(lower=0).to_numpy(float)
    r = h + lam + w
    active = np.exp(-r * d)
    left = h / r * (1 - active)
    p_active = active / (active + left)
    p = 1 - p_active * (1 - _p_no_order_if_active(h, lam, horizon_days))
    return pd.Series(p, index=ids, name="oracle_from_history")


def _planted_rates(truth, customer_ids, as_of: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Latent rows, monthly hazard as of ``as_of`` (after the drift, the drift segment's) and order rate."""
    lat = truth.customers.set_index("customer_id").loc[customer_ids]
    model, drift_segment = ChurnModel.from_truth(truth)
    h = model.hazard_as_of(
        lat["churn_hazard_per_month"].to_numpy(float),
        lat["segment_name"].to_numpy() == drift_segment,
        after_drift=as_of >= pd.Timestamp(truth["drift"]["date"]),
    )
    return lat, h, lat["orders_per_month"].to_numpy(float)


def _p_no_order_if_active(h: np.ndarray, lam: np.ndarray, horizon_days: int) -> np.ndarray:
    """P(no order within the horizon) for an active customer: either no order before leaving, or none at all."""
    big_h = horizon_days / DAYS_PER_MONTH
    rate = h + lam
    return h / rate * (1 - np.exp(-rate * big_h)) + np.exp(-rate * big_h)


def churn_model(random_state: int = 0):
    """The course's churn classifier: gradient-boosted trees, slow learning rate, mild regularisation.

    Parameters
    ----------
    random_state : int, default 0
        Random seed of the boosting.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=500, learning_rate=0.02, max_leaf_nodes=15, l2_regularization=1.0, random_state=random_state
    )


FIT_ROWS = 200_000
"""Past buyers the churn model of lesson 02 is fitted on at most (as lesson 06's walk, ``retraining.FIT_ROWS``).

Measured on a world of 1 M customers (830,407 past buyers): fitted on 200,000 of them the model's ROC AUC on the
next quarter is 0.8910, on all of them 0.8912, and the fit takes 5 s instead of 24 s.
"""


def fit_churn_model(
    x: pd.DataFrame, y: pd.Series, random_state: int = 0, max_rows: int | None = FIT_ROWS
) -> tuple[object, int]:
    """:func:`churn_model` fitted on every row, or on ``max_rows`` rows drawn at random when there are more.

    Parameters
    ----------
    x : DataFrame
        The features (e.g. of :func:`churn_frame`).
    y : Series
        The outcome per row of ``x``.
    random_state : int, default 0
        Random seed of the boosting and of the draw.
    max_rows : int or None, default FIT_ROWS
        The most rows fitted on; None fits on every row.

    Returns
    -------
    (model, rows) : the fitted classifier and the number of rows it was fitted on.
    """
    keep = sample_positions(len(x), max_rows, random_state)
    if keep is not None:
        x, y = x.iloc[keep], y.iloc[keep]
    return churn_model(random_state).fit(x, y), len(x)


def feature_importance(
    model, x: pd.DataFrame, y, random_state: int = 0, n_repeats: int = 5, max_rows: int | None = 20_000
) -> pd.Series:
    """Drop in ROC AUC when each feature is shuffled (permutation importance), largest first.

    On more than ``max_rows`` rows the importance is measured on a random sample of that many rows (one sample
    for every feature, without replacement, in the rows' order): the standard error of an AUC on 20 000 rows is
    about 0.004, well below the drops worth reading, and the cost stops growing with the data.

    Parameters
    ----------
    model : estimator
        A fitted classifier with ``predict_proba``.
    x : DataFrame
        Features to shuffle, one column per feature (held-out rows).
    y : array-like
        The outcome of each row of ``x``.
    random_state : int, default 0
        Random seed of the shuffles (and of the sample).
    n_repeats : int, default 5
        Shuffles per feature.
    max_rows : int or None, default 20000
        Largest number of rows used; None uses every row.
    """
    from sklearn.inspection import permutation_importance

    from .scoring import selection_sample

    if len(y) != len(x):
        raise ValueError(f"feature_importance: x has {len(x)} rows but y has {len(y)} outcomes")
    x, y = selection_sample(x, y, max_rows, random_state)  # at most max_rows, at random, in their order
    r = permutation_importance(model, x, y, scoring="roc_auc", n_repeats=n_repeats, random_state=random_state)
    return pd.Series(r.importances_mean, index=x.columns, name="auc_drop").sort_values(ascending=False)


def bgnbd_no_purchase(world, customer_ids, as_of: pd.Timestamp | str, horizon_days: int = 90) -> pd.Series:
    """BG/NBD's P(no order in [as_of, as_of + horizon)) per customer, fitted on the orders before ``as_of``.

    The model is fitted on :func:`helpers.rfm.lifetimes_summary` of every customer who bought before ``as_of``
    (days; it uses no label, so it may be fitted on the customers it scores) and scored for ``customer_ids``.

    Parameters
    ----------
    world : World
        The world (its ``transactions`` are used).
    customer_ids : array-like
        The customers to score.
    as_of : Timestamp or str
        The scoring date: the model sees the orders before it.
    horizon_days : int, default 90
        The horizon of "no order", in days.
    """
    from . import clv, rfm

    as_of = pd.Timestamp(as_of)
    summary = rfm.lifetimes_summary(world.transactions, as_of=as_of)
    ids = pd.Index(customer_ids)
    missing = ids.difference(summary.index)
    if len(missing):
        raise ValueError(
            f"bgnbd_no_purchase: {len(missing)} customers have no order before {as_of.date()} "
            f"(first: {list(missing[:5])}); BG/NBD scores past buyers only"
        )
    model = clv.BetaGeo().fit(summary)
    # the summary's observation ends the day before as_of, so the horizon starts on that day's end
    return model.p_no_purchase(summary.loc[ids], float(horizon_days)).rename("bgnbd")


def auc_by_population(
    y: pd.Series, scores: pd.DataFrame, recency_days: pd.Series, within_days=(None, 365, 180)
) -> pd.DataFrame:
    """ROC AUC of each score for all customers and for those whose last order is at most ``d`` days old.

    One column per population (``"all"``, ``"last order <= 365 d"``, ...), one row per score, and a last row
    ``customers`` with the population's size and ``churn rate`` with its share of churners.

    Parameters
    ----------
    y : Series
        1 for a churner, 0 otherwise, indexed by customer.
    scores : DataFrame
        One column per score (higher: more likely to churn), same index as ``y``.
    recency_days : Series
        Days since each customer's last order, same index as ``y``.
    within_days : sequence of int or None, default (None, 365, 180)
        The populations: None for all customers, ``d`` for those whose last order is at most ``d`` days old.
    """
    from sklearn.metrics import roc_auc_score

    y = pd.Series(y)
    if not y.index.equals(scores.index) or not y.index.equals(recency_days.index):
        raise ValueError("auc_by_population: y, scores and recency_days must share one index")
    out = {}
    for d in within_days:
        keep = np.ones(len(y), bool) if d is None else (recency_days <= d).to_numpy()
        name = "all" if d is None else f"last order <= {d} d"
        if y[keep].nunique() < 2:
            raise ValueError(f"auc_by_population: the population {name!r} has one class only")
        col = {k: roc_auc_score(y[keep], s[keep]) for k, s in scores.items()}
        col["customers"] = int(keep.sum())
        col["churn rate"] = float(y[keep].mean())
        out[name] = col
    return pd.DataFrame(out)


def customer_value(
    transactions: pd.DataFrame,
    customer_ids,
    as_of: pd.Timestamp | str,
    horizon_days: int = 90,
    lookback_days: int = 365,
) -> pd.Series:
    """Each customer's spend over the ``lookback_days`` before ``as_of``, scaled to ``horizon_days``.

    What keeping the customer for one more horizon is worth at the pace they were buying, known on ``as_of``:
    the value in a retention decision. A customer who has not bought for ``lookback_days`` is worth 0, so no
    offer to them can pay. Spend is ``quantity x unit_price`` (net of discounts).

    Parameters
    ----------
    transactions : DataFrame
        Order lines with ``customer_id, order_date, quantity, unit_price``.
    customer_ids : array-like
        The customers to value.
    as_of : Timestamp or str
        The decision date: only orders before it count.
    horizon_days : int, default 90
        The horizon the value is scaled to, in days.
    lookback_days : int, default 365
        The window of past spend, in days.
    """
    as_of = pd.Timestamp(as_of)
    if lookback_days <= 0 or horizon_days <= 0:
        raise ValueError(
            f"customer_value: lookback_days and horizon_days must be positive, got {lookback_days} and {horizon_days}"
        )
    tx = transactions
    recent = tx[(tx["order_date"] >= as_of - pd.Timedelta(days=lookback_days)) & (tx["order_date"] < as_of)]
    spend = (recent["quantity"] * recent["unit_price"]).groupby(recent["customer_id"]).sum()
    return (spend.reindex(pd.Index(customer_ids), fill_value=0.0) * horizon_days / lookback_days).rename("value")
