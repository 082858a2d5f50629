"""The synthetic marketing world: every table the course uses, generated from one seed, with its planted truth.

A retailer with ``n_customers`` customers over two years (2024-01-01 to 2025-12-31). Every behaviour in the
tables is drawn from parameters that are written to ``truth.json``, so each method in the course can be
measured against an oracle that knows them:

* latent **segments** (not a column of ``customers``) drive demographics, web activity, purchase rhythm, basket
  contents, email engagement, preferred send hour and churn hazard;
* **leads** (prospects, their own id space) convert through a planted logistic model in which several
  features have exactly zero weight, and whose coefficients drift on ``drift_date``;
* **baskets** carry planted association rules ``A => B`` whose support, confidence and lift follow in closed
  form from the basket model;
* **churn** is a piecewise-constant hazard; a churned customer stops buying and browsing;
* **campaigns** (>= 200 email and push sends, each with a random holdout group) and **experiments** (A/B tests of
  subject and content, and send-time tests, stored per recipient in ``email_sends``) respond through a planted
  model with per-segment hour-of-day curves, subject and discount effects and a fatigue term;
* a dated **drift** changes lead coefficients, lead mix, one segment's churn hazard and campaign responses.

Same ``seed`` and sizes give byte-identical files (see :func:`write_world`); the generator draws every table
from its own stream spawned from ``seed`` so that changing one table's recipe does not reshuffle the others.

Command line::

    python -m helpers.synth --seed 42 --customers 20000 --out data
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ARCHETYPES",
    "CATEGORIES",
    "TABLES",
    "Truth",
    "World",
    "generate_world",
    "write_world",
    "read_manifest",
    "main",
]

# ----------------------------------------------------------------------------------------------------------------
# The timeline and the fixed vocabularies
# ----------------------------------------------------------------------------------------------------------------
START = np.datetime64("2024-01-01T00:00:00", "s")
END = np.datetime64("2026-01-01T00:00:00", "s")  # exclusive
DRIFT = np.datetime64("2025-07-01T00:00:00", "s")
START_EPOCH_S = int((START - np.datetime64("1970-01-01T00:00:00", "s")).astype(np.int64))  # START in Unix seconds
DAYS = float((END - START) / np.timedelta64(1, "D"))
DRIFT_DAY = float((DRIFT - START) / np.timedelta64(1, "D"))
MONTH = 30.4375  # days
LEADS_END = np.datetime64("2026-04-01T00:00:00", "s")  # exclusive: leads are created until 2026-03-31
"""Leads keep coming after the customers' tables end, so that a lead model's recovery after the drift can be
measured although a lead's outcome is known only 90 days after it was created (the leads are a CRM export taken
on 2026-06-30, when the last lead's conversion window has closed)."""
LEAD_DAYS = float((LEADS_END - START) / np.timedelta64(1, "D"))
LEAD_WINDOW_DAYS = 90  # a lead's outcome: converted within 30 + 60 days of its creation, known when those end

TABLES = (
    "customers",
    "products",
    "transactions",
    "events",
    "campaigns",
    "experiments",
    "email_sends",
    "leads",
    "lead_events",
)
"""Every table of the world, in the order they are written."""

CATEGORIES = ("electronics", "home", "fashion", "beauty", "sports", "books")
REGIONS = ("North", "South", "East", "West", "Central")
REGION_P = (0.22, 0.24, 0.18, 0.20, 0.16)
CHANNELS = ("organic_search", "paid_search", "social", "referral", "email", "store")
INCOME_BANDS = ("low", "mid", "high")
GENDERS = ("F", "M", "X")
SUBJECTS = ("plain", "personalised", "urgency", "question")
EVENT_TYPES = ("site_visit", "product_page_view", "catalog_click", "guide_download", "cart_add", "cart_abandon",
               "payment_form_view", "email_sent", "email_open", "email_click", "unsubscribe", "push_sent",
               "push_open", "push_click")
"""Event types of the events table, in the order their codes are packed."""
LEAD_EVENT_TYPES = ("site_visit", "product_page_view", "catalog_click", "guide_download", "payment_form_view",
                    "email_open", "email_click", "social_engagement", "unsubscribe")
LEAD_SOURCES = ("organic_search", "paid_search", "social", "referral", "webinar", "trade_show")

# Archetypes of customer segments. A world with k segments uses the first k. ``defining`` names the behaviour
# feature (as built by the course's segmentation step) that sets the segment apart, and its direction.
ARCHETYPES: tuple[dict[str, Any], ...] = (
    dict(name="loyal_regulars", defining=("frequency", "high"), age=(48, 5), income=(0.1, 0.45, 0.45),
         channel=(0.2, 0.05, 0.05, 0.3, 0.1, 0.3), web_rate=1.2, order_rate=1.6, basket=2.6,
         cats=(1, 1, 1, 1, 1, 1), price_tilt=0.0, open_logit=-0.6, click_logit=-1.4, hazard=0.004,
         peak_hour=19, loyalty=0.75, mobile=0.5, discount_sens=0.3, promo_share=0.10),
    dict(name="bargain_hunters", defining=("email_click_rate", "high"), age=(38, 4), income=(0.7, 0.28, 0.02),
         channel=(0.1, 0.55, 0.1, 0.05, 0.15, 0.05), web_rate=0.8, order_rate=0.5, basket=1.6,
         cats=(0.4, 1.5, 2, 1.5, 0.8, 0.6), price_tilt=-1.2, open_logit=-0.4, click_logit=0.2, hazard=0.012,
         peak_hour=12, loyalty=0.2, mobile=0.7, discount_sens=1.0, promo_share=0.45),
    dict(name="window_shoppers", defining=("web_sessions", "high"), age=(26, 3), income=(0.45, 0.45, 0.1),
         channel=(0.15, 0.1, 0.65, 0.05, 0.0, 0.05), web_rate=6.0, order_rate=0.12, basket=1.3,
         cats=(1.5, 0.6, 2.0, 1.2, 0.8, 0.4), price_tilt=0.0, open_logit=-2.0, click_logit=-1.9, hazard=0.015,
         peak_hour=21, loyalty=0.1, mobile=0.85, discount_sens=0.4, promo_share=0.15),
    dict(name="tech_enthusiasts", defining=("share_electronics", "high"), age=(32, 4), income=(0.05, 0.35, 0.6),
         channel=(0.6, 0.2, 0.05, 0.1, 0.0, 0.05), web_rate=1.8, order_rate=0.4, basket=1.4,
         cats=(10, 0.3, 0.3, 0.2, 0.6, 0.3), price_tilt=0.8, open_logit=-1.1, click_logit=-1.0, hazard=0.008,
         peak_hour=16, loyalty=0.3, mobile=0.6, discount_sens=0.4, promo_share=0.1),
    dict(name="lapsing_occasionals", defining=("recency_days", "high"), age=(62, 5), income=(0.35, 0.5, 0.15),
         channel=(0.1, 0.05, 0.0, 0.15, 0.2, 0.5), web_rate=0.2, order_rate=0.25, basket=1.5,
         cats=(0.5, 1.5, 0.7, 0.7, 0.6, 2.5), price_tilt=-0.3, open_logit=-2.3, click_logit=-2.0, hazard=0.06,
         peak_hour=9, loyalty=0.15, mobile=0.3, discount_sens=0.3, promo_share=0.1),
    dict(name="home_nesters", defining=("share_home", "high"), age=(44, 5), income=(0.2, 0.55, 0.25),
         channel=(0.3, 0.2, 0.15, 0.15, 0.1, 0.1), web_rate=1.5, order_rate=0.55, basket=2.0,
         cats=(0.3, 10, 0.4, 0.5, 0.3, 0.5), price_tilt=0.2, open_logit=-0.9, click_logit=-1.2, hazard=0.01,
         peak_hour=7, loyalty=0.35, mobile=0.5, discount_sens=0.5, promo_share=0.2),
    dict(name="young_trendsetters", defining=("age", "low"), age=(21, 2), income=(0.6, 0.35, 0.05),
         channel=(0.1, 0.1, 0.65, 0.1, 0.0, 0.05), web_rate=2.5, order_rate=0.4, basket=1.5,
         cats=(0.6, 0.2, 3, 3, 0.8, 0.2), price_tilt=-0.5, open_logit=-1.5, click_logit=-1.2, hazard=0.015,
         peak_hour=23, loyalty=0.15, mobile=0.95, discount_sens=0.6, promo_share=0.25),
    dict(name="email_devotees", defining=("email_open_rate", "high"), age=(70, 4), income=(0.3, 0.5, 0.2),
         channel=(0.1, 0.05, 0.0, 0.2, 0.5, 0.15), web_rate=0.4, order_rate=0.4, basket=1.6,
         cats=(0.3, 1.2, 0.5, 0.8, 0.4, 3), price_tilt=0.0, open_logit=1.4, click_logit=-1.3, hazard=0.008,
         peak_hour=8, loyalty=0.4, mobile=0.2, discount_sens=0.4, promo_share=0.15),
)

