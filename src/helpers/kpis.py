"""Campaign KPIs with intervals, target-versus-control uplift, the channel view, and KPI forecasts before launch.

* :func:`wilson` — Wilson score intervals for rates.
* :func:`campaign_kpis` — one row per campaign (or per channel / segment with ``by``): delivered, open rate,
  click-through (clicks / sent), click-to-open, conversion rate, control conversion rate, uplift, incremental
  conversions (in all, and per 1,000 sent) and revenue, cost per lead, lead-to-close rate, ROI and ROMI, each
  rate with a Wilson interval and each ratio with a bootstrap interval.
* :func:`uplift` — incremental conversion rate of a target group over its control group from counts (Newcombe's
  interval, score test); :func:`uplift_by_customer` — the same from one row per workflow entry, with an interval
  that treats the customer (the unit that was randomised) as the cluster.
* :func:`channel_view` — revenue, cost, ROI and ROMI per channel, with a bootstrap over campaigns.
* :func:`workflow_kpis` — the same questions for a workflow replay (:mod:`helpers.workflows`).
* Forecasting: :func:`send_log_features` (recipients' message fatigue and silence, from the send log),
  :func:`design_matrix`, :func:`forecast_cv` (time-ordered cross-validation of a binomial GLM and kernel ridge regression),
  :func:`noise_floor`, :func:`forecast` (a planned campaign's rates with prediction intervals) and
  :func:`what_if` (a past campaign re-planned with other parameters).

Definitions used throughout (``campaigns`` as in the data card): a *lead* is a recipient who clicked; a
*conversion* is a recipient with an order within the attribution window, whatever caused it, so the conversion
rate includes organic orders; the *uplift* is the conversion rate minus the control group's; *incremental*
conversions and revenue are those above what the control group's rates predict for the recipients sent to;
*lead-to-close* is the share of leads who converted (``lead_conversions / clicks``, a rate in [0, 1], when the
export has ``lead_conversions``); ROI = (revenue - cost) / cost is the *attributed* return, counting every order
of a recipient in the window (what a dashboard without a control group shows); ROMI = (incremental revenue -
cost) / cost is the *incremental* return, counting only the revenue the campaign caused. Revenue is net of
discounts, so a discount is counted once, in the revenue it lowered; ``cost`` holds what the campaign paid out
(fixed cost and messages), never the discounts again. :func:`workflow_kpis` counts a workflow's discounts the
same way, once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["KPIError", "wilson", "campaign_kpis", "uplift", "uplift_by_customer", "channel_view",
           "workflow_kpis", "send_log_features", "design_matrix", "forecast_cv", "cv_errors", "noise_floor",
           "forecast", "what_if", "KPI_COLUMNS"]

COUNTS = ("sent", "opens", "clicks", "conversions", "revenue", "control_size", "control_conversions",
          "control_revenue", "cost")
#: the rate KPIs a forecast can target: name -> (numerator column, denominator column)
KPI_COLUMNS = {"open_rate": ("opens", "sent"), "click_rate": ("clicks", "sent"),
               "conversion_rate": ("conversions", "sent")}


class KPIError(ValueError):
    """A campaigns table or a group that no KPI can be computed from; the message names the fix."""


def _check(campaigns: pd.DataFrame, need: Sequence[str], table: str = "campaigns") -> None:
    if len(campaigns) == 0:
        raise KPIError(f"{table}: the table is empty; KPIs need at least one campaign")
    missing = [c for c in need if c not in campaigns.columns]
    if missing:
        raise KPIError(f"{table}: missing column(s) {', '.join(missing)}; the data card (data/README.md) lists "
                       "what each column holds")
    ids = campaigns["campaign_id"].astype(str).tolist() if "campaign_id" in campaigns else list(map(str,
                                                                                                      campaigns.index))
    for col in need:
        if col in ("campaign_id", "channel", "target_segment", "date", "subject_variant"):
            continue
        v = pd.to_numeric(campaigns[col], errors="coerce")
        bad = v.isna().to_numpy()
        if bad.any():
            which = ", ".join(np.asarray(ids)[bad][:5])
            fix = ("add each campaign's cost (fixed cost + messages; not its discounts when revenue is net of "
                   "them) to the export"
                   if col == "cost" else f"fill {col} or drop those campaigns")
            raise KPIError(f"{table}: column {col} is missing or not a number for campaign(s) {which}; {fix}")
        if (v < 0).any():
            which = ", ".join(np.asarray(ids)[(v < 0).to_numpy()][:5])
            raise KPIError(f"{table}: column {col} is negative for campaign(s) {which}; counts, revenue and "
                           "cost must be >= 0")
    if "sent" in need:
        zero = (campaigns["sent"].to_numpy() == 0)
        if zero.any():
            which = ", ".join(np.asarray(ids)[zero][:5])
            raise KPIError(f"{table}: campaign(s) {which} have sent = 0, so no rate exists; drop them (nothing "
                           "was delivered) or fix the sent counts")
    for num, den in (("opens", "sent"), ("clicks", "opens"), ("control_conversions", "control_size")):
        if num in need and den in need:
            over = campaigns[num].to_numpy() > campaigns[den].to_numpy()
            if over.any():
                which = ", ".join(np.asarray(ids)[over][:5])
                raise KPIError(f"{table}: {num} > {den} for campaign(s) {which}; {num} counts recipients, so it "
                               f"cannot exceed {den}")


def wilson(successes, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the rate ``successes / n`` (elementwise).

    >>> low, high = wilson(0, 20)
    >>> float(low), round(float(high), 3)
    (0.0, 0.161)
    """
    from statsmodels.stats.proportion import proportion_confint

    successes, n = np.asarray(successes, float), np.asarray(n, float)
    if (n <= 0).any():
        raise KPIError("wilson: every n must be > 0 (a rate over nobody has no interval)")
    low, high = proportion_confint(successes, n, alpha=1 - level, method="wilson")
    return np.asarray(low, float), np.asarray(high, float)


