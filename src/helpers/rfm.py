"""RFM: recency, frequency and monetary value per customer, their quantile scores and named segments.

Two summaries of one transaction table:

* :func:`rfm_table` — the marketer's RFM: days since the last order, number of orders, total spend, each scored
  1 (worst) to ``bins`` (best) by quantile, combined as ``R*100 + F*10 + M`` and named by :data:`SEGMENT_RULES`.
* :func:`lifetimes_summary` — the same history in the definitions of the ``lifetimes`` package (and of
  PyMC-Marketing's ``rfm_summary``), which CLV models expect: ``frequency`` = number of *repeat* purchase days,
  ``recency`` = days from the first to the last purchase day, ``T`` = days from the first purchase to ``as_of``,
  ``monetary_value`` = mean spend of the repeat purchase days (0 without repeats).

The differences matter: lifetimes counts purchase *days* and leaves the first one out (a one-time buyer has
frequency 0), and its recency runs from the first purchase, not back from today.

Both are vectorised group-bys: no Python loop over customers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["SEGMENT_RULES", "check_transactions", "rfm_table", "score", "name_segments", "lifetimes_summary"]

# Ordered: the first rule a customer satisfies names it. Conditions on scores with `bins` = best; "low" = 1.
# Each condition is (column, operator, value) with value "top" (= bins), "bottom" (= 1) or an int.
SEGMENT_RULES: tuple[tuple[str, tuple[tuple[str, str, str | int], ...]], ...] = (
    ("best customers", (("R", "==", "top"), ("F", "==", "top"), ("M", "==", "top"))),
    ("almost lost", (("R", "==", 2), ("F", ">=", "top-1"), ("M", ">=", "top-1"))),
    ("lost", (("R", "==", "bottom"), ("F", ">=", "top-1"), ("M", ">=", "top-1"))),
    ("lost cheap", (("R", "==", "bottom"), ("F", "==", "bottom"), ("M", "==", "bottom"))),
    ("loyal", (("F", "==", "top"),)),
    ("big spenders", (("M", "==", "top"),)),
    ("recent", (("R", "==", "top"),)),
)
"""Named RFM segments, checked in order (the first match wins; no match is "other").

- best customers: bought recently, often and for the most (R, F and M all in the top bin);
- almost lost: frequent, big spenders (F, M in the two top bins) whose recency has slipped to the second-lowest bin;
- lost: the same good customers, now in the lowest recency bin;
- lost cheap: low on everything;
- loyal: top frequency; big spenders: top monetary; recent: top recency (e.g. new customers).

