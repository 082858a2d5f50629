"""Next best offer from association rules: baskets, frequent itemsets, rules, streaming rules, ranked offers.

* :func:`basket_matrix` turns order lines into a sparse 0/1 matrix (orders or customers x products or categories).
* :func:`mine_rules` finds frequent itemsets with mlxtend's ``apriori`` or ``fpgrowth`` and turns them into rules
  with support, confidence, lift, leverage and conviction, in a table a marketer can read;
  :func:`rules_from_itemsets` does the second half for itemsets found elsewhere (e.g. Spark, :mod:`helpers.spark`).
* :class:`StreamingRules` is the idea of CARMA in the form that matters for campaigns: rules that are updated as
  each new batch of orders arrives, without re-reading the history. It keeps exact counts of items and pairs
  (a sparse matrix product per batch), so after any number of batches its rules equal the batch result.
* :func:`next_best_offers` ranks, for every customer at once, the products that rules from their history point
  to, never offers what they bought within a suppression window (nor, optionally, what lies outside the
  customer's price band), and says which rule justifies each offer.
* Baselines: :func:`popularity_offers` (the most bought products), :func:`buy_again_offers` (the customer's own
  most bought products) and :func:`segment_popularity_offers` (the most bought products of the customer's
  segment, e.g. personas built as of the offer date); the reference :func:`planted_offers`, which knows the
  planted segment tastes.
* :func:`hit_rate`, :func:`precision_at_k` and :func:`hits_per_buyer` score offers against what customers bought
  next (:func:`hit_table`: both rates for several k at once). They measure how well offers *predict* purchases
  made without any offer; what an offer is worth is the purchases it *causes*, which only a test with a control
  group measures (uplift, lessons 04 and 05).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from .sampling import sample_positions

__all__ = [
    "basket_matrix",
    "mine_rules",
    "COMPARE_BASKETS",
    "basket_sample",
    "rules_from_itemsets",
    "StreamingRules",
    "next_best_offers",
    "price_levels",
    "popularity",
    "popularity_offers",
    "buy_again_offers",
    "segment_popularity_offers",
    "planted_offers",
    "hit_rate",
    "hit_table",
    "precision_at_k",
    "hits_per_buyer",
]


def basket_matrix(
    tx: pd.DataFrame,
    by: str = "order_id",
    item: str = "product_id",
    products: pd.DataFrame | None = None,
    level: str = "product",
):
    """Sparse 0/1 matrix of baskets (rows: ``by`` values) x items (columns), with its row and column labels.

    ``level="category"`` maps products to their category through ``products`` first. Products missing from the
    catalogue are an error (a typo or an outdated catalogue would otherwise invent items).

    Returns ``(matrix, rows, items)``: a ``scipy.sparse.csr_matrix`` of dtype bool and two ``pd.Index``.

    Parameters
    ----------
    tx : DataFrame
        Order lines with the ``by`` and ``item`` columns.
    by : str, default "order_id"
        What makes a basket: an order, or ``"customer_id"`` for a customer's whole history.
    item : str, default "product_id"
        The item column.
    products : DataFrame, optional
        The catalogue (``product_id, category``), needed for ``level="category"``.
    level : {"product", "category"}
        The items: products, or their categories.
    """
    if tx.empty:
        raise ValueError("no order lines: a basket analysis needs at least one order")
    # each distinct item is turned into text once, not every line: order lines reach tens of millions with a few
    # dozen products
    codes, distinct = _codes(tx[item])
    if (codes < 0).any():
        raise ValueError(f"{int((codes < 0).sum())} order lines have no {item}: drop them or fill in the {item}")
    used = np.bincount(codes, minlength=len(distinct)) > 0  # categories that no line uses are not items
    text = pd.Index(distinct.astype(str))
    if products is not None:
        catalogue = products.set_index("product_id")
        unknown = sorted(set(text[used]) - set(catalogue.index.astype(str)))
        if unknown:
            raise ValueError(
                f"product(s) {unknown[:5]} are not in the products table; add them to the catalogue or drop those lines"
            )
        if level == "category":
            text = pd.Index(text.map(catalogue["category"].rename(index=str).astype(str)))
    elif level == "category":
        raise ValueError("level='category' needs the products table (for each product's category)")
    cols = pd.Index(np.sort(pd.unique(text[used].to_numpy(dtype=object))))
    col_codes = np.asarray(cols.get_indexer(text))[codes]
    row_codes, rows = _factorize_sorted(tx[by].to_numpy())
    m = sparse.csr_matrix((np.ones(len(tx), bool), (row_codes, col_codes)), shape=(len(rows), len(cols)))
    m.sum_duplicates()
    return m.astype(bool), pd.Index(rows, name=by), pd.Index(cols, name=item if level == "product" else "category")


def mine_rules(
    tx: pd.DataFrame,
    min_support: float = 0.01,
    min_confidence: float = 0.1,
    min_lift: float = 1.0,
    algorithm: str = "fpgrowth",
    max_len: int = 2,
    products: pd.DataFrame | None = None,
    level: str = "product",
    by: str = "order_id",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Frequent itemsets and association rules of the baskets in ``tx`` (mlxtend), as readable tables.

    ``by="order_id"``: a basket is an order (what is bought *together*); ``by="customer_id"``: a basket is a
    customer's whole history (what the same people buy, at any time) — the basis of cross-sell offers.

    Returns ``(itemsets, rules)``. ``rules`` has one row per rule with ``antecedent`` and ``consequent`` as text
    (items joined by " + "), ``support, confidence, lift, leverage, conviction``, sorted by lift.

    Parameters
    ----------
    tx : DataFrame
        Order lines with the ``by`` column and ``product_id``.
    min_support : float, default 0.01
        Least share of baskets holding an itemset.
    min_confidence : float, default 0.1
        Least confidence of a rule.
    min_lift : float, default 1.0
        Least lift of a rule.
    algorithm : {"fpgrowth", "apriori"}
        mlxtend's algorithm for the frequent itemsets.
    max_len : int, default 2
        Largest itemset (2: rules from one item to one item).
    products : DataFrame, optional
        The catalogue, needed for ``level="category"``.
    level : {"product", "category"}
        Mine products, or their categories.
    by : str, default "order_id"
        What makes a basket: ``"order_id"`` or ``"customer_id"``.
    """
    from mlxtend.frequent_patterns import apriori, fpgrowth

    if algorithm not in ("fpgrowth", "apriori", "pairs"):
        raise ValueError(f"algorithm must be 'fpgrowth', 'apriori' or 'pairs', got {algorithm!r}")
    if algorithm == "pairs" and max_len > 2:
        raise ValueError("algorithm='pairs' counts single items and pairs only: use max_len=2 or fpgrowth")
    m, _, items = basket_matrix(tx, by=by, products=products, level=level)
    if len(items) < 2:
        raise ValueError(f"only one distinct item ({items[0]!r}): rules need at least two")
    support = np.asarray(m.sum(axis=0)).ravel() / m.shape[0]
    if support.max() < min_support:
        raise ValueError(
            f"no item reaches min_support={min_support}: the most frequent, {items[support.argmax()]!r}, "
            f"is in {support.max():.4f} of the baskets; lower min_support"
        )
    if algorithm == "pairs":
        itemsets = _pair_itemsets(m, items, min_support, max_len)
    else:
        frame = pd.DataFrame.sparse.from_spmatrix(m, columns=[str(c) for c in items])
        miner = fpgrowth if algorithm == "fpgrowth" else apriori
        itemsets = miner(frame, min_support=min_support, use_colnames=True, max_len=max_len)
    return rules_from_itemsets(itemsets, m.shape[0], min_confidence, min_lift)


