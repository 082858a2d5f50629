"""The world's fixed design: its timeline, vocabularies, segment archetypes, lead model and planted constants.

Everything a learner may want to look up about how the world was built and that is the same for every seed.
What varies with the seed (segment centres, products, rules, campaigns) is drawn by the other modules and
written to ``truth.json``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..planted import ChurnModel, ResponseModel
from ..timeline import DAYS_PER_MONTH

# ----------------------------------------------------------------------------------------------------------------
# The timeline
# ----------------------------------------------------------------------------------------------------------------
START_DATE = "2024-01-01"
"""The first day of the world (day 0 of every float-day time inside the generator)."""
START = np.datetime64(f"{START_DATE}T00:00:00", "s")
START_DAY = np.datetime64(START_DATE, "D")
END = np.datetime64("2026-01-01T00:00:00", "s")  # exclusive
DRIFT = np.datetime64("2025-07-01T00:00:00", "s")
START_EPOCH_S = int((START - np.datetime64("1970-01-01T00:00:00", "s")).astype(np.int64))  # START in Unix seconds
DAYS = float((END - START) / np.timedelta64(1, "D"))
DRIFT_DAY = float((DRIFT - START) / np.timedelta64(1, "D"))
MONTH = DAYS_PER_MONTH
EARLIEST_SIGNUP = np.datetime64("2019-01-01")  # 70 % of customers signed up before START, from this day
LATEST_SIGNUP = np.datetime64("2025-10-01")  # exclusive: the others sign up from START until this day
LEADS_END = np.datetime64("2026-04-01T00:00:00", "s")  # exclusive: leads are created until 2026-03-31
"""Leads keep coming after the customers' tables end, so that a lead model's recovery after the drift can be
measured although a lead's outcome is known only 90 days after it was created (the leads are a CRM export taken
on 2026-06-30, when the last lead's conversion window has closed)."""
LEAD_DAYS = float((LEADS_END - START) / np.timedelta64(1, "D"))
LEAD_WINDOW_DAYS = 90  # a lead's outcome: converted within 30 + 60 days of its creation, known when those end

# ----------------------------------------------------------------------------------------------------------------
# Identifiers
# ----------------------------------------------------------------------------------------------------------------
CUSTOMER_ID_BASE = 100_001  # customer_id of the first customer (customer index 0)
ORDER_ID_BASE = 1_000_001  # order_id of the first non-empty order, in date order

# ----------------------------------------------------------------------------------------------------------------
# Vocabularies
# ----------------------------------------------------------------------------------------------------------------
CATEGORIES = ("electronics", "home", "fashion", "beauty", "sports", "books")
REGIONS = ("North", "South", "East", "West", "Central")
REGION_P = (0.22, 0.24, 0.18, 0.20, 0.16)
CHANNELS = ("organic_search", "paid_search", "social", "referral", "email", "store")
INCOME_BANDS = ("low", "mid", "high")
GENDERS = ("F", "M", "X")
LEAD_EVENT_TYPES = (
    "site_visit",
    "product_page_view",
    "catalog_click",
    "guide_download",
    "payment_form_view",
    "email_open",
    "email_click",
    "social_engagement",
    "unsubscribe",
)
LEAD_SOURCES = ("organic_search", "paid_search", "social", "referral", "webinar", "trade_show")