Extend it by passing your own list to :func:`name_segments`.
"""


def check_transactions(tx: pd.DataFrame, as_of: pd.Timestamp, name: str = "transactions") -> np.ndarray:
    """Refuse what would make RFM silently wrong; return each line's value.

    Refused: missing columns, no lines, a missing or negative value, an ``as_of`` before the data. A line's
    value is ``quantity x unit_price``, or the ``amount`` column of an export that has one value per line and
    no unit price. A value of 0 (a free item, a fully discounted line) is a purchase, as ``lifetimes`` and
    PyMC-Marketing count it; a negative one is a return or refund, which RFM must not net into spend unasked.

    Parameters
    ----------
    tx : DataFrame
        Order lines with ``customer_id, order_date`` and either ``quantity, unit_price`` or ``amount``.
    as_of : Timestamp
        The day the summary is computed for.
    name : str, default "transactions"
        The table's name in messages.

    Returns
    -------
    ndarray
        Each line's value, in the order of ``tx``.
    """
    priced = "quantity" in tx.columns and "unit_price" in tx.columns
    need = ["customer_id", "order_date"] + (["quantity", "unit_price"] if priced or "amount" not in tx else ["amount"])
    missing = [c for c in need if c not in tx.columns]
    if missing:
        raise ValueError(
            f"{name}: missing column(s) {missing}; RFM needs customer_id, order_date and a line value: "
            "quantity and unit_price, or one amount column"
        )
    if tx.empty:
        raise ValueError(f"{name} is empty: RFM needs at least one order")
    if priced:
        value = tx["quantity"].to_numpy(float, copy=True)
        value *= tx["unit_price"].to_numpy(float)
        what = "quantity x unit_price"
    else:
        value = tx["amount"].to_numpy(float, copy=True)
        what = "amount"
    bad = ~(value >= 0)  # NaN too
    if bad.any():
        rows = tx.index[bad][:3].tolist()
        raise ValueError(
            f"{name}: {int(bad.sum())} line(s) with a negative or missing {what} (rows {rows}). "
            "Fix: RFM counts purchases (a value of 0 counts); drop returns and refunds, and fill or drop "
            "missing amounts first"
        )
    first = tx["order_date"].min()
    if as_of <= first:
        raise ValueError(
            f"{name}: as_of {as_of.date()} is not after the first order ({first.date()}); choose a later as_of"
        )
    return value


def rfm_table(
    tx: pd.DataFrame, as_of: pd.Timestamp | str | None = None, bins: int = 5, customers: Sequence | None = None
) -> pd.DataFrame:
    """Recency, frequency, monetary, their scores, the RFM code and the named segment per customer.

    Parameters
    ----------
    tx : DataFrame
        One row per order line: ``customer_id, order_date``, the line's value as ``quantity, unit_price`` or as
        ``amount``, and ``order_id`` if the export has one (without it, a customer's lines at one moment are
        one order). Lines dated on or after ``as_of`` are ignored; the rows need not be sorted.
    as_of : date, optional
        The day the scores are computed for; default: the day after the last order.
    bins : int
        Number of quantile bins of each score (3, 4 or 5 are usual).
    customers : ids, optional
        Customers to score; default: everyone who ordered before ``as_of``. Listed customers without an order
        are left out (RFM needs at least one purchase) — score them with another method.

    Returns
    -------
    DataFrame indexed by ``customer_id``: ``recency_days`` (as_of minus the last order, in days), ``frequency``
    (number of orders), ``monetary`` (total spend), ``R, F, M`` (1 = worst ... ``bins`` = best), ``rfm``
    (R*100 + F*10 + M) and ``segment``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "order_id": [10, 11, 12], "quantity": [1, 2, 1],
    ...                    "order_date": pd.to_datetime(["2025-01-01", "2025-03-01", "2025-02-01"]),
    ...                    "unit_price": [10.0, 5.0, 30.0]})
    >>> rfm_table(tx, as_of="2025-04-01", bins=2)[["recency_days", "frequency", "monetary", "rfm"]]
    ... # doctest: +NORMALIZE_WHITESPACE
                 recency_days  frequency  monetary  rfm
    customer_id
    1                      31          2      20.0  221
    2                      59          1      30.0  112
    """
    if not 2 <= int(bins) <= 10:
        raise ValueError(f"bins must be between 2 and 10, got {bins}")
    as_of, tx, ids, pos, value = _history(tx, as_of)
    if "order_id" in tx.columns:
        first_line = ~pd.Series(tx["order_id"].to_numpy()).duplicated().to_numpy()  # an order id has one customer
    else:  # without order ids, a customer's lines at one moment are one order
        first_line = ~pd.DataFrame({"c": pos, "t": tx["order_date"].to_numpy()}).duplicated().to_numpy()
    last = np.full(len(ids), np.iinfo(np.int64).min)
    np.maximum.at(last, pos, tx["order_date"].to_numpy().astype("datetime64[s]").view(np.int64))
    out = pd.DataFrame(
        {
            "recency_days": (as_of - pd.to_datetime(last, unit="s")).days,
            "frequency": np.bincount(pos[first_line], minlength=len(ids)),
            "monetary": np.bincount(pos, weights=value, minlength=len(ids)).round(2),
        },
        index=ids,
    )
    if customers is not None:
        out = out.reindex(pd.Index(customers, name="customer_id")).dropna()
        out = out.astype({"recency_days": int, "frequency": int})
    out["R"] = score(-out["recency_days"], bins)
    out["F"] = score(out["frequency"], bins)
    out["M"] = score(out["monetary"], bins)
    out["rfm"] = out["R"] * 100 + out["F"] * 10 + out["M"]
    out["segment"] = name_segments(out, bins)
    return out


def score(values: pd.Series, bins: int) -> pd.Series:
    """Quantile score 1..``bins`` (higher value = higher score); equal values always get the same score.

    Each value gets the bin of the share of customers strictly below it: ``1 + floor(bins * below / n)``. Ties
    therefore share a bin (a plain rank would split them arbitrarily), and when most customers have one
    order, the frequency scores crowd at the bottom instead of inventing differences.
    """
    n = len(values)
    if n == 0:
        return pd.Series(dtype=int, index=values.index)
    below = values.rank(method="min").to_numpy() - 1
    return pd.Series((1 + np.floor(bins * below / n)).astype(int), index=values.index)


def _rule_level(v: str | int, bins: int) -> int:
    """A score level of SEGMENT_RULES as a number.

    A score level of :data:`SEGMENT_RULES` as a number: ``"top"`` is ``bins``, ``"bottom"`` 1, ``"top-k"``
    ``bins - k``, a number itself.
    """
    if v == "top":
        return bins
    if v == "bottom":
        return 1
    if isinstance(v, str) and v.startswith("top-"):
        return bins - int(v[4:])
    return int(v)


def name_segments(
    scores: pd.DataFrame, bins: int, rules: Sequence[tuple[str, Sequence[tuple[str, str, str | int]]]] = SEGMENT_RULES
) -> pd.Series:
    """Name each row by the first rule of ``rules`` its R, F and M scores satisfy ("other" if none)."""
    ops = {"==": np.equal, ">=": np.greater_equal, "<=": np.less_equal, ">": np.greater, "<": np.less}

    names = np.full(len(scores), "other", dtype=object)
    free = np.ones(len(scores), bool)
    for name, conds in rules:
        hit = free.copy()
        for col, op, v in conds:
            if op not in ops:
                raise ValueError(f"rule {name!r}: unknown operator {op!r}; use one of {sorted(ops)}")
            hit &= ops[op](scores[col].to_numpy(), _rule_level(v, bins))
        names[hit] = name
        free &= ~hit
    return pd.Series(names, index=scores.index, name="segment")


def _history(tx: pd.DataFrame, as_of):
    """Checked order lines before ``as_of``, with customer positions and values.

    Checked order lines before ``as_of`` (default: the day after the last order), each line's customer
    position among the sorted customer ids, and each line's value.
    """
    as_of = pd.Timestamp(as_of) if as_of is not None else tx["order_date"].max().normalize() + pd.Timedelta(days=1)
    value = check_transactions(tx, as_of)
    if tx["order_date"].max() >= as_of:
        before = (tx["order_date"] < as_of).to_numpy()
        tx, value = tx[before], value[before]
    ids, pos = _customer_positions(tx)
    return as_of, tx, ids, pos, value


def _customer_positions(tx: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """Sorted customer ids and each line's position among them (no Python loop, no group-by objects)."""
    raw = tx["customer_id"].to_numpy()
    if raw.dtype.kind in "iu" and len(raw):
        lo, hi = int(raw.min()), int(raw.max())
        if hi - lo < 4 * len(raw) + 1024:  # dense integer ids (the usual CRM case): a lookup table, no hashing
            present = np.zeros(hi - lo + 1, bool)
            pos = np.subtract(raw, lo, dtype=np.int64)
            present[pos] = True
            rank = np.cumsum(present) - 1
            return pd.Index(np.flatnonzero(present) + lo, name="customer_id"), rank.take(pos, out=pos)
    codes, uniques = pd.factorize(raw, sort=True)
    return pd.Index(uniques, name="customer_id"), codes