COMPARE_BASKETS = 250_000
"""Baskets on which a lesson sets two miners side by side at most: above, a random sample (:func:`basket_sample`)."""


def basket_sample(
    tx: pd.DataFrame, max_baskets: int | None, random_state: int = 0, by: str = "order_id"
) -> pd.DataFrame:
    """The lines of at most ``max_baskets`` baskets of ``tx``, drawn at random without replacement, in their order.

    Whether apriori and FP-growth find the same itemsets is a property of the algorithms, not of the data's size,
    and apriori's memory grows with baskets x candidate itemsets (3.2 GiB for the million orders of a 100 k
    customer world): lesson 03 compares them on ``COMPARE_BASKETS`` baskets at most. ``tx`` itself when it holds
    no more (or ``max_baskets`` is None).

    Parameters
    ----------
    tx : DataFrame
        Order lines with the ``by`` column.
    max_baskets : int or None
        The most baskets to keep; None keeps every one.
    random_state : int, default 0
        Random seed of the draw.
    by : str, default "order_id"
        What makes a basket.

    Examples
    --------
    >>> tx = pd.DataFrame({"order_id": [1, 1, 2, 3, 3, 4], "product_id": list("abcabd")})
    >>> basket_sample(tx, 2, random_state=1)["order_id"].tolist()  # every line of the baskets drawn
    [2, 3, 3]
    >>> basket_sample(tx, 10) is tx
    True
    """
    if by not in tx.columns:
        raise ValueError(f"basket_sample: no column {by!r} in the order lines (what makes a basket)")
    baskets = pd.unique(tx[by])
    keep = sample_positions(len(baskets), max_baskets, random_state, what="basket_sample: max_baskets")
    if keep is None:
        return tx
    return tx[tx[by].isin(baskets[keep])]


def rules_from_itemsets(
    itemsets: pd.DataFrame, n_baskets: int, min_confidence: float = 0.1, min_lift: float = 1.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rules tables from frequent itemsets found by any miner.

    :func:`mine_rules`' tables from frequent itemsets found by any miner (mlxtend here, Spark's FP-growth in
    :mod:`helpers.spark`): ``itemsets`` has ``support`` and ``itemsets`` (frozensets of item names).
    """
    from mlxtend.frequent_patterns import association_rules

    itemsets = itemsets.assign(
        items=itemsets["itemsets"].map(lambda s: " + ".join(sorted(s))), size=itemsets["itemsets"].map(len)
    )
    itemsets = itemsets.sort_values(["size", "support", "items"], ascending=[True, False, True], ignore_index=True)
    empty = pd.DataFrame(
        columns=["antecedent", "consequent", "support", "confidence", "lift", "leverage", "conviction"]
    )
    if (itemsets["size"] > 1).sum() == 0:
        return itemsets[["items", "size", "support"]], empty
    rules = association_rules(
        itemsets[["support", "itemsets"]], num_itemsets=n_baskets, metric="confidence", min_threshold=min_confidence
    )
    rules = rules[rules["lift"] >= min_lift]
    out = pd.DataFrame(
        {
            "antecedent": rules["antecedents"].map(lambda s: " + ".join(sorted(s))),
            "consequent": rules["consequents"].map(lambda s: " + ".join(sorted(s))),
            "support": rules["support"],
            "confidence": rules["confidence"],
            "lift": rules["lift"],
            "leverage": rules["leverage"],
            "conviction": rules["conviction"],
        }
    )
    out = out.sort_values(["lift", "antecedent", "consequent"], ascending=[False, True, True], ignore_index=True)
    return itemsets[["items", "size", "support"]], out


def _pair_itemsets(m, items: pd.Index, min_support: float, max_len: int) -> pd.DataFrame:
    """Frequent single items and pairs by exact counting: one sparse product gives every pair's count."""
    n = m.shape[0]
    x = m.astype(np.int32)
    single = np.asarray(x.sum(axis=0)).ravel() / n
    names = [str(c) for c in items]
    rows = [(single[i], frozenset([names[i]])) for i in np.flatnonzero(single >= min_support)]
    if max_len >= 2:
        frequent = np.flatnonzero(single >= min_support)  # a frequent pair has two frequent items
        sub = x[:, frequent]
        pairs = sparse.triu((sub.T @ sub).tocoo(), k=1).tocoo()
        keep = pairs.data / n >= min_support
        rows += [
            (c / n, frozenset([names[frequent[i]], names[frequent[j]]]))
            for i, j, c in zip(pairs.row[keep], pairs.col[keep], pairs.data[keep], strict=True)
        ]
    return pd.DataFrame(rows, columns=["support", "itemsets"])


