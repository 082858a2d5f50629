"""Forecasting a campaign's KPIs before launch: the features a plan has, models in time order, intervals.

* :func:`send_log_features` — the recipients' message fatigue and silence per campaign, from the send log;
* :class:`CampaignFeatures` — a scikit-learn transformer: fitted on the history, it gives planned campaigns the
  same feature columns; :func:`with_send_log` joins the send-log features onto a campaigns table;
* :func:`forecast_cv` — time-ordered cross-validation of a binomial GLM and kernel ridge regression;
  :func:`cv_errors` and :func:`noise_floor` (the error no forecast can beat on the planted world);
* :func:`forecast` — a planned campaign's rates with prediction intervals; :func:`what_if` — a past campaign
  re-planned with other parameters.

The rate KPIs and their definitions are those of :mod:`helpers.kpis`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from .kpis import KPI_COLUMNS, KPIError, _check
from .timeline import unix_seconds

__all__ = [
    "send_log_features",
    "CampaignFeatures",
    "with_send_log",
    "forecast_cv",
    "cv_errors",
    "noise_floor",
    "forecast",
    "what_if",
    "MODELS",
]


def send_log_features(
    events: pd.DataFrame,
    orders: pd.DataFrame | None = None,
    tau_days: float = 10.0,
    silent_days: float = 90.0,
    chunk_rows: int = 2_000_000,
) -> pd.DataFrame:
    """Per campaign, from the send log: the recipients' mean message fatigue and share of silent recipients.

    Fatigue of a recipient at a send is sum(exp(-(t - t_j) / tau_days)) over the messages t_j they received
    before (any campaign); silent means no site visit or order in the ``silent_days`` before the send. Both
    are known before a launch for a planned audience. ``events`` needs customer_id, timestamp, event_type and
    campaign_id; ``orders`` (customer_id, order_date), when given, counts as activity too.

    Parameters
    ----------
    events : DataFrame
        The events table: ``customer_id, timestamp, event_type, campaign_id``.
    orders : DataFrame, optional
        Orders with ``customer_id, order_date``, counted as activity.
    tau_days : float, default 10.0
        Decay time of message fatigue, in days.
    silent_days : float, default 90.0
        A recipient with no visit or order in this many days before the send is silent.
    chunk_rows : int, default 2000000
        Rows of the send log processed at a time (bounds memory).
    """
    for col in ("customer_id", "timestamp", "event_type", "campaign_id"):
        if col not in events:
            raise KPIError(f"events: missing column {col!r}, needed for send-log features")
    # numpy arrays and int64 keys (customer code << 32 | second) rather than frames: a million customers'
    # send log is tens of millions of rows. Each array is built and narrowed in turn (32-bit customer codes and
    # seconds since the first send or activity, when they fit), so that at 10^8 events the temporaries stay
    # near a gigabyte
    typ = events["event_type"]
    is_send = _of_type(typ, ["email_sent", "push_sent", "sms_sent"])
    if not is_send.any():
        raise KPIError("events: no email_sent, push_sent or sms_sent rows, so there is no send log")
    camp_col = events["campaign_id"]
    if isinstance(camp_col.dtype, pd.CategoricalDtype):  # the course's loader: codes, no strings per row
        camp, names = camp_col.cat.codes.to_numpy()[is_send], camp_col.cat.categories.astype(str)
        if (camp < 0).any():
            raise KPIError("events: some email_sent/push_sent rows have no campaign_id; fill it from the send log")
    else:
        camp, names = pd.factorize(camp_col.to_numpy()[is_send].astype(str))
    is_visit = _of_type(typ, ["site_visit"])
    cust = events["customer_id"].to_numpy()
    ts = events["timestamp"].to_numpy()
    o_cust = orders["customer_id"].to_numpy() if orders is not None else cust[:0]
    o_sec = unix_seconds(orders["order_date"]) if orders is not None else np.zeros(0, np.int64)
    s_sec, v_sec = unix_seconds(ts[is_send]), unix_seconds(ts[is_visit])
    del ts
    bounds = [(int(a.min()), int(a.max())) for a in (s_sec, v_sec, o_sec) if len(a)]
    t0 = min(low for low, _ in bounds)
    narrow_sec = max(high for _, high in bounds) - t0 < 2**31

    def seconds(values: np.ndarray) -> np.ndarray:
        off = values - t0
        return off.astype(np.int32) if narrow_sec else off

    s_sec = seconds(s_sec)
    a_sec = np.concatenate([seconds(v_sec), seconds(o_sec)])
    del v_sec, o_sec
    small_ints = (
        np.issubdtype(cust.dtype, np.integer)
        and len(cust)
        and cust.min() >= 0
        and cust.max() < 2**31
        and (not len(o_cust) or (o_cust.min() >= 0 and o_cust.max() < 2**31))
    )
    if small_ints:  # ids fit in the key as they are
        s_code = cust[is_send].astype(np.int32)
        a_code = np.concatenate([cust[is_visit].astype(np.int32), o_cust.astype(np.int32)])
    else:
        codes, _ = pd.factorize(np.concatenate([cust[is_send], cust[is_visit], o_cust]))
        n_send = int(is_send.sum())
        s_code, a_code = codes[:n_send].astype(np.int64), codes[n_send:].astype(np.int64)
        del codes
    del is_send, is_visit, cust, o_cust
    # every quantity is per customer, so customers are processed in slices (by id modulo n_slices) to keep
    # the sort keys and intermediate arrays of a million customers' send log small
    fatigue, silent = np.empty(len(s_sec)), np.empty(len(s_sec), bool)
    n_slices = max(1, int(np.ceil(len(s_sec) / chunk_rows)))
    s_slice, a_slice = (_slice_of(s_code, n_slices), _slice_of(a_code, n_slices)) if n_slices > 1 else (None, None)
    for k in range(n_slices):
        sm = np.flatnonzero(s_slice == k) if s_slice is not None else slice(None)
        am = np.flatnonzero(a_slice == k) if a_slice is not None else slice(None)
        fatigue[sm], silent[sm] = _send_log_slice(
            s_code[sm].astype(np.int64),
            s_sec[sm].astype(np.int64),
            a_code[am].astype(np.int64),
            a_sec[am].astype(np.int64),
            tau_days,
            silent_days,
        )
    del a_code, a_sec
    n = np.bincount(camp, minlength=len(names))
    out = pd.DataFrame(
        {
            "fatigue": np.bincount(camp, weights=fatigue, minlength=len(names)) / np.maximum(n, 1),
            "silent_share": np.bincount(camp, weights=silent, minlength=len(names)) / np.maximum(n, 1),
        },
        index=pd.Index(names, name="campaign_id"),
    )
    return out[n > 0].sort_index()  # campaigns with sends only (a category may have none)


def _slice_of(code: np.ndarray, n_slices: int) -> np.ndarray:
    """Each row's slice of customers, ``code % n_slices``, in the smallest integer type that holds it."""
    return (code % n_slices).astype(np.min_scalar_type(n_slices))