# The lead-conversion model. Features are transformed as named in LEAD_TRANSFORMS before the coefficients apply.
LEAD_FEATURES = (
    "site_visits", "product_page_views", "catalog_clicks", "guide_downloads", "payment_form_views",
    "email_opens", "email_clicks", "social_engagements", "days_since_last_activity", "unsubscribed",
    "age", "is_female", "income_high", "source_referral", "region_north",
)
LEAD_TRANSFORMS = {
    "site_visits": "log1p", "product_page_views": "indicator >= 3", "catalog_clicks": "log1p",
    "guide_downloads": "identity (0/1)", "payment_form_views": "log1p", "email_opens": "log1p",
    "email_clicks": "log1p", "social_engagements": "log1p", "days_since_last_activity": "identity (days)",
    "unsubscribed": "identity (0/1)", "age": "(age - 40) / 10", "is_female": "gender == 'F'",
    "income_high": "income_band == 'high'", "source_referral": "source == 'referral'",
    "region_north": "region == 'North'",
}
LEAD_COEF_BEFORE = {
    "intercept": -2.6, "site_visits": 0.35, "product_page_views": float(np.log(2.0)), "catalog_clicks": 0.5,
    "guide_downloads": 0.9, "payment_form_views": 1.1, "email_opens": 0.0, "email_clicks": 0.6,
    "social_engagements": 0.0, "days_since_last_activity": -0.05, "unsubscribed": -1.6, "age": 0.0,
    "is_female": 0.0, "income_high": 0.4, "source_referral": 0.0, "region_north": 0.0,
}
# On the drift date a free trial opens: the buyer's guide and the payment form become steps of every trial
# sign-up, so they stop marking buyers (trial-seekers who stop there rarely buy), web browsing no longer adds
# anything, and engagement with the nurture emails and social content carries the intent instead.
LEAD_COEF_AFTER = dict(LEAD_COEF_BEFORE, intercept=-1.8, site_visits=0.0, product_page_views=0.0, catalog_clicks=0.0,
                       guide_downloads=-1.0, payment_form_views=-0.9, email_clicks=1.4, social_engagements=1.0)

# Campaign response model (per recipient; see _respond).
CHANNEL_OPEN = {"email": 0.0, "push": 0.6}
CHANNEL_CLICK = {"email": 0.0, "push": -0.5}
CHANNEL_COST = {"email": 0.004, "push": 0.002}  # per message sent
FIXED_CAMPAIGN_COST = 250.0  # per campaign, on top of the cost per message
SUBJECT_EFFECT_BEFORE = {"plain": 0.0, "personalised": 0.25, "urgency": 0.15, "question": 0.05}
SUBJECT_EFFECT_AFTER = {"plain": 0.0, "personalised": 0.25, "urgency": -0.20, "question": 0.05}
HOUR_AMPLITUDE = 1.1  # logit drop of the open probability 12 hours away from a segment's peak hour is 2x this
FATIGUE_GAMMA = 0.18  # logit drop per unit of fatigue (recent messages, exponentially decayed)
FATIGUE_TAU = 10.0  # days
CONV_LOGIT = -0.9  # P(order | click) before discount effects
DISCOUNT_EFFECT_BEFORE = 6.0  # logit per unit discount (x discount_sens of the segment)
DISCOUNT_EFFECT_AFTER = 3.0
ATTRIBUTION_DAYS = 7.0
HOLDOUT_SHARE = 0.10
N_EXPERIMENTS = 16  # A/B and send-time tests, stored per recipient in email_sends
CHURN_DRIFT_MULT = 2.0  # hazard multiplier after DRIFT for the drifting segment
CART_RECOVERY_ORGANIC = 0.12  # P(an abandoned cart is bought within ~2 days without any reminder)
CART_REMINDER_UPLIFT = {"reminder": 0.06, "discount": 0.10}  # used by the workflow simulator (05)


@dataclass
class Truth:
    """The planted parameters of a world: ``truth.json`` as a mapping of key -> value, each with a description.

    ``truth["segments"]`` gives a value; :meth:`describe` lists every key with what it means; ``customers``
    and ``leads`` give the per-customer and per-lead latent variables as DataFrames.
    """

    entries: dict[str, dict[str, Any]]

    def __getitem__(self, key: str) -> Any:
        return self.entries[key]["value"]

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def keys(self) -> list[str]:
        return list(self.entries)

    def describe(self) -> pd.DataFrame:
        """One row per truth key with its description."""
        return pd.DataFrame(
            {"key": list(self.entries), "description": [e["description"] for e in self.entries.values()]}
        )

    @property
    def customers(self) -> pd.DataFrame:
        """Per-customer latent truth: segment (index and name), churn date, rates."""
        df = pd.DataFrame(self["customer_latent"])
        df["churn_date"] = pd.to_datetime(df["churn_date"])
        return df

    @property
    def leads(self) -> pd.DataFrame:
        """Per-lead latent truth: the planted conversion probability."""
        return pd.DataFrame(self["lead_latent"])

    def to_json(self) -> str:
        return json.dumps(self.entries, indent=1, sort_keys=False, ensure_ascii=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Truth:
        return cls(json.loads(text))


@dataclass
class World:
    """The tables of a world (``world.customers``, ``world.tables["events"]``, ...) and its truth, if known."""

    tables: dict[str, pd.DataFrame]
    truth: Truth | None = None
    source: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(f"World has no table or attribute {name!r}; tables: {sorted(tables)}")

    def summary(self) -> pd.DataFrame:
        """Rows and columns of each table."""
        return pd.DataFrame(
            [(n, len(t), t.shape[1]) for n, t in self.tables.items()], columns=["table", "rows", "columns"]
        ).set_index("table")


# ----------------------------------------------------------------------------------------------------------------
# Small vectorised tools
# ----------------------------------------------------------------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def season_logit(when: np.ndarray) -> np.ndarray:
    """The planted seasonal shift of the open logit at datetime64 times: +0.2 in December, -0.15 in August."""
    month = np.asarray(when).astype("datetime64[M]").astype(int) % 12
    return np.where(month == 11, 0.2, np.where(month == 7, -0.15, 0.0))


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(probs))
    return (u[:, None] > cum).sum(axis=1)


def _norm(p: Iterable[float]) -> np.ndarray:
    a = np.asarray(list(p), dtype=float)
    return a / a.sum()


def _to_ts(days: np.ndarray) -> np.ndarray:
    """Float days since START -> datetime64[s]."""
    return START + np.floor(np.asarray(days) * 86400.0).astype("int64").astype("timedelta64[s]")


def _hours(rng: np.random.Generator, peak: np.ndarray, sd: float = 3.0) -> np.ndarray:
    """Hour-of-day (float in [0, 24)) of activity around each row's peak hour."""
    return np.mod(peak + rng.normal(0.0, sd, size=len(peak)), 24.0)


