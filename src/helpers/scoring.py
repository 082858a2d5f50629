"""Lead scoring two ways — hand-set points (a rule engine) and a learned logistic model — plus a learned trigger.

* :func:`rule_scores` adds points per interaction from an events table, as of a date, with a penalty per month
  of inactivity; the points are data (:data:`DEFAULT_RULES`), so a marketer edits a dict, not code.
* :func:`lead_features` turns a leads table into model inputs from a spec (:data:`LEAD_FEATURES`);
  :func:`backward_select` fits a logistic regression with backward stepwise selection (mlxtend's
  ``SequentialFeatureSelector``, cross-validated), so that predictors and weights are learned;
  :func:`selection_frequency` says how often each predictor survives a backward elimination on bootstrap
  resamples (bootstrap inclusion frequencies), i.e. how much of the selection is noise.
* :func:`decile_table` and :func:`calibration_table` compare any scores; :func:`learn_trigger` finds a
  threshold rule (a depth-1 tree) and :func:`odds_ratio` / :func:`adjusted_odds_ratio` state its effect.
* :func:`out_of_time_split` learns from rows whose labels are known before the test period starts;
  :func:`profit_curve` turns a score into a decision: whom to act on, given what acting costs and earns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from .kpis import wilson
from .sampling import sample_positions

__all__ = [
    "DEFAULT_RULES",
    "LEAD_FEATURES",
    "rule_scores",
    "lead_features",
    "feature_sources",
    "backward_select",
    "SELECTION_ROWS",
    "selection_sample",
    "decile_table",
    "calibration_table",
    "learn_trigger",
    "odds_ratio",
    "adjusted_odds_ratio",
    "risk_ratio",
    "adjusted_risk",
    "planted_risk",
    "one_se_size",
    "selection_frequency",
    "backward_aic",
    "first_lead_shift",
    "out_of_time_split",
    "profit_curve",
    "best_cutoff",
    "unit_profit",
    "realised_profit",
    "profit_differences",
    "decision_table",
    "lead_outcome_days",
]

DEFAULT_RULES: dict = {
    "points": {
        "site_visit": 1,
        "email_click": 5,
        "catalog_click": 10,
        "guide_download": 20,
        "payment_form_view": 30,
        "unsubscribe": -30,
    },
    "inactivity": {"after_days": 30, "points": -10},
}
"""The method's point table: +1 website visit, +5 email click, +10 catalog click, +20 buyer's-guide download,
+30 payment-form view, -30 newsletter unsubscribe, and -10 for every full month (30 days) without activity.
Event types not listed score 0."""

LEAD_FEATURES: dict[str, object] = {
    "site_visits": "log1p",
    "product_page_views": "log1p",
    "catalog_clicks": "log1p",
    "guide_downloads": "flag",
    "payment_form_views": "log1p",
    "email_opens": "log1p",
    "email_clicks": "log1p",
    "social_engagements": "log1p",
    "days_since_last_activity": "identity",
    "unsubscribed": "flag",
    "age": "per_decade",
    "is_female": ("gender", "F"),
    "income_high": ("income_band", "high"),
    "source_referral": ("source", "referral"),
    "region_north": ("region", "North"),
}
"""Candidate predictors: column -> transform. ``log1p`` for counts, ``flag`` for 0/1, ``identity``,
``per_decade`` ((x - 40) / 10), ``(column, level)`` for a 0/1 indicator of one level of a categorical column, or
``(column, ">=", t)`` for a threshold indicator (a learned trigger). A team lists its own columns here."""


def feature_sources(spec: Mapping[str, object] = LEAD_FEATURES) -> dict[str, str]:
    """The column of the leads table each feature of ``spec`` is made from (threshold indicators -> their count).

    Level indicators such as ``is_female`` are their own source: they are separate predictors.

    Parameters
    ----------
    spec : mapping, default LEAD_FEATURES
        Feature name to its transform, as in :func:`lead_features`.
    """
    return {name: (how[0] if isinstance(how, tuple) and len(how) == 3 else name) for name, how in spec.items()}


def _check_rules(rules: Mapping) -> None:
    points = rules.get("points")
    if not isinstance(points, Mapping) or not points:
        raise ValueError("rules['points'] must map event types to points, e.g. {'site_visit': 1}")
    bad = {k: v for k, v in points.items() if not isinstance(v, (int, float)) or isinstance(v, bool)}
    if bad:
        raise ValueError(f"rules['points'] values must be numbers, got {bad}")
    inactivity = rules.get("inactivity")
    if inactivity is not None:
        if set(inactivity) != {"after_days", "points"} or inactivity["after_days"] <= 0:
            raise ValueError("rules['inactivity'] must be {'after_days': <positive days>, 'points': <number>}")


def _position_map(ids: pd.Index, values: pd.Series):
    """``(n, take)``: ``take(lo, hi)`` gives the positions in ``ids`` of ``values[lo:hi]`` (-1 when absent).

    ``ids`` is unique. A categorical column is matched once per category (not at all when its categories are
    ``ids`` themselves, as when the loader took them from the parent table), then each slice is a lookup of its
    codes.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        cats = values.cat.categories
        same = _same_labels(cats, ids)
        where = np.append(np.arange(len(ids)) if same else ids.get_indexer(cats), -1)  # code -1 (missing) -> -1
        return len(values), lambda lo, hi: where[codes[lo:hi]]
    found = ids.get_indexer(values)
    return len(values), lambda lo, hi: found[lo:hi]