# Archetypes of customer segments. A world with k segments uses the first k. ``defining`` names the behaviour
# feature (as built by the course's segmentation step) that sets the segment apart, and its direction.
ARCHETYPES: tuple[dict[str, Any], ...] = (
    dict(
        name="loyal_regulars",
        defining=("frequency", "high"),
        age=(48, 5),
        income=(0.1, 0.45, 0.45),
        channel=(0.2, 0.05, 0.05, 0.3, 0.1, 0.3),
        web_rate=1.2,
        order_rate=1.6,
        basket=2.6,
        cats=(1, 1, 1, 1, 1, 1),
        price_tilt=0.0,
        open_logit=-0.6,
        click_logit=-1.4,
        hazard=0.004,
        peak_hour=19,
        loyalty=0.75,
        mobile=0.5,
        discount_sens=0.3,
        promo_share=0.10,
    ),
    dict(
        name="bargain_hunters",
        defining=("email_click_rate", "high"),
        age=(38, 4),
        income=(0.7, 0.28, 0.02),
        channel=(0.1, 0.55, 0.1, 0.05, 0.15, 0.05),
        web_rate=0.8,
        order_rate=0.5,
        basket=1.6,
        cats=(0.4, 1.5, 2, 1.5, 0.8, 0.6),
        price_tilt=-1.2,
        open_logit=-0.4,
        click_logit=0.2,
        hazard=0.012,
        peak_hour=12,
        loyalty=0.2,
        mobile=0.7,
        discount_sens=1.0,
        promo_share=0.45,
    ),
    dict(
        name="window_shoppers",
        defining=("web_sessions", "high"),
        age=(26, 3),
        income=(0.45, 0.45, 0.1),
        channel=(0.15, 0.1, 0.65, 0.05, 0.0, 0.05),
        web_rate=6.0,
        order_rate=0.12,
        basket=1.3,
        cats=(1.5, 0.6, 2.0, 1.2, 0.8, 0.4),
        price_tilt=0.0,
        open_logit=-2.0,
        click_logit=-1.9,
        hazard=0.015,
        peak_hour=21,
        loyalty=0.1,
        mobile=0.85,
        discount_sens=0.4,
        promo_share=0.15,
    ),
    dict(
        name="tech_enthusiasts",
        defining=("share_electronics", "high"),
        age=(32, 4),
        income=(0.05, 0.35, 0.6),
        channel=(0.6, 0.2, 0.05, 0.1, 0.0, 0.05),
        web_rate=1.8,
        order_rate=0.4,
        basket=1.4,
        cats=(10, 0.3, 0.3, 0.2, 0.6, 0.3),
        price_tilt=0.8,
        open_logit=-1.1,
        click_logit=-1.0,
        hazard=0.008,
        peak_hour=16,
        loyalty=0.3,
        mobile=0.6,
        discount_sens=0.4,
        promo_share=0.1,
    ),
    dict(
        name="lapsing_occasionals",
        defining=("recency_days", "high"),
        age=(62, 5),
        income=(0.35, 0.5, 0.15),
        channel=(0.1, 0.05, 0.0, 0.15, 0.2, 0.5),
        web_rate=0.2,
        order_rate=0.25,
        basket=1.5,
        cats=(0.5, 1.5, 0.7, 0.7, 0.6, 2.5),
        price_tilt=-0.3,
        open_logit=-2.3,
        click_logit=-2.0,
        hazard=0.06,
        peak_hour=9,
        loyalty=0.15,
        mobile=0.3,
        discount_sens=0.3,
        promo_share=0.1,
    ),
    dict(
        name="home_nesters",
        defining=("share_home", "high"),
        age=(44, 5),
        income=(0.2, 0.55, 0.25),
        channel=(0.3, 0.2, 0.15, 0.15, 0.1, 0.1),
        web_rate=1.5,
        order_rate=0.55,
        basket=2.0,
        cats=(0.3, 10, 0.4, 0.5, 0.3, 0.5),
        price_tilt=0.2,
        open_logit=-0.9,
        click_logit=-1.2,
        hazard=0.01,
        peak_hour=7,
        loyalty=0.35,
        mobile=0.5,
        discount_sens=0.5,
        promo_share=0.2,
    ),
    dict(
        name="young_trendsetters",
        defining=("age", "low"),
        age=(21, 2),
        income=(0.6, 0.35, 0.05),
        channel=(0.1, 0.1, 0.65, 0.1, 0.0, 0.05),
        web_rate=2.5,
        order_rate=0.4,
        basket=1.5,
        cats=(0.6, 0.2, 3, 3, 0.8, 0.2),
        price_tilt=-0.5,
        open_logit=-1.5,
        click_logit=-1.2,
        hazard=0.015,
        peak_hour=23,
        loyalty=0.15,
        mobile=0.95,
        discount_sens=0.6,
        promo_share=0.25,
    ),
    dict(
        name="email_devotees",
        defining=("email_open_rate", "high"),
        age=(70, 4),
        income=(0.3, 0.5, 0.2),
        channel=(0.1, 0.05, 0.0, 0.2, 0.5, 0.15),
        web_rate=0.4,
        order_rate=0.4,
        basket=1.6,
        cats=(0.3, 1.2, 0.5, 0.8, 0.4, 3),
        price_tilt=0.0,
        open_logit=1.4,
        click_logit=-1.3,
        hazard=0.008,
        peak_hour=8,
        loyalty=0.4,
        mobile=0.2,
        discount_sens=0.4,
        promo_share=0.15,
    ),
)

