"""Stage 4: campaigns and experiments, answered through the planted response model.

Stage 4: campaigns and experiments sent in date order, each recipient answering through the planted
:class:`helpers.planted.ResponseModel`; then the campaigns, experiments and email_sends tables and the messaging
events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .customers import Latent, Lifetimes, Segments
from .events import Packer
from .orders import Orders
from .params import (
    CUSTOMER_ID_BASE,
    DAYS,
    DRIFT_DAY,
    N_EXPERIMENTS,
    ORDER_ID_BASE,
    RESPONSE,
    START_DAY,
    SUBJECTS,
)
from .tools import send_times, to_ts

#: the per-campaign outcome columns of the campaigns table, in their order
OUTCOMES = (
    "sent",
    "opens",
    "clicks",
    "conversions",
    "lead_conversions",
    "revenue",
    "control_size",
    "control_conversions",
    "control_revenue",
)

# flags of a recipient record
F_OPEN, F_CLICK, F_UNSUB, F_CONV, F_CONTROL = 1, 2, 4, 8, 16


@dataclass(frozen=True)
class SendRecords:
    """One compact record per selected recipient of every campaign and experiment (sent ones, then holdout)."""

    code: np.ndarray  # campaign code: campaigns first, then experiments
    who: np.ndarray
    hour: np.ndarray
    variant: np.ndarray
    flag: np.ndarray  # F_OPEN | F_CLICK | F_UNSUB | F_CONV, or F_CONTROL
    off_open: np.ndarray  # days from send to open
    off_click: np.ndarray  # days from open to click


@dataclass(frozen=True)
class CampaignLog:
    """What the campaign stage planned and what the response model expected, per campaign and experiment."""

    camp_truth: list[dict[str, Any]]
    x_truth: list[dict[str, Any]]
    experiments: list[dict[str, Any]]
    ids: list[str]
    day_of: np.ndarray
    channel_of: np.ndarray
    n_campaigns: int
    unsubscribed_ids: np.ndarray
    fatigue: np.ndarray  # each customer's fatigue just after their last message
    last_msg: np.ndarray  # when that was (days since START; 0 if never)


def respond(
    seg: Segments,
    lat: Latent,
    life: Lifetimes,
    who: np.ndarray,
    t_send: np.ndarray,
    hour: np.ndarray,
    channel: str,
    subject: Any,
    discount: float,
    fatigue: np.ndarray,
    subject_extra: Any,
    content_extra: Any,
) -> dict[str, np.ndarray]:
    """The planted response of recipients ``who`` (customer indices) to messages sent at ``t_send``."""
    s = lat.segment[who]
    return RESPONSE.respond(
        open_logit=seg.open_logit[s],
        click_logit=seg.click_logit[s],
        peak_hour=seg.peak_hour[s],
        discount_sensitivity=seg.discount_sens[s],
        offset=lat.open_offset[who],
        channel=channel,
        hour=hour,
        when=send_times(t_send),
        after_drift=t_send >= DRIFT_DAY,
        subject=subject,
        discount=discount,
        fatigue=fatigue,
        alive=t_send < life.churn_day[who],
        subject_extra=subject_extra,
        content_extra=content_extra,
    )


def campaigns(
    rng: np.random.Generator,
    rng_x: np.random.Generator,
    seg: Segments,
    cust: pd.DataFrame,
    lat: Latent,
    life: Lifetimes,
    n_campaigns: int,
) -> tuple[SendRecords, Orders, CampaignLog]:
    """Send campaigns and experiments in date order; draw each recipient's open, click, unsubscribe, order."""
    n = len(cust)
    s = lat.segment
    k = seg.k
    # ---- the schedule: regular campaigns and experiments, in one date order
    c_day = np.sort(rng.uniform(3.0, DAYS - RESPONSE.attribution_days - 1, n_campaigns).round())
    c_channel = np.where(rng.random(n_campaigns) < 0.75, "email", "push")
    c_target = np.where(rng.random(n_campaigns) < 0.35, -1, rng.integers(0, k, n_campaigns))
    c_hour = rng.integers(6, 23, n_campaigns)
    c_subject = rng.integers(0, len(SUBJECTS), n_campaigns)
    c_discount = rng.choice([0.0, 0.0, 0.1, 0.15, 0.2], size=n_campaigns)
    c_reach = rng.uniform(0.25, 0.7, n_campaigns)

    n_x = N_EXPERIMENTS
    x_day = np.sort(rng_x.uniform(20.0, DAYS - RESPONSE.attribution_days - 1, n_x).round()) + 0.5
    x_kind = np.array(["subject"] * 6 + ["content"] * 4 + ["send_time"] * 6)[rng_x.permutation(n_x)]
    experiments: list[dict[str, Any]] = []
    for i in range(n_x):
        kind = x_kind[i]
        hours: tuple[int, ...]
        if kind == "send_time":
            hours = (8, 12, 16, 20) if i % 2 == 0 else (7, 10, 13, 16, 19, 22)
            variants = [f"h{h:02d}" for h in hours]
            effect = np.zeros((len(variants), k))
        else:
            nv = 2 if i % 3 else 3
            variants = ["A", "B", "C"][:nv]
            effect = np.zeros((nv, k))
            for variant in range(1, nv):
                effect[variant] = np.round(rng_x.normal(0.12, 0.12), 3)
            if i % 4 == 1:  # an experiment whose winner differs by segment
                effect[1] = np.round(np.where(np.arange(k) % 2 == 0, 0.3, -0.25), 3)
            hours = (int(rng_x.integers(8, 21)),) * nv
        experiments.append(
            dict(
                kind=str(kind),
                variants=variants,
                effect=effect,
                hours=hours,
                target=int(rng_x.integers(0, k)) if i % 5 == 4 else -1,
                reach=float(rng_x.uniform(0.25, 0.5)),
            )
        )

    sched = [(c_day[i], 0, i) for i in range(n_campaigns)] + [(x_day[i], 1, i) for i in range(n_x)]
    sched.sort()

    ids = [f"C{i + 1:04d}" for i in range(n_campaigns)] + [f"X{j + 1:03d}" for j in range(n_x)]
    day_of = np.concatenate([c_day, x_day])
    channel_of = np.concatenate([c_channel, np.full(n_x, "email")])
    discount_of = np.concatenate([c_discount, np.zeros(n_x)])
    fatigue = np.zeros(n)
    last_msg = np.zeros(n)
    unsubscribed = np.zeros(n, bool)
    rec: dict[str, list[np.ndarray]] = {
        k_: [] for k_ in ("code", "who", "hour", "variant", "flag", "off_open", "off_click")
    }
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
        eligible = lat.signup_day < day
        if channel == "email":
            eligible &= lat.consent & ~unsubscribed
        else:
            eligible &= lat.mobile
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
            holdout = rng.random(len(aud)) < RESPONSE.holdout_share
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
        fatigue[sent] *= np.exp(-(t_send - last_msg[sent]) / RESPONSE.fatigue_tau_days)
        p = respond(
            seg,
            lat,
            life,
            sent,
            t_send,
            hs,
            channel,
            subj[~holdout],
            disc,
            fatigue[sent],
            np.broadcast_to(subj_eff, len(aud))[~holdout],
            np.broadcast_to(content_eff, len(aud))[~holdout],
        )
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
        converted &= t_order < life.active_to[sent]
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
        row = dict(
            campaign_id=ids[code],
            day=float(day),
            channel=channel,
            target=int(target),
            exp_open_rate=float(p["open"].mean()) if ns else 0.0,
            exp_click_rate=float((p["open"] * p["click"]).mean()) if ns else 0.0,
            exp_click_conv_rate=float((p["open"] * p["click"] * p["conv"]).mean()) if ns else 0.0,
        )
        if is_x:
            ex_rates = []
            for vi, name in enumerate(ex["variants"]):
                for si in range(k):
                    mm = (v[~holdout] == vi) & (s[sent] == si)
                    if mm.any():
                        ex_rates.append(
                            dict(
                                variant=name,
                                segment=si,
                                n=int(mm.sum()),
                                p_open=float(p["open"][mm].mean()),
                                p_click=float((p["open"] * p["click"])[mm].mean()),
                            )
                        )
            x_truth.append(
                dict(
                    row,
                    kind=ex["kind"],
                    variants=ex["variants"],
                    hours=list(ex["hours"]),
                    effect=ex["effect"].tolist(),
                    rates=ex_rates,
                )
            )
        else:
            camp_truth.append(dict(row, send_hour=int(c_hour[i]), subject=SUBJECTS[c_subject[i]], discount=float(disc)))
    records = SendRecords(**{k_: np.concatenate(v_) for k_, v_ in rec.items()})
    who_c = np.concatenate(conv_orders["who"])
    orders = Orders(
        who=who_c,
        t=np.concatenate(conv_orders["t"]),
        discount=np.concatenate(conv_orders["discount"]),
        source=np.full(len(who_c), 2, np.int8),
    )
    log = CampaignLog(
        camp_truth=camp_truth,
        x_truth=x_truth,
        experiments=experiments,
        ids=ids,
        day_of=day_of,
        channel_of=channel_of,
        n_campaigns=n_campaigns,
        unsubscribed_ids=cust["customer_id"].to_numpy()[unsubscribed],
        fatigue=fatigue,
        last_msg=last_msg,
    )
    return records, orders, log