def _same_labels(a: pd.Index, b: pd.Index) -> bool:
    """Whether two indexes hold the same labels in the same order, compared array to array.

    ``Index.equals`` between categorical indexes (the loader's id columns) first matches their categories
    through a hash table: more than the lookup it would save.
    """
    if len(a) != len(b):
        return False
    if a is b:
        return True
    cat_a, cat_b = isinstance(a.dtype, pd.CategoricalDtype), isinstance(b.dtype, pd.CategoricalDtype)
    if cat_a and cat_b:
        return _same_labels(a.categories, b.categories) and np.array_equal(a.codes, b.codes)
    if cat_a or cat_b:
        c, plain = (a, b) if cat_a else (b, a)
        # a categorical index of each category once, in order, holds exactly its categories
        return bool(np.array_equal(c.codes, np.arange(len(c)))) and _same_labels(c.categories, plain)
    return bool(a.equals(b))


RULE_BLOCK = 1 << 20
"""Events :func:`rule_scores` takes at a time: its temporaries stay a few MB however long the history (a pass over
ten million events at once allocated fresh 80 MB arrays, whose first touch cost more than the arithmetic)."""


def rule_scores(
    events: pd.DataFrame,
    as_of,
    rules: Mapping = DEFAULT_RULES,
    id_col: str = "lead_id",
    ids: Sequence | None = None,
    active_since=None,
) -> pd.DataFrame:
    """Points per lead from its events up to ``as_of``, with a penalty per full period of inactivity.

    Parameters
    ----------
    events : DataFrame
        ``id_col, timestamp, event_type``.
    as_of : date or Series
        The moment of scoring: one date for everyone, or a Series indexed by id (e.g. each lead's decision date).
        Events at or after it do not count.
    rules : dict
        ``{"points": {event_type: points}, "inactivity": {"after_days": d, "points": p}}``; inactivity adds
        ``p`` for every full ``d`` days between the last event (or ``active_since``, if no event) and ``as_of``.
    id_col : str, default "lead_id"
        The column of ``events`` that names the lead (or customer) each event belongs to.
    ids : ids, optional
        Leads to score (default: those with events); leads without events score only the inactivity penalty.
    active_since : Series, optional
        Per id, the start of the lead's history (e.g. creation date), for inactivity of leads without events.

    Returns
    -------
    DataFrame indexed by id: ``points`` (from interactions), ``inactive_days``, ``penalty`` and ``score``.

    Examples
    --------
    >>> ev = pd.DataFrame({"lead_id": ["a", "a", "b"], "event_type": ["site_visit", "guide_download", "unsubscribe"],
    ...                    "timestamp": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-01"])})
    >>> rule_scores(ev, "2025-03-05")["score"].to_dict()
    {'a': 1.0, 'b': -50.0}
    """
    _check_rules(rules)
    scored = pd.Index(pd.unique(events[id_col]) if ids is None else ids, name=id_col)
    if not isinstance(as_of, pd.Series):
        cutoff = pd.Series(pd.Timestamp(as_of), index=scored)
    elif _same_labels(as_of.index, scored):  # already in the order of `ids`: no lookup of every id
        cutoff = as_of.set_axis(scored)
    else:
        cutoff = as_of.reindex(scored)
    if cutoff.isna().any():
        raise ValueError(
            f"as_of has no date for {int(cutoff.isna().sum())} id(s), e.g. {cutoff.index[cutoff.isna()][:3].tolist()}"
        )
    if len(events) and cutoff.max() <= events["timestamp"].min():
        raise ValueError(
            f"as_of ({cutoff.max()}) is not after the first event ({events['timestamp'].min()}): "
            "nothing can be scored; choose a later as_of"
        )
    if not scored.is_unique:
        raise ValueError(
            f"ids holds {int(scored.duplicated().sum())} repeated id(s), e.g. "
            f"{scored[scored.duplicated()][:3].tolist()}; score each lead once"
        )
    # everything below is array arithmetic on each event's position among `ids` (-1: not scored), a block of
    # events at a time; sums of points and the newest event per lead add up across blocks
    n_events, positions = _position_map(scored, events[id_col])
    stamps = events["timestamp"]
    cut = cutoff.to_numpy().astype("datetime64[ns]")
    kinds = events["event_type"]
    if isinstance(kinds.dtype, pd.CategoricalDtype):
        table = np.array([float(rules["points"].get(str(c), 0.0)) for c in kinds.cat.categories] + [0.0])
        kind_codes = kinds.cat.codes.to_numpy()
    points_of = np.zeros(len(scored))
    newest = np.full(len(scored), np.iinfo(np.int64).min)
    for lo in range(0, n_events, RULE_BLOCK):
        hi = min(lo + RULE_BLOCK, n_events)
        pos = positions(lo, hi)
        ts = stamps.iloc[lo:hi].to_numpy().astype("datetime64[ns]")
        keep = pos >= 0
        keep[keep] = ts[keep] < cut[pos[keep]]
        at, ts = pos[keep], ts[keep]
        if isinstance(kinds.dtype, pd.CategoricalDtype):
            pts = table[kind_codes[lo:hi][keep]]  # code -1 (missing) takes the trailing 0
        else:
            pts = kinds.iloc[lo:hi][keep].astype(str).map(rules["points"]).fillna(0.0).to_numpy(float)
        points_of += np.bincount(at, weights=pts, minlength=len(scored))
        np.maximum.at(newest, at, ts.view("int64"))
    points = pd.Series(points_of, index=scored)
    last = pd.Series(
        np.where(newest == np.iinfo(np.int64).min, np.datetime64("NaT", "ns"), newest.view("datetime64[ns]")),
        index=scored,
    )
    if active_since is not None:
        since = pd.Series(active_since)
        last = last.fillna(since.set_axis(scored) if _same_labels(since.index, scored) else since.reindex(scored))
    inactive = (cutoff - last).dt.days
    if (inactive < 0).any():
        bad = inactive.index[inactive < 0][:3].tolist()
        raise ValueError(
            f"active_since is after as_of for {int((inactive < 0).sum())} id(s), e.g. {bad}: those leads "
            "did not exist yet at the scoring date"
        )
    out = pd.DataFrame({"points": points.astype(float), "inactive_days": inactive})
    inact = rules.get("inactivity")
    if inact:
        periods = np.floor(out["inactive_days"].fillna(0) / inact["after_days"])
        out["penalty"] = periods * inact["points"]
    else:
        out["penalty"] = 0.0
    out["score"] = out["points"] + out["penalty"]
    return out