def _of_type(types: pd.Series, names: list[str]) -> np.ndarray:
    """Rows whose type is one of ``names``; through a categorical's codes when it has them (no per-row text)."""
    if isinstance(types.dtype, pd.CategoricalDtype):
        wanted = [i for i, c in enumerate(types.cat.categories) if c in names]
        codes = types.cat.codes.to_numpy()
        out = np.zeros(len(codes), bool)
        for i in wanted:
            out |= codes == i
        return out
    return types.isin(names).to_numpy()


def _send_log_slice(
    s_code: np.ndarray, s_sec: np.ndarray, a_code: np.ndarray, a_sec: np.ndarray, tau_days: float, silent_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fatigue and silence of sends (customer code, seconds) given the activity (customer code, seconds)."""
    s_key = (s_code << 32) | s_sec
    order = np.argsort(s_key, kind="stable")
    fatigue = np.empty(len(s_key))
    fatigue[order] = _decayed_count(s_code[order], s_sec[order] / 86400.0, tau_days)
    del order
    a_key = (a_code << 32) | a_sec
    a_key.sort()
    pos = np.searchsorted(a_key, s_key, side="left") - 1  # the last activity strictly before the send
    last = a_key[np.maximum(pos, 0)] if len(a_key) else np.zeros(len(s_key), np.int64)
    valid = (pos >= 0) & ((last >> 32) == s_code)
    gap_days = (s_sec - (last & 0xFFFFFFFF)) / 86400.0
    return fatigue, ~valid | (gap_days > silent_days)


def _decayed_count(cust: np.ndarray, t: np.ndarray, tau: float, span: float = 500.0) -> np.ndarray:
    """Sum over a customer's earlier rows j of exp(-(t - t_j) / tau); rows sorted by customer, then time.

    Vectorised as exp(-(t - base) / tau) * (carry + cumsum(exp((t_j - base) / tau))) within time blocks of
    ``span * tau``, the per-customer carry rescaled between blocks, so exp() never overflows.

    >>> np.round(_decayed_count(np.array([1, 1, 1, 2]), np.array([0.0, 10.0, 10.0, 5.0]), 10.0), 4).tolist()
    [0.0, 0.3679, 1.3679, 0.0]
    """
    out = np.zeros(len(t))
    if len(t) == 0:
        return out
    codes, uniq = pd.factorize(cust)
    carry = np.zeros(len(uniq))
    block = np.floor((t - t.min()) / (span * tau)).astype(np.int64)
    prev_base = None
    for b in np.unique(block):
        m = np.flatnonzero(block == b)
        base = t.min() + b * span * tau
        if prev_base is not None:
            carry *= np.exp(-(base - prev_base) / tau)
        e = np.exp((t[m] - base) / tau)
        before = pd.Series(e).groupby(codes[m]).cumsum().to_numpy() - e
        out[m] = (carry[codes[m]] + before) * np.exp(-(t[m] - base) / tau)
        carry += np.bincount(codes[m], weights=e, minlength=len(uniq))
        prev_base = base
    return out


class CampaignFeatures(TransformerMixin, BaseEstimator):
    """Features of a campaign known before launch, one row per campaign (index: campaign_id).

    ``fit`` learns the vocabulary of the history — its target segments, its subject variants and its first date —
    so that planned campaigns, transformed later, get exactly the history's columns. Per target segment: an
    indicator, the send hour as cos/sin of the day's angle (so a logit model can place each segment's best hour
    anywhere) and the discount; the subject variant (the first one is the reference); push vs email; December
    and August; years since the history's first date (a trend); log audience size; and the ``passthrough``
    columns as they are (e.g. the send-log features of :func:`send_log_features`, joined on campaign_id).

    Parameters
    ----------
    passthrough : sequence of str
        Columns of the campaigns table to copy into the features; every campaign needs a value.

    Attributes
    ----------
    segments_, subjects_ : list of str
    start_ : Timestamp
    feature_names_out_ : ndarray of str

    Examples
    --------
    >>> c = pd.DataFrame({"campaign_id": ["C1", "C2"], "date": pd.to_datetime(["2024-01-01", "2025-01-01"]),
    ...                   "channel": ["email", "push"], "target_segment": ["all", "all"], "send_hour": [6, 18],
    ...                   "subject_variant": ["plain", "urgency"], "discount": [0.0, 0.1], "sent": [99, 999]})
    >>> CampaignFeatures().fit_transform(c).loc["C2", ["subject=urgency", "push", "trend_years"]].round(3).tolist()
    [1.0, 1.0, 1.002]
    """

    _parameter_constraints: dict = {"passthrough": ["array-like"]}  # noqa: RUF012 (scikit-learn's convention)
    NEEDS = ("campaign_id", "date", "channel", "target_segment", "send_hour", "subject_variant", "discount", "sent")

    def __init__(self, passthrough: Sequence[str] = ()) -> None:
        self.passthrough = passthrough

    def _table(self, campaigns: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(campaigns, pd.DataFrame):
            raise KPIError(
                f"CampaignFeatures: campaigns must be a DataFrame (the campaigns table); got {type(campaigns).__name__}"
            )
        _check(campaigns, [*self.NEEDS, *self.passthrough])
        return campaigns.set_index(campaigns["campaign_id"].astype(str))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, campaigns: pd.DataFrame, y=None) -> CampaignFeatures:
        """Learn the segments, subject variants and first date of the history ``campaigns``.

        Parameters
        ----------
        campaigns : DataFrame
            Past campaigns (the campaigns table).
        y : None
            Ignored; present for scikit-learn's pipeline API.
        """
        c = self._table(campaigns)
        self.segments_ = sorted(c["target_segment"].astype(str).unique())
        self.subjects_ = sorted(c["subject_variant"].astype(str).unique())
        self.start_ = pd.to_datetime(c["date"]).min()
        self.n_features_in_ = campaigns.shape[1]
        self.feature_names_out_ = np.asarray(self.transform(campaigns.head(1)).columns, dtype=object)
        return self

    def transform(self, campaigns: pd.DataFrame) -> pd.DataFrame:
        """The features of ``campaigns`` (the history or planned campaigns) in the columns learned by ``fit``.

        Parameters
        ----------
        campaigns : DataFrame
            Campaigns in the layout of the campaigns table.
        """
        check_is_fitted(self, "start_")
        c = self._table(campaigns)
        date = pd.to_datetime(c["date"])
        angle = 2 * np.pi * c["send_hour"].to_numpy(float) / 24.0
        cols: dict[str, np.ndarray] = {}
        for seg in self.segments_:
            m = (c["target_segment"].astype(str) == seg).to_numpy(float)
            cols[f"segment={seg}"] = m
            cols[f"hour_cos|{seg}"] = m * np.cos(angle)
            cols[f"hour_sin|{seg}"] = m * np.sin(angle)
            cols[f"discount|{seg}"] = m * c["discount"].to_numpy(float)
        for subj in self.subjects_[1:]:
            cols[f"subject={subj}"] = (c["subject_variant"].astype(str) == subj).to_numpy(float)
        cols["push"] = (c["channel"].astype(str) == "push").to_numpy(float)
        cols["december"] = (date.dt.month == 12).to_numpy(float)
        cols["august"] = (date.dt.month == 8).to_numpy(float)
        cols["trend_years"] = ((date - self.start_).dt.days / 365.25).to_numpy(float)
        cols["log_audience"] = np.log1p(c["sent"].to_numpy(float))
        X = pd.DataFrame(cols, index=c.index)
        for name in self.passthrough:
            X[name] = c[name].to_numpy()
        return X

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the features ``transform`` returns.

        Parameters
        ----------
        input_features : None
            Ignored; present for scikit-learn's API.
        """
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_


