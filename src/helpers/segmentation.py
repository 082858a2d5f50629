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

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import Birch, KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_score

__all__ = [
    "SKEWED",
    "customer_features",
    "scale_features",
    "pca_summary",
    "choose_k",
    "TwoStepClustering",
    "profile_clusters",
    "propose_labels",
]

SKEWED = ("frequency", "monetary", "avg_order_value", "recency_days", "web_sessions", "product_views")
"""Features that are log-transformed (log1p) before scaling."""


def customer_features(world, as_of: pd.Timestamp | str | None = None, shrink: float = 3.0) -> pd.DataFrame:
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

    Returns
    -------
    DataFrame indexed by ``customer_id`` with columns ``tenure_months, frequency, recency_days, monetary,
    avg_order_value, share_<category>..., web_sessions, product_views, email_open_rate, email_click_rate, age``.
    """
    cust = world.customers.set_index("customer_id")
    tx = world.transactions
    ev = world.tables.get("events")
    last_seen = [tx["order_date"].max()] + ([ev["timestamp"].max()] if ev is not None and len(ev) else [])
    as_of = pd.Timestamp(as_of) if as_of is not None else (max(last_seen).normalize() + pd.Timedelta(days=1))
    tx = tx[tx["order_date"] < as_of]
    first_day = min([tx["order_date"].min()] + ([ev["timestamp"].min()] if ev is not None and len(ev) else []))
    start = cust["signup_date"].clip(lower=first_day.normalize())
    tenure_days = (as_of - start).dt.days.clip(lower=1)
    tenure_months = tenure_days / 30.4375

    value = tx["quantity"] * tx["unit_price"]
    orders = tx.assign(value=value).groupby("customer_id").agg(
        n_orders=("order_id", "nunique"), last=("order_date", "max"), monetary=("value", "sum"))
    orders = orders.reindex(cust.index)
    n_orders = orders["n_orders"].fillna(0.0)
    monetary = orders["monetary"].fillna(0.0)
    f = pd.DataFrame(index=cust.index)
    f["tenure_months"] = tenure_months
    f["frequency"] = _rate(n_orders, tenure_months, shrink)
    f["recency_days"] = (as_of - orders["last"]).dt.days.fillna(tenure_days).astype(float)
    f["monetary"] = monetary
    aov_pop = monetary.sum() / max(n_orders.sum(), 1.0)
    f["avg_order_value"] = (monetary + shrink * aov_pop) / (n_orders + shrink)

    cat = tx["product_id"].astype(str).map(world.products.set_index("product_id")["category"].astype(str))
    spend = value.groupby([tx["customer_id"], cat]).sum().unstack(fill_value=0.0)
    spend = spend.reindex(cust.index, fill_value=0.0)
    pop = spend.sum() / spend.to_numpy().sum()
    total = spend.sum(axis=1)
    # shrink each customer's spend mix toward the population mix, with `shrink` orders' worth of weight
    w = n_orders / (n_orders + shrink) if shrink > 0 else (n_orders > 0).astype(float)
    own = spend.div(total.where(total > 0, 1.0), axis=0)
    for c in sorted(spend.columns):
        f[f"share_{c}"] = w * own[c] + (1 - w) * pop[c]

    if ev is not None and len(ev):
        e = ev[ev["timestamp"] < as_of]
        counts = e.groupby(["customer_id", "event_type"], observed=True).size().unstack(fill_value=0)
        counts = counts.reindex(cust.index, fill_value=0)

        def col(name: str) -> pd.Series:
            return counts[name] if name in counts else pd.Series(0.0, index=cust.index)

        f["web_sessions"] = _rate(col("site_visit"), tenure_months, shrink)
        f["product_views"] = _rate(col("product_page_view"), tenure_months, shrink)
        sent, opens, clicks = col("email_sent"), col("email_open"), col("email_click")
        p_open = opens.sum() / max(sent.sum(), 1)
        p_click = clicks.sum() / max(sent.sum(), 1)
        f["email_open_rate"] = (opens + shrink * p_open) / (sent + shrink)
        f["email_click_rate"] = (clicks + shrink * p_click) / (sent + shrink)
    f["age"] = cust["age"].astype(float)
    return f


def _rate(count: pd.Series, months: pd.Series, shrink: float) -> pd.Series:
    """Events per month, shrunk toward the population rate with ``shrink`` months of pseudo-history.

    The posterior mean of a Gamma-Poisson rate: customers with a short history sit near the population rate,
    and "no event yet" is a small rate, not an exact zero shared by thousands of customers.
    """
    pop = count.sum() / months.sum()
    return (count + shrink * pop) / (months + shrink)


def scale_features(features: pd.DataFrame, skewed: Sequence[str] = SKEWED) -> pd.DataFrame:
    """log1p the skewed columns, then standardise every column (mean 0, sd 1).

    Constant columns cannot be standardised and are refused with the list of their names.
    """
    x = features.astype(float).copy()
    for c in skewed:
        if c in x:
            x[c] = np.log1p(x[c].clip(lower=0))
    sd = x.std(ddof=0)
    constant = sd.index[sd <= 1e-12].tolist()
    if constant:
        raise ValueError(f"constant feature(s) {constant}: they carry no information; drop them first")
    if x.isna().any().any():
        bad = x.columns[x.isna().any()].tolist()
        raise ValueError(f"feature(s) {bad} have missing values; impute or drop them first")
    return (x - x.mean()) / sd


def pca_summary(x: pd.DataFrame, n_components: int = 2, random_state: int = 0):
    """PCA of scaled features: explained-variance table, loadings table and the projection on the first axes."""
    pca = PCA(random_state=random_state).fit(x)
    names = [f"PC{i + 1}" for i in range(pca.n_components_)]
    explained = pd.DataFrame({"explained_variance_ratio": pca.explained_variance_ratio_,
                              "cumulative": np.cumsum(pca.explained_variance_ratio_)}, index=names)
    loadings = pd.DataFrame(pca.components_.T, index=x.columns, columns=names)
    projection = pd.DataFrame(pca.transform(x)[:, :n_components], index=x.index, columns=names[:n_components])
    return explained, loadings, projection


def choose_k(x: pd.DataFrame, ks: Sequence[int] = range(2, 10), random_state: int = 0, n_boot: int = 5,
             sample: int = 5_000) -> pd.DataFrame:
    """k-means for each k: inertia (elbow), silhouette, and stability (mean ARI between runs on bootstrap samples).

    Silhouette and stability are computed on a random ``sample`` of rows to stay fast on large data.
    """
    if len(x) < max(ks):
        raise ValueError(f"{len(x)} customers are fewer than the largest k ({max(ks)})")
    rng = np.random.default_rng(random_state)
    xa = x.to_numpy()
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


class TwoStepClustering(ClusterMixin, BaseEstimator):
    """Two-step clustering (SPSS): BIRCH pre-clustering, then log-likelihood agglomeration with BIC to choose k.

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
    random_state : int
        Seed of the row sample.

    Attributes
    ----------
    labels_ : ndarray of cluster labels (0..k-1, largest cluster first)
    n_clusters_ : int
    bic_ : Series of BIC by number of clusters (1..max_clusters)
    subcluster_labels_ : ndarray, the BIRCH sub-cluster of each row
    """

    def __init__(self, n_clusters: int | str = "auto", categorical: Sequence[str] = (), max_clusters: int = 15,
                 max_subclusters: int = 300, sample: int = 50_000, var_floor: float | None = 0.01,
                 random_state: int | None = 0) -> None:
        self.n_clusters = n_clusters
        self.var_floor = var_floor
        self.categorical = categorical
        self.max_clusters = max_clusters
        self.max_subclusters = max_subclusters
        self.sample = sample
        self.random_state = random_state

    # -- data preparation
    def _split(self, X: pd.DataFrame):
        cats = list(self.categorical)
        missing = [c for c in cats if c not in X.columns]
        if missing:
            raise ValueError(f"categorical column(s) {missing} are not in X")
        num = X.drop(columns=cats)
        nonnum = [c for c in num.columns if not pd.api.types.is_numeric_dtype(num[c])]
        if nonnum:
            raise ValueError(f"column(s) {nonnum} are not numeric: list them in categorical=")
        return num.astype(float), X[cats]

    def fit(self, X: pd.DataFrame, y=None) -> TwoStepClustering:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(X)
        num, cat = self._split(X)
        if len(X) < 2:
            raise ValueError("two-step clustering needs at least 2 rows")
        if num.isna().any().any() or cat.isna().any().any():
            raise ValueError("X has missing values; impute or drop them first")
        self.num_mean_ = num.mean()
        self.num_sd_ = num.std(ddof=0).replace(0.0, 1.0)
        z = ((num - self.num_mean_) / self.num_sd_).to_numpy()
        self.levels_ = {c: sorted(cat[c].astype(str).unique()) for c in cat.columns}
        codes = np.column_stack([pd.Categorical(cat[c].astype(str), categories=self.levels_[c]).codes
                                 for c in cat.columns]) if len(cat.columns) else np.zeros((len(X), 0), int)
        onehot = self._onehot(codes)
        space = np.hstack([z, onehot / np.sqrt(2.0)])  # a category switch is as far as one sd
        # ---- step 1: CF-tree pre-clustering on a sample, raising the threshold until few enough leaves
        rng = np.random.default_rng(self.random_state)
        fit_rows = rng.choice(len(space), size=min(self.sample, len(space)), replace=False)
        threshold = 0.5
        while True:
            birch = Birch(threshold=threshold, n_clusters=None).fit(space[fit_rows])
            if len(birch.subcluster_centers_) <= self.max_subclusters:
                break
            threshold *= 1.25
        sub = birch.predict(space)
        self.birch_ = birch
        self.subcluster_labels_ = sub
        # ---- step 2: sufficient statistics per sub-cluster, then log-likelihood agglomeration
        s = int(sub.max()) + 1
        n = np.bincount(sub, minlength=s).astype(float)
        keep = n > 0
        sums = np.zeros((s, z.shape[1]))
        sq = np.zeros((s, z.shape[1]))
        np.add.at(sums, sub, z)
        np.add.at(sq, sub, z * z)
        cnt = [np.zeros((s, len(lv))) for lv in self.levels_.values()]
        for j, c in enumerate(cnt):
            np.add.at(c, (sub, codes[:, j]), 1.0)
        # variance floor: SPSS adds each column's whole-data variance (1 after standardising), which
        # compresses numeric differences against categorical ones; var_floor=None reproduces that
        var0 = np.ones(z.shape[1]) if self.var_floor is None else np.full(z.shape[1], self.var_floor)
        stats = _Stats(n[keep], sums[keep], sq[keep], [c[keep] for c in cnt], var0)
        sub_map = -np.ones(s, int)
        sub_map[keep] = np.arange(int(keep.sum()))
        merges, dists, bic = stats.agglomerate(len(X), self.max_clusters)
        self.bic_ = pd.Series(bic, index=pd.RangeIndex(1, len(bic) + 1, name="clusters"), name="bic")
        self.merge_distances_ = np.asarray(dists)
        k = self._auto_k() if self.n_clusters == "auto" else int(self.n_clusters)
        if not 1 <= k <= len(n[keep]):
            raise ValueError(f"n_clusters={k} is impossible with {int(keep.sum())} sub-clusters")
        groups = stats.groups_at(merges, k)
        # order clusters by size, largest first, so labels are stable and readable
        sizes = np.array([n[keep][g].sum() for g in groups])
        order = np.argsort(-sizes, kind="stable")
        lab_of_sub = np.empty(int(keep.sum()), int)
        for new, old in enumerate(order):
            lab_of_sub[groups[old]] = new
        self._lab_of_sub = np.full(s, -1)
        self._lab_of_sub[keep] = lab_of_sub
        self.labels_ = self._lab_of_sub[sub]
        self.n_clusters_ = k
        return self

    def _onehot(self, codes: np.ndarray) -> np.ndarray:
        blocks = [np.eye(len(lv))[codes[:, j]] for j, lv in enumerate(self.levels_.values())]
        return np.hstack(blocks) if blocks else np.zeros((len(codes), 0))

    def _auto_k(self) -> int:
        """SPSS's rule: first J where the BIC change ratio falls below 0.04, then refined by the distance ratio."""
        bic = self.bic_.to_numpy()
        d_bic = bic[:-1] - bic[1:]  # d_bic[J-1] = BIC(J) - BIC(J+1)
        if len(d_bic) == 0 or d_bic[0] <= 0:
            return 1
        ratio = d_bic / d_bic[0]
        below = np.flatnonzero(ratio < 0.04)
        j0 = int(below[0]) + 1 if len(below) else len(bic)
        # distance ratio: merge distance that goes from J+1 to J clusters is dists[-J] (merges in order S..1)
        d = self.merge_distances_[::-1]  # d[J-1]: distance of the merge leaving J clusters
        cands = range(2, min(j0, len(d)) + 1)
        r = {j: d[j - 2] / d[j - 1] for j in cands if d[j - 1] > 0}
        if not r:
            return j0
        best = sorted(r, key=r.get, reverse=True)
        if len(best) == 1 or r[best[0]] / r[best[1]] > 1.15:
            return best[0]
        return max(best[0], best[1])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Cluster of new rows: the cluster of their nearest BIRCH sub-cluster."""
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(X)
        num, cat = self._split(X)
        z = ((num - self.num_mean_) / self.num_sd_).to_numpy()
        codes = np.column_stack([pd.Categorical(cat[c].astype(str), categories=lv).codes
                                 for c, lv in self.levels_.items()]) if self.levels_ else np.zeros((len(X), 0), int)
        if (codes < 0).any():
            raise ValueError("X has categories not seen in fit")
        space = np.hstack([z, self._onehot(codes) / np.sqrt(2.0)])
        return self._lab_of_sub[self.birch_.predict(space)]


class _Stats:
    """Sufficient statistics of sub-clusters and SPSS's log-likelihood distance between them."""

    def __init__(self, n, sums, sq, counts, var0):
        self.n, self.sums, self.sq, self.counts, self.var0 = n, sums, sq, counts, var0

    def xi(self, n, sums, sq, counts) -> np.ndarray:
        """-N (sum_k 1/2 log(var0_k + var_k) + sum_categorical entropy), per row."""
        n_ = np.maximum(n, 1e-12)[:, None]
        var = np.maximum(sq / n_ - (sums / n_) ** 2, 0.0)
        out = 0.5 * np.log(self.var0[None, :] + var).sum(axis=1)
        for c in counts:
            p = c / n_
            with np.errstate(divide="ignore", invalid="ignore"):
                out += -(np.where(p > 0, p * np.log(p), 0.0)).sum(axis=1)
        return -n * out

    def agglomerate(self, n_total: int, max_clusters: int):
        """Merge the closest pair until one cluster is left; return merges, their distances, BIC(1..max)."""
        n, sums, sq = self.n.copy(), self.sums.copy(), self.sq.copy()
        counts = [c.copy() for c in self.counts]
        s = len(n)
        alive = np.ones(s, bool)
        xi = self.xi(n, sums, sq, counts)

        def dist_to(i: int) -> np.ndarray:
            xi_m = self.xi(n + n[i], sums + sums[i], sq + sq[i], [c + c[i] for c in counts])
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
            sums[a] += sums[b]
            sq[a] += sq[b]
            for c in counts:
                c[a] += c[b]
            alive[b] = False
            xi[a] = self.xi(n[a:a + 1], sums[a:a + 1], sq[a:a + 1], [c[a:a + 1] for c in counts])[0]
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


