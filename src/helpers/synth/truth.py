"""Stage 6: the planted truth — every parameter the world was drawn with, each with its description."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..world import Truth
from .campaigns import CampaignLog
from .customers import Latent, Lifetimes, Segments
from .params import (
    CART_RECOVERY_ORGANIC,
    CART_REMINDER_UPLIFT,
    CATEGORIES,
    CHURN,
    DRIFT,
    END,
    INCOME_BANDS,
    LEAD_COEF_AFTER,
    LEAD_COEF_BEFORE,
    LEAD_FEATURES,
    LEAD_INTENT_SHIFT,
    LEAD_SOURCE_SHARE_AFTER,
    LEAD_SOURCE_SHARE_BEFORE,
    LEAD_SOURCES,
    LEAD_TRANSFORMS,
    LEAD_WINDOW_DAYS,
    LEADS_END,
    RESPONSE,
    START_DATE,
)
from .tools import norm, rounded, to_ts
from .uplift import UPLIFT, UpliftRecords

END_DAY, DRIFT_DAY_DATE, LEADS_END_DAY = (d.astype("datetime64[D]") for d in (END, DRIFT, LEADS_END))


def rule_stats(pi: np.ndarray, rules: list[dict], attempts: np.ndarray) -> list[dict]:
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


def build_truth(
    seed: int,
    n_customers: int,
    seg: Segments,
    lat: Latent,
    life: Lifetimes,
    cust: pd.DataFrame,
    products: pd.DataFrame,
    pi: np.ndarray,
    rules: list[dict],
    attempts: np.ndarray,
    log: CampaignLog,
    lead_latent: dict[str, list],
    test: UpliftRecords,
) -> Truth:
    """Every planted parameter of the world with its description: the contents of ``truth.json``."""
    k = seg.k
    pid = products["product_id"].to_numpy()
    stats = rule_stats(pi, rules, attempts)
    churn_day = life.churn_day
    churn_text = np.datetime_as_string(to_ts(np.where(np.isfinite(churn_day), churn_day, 0.0)), unit="D")
    churn_date = churn_text.astype(object)
    churn_date[~np.isfinite(churn_day)] = None
    names = seg.names
    curves = {
        names[i]: np.round(RESPONSE.open_curve(seg.open_logit[i], seg.peak_hour[i]), 6).tolist() for i in range(k)
    }
    e: dict[str, dict[str, Any]] = {}

    def put(key: str, description: str, value: Any) -> None:
        e[key] = {"description": description, "value": rounded(value)}

    put("schema_version", "Version of this file's layout.", 1)
    put("seed", "Seed the whole world was generated from.", int(seed))
    put("n_customers", "Number of customers in customers.csv.", int(n_customers))
    put(
        "timeline",
        "First day, last day (inclusive) and drift date of the world; the last day a lead is created "
        "and the days after its creation when its outcome is known (its conversion window closes).",
        {
            "start": START_DATE,
            "end": str(END_DAY - 1),
            "drift_date": str(DRIFT_DAY_DATE),
            "leads_end": str(LEADS_END_DAY - 1),
            "lead_outcome_days": LEAD_WINDOW_DAYS,
        },
    )
    put("n_segments", "Number of planted latent segments.", k)
    put(
        "segments",
        "Per segment: name, share of customers, the behaviour feature that defines it and its direction, and the "
        "segment centre (mean age, web sessions and orders per active month, expected items per basket, category "
        "preference, open and click logits, monthly churn hazard, peak activity hour, loyalty and mobile shares, "
        "discount sensitivity).",
        [
            dict(
                index=i,
                name=names[i],
                share=float(seg.share[i]),
                defining_feature=seg.defining[i][0],
                defining_direction=seg.defining[i][1],
                age_mean=float(seg.age_mu[i]),
                web_sessions_per_month=float(seg.web_rate[i]),
                orders_per_month=float(seg.order_rate[i]),
                basket_items=float(seg.basket[i]),
                category_preference=dict(zip(CATEGORIES, seg.cats[i].tolist(), strict=True)),
                income_band_p=dict(zip(INCOME_BANDS, seg.income[i].tolist(), strict=True)),
                open_logit=float(seg.open_logit[i]),
                click_logit=float(seg.click_logit[i]),
                churn_hazard_per_month=float(seg.hazard[i]),
                peak_hour=int(seg.peak_hour[i]),
                loyalty_share=float(seg.loyalty[i]),
                mobile_share=float(seg.mobile[i]),
                discount_sensitivity=float(seg.discount_sens[i]),
            )
            for i in range(k)
        ],
    )
    put(
        "customer_latent",
        "Per customer (same order as customers.csv): segment index and name, churn date (null if still active at "
        "the end), monthly churn hazard before the drift, and the customer's own web-session and order rates per "
        "active month.",
        dict(
            customer_id=cust["customer_id"].tolist(),
            segment=lat.segment.tolist(),
            segment_name=[names[i] for i in lat.segment],
            churn_date=churn_date.tolist(),
            churn_hazard_per_month=np.round(life.hazard, 6).tolist(),
            web_sessions_per_month=np.round(lat.web_rate, 6).tolist(),
            orders_per_month=np.round(lat.order_rate, 6).tolist(),
        ),
    )
    put("churn_model", CHURN.describe(START_DATE), CHURN.to_dict(drift_segment=names[seg.drift_segment]))
    put(
        "basket_model",
        "Per order, each product is in the basket independently with probability pi[segment][product]; then each "
        "planted rule adds its consequent with probability q when its antecedent is present; empty draws are not "
        "orders. Quantity is 1 + Poisson(0.25); unit price is list price times (1 - discount).",
        dict(
            products=pid.tolist(),
            pi={names[i]: np.round(pi[i], 6).tolist() for i in range(k)},
            order_attempts_per_segment={names[i]: int(attempts[i]) for i in range(k)},
        ),
    )
    put(
        "association_rules",
        "Planted rules A => B (single products): boost probability q, and the closed-form support, confidence and "
        "lift among all orders of this world (see basket_model).",
        [
            dict(antecedent=pid[r["a"]], consequent=pid[r["b"]], q=r["q"], **st)
            for r, st in zip(rules, stats, strict=True)
        ],
    )
    put(
        "association_min_lift",
        "The smallest planted lift: every planted rule has at least this lift.",
        min((s_["lift"] for s_ in stats), default=None),
    )
    put(
        "lead_model",
        "Lead conversion: logit P(converted) = intercept + sum(coef * transform(feature)). Coefficients change for "
        "leads created on or after the drift date. Features with coefficient 0 truly do not matter.",
        dict(
            features=list(LEAD_FEATURES),
            transforms=LEAD_TRANSFORMS,
            coef_before=LEAD_COEF_BEFORE,
            coef_after=LEAD_COEF_AFTER,
            relevant_before=[f_ for f_ in LEAD_FEATURES if LEAD_COEF_BEFORE[f_] != 0],
            irrelevant_before=[f_ for f_ in LEAD_FEATURES if LEAD_COEF_BEFORE[f_] == 0],
        ),
    )
    put(
        "lead_trigger",
        "The real-time trigger planted in the lead model: 3 or more product-page views multiply the odds of "
        "conversion by this factor, all else equal.",
        dict(
            feature="product_page_views", threshold=3, odds_ratio=float(np.exp(LEAD_COEF_BEFORE["product_page_views"]))
        ),
    )
    put(
        "lead_latent",
        "Per lead: planted conversion probability, latent intent and whether it was created after the drift date.",
        lead_latent,
    )
    put("response_model", RESPONSE.describe(), RESPONSE.to_dict())
    put(
        "open_rate_by_hour",
        "Planted open probability by send hour (0-23) per segment for a fresh email customer with no fatigue, "
        "plain subject, no season; its argmax is the segment's best send hour.",
        curves,
    )
    put(
        "best_send_hour",
        "Best send hour per segment (the peak of its open curve).",
        {names[i]: int(seg.peak_hour[i]) for i in range(k)},
    )
    put(
        "campaign_expected",
        "Per campaign: expected open rate, click rate (clicks / sent) and click-driven conversion rate of the "
        "recipients actually sent to, under the planted model (the noise floor of KPI forecasts).",
        [
            dict(
                campaign_id=c["campaign_id"],
                exp_open_rate=c["exp_open_rate"],
                exp_click_rate=c["exp_click_rate"],
                exp_click_conv_rate=c["exp_click_conv_rate"],
            )
            for c in log.camp_truth
        ],
    )
    put(
        "experiments",
        "Per experiment: kind, variants, the planted logit effect of each variant per segment (rows: variants, "
        "columns: segments), the hour of each variant, and the expected open and click rates per variant and "
        "segment for the recipients actually sent to.",
        [
            dict(
                campaign_id=x["campaign_id"],
                kind=x["kind"],
                variants=x["variants"],
                hours=x["hours"],
                effect=x["effect"],
                rates=[dict(r, segment=names[r["segment"]]) for r in x["rates"]],
            )
            for x in log.x_truth
        ],
    )
    put(
        "cart_recovery",
        "Abandoned carts: probability of an organic purchase within about two days, and the planted extra "
        "recovery probability of a reminder and of a reminder with discount (for the workflow simulator).",
        dict(organic=CART_RECOVERY_ORGANIC, **CART_REMINDER_UPLIFT),
    )
    put(
        "drift",
        "What changes on the drift date: lead coefficients (lead_model coef_after: a free trial makes the buyer's "
        "guide and the payment form steps of every sign-up, so they stop marking buyers, browsing adds nothing, "
        "and email clicks and social engagement carry the intent), lead mix (more social leads, "
        "higher intent, more email opens), churn hazard of one segment (churn_model), the urgency subject line "
        "effect (response_model subject_effect_after) and the discount effect (discount_effect_after).",
        dict(
            date=str(DRIFT_DAY_DATE),
            lead_coefficients_changed=[
                f_ for f_ in ["intercept", *LEAD_FEATURES] if LEAD_COEF_BEFORE[f_] != LEAD_COEF_AFTER[f_]
            ],
            lead_source_share_before=dict(zip(LEAD_SOURCES, norm(LEAD_SOURCE_SHARE_BEFORE).tolist(), strict=True)),
            lead_source_share_after=dict(zip(LEAD_SOURCES, norm(LEAD_SOURCE_SHARE_AFTER).tolist(), strict=True)),
            lead_intent_shift=LEAD_INTENT_SHIFT,
            churn_segment=names[seg.drift_segment],
            churn_multiplier=CHURN.drift_multiplier,
        ),
    )
    put(
        "uplift_test",
        UPLIFT.describe(),
        dict(
            UPLIFT.to_dict(sleeping_dog_segment=test.sleeping_dog_segment),
            campaign_id=test.table["campaign_id"].iloc[0] if len(test.table) else None,
            order_value=test.order_value,
            recipients=test.recipients,
        ),
    )
    return Truth(e)