def uplift(treated_conversions, treated_n, control_conversions, control_n, level: float = 0.95) -> pd.Series:
    """Incremental conversion rate of the target group over the control group, with Newcombe's interval.

    The p-value is the two-sided score test of equal rates. Raises :class:`KPIError` when a group is empty.

    >>> u = uplift(120, 1000, 40, 500)
    >>> round(u["uplift"], 3), round(u["low"], 3), round(u["high"], 3), bool(u["significant"])
    (0.04, 0.007, 0.07, True)
    """
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    if control_n <= 0:
        raise KPIError("uplift: the control group has size 0; without a control group there is no uplift "
                       "(hold out a random share of the audience, e.g. 10 %)")
    if treated_n <= 0:
        raise KPIError("uplift: the target group has size 0; nothing was sent")
    low, high = confint_proportions_2indep(treated_conversions, treated_n, control_conversions, control_n,
                                           method="newcomb", compare="diff", alpha=1 - level)
    test = test_proportions_2indep(treated_conversions, treated_n, control_conversions, control_n,
                                   method="score", compare="diff")
    rt, rc = treated_conversions / treated_n, control_conversions / control_n
    p = float(test.pvalue)
    return pd.Series(dict(rate_target=rt, rate_control=rc, uplift=rt - rc, low=float(low), high=float(high),
                          p_value=p, significant=bool(p < 1 - level)))


def uplift_by_customer(entries: pd.DataFrame, outcome: str = "converted", group: str = "group",
                       cluster: str = "customer_id", level: float = 0.95) -> pd.Series:
    """Difference in mean ``outcome`` between ``group == "target"`` and ``"control"`` entries, clustered.

    Each row is one entry into a workflow; a customer can enter several times and was randomised once, so the
    variance of each group's mean is the ratio-estimator variance over customers (sum of squared per-customer
    residuals), which reduces to the usual binomial variance when every customer enters once.

    >>> e = pd.DataFrame({"customer_id": range(8), "group": ["target"] * 4 + ["control"] * 4,
    ...                   "converted": [1, 1, 0, 1, 0, 1, 0, 0]})
    >>> round(float(uplift_by_customer(e)["uplift"]), 2)
    0.5
    """
    for col in (outcome, group, cluster):
        if col not in entries:
            raise KPIError(f"uplift_by_customer: no column {col!r} in the entries table")
    out = {}
    for g in ("target", "control"):
        d = entries.loc[entries[group] == g, [cluster, outcome]]
        if len(d) == 0:
            raise KPIError(f"uplift_by_customer: the {g} group is empty (size 0); a {g} group is needed")
        per = d.groupby(cluster, sort=False)[outcome].agg(["sum", "size"])
        y, n = per["sum"].to_numpy(float), per["size"].to_numpy(float)
        r = y.sum() / n.sum()
        m = len(per)
        var = ((y - r * n) ** 2).sum() / n.sum() ** 2 * (m / (m - 1) if m > 1 else np.inf)
        out[g] = (r, var, len(d), m)
    diff = out["target"][0] - out["control"][0]
    se = float(np.sqrt(out["target"][1] + out["control"][1]))
    z = stats.norm.ppf(0.5 + level / 2)
    p = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else float(diff == 0)
    return pd.Series(dict(n_target=out["target"][2], n_control=out["control"][2], rate_target=out["target"][0],
                          rate_control=out["control"][0], uplift=diff, se=se, low=diff - z * se,
                          high=diff + z * se, p_value=p, significant=bool(p < 1 - level)))


def _sums(campaigns: pd.DataFrame, by: str | None) -> pd.DataFrame:
    cols = [*COUNTS, *(["lead_conversions"] if "lead_conversions" in campaigns else [])]
    if by is None:
        out = campaigns.set_index("campaign_id")[cols].astype(float)
        out.insert(0, "campaigns", 1)
        return out
    g = campaigns.groupby(by, sort=True, observed=True)
    out = g[cols].sum().astype(float)
    out.insert(0, "campaigns", g.size())
    return out