class StreamingRules:
    """Pair rules updated batch by batch (the idea of CARMA: one pass, rules available at any time).

    CARMA (Hidber 1999) keeps, for each candidate itemset, a lower and upper bound of its support that tighten
    as transactions stream in, so rules can be shown after any prefix of the data. For rules between two items —
    the cross-sell rules a next-best-offer uses — exact counts are cheap: item counts and a sparse pair-count
    matrix, updated by one sparse matrix product per batch. The rules after the last batch therefore equal the
    batch result exactly, and a batch never needs the history again.

    Parameters
    ----------
    min_support : float, default 0.01
        Least share of baskets holding both items of a rule.
    min_confidence : float, default 0.1
        Least P(consequent | antecedent).
    min_lift : float, default 1.0
        Least lift of a rule.

    Examples
    --------
    >>> s = StreamingRules(min_support=0.3, min_confidence=0.5)
    >>> s.partial_fit([["a", "b"], ["a"]]).partial_fit([["a", "b"], ["c"]]).n_baskets_
    4
    >>> s.rules()[["antecedent", "consequent", "support", "confidence"]].values.tolist()
    [['a', 'b', 0.5, 0.6666666666666666], ['b', 'a', 0.5, 1.0]]
    """

    def __init__(self, min_support: float = 0.01, min_confidence: float = 0.1, min_lift: float = 1.0) -> None:
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.min_lift = min_lift
        self.items_: list[str] = []
        self._index: dict[str, int] = {}
        self.item_counts_ = np.zeros(0, np.int64)
        self.pair_counts_ = sparse.csr_matrix((0, 0), dtype=np.int64)
        self.n_baskets_ = 0

    def partial_fit(self, baskets: Sequence[Sequence[str]] | pd.DataFrame) -> StreamingRules:
        """Add a batch: a list of baskets (lists of items) or order lines with ``order_id`` and ``product_id``.

        Parameters
        ----------
        baskets : sequence of sequence of str, or DataFrame
            The batch: baskets as lists of items, or order lines with ``order_id`` and ``product_id``.
        """
        if isinstance(baskets, pd.DataFrame):  # order lines: one basket per order, its distinct items
            lines = pd.DataFrame(
                {"order": baskets["order_id"].to_numpy(), "item": baskets["product_id"].astype(str).to_numpy()}
            )
            lines = lines.drop_duplicates().sort_values(["order", "item"], kind="stable")
            order_codes, _ = pd.factorize(lines["order"], sort=True)
            items = lines["item"].to_numpy()
            n_rows = int(order_codes.max()) + 1 if len(order_codes) else 0
        else:
            flat = [(i, it) for i, b in enumerate(baskets) for it in sorted(set(b))]
            order_codes = np.array([i for i, _ in flat], dtype=np.int64)
            items = np.array([it for _, it in flat], dtype=object)
            n_rows = len(baskets)
        for it in pd.unique(items):  # new items take the next indices, in order of first appearance
            if it not in self._index:
                self._index[it] = len(self.items_)
                self.items_.append(it)
        n = len(self.items_)
        rows = np.asarray(order_codes, dtype=np.int64)
        cols = pd.Series(items, dtype=object).map(self._index).to_numpy(np.int64)
        m = sparse.csr_matrix((np.ones(len(cols), np.int64), (rows, cols)), shape=(n_rows, n))
        self.item_counts_ = np.r_[self.item_counts_, np.zeros(n - len(self.item_counts_), np.int64)]
        self.item_counts_ += np.asarray(m.sum(axis=0)).ravel()
        old = self.pair_counts_
        grown = sparse.csr_matrix((old.data, old.indices, old.indptr), shape=(old.shape[0], old.shape[1]))
        grown.resize((n, n))
        self.pair_counts_ = (grown + (m.T @ m).tocsr()).tocsr()
        self.n_baskets_ += n_rows
        return self

    def rules(self) -> pd.DataFrame:
        """Current pair rules A => B with support, confidence and lift, filtered by the thresholds, by lift."""
        pc = self.pair_counts_.tocoo()
        keep = pc.row != pc.col
        a, b, both = pc.row[keep], pc.col[keep], pc.data[keep].astype(float)
        n = max(self.n_baskets_, 1)
        support = both / n
        conf = both / self.item_counts_[a]
        lift = conf / (self.item_counts_[b] / n)
        ok = (support >= self.min_support) & (conf >= self.min_confidence) & (lift >= self.min_lift)
        items = np.asarray(self.items_, dtype=object)
        out = pd.DataFrame(
            {
                "antecedent": items[a[ok]],
                "consequent": items[b[ok]],
                "support": support[ok],
                "confidence": conf[ok],
                "lift": lift[ok],
            }
        )
        return out.sort_values(["lift", "antecedent", "consequent"], ascending=[False, True, True], ignore_index=True)


