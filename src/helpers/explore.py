"""First looks at a world: monthly activity, basket co-occurrence, and how the data agrees with its truth.

Used by the tour notebook (``00_the_world``); each function works on a team's tables as well as the course's.
"""

from __future__ import annotations

import pandas as pd

from .world import Truth

__all__ = ["monthly_orders", "event_counts", "pair_lift", "planted_rule_check", "segment_share_check"]


def monthly_orders(transactions: pd.DataFrame) -> pd.DataFrame:
    """Orders, customers and revenue per calendar month.

    Parameters
    ----------
    transactions : DataFrame
        Order lines with ``order_id, customer_id, order_date, quantity, unit_price``.

    Examples
    --------
    >>> tx = pd.DataFrame({"order_id": [1, 1, 2], "customer_id": [7, 7, 8],
    ...                    "order_date": pd.to_datetime(["2024-01-03", "2024-01-03", "2024-02-01"]),
    ...                    "product_id": ["a", "b", "a"], "quantity": [1, 2, 1], "unit_price": [10.0, 5.0, 10.0]})
    >>> monthly_orders(tx)["revenue"].tolist()
    [20.0, 10.0]
    """
    t = transactions.assign(
        value=transactions["quantity"] * transactions["unit_price"], month=transactions["order_date"].dt.to_period("M")
    )
    out = t.groupby("month").agg(
        orders=("order_id", "nunique"), customers=("customer_id", "nunique"), revenue=("value", "sum")
    )
    return out


def event_counts(events: pd.DataFrame) -> pd.Series:
    """Number of events of each type, most frequent first.

    Parameters
    ----------
    events : DataFrame
        The events table (``event_type``).
    """
    return events["event_type"].value_counts().rename("events")


def pair_lift(transactions: pd.DataFrame, a: str, b: str) -> dict[str, float]:
    """Support, confidence and lift of the rule ``a => b`` over orders (an order contains a product or not).

    Parameters
    ----------
    transactions : DataFrame
        Order lines with ``order_id, product_id``.
    a, b : str
        The products of the rule ``a => b``.

    Examples
    --------
    >>> tx = pd.DataFrame({"order_id": [1, 1, 2, 3, 4], "product_id": ["a", "b", "a", "b", "c"]})
    >>> pair_lift(tx, "a", "b")
    {'support': 0.25, 'confidence': 0.5, 'lift': 1.0}
    """
    order = transactions["order_id"]
    has_a = (transactions["product_id"] == a).groupby(order).any()
    has_b = (transactions["product_id"] == b).groupby(order).any()
    n = len(has_a)
    pa, pb, pab = has_a.sum() / n, has_b.sum() / n, (has_a & has_b).sum() / n
    if pa == 0 or pb == 0:
        raise ValueError(f"product {a if pa == 0 else b!r} appears in no order")
    return {"support": float(pab), "confidence": float(pab / pa), "lift": float(pab / (pa * pb))}


def planted_rule_check(transactions: pd.DataFrame, truth: Truth) -> pd.DataFrame:
    """Observed vs planted lift of every planted association rule, with the relative error.

    Parameters
    ----------
    transactions : DataFrame
        Order lines with ``order_id, product_id``.
    truth : Truth
        The world's planted truth (its ``association_rules``).
    """
    rows = []
    for r in truth["association_rules"]:
        obs = pair_lift(transactions, r["antecedent"], r["consequent"])
        rows.append(
            {
                "rule": f"{r['antecedent']} => {r['consequent']}",
                "planted_lift": r["lift"],
                "observed_lift": obs["lift"],
                "planted_confidence": r["confidence"],
                "observed_confidence": obs["confidence"],
            }
        )
    df = pd.DataFrame(rows).set_index("rule")
    df["relative_error"] = (df["observed_lift"] / df["planted_lift"] - 1).abs()
    return df


def segment_share_check(customers: pd.DataFrame, truth: Truth) -> pd.DataFrame:
    """Planted segment share vs the share of customers actually drawn into each segment.

    Parameters
    ----------
    customers : DataFrame
        The customers table (``customer_id``): the customers whose drawn segments are counted.
    truth : Truth
        The world's planted truth (segment shares and each customer's segment).
    """
    lat = truth.customers.set_index("customer_id")
    seg = lat.loc[customers["customer_id"], "segment_name"]
    drawn = seg.value_counts(normalize=True)
    planted = pd.Series({s["name"]: s["share"] for s in truth["segments"]})
    out = pd.DataFrame({"planted_share": planted, "drawn_share": drawn.reindex(planted.index).fillna(0.0)})
    out["difference"] = out["drawn_share"] - out["planted_share"]
    return out.rename_axis("segment")