def _derived(s: pd.DataFrame) -> pd.DataFrame:
    """Point values of the ratio KPIs from summed counts (columns of ``s`` may be 2-D bootstrap arrays)."""
    ctl_rate = s["control_conversions"] / s["control_size"]
    ctl_rpr = s["control_revenue"] / s["control_size"]
    inc_conv = s["conversions"] - ctl_rate * s["sent"]
    inc_rev = s["revenue"] - ctl_rpr * s["sent"]
    return pd.DataFrame(dict(incremental_conversions=inc_conv, incremental_revenue=inc_rev,
                             incremental_per_1000=inc_conv / s["sent"].where(s["sent"] > 0) * 1000,
                             roi=(s["revenue"] - s["cost"]) / s["cost"].where(s["cost"] > 0),
                             romi=(inc_rev - s["cost"]) / s["cost"].where(s["cost"] > 0)))


def campaign_kpis(campaigns: pd.DataFrame, by: str | None = None, level: float = 0.95, n_boot: int = 2000,
                  value_cv: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """The KPI table: per campaign, or per value of ``by`` (``"channel"``, ``"target_segment"``) summed.

    Rates (lead-to-close among them) get Wilson intervals. ROMI and incremental conversions per 1,000 sent get
    percentile bootstrap intervals: per campaign a parametric bootstrap (each group's conversion rate from its
    Jeffreys posterior, revenue per converter with coefficient of variation ``value_cv``, since the table holds
    sums only); per group a bootstrap over the group's campaigns.
    Campaigns whose control group is empty get no uplift or ROMI (NaN, said in ``note``); without a
    ``lead_conversions`` column there is no lead-to-close.

    >>> c = pd.DataFrame({"campaign_id": ["C1"], "sent": [1000], "opens": [300], "clicks": [50], "conversions": [60],
    ...                   "lead_conversions": [20], "revenue": [3000.0], "control_size": [1000],
    ...                   "control_conversions": [40], "control_revenue": [2000.0], "cost": [500.0]})
    >>> k = campaign_kpis(c, n_boot=10).loc["C1"]
    >>> float(k["lead_to_close"]), float(k["incremental_per_1000"]), float(k["romi"])
    (0.4, 20.0, 1.0)
    """
    _check(campaigns, ["campaign_id", *COUNTS] + ([by] if by else []))
    s = _sums(campaigns, by)
    out = pd.DataFrame(index=s.index)
    out["campaigns"] = s["campaigns"].astype(int)
    out["delivered"] = s["sent"].astype(int)
    for name, num, den in (("open_rate", "opens", "sent"), ("ctr", "clicks", "sent"), ("cto", "clicks", "opens"),
                           ("conversion_rate", "conversions", "sent")):
        ok = s[den] > 0
        out[name] = s[num] / s[den].where(ok)
        lo, hi = wilson(s[num][ok], s[den][ok], level) if ok.any() else (np.array([]), np.array([]))
        out.loc[ok, f"{name}_low"], out.loc[ok, f"{name}_high"] = lo, hi
    has_ctl = s["control_size"] > 0
    out["control_rate"] = s["control_conversions"] / s["control_size"].where(has_ctl)
    out["uplift"] = out["conversion_rate"] - out["control_rate"]
    out["revenue"] = s["revenue"]
    out["cost"] = s["cost"]
    out["cost_per_lead"] = s["cost"] / s["clicks"].where(s["clicks"] > 0)
    d = _derived(s)
    if "lead_conversions" in campaigns:
        ok = s["clicks"] > 0
        out["lead_to_close"] = s["lead_conversions"] / s["clicks"].where(ok)
        lo, hi = wilson(s["lead_conversions"][ok], s["clicks"][ok], level) if ok.any() else ([], [])
        out.loc[ok, "lead_to_close_low"], out.loc[ok, "lead_to_close_high"] = lo, hi
    d.loc[~has_ctl, ["incremental_conversions", "incremental_revenue", "incremental_per_1000", "romi"]] = np.nan
    for col in d:
        out[col] = d[col]
    # bootstrap intervals of the ratios
    rng = np.random.default_rng(seed)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    lows = {k: np.full(len(s), np.nan) for k in ("romi", "incremental_per_1000")}
    highs = {k: np.full(len(s), np.nan) for k in ("romi", "incremental_per_1000")}
    if by is None:
        for i, (_, r) in enumerate(s.iterrows()):
            if r["control_size"] <= 0:
                continue
            b = _parametric_draws(r, n_boot, value_cv, rng)
            bd = _derived(b)
            for k in lows:
                lows[k][i], highs[k][i] = _percentiles(bd[k].to_numpy(float), q)
    else:
        for i, (key, grp) in enumerate(campaigns.groupby(by, sort=True, observed=True)):
            if s.loc[key, "control_size"] <= 0:
                continue
            vals = grp[list(COUNTS)].to_numpy(float)
            idx = rng.integers(0, len(grp), (n_boot, len(grp)))
            bd = _derived(pd.DataFrame(vals[idx].sum(axis=1), columns=list(COUNTS)))
            for k in lows:
                lows[k][i], highs[k][i] = _percentiles(bd[k].to_numpy(float), q)
    for k in lows:
        out[f"{k}_low"], out[f"{k}_high"] = lows[k], highs[k]
    out["note"] = np.where(has_ctl, "", "no control group: uplift and ROMI unknown")
    return out


def _percentiles(x: np.ndarray, q: list[float]) -> tuple[float, float]:
    """Percentiles of the finite replicates; NaN if none."""
    x = x[np.isfinite(x)]
    return (np.nan, np.nan) if len(x) == 0 else tuple(np.percentile(x, q))


def _parametric_draws(r: pd.Series, n_boot: int, value_cv: float, rng: np.random.Generator) -> pd.DataFrame:
    """Bootstrap replicates of one campaign's sums: conversions, and revenue as a gamma sum per converter."""
    out = {k: np.full(n_boot, r[k]) for k in COUNTS}
    for conv, n, rev in (("conversions", "sent", "revenue"), ("control_conversions", "control_size",
                                                               "control_revenue")):
        # the count's uncertainty once: its rate from the Jeffreys posterior, times the group size (honest for
        # small counts, 0 or 1 control conversion). Drawing a binomial count from that rate again would add the
        # sampling variance a second time and make the intervals about 1.4 times too wide.
        k = r[n] * rng.beta(r[conv] + 0.5, r[n] - r[conv] + 0.5, n_boot)
        mean_value = r[rev] / r[conv] if r[conv] > 0 else 0.0
        if value_cv > 0 and mean_value > 0:
            shape = k / value_cv**2  # the sum of k values with this mean and CV is Gamma(k / cv^2, mean * cv^2)
            value = np.where(k > 0, rng.gamma(np.maximum(shape, 1e-12), mean_value * value_cv**2), 0.0)
        else:
            value = k * mean_value
        out[conv], out[rev] = k, value
    return pd.DataFrame(out)


def channel_view(campaigns: pd.DataFrame, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Revenue, cost, ROI and ROMI per channel (the end-to-end view of the campaign-workflow step), bootstrap over campaigns."""
    k = campaign_kpis(campaigns, by="channel", level=level, n_boot=n_boot, seed=seed)
    return k[["campaigns", "delivered", "conversion_rate", "uplift", "revenue", "incremental_revenue", "cost",
              "roi", "romi", "romi_low", "romi_high"]]


# ----------------------------------------------------------------------------------------------------------------
# Forecasting a campaign's KPIs before launch
# ----------------------------------------------------------------------------------------------------------------
def send_log_features(events: pd.DataFrame, orders: pd.DataFrame | None = None, tau_days: float = 10.0,
                      silent_days: float = 90.0, chunk_rows: int = 5_000_000) -> pd.DataFrame:
    """Per campaign, from the send log: the recipients' mean message fatigue and share of silent recipients.

    Fatigue of a recipient at a send is sum(exp(-(t - t_j) / tau_days)) over the messages t_j they received
    before (any campaign); silent means no site visit or order in the ``silent_days`` before the send. Both
    are known before a launch for a planned audience. ``events`` needs customer_id, timestamp, event_type and
    campaign_id; ``orders`` (customer_id, order_date), when given, counts as activity too.
    """
    for col in ("customer_id", "timestamp", "event_type", "campaign_id"):
        if col not in events:
            raise KPIError(f"events: missing column {col!r}, needed for send-log features")
    # numpy arrays and int64 keys (customer code << 32 | second) rather than frames: a million customers'
    # send log is tens of millions of rows
    typ = events["event_type"]
    is_send = typ.isin(["email_sent", "push_sent", "sms_sent"]).to_numpy()
    if not is_send.any():
        raise KPIError("events: no email_sent, push_sent or sms_sent rows, so there is no send log")
    is_visit = (typ == "site_visit").to_numpy()
    cust = events["customer_id"].to_numpy()
    ts = events["timestamp"].to_numpy()
    s_sec, a_sec = _seconds(ts[is_send]), _seconds(ts[is_visit])
    del ts
    a_cust = cust[is_visit]
    if orders is not None:
        a_cust = np.concatenate([a_cust, orders["customer_id"].to_numpy()])
        a_sec = np.concatenate([a_sec, _seconds(orders["order_date"])])
    s_code = cust[is_send]
    del is_visit
    small_ints = (np.issubdtype(cust.dtype, np.integer) and len(cust) and cust.min() >= 0
                  and cust.max() < 2**31 and (not len(a_cust) or a_cust.max() < 2**31))
    if small_ints:  # ids fit in the key as they are
        s_code, a_code = s_code.astype(np.int64), a_cust.astype(np.int64)
    else:
        codes, _ = pd.factorize(np.concatenate([s_code, a_cust]))
        s_code, a_code = codes[:len(s_code)].astype(np.int64), codes[len(s_code):].astype(np.int64)
        del codes
    del a_cust
    t0 = min(s_sec.min(), a_sec.min()) if len(a_sec) else s_sec.min()
    # every quantity is per customer, so customers are processed in slices (by id modulo n_slices) to keep
    # the sort keys and intermediate arrays of a million customers' send log small
    fatigue, silent = np.empty(len(s_sec)), np.empty(len(s_sec), bool)
    n_slices = max(1, int(np.ceil(len(s_sec) / chunk_rows)))
    for k in range(n_slices):
        sm = np.flatnonzero(s_code % n_slices == k) if n_slices > 1 else slice(None)
        am = (a_code % n_slices == k) if n_slices > 1 else slice(None)
        fatigue[sm], silent[sm] = _send_log_slice(s_code[sm], s_sec[sm] - t0, a_code[am], a_sec[am] - t0,
                                                  tau_days, silent_days)
    del a_code, a_sec
    camp_col = events["campaign_id"]
    if isinstance(camp_col.dtype, pd.CategoricalDtype):  # the course's loader: codes, no strings per row
        camp, names = camp_col.cat.codes.to_numpy()[is_send], camp_col.cat.categories.astype(str)
        if (camp < 0).any():
            raise KPIError("events: some email_sent/push_sent rows have no campaign_id; fill it from the send log")
    else:
        camp, names = pd.factorize(camp_col.to_numpy()[is_send].astype(str))
    n = np.bincount(camp, minlength=len(names))
    out = pd.DataFrame({"fatigue": np.bincount(camp, weights=fatigue, minlength=len(names)) / np.maximum(n, 1),
                        "silent_share": np.bincount(camp, weights=silent, minlength=len(names)) / np.maximum(n, 1)},
                       index=pd.Index(names, name="campaign_id"))
    return out[n > 0].sort_index()  # campaigns with sends only (a category may have none)


def _send_log_slice(s_code: np.ndarray, s_sec: np.ndarray, a_code: np.ndarray, a_sec: np.ndarray,
                    tau_days: float, silent_days: float) -> tuple[np.ndarray, np.ndarray]:
    """Fatigue and silence of sends (customer code, seconds) given the activity (customer code, seconds)."""
    s_key = (s_code << 32) | s_sec
    order = np.argsort(s_key, kind="stable")
    fatigue = np.empty(len(s_key))
    fatigue[order] = _decayed_count(s_code[order], s_sec[order] / 86400.0, tau_days)
    del order
    a_key = (a_code << 32) | a_sec
    a_key.sort()
    pos = np.searchsorted(a_key, s_key, side="left") - 1  # the last activity strictly before the send
    last = a_key[np.maximum(pos, 0)] if len(a_key) else np.zeros(len(s_key), np.int64)
    valid = (pos >= 0) & ((last >> 32) == s_code)
    gap_days = (s_sec - (last & 0xFFFFFFFF)) / 86400.0
    return fatigue, ~valid | (gap_days > silent_days)


def _seconds(ts) -> np.ndarray:
    ts = np.asarray(ts)
    if not np.issubdtype(ts.dtype, np.datetime64):
        ts = pd.to_datetime(ts).to_numpy()
    return ts.astype("datetime64[s]").astype(np.int64)


def _decayed_count(cust: np.ndarray, t: np.ndarray, tau: float, span: float = 500.0) -> np.ndarray:
    """sum over a customer's earlier rows j of exp(-(t - t_j) / tau); rows sorted by customer, then time.

    Vectorised as exp(-(t - base) / tau) * (carry + cumsum(exp((t_j - base) / tau))) within time blocks of
    ``span * tau``, the per-customer carry rescaled between blocks, so exp() never overflows.

    >>> np.round(_decayed_count(np.array([1, 1, 1, 2]), np.array([0.0, 10.0, 10.0, 5.0]), 10.0), 4).tolist()
    [0.0, 0.3679, 1.3679, 0.0]
    """
    out = np.zeros(len(t))
    if len(t) == 0:
        return out
    codes, uniq = pd.factorize(cust)
    carry = np.zeros(len(uniq))
    block = np.floor((t - t.min()) / (span * tau)).astype(np.int64)
    prev_base = None
    for b in np.unique(block):
        m = np.flatnonzero(block == b)
        base = t.min() + b * span * tau
        if prev_base is not None:
            carry *= np.exp(-(base - prev_base) / tau)
        e = np.exp((t[m] - base) / tau)
        before = pd.Series(e).groupby(codes[m]).cumsum().to_numpy() - e
        out[m] = (carry[codes[m]] + before) * np.exp(-(t[m] - base) / tau)
        carry += np.bincount(codes[m], weights=e, minlength=len(uniq))
        prev_base = base
    return out


def design_matrix(campaigns: pd.DataFrame, extra: pd.DataFrame | None = None,
                  segments: Sequence[str] | None = None, subjects: Sequence[str] | None = None,
                  start: pd.Timestamp | None = None) -> pd.DataFrame:
    """Features of a campaign known before launch, one row per campaign (index: campaign_id).

    Per target segment: an indicator, the send hour as cos/sin of the day's angle (so a logit model can place
    each segment's best hour anywhere) and the discount; the subject variant; push vs email; December and
    August; years since ``start`` (a trend); log audience size; and the columns of ``extra`` (e.g.
    :func:`send_log_features`) joined on campaign_id. Pass the ``segments`` and ``subjects`` of the history
    when building the rows of planned campaigns, so that both have the same columns.
    """
    _check(campaigns, ["campaign_id", "date", "channel", "target_segment", "send_hour", "subject_variant",
                       "discount", "sent"])
    c = campaigns.set_index(campaigns["campaign_id"].astype(str))
    segments = sorted(c["target_segment"].astype(str).unique()) if segments is None else list(segments)
    subjects = sorted(c["subject_variant"].astype(str).unique()) if subjects is None else list(subjects)
    date = pd.to_datetime(c["date"])
    start = date.min() if start is None else start
    angle = 2 * np.pi * c["send_hour"].to_numpy(float) / 24.0
    cols: dict[str, np.ndarray] = {}
    for seg in segments:
        m = (c["target_segment"].astype(str) == seg).to_numpy(float)
        cols[f"segment={seg}"] = m
        cols[f"hour_cos|{seg}"] = m * np.cos(angle)
        cols[f"hour_sin|{seg}"] = m * np.sin(angle)
        cols[f"discount|{seg}"] = m * c["discount"].to_numpy(float)
    for subj in subjects[1:]:
        cols[f"subject={subj}"] = (c["subject_variant"].astype(str) == subj).to_numpy(float)
    cols["push"] = (c["channel"].astype(str) == "push").to_numpy(float)
    cols["december"] = (date.dt.month == 12).to_numpy(float)
    cols["august"] = (date.dt.month == 8).to_numpy(float)
    cols["trend_years"] = ((date - start).dt.days / 365.25).to_numpy(float)
    cols["log_audience"] = np.log1p(c["sent"].to_numpy(float))
    X = pd.DataFrame(cols, index=c.index)
    if extra is not None:
        missing = X.index.difference(extra.index)
        if len(missing):
            raise KPIError(f"design_matrix: no send-log features for campaign(s) {', '.join(missing[:5])}")
        X = X.join(extra)
    return X


class _BinomialGLM:
    """L2-regularised logistic regression on (successes, trials) counts: one weighted row per outcome."""

    def __init__(self, C: float = 100.0) -> None:
        self.C = C

    def fit(self, X: np.ndarray, successes: np.ndarray, trials: np.ndarray) -> _BinomialGLM:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        y = np.r_[np.ones(len(Z)), np.zeros(len(Z))]
        w = np.r_[successes, trials - successes].astype(float)
        # weights count recipients: rescale C so that the penalty weighs against the mean loss per campaign
        self.model_ = LogisticRegression(C=self.C * len(Z) / w.sum(), max_iter=5000, tol=1e-8)
        self.model_.fit(np.vstack([Z, Z]), y, sample_weight=w)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(self.scaler_.transform(X))[:, 1]


class _KernelRidge:
    """Kernel ridge regression (RBF kernel, standardised inputs) on the observed rates, trials as sample weights.

    The flexible model next to the GLM: it can follow any smooth shape of the features, with no form written in
    advance. Its fit is the unique solution of a linear system, so a last-bit difference in the inputs (another
    CPU's vector units, another BLAS kernel) moves its forecasts by about as little as it moves the GLM's. A
    neural network trained by L-BFGS, the model this replaces, stopped at a different point of a flat loss surface
    when its inputs moved in the last bit, and its forecasts moved by up to 0.003.
    """

    def __init__(self, alpha: float = 0.01, gamma: float = 0.25) -> None:
        self.alpha, self.gamma = alpha, gamma

    def fit(self, X: np.ndarray, successes: np.ndarray, trials: np.ndarray) -> _KernelRidge:
        from sklearn.kernel_ridge import KernelRidge
        from sklearn.preprocessing import StandardScaler

        self.scaler_ = StandardScaler().fit(X)
        rate = successes / trials
        self.mean_ = float(np.average(rate, weights=trials))
        # gamma per feature, so that a wider design matrix does not make every campaign look unlike the others
        self.model_ = KernelRidge(alpha=self.alpha, kernel="rbf", gamma=self.gamma / X.shape[1])
        self.model_.fit(self.scaler_.transform(X), rate - self.mean_, sample_weight=trials / trials.mean())
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.clip(self.model_.predict(self.scaler_.transform(X)) + self.mean_, 0.0, 1.0)


MODELS = {"glm": _BinomialGLM, "kernel": _KernelRidge}


def _make_model(name: str, seed: int):
    if name not in MODELS:
        raise KPIError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name]()


def forecast_cv(campaigns: pd.DataFrame, X: pd.DataFrame, kpi: str = "open_rate",
                models: Sequence[str] = ("glm", "kernel"), n_splits: int = 4, test_size: int | None = None,
                seed: int = 0) -> pd.DataFrame:
    """Time-ordered cross-validation: train on every campaign before a fold, predict the fold's campaigns.

    A ``test_size`` too large for the history (fewer than ``n_splits`` + 1 folds of it) shrinks to what the
    history holds, so that a team with fewer campaigns gets smaller folds rather than an error.

    Returns one row per (model, held-out campaign): date, fold, observed rate, prediction, trials.
    """
    if kpi not in KPI_COLUMNS:
        raise KPIError(f"forecast_cv: unknown kpi {kpi!r}; choose one of {', '.join(KPI_COLUMNS)}")
    from sklearn.model_selection import TimeSeriesSplit

    num, den = KPI_COLUMNS[kpi]
    c = campaigns.assign(campaign_id=campaigns["campaign_id"].astype(str)).sort_values(
        ["date", "campaign_id"], kind="stable").reset_index(drop=True)
    _check(c, ["campaign_id", num, den])
    Xa = X.loc[c["campaign_id"]].to_numpy(float)
    succ, n = c[num].to_numpy(float), c[den].to_numpy(float)
    rows = []
    if len(c) < n_splits + 2:
        raise KPIError(f"forecast_cv: {len(c)} campaigns are too few for {n_splits} time-ordered folds")
    if test_size is not None:
        test_size = min(test_size, len(c) // (n_splits + 1))
    splits = TimeSeriesSplit(n_splits=n_splits, test_size=test_size)
    for fold, (tr, te) in enumerate(splits.split(Xa)):
        for name in models:
            m = _make_model(name, seed).fit(Xa[tr], succ[tr], n[tr])
            rows.append(pd.DataFrame(dict(model=name, fold=fold, campaign_id=c["campaign_id"].to_numpy()[te],
                                          date=c["date"].to_numpy()[te], trials=n[te], observed=succ[te] / n[te],
                                          predicted=m.predict(Xa[te]))))
    return pd.concat(rows, ignore_index=True)


def noise_floor(cv: pd.DataFrame, expected: pd.Series) -> float:
    """RMSE of the planted expected rates against the observed ones, on the campaigns ``cv`` held out.

    No forecast can beat it on average: it is the binomial noise of the recipients' draws around the rate
    the planted response model gives them. ``expected`` is indexed by campaign_id.
    """
    ids = cv["campaign_id"].drop_duplicates()
    missing = ids[~ids.isin(expected.index)]
    if len(missing):
        raise KPIError(f"noise_floor: no expected rate for campaign(s) {', '.join(missing[:5])}")
    obs = cv.drop_duplicates("campaign_id").set_index("campaign_id")["observed"]
    return float(np.sqrt(np.mean((expected.loc[obs.index].to_numpy() - obs.to_numpy()) ** 2)))


def cv_errors(cv: pd.DataFrame) -> pd.Series:
    """RMSE of each model over the held-out campaigns of :func:`forecast_cv`."""
    return cv.groupby("model", sort=False).apply(
        lambda d: float(np.sqrt(np.mean((d["predicted"] - d["observed"]) ** 2))), include_groups=False)


def forecast(history: pd.DataFrame, X_history: pd.DataFrame, X_planned: pd.DataFrame, planned_sent,
             kpi: str = "open_rate", model: str = "glm", cv: pd.DataFrame | None = None, level: float = 0.9,
             seed: int = 0) -> pd.DataFrame:
    """Predicted rate of planned campaigns with a prediction interval, from a model fitted on all of history.

    The interval adds the binomial noise of ``planned_sent`` recipients to the model's own error, measured as
    the mean squared held-out error in ``cv`` minus the binomial part of those campaigns (a normal interval).
    """
    num, den = KPI_COLUMNS[kpi]
    h = history.assign(campaign_id=history["campaign_id"].astype(str))
    Xh = X_history.loc[h["campaign_id"]].to_numpy(float)
    m = _make_model(model, seed).fit(Xh, h[num].to_numpy(float), h[den].to_numpy(float))
    p = m.predict(X_planned.to_numpy(float))
    model_var = 0.0
    if cv is not None:
        d = cv[cv["model"] == model]
        binom = d["observed"] * (1 - d["observed"]) / d["trials"]
        model_var = max(float(np.mean((d["predicted"] - d["observed"]) ** 2 - binom)), 0.0)
    n = np.asarray(planned_sent, float)
    se = np.sqrt(p * (1 - p) / n + model_var)
    z = stats.norm.ppf(0.5 + level / 2)
    return pd.DataFrame(dict(predicted=p, low=np.clip(p - z * se, 0, 1), high=np.clip(p + z * se, 0, 1)),
                        index=X_planned.index)


def what_if(history: pd.DataFrame, extra: pd.DataFrame | None, campaign_id: str, changes: dict[str, Sequence],
            kpi: str = "open_rate", model: str = "glm", seed: int = 0) -> pd.DataFrame:
    """Forecast ``kpi`` of one past campaign re-run with other parameters, every combination of ``changes``.

    The model is fitted on the campaigns before ``campaign_id`` (what was known when it was planned); the
    campaign's own send-log features are kept. Returns one row per combination, best first, with the
    campaign as it ran marked ``as_run``.

    ``changes`` maps a column of the campaigns table (send_hour, subject_variant, channel, discount) to the
    values to try.
    """
    import itertools

    c = history.assign(campaign_id=history["campaign_id"].astype(str)).sort_values(["date", "campaign_id"],
                                                                                   kind="stable")
    if campaign_id not in set(c["campaign_id"]):
        raise KPIError(f"what_if: no campaign {campaign_id!r} in the history")
    row = c.loc[c["campaign_id"] == campaign_id].iloc[0]
    before = c[c["date"] < row["date"]]
    if len(before) < 10:
        raise KPIError(f"what_if: only {len(before)} campaigns before {campaign_id}; a forecast needs at least 10")
    unknown = [k for k in changes if k not in c.columns]
    if unknown:
        raise KPIError(f"what_if: {', '.join(unknown)} is not a campaign parameter")
    segments = sorted(c["target_segment"].astype(str).unique())
    subjects = sorted(c["subject_variant"].astype(str).unique())
    start = pd.to_datetime(c["date"]).min()
    X_before = design_matrix(before, extra, segments, subjects, start)
    num, den = KPI_COLUMNS[kpi]
    m = _make_model(model, seed).fit(X_before.to_numpy(float), before[num].to_numpy(float),
                                     before[den].to_numpy(float))
    keys = list(changes)
    combos = list(itertools.product(*[list(changes[k]) for k in keys]))
    plans = pd.DataFrame([row.to_dict()] * len(combos))
    for j, k in enumerate(keys):
        plans[k] = [v[j] for v in combos]
    plans["campaign_id"] = [f"{campaign_id}#{i}" for i in range(len(plans))]
    ext = None
    if extra is not None:
        ext = pd.DataFrame(np.repeat(extra.loc[[campaign_id]].to_numpy(), len(plans), axis=0),
                           index=plans["campaign_id"], columns=extra.columns)
    Xp = design_matrix(plans, ext, segments, subjects, start)
    out = plans[keys].copy()
    out[f"predicted_{kpi}"] = m.predict(Xp.to_numpy(float))
    out["as_run"] = np.all([out[k].to_numpy() == row[k] for k in keys], axis=0)
    return out.sort_values(f"predicted_{kpi}", ascending=False, kind="stable").reset_index(drop=True)


def workflow_kpis(entries: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Target-versus-control KPIs of a workflow replay (:func:`helpers.workflows.simulate`), per entry.

    Rows: conversion rate and revenue per entry (after discounts) in each group with the uplift and its
    clustered interval (:func:`uplift_by_customer`); messages, message cost and discounts given per target
    entry; incremental profit per entry (revenue uplift - message cost); and ROMI = incremental profit /
    (message cost + discounts given), the return on what the workflow spent.
    """
    conv = uplift_by_customer(entries, "converted", level=level)
    rev = uplift_by_customer(entries, "revenue", level=level)
    t = entries[entries["group"] == "target"]
    msg, disc = float(t["message_cost"].mean()), float(t["discount_cost"].mean())
    profit = rev["uplift"] - msg

    def per_spent(x: float) -> float:  # return on what the workflow spent per entry (messages + discounts)
        return x / (msg + disc) if msg + disc > 0 else np.nan
    rows = {
        "entries (target / control)": (conv["n_target"], conv["n_control"], np.nan, np.nan),
        "conversion rate": (conv["rate_target"], conv["rate_control"], np.nan, np.nan),
        "conversion uplift": (conv["uplift"], np.nan, conv["low"], conv["high"]),
        "revenue per entry": (rev["rate_target"], rev["rate_control"], np.nan, np.nan),
        "revenue uplift per entry": (rev["uplift"], np.nan, rev["low"], rev["high"]),
        "messages per target entry": (float(t["messages"].mean()), np.nan, np.nan, np.nan),
        "message cost per target entry": (msg, np.nan, np.nan, np.nan),
        "discounts given per target entry": (disc, np.nan, np.nan, np.nan),
        "incremental profit per entry": (profit, np.nan, rev["low"] - msg, rev["high"] - msg),
        "ROMI": (per_spent(profit), np.nan, per_spent(rev["low"] - msg), per_spent(rev["high"] - msg)),
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=["target", "control", "low", "high"])