def _at_hour(rng: np.random.Generator, days: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Move each time to its day's floor plus an hour drawn around the row's peak hour."""
    return np.floor(days) + _hours(rng, peak) / 24.0


def _round(x: Any, nd: int = 6) -> Any:
    if isinstance(x, dict):
        return {k: _round(v, nd) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_round(v, nd) for v in x]
    if isinstance(x, (float, np.floating)):
        return round(float(x), nd)
    if isinstance(x, np.integer):
        return int(x)
    return x


# ----------------------------------------------------------------------------------------------------------------
# The generator
# ----------------------------------------------------------------------------------------------------------------
_STREAMS = ("segments", "customers", "churn", "products", "orders", "baskets", "web", "campaigns",
            "experiments", "leads", "lead_events", "jitter")


def generate_world(
    seed: int = 42,
    n_customers: int = 20_000,
    n_segments: int = 5,
    n_products: int = 40,
    n_rules: int = 6,
    n_campaigns: int = 240,
    n_leads: int | None = None,
) -> World:
    """Generate the synthetic marketing world.

    Parameters
    ----------
    seed : int
        Seed of every random stream. Same seed and sizes give identical tables and truth.
    n_customers : int
        Number of customers (>= 200).
    n_segments : int
        Number of planted latent segments, 2 to ``len(ARCHETYPES)`` (8). The world uses the first
        ``n_segments`` archetypes, with centres and shares jittered by ``seed``.
    n_products : int
        Catalogue size (>= 2 * n_rules + len(CATEGORIES)).
    n_rules : int
        Number of planted association rules ``A => B`` (on disjoint products).
    n_campaigns : int
        Number of past campaigns in the ``campaigns`` table (>= 1).
    n_leads : int, optional
        Number of leads, created from 2024-01-01 to 2026-03-31; defaults to ``16 * n_customers // 25``
        (about 470 a month for the course world).

    Returns
    -------
    World
        Tables ``customers, products, transactions, events, campaigns, experiments, email_sends, leads,
        lead_events`` and the planted :class:`Truth`.

    Examples
    --------
    >>> w = generate_world(seed=1, n_customers=500, n_campaigns=20)
    >>> sorted(w.tables) == sorted(TABLES)
    True
    >>> w.truth["n_segments"]
    5
    """
    if not 2 <= n_segments <= len(ARCHETYPES):
        raise ValueError(f"n_segments must be between 2 and {len(ARCHETYPES)}, got {n_segments}")
    if n_customers < 200:
        raise ValueError(f"n_customers must be at least 200, got {n_customers}")
    if n_rules < 0 or n_products < 2 * n_rules + len(CATEGORIES):
        raise ValueError(f"n_products ({n_products}) must be at least 2 * n_rules + {len(CATEGORIES)}")
    if n_campaigns < 1:
        raise ValueError("n_campaigns must be at least 1")
    n_leads = 16 * n_customers // 25 if n_leads is None else n_leads
    if n_leads < 100:
        raise ValueError(f"n_leads must be at least 100, got {n_leads}")

    ss = np.random.SeedSequence(seed)
    rng = dict(zip(_STREAMS, (np.random.default_rng(s) for s in ss.spawn(len(_STREAMS))), strict=True))

    seg = _segment_params(rng["segments"], n_segments)
    cust, lat = _customers(rng["customers"], seg, n_customers)
    lat.update(_churn(rng["churn"], seg, lat))
    products, pi = _products(rng["products"], seg, n_products)
    rules = _plant_rules(rng["products"], products, n_rules)

    packer = _Packer(n_customers, n_campaigns + N_EXPERIMENTS)
    event_keys, abandon = _web_sessions(rng["web"], lat, packer)
    order_parts = [_poisson_orders(rng["orders"], seg, lat), _recovered_orders(rng["orders"], lat, abandon)]
    camp = _campaigns(rng["campaigns"], rng["experiments"], seg, cust, lat, n_campaigns)
    order_parts.append(camp["orders"])
    orders = _finalise_orders(order_parts)
    tx, attempts = _baskets(rng["baskets"], seg, orders, lat, products, pi, rules)
    event_keys += _order_events(orders, packer)

    campaigns, experiments, email_sends, camp_keys = _campaign_tables(camp, orders, tx, seg, packer)
    event_keys += camp_keys
    del camp_keys, orders
    events = _assemble_events(event_keys, packer, camp["ids"])
    leads, lead_events, lead_latent = _leads(rng["leads"], rng["lead_events"], n_leads)

    customers = cust.drop(columns=["email_consent_at_signup"])
    customers["email_consent"] = cust["email_consent_at_signup"] & ~np.isin(
        customers["customer_id"].to_numpy(), camp["unsubscribed_ids"]
    )

    tables = {
        "customers": customers,
        "products": products,
        "transactions": tx,
        "events": events,
        "campaigns": campaigns,
        "experiments": experiments,
        "email_sends": email_sends,
        "leads": leads,
        "lead_events": lead_events,
    }
    truth = _truth(seed, n_customers, seg, lat, cust, products, pi, rules, attempts, camp, lead_latent)
    return World(tables=tables, truth=truth, meta={"seed": seed, "n_customers": n_customers})


def _segment_params(rng: np.random.Generator, k: int) -> dict[str, Any]:
    arch = ARCHETYPES[:k]
    j = lambda sd: np.exp(rng.normal(0, sd, k))  # noqa: E731  multiplicative jitter per segment
    shares = _norm(np.full(k, 1.0 / k) * np.exp(rng.normal(0, 0.2, k)))
    shares = _norm(np.maximum(shares, 0.6 / k))
    cats = np.array([_norm(a["cats"]) for a in arch])
    return dict(
        k=k,
        names=[a["name"] for a in arch],
        defining=[a["defining"] for a in arch],
        share=shares,
        age_mu=np.array([a["age"][0] for a in arch], float) + rng.normal(0, 1, k),
        age_sd=np.array([a["age"][1] for a in arch], float),
        income=np.array([_norm(a["income"]) for a in arch]),
        channel=np.array([_norm(a["channel"]) for a in arch]),
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
        # the segment whose churn hazard doubles after the drift date: the most price-sensitive one
        drift_segment=int(np.argmax([a["discount_sens"] for a in arch])),
    )


def _customers(rng: np.random.Generator, seg: dict, n: int) -> tuple[pd.DataFrame, dict]:
    s = rng.choice(seg["k"], size=n, p=seg["share"])
    before = rng.random(n) < 0.7
    lo = np.where(before, (np.datetime64("2019-01-01") - np.datetime64("2024-01-01")).astype(float), 0.0)
    hi = np.where(before, 0.0, (np.datetime64("2025-10-01") - np.datetime64("2024-01-01")).astype(float))
    signup_day = np.floor(lo + rng.random(n) * (hi - lo))
    age = np.clip(np.rint(rng.normal(seg["age_mu"][s], seg["age_sd"][s])), 18, 90).astype(int)
    gender_p = np.where((seg["age_mu"][s] < 26)[:, None], [0.62, 0.35, 0.03], [0.51, 0.47, 0.02])
    gender = np.asarray(GENDERS)[_choice_rows(rng, gender_p)]
    region = np.asarray(REGIONS)[rng.choice(len(REGIONS), size=n, p=REGION_P)]
    channel = np.asarray(CHANNELS)[_choice_rows(rng, seg["channel"][s])]
    income = np.asarray(INCOME_BANDS)[_choice_rows(rng, seg["income"][s])]
    consent = rng.random(n) < 0.8
    loyalty = rng.random(n) < seg["loyalty"][s]
    device = np.where(rng.random(n) < seg["mobile"][s], "mobile", "desktop")
    customer_id = np.arange(100001, 100001 + n, dtype=np.int64)
    df = pd.DataFrame(
        {
            "customer_id": customer_id,
            "signup_date": (np.datetime64("2024-01-01") + signup_day.astype("timedelta64[D]")),
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
    lat = dict(
        segment=s,
        signup_day=signup_day,
        # customer-level heterogeneity around the segment centre
        web_rate=seg["web_rate"][s] * np.exp(rng.normal(0, 0.2, n)),
        order_rate=seg["order_rate"][s] * np.exp(rng.normal(0, 0.2, n)),
        open_offset=rng.normal(0, 0.3, n),
        peak_hour=seg["peak_hour"][s],
        mobile=device == "mobile",
        consent=consent,
        loyalty=loyalty,
        age=age,
    )
    return df, lat


def _churn(rng: np.random.Generator, seg: dict, lat: dict) -> dict:
    """Piecewise-constant monthly hazard from max(signup, START); the drift segment's hazard rises at DRIFT."""
    s = lat["segment"]
    h = seg["hazard"][s] * np.exp(-0.5 * lat["loyalty"] + 0.1 * (lat["age"] - 40) / 10)  # per month
    t0 = np.maximum(lat["signup_day"], 0.0)
    mult = np.where(s == seg["drift_segment"], CHURN_DRIFT_MULT, 1.0)
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
    active_from = t0
    active_to = np.minimum(churn_day, DAYS)
    return dict(hazard=h, churn_day=churn_day, active_from=active_from, active_to=active_to)


def _products(rng: np.random.Generator, seg: dict, n_products: int) -> tuple[pd.DataFrame, np.ndarray]:
    adjectives = ("Classic", "Smart", "Eco", "Pro", "Urban", "Cosy", "Ultra", "Mini", "Deluxe", "Everyday",
                  "Nordic", "Vivid", "Pure", "Swift", "Bold", "Soft")
    nouns = {
        "electronics": ("Headphones", "Speaker", "Tablet", "Smartwatch", "Camera", "Charger", "Router", "E-reader"),
        "home": ("Lamp", "Blanket", "Kettle", "Cookware Set", "Vase", "Cushion", "Towel Set", "Coffee Maker"),
        "fashion": ("Sneakers", "Jacket", "Scarf", "Backpack", "Jeans", "Sunglasses", "Hoodie", "Belt"),
        "beauty": ("Serum", "Moisturiser", "Perfume", "Shampoo", "Lipstick", "Face Mask", "Sunscreen", "Body Oil"),
        "sports": ("Yoga Mat", "Dumbbells", "Water Bottle", "Running Shorts", "Tennis Racket", "Bike Light",
                   "Jump Rope", "Gym Bag"),
        "books": ("Cookbook", "Thriller", "Travel Guide", "Biography", "Poetry", "Sci-Fi Novel", "Art Book",
                  "Puzzle Book"),
    }
    price_mu = {"electronics": 5.0, "home": 3.8, "fashion": 3.9, "beauty": 3.2, "sports": 3.5, "books": 2.8}
    cat_idx = np.arange(n_products) % len(CATEGORIES)
    cat = np.asarray(CATEGORIES)[cat_idx]
    price = np.round(np.exp(np.array([price_mu[c] for c in cat]) + rng.normal(0, 0.35, n_products)), 2) - 0.01
    price = np.maximum(price, 1.99)
    names = []
    seen: set[str] = set()
    for i, c in enumerate(cat):
        k = i // len(CATEGORIES)
        base = nouns[c][k % len(nouns[c])]
        name = f"{adjectives[(k * 7 + i) % len(adjectives)]} {base}"
        while name in seen:
            name += " II"
        seen.add(name)
        names.append(name)
    popularity = np.exp(rng.normal(0, 0.5, n_products))
    # per-segment inclusion probability of each product in a base basket
    rel_price = np.log(price) - np.array([price_mu[c] for c in cat])
    w = seg["cats"][:, cat_idx] * popularity[None, :] * np.exp(seg["price_tilt"][:, None] * rel_price[None, :])
    w = w / w.sum(axis=1, keepdims=True)
    pi = np.minimum(w * seg["basket"][:, None], 0.6)
    products = pd.DataFrame(
        {
            "product_id": [f"P{i + 1:04d}" for i in range(n_products)],
            "name": names,
            "category": cat,
            "price": price,
        }
    )
    return products, pi


def _plant_rules(rng: np.random.Generator, products: pd.DataFrame, n_rules: int) -> list[dict]:
    """Pick disjoint (A, B) pairs, B in a different category from A, each with a boost probability q."""
    n = len(products)
    order = rng.permutation(n)
    used: set[int] = set()
    rules = []
    cat = products["category"].to_numpy()
    for a in order:
        if len(rules) == n_rules:
            break
        if a in used:
            continue
        for b in order:
            if b != a and b not in used and cat[b] != cat[a]:
                used.update((int(a), int(b)))
                rules.append(dict(a=int(a), b=int(b), q=float(np.round(rng.uniform(0.3, 0.55), 2))))
                break
    return rules


def _web_sessions(rng: np.random.Generator, lat: dict, packer: _Packer):
    """Browsing sessions while a customer is active: visits, product pages, catalogue clicks, carts."""
    active = np.maximum(lat["active_to"] - lat["active_from"], 0.0)
    n_sess = rng.poisson(lat["web_rate"] * active / MONTH)
    who = np.repeat(np.arange(len(active), dtype=np.int32), n_sess)
    t = lat["active_from"][who] + rng.random(len(who)) * active[who]
    t = np.minimum(_at_hour(rng, t, lat["peak_hour"][who]), lat["active_to"][who] - 1e-4)
    t = np.maximum(t, lat["active_from"][who])
    n_pages = rng.poisson(0.7, len(who))
    catalog = rng.random(len(who)) < 0.12
    guide = rng.random(len(who)) < 0.015
    cart = rng.random(len(who)) < 0.10
    keys = [packer.pack(who, t, "site_visit")]
    pw = np.repeat(np.arange(len(who)), n_pages)
    step = (np.arange(len(pw)) - np.repeat(np.cumsum(n_pages) - n_pages, n_pages) + 1) * (90 / 86400)
    keys.append(packer.pack(who[pw], t[pw] + step, "product_page_view"))
    del pw, step
    keys.append(packer.pack(who[catalog], t[catalog] + 30 / 86400, "catalog_click"))
    keys.append(packer.pack(who[guide], t[guide] + 200 / 86400, "guide_download"))
    keys.append(packer.pack(who[cart], t[cart] + 400 / 86400, "cart_add"))
    keys.append(packer.pack(who[cart], t[cart] + 1500 / 86400, "cart_abandon"))
    abandon = dict(who=who[cart].astype(np.int64), t=t[cart] + 1500 / 86400)
    return keys, abandon


def _poisson_orders(rng: np.random.Generator, seg: dict, lat: dict) -> dict:
    active = np.maximum(lat["active_to"] - lat["active_from"], 0.0)
    n_ord = rng.poisson(lat["order_rate"] * active / MONTH)
    who = np.repeat(np.arange(len(active)), n_ord)
    t = lat["active_from"][who] + rng.random(len(who)) * active[who]
    t = np.clip(_at_hour(rng, t, lat["peak_hour"][who]), lat["active_from"][who], lat["active_to"][who] - 1e-4)
    promo = rng.random(len(who)) < seg["promo_share"][lat["segment"][who]]
    discount = np.where(promo, rng.choice([0.1, 0.2], size=len(who)), 0.0)
    return dict(who=who, t=t, discount=discount, source=np.zeros(len(who), np.int8))


def _recovered_orders(rng: np.random.Generator, lat: dict, abandon: dict) -> dict:
    """Abandoned carts bought later without any reminder (the organic recovery rate in truth)."""
    who, t = abandon["who"], abandon["t"]
    t2 = t + rng.exponential(0.8, len(who))
    keep = (rng.random(len(who)) < CART_RECOVERY_ORGANIC) & (t2 < lat["active_to"][who])
    return dict(who=who[keep], t=t2[keep], discount=np.zeros(keep.sum()), source=np.ones(keep.sum(), np.int8))


def _campaigns(rng: np.random.Generator, rng_x: np.random.Generator, seg: dict, cust: pd.DataFrame, lat: dict,
               n_campaigns: int) -> dict:
    """Send campaigns and experiments in date order; draw each recipient's open, click, unsubscribe, order."""
    n = len(cust)
    s = lat["segment"]
    k = seg["k"]
    # ---- the schedule: regular campaigns and experiments, in one date order
    c_day = np.sort(rng.uniform(3.0, DAYS - ATTRIBUTION_DAYS - 1, n_campaigns).round())
    c_channel = np.where(rng.random(n_campaigns) < 0.75, "email", "push")
    c_target = np.where(rng.random(n_campaigns) < 0.35, -1, rng.integers(0, k, n_campaigns))
    c_hour = rng.integers(6, 23, n_campaigns)
    c_subject = rng.integers(0, len(SUBJECTS), n_campaigns)
    c_discount = rng.choice([0.0, 0.0, 0.1, 0.15, 0.2], size=n_campaigns)
    c_reach = rng.uniform(0.25, 0.7, n_campaigns)

    n_x = N_EXPERIMENTS
    x_day = np.sort(rng_x.uniform(20.0, DAYS - ATTRIBUTION_DAYS - 1, n_x).round()) + 0.5
    x_kind = np.array(["subject"] * 6 + ["content"] * 4 + ["send_time"] * 6)[rng_x.permutation(n_x)]
    experiments = []
    for i in range(n_x):
        kind = x_kind[i]
        if kind == "send_time":
            hours = (8, 12, 16, 20) if i % 2 == 0 else (7, 10, 13, 16, 19, 22)
            variants = [f"h{h:02d}" for h in hours]
            effect = np.zeros((len(variants), k))
        else:
            nv = 2 if i % 3 else 3
            variants = ["A", "B", "C"][:nv]
            effect = np.zeros((nv, k))
            for v in range(1, nv):
                effect[v] = np.round(rng_x.normal(0.12, 0.12), 3)
            if i % 4 == 1:  # an experiment whose winner differs by segment
                effect[1] = np.round(np.where(np.arange(k) % 2 == 0, 0.3, -0.25), 3)
            hours = (int(rng_x.integers(8, 21)),) * nv
        experiments.append(dict(kind=str(kind), variants=variants, effect=effect, hours=hours,
                                target=int(rng_x.integers(0, k)) if i % 5 == 4 else -1,
                                reach=float(rng_x.uniform(0.25, 0.5))))

    sched = [(c_day[i], 0, i) for i in range(n_campaigns)] + [(x_day[i], 1, i) for i in range(n_x)]
    sched.sort()

    ids = [f"C{i + 1:04d}" for i in range(n_campaigns)] + [f"X{j + 1:03d}" for j in range(n_x)]
    day_of = np.concatenate([c_day, x_day])
    channel_of = np.concatenate([c_channel, np.full(n_x, "email")])
    discount_of = np.concatenate([c_discount, np.zeros(n_x)])
    fatigue = np.zeros(n)
    last_msg = np.zeros(n)
    unsubscribed = np.zeros(n, bool)
    rec: dict[str, list[np.ndarray]] = {k_: [] for k_ in ("code", "who", "hour", "variant", "flag", "off_open",
                                                         "off_click")}
    conv_orders: dict[str, list[np.ndarray]] = {"who": [], "t": [], "discount": []}
    camp_truth = []
    x_truth = []
    for day, is_x, i in sched:
        code = n_campaigns + i if is_x else i
        channel, disc = channel_of[code], discount_of[code]
        if is_x:
            ex = experiments[i]
            target, reach = ex["target"], ex["reach"]
        else:
            target, reach = c_target[i], c_reach[i]
        eligible = lat["signup_day"] < day
        if channel == "email":
            eligible &= lat["consent"] & ~unsubscribed
        else:
            eligible &= lat["mobile"]
        if target >= 0:
            eligible &= s == target
        pool = np.flatnonzero(eligible)
        aud = pool[rng.random(len(pool)) < reach]
        if is_x:
            holdout = np.zeros(len(aud), bool)
            v = rng_x.integers(0, len(ex["variants"]), len(aud))
            hour = np.asarray(ex["hours"], float)[v]
            subj_eff = ex["effect"][v, s[aud]] if ex["kind"] == "subject" else 0.0
            content_eff = ex["effect"][v, s[aud]] if ex["kind"] == "content" else 0.0
            subj = np.zeros(len(aud), int)
        else:
            holdout = rng.random(len(aud)) < HOLDOUT_SHARE
            v = np.zeros(len(aud), int)
            hour = np.full(len(aud), float(c_hour[i]))
            subj = np.full(len(aud), c_subject[i])
            subj_eff = 0.0
            content_eff = 0.0
        sent = aud[~holdout]
        ctl = aud[holdout]
        hs = hour[~holdout]
        t_send = np.floor(day) + hs / 24.0
        # fatigue decays between messages
        fatigue[sent] *= np.exp(-(t_send - last_msg[sent]) / FATIGUE_TAU)
        p = _respond(seg, lat, sent, t_send, hs, channel, subj[~holdout], disc, fatigue[sent],
                     np.broadcast_to(subj_eff, len(aud))[~holdout], np.broadcast_to(content_eff, len(aud))[~holdout])
        u = rng.random((4, len(sent)))
        opened = u[0] < p["open"]
        clicked = opened & (u[1] < p["click"])
        converted = clicked & (u[2] < p["conv"])
        unsub = (u[3] < p["unsub"]) if channel == "email" else np.zeros(len(sent), bool)
        unsubscribed[sent[unsub]] = True
        fatigue[sent] += 1.0
        last_msg[sent] = t_send
        off_open = rng.exponential(3 / 24, len(sent))
        off_click = rng.exponential(10 / 1440, len(sent))
        t_order = t_send + off_open + off_click + rng.exponential(6 / 24, len(sent))
        converted &= t_order < lat["active_to"][sent]
        conv_orders["who"].append(sent[converted])
        conv_orders["t"].append(t_order[converted])
        conv_orders["discount"].append(np.full(int(converted.sum()), disc))
        # one compact record per selected customer: the sent ones first, then the holdout
        m, ns = len(aud), len(sent)
        flag = np.zeros(m, np.uint8)
        flag[:ns] = (opened * F_OPEN) | (clicked * F_CLICK) | (unsub * F_UNSUB) | (converted * F_CONV)
        flag[ns:] = F_CONTROL
        rec["code"].append(np.full(m, code, np.int16))
        rec["who"].append(np.concatenate([sent, ctl]).astype(np.int32))
        rec["hour"].append(np.concatenate([hs, hour[holdout]]).astype(np.int8))
        rec["variant"].append(np.concatenate([v[~holdout], v[holdout]]).astype(np.int8))
        rec["flag"].append(flag)
        rec["off_open"].append(np.concatenate([off_open, np.zeros(m - ns)]).astype(np.float32))
        rec["off_click"].append(np.concatenate([off_click, np.zeros(m - ns)]).astype(np.float32))
        row = dict(campaign_id=ids[code], day=float(day), channel=channel, target=int(target),
                   exp_open_rate=float(p["open"].mean()) if ns else 0.0,
                   exp_click_rate=float((p["open"] * p["click"]).mean()) if ns else 0.0,
                   exp_click_conv_rate=float((p["open"] * p["click"] * p["conv"]).mean()) if ns else 0.0)
        if is_x:
            ex_rates = []
            for vi, name in enumerate(ex["variants"]):
                for si in range(k):
                    mm = (v[~holdout] == vi) & (s[sent] == si)
                    if mm.any():
                        ex_rates.append(dict(variant=name, segment=si, n=int(mm.sum()),
                                             p_open=float(p["open"][mm].mean()),
                                             p_click=float((p["open"] * p["click"])[mm].mean())))
            x_truth.append(dict(row, kind=ex["kind"], variants=ex["variants"], hours=list(ex["hours"]),
                                effect=ex["effect"].tolist(), rates=ex_rates))
        else:
            camp_truth.append(dict(row, send_hour=int(c_hour[i]), subject=SUBJECTS[c_subject[i]], discount=float(disc)))
    records = {k_: np.concatenate(v_) for k_, v_ in rec.items()}
    orders = dict(who=np.concatenate(conv_orders["who"]), t=np.concatenate(conv_orders["t"]),
                  discount=np.concatenate(conv_orders["discount"]))
    orders["source"] = np.full(len(orders["who"]), 2, np.int8)
    return dict(
        rec=records, orders=orders, camp_truth=camp_truth, x_truth=x_truth, experiments=experiments, ids=ids,
        day_of=day_of, channel_of=channel_of, n_campaigns=n_campaigns,
        unsubscribed_ids=cust["customer_id"].to_numpy()[unsubscribed],
    )


# flags of a recipient record
F_OPEN, F_CLICK, F_UNSUB, F_CONV, F_CONTROL = 1, 2, 4, 8, 16


class _Packer:
    """Each event as one int64: customer index | second since START | event type | campaign code + 1.

    Sorting the packed keys sorts events by customer, time, type and campaign at once, in 8 bytes per event.
    """

    T_BITS = 27  # seconds since START: 2^27 s is 4.25 years
    TYP_BITS = 4

    def __init__(self, n_customers: int, n_codes: int) -> None:
        self.cid_bits = int(n_codes + 1).bit_length()
        self.who_bits = max(1, int(n_customers).bit_length())
        if self.who_bits + self.T_BITS + self.TYP_BITS + self.cid_bits > 63:
            raise ValueError("too many customers or campaigns to pack events into 64 bits")
        if len(EVENT_TYPES) > 2**self.TYP_BITS:  # pragma: no cover - a guard for whoever adds event types
            raise ValueError("too many event types")

    def pack(self, who: np.ndarray, t_days: np.ndarray, typ: str, code: np.ndarray | None = None) -> np.ndarray:
        sec = np.clip(np.floor(np.asarray(t_days) * 86400.0), 0, 2**self.T_BITS - 1).astype(np.int64)
        key = np.asarray(who).astype(np.int64) << (self.T_BITS + self.TYP_BITS + self.cid_bits)
        key |= sec << (self.TYP_BITS + self.cid_bits)
        key |= np.int64(EVENT_TYPES.index(typ)) << self.cid_bits
        if code is not None:
            key |= np.asarray(code).astype(np.int64) + 1
        return key

    def unpack(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        cid = (key & ((1 << self.cid_bits) - 1)).astype(np.int16) - 1
        typ = ((key >> self.cid_bits) & ((1 << self.TYP_BITS) - 1)).astype(np.int8)
        sec = (key >> (self.cid_bits + self.TYP_BITS)) & ((1 << self.T_BITS) - 1)
        who = (key >> (self.cid_bits + self.TYP_BITS + self.T_BITS)).astype(np.int64)
        return who, sec, typ, cid


def _respond(seg, lat, who, t_send, hour, channel, subj, disc, fatigue, subj_eff, content_eff) -> dict:
    """Per-recipient probabilities of open, click given open, order given click, unsubscribe."""
    s = lat["segment"][who]
    after = t_send >= DRIFT_DAY
    subj_before = np.array([SUBJECT_EFFECT_BEFORE[x] for x in SUBJECTS])
    subj_after = np.array([SUBJECT_EFFECT_AFTER[x] for x in SUBJECTS])
    season = season_logit(START + (t_send * 86400).astype("int64").astype("timedelta64[s]"))
    alive = t_send < lat["churn_day"][who]
    eta_open = (
        seg["open_logit"][s] + lat["open_offset"][who] + CHANNEL_OPEN[channel]
        + HOUR_AMPLITUDE * (np.cos(2 * np.pi * (hour - seg["peak_hour"][s]) / 24.0) - 1.0)
        + np.where(after, subj_after[subj], subj_before[subj]) + subj_eff + season
        - FATIGUE_GAMMA * fatigue - np.where(alive, 0.0, 2.5)
    )
    disc_eff = np.where(after, DISCOUNT_EFFECT_AFTER, DISCOUNT_EFFECT_BEFORE) * seg["discount_sens"][s] * disc
    eta_click = seg["click_logit"][s] + CHANNEL_CLICK[channel] + 0.4 * disc_eff + content_eff
    eta_conv = CONV_LOGIT + disc_eff
    return dict(
        open=_sigmoid(eta_open),
        click=_sigmoid(eta_click),
        conv=np.where(alive, _sigmoid(eta_conv), 0.0),
        unsub=_sigmoid(-6.5 + 0.35 * fatigue),
    )


def _finalise_orders(parts: list[dict]) -> dict:
    who = np.concatenate([p["who"] for p in parts])
    t = np.concatenate([p["t"] for p in parts])
    discount = np.concatenate([p["discount"] for p in parts])
    source = np.concatenate([p["source"] for p in parts])
    order = np.lexsort((who, t))  # chronological; ties by customer
    return dict(who=who[order], t=t[order], discount=discount[order], source=source[order])


def _baskets(rng: np.random.Generator, seg: dict, orders: dict, lat: dict, products: pd.DataFrame,
             pi: np.ndarray, rules: list[dict], chunk: int = 200_000):
    """Independent Bernoulli inclusion per product given the segment, then planted rules; empty draws dropped.

    Two passes keep memory flat: first the basket cells as compact (order, product) pairs, then the
    transaction columns filled in place, chunk by chunk.
    """
    s = lat["segment"][orders["who"]]
    n_o, n_p = len(s), pi.shape[1]
    oi_parts, pj_parts = [], []
    keep = np.zeros(n_o, bool)
    for lo in range(0, n_o, chunk):
        hi = min(lo + chunk, n_o)
        b = rng.random((hi - lo, n_p)) < pi[s[lo:hi]]
        for r in rules:
            boost = b[:, r["a"]] & (rng.random(hi - lo) < r["q"])
            b[:, r["b"]] |= boost
        keep[lo:hi] = b.any(axis=1)
        oi, pj = np.nonzero(b)
        oi_parts.append((oi + lo).astype(np.int32))
        pj_parts.append(pj.astype(np.int16))
    oi = np.concatenate(oi_parts)
    pj = np.concatenate(pj_parts)
    del oi_parts, pj_parts
    attempts = np.bincount(s, minlength=seg["k"]).astype(float)
    orders["kept"] = keep
    new_id = np.cumsum(keep) - 1  # order ids go to the non-empty orders, in chronological order
    price = products["price"].to_numpy()
    n = len(oi)
    cols = {
        "order_id": np.empty(n, np.int64), "customer_id": np.empty(n, np.int64),
        "order_date": np.empty(n, np.int64), "quantity": np.empty(n, np.int64), "unit_price": np.empty(n),
    }
    step = 5_000_000
    for lo in range(0, n, step):
        o, j = oi[lo:lo + step], pj[lo:lo + step]
        cols["order_id"][lo:lo + step] = new_id[o] + 1_000_001
        cols["customer_id"][lo:lo + step] = orders["who"][o] + 100001
        cols["order_date"][lo:lo + step] = np.floor(orders["t"][o] * 86400.0).astype(np.int64) + START_EPOCH_S
        cols["quantity"][lo:lo + step] = 1 + rng.poisson(0.25, len(o))
        cols["unit_price"][lo:lo + step] = np.round(price[j] * (1.0 - orders["discount"][o]), 2)
    tx = pd.DataFrame(
        {
            "order_id": cols["order_id"],
            "customer_id": cols["customer_id"],
            "order_date": cols["order_date"].view("datetime64[s]"),
            "product_id": pd.Categorical.from_codes(pj, categories=products["product_id"].tolist()),
            "quantity": cols["quantity"],
            "unit_price": cols["unit_price"],
        },
        copy=False,
    )
    return tx, attempts


def _order_events(orders: dict, packer: _Packer) -> list[np.ndarray]:
    """The web session that precedes each order: visit, product page, cart, payment form."""
    keep = orders["kept"]
    who, t = orders["who"][keep], orders["t"][keep]
    return [
        packer.pack(who, t - 900 / 86400, "site_visit"),
        packer.pack(who, t - 700 / 86400, "product_page_view"),
        packer.pack(who, t - 400 / 86400, "cart_add"),
        packer.pack(who, t - 120 / 86400, "payment_form_view"),
    ]


def _campaign_tables(camp: dict, orders: dict, tx: pd.DataFrame, seg: dict, packer: _Packer,
                     chunk: int = 4_000_000):
    """Campaign outcomes (with holdouts), experiments, per-recipient email_sends, and the messaging events."""
    rec = camp.pop("rec")
    ids, n_c = camp["ids"], camp["n_campaigns"]
    code, who, hour, flag = rec["code"], rec["who"], rec["hour"], rec["flag"]
    n_codes = len(ids)
    t_send = np.floor(camp["day_of"][code]) + hour / 24.0
    keep = orders["kept"]
    o_who, o_t = orders["who"][keep], orders["t"][keep]
    # order value per order (orders are chronological and order ids sequential)
    value = np.bincount(tx["order_id"].to_numpy() - 1_000_001, weights=(tx["quantity"] * tx["unit_price"]).to_numpy())
    # orders within the attribution window after each send (or holdout) time, per record, by sorted key
    key_o = o_who.astype(np.float64) * 1e4 + o_t
    srt = np.argsort(key_o, kind="stable")
    key_o = key_o[srt]
    cumval = np.concatenate([[0.0], np.cumsum(value[srt])])
    del srt
    control = (flag & F_CONTROL) > 0
    opened, clicked, unsub = (flag & F_OPEN) > 0, (flag & F_CLICK) > 0, (flag & F_UNSUB) > 0
    sent_m = ~control
    conv_any = np.zeros(len(code), bool)
    agg = {k_: np.zeros(n_codes) for k_ in ("sent", "opens", "clicks", "conversions", "lead_conversions", "revenue",
                                            "control_size", "control_conversions", "control_revenue")}
    for lo in range(0, len(code), chunk):
        sl = slice(lo, lo + chunk)
        k0 = who[sl].astype(np.float64) * 1e4 + t_send[sl]
        a_ = np.searchsorted(key_o, k0, side="left")
        b_ = np.searchsorted(key_o, k0 + ATTRIBUTION_DAYS, side="right")
        conv = b_ > a_
        rev = cumval[b_] - cumval[a_]
        conv_any[sl] = conv
        c_, snt, ctl = code[sl], sent_m[sl], control[sl]
        for name, mask, weights in (("sent", snt, None), ("opens", snt & opened[sl], None),
                                    ("clicks", snt & clicked[sl], None), ("conversions", snt & conv, None),
                                    ("lead_conversions", snt & clicked[sl] & conv, None), ("revenue", snt, rev),
                                    ("control_size", ctl, None),
                                    ("control_conversions", ctl & conv, None), ("control_revenue", ctl, rev)):
            agg[name] += np.bincount(c_[mask], weights=None if weights is None else weights[mask],
                                     minlength=n_codes)
    del key_o, cumval
    ct = pd.DataFrame(camp["camp_truth"]).set_index("campaign_id").loc[ids[:n_c]]
    names = np.asarray(seg["names"] + ["all"])
    ints = ("sent", "opens", "clicks", "conversions", "lead_conversions", "control_size", "control_conversions")
    a = {k_: (v_[:n_c].astype(np.int64) if k_ in ints else np.round(v_[:n_c], 2)) for k_, v_ in agg.items()}
    campaigns = pd.DataFrame(
        {
            "campaign_id": ids[:n_c],
            "date": (np.datetime64("2024-01-01") + ct["day"].to_numpy().astype(int).astype("timedelta64[D]")),
            "channel": ct["channel"].to_numpy(),
            "target_segment": names[ct["target"].to_numpy().astype(int)],
            "send_hour": ct["send_hour"].to_numpy().astype(np.int64),
            "subject_variant": ct["subject"].to_numpy(),
            "discount": ct["discount"].to_numpy(),
            "audience_size": a["sent"] + a["control_size"],
            **{k_: a[k_] for k_ in ("sent", "opens", "clicks", "conversions", "lead_conversions", "revenue",
                                   "control_size", "control_conversions", "control_revenue")},
        }
    )
    # the cost is what the campaign paid out: a fixed cost and each message. Its discounts are not in it: the
    # discounted orders' revenue is already net of them (unit price = list price x (1 - discount)), so adding
    # them here would count them twice, and on every recipient's order, full-price ones included
    channel_cost = campaigns["channel"].map(CHANNEL_COST).to_numpy()
    campaigns["cost"] = np.round(FIXED_CAMPAIGN_COST + campaigns["sent"].to_numpy() * channel_cost, 2)

    xt = camp["x_truth"]
    experiments = pd.DataFrame(
        {
            "campaign_id": [x["campaign_id"] for x in xt],
            "date": [np.datetime64("2024-01-01") + np.timedelta64(int(x["day"]), "D") for x in xt],
            "kind": [x["kind"] for x in xt],
            "variants": ["|".join(x["variants"]) for x in xt],
            "target_segment": [names[x["target"]] for x in xt],
            "description": [
                {"subject": "subject line test: variants differ only in the subject line",
                 "content": "content test: variants differ only in the email body and call to action",
                 "send_time": "send-time test: the same email sent at the hour named by each variant"}[x["kind"]]
                for x in xt
            ],
        }
    ).sort_values(["date", "campaign_id"], kind="stable").reset_index(drop=True)

    # per-recipient rows of the experiments, by experiment then customer
    xm = np.flatnonzero((code >= n_c) & sent_m)
    xm = xm[np.lexsort((who[xm], code[xm]))]
    variant_names = [np.asarray(camp["experiments"][c - n_c]["variants"]) for c in range(n_c, n_codes)]
    variant = np.empty(len(xm), dtype=object)
    for j, vn in enumerate(variant_names):
        m = code[xm] == n_c + j
        variant[m] = vn[rec["variant"][xm][m]]
    email_sends = pd.DataFrame(
        {
            "customer_id": (who[xm] + 100001).astype(np.int64),
            "campaign_id": pd.Categorical.from_codes(code[xm] - n_c, categories=ids[n_c:]),
            "variant": variant,
            "sent_at": _to_ts(t_send[xm]),
            "send_hour": hour[xm].astype(np.int64),
            "opened": opened[xm],
            "clicked": clicked[xm],
            "converted": conv_any[xm],
        }
    )

    # messaging events: sent, opened, clicked, unsubscribed
    is_email = camp["channel_of"][code] == "email"

    def t_open(mask: np.ndarray) -> np.ndarray:
        return t_send[mask] + rec["off_open"][mask]

    keys = []
    for typ_sent, typ_open, typ_click, ch in (("email_sent", "email_open", "email_click", is_email),
                                               ("push_sent", "push_open", "push_click", ~is_email)):
        m = sent_m & ch
        keys.append(packer.pack(who[m], t_send[m], typ_sent, code[m]))
        m = sent_m & ch & opened
        keys.append(packer.pack(who[m], t_open(m), typ_open, code[m]))
        m = sent_m & ch & clicked
        keys.append(packer.pack(who[m], t_open(m) + rec["off_click"][m], typ_click, code[m]))
    m = sent_m & unsub
    keys.append(packer.pack(who[m], t_open(m), "unsubscribe", code[m]))
    return campaigns, experiments, email_sends, keys



def _assemble_events(keys: list[np.ndarray], packer: _Packer, ids: list[str], chunk: int = 8_000_000
                     ) -> pd.DataFrame:
    """Sort the packed events (customer, time, type, campaign) and decode them into the events table.

    Parts are moved into one preallocated array (each freed once copied) and decoded chunk by chunk into the
    final columns, so the peak is the packed keys plus the finished table.
    """
    n = sum(len(k_) for k_ in keys)
    key = np.empty(n, np.int64)
    at = 0
    while keys:
        part = keys.pop(0)
        key[at:at + len(part)] = part
        at += len(part)
        del part
    key.sort()
    customer_id = np.empty(n, np.int64)
    seconds = np.empty(n, np.int64)
    typ = np.empty(n, np.int8)
    cid = np.empty(n, np.int16)
    for lo in range(0, n, chunk):
        w_, s_, t_, c_ = packer.unpack(key[lo:lo + chunk])
        customer_id[lo:lo + chunk] = w_ + 100001
        seconds[lo:lo + chunk] = s_
        typ[lo:lo + chunk] = t_
        cid[lo:lo + chunk] = c_
    del key
    seconds += START_EPOCH_S
    return pd.DataFrame(
        {
            "customer_id": customer_id,
            "timestamp": seconds.view("datetime64[s]"),
            "event_type": pd.Categorical.from_codes(typ, categories=list(EVENT_TYPES)),
            "campaign_id": pd.Categorical.from_codes(cid, categories=ids),
        },
        copy=False,
    )


def _leads(rng: np.random.Generator, rng_e: np.random.Generator, n: int):
    """Prospects: a 30-day activity window from creation, then conversion from the planted logistic model."""
    created = np.floor(rng.random(n) * LEAD_DAYS)
    after = created >= DRIFT_DAY
    # input drift: after the drift date more leads come from social and intent runs higher
    src_p = np.where(after[:, None], _norm([0.2, 0.2, 0.35, 0.1, 0.1, 0.05]), _norm([0.3, 0.25, 0.15, 0.12, 0.1, 0.08]))
    source = np.asarray(LEAD_SOURCES)[_choice_rows(rng, src_p)]
    z = rng.normal(np.where(after, 0.25, 0.0), 1.0)
    age = np.clip(np.rint(rng.normal(40, 12, n)), 18, 80).astype(int)
    gender = np.asarray(GENDERS)[rng.choice(3, size=n, p=[0.5, 0.48, 0.02])]
    region = np.asarray(REGIONS)[rng.choice(len(REGIONS), size=n, p=REGION_P)]
    income = np.asarray(INCOME_BANDS)[rng.choice(3, size=n, p=[0.35, 0.45, 0.2])]
    f = {
        "site_visits": 1 + rng.poisson(np.exp(1.0 + 0.45 * z)),
        "product_page_views": rng.poisson(np.exp(0.5 + 0.6 * z)),
        "catalog_clicks": rng.poisson(np.exp(-0.7 + 0.5 * z)),
        "guide_downloads": (rng.random(n) < _sigmoid(-1.6 + 0.8 * z)).astype(int),
        "payment_form_views": rng.poisson(np.exp(-1.8 + 0.8 * z)),
        "email_opens": rng.poisson(np.exp(1.0 + 0.3 * z + np.where(after, 0.4, 0.0))),
        "social_engagements": rng.poisson(np.exp(0.2 + 0.2 * z + np.where(source == "social", 0.8, 0.0))),
    }
    f["email_clicks"] = rng.binomial(f["email_opens"], _sigmoid(-1.4 + 0.4 * z))
    unsub = (rng.random(n) < 0.06).astype(int)
    kinds = ["site_visits", "product_page_views", "catalog_clicks", "guide_downloads", "payment_form_views",
             "email_opens", "email_clicks", "social_engagements"]
    ev_name = {"site_visits": "site_visit", "product_page_views": "product_page_view",
               "catalog_clicks": "catalog_click", "guide_downloads": "guide_download",
               "payment_form_views": "payment_form_view", "email_opens": "email_open", "email_clicks": "email_click",
               "social_engagements": "social_engagement"}
    # activity fades over the window for low-intent leads: times drawn as created + 30 * U^(1 + exp(-z))
    who_l, t_l, typ_l = [], [], []
    for kname in kinds:
        cnt = f[kname]
        w = np.repeat(np.arange(n), cnt)
        shape = 1.0 + np.exp(-z[w])
        t = created[w] + 30.0 * rng_e.random(len(w)) ** shape
        who_l.append(w)
        t_l.append(t)
        typ_l.append(np.full(len(w), LEAD_EVENT_TYPES.index(ev_name[kname]), np.int8))
    uw = np.flatnonzero(unsub)
    who_l.append(uw)
    t_l.append(created[uw] + 30.0 * rng_e.random(len(uw)))
    typ_l.append(np.full(len(uw), LEAD_EVENT_TYPES.index("unsubscribe"), np.int8))
    who_a, t_a, typ_a = np.concatenate(who_l), np.concatenate(t_l), np.concatenate(typ_l)
    t_a = np.floor(t_a * 86400.0) / 86400.0  # the second-resolution times that are written
    last = np.full(n, -np.inf)
    np.maximum.at(last, who_a, t_a)
    days_since = np.floor(created + 30.0 - np.where(np.isfinite(last), last, created)).astype(int)
    x = {
        "site_visits": np.log1p(f["site_visits"]),
        "product_page_views": (f["product_page_views"] >= 3).astype(float),
        "catalog_clicks": np.log1p(f["catalog_clicks"]),
        "guide_downloads": f["guide_downloads"].astype(float),
        "payment_form_views": np.log1p(f["payment_form_views"]),
        "email_opens": np.log1p(f["email_opens"]),
        "email_clicks": np.log1p(f["email_clicks"]),
        "social_engagements": np.log1p(f["social_engagements"]),
        "days_since_last_activity": days_since.astype(float),
        "unsubscribed": unsub.astype(float),
        "age": (age - 40) / 10.0,
        "is_female": (gender == "F").astype(float),
        "income_high": (income == "high").astype(float),
        "source_referral": (source == "referral").astype(float),
        "region_north": (region == "North").astype(float),
    }
    eta = np.zeros(n)
    for name, coefs in (("before", LEAD_COEF_BEFORE), ("after", LEAD_COEF_AFTER)):
        m = after if name == "after" else ~after
        e = np.full(n, coefs["intercept"])
        for feat in LEAD_FEATURES:
            e = e + coefs[feat] * x[feat]
        eta[m] = e[m]
    p = _sigmoid(eta)
    converted = rng.random(n) < p
    conv_day = created + 30.0 + np.floor(rng.random(n) * (LEAD_WINDOW_DAYS - 30))
    lead_id = np.array([f"L{i + 1:06d}" for i in range(n)], dtype=object)
    leads = pd.DataFrame(
        {
            "lead_id": lead_id,
            "created_date": np.datetime64("2024-01-01") + created.astype(int).astype("timedelta64[D]"),
            "age": age,
            "gender": gender,
            "region": region,
            "income_band": income,
            "source": source,
            **{k: f[k].astype(np.int64) for k in kinds},
            "unsubscribed": unsub.astype(bool),
            "days_since_last_activity": days_since.astype(np.int64),
            "converted": converted,
            "converted_date": pd.Series(
                np.where(converted, np.datetime64("2024-01-01") + conv_day.astype(int).astype("timedelta64[D]"),
                         np.datetime64("NaT")), dtype="datetime64[s]"
            ),
        }
    )
    ts = _to_ts(t_a)
    order = np.lexsort((typ_a, ts, who_a))
    lead_events = pd.DataFrame({"lead_id": lead_id[who_a[order]], "timestamp": ts[order],
                                "event_type": pd.Categorical.from_codes(typ_a[order], list(LEAD_EVENT_TYPES))})
    latent = dict(lead_id=lead_id.tolist(), p_convert=np.round(p, 6).tolist(), intent=np.round(z, 4).tolist(),
                  after_drift=after.tolist())
    return leads, lead_events, latent


# ----------------------------------------------------------------------------------------------------------------
# Truth
# ----------------------------------------------------------------------------------------------------------------
def _rule_stats(pi: np.ndarray, rules: list[dict], attempts: np.ndarray) -> list[dict]:
    """Closed-form support, confidence and lift of each planted rule among non-empty orders.

    Inclusion is independent Bernoulli(pi[s, j]) given segment s, A => B adds B with probability q when A is in
    the basket, and empty draws are dropped. With order-attempt weights w_s: P(X | non-empty) =
    sum_s w_s P_s(X) / sum_s w_s P_s(non-empty), for X = {A}, {B}, {A, B}.
    """
    w = attempts / attempts.sum()
    # base inclusion probabilities after all rules (rules are on disjoint products, so they do not interact)
    incl = pi.copy()
    for r in rules:
        a, b, q = r["a"], r["b"], r["q"]
        incl[:, b] = pi[:, b] + pi[:, a] * q * (1 - pi[:, b])
    p_nonempty = 1.0 - np.prod(1.0 - pi, axis=1)
    z = float(w @ p_nonempty)
    out = []
    for r in rules:
        a, b, q = r["a"], r["b"], r["q"]
        pa = float(w @ pi[:, a]) / z
        pb = float(w @ incl[:, b]) / z
        pab = float(w @ (pi[:, a] * (pi[:, b] + (1 - pi[:, b]) * q))) / z
        out.append(dict(support=pab, confidence=pab / pa, lift=pab / (pa * pb), support_a=pa, support_b=pb))
    return out


def _truth(seed, n_customers, seg, lat, cust, products, pi, rules, attempts, camp, lead_latent) -> Truth:
    k = seg["k"]
    pid = products["product_id"].to_numpy()
    stats = _rule_stats(pi, rules, attempts)
    churn_day = lat["churn_day"]
    churn_date = np.where(np.isfinite(churn_day), np.datetime_as_string(
        _to_ts(np.where(np.isfinite(churn_day), churn_day, 0.0)), unit="D"), None)
    names = seg["names"]
    hours = np.arange(24)
    curves = {
        names[i]: np.round(_sigmoid(seg["open_logit"][i] + HOUR_AMPLITUDE * (np.cos(2 * np.pi * (hours - seg["peak_hour"][i]) / 24) - 1)), 6).tolist()
        for i in range(k)
    }
    e: dict[str, dict[str, Any]] = {}

    def put(key: str, description: str, value: Any) -> None:
        e[key] = {"description": description, "value": _round(value)}

    put("schema_version", "Version of this file's layout.", 1)
    put("seed", "Seed the whole world was generated from.", int(seed))
    put("n_customers", "Number of customers in customers.csv.", int(n_customers))
    put("timeline", "First day, last day (inclusive) and drift date of the world; the last day a lead is created "
        "and the days after its creation when its outcome is known (its conversion window closes).",
        {"start": "2024-01-01", "end": "2025-12-31", "drift_date": "2025-07-01", "leads_end": "2026-03-31",
         "lead_outcome_days": LEAD_WINDOW_DAYS})
    put("n_segments", "Number of planted latent segments.", k)
    put("segments",
        "Per segment: name, share of customers, the behaviour feature that defines it and its direction, and the "
        "segment centre (mean age, web sessions and orders per active month, expected items per basket, category "
        "preference, open and click logits, monthly churn hazard, peak activity hour, loyalty and mobile shares, "
        "discount sensitivity).",
        [dict(index=i, name=names[i], share=float(seg["share"][i]),
              defining_feature=seg["defining"][i][0], defining_direction=seg["defining"][i][1],
              age_mean=float(seg["age_mu"][i]), web_sessions_per_month=float(seg["web_rate"][i]),
              orders_per_month=float(seg["order_rate"][i]), basket_items=float(seg["basket"][i]),
              category_preference=dict(zip(CATEGORIES, seg["cats"][i].tolist(), strict=True)),
              income_band_p=dict(zip(INCOME_BANDS, seg["income"][i].tolist(), strict=True)),
              open_logit=float(seg["open_logit"][i]), click_logit=float(seg["click_logit"][i]),
              churn_hazard_per_month=float(seg["hazard"][i]), peak_hour=int(seg["peak_hour"][i]),
              loyalty_share=float(seg["loyalty"][i]), mobile_share=float(seg["mobile"][i]),
              discount_sensitivity=float(seg["discount_sens"][i]))
         for i in range(k)])
    put("customer_latent",
        "Per customer (same order as customers.csv): segment index and name, churn date (null if still active at "
        "the end), monthly churn hazard before the drift, and the customer's own web-session and order rates per "
        "active month.",
        dict(customer_id=cust["customer_id"].tolist(), segment=lat["segment"].tolist(),
             segment_name=[names[i] for i in lat["segment"]], churn_date=churn_date.tolist(),
             churn_hazard_per_month=np.round(lat["hazard"], 6).tolist(),
             web_sessions_per_month=np.round(lat["web_rate"], 6).tolist(),
             orders_per_month=np.round(lat["order_rate"], 6).tolist()))
    put("churn_model",
        "Churn: time to churn from max(signup, 2024-01-01) has monthly hazard h_segment * exp(-0.5 * loyalty_member "
        "+ 0.1 * (age - 40) / 10); from the drift date the hazard of `drift_segment` is multiplied by "
        "`drift_multiplier`. A churned customer places no orders, starts no sessions and rarely opens messages.",
        dict(loyalty_coef=-0.5, age_per_decade_coef=0.1, drift_segment=names[seg["drift_segment"]],
             drift_multiplier=CHURN_DRIFT_MULT))
    put("basket_model",
        "Per order, each product is in the basket independently with probability pi[segment][product]; then each "
        "planted rule adds its consequent with probability q when its antecedent is present; empty draws are not "
        "orders. Quantity is 1 + Poisson(0.25); unit price is list price times (1 - discount).",
        dict(products=pid.tolist(), pi={names[i]: np.round(pi[i], 6).tolist() for i in range(k)},
             order_attempts_per_segment={names[i]: int(attempts[i]) for i in range(k)}))
    put("association_rules",
        "Planted rules A => B (single products): boost probability q, and the closed-form support, confidence and "
        "lift among all orders of this world (see basket_model).",
        [dict(antecedent=pid[r["a"]], consequent=pid[r["b"]], q=r["q"], **st) for r, st in zip(rules, stats, strict=True)])
    put("association_min_lift", "The smallest planted lift: every planted rule has at least this lift.",
        min((s_["lift"] for s_ in stats), default=None))
    put("lead_model",
        "Lead conversion: logit P(converted) = intercept + sum(coef * transform(feature)). Coefficients change for "
        "leads created on or after the drift date. Features with coefficient 0 truly do not matter.",
        dict(features=list(LEAD_FEATURES), transforms=LEAD_TRANSFORMS, coef_before=LEAD_COEF_BEFORE,
             coef_after=LEAD_COEF_AFTER,
             relevant_before=[f_ for f_ in LEAD_FEATURES if LEAD_COEF_BEFORE[f_] != 0],
             irrelevant_before=[f_ for f_ in LEAD_FEATURES if LEAD_COEF_BEFORE[f_] == 0]))
    put("lead_trigger",
        "The real-time trigger planted in the lead model: 3 or more product-page views multiply the odds of "
        "conversion by this factor, all else equal.",
        dict(feature="product_page_views", threshold=3, odds_ratio=float(np.exp(LEAD_COEF_BEFORE["product_page_views"]))))
    put("lead_latent", "Per lead: planted conversion probability, latent intent and whether it was created after "
        "the drift date.", lead_latent)
    put("response_model",
        "Per-recipient campaign response. open: sigmoid(open_logit[segment] + customer offset (sd 0.4) + "
        "channel_open + hour_amplitude * (cos(2 pi (hour - peak_hour[segment]) / 24) - 1) + subject effect + "
        "season (+0.2 December, -0.15 August) - fatigue_gamma * fatigue - 2.5 if churned). Fatigue: each message "
        "adds 1, decaying with time constant fatigue_tau_days. click given open: sigmoid(click_logit[segment] + "
        "channel_click + 0.4 * d + content effect); order given click: sigmoid(conv_logit + d), with d = "
        "discount_effect * discount_sensitivity[segment] * discount; 0 if churned. Unsubscribe (email): "
        "sigmoid(-6.5 + 0.35 * fatigue). Conversions are customers with an order within attribution_days.",
        dict(channel_open=CHANNEL_OPEN, channel_click=CHANNEL_CLICK, channel_cost_per_send=CHANNEL_COST,
             fixed_cost_per_campaign=FIXED_CAMPAIGN_COST, hour_amplitude=HOUR_AMPLITUDE, fatigue_gamma=FATIGUE_GAMMA,
             fatigue_tau_days=FATIGUE_TAU, conv_logit=CONV_LOGIT, subject_effect_before=SUBJECT_EFFECT_BEFORE,
             subject_effect_after=SUBJECT_EFFECT_AFTER, discount_effect_before=DISCOUNT_EFFECT_BEFORE,
             discount_effect_after=DISCOUNT_EFFECT_AFTER, attribution_days=ATTRIBUTION_DAYS,
             holdout_share=HOLDOUT_SHARE))
    put("open_rate_by_hour",
        "Planted open probability by send hour (0-23) per segment for a fresh email customer with no fatigue, "
        "plain subject, no season; its argmax is the segment's best send hour.", curves)
    put("best_send_hour", "Best send hour per segment (the peak of its open curve).",
        {names[i]: int(seg["peak_hour"][i]) for i in range(k)})
    put("campaign_expected",
        "Per campaign: expected open rate, click rate (clicks / sent) and click-driven conversion rate of the "
        "recipients actually sent to, under the planted model (the noise floor of KPI forecasts).",
        [dict(campaign_id=c["campaign_id"], exp_open_rate=c["exp_open_rate"], exp_click_rate=c["exp_click_rate"],
              exp_click_conv_rate=c["exp_click_conv_rate"]) for c in camp["camp_truth"]])
    put("experiments",
        "Per experiment: kind, variants, the planted logit effect of each variant per segment (rows: variants, "
        "columns: segments), the hour of each variant, and the expected open and click rates per variant and "
        "segment for the recipients actually sent to.",
        [dict(campaign_id=x["campaign_id"], kind=x["kind"], variants=x["variants"], hours=x["hours"],
              effect=x["effect"], rates=[dict(r, segment=names[r["segment"]]) for r in x["rates"]])
         for x in camp["x_truth"]])
    put("cart_recovery",
        "Abandoned carts: probability of an organic purchase within about two days, and the planted extra "
        "recovery probability of a reminder and of a reminder with discount (for the workflow simulator).",
        dict(organic=CART_RECOVERY_ORGANIC, **CART_REMINDER_UPLIFT))
    put("drift",
        "What changes on the drift date: lead coefficients (lead_model coef_after: a free trial makes the buyer's "
        "guide and the payment form steps of every sign-up, so they stop marking buyers, browsing adds nothing, "
        "and email clicks and social engagement carry the intent), lead mix (more social leads, "
        "higher intent, more email opens), churn hazard of one segment (churn_model), the urgency subject line "
        "effect (response_model subject_effect_after) and the discount effect (discount_effect_after).",
        dict(date="2025-07-01",
             lead_coefficients_changed=[f_ for f_ in ["intercept", *LEAD_FEATURES]
                                        if LEAD_COEF_BEFORE[f_] != LEAD_COEF_AFTER[f_]],
             lead_source_share_before=dict(zip(LEAD_SOURCES, _norm([0.3, 0.25, 0.15, 0.12, 0.1, 0.08]).tolist(), strict=True)),
             lead_source_share_after=dict(zip(LEAD_SOURCES, _norm([0.2, 0.2, 0.35, 0.1, 0.1, 0.05]).tolist(), strict=True)),
             lead_intent_shift=0.25, churn_segment=names[seg["drift_segment"]], churn_multiplier=CHURN_DRIFT_MULT))
    return Truth(e)


# ----------------------------------------------------------------------------------------------------------------
# Writing, reading the manifest, the command line
# ----------------------------------------------------------------------------------------------------------------
def _datetime_format(s: pd.Series, chunk: int = 5_000_000) -> str:
    """``%Y-%m-%d`` when every value of a datetime column is at midnight, else with the time of day."""
    arr = s.to_numpy().astype("datetime64[s]").view(np.int64)
    nat = np.iinfo(np.int64).min
    for lo in range(0, len(arr), chunk):
        part = arr[lo:lo + chunk]
        if ((part % 86400 != 0) & (part != nat)).any():
            return "%Y-%m-%d %H:%M:%S"
    return "%Y-%m-%d"


def _format_datetimes(values: np.ndarray, fmt: str) -> np.ndarray:
    """Vectorised strftime for the two formats the world uses; NaT becomes an empty field."""
    unit = "D" if fmt == "%Y-%m-%d" else "s"
    arr = values.astype(f"datetime64[{unit}]")
    text = np.datetime_as_string(arr, unit=unit)
    if unit == "s":
        text.view("<U1").reshape(len(text), -1)[:, 10] = " "  # ISO 'T' -> ' ', in place
    text = text.astype(object)
    text[np.isnat(arr)] = None
    return text


def _write_csv(df: pd.DataFrame, path: Path, chunk: int = 1_000_000) -> str:
    """Stream ``df`` to ``path`` as deterministic CSV and return its sha256.

    Dates as YYYY-MM-DD (with HH:MM:SS when a column has times), booleans as 0/1, decimals with two places,
    empty fields for missing values, ``\\n`` line ends. Written in chunks, so memory stays flat on large tables.
    """
    formats = {c: _datetime_format(df[c]) for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])}
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for lo in range(0, max(len(df), 1), chunk):
            part = df.iloc[lo:lo + chunk].copy()
            for col in part.columns:
                if col in formats:
                    part[col] = _format_datetimes(part[col].to_numpy(), formats[col])
                elif pd.api.types.is_bool_dtype(part[col]):
                    part[col] = part[col].astype(np.int8)
            data = part.to_csv(index=False, header=lo == 0, lineterminator="\n", float_format="%.2f",
                               na_rep="").encode("utf-8")
            h.update(data)
            f.write(data)
    return h.hexdigest()


