"""Stage 1: the segments, the customers with their latent traits, and when each customer churns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .params import (
    ARCHETYPES,
    CHANNELS,
    CHURN,
    CUSTOMER_ID_BASE,
    DAYS,
    DRIFT_DAY,
    EARLIEST_SIGNUP,
    GENDERS,
    INCOME_BANDS,
    LATEST_SIGNUP,
    MONTH,
    REGION_P,
    REGIONS,
    RESPONSE,
    START_DAY,
)
from .tools import choice_rows, norm


@dataclass(frozen=True)
class Segments:
    """The planted segments of one world: the first ``k`` archetypes, centres and shares jittered by the seed.

    Every array has one entry (or row) per segment.
    """

    k: int
    names: list[str]
    defining: list[tuple[str, str]]
    share: np.ndarray
    age_mu: np.ndarray
    age_sd: np.ndarray
    income: np.ndarray
    channel: np.ndarray
    web_rate: np.ndarray
    order_rate: np.ndarray
    basket: np.ndarray
    cats: np.ndarray
    price_tilt: np.ndarray
    open_logit: np.ndarray
    click_logit: np.ndarray
    hazard: np.ndarray
    peak_hour: np.ndarray
    loyalty: np.ndarray
    mobile: np.ndarray
    discount_sens: np.ndarray
    promo_share: np.ndarray
    drift_segment: int
    """The segment whose churn hazard rises after the drift date: the most price-sensitive one."""


@dataclass(frozen=True)
class Latent:
    """Each customer's latent traits (one entry per customer, in customer order)."""

    segment: np.ndarray
    signup_day: np.ndarray  # days since START (negative: signed up before the world starts)
    web_rate: np.ndarray  # sessions per active month
    order_rate: np.ndarray  # orders per active month
    open_offset: np.ndarray  # the customer's own shift of the open logit
    peak_hour: np.ndarray
    mobile: np.ndarray
    consent: np.ndarray  # email consent at signup
    loyalty: np.ndarray
    age: np.ndarray


@dataclass(frozen=True)
class Lifetimes:
    """When each customer is active: from ``active_from`` to ``active_to`` (days since START); churn day or inf."""

    hazard: np.ndarray  # monthly, before the drift date
    churn_day: np.ndarray
    active_from: np.ndarray
    active_to: np.ndarray


def segment_params(rng: np.random.Generator, k: int) -> Segments:
    """Draw the centres and shares of ``k`` segments around their archetypes."""
    arch = ARCHETYPES[:k]

    def j(sd: float) -> np.ndarray:  # multiplicative jitter per segment
        return np.exp(rng.normal(0, sd, k))

    shares = norm(np.full(k, 1.0 / k) * np.exp(rng.normal(0, 0.2, k)))
    shares = norm(np.maximum(shares, 0.6 / k))
    cats = np.array([norm(a["cats"]) for a in arch])
    return Segments(
        k=k,
        names=[a["name"] for a in arch],
        defining=[a["defining"] for a in arch],
        share=shares,
        age_mu=np.array([a["age"][0] for a in arch], float) + rng.normal(0, 1, k),
        age_sd=np.array([a["age"][1] for a in arch], float),
        income=np.array([norm(a["income"]) for a in arch]),
        channel=np.array([norm(a["channel"]) for a in arch]),
        web_rate=np.array([a["web_rate"] for a in arch]) * j(0.1),
        order_rate=np.array([a["order_rate"] for a in arch]) * j(0.1),
        basket=np.array([a["basket"] for a in arch]) * j(0.05),
        cats=cats,
        price_tilt=np.array([a["price_tilt"] for a in arch], float),
        open_logit=np.array([a["open_logit"] for a in arch]) + rng.normal(0, 0.1, k),
        click_logit=np.array([a["click_logit"] for a in arch]) + rng.normal(0, 0.1, k),
        hazard=np.array([a["hazard"] for a in arch]) * j(0.1),
        peak_hour=np.array([a["peak_hour"] for a in arch], float),
        loyalty=np.array([a["loyalty"] for a in arch]),
        mobile=np.array([a["mobile"] for a in arch]),
        discount_sens=np.array([a["discount_sens"] for a in arch]),
        promo_share=np.array([a["promo_share"] for a in arch]),
        drift_segment=int(np.argmax([a["discount_sens"] for a in arch])),
    )