def campaign_tables(
    records: SendRecords,
    log: CampaignLog,
    orders: Orders,
    kept: np.ndarray,
    tx: pd.DataFrame,
    seg: Segments,
    packer: Packer,
    chunk: int = 4_000_000,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[np.ndarray]]:
    """Campaign outcomes (with holdouts), experiments, per-recipient email_sends, and the messaging events."""
    ids, n_c = log.ids, log.n_campaigns
    code, who, hour, flag = records.code, records.who, records.hour, records.flag
    n_codes = len(ids)
    t_send = np.floor(log.day_of[code]) + hour / 24.0
    o_who, o_t = orders.who[kept], orders.t[kept]
    # order value per order (orders are chronological and order ids sequential)
    value = np.bincount(
        tx["order_id"].to_numpy() - ORDER_ID_BASE, weights=(tx["quantity"] * tx["unit_price"]).to_numpy()
    )
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
    agg = {k_: np.zeros(n_codes) for k_ in OUTCOMES}
    for lo in range(0, len(code), chunk):
        sl = slice(lo, lo + chunk)
        k0 = who[sl].astype(np.float64) * 1e4 + t_send[sl]
        a_ = np.searchsorted(key_o, k0, side="left")
        b_ = np.searchsorted(key_o, k0 + RESPONSE.attribution_days, side="right")
        conv = b_ > a_
        rev = cumval[b_] - cumval[a_]
        conv_any[sl] = conv
        c_, snt, ctl = code[sl], sent_m[sl], control[sl]
        for name, mask, weights in (
            ("sent", snt, None),
            ("opens", snt & opened[sl], None),
            ("clicks", snt & clicked[sl], None),
            ("conversions", snt & conv, None),
            ("lead_conversions", snt & clicked[sl] & conv, None),
            ("revenue", snt, rev),
            ("control_size", ctl, None),
            ("control_conversions", ctl & conv, None),
            ("control_revenue", ctl, rev),
        ):
            agg[name] += np.bincount(c_[mask], weights=None if weights is None else weights[mask], minlength=n_codes)
    del key_o, cumval
    ct = pd.DataFrame(log.camp_truth).set_index("campaign_id").loc[ids[:n_c]]
    names = np.asarray(seg.names + ["all"])
    ints = ("sent", "opens", "clicks", "conversions", "lead_conversions", "control_size", "control_conversions")
    a = {k_: (v_[:n_c].astype(np.int64) if k_ in ints else np.round(v_[:n_c], 2)) for k_, v_ in agg.items()}
    campaigns = pd.DataFrame(
        {
            "campaign_id": ids[:n_c],
            "date": (START_DAY + ct["day"].to_numpy().astype(int).astype("timedelta64[D]")),
            "channel": ct["channel"].to_numpy(),
            "target_segment": names[ct["target"].to_numpy().astype(int)],
            "send_hour": ct["send_hour"].to_numpy().astype(np.int64),
            "subject_variant": ct["subject"].to_numpy(),
            "discount": ct["discount"].to_numpy(),
            "audience_size": a["sent"] + a["control_size"],
            **{k_: a[k_] for k_ in OUTCOMES},
        }
    )
    # the cost is what the campaign paid out: a fixed cost and each message. Its discounts are not in it: the
    # discounted orders' revenue is already net of them (unit price = list price x (1 - discount)), so adding
    # them here would count them twice, and on every recipient's order, full-price ones included
    channel_cost = campaigns["channel"].map(RESPONSE.channel_cost_per_send).to_numpy()
    campaigns["cost"] = np.round(RESPONSE.fixed_cost_per_campaign + campaigns["sent"].to_numpy() * channel_cost, 2)

    xt = log.x_truth
    experiments = (
        pd.DataFrame(
            {
                "campaign_id": [x["campaign_id"] for x in xt],
                "date": [START_DAY + np.timedelta64(int(x["day"]), "D") for x in xt],
                "kind": [x["kind"] for x in xt],
                "variants": ["|".join(x["variants"]) for x in xt],
                "target_segment": [names[x["target"]] for x in xt],
                "description": [
                    {
                        "subject": "subject line test: variants differ only in the subject line",
                        "content": "content test: variants differ only in the email body and call to action",
                        "send_time": "send-time test: the same email sent at the hour named by each variant",
                    }[x["kind"]]
                    for x in xt
                ],
            }
        )
        .sort_values(["date", "campaign_id"], kind="stable")
        .reset_index(drop=True)
    )

    # per-recipient rows of the experiments, by experiment then customer
    xm = np.flatnonzero((code >= n_c) & sent_m)
    xm = xm[np.lexsort((who[xm], code[xm]))]
    variant_names = [np.asarray(log.experiments[c - n_c]["variants"]) for c in range(n_c, n_codes)]
    variant = np.empty(len(xm), dtype=object)
    for j, vn in enumerate(variant_names):
        m = code[xm] == n_c + j
        variant[m] = vn[records.variant[xm][m]]
    email_sends = pd.DataFrame(
        {
            "customer_id": (who[xm] + CUSTOMER_ID_BASE).astype(np.int64),
            "campaign_id": pd.Categorical.from_codes(code[xm] - n_c, categories=ids[n_c:]),
            "variant": variant,
            "sent_at": to_ts(t_send[xm]),
            "send_hour": hour[xm].astype(np.int64),
            "opened": opened[xm],
            "clicked": clicked[xm],
            "converted": conv_any[xm],
        }
    )

    # messaging events: sent, opened, clicked, unsubscribed
    is_email = log.channel_of[code] == "email"

    def t_open(mask: np.ndarray) -> np.ndarray:
        return t_send[mask] + records.off_open[mask]

    keys = []
    for typ_sent, typ_open, typ_click, ch in (
        ("email_sent", "email_open", "email_click", is_email),
        ("push_sent", "push_open", "push_click", ~is_email),
    ):
        m = sent_m & ch
        keys.append(packer.pack(who[m], t_send[m], typ_sent, code[m]))
        m = sent_m & ch & opened
        keys.append(packer.pack(who[m], t_open(m), typ_open, code[m]))
        m = sent_m & ch & clicked
        keys.append(packer.pack(who[m], t_open(m) + records.off_click[m], typ_click, code[m]))
    m = sent_m & unsub
    keys.append(packer.pack(who[m], t_open(m), "unsubscribe", code[m]))
    return campaigns, experiments, email_sends, keys
