"""Customer segmentation: behaviour features, PCA, k-means with a choice of k, two-step clustering, personas.

The features describe what a customer *does* — how often and how recently they buy, how much, what, how they
browse and answer emails — from the transactions and events tables of any world (the course's or a team's).
Counts are turned into rates per active month so that old and new customers compare; skewed amounts are
log-transformed; category shares and email rates of customers with little history are shrunk toward the
population (empirical Bayes), so that one purchase does not make a customer "100% electronics".

:class:`TwoStepClustering` follows SPSS's two-step method: a BIRCH CF-tree pre-clusters the customers into many
small sub-clusters, then the sub-clusters are merged hierarchically with the log-likelihood distance (Gaussian
for numeric, multinomial for categorical columns), and the number of clusters is chosen from the BIC of every
step of the merging.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.cluster import Birch, KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .sampling import sample_positions
from .timeline import DAYS_PER_MONTH

__all__ = [
    "CRM_COLUMNS",
    "LEFT_OUT",
    "SKEWED",
    "customer_features",
    "mixed_inputs",
    "quantile_segments",
    "scale_features",
    "pca_summary",
    "CHOOSE_K_ROWS",
    "choose_k",
    "suggest_k",
    "TwoStepClustering",
    "match_clusters",
    "profile_clusters",
    "propose_labels",
    "personas",
]

CUSTOMER_ACTIONS = (
    "site_visit",
    "product_page_view",
    "catalog_click",
    "guide_download",
    "cart_add",
    "cart_abandon",
    "payment_form_view",
    "email_open",
    "email_click",
    "push_open",
    "push_click",
)
"""Event types that the customer does (rather than receives); the last of them ends the active life."""
ACTIVE_PAD_DAYS = 30
LEFT_OUT = ("tenure_months", "monetary", "product_views")
"""Features built but not clustered on by default: tenure says when a customer joined rather than how they
behave, monetary counts frequency x order value a second time, product views move with web sessions."""
CRM_COLUMNS = ("acquisition_channel", "income_band", "preferred_device", "loyalty_member")
"""Categorical columns of the customers table that two-step clustering uses next to the behaviour features."""
SKEWED = ("frequency", "monetary", "avg_order_value", "recency_days", "web_sessions", "product_views")
"""Features that are log-transformed (log1p) before scaling."""


def customer_features(
    world, as_of: pd.Timestamp | str | None = None, shrink: float = 3.0, undefined: str = "population"
) -> pd.DataFrame:
    """Per-customer behaviour features from ``customers``, ``transactions``, ``products`` and ``events``.

    Parameters
    ----------
    world : World
        A loaded world (``helpers.io.load_world``) with at least customers, transactions and products; events
        are used when present.
    as_of : date, optional
        Only history before this moment counts; default: the day after the last order or event.
    shrink : float
        Pseudo-count of the empirical-Bayes shrinkage of shares and rates toward the population (0: none).
    undefined : {"population", "missing"}
        What a feature is when it has no meaning for a customer: the spend mix and average order value of a
        customer who never ordered, the email rates of one who was never emailed. ``"population"`` (default)
        gives the population value, which suits k-means and PCA; ``"missing"`` gives NaN, which
        :class:`TwoStepClustering` leaves out of its likelihood instead of seeing thousands of identical values.

    Returns
    -------
    DataFrame indexed by ``customer_id`` with columns ``tenure_months, frequency, recency_days, monetary,
    avg_order_value, share_<category>..., web_sessions, product_views, email_open_rate, email_click_rate, age``.
    Rates (``frequency``, ``web_sessions``, ``product_views``) are per month of the customer's active life:
    from signup (or the first day of the data) to their last own action plus one month.

    Examples
    --------
    >>> from helpers.io import load_world
    >>> f = customer_features(load_world(tables=["transactions", "events"]))  # doctest: +SKIP
    >>> f.loc[100001, ["frequency", "recency_days", "share_electronics"]]  # doctest: +SKIP
    """
    return _features_and_last_action(world, as_of, shrink, undefined)[0]


def _features_and_last_action(world, as_of, shrink: float, undefined: str) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`customer_features` and each customer's last own action (order or event; NaT if none)."""
    if undefined not in ("population", "missing"):
        raise ValueError(f"undefined must be 'population' or 'missing', got {undefined!r}")
    f, last_active, blank = _feature_table(world, as_of, shrink)
    return (_undefined_missing(f, blank) if undefined == "missing" else f), last_active


def _undefined_missing(f: pd.DataFrame, blank: list[tuple[pd.Series, list[str]]]) -> pd.DataFrame:
    """``f`` with each feature that has no meaning for a customer missing (``undefined="missing"``)."""
    f = f.copy()
    for rows, columns in blank:
        f.loc[rows, columns] = np.nan
    return f