def with_send_log(campaigns: pd.DataFrame, send_log: pd.DataFrame) -> pd.DataFrame:
    """``campaigns`` with the columns of ``send_log`` (indexed by campaign_id, e.g. :func:`send_log_features`).

    Every campaign needs its row of the send log; the campaigns table itself is not changed.

    Parameters
    ----------
    campaigns : DataFrame
        The campaigns table (``campaign_id``).
    send_log : DataFrame
        Features per campaign, indexed by ``campaign_id``.
    """
    ids = campaigns["campaign_id"].astype(str)
    missing = ids[~ids.isin(send_log.index.astype(str))]
    if len(missing):
        raise KPIError(f"with_send_log: no send-log features for campaign(s) {', '.join(missing[:5])}")
    clash = [c for c in send_log.columns if c in campaigns]
    if clash:
        raise KPIError(f"with_send_log: the campaigns table already has column(s) {clash}")
    log = send_log.set_axis(send_log.index.astype(str))
    return campaigns.assign(**{c: log[c].reindex(ids).to_numpy() for c in send_log.columns})


class _BinomialGLM:
    """L2-regularised logistic regression on (successes, trials) counts: one weighted row per outcome."""

    def __init__(self, C: float = 100.0) -> None:
        self.C = C

    def fit(self, X: np.ndarray, successes: np.ndarray, trials: np.ndarray) -> _BinomialGLM:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        y = np.r_[np.ones(len(Z)), np.zeros(len(Z))]
        w = np.r_[successes, trials - successes].astype(float)
        # weights count recipients: rescale C so that the penalty weighs against the mean loss per campaign
        self.model_ = LogisticRegression(C=self.C * len(Z) / w.sum(), max_iter=5000, tol=1e-8)
        self.model_.fit(np.vstack([Z, Z]), y, sample_weight=w)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(self.scaler_.transform(X))[:, 1]


