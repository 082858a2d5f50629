"""Stage 4b: the randomised test of several treatments, sent the day after the history ends (``campaign_sends``).

Every customer who may receive email on :attr:`helpers.planted.UpliftTest.send_date` is drawn into one arm
(control, reminder, 10 % discount, next-best-offer content) and answers through
:class:`helpers.planted.UpliftTest`: an organic purchase at the customer's own rate, or one through the message of
:class:`helpers.planted.ResponseModel`. The test is drawn from its own random stream and after every other table,
so adding it left every other file of the world byte-identical; its outcomes are in its own table only (the
history's transactions end before it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..planted import UpliftTest
from .campaigns import CampaignLog
from .customers import Latent, Lifetimes, Segments
from .params import CUSTOMER_ID_BASE, ORDER_ID_BASE, RESPONSE, START
from .tools import send_times

#: the planted test
UPLIFT = UpliftTest()

CAMPAIGN_ID = "T001"


@dataclass(frozen=True)
class UpliftRecords:
    """The test's table, and its truth: per-recipient probabilities and the segments' mean order values."""

    table: pd.DataFrame
    recipients: dict[str, Any]
    order_value: dict[str, float]
    sleeping_dog_segment: str


def _history(tx: pd.DataFrame, products: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each customer's number of past orders, and each order's customer index and list value (before discounts)."""
    oid = tx["order_id"].to_numpy() - ORDER_ID_BASE
    price = products.set_index("product_id")["price"]
    codes = tx["product_id"].cat.codes.to_numpy()
    list_price = price.reindex(tx["product_id"].cat.categories).to_numpy()[codes]
    value = np.bincount(oid, weights=tx["quantity"].to_numpy() * list_price)
    first = np.flatnonzero(np.r_[True, oid[1:] != oid[:-1]])
    who = tx["customer_id"].to_numpy()[first] - CUSTOMER_ID_BASE
    return np.bincount(who, minlength=n), who, value[oid[first]]


def uplift_test(
    rng: np.random.Generator,
    seg: Segments,
    lat: Latent,
    life: Lifetimes,
    log: CampaignLog,
    tx: pd.DataFrame,
    products: pd.DataFrame,
) -> UpliftRecords:
    """Draw the test: arms, opens, clicks and purchases in the window, with each recipient's true probabilities."""
    test = UPLIFT
    n = len(lat.segment)
    t_send = float((np.datetime64(test.send_date, "s") - START) / np.timedelta64(1, "D")) + test.send_hour / 24.0
    unsubscribed = np.zeros(n, bool)
    unsubscribed[log.unsubscribed_ids - CUSTOMER_ID_BASE] = True
    who = np.flatnonzero(lat.consent & ~unsubscribed & (lat.signup_day < np.floor(t_send)))
    m = len(who)
    arm = rng.integers(0, len(test.arms), m)
    s = lat.segment[who]
    n_orders, order_who, order_value = _history(tx, products, n)
    seg_value = np.bincount(lat.segment[order_who], weights=order_value, minlength=seg.k) / np.maximum(
        np.bincount(lat.segment[order_who], minlength=seg.k), 1
    )
    dog_segment = int(np.argmax(seg.order_rate))
    dog = s == dog_segment
    alive = t_send < life.churn_day[who]
    fatigue = log.fatigue[who] * np.exp(-(t_send - log.last_msg[who]) / RESPONSE.fatigue_tau_days)
    p_org = test.p_organic(lat.order_rate[who], alive)
    history = n_orders[who] >= test.nbo_min_orders
    probs: dict[str, np.ndarray] = {"p_open": np.zeros(m)}
    for a in test.arms[1:]:
        p = RESPONSE.respond(
            open_logit=seg.open_logit[s],
            click_logit=seg.click_logit[s],
            peak_hour=seg.peak_hour[s],
            discount_sensitivity=seg.discount_sens[s],
            offset=lat.open_offset[who],
            channel="email",
            hour=np.full(m, float(test.send_hour)),
            when=send_times(np.full(m, t_send)),
            after_drift=np.ones(m, bool),
            subject=np.zeros(m, int),
            discount=test.discounts[a],
            fatigue=fatigue,
            alive=alive,
            content_extra=np.where(history, test.nbo_click_effect, 0.0) if a == "nbo" else 0.0,
        )
        probs["p_open"] = p["open"]
        probs[f"p_click_{a}"] = p["open"] * p["click"]
        probs[f"p_message_{a}"] = p["open"] * p["click"] * p["conv"]
    p_buy = {"p_control": p_org}
    for a in test.arms[1:]:
        p_buy[f"p_{a}"] = test.p_buy(p_org, probs[f"p_message_{a}"], dog)

    # the draws: one organic purchase time, and the message's open, click and order
    u = rng.random((4, m))
    sent = arm > 0
    a_idx = np.maximum(arm - 1, 0)
    arms_sent = test.arms[1:]
    pick = np.arange(m)
    p_open = probs["p_open"]
    p_click = np.stack([probs[f"p_click_{a}"] for a in arms_sent])[a_idx, pick]
    p_message = np.stack([probs[f"p_message_{a}"] for a in arms_sent])[a_idx, pick]
    opened = sent & (u[0] < p_open)
    clicked = opened & (u[1] < p_click / np.where(p_open > 0, p_open, 1.0))
    through = clicked & (u[2] < p_message / np.where(p_click > 0, p_click, 1.0))
    organic = u[3] < p_org * np.where(sent & dog, test.sleeping_dog_factor, 1.0)
    w = test.window_days
    t_organic = rng.uniform(0.0, w, m)
    t_message = np.minimum(
        rng.exponential(3 / 24, m) + rng.exponential(10 / 1440, m) + rng.exponential(6 / 24, m), w - 1 / 86400
    )
    bought = organic | through
    t_buy = np.where(organic & through, np.minimum(t_organic, t_message), np.where(organic, t_organic, t_message))
    value = seg_value[s] * rng.gamma(test.order_value_shape, 1.0 / test.order_value_shape, m)
    discount = np.array([test.discounts[a] for a in test.arms])[arm]
    revenue = np.where(bought, np.round(value * (1.0 - discount), 2), 0.0)
    at = send_times(np.full(m, t_send))
    bought_at = send_times(t_send + t_buy).astype("datetime64[s]")
    table = pd.DataFrame(
        {
            "customer_id": (who + CUSTOMER_ID_BASE).astype(np.int64),
            "campaign_id": CAMPAIGN_ID,
            "arm": np.asarray(test.arms, dtype=object)[arm],
            "sent_at": at,
            "opened": opened,
            "clicked": clicked,
            "converted": bought,
            "converted_at": np.where(bought, bought_at, np.datetime64("NaT", "s")),
            "revenue": revenue,
        }
    )
    recipients = {
        "customer_id": table["customer_id"].tolist(),
        "arm": table["arm"].tolist(),
        **{k: np.round(v, 6).tolist() for k, v in p_buy.items()},
        "p_open": np.round(p_open, 6).tolist(),
        **{f"p_click_{a}": np.round(probs[f"p_click_{a}"], 6).tolist() for a in arms_sent},
    }
    return UpliftRecords(
        table=table,
        recipients=recipients,
        order_value={seg.names[i]: round(float(seg_value[i]), 2) for i in range(seg.k)},
        sleeping_dog_segment=seg.names[dog_segment],
    )