def customers(rng: np.random.Generator, seg: Segments, n: int) -> tuple[pd.DataFrame, Latent]:
    """The customers table (with consent at signup) and each customer's latent traits."""
    s = rng.choice(seg.k, size=n, p=seg.share)
    before = rng.random(n) < 0.7
    lo = np.where(before, (EARLIEST_SIGNUP - START_DAY).astype(float), 0.0)
    hi = np.where(before, 0.0, (LATEST_SIGNUP - START_DAY).astype(float))
    signup_day = np.floor(lo + rng.random(n) * (hi - lo))
    age = np.clip(np.rint(rng.normal(seg.age_mu[s], seg.age_sd[s])), 18, 90).astype(int)
    gender_p = np.where((seg.age_mu[s] < 26)[:, None], [0.62, 0.35, 0.03], [0.51, 0.47, 0.02])
    gender = np.asarray(GENDERS)[choice_rows(rng, gender_p)]
    region = np.asarray(REGIONS)[rng.choice(len(REGIONS), size=n, p=REGION_P)]
    channel = np.asarray(CHANNELS)[choice_rows(rng, seg.channel[s])]
    income = np.asarray(INCOME_BANDS)[choice_rows(rng, seg.income[s])]
    consent = rng.random(n) < 0.8
    loyalty = rng.random(n) < seg.loyalty[s]
    device = np.where(rng.random(n) < seg.mobile[s], "mobile", "desktop")
    customer_id = np.arange(CUSTOMER_ID_BASE, CUSTOMER_ID_BASE + n, dtype=np.int64)
    df = pd.DataFrame(
        {
            "customer_id": customer_id,
            "signup_date": (START_DAY + signup_day.astype("timedelta64[D]")),
            "age": age,
            "gender": gender,
            "region": region,
            "acquisition_channel": channel,
            "income_band": income,
            "email_consent_at_signup": consent,
            "loyalty_member": loyalty,
            "preferred_device": device,
        }
    )
    lat = Latent(
        segment=s,
        signup_day=signup_day,
        # customer-level heterogeneity around the segment centre
        web_rate=seg.web_rate[s] * np.exp(rng.normal(0, 0.2, n)),
        order_rate=seg.order_rate[s] * np.exp(rng.normal(0, 0.2, n)),
        open_offset=rng.normal(0, RESPONSE.customer_offset_sd, n),
        peak_hour=seg.peak_hour[s],
        mobile=device == "mobile",
        consent=consent,
        loyalty=loyalty,
        age=age,
    )
    return df, lat


def lifetimes(rng: np.random.Generator, seg: Segments, lat: Latent) -> Lifetimes:
    """Churn from the planted hazard (:class:`helpers.planted.ChurnModel`), from max(signup, START)."""
    s = lat.segment
    h = CHURN.hazard(seg.hazard[s], lat.loyalty, lat.age)  # per month
    t0 = np.maximum(lat.signup_day, 0.0)
    mult = np.where(s == seg.drift_segment, CHURN.drift_multiplier, 1.0)
    e = rng.exponential(1.0, len(s))  # cumulative hazard at churn
    h_day = h / MONTH
    # before the drift date
    pre = np.maximum(DRIFT_DAY - t0, 0.0) * h_day
    churn_day = np.where(
        e <= pre,
        t0 + e / h_day,
        np.maximum(t0, DRIFT_DAY) + (e - pre) / (h_day * mult),
    )
    churn_day = np.where(churn_day < DAYS, churn_day, np.inf)
    return Lifetimes(hazard=h, churn_day=churn_day, active_from=t0, active_to=np.minimum(churn_day, DAYS))