def _feature_table(world, as_of, shrink: float) -> tuple[pd.DataFrame, pd.Series, list[tuple[pd.Series, list[str]]]]:
    """The features with population values where undefined, the last own action, and where each is undefined."""
    cust = world.customers.set_index("customer_id")
    n = len(cust)
    tx = world.transactions
    ev = world.tables.get("events")
    if ev is not None and not len(ev):
        ev = None
    last_seen = [tx["order_date"].max()] + ([ev["timestamp"].max()] if ev is not None else [])
    as_of = pd.Timestamp(as_of) if as_of is not None else (max(last_seen).normalize() + pd.Timedelta(days=1))
    # the orders before as_of are taken column by column, each when it is needed: a filtered copy of a table of
    # 10^7 order lines would hold every column at once (about 1 GiB at a million customers)
    before = (tx["order_date"] < as_of).to_numpy() if tx["order_date"].max() >= as_of else None

    def lines(column: str) -> pd.Series:
        return tx[column] if before is None else tx[column][before]

    # events are not copied: at a million customers they are 10^8 rows (GBs); _event_stats skips the later
    # ones chunk by chunk
    ev_until = as_of if ev is not None and ev["timestamp"].max() >= as_of else None
    ev_first = [ev["timestamp"].min()] if ev is not None and ev["timestamp"].min() < as_of else []
    order_dates = lines("order_date")
    first_day = min([order_dates.min()] + ev_first)
    start = cust["signup_date"].clip(lower=first_day.normalize())
    tenure_days = (as_of - start).dt.days.clip(lower=1)
    tenure_months = tenure_days / DAYS_PER_MONTH

    # per-customer sums by position (bincount), not by groupby: this is the step that meets 100M-row tables
    pos = _positions(cust.index, lines("customer_id").to_numpy(), "transactions")
    last_order = _last_time(pos, order_dates, n, cust.index)
    del order_dates
    value = lines("quantity").to_numpy(float) * lines("unit_price").to_numpy(float)
    first_line = ~lines("order_id").duplicated().to_numpy()  # one line per order counts the order
    n_orders = pd.Series(np.bincount(pos[first_line], minlength=n).astype(float), index=cust.index)
    del first_line
    monetary = pd.Series(np.bincount(pos, weights=value, minlength=n), index=cust.index)

    last_active = last_order
    if ev is not None:
        counts, types, last_own = _event_stats(ev, cust.index, until=ev_until)
        last_active = pd.concat([last_order, last_own], axis=1).max(axis=1)
    # rates are per month of the customer's *active* life (first day to last action, plus one month), so that a
    # customer who left a year ago is not mistaken for a slow one: how long ago they left is recency's job
    active_days = ((last_active - start).dt.days + ACTIVE_PAD_DAYS).clip(upper=tenure_days)
    active_months = active_days.fillna(tenure_days).clip(lower=1) / DAYS_PER_MONTH

    f = pd.DataFrame(index=cust.index)
    f["tenure_months"] = tenure_months
    f["frequency"] = _rate(n_orders, active_months, shrink)
    f["recency_days"] = (as_of - last_order).dt.days.fillna(tenure_days).astype(float)
    f["monetary"] = monetary
    aov_pop = monetary.sum() / max(n_orders.sum(), 1.0)
    f["avg_order_value"] = (
        (monetary + shrink * aov_pop) / (n_orders + shrink)
        if shrink > 0
        else (monetary / n_orders.where(n_orders > 0)).fillna(aov_pop)
    )

    products = _categories(world)
    cats = sorted(products.unique()) if products is not None else []
    if products is not None:  # the spend mix needs to know what each line bought
        cat_of_product = pd.Index(cats).get_indexer(products.to_numpy())
        cat = cat_of_product[products.index.get_indexer(lines("product_id").astype(products.index.dtype))]
        spend = np.bincount(pos * len(cats) + cat, weights=value, minlength=n * len(cats)).reshape(n, len(cats))
        total = spend.sum(axis=1)
        pop = spend.sum(axis=0) / max(spend.sum(), 1e-300)
        # shrink each customer's spend mix toward the population mix, with `shrink` orders' worth of weight
        k = n_orders.to_numpy()
        w = (k / (k + shrink) if shrink > 0 else (k > 0).astype(float))[:, None]
        mix = spend / np.where(total > 0, total, 1.0)[:, None]
        shares = w * mix + (1 - w) * pop[None, :]
        for j, c in enumerate(cats):
            f[f"share_{c}"] = shares[:, j]

    if ev is not None:

        def col(name: str) -> pd.Series:
            return pd.Series(counts[:, types.index(name)] if name in types else 0, index=cust.index, dtype=float)

        f["web_sessions"] = _rate(col("site_visit"), active_months, shrink)
        f["product_views"] = _rate(col("product_page_view"), active_months, shrink)
        sent, opens, clicks = col("email_sent"), col("email_open"), col("email_click")
        p_open = opens.sum() / max(sent.sum(), 1)
        p_click = clicks.sum() / max(sent.sum(), 1)
        f["email_open_rate"] = (opens + shrink * p_open) / (sent + shrink)
        f["email_click_rate"] = (clicks + shrink * p_click) / (sent + shrink)
        blank = [(sent == 0, ["email_open_rate", "email_click_rate"])]
    else:
        blank = []
    blank.append((n_orders == 0, ["avg_order_value"] + [c for c in f.columns if c.startswith("share_")]))
    if "age" in cust.columns and cust["age"].notna().all():  # blank ages are unknown: never filled in with a guess
        f["age"] = cust["age"].astype(float)
    return f, last_active, blank


def _categories(world) -> pd.Series | None:
    """Each product's category, or None when the orders do not say what was bought (no product_id or products)."""
    if "products" not in world.tables or "product_id" not in world.transactions.columns:
        return None
    return world.products.set_index("product_id")["category"].astype(str)


_NONE = np.iinfo(np.int64).min


def _positions(index: pd.Index, ids: np.ndarray, table: str) -> np.ndarray:
    """Row position of each id in the customers index; unknown customers are an error, not a silent row."""
    pos = index.get_indexer(ids)
    if (pos < 0).any():
        unknown = pd.unique(ids[pos < 0])[:5].tolist()
        raise ValueError(
            f"{table} has customer_id(s) not in customers, e.g. {unknown}: load the world with "
            "helpers.io.load_world, which checks keys, or drop those rows"
        )
    return pos


def _last_time(pos: np.ndarray, times, n: int, index: pd.Index) -> pd.Series:
    """Latest timestamp per customer position (NaT for customers without any)."""
    last = np.full(n, _NONE)
    np.maximum.at(last, pos, np.asarray(times, dtype="datetime64[ns]").view(np.int64))
    return _as_times(last, index)