def next_best_offers(
    tx: pd.DataFrame,
    rules: pd.DataFrame,
    as_of,
    k: int = 3,
    suppress_days: int = 90,
    customers: Sequence | None = None,
    fill: pd.Series | None = None,
    price_band: tuple[float, float] | None = None,
    products: pd.DataFrame | None = None,
    chunk: int = 200_000,
    rank_by: str = "confidence",
) -> pd.DataFrame:
    """Top-``k`` offers per customer from single-item rules whose antecedent the customer has bought.

    A product scores the highest ``rank_by`` among the rules that point to it from the customer's history (before
    ``as_of``): ``"confidence"`` P(B | A), ``"lift"`` P(B | A) / P(B), or ``"added_value"`` P(B | A) - P(B).
    Confidence favours products that are popular anyway (a rule into a product half the customers buy has
    confidence near 0.5 whatever its antecedent); lift and added value measure how much the antecedent raises the
    chance over that base rate, as a ratio (which favours rare products) or in points. Products bought within
    ``suppress_days`` before ``as_of`` are never offered. When rules
    give fewer than ``k`` offers, ``fill`` (a popularity score per product, e.g.
    :func:`popularity`) completes the list. Each offer names its justification.

    Budget-aware offers: with ``price_band=(low, high)`` and the ``products`` table (``product_id, price``), a
    product is offered only if its list price lies within ``[low, high]`` times the customer's price level
    (:func:`price_levels`: the geometric mean list price of what the customer bought). Customers without a
    history have no price level and no band.

    Returns a DataFrame ``customer_id, rank, product_id, score, rule``; ``rule`` is categorical (each text held once).

    Parameters
    ----------
    tx : DataFrame
        Order lines with ``customer_id, order_id, order_date, product_id``.
    rules : DataFrame
        Single-item rules with ``antecedent, consequent`` and the ``rank_by`` column (e.g. :func:`mine_rules`).
    as_of : date
        The offer date: only orders before it are used.
    k : int, default 3
        Offers per customer.
    suppress_days : int, default 90
        Products bought within this many days before ``as_of`` are not offered.
    customers : sequence, optional
        The customers to make offers to; default: everyone who ordered before ``as_of``.
    fill : Series, optional
        A score per product (e.g. :func:`popularity`) that completes lists the rules leave short.
    price_band : tuple of float, optional
        ``(low, high)``: offer only products priced within ``low`` to ``high`` times the customer's price level.
    products : DataFrame, optional
        The catalogue (``product_id, price``), needed for ``price_band``.
    chunk : int, default 200000
        Customers scored at a time (bounds memory).
    rank_by : {"confidence", "lift", "added_value"}
        The rule measure that ranks the offers.
    """
    if rank_by not in ("confidence", "lift", "added_value"):
        raise ValueError(f"rank_by must be 'confidence', 'lift' or 'added_value', got {rank_by!r}")
    as_of = pd.Timestamp(as_of)
    single = rules[~rules["antecedent"].str.contains(r" \+ ") & ~rules["consequent"].str.contains(r" \+ ")]
    hist = _history(tx, as_of, ["customer_id", "product_id", "order_date"])
    if customers is None:
        customers = pd.Index(np.sort(hist["customer_id"].unique()), name="customer_id")
    customers = pd.Index(customers, name="customer_id")
    bought = pd.Index(pd.unique(hist["product_id"])).astype(str)
    items = pd.Index(
        sorted(
            set(bought)
            | set(single["consequent"])
            | set(single["antecedent"])
            | (set(fill.index.astype(str)) if fill is not None else set())
        )
    )
    owned = _bought(hist, customers, items)
    blocked = _blocked(hist, customers, items, as_of, suppress_days, price_band, products)
    a_idx = items.get_indexer(single["antecedent"])
    b_idx = items.get_indexer(single["consequent"])
    conf = single["confidence"].to_numpy(float)
    if rank_by == "lift":
        conf = single["lift"].to_numpy(float)
    elif rank_by == "added_value":  # P(B | A) - P(B), with P(B) = confidence / lift
        conf = conf - conf / single["lift"].to_numpy(float)
    columns = (single[c] for c in ("antecedent", "consequent", "confidence", "lift"))
    said = [f"{a} => {b} (confidence {c:.2f}, lift {lift:.1f})" for a, b, c, lift in zip(*columns, strict=True)]
    text = np.array([*said, "popular"], dtype=object)  # index -1 (no rule) reads "popular"
    base = _fill_scores(fill, items)
    by_consequent = [(b, np.flatnonzero(b_idx == b)) for b in np.unique(b_idx)]

    def scores(start: int, stop: int):
        o = owned[start:stop].toarray()
        score = np.tile(base, (stop - start, 1))
        why = np.full(score.shape, -1, np.int64)
        for b, rs in by_consequent:  # the strongest rule from the history, per target product
            strength = o[:, a_idx[rs]] * conf[rs]  # customers x rules into b
            best = strength.argmax(axis=1)
            value = strength[np.arange(len(o)), best]
            better = value > score[:, b]
            score[better, b] = value[better]
            why[better, b] = rs[best[better]]
        return score, why

    return _top_k(scores, customers, items, blocked, k, text, chunk)


def _history(tx: pd.DataFrame, as_of: pd.Timestamp, columns: list[str]) -> pd.DataFrame:
    """The order lines before ``as_of`` with only the ``columns`` a method reads (those ``tx`` has).

    A copy of every column would cost a method a gigabyte more at 1 M customers (22 M lines before the offer date).
    """
    return tx.loc[tx["order_date"] < as_of, [c for c in columns if c in tx.columns]]


def price_levels(tx: pd.DataFrame, products: pd.DataFrame, customers: Sequence | None = None) -> pd.Series:
    """Each customer's price level: the geometric mean of the list prices of the order lines in ``tx``.

    List prices (not the discounted unit prices) so that a customer who buys on discount is not mistaken for a
    budget buyer. NaN for a customer without lines; products missing from ``products`` are an error.

    Parameters
    ----------
    tx : DataFrame
        Order lines with ``customer_id, product_id``.
    products : DataFrame
        The catalogue with ``product_id, price`` (list prices).
    customers : sequence, optional
        The customers to return, in this order; default: those in ``tx``.
    """
    price = _catalogue_prices(products, tx["product_id"])
    # one look-up per line into the catalogue's log prices; a product not found (position -1) takes the appended NaN
    log_p = np.append(np.log(price.to_numpy(float)), np.nan)[_positions(tx["product_id"], price.index)]
    codes, ids = pd.factorize(tx["customer_id"].to_numpy(), sort=True)
    level = pd.Series(
        np.exp(np.bincount(codes, weights=log_p) / np.bincount(codes)),
        index=pd.Index(ids, name="customer_id"),
        name="price_level",
    )
    return level if customers is None else level.reindex(pd.Index(customers, name="customer_id"))


def _catalogue_prices(products: pd.DataFrame | None, needed) -> pd.Series:
    """List price by product id (as text); a clear error when the table, the column or a product is missing."""
    if products is None or "price" not in products:
        raise ValueError("a price band needs the products table with its 'price' column (products=world.products)")
    price = pd.Series(products["price"].to_numpy(float), index=products["product_id"].astype(str))
    distinct = pd.unique(needed if isinstance(needed, (pd.Series, pd.Index)) else np.asarray(needed, dtype=object))
    missing = sorted(set(pd.Index(distinct).astype(str)) - set(price.index))
    if missing:
        raise ValueError(f"product(s) {missing[:5]} have no price in the products table; add them to the catalogue")
    if (price <= 0).any() or price.isna().any():
        bad = price.index[(price <= 0) | price.isna()].tolist()[:5]
        raise ValueError(f"products {bad} have a price that is not positive: a price band needs prices > 0")
    return price