def lifetimes_summary(tx: pd.DataFrame, as_of: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """``frequency, recency, T, monetary_value`` per customer in the definitions of ``lifetimes`` (daily periods).

    Matches ``lifetimes.utils.summary_data_from_transaction_data(tx, "customer_id", "order_date",
    monetary_value_col="value", observation_period_end=as_of - 1 day, freq="D")`` where ``value`` is the line
    value: purchases are grouped by day, the first purchase day is not a repeat, and ``monetary_value`` is the
    mean spend of the repeat days.

    Parameters
    ----------
    tx : DataFrame
        Order lines with ``customer_id, order_date`` and the line's value as ``quantity, unit_price`` or as
        ``amount`` (no order id is needed: purchases are counted by day).
    as_of : Timestamp or str, optional
        End of the observation (exclusive): orders on or after it are ignored; default: the day after the last
        order.
    """
    cutoff, tx, ids, pos, value = _history(tx, as_of)
    day = tx["order_date"].to_numpy().astype("datetime64[D]").view(np.int64)
    d0 = int(day.min())
    span = int(day.max()) - d0 + 1
    n_cust = len(ids)
    # Purchase days as sorted (customer, day) keys. A plain sort of integers (SIMD, no hashing) beats a hash
    # table ~10x on 26 M lines; 32-bit keys, when they fit, halve the memory traffic.
    key_type = np.uint32 if n_cust * span < 2**32 else np.int64
    day -= d0
    day = day.astype(key_type)  # day offset since the first purchase day
    keys = pos.astype(key_type)
    keys *= key_type(span)
    keys += day
    keys.sort()
    new_key = np.empty(len(keys), bool)
    new_key[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=new_key[1:])
    cust, kday = np.divmod(keys[new_key], key_type(span))
    n_days = np.bincount(cust, minlength=n_cust)  # every customer has at least one purchase day
    last_of = np.cumsum(n_days) - 1
    first_day, last_day = kday[last_of - n_days + 1], kday[last_of]
    total = np.bincount(pos, weights=value, minlength=n_cust)
    on_first = day == first_day.take(pos)
    first_value = np.bincount(pos[on_first], weights=value[on_first], minlength=n_cust)
    first_day, last_day = first_day.astype(np.int64) + d0, last_day.astype(np.int64) + d0
    index = ids
    end = (cutoff.normalize() - pd.Timedelta(days=1)).to_datetime64().astype("datetime64[D]").view(np.int64)
    out = pd.DataFrame(
        {
            "frequency": (n_days - 1).astype(float),
            "recency": (last_day - first_day).astype(float),
            "T": (end - first_day).astype(float),
        },
        index=pd.Index(index, name="customer_id"),
    )
    repeats = out["frequency"]
    out["monetary_value"] = np.where(repeats > 0, (total - first_value) / repeats.where(repeats > 0, 1.0), 0.0)
    return out