class _KernelRidge:
    """Kernel ridge regression (RBF kernel, standardised inputs) on the observed rates, trials as sample weights.

    The flexible model next to the GLM: it can follow any smooth shape of the features, with no form written in
    advance. Its fit is the unique solution of a linear system, so a last-bit difference in the inputs (another
    CPU's vector units, another BLAS kernel) moves its forecasts by about as little as it moves the GLM's. A
    neural network trained by L-BFGS, the model this replaces, stopped at a different point of a flat loss surface
    when its inputs moved in the last bit, and its forecasts moved by up to 0.003.
    """

    def __init__(self, alpha: float = 0.01, gamma: float = 0.25) -> None:
        self.alpha, self.gamma = alpha, gamma

    def fit(self, X: np.ndarray, successes: np.ndarray, trials: np.ndarray) -> _KernelRidge:
        from sklearn.kernel_ridge import KernelRidge
        from sklearn.preprocessing import StandardScaler

        self.scaler_ = StandardScaler().fit(X)
        rate = successes / trials
        self.mean_ = float(np.average(rate, weights=trials))
        # gamma per feature, so that a wider design matrix does not make every campaign look unlike the others
        self.model_ = KernelRidge(alpha=self.alpha, kernel="rbf", gamma=self.gamma / X.shape[1])
        self.model_.fit(self.scaler_.transform(X), rate - self.mean_, sample_weight=trials / trials.mean())
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.clip(self.model_.predict(self.scaler_.transform(X)) + self.mean_, 0.0, 1.0)