def lead_features(leads: pd.DataFrame, spec: Mapping[str, object] = LEAD_FEATURES) -> pd.DataFrame:
    """Model inputs from a leads table, one column per entry of ``spec`` (see :data:`LEAD_FEATURES`).

    Parameters
    ----------
    leads : DataFrame
        The leads table.
    spec : mapping, default LEAD_FEATURES
        Feature name to its transform: ``"log1p"``, ``"flag"``, ``"identity"``, ``"per_decade"``, or a
        ``(column, level)`` pair for a 0/1 indicator.
    """
    out = pd.DataFrame(index=leads.index)
    for name, how in spec.items():
        src = how[0] if isinstance(how, tuple) else name
        if src not in leads.columns:
            raise ValueError(
                f"leads table has no column {src!r} (needed for feature {name!r}); remove {name!r} from "
                "the spec or add the column"
            )
        col = leads[src]
        if isinstance(how, tuple) and len(how) == 3:
            if how[1] != ">=":
                raise ValueError(f"threshold feature {name!r}: only '>=' is supported, got {how[1]!r}")
            out[name] = (col.astype(float) >= float(how[2])).astype(float)
        elif isinstance(how, tuple):
            out[name] = (col.astype(str) == str(how[1])).astype(float)
        elif how == "log1p":
            if (col < 0).any():
                raise ValueError(f"column {src!r} has negative counts; counts must be >= 0")
            out[name] = np.log1p(col.astype(float))
        elif how == "flag":
            out[name] = col.astype(float)
        elif how == "identity":
            out[name] = col.astype(float)
        elif how == "per_decade":
            out[name] = (col.astype(float) - 40.0) / 10.0
        else:
            raise ValueError(
                f"unknown transform {how!r} for {name!r}; use log1p, flag, identity, per_decade or (column, level)"
            )
    return out


def backward_select(
    x: pd.DataFrame,
    y,
    cv: int = 5,
    scoring: str = "neg_log_loss",
    k_features="best",
    random_state: int = 0,
    n_jobs: int = 1,
    max_rows: int | None = None,
):
    """Backward stepwise selection of a logistic regression's predictors, cross-validated (mlxtend SFS).

    Starts from every column and removes, one at a time, the column whose removal hurts the cross-validated
    ``scoring`` least. ``k_features="parsimonious"`` keeps the smallest subset whose score is within one
    standard error of the best; the default ``"best"`` keeps the subset with the best score. Returns ``(model,
    selected, path)``: the pipeline (standardise + logistic)
    refitted on the selected columns, their names, and a table of the score at each subset size with its
    standard error over the folds (``cv_se``).

    Parameters
    ----------
    x : DataFrame
        The candidate predictors.
    y : array-like
        The 0/1 outcome per row.
    cv : int, default 5
        Cross-validation folds (stratified).
    scoring : str, default "neg_log_loss"
        The scikit-learn scorer that ranks subsets.
    k_features : {"best", "parsimonious"} or int
        Which subset to keep: the best score, the one-standard-error rule, or a fixed number of predictors.
    random_state : int, default 0
        Random seed of the folds.
    n_jobs : int, default 1
        Parallel jobs of the cross-validation.
    max_rows : int, optional
        Select on a random sample of at most this many rows (:func:`selection_sample`, e.g.
        ``SELECTION_ROWS``), then refit the chosen predictors on every row; default: select on every row.
    """
    from mlxtend.feature_selection import SequentialFeatureSelector
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y).astype(int)
    if len(np.unique(y)) < 2:
        raise ValueError("the outcome has one class only: selection needs converted and non-converted leads")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    full_x, full_y = x, y
    x, y = selection_sample(x, y, max_rows, random_state)
    folds = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    sfs = SequentialFeatureSelector(
        model, k_features=k_features, forward=False, floating=False, scoring=scoring, cv=folds, n_jobs=n_jobs
    )
    sfs.fit(x, y)
    selected = list(sfs.k_feature_names_)
    path = pd.DataFrame(
        [
            {
                "n_features": k,
                "cv_score": v["avg_score"],
                "cv_se": float(np.std(v["cv_scores"], ddof=1) / np.sqrt(len(v["cv_scores"]))),
                "features": list(v["feature_names"]),
            }
            for k, v in sorted(sfs.subsets_.items())
        ]
    ).set_index("n_features")
    return model.fit(full_x[selected], full_y), [c for c in x.columns if c in selected], path


SELECTION_ROWS = 20_000
"""Rows a lesson's predictor selection runs on at most: above, a random sample (:func:`selection_sample`)."""