def profile_clusters(features: pd.DataFrame, labels: np.ndarray, top: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Persona profiles: size and each feature's cluster mean as an index (population mean = 100).

    Returns ``(profile, top_features)``: ``profile`` has one row per cluster (``size``, ``share`` and an index per
    feature); ``top_features`` lists per cluster the ``top`` features whose cluster mean is furthest from the
    population mean in standard deviations, with the direction (``high``/``low``).
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
            rows.append({"cluster": c, "rank": rank, "feature": feat, "z": round(float(z.loc[c, feat]), 2),
                         "direction": "high" if z.loc[c, feat] > 0 else "low"})
    return profile, pd.DataFrame(rows)


_WORDS = {
    "frequency": ("frequent buyers", "rare buyers"), "recency_days": ("lapsing", "recently active"),
    "monetary": ("big spenders", "small spenders"), "avg_order_value": ("premium baskets", "bargain baskets"),
    "web_sessions": ("browsers", "rarely online"), "product_views": ("product researchers", "quick deciders"),
    "email_open_rate": ("email readers", "email ignorers"), "email_click_rate": ("email clickers", "non-clickers"),
    "age": ("older", "young"), "tenure_months": ("long-standing", "newcomers"),
}


def propose_labels(top_features: pd.DataFrame) -> dict[int, str]:
    """A plain-language persona name per cluster from its two most distinctive features (edit freely)."""
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