def _as_times(last: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(last.view("datetime64[ns]"), index=index).where(last != _NONE)


def _event_stats(ev: pd.DataFrame, index: pd.Index, chunk: int = 8_000_000, until: pd.Timestamp | None = None):
    """Event counts per customer and type, and each customer's last own action.

    Counts per customer and event type, and each customer's last own action, in chunks of rows; only the
    events before ``until`` when given.

    Event tables reach 10^8 rows at a million customers: working through them a chunk at a time keeps the
    temporaries (positions, codes, timestamps) at a few hundred MB instead of several GB, and filtering by date
    chunk by chunk avoids a copy of the table.
    """
    etype = ev["event_type"]
    if not isinstance(etype.dtype, pd.CategoricalDtype):
        etype = etype.astype("category")
    types = [str(t) for t in etype.cat.categories]
    codes_all = etype.cat.codes.to_numpy()
    own_codes = np.array([i for i, t in enumerate(types) if t in CUSTOMER_ACTIONS], dtype=codes_all.dtype)
    ids = ev["customer_id"].to_numpy()
    stamps = ev["timestamp"].to_numpy()
    n, m = len(index), len(types)
    counts = np.zeros(n * m, dtype=np.int64)
    last = np.full(n, _NONE)
    limit = None if until is None else np.datetime64(pd.Timestamp(until).as_unit("ns").asm8)
    for start in range(0, len(ev), chunk):
        ids_c, codes, stamps_c = (
            ids[start : start + chunk],
            codes_all[start : start + chunk],
            stamps[start : start + chunk],
        )
        if limit is not None:
            keep = stamps_c < limit
            ids_c, codes, stamps_c = ids_c[keep], codes[keep], stamps_c[keep]
        pos = _positions(index, ids_c, "events")
        counts += np.bincount(pos * m + codes, minlength=n * m)
        own = np.isin(codes, own_codes)
        np.maximum.at(last, pos[own], stamps_c[own].astype("datetime64[ns]").view(np.int64))
    return counts.reshape(n, m), types, _as_times(last, index)


def _rate(count: pd.Series, months: pd.Series, shrink: float) -> pd.Series:
    """Events per month, shrunk toward the population rate with ``shrink`` months of pseudo-history.

    The posterior mean of a Gamma-Poisson rate: customers with a short history sit near the population rate,
    and "no event yet" is a small rate, not an exact zero shared by thousands of customers.
    """
    pop = count.sum() / months.sum()
    return (count + shrink * pop) / (months + shrink)


def mixed_inputs(
    world,
    left_out: Sequence[str] = LEFT_OUT,
    categorical: Sequence[str] = CRM_COLUMNS,
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """The table two-step clustering reads: scaled behaviour features (undefined values missing) + CRM columns.

    Parameters
    ----------
    world : World
        As for :func:`customer_features`.
    left_out : list of str
        Behaviour features not to cluster on (default :data:`LEFT_OUT`).
    categorical : list of str
        Columns of the customers table to add as categorical inputs (default :data:`CRM_COLUMNS`).
    as_of : date, optional
        Only history before this moment counts, as for :func:`customer_features`.

    Returns
    -------
    DataFrame indexed by ``customer_id``: the numeric features first, then ``categorical`` as strings.
    """
    _crm_columns(world, categorical)
    return _mixed(world, customer_features(world, as_of=as_of, undefined="missing"), left_out, categorical)


def _crm_columns(world, categorical: Sequence[str]) -> None:
    """A clear error when the customers table lacks a categorical input."""
    cust = world.customers
    absent = [c for c in categorical if c not in cust.columns]
    if absent:
        raise ValueError(
            f"customers table has no column(s) {absent}; pass categorical= with the columns your "
            f"customers table has (it has {[c for c in cust.columns if c != 'customer_id']})"
        )


def _mixed(world, feats: pd.DataFrame, left_out: Sequence[str], categorical: Sequence[str]) -> pd.DataFrame:
    """:func:`mixed_inputs` from features already computed with ``undefined="missing"``."""
    cust = world.customers.set_index("customer_id")
    unknown = [c for c in left_out if c not in feats.columns]
    if unknown:
        raise ValueError(f"left_out names unknown feature(s) {unknown}; features are {list(feats.columns)}")
    x = scale_features(feats.drop(columns=list(left_out)), allow_missing=True)
    return x.join(cust[list(categorical)].astype(object).fillna("unknown").astype(str))  # blank: its own value


def quantile_segments(values: pd.Series, k: int) -> np.ndarray:
    """A naive segmentation: k equal-sized groups by one field (ties broken by order of appearance).

    The floor every clustering method must beat, e.g. ``quantile_segments(features["recency_days"], 5)``.

    Parameters
    ----------
    values : Series
        The field to cut.
    k : int
        Number of groups.
    """
    if k < 1 or k > len(values):
        raise ValueError(f"k must be between 1 and the number of rows ({len(values)}), got {k}")
    ranks = values.rank(method="first").to_numpy()
    return np.minimum(((ranks - 1) * k / len(values)).astype(int), k - 1)


def scale_features(features: pd.DataFrame, skewed: Sequence[str] = SKEWED, allow_missing: bool = False) -> pd.DataFrame:
    """log1p the skewed columns, then standardise every column (mean 0, sd 1).

    Constant columns cannot be standardised and are refused with the list of their names. Missing values are
    refused unless ``allow_missing`` (then they stay missing, and mean and sd come from the observed values).

    Parameters
    ----------
    features : DataFrame
        Numeric features, one row per customer.
    skewed : sequence of str
        Columns to log1p first (those absent are ignored).
    allow_missing : bool, default False
        Keep missing values (they stay missing) instead of refusing them.
    """
    x = features.astype(float).copy()
    for c in skewed:
        if c in x:
            x[c] = np.log1p(x[c].clip(lower=0))
    empty = x.columns[x.isna().all()].tolist()
    if empty:
        raise ValueError(f"feature(s) {empty} have no value at all; drop them")
    sd = x.std(ddof=0)
    constant = sd.index[sd <= 1e-12].tolist()
    if constant:
        raise ValueError(f"constant feature(s) {constant}: they carry no information; drop them first")
    if not allow_missing and x.isna().any().any():
        bad = x.columns[x.isna().any()].tolist()
        raise ValueError(f"feature(s) {bad} have missing values; impute or drop them first")
    return (x - x.mean()) / sd


def pca_summary(x: pd.DataFrame, n_components: int = 2, random_state: int = 0):
    """PCA of scaled features: explained-variance table, loadings table and the projection on the first axes.

    Parameters
    ----------
    x : DataFrame
        Scaled features.
    n_components : int, default 2
        Axes kept for the projection and loadings.
    random_state : int, default 0
        Random seed of the PCA solver.
    """
    pca = PCA(random_state=random_state).fit(x)
    names = [f"PC{i + 1}" for i in range(pca.n_components_)]
    explained = pd.DataFrame(
        {
            "explained_variance_ratio": pca.explained_variance_ratio_,
            "cumulative": np.cumsum(pca.explained_variance_ratio_),
        },
        index=names,
    )
    loadings = pd.DataFrame(pca.components_.T, index=x.columns, columns=names)
    projection = pd.DataFrame(pca.transform(x)[:, :n_components], index=x.index, columns=names[:n_components])
    return explained, loadings, projection


CHOOSE_K_ROWS = 100_000
"""Customers a lesson chooses k on at most (:func:`choose_k`'s ``max_rows``); the clustering itself uses all."""

EXERCISE_ROWS = 100_000
"""Customers lesson 01's exercise solutions refit two-step on at most: what they compare (the ARI with and
without some inputs) is settled on a sample of a large export, drawn with :func:`helpers.sampling.sample_positions`."""


def choose_k(
    x: pd.DataFrame,
    ks: Sequence[int] = range(2, 10),
    random_state: int = 0,
    n_boot: int = 5,
    sample: int = 5_000,
    max_rows: int | None = None,
) -> pd.DataFrame:
    """k-means for each k: inertia (elbow), silhouette, and stability (mean ARI between runs on bootstrap samples).

    Silhouette and stability are computed on a random ``sample`` of rows to stay fast on large data. With
    ``max_rows``, a larger ``x`` is first cut to that many rows drawn at random (the inertia is then the sample's):
    which k the data support is settled long before a million customers, while each k costs 1 + ``n_boot``
    k-means fits on every row (two minutes at 1 M customers for k = 2..8). Fit the chosen k on every row.

    Parameters
    ----------
    x : DataFrame
        Scaled features (e.g. :func:`scale_features`).
    ks : sequence of int, default range(2, 10)
        The numbers of clusters to try.
    random_state : int, default 0
        Random seed of k-means and the samples.
    n_boot : int, default 5
        Bootstrap samples for the stability.
    sample : int, default 5000
        Rows sampled for silhouette and stability.
    max_rows : int, optional
        Choose on at most this many rows, drawn at random without replacement (default: every row).
    """
    if len(x) < max(ks):
        raise ValueError(f"{len(x)} customers are fewer than the largest k ({max(ks)})")
    rng = np.random.default_rng(random_state)
    xa = x.to_numpy()
    if max_rows is not None and len(xa) > max_rows and max_rows < max(ks):
        raise ValueError(f"max_rows={max_rows} is fewer than the largest k ({max(ks)})")
    keep = sample_positions(len(xa), max_rows, [random_state, 1])
    if keep is not None:
        xa = xa[keep]
    idx = rng.choice(len(xa), size=min(sample, len(xa)), replace=False)
    rows = []
    for k in ks:
        km = KMeans(k, n_init=10, random_state=random_state).fit(xa)
        sil = silhouette_score(xa[idx], km.labels_[idx])
        aris = []
        for b in range(n_boot):
            boot = rng.choice(len(xa), size=len(xa), replace=True)
            kb = KMeans(k, n_init=3, random_state=random_state + b + 1).fit(xa[boot])
            aris.append(adjusted_rand_score(km.labels_[idx], kb.predict(xa[idx])))
        rows.append({"k": k, "inertia": km.inertia_, "silhouette": sil, "stability_ari": float(np.mean(aris))})
    return pd.DataFrame(rows).set_index("k")


def suggest_k(table: pd.DataFrame, rule: str = "elbow", min_stability: float = 0.9) -> int:
    """The k a :func:`choose_k` table supports, by one of two rules.

    ``"elbow"`` (default): the k of the inertia curve furthest below the straight line joining its two ends
    (the "kneedle" reading of the elbow), among stable k. ``"silhouette"``: the best silhouette among stable k.
    A k is stable when its clusters survive resampling (mean bootstrap ARI at least ``min_stability``); if no k
    is, the most stable one is returned. The elbow depends on the range of k tried: try a sensible range.

    Parameters
    ----------
    table : DataFrame
        A :func:`choose_k` table.
    rule : {"elbow", "silhouette"}
        The rule.
    min_stability : float, default 0.9
        The least mean bootstrap ARI of a stable k.

    Examples
    --------
    >>> t = pd.DataFrame({"inertia": [100.0, 40.0, 30.0, 25.0], "silhouette": [0.4, 0.6, 0.5, 0.45],
    ...                   "stability_ari": [1.0, 1.0, 0.95, 0.8]}, index=[2, 3, 4, 5])
    >>> suggest_k(t), suggest_k(t, rule="silhouette")
    (3, 3)
    """
    if rule not in ("elbow", "silhouette"):
        raise ValueError(f"rule must be 'elbow' or 'silhouette', got {rule!r}")
    stable = table["stability_ari"] >= min_stability
    if not stable.any():
        return int(table["stability_ari"].idxmax())
    if rule == "silhouette":
        return int(table.loc[stable, "silhouette"].idxmax())
    k = table.index.to_numpy(float)
    y = table["inertia"].to_numpy(float)
    chord = y[0] + (y[-1] - y[0]) * (k - k[0]) / (k[-1] - k[0]) if len(k) > 1 else y
    gap = pd.Series(chord - y, index=table.index)
    return int(gap[stable].idxmax())


class TwoStepClustering(ClusterMixin, BaseEstimator):
    """Two-step clustering (SPSS) of mixed numeric and categorical columns, with k chosen by BIC.

    1. **Pre-clustering.** A BIRCH CF-tree groups the rows into at most ``max_subclusters`` small sub-clusters
       (the threshold is raised until the tree is small enough), fitted on a sample of ``sample`` rows.
    2. **Agglomeration.** The sub-clusters are merged pairwise by the log-likelihood distance of SPSS (Chiu et
       al. 2001): Gaussian for numeric columns, multinomial for categorical ones. The BIC of every step of the
       merging gives the number of clusters (SPSS's rule: the first step where the BIC improvement falls below
       4 % of the first one, refined by the largest jump in merge distance).
    3. **Refinement** (``refine=True``). The k-cluster partition starts an EM fit of the very model the
       likelihood distance assumes (diagonal Gaussians and independent categoricals per cluster), so that rows
       that BIRCH put in a mixed sub-cluster move to their best cluster. SPSS stops after step 2.

    Missing numeric values (NaN) are left out of the likelihood of their column (for the CF-tree they sit at
    the column mean); use them for features that are undefined for some rows, e.g. the spend mix of a customer
    who never ordered.

    Parameters
    ----------
    n_clusters : int or "auto"
        Number of clusters, or "auto" to choose it from the BIC of the merge sequence.
    categorical : list of str
        Columns of X that are categorical (any dtype); every other column must be numeric and is standardised.
    max_clusters : int
        Largest number of clusters considered by "auto".
    max_subclusters : int
        The BIRCH threshold is raised until the CF-tree has at most this many leaf sub-clusters.
    sample : int
        BIRCH is fitted on at most this many rows (the rest are assigned to the nearest sub-cluster).
    var_floor : float or None
        Added to each cluster's variance (in sd units) inside the log-likelihood distance. SPSS adds each
        column's whole-data variance (``None`` here, i.e. 1), which mutes numeric differences next to
        categorical ones (Bacher et al. 2004); a small floor keeps the distance finite for tight sub-clusters.
    refine : bool
        Run step 3.
    max_iter, tol : int, float
        EM stops after ``max_iter`` iterations or when the mean log-likelihood improves by less than ``tol``.
    random_state : int
        Seed of the row sample.

    Attributes
    ----------
    labels_ : ndarray of cluster labels (0..k-1, largest cluster first)
    n_clusters_ : int
    bic_ : Series of BIC by number of clusters (1..max_clusters), from the merge sequence
    hierarchical_labels_ : ndarray, the clusters after step 2 (before refinement), same numbering
    subcluster_labels_ : ndarray, the BIRCH sub-cluster of each row
    weights_, means_, variances_ : the fitted mixture (means and variances in standardised units)
    category_probs_ : dict column -> DataFrame (cluster x level) of category probabilities

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"spend": [1.0, 1.2, 0.9, 8.0, 8.1, 7.9], "channel": list("aaabbb")})
    >>> TwoStepClustering(n_clusters=2, categorical=["channel"]).fit(X).labels_.tolist()
    [0, 0, 0, 1, 1, 1]
    """

    _parameter_constraints: dict = {  # noqa: RUF012 (scikit-learn's convention)
        "n_clusters": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "categorical": ["array-like"],
        "max_clusters": [Interval(Integral, 1, None, closed="left")],
        "max_subclusters": [Interval(Integral, 1, None, closed="left")],
        "sample": [Interval(Integral, 2, None, closed="left")],
        "var_floor": [Interval(Real, 0, None, closed="left"), None],
        "refine": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        n_clusters: int | str = "auto",
        categorical: Sequence[str] = (),
        max_clusters: int = 15,
        max_subclusters: int = 300,
        sample: int = 50_000,
        var_floor: float | None = 0.01,
        refine: bool = True,
        max_iter: int = 200,
        tol: float = 1e-6,
        random_state: int | None = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.categorical = categorical
        self.max_clusters = max_clusters
        self.max_subclusters = max_subclusters
        self.sample = sample
        self.var_floor = var_floor
        self.refine = refine
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # -- data preparation
    def _prepare(self, X, fitting: bool):
        """Standardised numeric block (NaN -> 0), its observed mask, and category codes."""
        if not fitting:
            check_is_fitted(self)
        if not isinstance(X, pd.DataFrame):  # an array: numeric only, its columns named "0", "1", ...
            X = check_array(
                X,
                dtype="numeric",
                ensure_all_finite="allow-nan",
                ensure_min_samples=2 if fitting else 1,
                input_name="X",
            )
            validate_data(self, X, skip_check_array=True, reset=fitting)
            X = pd.DataFrame(X, columns=[str(j) for j in range(X.shape[1])])
        else:
            validate_data(self, X, skip_check_array=True, reset=fitting)
            if X.shape[1] == 0:
                raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
            if len(X) < (2 if fitting else 1):
                raise ValueError(
                    f"Found array with {len(X)} sample(s) (shape={X.shape}) while a minimum of "
                    f"{2 if fitting else 1} is required: two-step clustering needs at least 2 rows."
                )
        cats = list(self.categorical)
        absent = [c for c in cats if c not in X.columns]
        if absent:
            raise ValueError(f"categorical column(s) {absent} are not in X")
        num = X.drop(columns=cats)
        nonnum = [c for c in num.columns if not pd.api.types.is_numeric_dtype(num[c])]
        if nonnum:
            raise ValueError(f"column(s) {nonnum} are not numeric: list them in categorical=")
        num = num.astype(float)
        if np.isinf(num.to_numpy()).any():
            bad = [c for c in num.columns if np.isinf(num[c].to_numpy()).any()]
            raise ValueError(f"Input X contains infinity in column(s) {bad}; a missing value is NaN")
        if X[cats].isna().any().any():
            bad = [c for c in cats if X[c].isna().any()]
            raise ValueError(
                f"categorical column(s) {bad} have missing values; make 'missing' a level or drop those rows"
            )
        if fitting:
            empty = num.columns[num.isna().all()].tolist()
            if empty:
                raise ValueError(f"numeric column(s) {empty} have no value at all; drop them")
            self.num_columns_ = list(num.columns)
            self.num_mean_ = num.mean()
            self.num_sd_ = num.std(ddof=0).replace(0.0, 1.0)
            self.levels_ = {c: sorted(X[c].astype(str).unique()) for c in cats}
        elif list(num.columns) != self.num_columns_:
            raise ValueError(f"X has numeric columns {list(num.columns)}, the model was fitted on {self.num_columns_}")
        z = ((num - self.num_mean_) / self.num_sd_).to_numpy()
        obs = ~np.isnan(z)
        z = np.where(obs, z, 0.0)
        codes = np.zeros((len(X), len(cats)), int)
        for j, c in enumerate(cats):
            codes[:, j] = pd.Index(self.levels_[c]).get_indexer(X[c].astype(str))
        if (codes < 0).any():
            bad = [c for j, c in enumerate(cats) if (codes[:, j] < 0).any()]
            raise ValueError(f"column(s) {bad} have categories not seen in fit")
        return z, obs, codes

    def _space(self, z: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """The Euclidean space of the CF-tree: z-scores and one-hot categories (a level switch = 1 sd)."""
        blocks = [np.eye(len(lv))[codes[:, j]] for j, lv in enumerate(self.levels_.values())]
        return np.hstack([z] + [b / np.sqrt(2.0) for b in blocks])

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: pd.DataFrame, y=None) -> TwoStepClustering:
        """Cluster the rows of ``X`` (a DataFrame, or a numeric array); see the class docstring for the steps.

        Parameters
        ----------
        X : DataFrame or array-like
            The rows to cluster: numeric columns, and text or categorical columns for the categorical part.
        y : None
            Ignored; present for scikit-learn's API.
        """
        z, obs, codes = self._prepare(X, fitting=True)
        k_req = None if self.n_clusters == "auto" else int(self.n_clusters)
        if k_req is not None and not 1 <= k_req <= len(z):
            raise ValueError(f"n_clusters={k_req} is impossible with {len(z)} rows")
        space = self._space(z, codes)
        # ---- step 1: CF-tree pre-clustering on a sample, raising the threshold until few enough leaves
        rng = np.random.default_rng(self.random_state)
        fit_rows = np.sort(rng.choice(len(space), size=min(self.sample, len(space)), replace=False))
        # search the threshold on a small subsample first (cheap fits), then grow it gently on the full sample
        probe = fit_rows[np.sort(rng.choice(len(fit_rows), size=min(10_000, len(fit_rows)), replace=False))]
        threshold = 0.5
        for rows, factor in ((probe, 1.25), (fit_rows, 1.1)):
            while True:
                birch = Birch(threshold=threshold, n_clusters=None, compute_labels=False).fit(space[rows])
                if len(birch.subcluster_centers_) <= self.max_subclusters:
                    break
                threshold *= factor
        # a small or tightly packed X can leave fewer sub-clusters than the clusters asked for: lower the threshold
        while k_req is not None and len(birch.subcluster_centers_) < min(
            k_req, len(np.unique(space[fit_rows], axis=0))
        ):
            threshold /= 2
            birch = Birch(threshold=threshold, n_clusters=None, compute_labels=False).fit(space[fit_rows])
        sub = _nearest(space, birch.subcluster_centers_)
        self.birch_ = birch
        self.subcluster_labels_ = sub
        # ---- step 2: sufficient statistics per sub-cluster, then log-likelihood agglomeration
        s = len(birch.subcluster_centers_)
        n = np.bincount(sub, minlength=s).astype(float)
        keep = n > 0
        nd = np.zeros((s, z.shape[1]))
        sums = np.zeros((s, z.shape[1]))
        sq = np.zeros((s, z.shape[1]))
        np.add.at(nd, sub, obs.astype(float))
        np.add.at(sums, sub, z)
        np.add.at(sq, sub, z * z)
        cnt = [np.zeros((s, len(lv))) for lv in self.levels_.values()]
        for j, c in enumerate(cnt):
            np.add.at(c, (sub, codes[:, j]), 1.0)
        var0 = np.full(z.shape[1], 1.0 if self.var_floor is None else float(self.var_floor))
        stats = _Stats(n[keep], nd[keep], sums[keep], sq[keep], [c[keep] for c in cnt], var0)
        merges, dists, bic = stats.agglomerate(len(z), self.max_clusters)
        self.bic_ = pd.Series(bic, index=pd.RangeIndex(1, len(bic) + 1, name="clusters"), name="bic")
        self.merge_distances_ = np.asarray(dists)
        k = self._auto_k() if k_req is None else k_req
        if k > int(keep.sum()):
            raise ValueError(
                f"n_clusters={k} is more than the {int(keep.sum())} sub-clusters of step 1; raise max_subclusters"
            )
        groups = stats.groups_at(merges, k)
        lab_of_sub = np.full(s, -1)
        live = np.flatnonzero(keep)
        for g, members in enumerate(groups):
            lab_of_sub[live[members]] = g
        hier = lab_of_sub[sub]
        # ---- step 3: EM on the mixture the distance assumes, started from the hierarchical partition
        resp = np.eye(k)[hier]
        obs_f, onehots = obs.astype(float), self._onehots(codes)
        self.n_iter_ = 0
        if self.refine:
            resp, self.n_iter_ = self._em(z, obs_f, onehots, resp)
        params = self._m_step(z, obs_f, onehots, resp)
        if self.refine:  # label by the final parameters, so that predict(X) reproduces labels_ exactly
            resp = self._log_joint(z, obs_f, onehots, params)
        labels = resp.argmax(axis=1)
        # number clusters by size, largest first, so labels are stable and readable
        order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
        rank = np.empty(k, int)
        rank[order] = np.arange(k)
        self.labels_ = rank[labels]
        self.hierarchical_labels_ = rank[hier]
        self.weights_, self.means_, self.variances_, probs = (
            params[0][order],
            params[1][order],
            params[2][order],
            [p[order] for p in params[3]],
        )
        self.category_probs_ = {
            c: pd.DataFrame(p, columns=lv) for (c, lv), p in zip(self.levels_.items(), probs, strict=True)
        }
        self._lab_of_sub = np.where(lab_of_sub >= 0, rank[np.maximum(lab_of_sub, 0)], -1)
        self.n_clusters_ = k
        return self

    # -- the mixture (step 3)
    def _m_step(self, z, obs, onehots, resp):
        w = resp.sum(axis=0)
        weights = w / w.sum()
        ro = np.maximum(resp.T @ obs, 1e-12)  # clusters x columns: weight of observed values
        means = resp.T @ z / ro  # z is 0 where missing
        var = resp.T @ (z * z) / ro - means**2
        floor = 1e-3 if self.var_floor is None else max(float(self.var_floor) / 10, 1e-4)
        var = np.maximum(var, floor)
        # Dirichlet(1) prior on each categorical: no level gets probability zero
        probs = [(resp.T @ oh + 1.0) / (w[:, None] + oh.shape[1]) for oh in onehots]
        return weights, means, var, probs

    @staticmethod
    def _log_joint(z, obs, onehots, params) -> np.ndarray:
        """Log p(row, cluster): Gaussian terms over the observed columns only, plus categorical terms."""
        weights, means, var, probs = params
        ll = np.log(np.maximum(weights, 1e-300))[None, :] - 0.5 * (
            (z * z) @ (1.0 / var).T - 2.0 * z @ (means / var).T + obs @ (means**2 / var + np.log(2 * np.pi * var)).T
        )
        for oh, p in zip(onehots, probs, strict=True):
            ll += oh @ np.log(p).T
        return ll

    def _em(self, z, obs, onehots, resp):
        last, n_iter = -np.inf, 0
        while n_iter < self.max_iter:
            n_iter += 1
            ll = self._log_joint(z, obs, onehots, self._m_step(z, obs, onehots, resp))
            total = logsumexp(ll, axis=1)
            resp = np.exp(ll - total[:, None])
            mean_ll = float(total.mean())
            if mean_ll - last < self.tol:
                break
            last = mean_ll
        return resp, n_iter

    def _onehots(self, codes: np.ndarray) -> list[np.ndarray]:
        return [np.eye(len(lv))[codes[:, j]] for j, lv in enumerate(self.levels_.values())]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Posterior probability of each cluster for each row under the fitted mixture.

        Parameters
        ----------
        X : DataFrame or array-like
            Rows in the columns of ``fit``.
        """
        z, obs, codes = self._prepare(X, fitting=False)
        params = (self.weights_, self.means_, self.variances_, [p.to_numpy() for p in self.category_probs_.values()])
        ll = self._log_joint(z, obs.astype(float), self._onehots(codes), params)
        return np.exp(ll - logsumexp(ll, axis=1)[:, None])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Cluster of new rows: the most probable cluster (``refine``) or that of the nearest sub-cluster.

        Parameters
        ----------
        X : DataFrame or array-like
            Rows in the columns of ``fit``.
        """
        if self.refine:
            return self.predict_proba(X).argmax(axis=1)
        z, obs, codes = self._prepare(X, fitting=False)
        return self._lab_of_sub[_nearest(self._space(z, codes), self.birch_.subcluster_centers_)]

    def k_diagnostics(self) -> pd.DataFrame:
        """How the number of clusters was chosen: SPSS's two rules, per number of clusters J.

        ``bic`` and ``bic_change`` (BIC(J) − BIC(J+1)); ``change_ratio``, that change over the first one (the
        first J below 0.04 bounds the search, ``bic_rule``); ``distance_ratio``, the distance of the merge that
        would leave J − 1 clusters over the one that left J (a large ratio: the next merge would join groups
        that are far apart); ``chosen`` marks the J the two rules give (the largest distance ratio up to the
        bound, or the larger of the two best when they are within 15 % of each other).
        """
        check_is_fitted(self, "bic_")
        bic = self.bic_.to_numpy()
        d_bic = np.r_[bic[:-1] - bic[1:], np.nan]
        ratio = d_bic / d_bic[0] if len(d_bic) > 1 and d_bic[0] > 0 else np.full(len(bic), np.nan)
        d = self.merge_distances_[::-1]
        dist_ratio = np.full(len(bic), np.nan)
        for j in range(2, min(len(bic), len(d)) + 1):
            if d[j - 1] > 0:
                dist_ratio[j - 1] = d[j - 2] / d[j - 1]
        below = np.flatnonzero(ratio < 0.04)
        bound = int(below[0]) + 1 if len(below) else len(bic)
        out = pd.DataFrame(
            {"bic": bic, "bic_change": d_bic, "change_ratio": ratio, "distance_ratio": dist_ratio},
            index=self.bic_.index,
        )
        out["bic_rule"] = out.index == bound
        out["chosen"] = out.index == self._auto_k()
        return out

    def _auto_k(self) -> int:
        """SPSS's rule: first J where the BIC change ratio falls below 0.04, then refined by the distance ratio."""
        bic = self.bic_.to_numpy()
        d_bic = bic[:-1] - bic[1:]  # d_bic[J-1] = BIC(J) - BIC(J+1)
        if len(d_bic) == 0 or d_bic[0] <= 0:
            return 1
        ratio = d_bic / d_bic[0]
        below = np.flatnonzero(ratio < 0.04)
        j0 = int(below[0]) + 1 if len(below) else len(bic)
        # distance ratio: d[J-1] is the distance of the merge that leaves J clusters
        d = self.merge_distances_[::-1]
        cands = range(2, min(j0, len(d)) + 1)
        r = {j: d[j - 2] / d[j - 1] for j in cands if d[j - 1] > 0}
        if not r:
            return j0
        best = sorted(r, key=r.__getitem__, reverse=True)
        if len(best) == 1 or r[best[0]] / r[best[1]] > 1.15:
            return best[0]
        return max(best[0], best[1])


def _nearest(x: np.ndarray, centres: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Index of the nearest centre (Euclidean) of each row, in chunks through one matrix product each."""
    c2 = (centres**2).sum(axis=1)
    out = np.empty(len(x), dtype=np.intp)
    for start in range(0, len(x), chunk):
        block = x[start : start + chunk]
        out[start : start + chunk] = np.argmin(c2[None, :] - 2.0 * block @ centres.T, axis=1)
    return out


class _Stats:
    """Sufficient statistics of sub-clusters and SPSS's log-likelihood distance between them."""

    def __init__(self, n, nd, sums, sq, counts, var0):
        self.n, self.nd, self.sums, self.sq, self.counts, self.var0 = n, nd, sums, sq, counts, var0

    def xi(self, n, nd, sums, sq, counts) -> np.ndarray:
        """-(sum_k N_k/2 log(var0_k + var_k) + N sum_categorical entropy), per row; N_k counts observed values."""
        nd_ = np.maximum(nd, 1e-12)
        var = np.maximum(sq / nd_ - (sums / nd_) ** 2, 0.0)
        out = 0.5 * (nd * np.log(self.var0[None, :] + var)).sum(axis=1)
        n_ = np.maximum(n, 1e-12)[:, None]
        for c in counts:
            p = c / n_
            with np.errstate(divide="ignore", invalid="ignore"):
                out += -n * (np.where(p > 0, p * np.log(p), 0.0)).sum(axis=1)
        return -out

    def agglomerate(self, n_total: int, max_clusters: int):
        """Merge the closest pair until one cluster is left; return merges, their distances, BIC(1..max)."""
        n, nd, sums, sq = self.n.copy(), self.nd.copy(), self.sums.copy(), self.sq.copy()
        counts = [c.copy() for c in self.counts]
        s = len(n)
        alive = np.ones(s, bool)
        xi = self.xi(n, nd, sums, sq, counts)

        def dist_to(i: int) -> np.ndarray:
            xi_m = self.xi(n + n[i], nd + nd[i], sums + sums[i], sq + sq[i], [c + c[i] for c in counts])
            d = xi + xi[i] - xi_m
            d[~alive] = np.inf
            d[i] = np.inf
            return d

        dmat = np.vstack([dist_to(i) for i in range(s)])
        k_a = sums.shape[1]
        m_per = 2 * k_a + sum(c.shape[1] - 1 for c in counts)
        bic = {}
        merges, dists = [], []
        for j in range(s, 0, -1):
            if j <= max_clusters:
                bic[j] = -2.0 * xi[alive].sum() + j * m_per * np.log(n_total)
            if j == 1:
                break
            flat = int(np.argmin(dmat))
            a, b = divmod(flat, s)
            merges.append((a, b))
            dists.append(float(dmat[a, b]))
            n[a] += n[b]
            nd[a] += nd[b]
            sums[a] += sums[b]
            sq[a] += sq[b]
            for c in counts:
                c[a] += c[b]
            alive[b] = False
            xi[a] = self.xi(
                n[a : a + 1], nd[a : a + 1], sums[a : a + 1], sq[a : a + 1], [c[a : a + 1] for c in counts]
            )[0]
            dmat[b, :] = np.inf
            dmat[:, b] = np.inf
            row = dist_to(a)
            dmat[a, :] = row
            dmat[:, a] = row
        bic_list = [bic[j] for j in sorted(bic)]
        return merges, dists, bic_list

    def groups_at(self, merges, k: int) -> list[np.ndarray]:
        s = len(self.n)
        parent = np.arange(s)
        for a, b in merges[: s - k]:
            parent[parent == b] = a
        return [np.flatnonzero(parent == r) for r in np.unique(parent)]


def match_clusters(labels, reference) -> dict[int, object]:
    """Pair each cluster with the reference group it overlaps most, one-to-one (Hungarian matching).

    Use it to compare found clusters with planted segments (or last quarter's clusters): the cluster numbers of
    an unsupervised method are arbitrary. Clusters left without a partner (more clusters than groups) are absent
    from the result.

    Parameters
    ----------
    labels : array-like
        The found cluster of each row.
    reference : array-like
        The reference group of each row (e.g. the planted segment).

    Examples
    --------
    >>> match_clusters([0, 0, 1, 1, 1], ["b", "b", "a", "a", "b"])
    {0: 'b', 1: 'a'}
    """
    table = pd.crosstab(pd.Series(np.asarray(labels), name="cluster"), pd.Series(np.asarray(reference), name="ref"))
    rows, cols = linear_sum_assignment(-table.to_numpy())
    return {_py(table.index[r]): _py(table.columns[c]) for r, c in sorted(zip(rows, cols, strict=True))}


def _py(v):
    return v.item() if isinstance(v, np.generic) else v


def profile_clusters(features: pd.DataFrame, labels: np.ndarray, top: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Persona profiles: size and each feature's cluster mean as an index (population mean = 100).

    Returns ``(profile, top_features)``: ``profile`` has one row per cluster (``size``, ``share`` and an index per
    feature); ``top_features`` lists per cluster the ``top`` features whose cluster mean is furthest from the
    population mean in standard deviations, with the direction (``high``/``low``).

    Parameters
    ----------
    features : DataFrame
        The features on their own scale (not standardised), one row per customer.
    labels : ndarray
        The cluster of each row.
    top : int, default 3
        Distinctive features listed per cluster.
    """
    lab = pd.Series(np.asarray(labels), index=features.index, name="cluster")
    means = features.groupby(lab).mean()
    pop_mean, pop_sd = features.mean(), features.std(ddof=0).replace(0, np.nan)
    index = 100 * means / pop_mean.replace(0, np.nan)
    size = lab.value_counts().sort_index()
    profile = pd.concat([size.rename("size"), (size / size.sum()).rename("share"), index.round(0)], axis=1)
    z = (means - pop_mean) / pop_sd
    rows = []
    for c in z.index:
        order = z.loc[c].abs().sort_values(ascending=False).index[:top]
        for rank, feat in enumerate(order, 1):
            rows.append(
                {
                    "cluster": c,
                    "rank": rank,
                    "feature": feat,
                    "z": round(float(z.loc[c, feat]), 2),
                    "direction": "high" if z.loc[c, feat] > 0 else "low",
                }
            )
    return profile, pd.DataFrame(rows)


_WORDS = {
    "frequency": ("frequent buyers", "rare buyers"),
    "recency_days": ("lapsing", "recently active"),
    "monetary": ("big spenders", "small spenders"),
    "avg_order_value": ("premium baskets", "bargain baskets"),
    "web_sessions": ("browsers", "rarely online"),
    "product_views": ("product researchers", "quick deciders"),
    "email_open_rate": ("email readers", "email ignorers"),
    "email_click_rate": ("email clickers", "non-clickers"),
    "age": ("older", "young"),
    "tenure_months": ("long-standing", "newcomers"),
}


def propose_labels(top_features: pd.DataFrame) -> dict[int, str]:
    """A plain-language persona name per cluster from its two most distinctive features (edit freely).

    Parameters
    ----------
    top_features : DataFrame
        The second output of :func:`profile_clusters`.
    """
    out = {}
    for c, g in top_features.sort_values("rank").groupby("cluster"):
        words = []
        for feat, direction in zip(g["feature"], g["direction"], strict=True):
            if feat.startswith("share_"):
                words.append(f"{feat.removeprefix('share_')} {'lovers' if direction == 'high' else 'avoiders'}")
            else:
                hi, lo = _WORDS.get(feat, (f"high {feat}", f"low {feat}"))
                words.append(hi if direction == "high" else lo)
        out[int(c)] = ", ".join(words[:2])
    return out


def personas(
    world,
    as_of: pd.Timestamp | str | None = None,
    k: int | str = "auto",
    categorical: Sequence[str] = CRM_COLUMNS,
    left_out: Sequence[str] = LEFT_OUT,
    random_state: int = 0,
    top: int = 3,
) -> tuple[pd.DataFrame, TwoStepClustering]:
    """Personas as a team could have built them on ``as_of``: lesson 01's two-step clustering in one call.

    Only what was known before ``as_of`` enters: the customers who had signed up by then, and their orders and
    events before it (:func:`mixed_inputs` with ``as_of``). A lesson that uses personas on a decision date builds
    them as of that date; personas built on the whole history have seen the outcomes the lesson measures.
    Customers without any history yet (cold start) still get a persona, from their CRM columns and age alone.

    Parameters
    ----------
    world : World
        As for :func:`customer_features`; the customers table needs ``signup_date`` and the ``categorical``
        columns.
    as_of : date, optional
        The decision date; default: the day after the last order or event (the whole history).
    k : int or "auto"
        Number of personas, or "auto" for two-step's own choice (:meth:`TwoStepClustering.k_diagnostics`).
    categorical, left_out, random_state
        As for :func:`mixed_inputs` and :class:`TwoStepClustering`.
    top : int
        Distinctive features per cluster from which :func:`propose_labels` names it.

    Returns
    -------
    ``(segments, model)``: a DataFrame indexed by ``customer_id`` with ``cluster`` and ``persona`` (one row per
    customer known on ``as_of``) and the fitted :class:`TwoStepClustering`.
    """
    cust = world.customers
    if as_of is not None:
        when = pd.Timestamp(as_of)
        if "signup_date" not in cust.columns:
            raise ValueError(
                "personas(as_of=...) needs the customers table's signup_date column, to know who was a "
                f"customer on {when.date()}; it has {list(cust.columns)}"
            )
        cust = cust[cust["signup_date"] < when]
        if not len(cust):
            raise ValueError(f"no customer had signed up before {when.date()}: choose a later as_of")
        as_of = when
    known = type(world)(tables={**world.tables, "customers": cust}, truth=world.truth, source=world.source)
    _crm_columns(known, categorical)
    # the features are computed once: two-step reads them with undefined values missing, the profile as they are
    feats, _, blank = _feature_table(known, as_of, 3.0)
    inputs = _mixed(known, _undefined_missing(feats, blank), left_out, categorical)
    model = TwoStepClustering(n_clusters=k, categorical=categorical, random_state=random_state).fit(inputs)
    _, top_features = profile_clusters(feats, model.labels_, top=top)
    names = propose_labels(top_features)
    segments = pd.DataFrame({"cluster": model.labels_}, index=inputs.index)
    segments["persona"] = segments["cluster"].map(names)
    return segments, model