def write_world(world: World, out: str | Path, *, manifest: bool = True) -> dict[str, str]:
    """Write one CSV per table and ``truth.json`` into ``out``; return ``{file name: sha256}``.

    With ``manifest=True`` the digests are also written to ``out/MANIFEST.sha256``. Files are byte-for-byte
    deterministic (see :func:`_write_csv`).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name in TABLES:
        digests[f"{name}.csv"] = _write_csv(world.tables[name], out / f"{name}.csv")
    if world.truth is not None:
        data = world.truth.to_json().encode("utf-8")
        (out / "truth.json").write_bytes(data)
        digests["truth.json"] = hashlib.sha256(data).hexdigest()
    if manifest:
        (out / "MANIFEST.sha256").write_text("".join(f"{d}  {n}\n" for n, d in digests.items()))
    return digests


def read_manifest(path: str | Path) -> dict[str, str]:
    """Parse a ``MANIFEST.sha256`` file into ``{file name: sha256}``."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.strip()] = digest
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.synth --seed 42 --customers 20000 --out data``"""
    ap = argparse.ArgumentParser(prog="python -m helpers.synth", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--segments", type=int, default=5)
    ap.add_argument("--products", type=int, default=40)
    ap.add_argument("--campaigns", type=int, default=240)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--check", type=Path, default=None,
                    help="compare the written files with this manifest and exit 1 when they differ")
    a = ap.parse_args(argv)
    expected = read_manifest(a.check) if a.check is not None else None
    w = generate_world(seed=a.seed, n_customers=a.customers, n_segments=a.segments, n_products=a.products,
                       n_campaigns=a.campaigns)
    got = write_world(w, a.out, manifest=expected is None)
    print(f"wrote {len(TABLES)} tables and truth.json to {a.out}")
    if expected is not None:
        bad = sorted(k for k in set(expected) | set(got) if expected.get(k) != got.get(k))
        if bad:
            print(f"error: the generated {', '.join(bad)} differ from {a.check}. If the generator changed on "
                  f"purpose, regenerate the manifest: python -m helpers.synth --out {a.out} (no --check) and "
                  "commit it with the change.", file=sys.stderr)
            return 1
        print(f"identical to {a.check}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