# The lead-conversion model. Features are transformed as named in LEAD_TRANSFORMS before the coefficients apply.
LEAD_FEATURES = (
    "site_visits",
    "product_page_views",
    "catalog_clicks",
    "guide_downloads",
    "payment_form_views",
    "email_opens",
    "email_clicks",
    "social_engagements",
    "days_since_last_activity",
    "unsubscribed",
    "age",
    "is_female",
    "income_high",
    "source_referral",
    "region_north",
)
LEAD_TRANSFORMS = {
    "site_visits": "log1p",
    "product_page_views": "indicator >= 3",
    "catalog_clicks": "log1p",
    "guide_downloads": "identity (0/1)",
    "payment_form_views": "log1p",
    "email_opens": "log1p",
    "email_clicks": "log1p",
    "social_engagements": "log1p",
    "days_since_last_activity": "identity (days)",
    "unsubscribed": "identity (0/1)",
    "age": "(age - 40) / 10",
    "is_female": "gender == 'F'",
    "income_high": "income_band == 'high'",
    "source_referral": "source == 'referral'",
    "region_north": "region == 'North'",
}
LEAD_COEF_BEFORE = {
    "intercept": -2.6,
    "site_visits": 0.35,
    "product_page_views": float(np.log(2.0)),
    "catalog_clicks": 0.5,
    "guide_downloads": 0.9,
    "payment_form_views": 1.1,
    "email_opens": 0.0,
    "email_clicks": 0.6,
    "social_engagements": 0.0,
    "days_since_last_activity": -0.05,
    "unsubscribed": -1.6,
    "age": 0.0,
    "is_female": 0.0,
    "income_high": 0.4,
    "source_referral": 0.0,
    "region_north": 0.0,
}
# On the drift date a free trial opens: the buyer's guide and the payment form become steps of every trial
# sign-up, so they stop marking buyers (trial-seekers who stop there rarely buy), web browsing no longer adds
# anything, and engagement with the nurture emails and social content carries the intent instead.
LEAD_COEF_AFTER = dict(
    LEAD_COEF_BEFORE,
    intercept=-1.8,
    site_visits=0.0,
    product_page_views=0.0,
    catalog_clicks=0.0,
    guide_downloads=-1.0,
    payment_form_views=-0.9,
    email_clicks=1.4,
    social_engagements=1.0,
)

# ----------------------------------------------------------------------------------------------------------------
# The planted response and churn models (helpers.planted) and the other planted constants
# ----------------------------------------------------------------------------------------------------------------
RESPONSE = ResponseModel()
CHURN = ChurnModel()
SUBJECTS = RESPONSE.subjects
N_EXPERIMENTS = 16  # A/B and send-time tests, stored per recipient in email_sends
CART_RECOVERY_ORGANIC = 0.12  # P(an abandoned cart is bought within ~2 days without any reminder)
CART_REMINDER_UPLIFT = {"reminder": 0.06, "discount": 0.10}  # used by the workflow simulator (05)
LEAD_SOURCE_SHARE_BEFORE = (0.3, 0.25, 0.15, 0.12, 0.1, 0.08)  # per LEAD_SOURCES, before the drift date
LEAD_SOURCE_SHARE_AFTER = (0.2, 0.2, 0.35, 0.1, 0.1, 0.05)
LEAD_INTENT_SHIFT = 0.25  # latent intent of leads created after the drift date is this much higher