MODELS = {"glm": _BinomialGLM, "kernel": _KernelRidge}


def _make_model(name: str, seed: int):
    if name not in MODELS:
        raise KPIError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name]()


def forecast_cv(
    campaigns: pd.DataFrame,
    X: pd.DataFrame,
    kpi: str = "open_rate",
    models: Sequence[str] = ("glm", "kernel"),
    n_splits: int = 4,
    test_size: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Time-ordered cross-validation: train on every campaign before a fold, predict the fold's campaigns.

    A ``test_size`` too large for the history (fewer than ``n_splits`` + 1 folds of it) shrinks to what the
    history holds, so that a team with fewer campaigns gets smaller folds rather than an error.

    Returns one row per (model, held-out campaign): date, fold, observed rate, prediction, trials.

    Parameters
    ----------
    campaigns : DataFrame
        Past campaigns with ``date``, ``kpi`` and its trials, in any order.
    X : DataFrame
        Their features (:class:`CampaignFeatures`), same rows.
    kpi : str, default "open_rate"
        The rate to forecast.
    models : sequence of str, default ("glm", "kernel")
        The models to compare.
    n_splits : int, default 4
        Number of time-ordered folds.
    test_size : int, optional
        Campaigns per fold; default: the history split in ``n_splits + 1`` equal parts.
    seed : int, default 0
        Random seed of the models.
    """
    if kpi not in KPI_COLUMNS:
        raise KPIError(f"forecast_cv: unknown kpi {kpi!r}; choose one of {', '.join(KPI_COLUMNS)}")
    from sklearn.model_selection import TimeSeriesSplit

    num, den = KPI_COLUMNS[kpi]
    c = (
        campaigns.assign(campaign_id=campaigns["campaign_id"].astype(str))
        .sort_values(["date", "campaign_id"], kind="stable")
        .reset_index(drop=True)
    )
    _check(c, ["campaign_id", num, den])
    Xa = X.loc[c["campaign_id"]].to_numpy(float)
    succ, n = c[num].to_numpy(float), c[den].to_numpy(float)
    rows = []
    if len(c) < n_splits + 2:
        raise KPIError(f"forecast_cv: {len(c)} campaigns are too few for {n_splits} time-ordered folds")
    if test_size is not None:
        test_size = min(test_size, len(c) // (n_splits + 1))
    splits = TimeSeriesSplit(n_splits=n_splits, test_size=test_size)
    for fold, (tr, te) in enumerate(splits.split(Xa)):
        for name in models:
            m = _make_model(name, seed).fit(Xa[tr], succ[tr], n[tr])
            rows.append(
                pd.DataFrame(
                    dict(
                        model=name,
                        fold=fold,
                        campaign_id=c["campaign_id"].to_numpy()[te],
                        date=c["date"].to_numpy()[te],
                        trials=n[te],
                        observed=succ[te] / n[te],
                        predicted=m.predict(Xa[te]),
                    )
                )
            )
    return pd.concat(rows, ignore_index=True)


def noise_floor(cv: pd.DataFrame, expected: pd.Series) -> float:
    """RMSE of the planted expected rates against the observed ones, on the campaigns ``cv`` held out.

    No forecast can beat it on average: it is the binomial noise of the recipients' draws around the rate
    the planted response model gives them. ``expected`` is indexed by campaign_id.

    Parameters
    ----------
    cv : DataFrame
        The output of :func:`forecast_cv` (the held-out campaigns and their trials).
    expected : Series
        The planted expected rate of each campaign, indexed by ``campaign_id``.
    """
    ids = cv["campaign_id"].drop_duplicates()
    missing = ids[~ids.isin(expected.index)]
    if len(missing):
        raise KPIError(f"noise_floor: no expected rate for campaign(s) {', '.join(missing[:5])}")
    obs = cv.drop_duplicates("campaign_id").set_index("campaign_id")["observed"]
    return float(np.sqrt(np.mean((expected.loc[obs.index].to_numpy() - obs.to_numpy()) ** 2)))


def cv_errors(cv: pd.DataFrame) -> pd.Series:
    """RMSE of each model over the held-out campaigns of :func:`forecast_cv`.

    Parameters
    ----------
    cv : DataFrame
        The output of :func:`forecast_cv`.
    """
    return cv.groupby("model", sort=False).apply(
        lambda d: float(np.sqrt(np.mean((d["predicted"] - d["observed"]) ** 2))), include_groups=False
    )


def forecast(
    history: pd.DataFrame,
    X_history: pd.DataFrame,
    X_planned: pd.DataFrame,
    planned_sent,
    kpi: str = "open_rate",
    model: str = "glm",
    cv: pd.DataFrame | None = None,
    level: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """Predicted rate of planned campaigns with a prediction interval, from a model fitted on all of history.

    The interval adds the binomial noise of ``planned_sent`` recipients to the model's own error, measured as
    the mean squared held-out error in ``cv`` minus the binomial part of those campaigns (a normal interval).

    Parameters
    ----------
    history : DataFrame
        Past campaigns with their observed ``kpi`` and its trials (e.g. ``sent``).
    X_history : DataFrame
        The features of ``history`` (:class:`CampaignFeatures`), one row per campaign.
    X_planned : DataFrame
        The same features for the planned campaigns.
    planned_sent : array-like
        Planned recipients of each planned campaign (the trials of its rate).
    kpi : str, default "open_rate"
        The rate to forecast (``open_rate``, ``click_rate``, ...).
    model : str, default "glm"
        ``"glm"`` (binomial GLM) or ``"kernel"`` (kernel ridge).
    cv : DataFrame, optional
        :func:`forecast_cv` of the same model, for the model's error; without it the interval has the binomial
        noise only.
    level : float, default 0.9
        Level of the prediction interval.
    seed : int, default 0
        Random seed of the model.
    """
    num, den = KPI_COLUMNS[kpi]
    h = history.assign(campaign_id=history["campaign_id"].astype(str))
    Xh = X_history.loc[h["campaign_id"]].to_numpy(float)
    m = _make_model(model, seed).fit(Xh, h[num].to_numpy(float), h[den].to_numpy(float))
    p = m.predict(X_planned.to_numpy(float))
    model_var = 0.0
    if cv is not None:
        d = cv[cv["model"] == model]
        binom = d["observed"] * (1 - d["observed"]) / d["trials"]
        model_var = max(float(np.mean((d["predicted"] - d["observed"]) ** 2 - binom)), 0.0)
    n = np.asarray(planned_sent, float)
    se = np.sqrt(p * (1 - p) / n + model_var)
    z = stats.norm.ppf(0.5 + level / 2)
    return pd.DataFrame(
        dict(predicted=p, low=np.clip(p - z * se, 0, 1), high=np.clip(p + z * se, 0, 1)), index=X_planned.index
    )


def what_if(
    history: pd.DataFrame,
    extra: pd.DataFrame | None,
    campaign_id: str,
    changes: dict[str, Sequence],
    kpi: str = "open_rate",
    model: str = "glm",
    seed: int = 0,
) -> pd.DataFrame:
    """Forecast ``kpi`` of one past campaign re-run with other parameters, every combination of ``changes``.

    The model is fitted on the campaigns before ``campaign_id`` (what was known when it was planned); the
    campaign's own send-log features are kept. Returns one row per combination, best first, with the
    campaign as it ran marked ``as_run``.

    ``changes`` maps a column of the campaigns table (send_hour, subject_variant, channel, discount) to the
    values to try.

    Parameters
    ----------
    history : DataFrame
        The campaigns table.
    extra : DataFrame or None
        Extra features per campaign (e.g. :func:`send_log_features`), indexed by ``campaign_id``.
    campaign_id : str
        The past campaign to re-run.
    changes : dict of str to sequence
        Column of the campaigns table to the values to try.
    kpi : str, default "open_rate"
        The rate to forecast.
    model : str, default "glm"
        ``"glm"`` or ``"kernel"``.
    seed : int, default 0
        Random seed of the model.
    """
    import itertools

    c = history.assign(campaign_id=history["campaign_id"].astype(str)).sort_values(
        ["date", "campaign_id"], kind="stable"
    )
    if campaign_id not in set(c["campaign_id"]):
        raise KPIError(f"what_if: no campaign {campaign_id!r} in the history")
    row = c.loc[c["campaign_id"] == campaign_id].iloc[0]
    before = c[c["date"] < row["date"]]
    if len(before) < 10:
        raise KPIError(f"what_if: only {len(before)} campaigns before {campaign_id}; a forecast needs at least 10")
    unknown = [k for k in changes if k not in c.columns]
    if unknown:
        raise KPIError(f"what_if: {', '.join(unknown)} is not a campaign parameter")
    passthrough = () if extra is None else list(extra.columns)
    joined = c if extra is None else with_send_log(c, extra)
    features = CampaignFeatures(passthrough).fit(joined)  # the vocabulary of the whole history, as before
    X_before = features.transform(joined[joined["date"] < row["date"]])
    num, den = KPI_COLUMNS[kpi]
    m = _make_model(model, seed).fit(X_before.to_numpy(float), before[num].to_numpy(float), before[den].to_numpy(float))
    keys = list(changes)
    combos = list(itertools.product(*[list(changes[k]) for k in keys]))
    plans = pd.DataFrame([row.to_dict()] * len(combos))
    for j, k in enumerate(keys):
        plans[k] = [v[j] for v in combos]
    plans["campaign_id"] = [f"{campaign_id}#{i}" for i in range(len(plans))]
    if extra is not None:
        plans = plans.drop(columns=[x for x in extra.columns if x in plans])
        plans[list(extra.columns)] = np.repeat(extra.loc[[campaign_id]].to_numpy(), len(plans), axis=0)
    Xp = features.transform(plans)
    out = plans[keys].copy()
    out[f"predicted_{kpi}"] = m.predict(Xp.to_numpy(float))
    out["as_run"] = np.all([out[k].to_numpy() == row[k] for k in keys], axis=0)
    return out.sort_values(f"predicted_{kpi}", ascending=False, kind="stable").reset_index(drop=True)
