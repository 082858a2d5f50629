"""Stage 5: the leads (prospects, their own id space) and their activity, converting through the planted lead model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..planted import sigmoid
from .params import (
    DRIFT_DAY,
    GENDERS,
    INCOME_BANDS,
    LEAD_COEF_AFTER,
    LEAD_COEF_BEFORE,
    LEAD_DAYS,
    LEAD_EVENT_TYPES,
    LEAD_FEATURES,
    LEAD_INTENT_SHIFT,
    LEAD_SOURCE_SHARE_AFTER,
    LEAD_SOURCE_SHARE_BEFORE,
    LEAD_SOURCES,
    LEAD_WINDOW_DAYS,
    REGION_P,
    REGIONS,
    START_DAY,
)
from .tools import choice_rows, norm, to_ts


def leads(
    rng: np.random.Generator, rng_e: np.random.Generator, n: int
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list]]:
    """Prospects: a 30-day activity window from creation, then conversion from the planted logistic model."""
    created = np.floor(rng.random(n) * LEAD_DAYS)
    after = created >= DRIFT_DAY
    # input drift: after the drift date more leads come from social and intent runs higher
    src_p = np.where(after[:, None], norm(LEAD_SOURCE_SHARE_AFTER), norm(LEAD_SOURCE_SHARE_BEFORE))
    source = np.asarray(LEAD_SOURCES)[choice_rows(rng, src_p)]
    z = rng.normal(np.where(after, LEAD_INTENT_SHIFT, 0.0), 1.0)
    age = np.clip(np.rint(rng.normal(40, 12, n)), 18, 80).astype(int)
    gender = np.asarray(GENDERS)[rng.choice(3, size=n, p=[0.5, 0.48, 0.02])]
    region = np.asarray(REGIONS)[rng.choice(len(REGIONS), size=n, p=REGION_P)]
    income = np.asarray(INCOME_BANDS)[rng.choice(3, size=n, p=[0.35, 0.45, 0.2])]
    f = {
        "site_visits": 1 + rng.poisson(np.exp(1.0 + 0.45 * z)),
        "product_page_views": rng.poisson(np.exp(0.5 + 0.6 * z)),
        "catalog_clicks": rng.poisson(np.exp(-0.7 + 0.5 * z)),
        "guide_downloads": (rng.random(n) < sigmoid(-1.6 + 0.8 * z)).astype(int),
        "payment_form_views": rng.poisson(np.exp(-1.8 + 0.8 * z)),
        "email_opens": rng.poisson(np.exp(1.0 + 0.3 * z + np.where(after, 0.4, 0.0))),
        "social_engagements": rng.poisson(np.exp(0.2 + 0.2 * z + np.where(source == "social", 0.8, 0.0))),
    }
    f["email_clicks"] = rng.binomial(f["email_opens"], sigmoid(-1.4 + 0.4 * z))
    unsub = (rng.random(n) < 0.06).astype(int)
    ev_name = {  # each count column and the event type that makes it, in the order the events are drawn
        "site_visits": "site_visit",
        "product_page_views": "product_page_view",
        "catalog_clicks": "catalog_click",
        "guide_downloads": "guide_download",
        "payment_form_views": "payment_form_view",
        "email_opens": "email_open",
        "email_clicks": "email_click",
        "social_engagements": "social_engagement",
    }
    # activity fades over the window for low-intent leads: times drawn as created + 30 * U^(1 + exp(-z))
    who_l, t_l, typ_l = [], [], []
    for kname, event in ev_name.items():
        cnt = f[kname]
        w = np.repeat(np.arange(n), cnt)
        shape = 1.0 + np.exp(-z[w])
        t = created[w] + 30.0 * rng_e.random(len(w)) ** shape
        who_l.append(w)
        t_l.append(t)
        typ_l.append(np.full(len(w), LEAD_EVENT_TYPES.index(event), np.int8))
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
    p = sigmoid(eta)
    converted = rng.random(n) < p
    conv_day = created + 30.0 + np.floor(rng.random(n) * (LEAD_WINDOW_DAYS - 30))
    lead_id = np.array([f"L{i + 1:06d}" for i in range(n)], dtype=object)
    leads = pd.DataFrame(
        {
            "lead_id": lead_id,
            "created_date": START_DAY + created.astype(int).astype("timedelta64[D]"),
            "age": age,
            "gender": gender,
            "region": region,
            "income_band": income,
            "source": source,
            **{k: f[k].astype(np.int64) for k in ev_name},
            "unsubscribed": unsub.astype(bool),
            "days_since_last_activity": days_since.astype(np.int64),
            "converted": converted,
            "converted_date": pd.Series(
                np.where(converted, START_DAY + conv_day.astype(int).astype("timedelta64[D]"), np.datetime64("NaT")),
                dtype="datetime64[s]",
            ),
        }
    )
    ts = to_ts(t_a)
    order = np.lexsort((typ_a, ts, who_a))
    lead_events = pd.DataFrame(
        {
            "lead_id": lead_id[who_a[order]],
            "timestamp": ts[order],
            "event_type": pd.Categorical.from_codes(typ_a[order], list(LEAD_EVENT_TYPES)),
        }
    )
    latent = dict(
        lead_id=lead_id.tolist(),
        p_convert=np.round(p, 6).tolist(),
        intent=np.round(z, 4).tolist(),
        after_drift=after.tolist(),
    )
    return leads, lead_events, latent