def _blocked(
    hist: pd.DataFrame,
    customers: pd.Index,
    items: pd.Index,
    as_of: pd.Timestamp,
    suppress_days: int,
    price_band: tuple[float, float] | None,
    products: pd.DataFrame | None,
):
    """``blocked(start, stop)``: dense bool, True where an item must not be offered (suppressed or out of band)."""
    suppressed = _bought(hist, customers, items, since=as_of - pd.Timedelta(days=suppress_days))
    if price_band is None:
        return lambda start, stop: suppressed[start:stop].toarray()
    low, high = price_band
    if not 0 <= low <= 1 <= high:
        raise ValueError(f"price_band must be (low, high) with 0 <= low <= 1 <= high, got {price_band!r}")
    price = _catalogue_prices(products, items).reindex(items.astype(str)).to_numpy(float)
    level = price_levels(hist, products, customers).to_numpy(float)

    def blocked(start: int, stop: int) -> np.ndarray:
        lv = level[start:stop, None]
        out = (price[None, :] < low * lv) | (price[None, :] > high * lv)  # NaN level: never out of band
        return out | suppressed[start:stop].toarray()

    return blocked


def _bought(lines: pd.DataFrame, customers: pd.Index, items: pd.Index, since=None):
    """Sparse customers x items: True where the customer bought the item (on or after ``since``, if given).

    Lines of other customers or products are ignored.
    """
    if since is not None:
        lines = lines[lines["order_date"] >= since]
    pos_c = _small(_lookup(customers, lines["customer_id"]))
    pos_i = _small(_positions(lines["product_id"], items))
    pos_c, pos_i = _kept((pos_c >= 0) & (pos_i >= 0), pos_c, pos_i)
    return sparse.csr_matrix((np.ones(len(pos_c), bool), (pos_c, pos_i)), shape=(len(customers), len(items)))


def _fill_scores(fill: pd.Series | None, items: pd.Index) -> np.ndarray:
    """Popularity scores that only fill the slots the method leaves open.

    Scores of ``fill`` (a popularity per product) scaled below any rule's or history's score (at most 1e-6), so
    that they only order the slots the method itself leaves open; zeros without ``fill``.
    """
    if fill is None:
        return np.zeros(len(items))
    f = fill.reindex(items.astype(str)).fillna(0.0).to_numpy(float)
    return 1e-6 * f / max(f.max(), 1e-300)


def _positions(values: pd.Series, items: pd.Index) -> np.ndarray:
    """Position of each value among ``items`` (as text); -1 when absent or missing.

    Each distinct value is turned into text once (a categorical's categories, or the values' distinct ones), not
    every line: order lines reach tens of millions with a few dozen products.
    """
    codes, distinct = _codes(values)
    # code -1 (a missing value) takes the appended -1
    return np.append(items.get_indexer(distinct.astype(str)), -1)[codes]


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each value's code among the distinct values (-1: missing), and those values.

    A categorical's own codes and categories, or a factorization: each distinct value, not each line, is then
    turned into text.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), pd.Index(values.cat.categories)
    codes, distinct = pd.factorize(values)
    return codes, pd.Index(distinct)


def _top_k(scores, customers: pd.Index, items: pd.Index, blocked, k: int, text: np.ndarray, chunk: int) -> pd.DataFrame:
    """Best ``k`` positive, unblocked items per customer from ``scores(start, stop) -> (score, why)``.

    ``blocked(start, stop)`` gives the dense bool mask of items that must not be offered to those customers.
    """
    # each justification's text once, as a categorical: a text per offer cost 200 MB per list at 1 M customers
    reason_code, reasons = pd.factorize(pd.Index(text))
    frames = []
    for start in range(0, len(customers), chunk):
        stop = min(start + chunk, len(customers))
        score, why = scores(start, stop)
        score[blocked(start, stop)] = -np.inf
        top = np.argsort(-score, axis=1, kind="stable")[:, :k]
        rows = np.arange(stop - start)[:, None]
        s, w = score[rows, top], why[rows, top]
        valid = s > 0
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": np.repeat(customers[start:stop].to_numpy(), k)[valid.ravel()],
                    "rank": np.tile(np.arange(1, k + 1), stop - start)[valid.ravel()],
                    "product_id": items.to_numpy()[top][valid],
                    "score": s[valid],
                    "rule": pd.Categorical.from_codes(reason_code[w[valid]], categories=reasons),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def planted_offers(
    truth, tx: pd.DataFrame, as_of, customers: Sequence, k: int = 3, suppress_days: int = 90
) -> pd.DataFrame:
    """The oracle: each customer's ``k`` most likely products under the planted basket model of their segment.

    It knows every customer's hidden segment, each product's inclusion probability in that segment's orders and
    the planted rules (a consequent is added with probability q when its antecedent is in the basket), and it
    applies the same suppression as :func:`next_best_offers`.

    Parameters
    ----------
    truth : Truth
        The world's planted truth (segments, basket model, rules).
    tx : DataFrame
        Order lines, for the suppression of recent purchases.
    as_of : date
        The offer date.
    customers : sequence
        The customers to make offers to.
    k : int, default 3
        Offers per customer.
    suppress_days : int, default 90
        Products bought within this many days before ``as_of`` are not offered.
    """
    as_of = pd.Timestamp(as_of)
    customers = pd.Index(customers, name="customer_id")
    bm = truth["basket_model"]
    items = pd.Index(bm["products"])
    pi = pd.DataFrame(bm["pi"], index=items).T  # segment name x product
    incl = pi.copy()
    for r in truth["association_rules"]:
        a, b = r["antecedent"], r["consequent"]
        incl[b] = pi[b] + pi[a] * r["q"] * (1 - pi[b])
    seg = truth.customers.set_index("customer_id").loc[customers, "segment_name"].to_numpy()
    blocked = _blocked(
        _history(tx, as_of, ["customer_id", "product_id", "order_date"]),
        customers,
        items,
        as_of,
        suppress_days,
        None,
        None,
    )
    table = incl.to_numpy()
    rows = pd.Index(incl.index).get_indexer(seg)

    def scores(start: int, stop: int):
        score = table[rows[start:stop]].copy()
        return score, np.full(score.shape, -1, np.int64)

    return _top_k(scores, customers, items, blocked, k, np.array(["planted model"], dtype=object), 200_000)


def popularity(tx: pd.DataFrame, as_of=None) -> pd.Series:
    """Number of orders (before ``as_of``, if given) that contain each product, indexed by product id as text.

    Parameters
    ----------
    tx : DataFrame
        Order lines with ``order_id, order_date, product_id``.
    as_of : date, optional
        Count only the orders before it; default: all.
    """
    if as_of is not None:
        tx = _history(tx, pd.Timestamp(as_of), ["order_id", "product_id"])
    pop = _orders_per_product(tx)
    if pop is None:
        pop = tx.groupby("product_id", observed=True)["order_id"].nunique()
    return pop.rename(index=str)