def selection_sample(
    x: pd.DataFrame, y, max_rows: int | None, random_state: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """At most ``max_rows`` rows of ``x`` and ``y``, drawn at random without replacement and kept in their order.

    A selection's cost grows with its rows while what it decides (which predictors carry an effect) is settled
    long before a large team's data ends: the lessons select on ``SELECTION_ROWS`` rows and refit the chosen
    model on every row. With more rows a selection keeps weaker effects, so a selection on a sample is the
    selection that sample size supports; the lesson says when it sampled. ``None`` (or fewer rows) keeps all.

    Parameters
    ----------
    x : DataFrame
        The candidate predictors.
    y : array-like
        The outcome per row.
    max_rows : int or None
        The largest number of rows kept.
    random_state : int, default 0
        Random seed of the sample.

    Examples
    --------
    >>> xs, ys = selection_sample(pd.DataFrame({"a": range(10)}), np.arange(10) % 2, 4, random_state=1)
    >>> len(xs), list(xs.index) == sorted(xs.index), list(ys) == list(xs["a"] % 2)
    (4, True, True)
    """
    y = np.asarray(y)
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} rows and y {len(y)}: give one outcome per row")
    keep = sample_positions(len(x), max_rows, random_state)
    if keep is None:
        return x, y
    return x.iloc[keep], y[keep]


def decile_table(y, scores, bins: int = 10) -> pd.DataFrame:
    """Lift and cumulative gain by score decile (decile 1 = highest scores), ties broken by position.

    Parameters
    ----------
    y : array-like
        The 0/1 outcome per row.
    scores : array-like
        The score per row (higher: more likely).
    bins : int, default 10
        Number of score groups.
    """
    y = np.asarray(y).astype(float)
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    decile = np.empty(len(y), int)
    decile[order] = np.arange(len(y)) * bins // len(y) + 1
    t = pd.DataFrame({"decile": decile, "y": y}).groupby("decile")["y"].agg(["size", "sum", "mean"])
    t.columns = ["leads", "conversions", "rate"]
    t["lift"] = t["rate"] / y.mean()
    t["cumulative_gain"] = t["conversions"].cumsum() / y.sum()
    return t