def _orders_per_product(tx: pd.DataFrame) -> pd.Series | None:
    """``groupby("product_id", observed=True)["order_id"].nunique()`` in linear time, for what it covers.

    Categorical products (fewer than 65,536) and numbered orders in ascending order, as exports list them: the
    lines grouped by product with a stable radix sort keep their orders ascending, so a product's distinct orders
    are its changes of order id. Otherwise None (pandas sorts every line by product and order: 8 s at 26 M).
    """
    product, order = tx["product_id"], tx["order_id"]
    if (
        not isinstance(product.dtype, pd.CategoricalDtype)
        or len(product.cat.categories) >= 2**16 - 1
        or not pd.api.types.is_integer_dtype(order.dtype)
        or not order.is_monotonic_increasing
    ):
        return None
    codes = product.cat.codes.to_numpy()
    lines = np.flatnonzero(codes >= 0) if (codes < 0).any() else None  # lines without a product do not count
    if lines is not None:
        codes = codes[lines]
    by_product = np.argsort(codes.astype(np.uint16), kind="stable")  # radix: linear
    c = codes[by_product]
    o = order.to_numpy()[by_product if lines is None else lines[by_product]]
    new = np.ones(len(c), bool)
    new[1:] = (c[1:] != c[:-1]) | (o[1:] != o[:-1])
    counts = np.bincount(c[new], minlength=len(product.cat.categories))
    seen = np.bincount(c, minlength=len(product.cat.categories)) > 0
    return pd.Series(
        counts[seen],
        index=pd.CategoricalIndex(product.cat.categories[seen], dtype=product.dtype, name="product_id"),
        name="order_id",
    )


def popularity_offers(
    tx: pd.DataFrame, as_of, customers: Sequence, k: int = 3, suppress_days: int = 90, weights: pd.Series | None = None
) -> pd.DataFrame:
    """The baseline: the ``k`` most bought products (in orders before ``as_of``), with the same suppression.

    Parameters
    ----------
    tx : DataFrame
        Order lines with ``customer_id, order_id, order_date, product_id``.
    as_of : date
        The offer date: only orders before it count.
    customers : sequence
        The customers to make offers to.
    k : int, default 3
        Offers per customer.
    suppress_days : int, default 90
        Products bought within this many days before ``as_of`` are not offered.
    weights : Series, optional
        A score per product to rank by instead of the number of orders.
    """
    pop = popularity(tx, as_of) if weights is None else weights.rename(index=str)
    no_rules = pd.DataFrame(columns=["antecedent", "consequent", "confidence", "lift"], dtype=str)
    return next_best_offers(tx, no_rules, as_of, k=k, suppress_days=suppress_days, customers=customers, fill=pop)


def buy_again_offers(
    tx: pd.DataFrame,
    as_of,
    customers: Sequence,
    k: int = 3,
    suppress_days: int = 90,
    fill: pd.Series | None = None,
    chunk: int = 200_000,
) -> pd.DataFrame:
    """The buy-again baseline: the products the customer ordered most often before ``as_of``, most orders first.

    Ties go to the product ordered most recently. Products bought within ``suppress_days`` are not offered (0 for
    a plain buy-again list); ``fill`` (e.g. :func:`popularity`) completes lists that the history leaves short, as
    in :func:`next_best_offers`. It needs no model at all, which is what makes it a fair floor for one.

    Parameters
    ----------
    tx : DataFrame
        Order lines with ``customer_id, order_id, order_date, product_id``.
    as_of : date
        The offer date: only orders before it are used.
    customers : sequence
        The customers to make offers to.
    k : int, default 3
        Offers per customer.
    suppress_days : int, default 90
        Products bought within this many days before ``as_of`` are not offered.
    fill : Series, optional
        A score per product (e.g. :func:`popularity`) that completes short lists.
    chunk : int, default 200000
        Customers scored at a time (bounds memory).
    """
    as_of = pd.Timestamp(as_of)
    hist = _history(tx, as_of, ["customer_id", "product_id", "order_id", "order_date"])
    ids = pd.Index(customers, name="customer_id")
    items = pd.Index(
        sorted(
            set(pd.Index(pd.unique(hist["product_id"])).astype(str))
            | (set(fill.index.astype(str)) if fill is not None else set())
        )
    )
    blocked = _blocked(hist, ids, items, as_of, suppress_days, None, None)
    # the history as small per-line arrays, and the table itself released before the sort: at 1 M customers
    # (22 M lines before the offer date) each 64-bit column is 170 MB
    pos_c, pos_i = _small(_lookup(ids, hist["customer_id"])), _small(_positions(hist["product_id"], items))
    order_id = hist["order_id"].to_numpy()
    days = _small(_days_before(as_of, hist["order_date"]))
    del hist
    pos_c, pos_i, order_id, days = _kept((pos_c >= 0) & (pos_i >= 0), pos_c, pos_i, order_id, days)
    c, i, orders, days = _orders_per_pair(pos_c, pos_i, order_id, days, len(items))
    # orders first; among equal counts the most recent purchase (fewer days ago) ranks higher
    value = orders + 1.0 / (2.0 + days)
    own = sparse.csr_matrix((value, (c, i)), shape=(len(ids), len(items)))
    base = _fill_scores(fill, items)

    def scores(start: int, stop: int):
        o = own[start:stop].toarray()
        score = np.where(o > 0, o, base[None, :])
        return score, np.where(o > 0, 0, 1)

    return _top_k(scores, ids, items, blocked, k, np.array(["bought before", "popular"], dtype=object), chunk)


def _orders_per_pair(
    c: np.ndarray, i: np.ndarray, order_id: np.ndarray, day: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per (customer, item) position pair: its distinct orders and fewest days since one; pairs in sorted order.

    One sort of the lines by pair and order instead of a table's ``drop_duplicates`` and ``groupby`` on three
    columns, which at 1 M customers (22 M order lines) held 3 GiB of hash tables at once.
    """
    if len(c) == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0), np.zeros(0)
    pair = c.astype(np.int64) * n_items + i
    one = _one_row_each(pair, _order_codes(order_id))  # the first line of each (pair, order), sorted by pair
    p = pair[one]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    orders = np.diff(np.r_[starts, len(p)]).astype(float)
    days = np.minimum.reduceat(day[one], starts).astype(float)
    first = p[starts]
    return first // n_items, first % n_items, orders, days


DENSE_SPAN = 4
"""Numbered ids are matched through a table when their range spans at most this many slots per id (and at least
65,536): a lookup per line instead of hashing tens of millions of lines."""


def _span(ids: np.ndarray, n: int) -> tuple[int, int] | None:
    """(lowest, highest) of integer ``ids`` when a table over their range is small enough; else None."""
    if ids.dtype.kind not in "iu" or not len(ids):
        return None
    lo, hi = int(ids.min()), int(ids.max())
    return (lo, hi) if hi - lo < max(DENSE_SPAN * n, 1 << 16) else None


def _factorize_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=True)``; numbered values in a compact range by a table of those present."""
    span = _span(values, len(values))
    if span is None:
        return pd.factorize(values, sort=True)
    off = values - span[0]
    present = np.zeros(span[1] - span[0] + 1, bool)
    present[off] = True
    rank = np.cumsum(present) - 1
    return rank[off], (np.flatnonzero(present) + span[0]).astype(values.dtype)


def _lookup(ids: pd.Index, values: pd.Series) -> np.ndarray:
    """``ids.get_indexer(values)`` (-1: absent); unique numbered ids in a compact range through a table."""
    v = values.to_numpy()
    span = _span(ids.to_numpy(), len(ids)) if v.dtype.kind in "iu" and ids.is_unique else None
    if span is None:
        return ids.get_indexer(values)
    lo, hi = span
    table = np.full(hi - lo + 1, -1, np.intp)
    table[ids.to_numpy() - lo] = np.arange(len(ids))
    inside = (v >= lo) & (v <= hi)
    if inside.all():
        return table[v - lo]
    out = np.full(len(v), -1, np.intp)
    out[inside] = table[v[inside] - lo]
    return out


def _small(positions: np.ndarray) -> np.ndarray:
    """Positions (or day counts) as 32-bit integers: half the memory of a 64-bit column of 10^7 lines."""
    return positions.astype(np.int32) if len(positions) and positions.max() < 2**31 else positions


def _days_before(as_of: pd.Timestamp, dates: pd.Series) -> np.ndarray:
    """Whole days from each date to ``as_of`` (dates before it), as ``(as_of - dates).dt.days`` without its Series."""
    return (np.datetime64(as_of.as_unit("ns").asm8) - dates.to_numpy("datetime64[ns]")) // np.timedelta64(1, "D")


def _kept(ok: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The ``arrays`` where ``ok``; the arrays themselves (no copies) when every line is kept, as is usual."""
    return arrays if ok.all() else tuple(a[ok] for a in arrays)


def _order_codes(order_id: np.ndarray) -> np.ndarray:
    """Order ids as integers that sort equal ids together: numbered ids as they are, others (text) by code."""
    return order_id if order_id.dtype.kind in "iu" else pd.factorize(order_id)[0]


def _one_row_each(*keys: np.ndarray) -> np.ndarray:
    """Positions of one row of each distinct combination of ``keys`` (integer arrays of one length).

    One sort instead of ``drop_duplicates`` on a table, whose hash tables cost gigabytes at 20 M order lines.
    """
    if len(keys[0]) == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort(keys[::-1])
    new = np.zeros(len(order), bool)
    new[0] = True
    for k in keys:
        s = k[order]
        new[1:] |= s[1:] != s[:-1]
    return order[new]


def segment_popularity_offers(
    tx: pd.DataFrame,
    as_of,
    segments: pd.Series,
    customers: Sequence | None = None,
    k: int = 3,
    suppress_days: int = 90,
    chunk: int = 200_000,
) -> pd.DataFrame:
    """The segment baseline: the ``k`` most bought products among the customer's own segment, with suppression.

    ``segments`` maps ``customer_id`` to a segment label (e.g. lesson 01's ``persona``). Popularity is the number
    of orders before ``as_of`` placed by members of the segment that contain the product. A customer without a
    segment gets the overall popularity. The ``rule`` column says which segment's favourites were used.

    Parameters
    ----------
    tx : DataFrame
        Order lines with ``customer_id, order_id, order_date, product_id``.
    as_of : date
        The offer date: only orders before it count.
    segments : Series
        A segment label per ``customer_id`` (one each).
    customers : sequence, optional
        The customers to make offers to; default: everyone who ordered before ``as_of``.
    k : int, default 3
        Offers per customer.
    suppress_days : int, default 90
        Products bought within this many days before ``as_of`` are not offered.
    chunk : int, default 200000
        Customers scored at a time (bounds memory).
    """
    as_of = pd.Timestamp(as_of)
    if segments.index.has_duplicates:
        dup = segments.index[segments.index.duplicated()].unique().tolist()[:5]
        raise ValueError(f"customer(s) {dup} appear more than once in segments: give each customer one segment")
    hist = _history(tx, as_of, ["customer_id", "product_id", "order_id", "order_date"])
    ids = pd.Index(np.sort(hist["customer_id"].unique()) if customers is None else customers, name="customer_id")
    items = pd.Index(sorted(pd.Index(pd.unique(hist["product_id"])).astype(str)))
    seg = segments.dropna().astype(str)
    labels = pd.Index(pd.unique(seg)).sort_values()
    # each line's segment through its customer's position (-1, the appended code: a customer without a segment)
    seg_code = np.append(labels.get_indexer(seg.to_numpy()), -1).astype(np.int32)
    line_seg = seg_code[_lookup(seg.index, hist["customer_id"])]
    item = _small(_positions(hist["product_id"], items))
    line_seg, item, order_id = _kept((line_seg >= 0) & (item >= 0), line_seg, item, hist["order_id"].to_numpy())
    one = _one_row_each(line_seg, item, _order_codes(order_id))  # distinct orders
    del order_id
    table = np.zeros((len(labels) + 1, len(items)))
    table[:-1] = np.bincount(
        line_seg[one].astype(np.int64) * len(items) + item[one], minlength=len(labels) * len(items)
    ).reshape(len(labels), len(items))
    del line_seg, item, one
    table[-1] = popularity(hist).reindex(items).fillna(0.0).to_numpy()  # last row: every customer together
    table /= np.maximum(table.max(axis=1, keepdims=True), 1.0)
    rows = labels.get_indexer(ids.map(seg))
    rows = np.where(rows >= 0, rows, len(labels))
    text = np.array([f"popular in {s}" for s in labels] + ["popular"], dtype=object)
    blocked = _blocked(hist, ids, items, as_of, suppress_days, None, None)

    def scores(start: int, stop: int):
        r = rows[start:stop]
        return table[r].copy(), np.repeat(r[:, None], len(items), axis=1)

    return _top_k(scores, ids, items, blocked, k, text, chunk)


def _offers_bought(offers: pd.DataFrame, future: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Whether each offer was bought, the offer's customer as a position among the buyers, and the buyers (sorted).

    Products are compared as text (offers name them as text, a team's order lines may hold numbers) and each
    (customer, product) pair as one integer, so that scoring a million customers' offers costs a hash per line.
    An offer to a customer who bought nothing has position -1 and is never bought.
    """
    who_future, buyers = pd.factorize(future["customer_id"], sort=True)
    codes, distinct = _codes(future["product_id"])  # the lines' distinct products, found once
    text = distinct.astype(str)
    names = pd.Index(text.unique())
    code_future = np.append(names.get_indexer(text), -1)[codes]
    named = code_future >= 0  # a line without a product id buys nothing that can be offered
    bought = pd.unique(who_future[named].astype(np.int64) * len(names) + code_future[named])
    who = pd.Index(buyers).get_indexer(offers["customer_id"])
    code = _positions(offers["product_id"], names)
    key = np.where((who >= 0) & (code >= 0), who.astype(np.int64) * len(names) + code, -1)
    hit = (key >= 0) & pd.Series(key).isin(bought).to_numpy()
    return hit, who, pd.Index(buyers, name="customer_id")


def _hit_counts(offers: pd.DataFrame, future: pd.DataFrame, ks: Sequence[int]) -> tuple[list[np.ndarray], pd.Index]:
    """Per ``k`` of ``ks``: offered-and-bought products (top ``k``) of each future buyer; and the buyers."""
    hit, who, buyers = _offers_bought(offers, future)
    rank = offers["rank"].to_numpy()
    return [np.bincount(who[hit & (rank <= k)], minlength=len(buyers)) for k in ks], buyers


def _hits(offers: pd.DataFrame, future: pd.DataFrame, k: int) -> tuple[pd.Series, int]:
    """Offered-and-bought products per customer (top ``k``) among future buyers, and the number of buyers."""
    (counts,), buyers = _hit_counts(offers, future, [k])
    some = np.flatnonzero(counts)
    return pd.Series(counts[some], index=buyers[some], dtype="int64"), len(buyers)


def hit_table(offers: pd.DataFrame, future: pd.DataFrame, ks: Sequence[int] = range(1, 6)) -> pd.DataFrame:
    """:func:`hit_rate` and :func:`precision_at_k` for several ``k`` at once, matching offers to purchases once.

    Parameters
    ----------
    offers : DataFrame
        Offers with ``customer_id, rank, product_id``.
    future : DataFrame
        The order lines after the offer date (``customer_id, product_id``).
    ks : sequence of int, default 1 to 5
        The numbers of offers that count.

    Returns
    -------
    DataFrame indexed by ``k`` with ``hit`` (:func:`hit_rate`) and ``precision`` (:func:`precision_at_k`).

    Examples
    --------
    >>> offers = pd.DataFrame({"customer_id": [1, 1, 2], "rank": [1, 2, 1], "product_id": ["a", "b", "c"]})
    >>> future = pd.DataFrame({"customer_id": [1, 2], "product_id": ["b", "a"]})
    >>> hit_table(offers, future, ks=[1, 2]).to_dict("index")
    {1: {'hit': 0.0, 'precision': 0.0}, 2: {'hit': 0.5, 'precision': 0.25}}
    """
    per_k, buyers = _hit_counts(offers, future, ks)
    n = max(len(buyers), 1)
    rows = [
        {"hit": np.count_nonzero(c) / n, "precision": float(c.sum()) / k / n} for k, c in zip(ks, per_k, strict=True)
    ]
    return pd.DataFrame(rows, index=pd.Index(list(ks), name="k"))


def hits_per_buyer(offers: pd.DataFrame, future: pd.DataFrame, k: int) -> pd.Series:
    """1 for each future buyer who bought one of their top-``k`` offers, else 0; indexed by ``customer_id``.

    Its mean is :func:`hit_rate`. Two methods scored on the same buyers give paired values, which
    :func:`helpers.compare.paired_difference` turns into an interval for "A beats B".

    Parameters
    ----------
    offers : DataFrame
        Offers with ``customer_id, rank, product_id``.
    future : DataFrame
        The order lines after the offer date (``customer_id, product_id``).
    k : int
        The offers that count: ranks 1 to ``k``.
    """
    hits, _ = _hits(offers, future, k)
    buyers = pd.Index(np.sort(pd.unique(future["customer_id"])), name="customer_id")
    return pd.Series(buyers.isin(hits.index).astype(int), index=buyers, name=f"hit@{k}")


def hit_rate(offers: pd.DataFrame, future: pd.DataFrame, k: int) -> float:
    """Share of customers with a future purchase for whom one of their top-``k`` offers was bought.

    ``future`` holds the order lines after the offer date (``customer_id, product_id``); customers without a
    future purchase do not count.

    Parameters
    ----------
    offers : DataFrame
        Offers with ``customer_id, rank, product_id`` (e.g. :func:`next_best_offers`).
    future : DataFrame
        The order lines after the offer date (``customer_id, product_id``).
    k : int
        The offers that count: ranks 1 to ``k``.
    """
    hits, buyers = _hits(offers, future, k)
    return len(hits) / max(buyers, 1)


def precision_at_k(offers: pd.DataFrame, future: pd.DataFrame, k: int) -> float:
    """Mean share of the ``k`` offer slots that the customer went on to buy, over customers with a purchase.

    A customer given fewer than ``k`` offers still has ``k`` slots (an empty slot is a miss), so precision@k
    never exceeds hit@k and a method cannot gain by offering less.

    Parameters
    ----------
    offers : DataFrame
        Offers with ``customer_id, rank, product_id``.
    future : DataFrame
        The order lines after the offer date (``customer_id, product_id``).
    k : int
        The offer slots per customer.
    """
    hits, buyers = _hits(offers, future, k)
    return float(hits.sum()) / k / max(buyers, 1)