def calibration_table(y, p, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed rate in equal-count bins of the predicted probability.

    Parameters
    ----------
    y : array-like
        The 0/1 outcome per row.
    p : array-like
        The predicted probability per row.
    bins : int, default 10
        Equal-count bins.
    """
    y, p = np.asarray(y).astype(float), np.asarray(p, float)
    order = np.argsort(p, kind="stable")
    b = np.empty(len(p), int)
    b[order] = np.arange(len(p)) * bins // len(p)
    return pd.DataFrame({"bin": b, "predicted": p, "observed": y}).groupby("bin").mean()


def learn_trigger(x: pd.DataFrame, y, random_state: int = 0) -> tuple[str, float]:
    """The single threshold rule ``column >= t`` that best splits converters (a depth-1 decision tree).

    ``x`` holds raw event counts; returns ``(column, t)`` with ``t`` rounded up to the next whole count.

    Parameters
    ----------
    x : DataFrame
        Raw event counts per lead.
    y : array-like
        The 0/1 outcome per lead.
    random_state : int, default 0
        Random seed of the tree.
    """
    tree = DecisionTreeClassifier(max_depth=1, random_state=random_state).fit(x, np.asarray(y).astype(int))
    feature = x.columns[tree.tree_.feature[0]]
    threshold = float(np.floor(tree.tree_.threshold[0]) + 1)  # x <= 2.5 goes left: the rule is x >= 3
    return feature, threshold


def odds_ratio(flag, y, level: float = 0.95) -> dict:
    """Odds ratio of the outcome with vs without ``flag``, with Woolf's (log) confidence interval.

    Adds 0.5 to every cell when one is empty (Haldane-Anscombe), so the ratio stays finite.

    Parameters
    ----------
    flag : array-like
        The 0/1 flag per row.
    y : array-like
        The 0/1 outcome per row.
    level : float, default 0.95
        Confidence level of the interval.
    """
    flag, y = np.asarray(flag).astype(bool), np.asarray(y).astype(bool)
    cells = np.array([[(flag & y).sum(), (flag & ~y).sum()], [(~flag & y).sum(), (~flag & ~y).sum()]], float)
    if (cells == 0).any():
        cells += 0.5
    (a, b), (c, d) = cells
    log_or = np.log(a * d / (b * c))
    se = np.sqrt((1 / cells).sum())
    z = stats.norm.ppf(0.5 + level / 2)
    return {
        "odds_ratio": float(np.exp(log_or)),
        "low": float(np.exp(log_or - z * se)),
        "high": float(np.exp(log_or + z * se)),
    }


def _logit_fit(x: pd.DataFrame, y, column: str, caller: str):
    """The unpenalised logistic fit behind the adjusted effects.

    The unpenalised logistic fit behind the adjusted effects: design (with intercept), coefficients, their
    covariance (inverse Fisher information) and the position of ``column``. Constant columns are left out.
    """
    constant = [c for c in x.columns if x[c].nunique(dropna=False) <= 1]
    if column in constant:
        raise ValueError(
            f"{caller}: {column!r} takes a single value in these rows, so it has no effect to "
            "measure; choose another threshold or feature"
        )
    x = x.drop(columns=constant)
    xa = np.column_stack([np.ones(len(x)), x.to_numpy(float)])
    fit = LogisticRegression(C=np.inf, max_iter=5000, fit_intercept=False).fit(xa, np.asarray(y).astype(int))
    beta = fit.coef_[0]
    p = 1 / (1 + np.exp(-xa @ beta))
    cov = np.linalg.inv(xa.T @ (xa * (p * (1 - p))[:, None]))
    return xa, beta, cov, 1 + list(x.columns).index(column)


def adjusted_odds_ratio(x: pd.DataFrame, y, column: str, level: float = 0.95) -> dict:
    """Odds ratio of ``column`` holding the other columns of ``x`` fixed: an unpenalised logistic regression.

    The interval comes from the inverse Fisher information (the usual Wald interval). Columns that are constant
    in ``x`` (a region a team's data does not have, say) carry no information and are left out of the fit.

    Parameters
    ----------
    x : DataFrame
        The predictors, ``column`` among them.
    y : array-like
        The 0/1 outcome per row.
    column : str
        The 0/1 flag whose odds ratio is estimated.
    level : float, default 0.95
        Confidence level of the interval.
    """
    xa, beta, cov, j = _logit_fit(x, y, column, "adjusted_odds_ratio")
    se = np.sqrt(cov[j, j])
    z = stats.norm.ppf(0.5 + level / 2)
    return {
        "odds_ratio": float(np.exp(beta[j])),
        "low": float(np.exp(beta[j] - z * se)),
        "high": float(np.exp(beta[j] + z * se)),
    }


def risk_ratio(flag, y, level: float = 0.95) -> dict:
    """Conversion with vs without ``flag``: the risk ratio (Katz's log interval) and the risk difference (Wald).

    An odds ratio is not a risk ratio: at a 24 % base rate, odds that are 3.7 times higher mean a rate 2.6 times
    higher. Marketers think in rates, so report these beside the odds ratio.

    Parameters
    ----------
    flag : array-like
        The 0/1 flag per row.
    y : array-like
        The 0/1 outcome per row.
    level : float, default 0.95
        Confidence level of the intervals.

    Examples
    --------
    >>> r = risk_ratio([1] * 100 + [0] * 100, [1] * 40 + [0] * 60 + [1] * 20 + [0] * 80)
    >>> round(r["risk_ratio"], 2), round(r["risk_difference"], 2)
    (2.0, 0.2)
    """
    flag, y = np.asarray(flag).astype(bool), np.asarray(y).astype(bool)
    n1, n0 = int(flag.sum()), int((~flag).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("risk_ratio: every row has the same flag, so there is nothing to compare")
    k1, k0 = float((flag & y).sum()), float((~flag & y).sum())
    if k1 == 0 or k0 == 0:
        k1, k0, n1, n0 = k1 + 0.5, k0 + 0.5, n1 + 1, n0 + 1
    p1, p0 = k1 / n1, k0 / n0
    z = stats.norm.ppf(0.5 + level / 2)
    se_log = np.sqrt(1 / k1 - 1 / n1 + 1 / k0 - 1 / n0)
    se_d = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return {
        "rate_with": p1,
        "rate_without": p0,
        "risk_ratio": p1 / p0,
        "rr_low": float(p1 / p0 * np.exp(-z * se_log)),
        "rr_high": float(p1 / p0 * np.exp(z * se_log)),
        "risk_difference": p1 - p0,
        "rd_low": float(p1 - p0 - z * se_d),
        "rd_high": float(p1 - p0 + z * se_d),
    }


def adjusted_risk(x: pd.DataFrame, y, column: str, level: float = 0.95) -> dict:
    """The flag's own effect in rates: every row's predicted rate with ``column`` = 1 and = 0, averaged.

    The unpenalised logistic regression of :func:`adjusted_odds_ratio` holds the other behaviours fixed; setting
    the flag on and off for every lead and averaging the predictions (standardisation, or g-computation) turns
    its one odds ratio into the risk ratio and risk difference over these leads, with delta-method intervals.

    Parameters
    ----------
    x : DataFrame
        The predictors, ``column`` among them.
    y : array-like
        The 0/1 outcome per row.
    column : str
        The 0/1 flag whose effect is estimated.
    level : float, default 0.95
        Confidence level of the intervals.
    """
    xa, beta, cov, j = _logit_fit(x, y, column, "adjusted_risk")
    on, off = xa.copy(), xa.copy()
    on[:, j], off[:, j] = 1.0, 0.0
    p1, p0 = 1 / (1 + np.exp(-on @ beta)), 1 / (1 + np.exp(-off @ beta))
    m1, m0 = p1.mean(), p0.mean()
    g1 = (on * (p1 * (1 - p1))[:, None]).mean(axis=0)  # gradients of the two averages in beta
    g0 = (off * (p0 * (1 - p0))[:, None]).mean(axis=0)
    z = stats.norm.ppf(0.5 + level / 2)
    se_d = float(np.sqrt((g1 - g0) @ cov @ (g1 - g0)))
    g_log = g1 / m1 - g0 / m0
    se_log = float(np.sqrt(g_log @ cov @ g_log))
    return {
        "rate_with": m1,
        "rate_without": m0,
        "risk_ratio": m1 / m0,
        "rr_low": float(m1 / m0 * np.exp(-z * se_log)),
        "rr_high": float(m1 / m0 * np.exp(z * se_log)),
        "risk_difference": m1 - m0,
        "rd_low": m1 - m0 - z * se_d,
        "rd_high": m1 - m0 + z * se_d,
    }


def planted_risk(p_convert, flag, odds_ratio: float) -> dict:
    """The oracle's version of :func:`adjusted_risk`: the planted rates with the flag set on and off.

    ``p_convert`` is each lead's planted conversion probability (truth ``lead_latent``), ``flag`` whether it has
    the trigger and ``odds_ratio`` the trigger's planted factor on the odds: removing the flag's term from each
    lead's log-odds and adding it back gives the rates it would have without and with the trigger.

    Parameters
    ----------
    p_convert : array-like
        Each lead's planted conversion probability.
    flag : array-like
        Whether each lead has the trigger (0/1).
    odds_ratio : float
        The trigger's planted factor on the odds.

    Examples
    --------
    >>> r = planted_risk([0.5, 0.2], [1, 0], 3.0)
    >>> round(r["rate_with"], 3), round(r["rate_without"], 3)
    (0.464, 0.225)
    """
    p, f = np.asarray(p_convert, float), np.asarray(flag, float)
    eta0 = np.log(p / (1 - p)) - np.log(odds_ratio) * f
    m1, m0 = float(np.mean(1 / (1 + np.exp(-(eta0 + np.log(odds_ratio)))))), float(np.mean(1 / (1 + np.exp(-eta0))))
    return {"rate_with": m1, "rate_without": m0, "risk_ratio": m1 / m0, "risk_difference": m1 - m0}


def one_se_size(path: pd.DataFrame) -> int:
    """The one-standard-error rule on a backward-selection path.

    The one-standard-error rule on a :func:`backward_select` path: the fewest predictors whose cross-validated
    score is within one standard error (over the folds) of the best score.

    Parameters
    ----------
    path : DataFrame
        A :func:`backward_select` path: ``cv_score`` and ``cv_se`` indexed by the number of predictors.

    Examples
    --------
    >>> one_se_size(pd.DataFrame({"cv_score": [-0.50, -0.46, -0.45], "cv_se": [0.01, 0.01, 0.02]}, index=[1, 2, 3]))
    2
    """
    best = path["cv_score"].idxmax()
    ok = path.index[path["cv_score"] >= path.loc[best, "cv_score"] - path.loc[best, "cv_se"]]
    return int(min(ok))


def _logit_loglik(
    xa: np.ndarray, y: np.ndarray, start: np.ndarray | None = None, max_iter: int = 50
) -> tuple[float, np.ndarray]:
    """Maximum log-likelihood of an unpenalised logistic regression by Newton's method.

    Maximum log-likelihood of an unpenalised logistic regression (design ``xa`` with its intercept column) by
    Newton's method, started at ``start``; returns ``(loglik, coefficients)``.

    statsmodels' ``GLM(..., Binomial()).fit()`` gives the same maximum (tests check it to 1e-8) but costs about
    five times as long per fit, and :func:`selection_frequency` makes thousands of fits. A step that does not
    raise the likelihood is halved, so separation or a near-singular design ends at the best point reached.
    """
    beta = np.zeros(xa.shape[1]) if start is None else start.astype(float).copy()

    def loglik(b):
        eta = xa @ b
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    ll = loglik(beta)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(xa @ beta)))
        hess = xa.T @ (xa * (p * (1.0 - p))[:, None])
        step = np.linalg.lstsq(hess, xa.T @ (y - p), rcond=None)[0]
        for _halving in range(30):
            new = loglik(beta + step)
            if new >= ll - 1e-12:
                break
            step = step / 2
        else:
            break
        beta, gain, ll = beta + step, new - ll, new
        if gain < 1e-10 and np.max(np.abs(step)) < 1e-8:
            break
    return ll, beta


def backward_aic(x: pd.DataFrame, y) -> list[str]:
    """Backward elimination by AIC.

    Backward elimination by AIC: from every column, remove the one whose removal lowers the AIC most (an
    unpenalised logistic fit), until no removal lowers it. Returns the kept columns, in ``x``'s order.

    In large samples the AIC and the cross-validated log-loss rank models alike (Stone 1977), so this is the
    criterion of :func:`backward_select` without the folds, which is what a bootstrap resample needs: its
    repeated rows would sit in training and validation folds at once. Constant columns are never kept.
    """
    y = np.asarray(y).astype(float)
    if len(np.unique(y)) < 2:
        raise ValueError("the outcome has one class only: selection needs converted and non-converted leads")
    values = x.to_numpy(float)
    keep = [j for j in range(values.shape[1]) if np.ptp(values[:, j]) > 0]
    xa = np.column_stack([np.ones(len(values)), values])
    ll, beta = _logit_loglik(xa[:, [0] + [j + 1 for j in keep]], y)
    aic = -2 * ll + 2 * (len(keep) + 1)
    while keep:
        best = None
        for pos in range(len(keep)):
            rest = keep[:pos] + keep[pos + 1 :]
            start = np.delete(beta, pos + 1)  # warm start: the current fit without that column
            ll_j, beta_j = _logit_loglik(xa[:, [0] + [i + 1 for i in rest]], y, start)
            aic_j = -2 * ll_j + 2 * (len(rest) + 1)
            if best is None or aic_j < best[0] - 1e-9:
                best = (aic_j, pos, beta_j)
        if best is None or best[0] >= aic - 1e-9:
            break
        aic, pos, beta = best
        keep.pop(pos)
    return [x.columns[j] for j in sorted(keep)]


def selection_frequency(
    x: pd.DataFrame, y, n_boot: int = 50, random_state: int = 0, level: float = 0.95, max_rows: int | None = None
) -> pd.DataFrame:
    """Bootstrap inclusion frequencies: how often each predictor survives :func:`backward_aic` on resamples.

    Each of ``n_boot`` resamples draws the rows with replacement and repeats the whole backward elimination; a
    predictor kept in nearly every resample is a stable choice, one kept in half of them is a coin flip that a
    single selection happened to call (Sauerbrei and Schumacher 1992; Heinze, Wallisch and Dunkler 2018).

    Returns a DataFrame indexed by the columns of ``x``: ``on_all_rows`` (kept by :func:`backward_aic` on the
    rows as given), ``share`` (of resamples that kept it), ``low`` and ``high`` (a Wilson interval for that share
    at ``level``: the Monte-Carlo error of ``n_boot`` resamples) and ``resamples``.

    Parameters
    ----------
    x : DataFrame
        The candidate predictors.
    y : array-like
        The 0/1 outcome per row.
    n_boot : int, default 50
        Bootstrap resamples.
    random_state : int, default 0
        Random seed of the resampling.
    level : float, default 0.95
        Confidence level of the Wilson intervals.
    max_rows : int, optional
        Resample (and select ``on_all_rows``) from a random sample of at most this many rows
        (:func:`selection_sample`), as :func:`backward_select` selects; default: every row.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot!r}")
    y = np.asarray(y).astype(int)
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} rows and y {len(y)}: give one outcome per row")
    x, y = selection_sample(x, y, max_rows, random_state)
    kept_all = set(backward_aic(x, y))
    rng = np.random.default_rng(random_state)
    counts = pd.Series(0, index=x.columns)
    for _ in range(n_boot):
        rows = rng.integers(0, len(x), len(x))
        if len(np.unique(y[rows])) < 2:
            continue
        counts[backward_aic(x.iloc[rows], y[rows])] += 1
    share = counts / n_boot
    low, high = wilson(counts.to_numpy(), np.full(len(counts), n_boot), level)
    # the bounds hold the share itself: rounding must not put a share of 0 or 1 outside its own interval
    return pd.DataFrame(
        {
            "on_all_rows": [c in kept_all for c in x.columns],
            "share": share,
            "low": np.minimum(low, share),
            "high": np.maximum(high, share),
            "resamples": n_boot,
        },
        index=x.columns,
    )


def first_lead_shift(leads: pd.DataFrame) -> pd.Timestamp | None:
    """The first month whose lead features moved beyond chance against the first six months, from the data alone.

    :func:`helpers.retraining.first_shift` on :func:`lead_features` by ``created_date`` (``leads`` as in the data
    card, ``lead_id`` a column or the index); None when the inputs never moved. On the course world it finds the
    planted change of 2025-07-01 without reading the truth file.

    Parameters
    ----------
    leads : DataFrame
        The leads table (``created_date`` and the feature sources).
    """
    from helpers.retraining import first_shift

    t = leads.set_index("lead_id") if "lead_id" in leads.columns else leads
    x = lead_features(t)
    return first_shift(x.assign(created=t["created_date"]), list(x.columns), "created")


def lead_outcome_days(leads: pd.DataFrame) -> int:
    """Days after creation by which every lead's outcome is known, read from ``converted_date``.

    :func:`helpers.timeline.outcome_window_days` on the leads table; a clear error when the table has no
    ``converted_date`` (then the lessons take ``lead_outcome_days``, the sales cycle in days, as a parameter).

    Parameters
    ----------
    leads : DataFrame
        The leads table with ``created_date`` and ``converted_date``.
    """
    if "converted_date" not in leads.columns:
        raise ValueError(
            "leads.csv has no converted_date column, so the day a lead's outcome becomes known cannot "
            "be read from the data; set the parameter lead_outcome_days to your sales cycle in days"
        )
    from .timeline import outcome_window_days

    return outcome_window_days(leads["created_date"], leads["converted_date"])


def out_of_time_split(dates: pd.Series, test_share: float = 0.3, label_days: int = 0) -> tuple[pd.Index, pd.Index]:
    """Split rows by time as a score is used: learn from the past, score what comes after.

    The test rows are the latest ``test_share`` of ``dates`` (from the first date at or after that quantile);
    the training rows are those whose label is known by then, i.e. dated at least ``label_days`` before the
    first test date (a lead's outcome is known once its conversion window has closed,
    :func:`helpers.timeline.outcome_window_days`). Rows in between are in neither: on the day the score goes
    live their outcome is not known yet. Returns (train index, test index).

    Parameters
    ----------
    dates : Series
        The date of each row.
    test_share : float, default 0.3
        The latest share of rows to test on.
    label_days : int, default 0
        Days after its date at which a row's label is known.

    Examples
    --------
    >>> d = pd.Series(pd.date_range("2025-01-01", periods=10, freq="10D"))
    >>> [list(i) for i in out_of_time_split(d, 0.3, label_days=25)]
    [[0, 1, 2, 3, 4], [7, 8, 9]]
    """
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must be between 0 and 1, got {test_share}")
    if label_days < 0:
        raise ValueError(f"label_days must be 0 or more, got {label_days}")
    dates = pd.to_datetime(pd.Series(dates))
    if dates.isna().any():
        raise ValueError(f"{int(dates.isna().sum())} dates are missing: every row needs the date it was scored on")
    cut = dates.sort_values(kind="stable").iloc[int(np.floor(len(dates) * (1 - test_share)))]
    test = dates.index[dates >= cut]
    train = dates.index[dates < cut - pd.Timedelta(days=label_days)]
    if len(train) == 0 or len(test) == 0:
        raise ValueError(
            f"out-of-time split: {len(train)} rows to learn from and {len(test)} to test on; the "
            f"history ({dates.min().date()} to {dates.max().date()}) is too short for a label delay of "
            f"{label_days} days and a test share of {test_share}"
        )
    return train, test


def profit_curve(y, score, benefit, cost) -> pd.DataFrame:
    """Profit of acting on the ``n`` best-scored rows, for every ``n``.

    Profit of acting on the ``n`` best-scored rows, for every ``n``: sum of ``benefit`` over the positives
    reached minus ``cost`` per row acted on.

    ``benefit`` (what acting on a positive earns, e.g. a deal's margin, or save rate x a kept customer's value)
    and ``cost`` (per row acted on) are scalars or per-row arrays. Rows are taken by descending score, ties
    by position. Returns one row per ``n`` = 0 .. len(y): ``share`` acted on, ``threshold`` (the lowest score
    acted on), ``profit``.

    Parameters
    ----------
    y : array-like
        The 0/1 outcome per row.
    score : array-like
        The score per row.
    benefit : float or array-like
        What acting on a positive earns.
    cost : float or array-like
        What acting on a row costs.

    Examples
    --------
    >>> profit_curve([1, 0, 1], [0.9, 0.8, 0.1], benefit=10, cost=3)["profit"].tolist()
    [0.0, 7.0, 4.0, 11.0]
    """
    y, s = np.asarray(y, float), np.asarray(score, float)
    if len(y) != len(s) or len(y) == 0:
        raise ValueError(f"profit_curve needs as many outcomes as scores, at least one; got {len(y)} and {len(s)}")
    if np.isnan(s).any():
        raise ValueError(f"{int(np.isnan(s).sum())} scores are missing")
    benefit = np.broadcast_to(np.asarray(benefit, float), y.shape)
    cost = np.broadcast_to(np.asarray(cost, float), y.shape)
    order = np.argsort(-s, kind="stable")
    gain = np.cumsum(y[order] * benefit[order] - cost[order])
    return pd.DataFrame(
        {"share": np.arange(len(y) + 1) / len(y), "threshold": np.r_[np.inf, s[order]], "profit": np.r_[0.0, gain]}
    )


def best_cutoff(y, score, benefit, cost) -> float:
    """The most profitable cut-off of a score on past rows.

    The score at and above which acting earned the most on ``(y, score)``: how to set a cut-off for a score
    that is not a probability, on past rows whose outcome is known (never on the rows it is then used for).

    Parameters
    ----------
    y : array-like
        The 0/1 outcome of past rows.
    score : array-like
        Their scores.
    benefit : float or array-like
        What acting on a positive earns (per row, or one value).
    cost : float or array-like
        What acting on a row costs.

    Examples
    --------
    >>> best_cutoff([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], benefit=10, cost=3)
    0.7
    """
    curve = profit_curve(y, score, benefit, cost)
    best = curve.iloc[int(np.argmax(curve["profit"].to_numpy()))]
    return float(best["threshold"])


def unit_profit(y, acted, benefit, cost) -> pd.Series:
    """What acting earned on each row.

    What acting earned on each row: ``benefit`` if the row is a positive acted on, minus ``cost`` if acted on,
    0 if not acted on. Indexed like ``y`` when it is a Series, so that two decision rules can be compared on the
    same rows with :func:`helpers.compare.paired_difference`.

    >>> unit_profit([1, 0, 1], [True, True, False], benefit=10, cost=3).tolist()
    [7.0, -3.0, 0.0]
    """
    index = y.index if isinstance(y, pd.Series) else None
    y, acted = np.asarray(y, float), np.asarray(acted, bool)
    if len(y) != len(acted):
        raise ValueError(f"unit_profit: {len(y)} outcomes but {len(acted)} decisions")
    benefit = np.broadcast_to(np.asarray(benefit, float), y.shape)
    cost = np.broadcast_to(np.asarray(cost, float), y.shape)
    return pd.Series(np.where(acted, y * benefit - cost, 0.0), index=index)


def realised_profit(y, acted, benefit, cost) -> float:
    """What acting on the rows where ``acted`` is true earned: ``benefit`` per positive reached, ``cost`` per row.

    >>> realised_profit([1, 0, 1], [True, True, False], benefit=10, cost=3)
    4.0
    """
    return float(unit_profit(y, acted, benefit, cost).sum())


def profit_differences(
    y: pd.Series, acted: Mapping[str, object], benefit, cost, pairs: list[tuple[str, str]], random_state: int = 0
) -> pd.DataFrame:
    """Profit of decision rule A minus rule B, with a paired bootstrap interval.

    Profit of decision rule A minus rule B over all rows of ``y``, for each ``(A, B)`` of ``pairs``, with a 95 %
    paired bootstrap interval (:func:`helpers.compare.difference_table` on :func:`unit_profit`, in totals).

    One row per pair, indexed by ``(A, B)``, with ``profit A - B``, ``low`` and ``high``.

    Parameters
    ----------
    y : Series
        The 0/1 outcome per row.
    acted : mapping of str to array-like
        Decision rule name to a 0/1 mask of the rows it acts on.
    benefit : float or array-like
        What acting on a positive earns.
    cost : float or array-like
        What acting on a row costs.
    pairs : list of (str, str)
        The pairs ``(A, B)`` of rule names to compare.
    random_state : int, default 0
        Random seed of the bootstrap.
    """
    from .compare import difference_table

    per_row = {name: unit_profit(y, mask, benefit, cost) for name, mask in acted.items()}
    gaps = difference_table(per_row, pairs, random_state=random_state)[["A - B", "low", "high"]] * len(y)
    return gaps.rename(columns={"A - B": "profit A - B"})


def decision_table(y, scores: pd.DataFrame, acted: Mapping[str, object], benefit, cost) -> pd.DataFrame:
    """Each decision rule of ``acted`` (name -> which rows to act on), judged on the outcomes ``y``.

    Columns: ``share acted on``, ``profit`` (:func:`realised_profit`), and, for a name that is also a column of
    ``scores``, the ``best share in hindsight`` and its ``profit at best share`` on that score's
    :func:`profit_curve`: what a perfectly placed cut-off on the same score would have earned, a bound that no
    cut-off set in advance reaches.

    Parameters
    ----------
    y : array-like
        The 0/1 outcome per row.
    scores : DataFrame
        Scores per row, one column per score, for the hindsight bound.
    acted : mapping of str to array-like
        Decision rule name to a 0/1 mask of the rows it acts on.
    benefit : float or array-like
        What acting on a positive earns.
    cost : float or array-like
        What acting on a row costs.
    """
    y = np.asarray(y, float)
    rows = {}
    for name, mask in acted.items():
        mask = np.asarray(mask, bool)
        row = {"share acted on": float(mask.mean()), "profit": realised_profit(y, mask, benefit, cost)}
        if name in scores:
            curve = profit_curve(y, scores[name], benefit, cost)
            best = int(np.argmax(curve["profit"].to_numpy()))
            row.update(
                {
                    "best share in hindsight": float(curve["share"].iloc[best]),
                    "profit at best share": float(curve["profit"].iloc[best]),
                }
            )
        rows[name] = row
    return pd.DataFrame(rows).T.reindex(
        columns=["share acted on", "profit", "best share in hindsight", "profit at best share"]
    )
