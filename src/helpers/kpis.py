"""Campaign KPIs with intervals, target-versus-control uplift and the channel view.

Forecasts of a campaign's KPIs before launch are in :mod:`helpers.forecasting`.

* :func:`wilson` — Wilson score intervals for rates.
* :func:`campaign_kpis` — one row per campaign (or per channel / segment with ``by``): delivered, open rate,
  click-through (clicks / sent), click-to-open, conversion rate, control conversion rate, uplift, incremental
  conversions (in all, and per 1,000 sent) and revenue, cost per lead, lead-to-close rate, ROI and ROMI, each
  rate with a Wilson interval and each ratio with a bootstrap interval.
* :func:`uplift` — incremental conversion rate of a target group over its control group from counts (Newcombe's
  interval, score test); :func:`uplift_by_customer` — the same from one row per workflow entry, with an interval
  that treats the customer (the unit that was randomised) as the cluster; :func:`clustered_uplift` — the same
  from per-customer sums.
* :func:`channel_view` — revenue, cost, ROI and ROMI per channel, with a bootstrap over campaigns.
* :func:`workflow_kpis` — the same questions for a workflow replay (:mod:`helpers.workflows`).
* Forecasting a campaign's KPIs before launch lives in :mod:`helpers.forecasting`.

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

__all__ = [
    "KPIError",
    "wilson",
    "campaign_kpis",
    "uplift",
    "uplift_by_customer",
    "clustered_uplift",
    "channel_view",
    "workflow_kpis",
    "KPI_COLUMNS",
]

COUNTS = (
    "sent",
    "opens",
    "clicks",
    "conversions",
    "revenue",
    "control_size",
    "control_conversions",
    "control_revenue",
    "cost",
)
#: the rate KPIs a forecast can target: name -> (numerator column, denominator column)
KPI_COLUMNS = {
    "open_rate": ("opens", "sent"),
    "click_rate": ("clicks", "sent"),
    "conversion_rate": ("conversions", "sent"),
}


class KPIError(ValueError):
    """A campaigns table or a group that no KPI can be computed from; the message names the fix."""


def _check(campaigns: pd.DataFrame, need: Sequence[str], table: str = "campaigns") -> None:
    if len(campaigns) == 0:
        raise KPIError(f"{table}: the table is empty; KPIs need at least one campaign")
    missing = [c for c in need if c not in campaigns.columns]
    if missing:
        raise KPIError(
            f"{table}: missing column(s) {', '.join(missing)}; the data card (data/README.md) lists "
            "what each column holds"
        )
    ids = (
        campaigns["campaign_id"].astype(str).tolist() if "campaign_id" in campaigns else list(map(str, campaigns.index))
    )
    for col in need:
        if col in ("campaign_id", "channel", "target_segment", "date", "subject_variant"):
            continue
        v = pd.to_numeric(campaigns[col], errors="coerce")
        bad = v.isna().to_numpy()
        if bad.any():
            which = ", ".join(np.asarray(ids)[bad][:5])
            fix = (
                "add each campaign's cost (fixed cost + messages; not its discounts when revenue is net of "
                "them) to the export"
                if col == "cost"
                else f"fill {col} or drop those campaigns"
            )
            raise KPIError(f"{table}: column {col} is missing or not a number for campaign(s) {which}; {fix}")
        if (v < 0).any():
            which = ", ".join(np.asarray(ids)[(v < 0).to_numpy()][:5])
            raise KPIError(
                f"{table}: column {col} is negative for campaign(s) {which}; counts, revenue and cost must be >= 0"
            )
    if "sent" in need:
        zero = campaigns["sent"].to_numpy() == 0
        if zero.any():
            which = ", ".join(np.asarray(ids)[zero][:5])
            raise KPIError(
                f"{table}: campaign(s) {which} have sent = 0, so no rate exists; drop them (nothing "
                "was delivered) or fix the sent counts"
            )
    for num, den in (("opens", "sent"), ("clicks", "opens"), ("control_conversions", "control_size")):
        if num in need and den in need:
            over = campaigns[num].to_numpy() > campaigns[den].to_numpy()
            if over.any():
                which = ", ".join(np.asarray(ids)[over][:5])
                raise KPIError(
                    f"{table}: {num} > {den} for campaign(s) {which}; {num} counts recipients, so it "
                    f"cannot exceed {den}"
                )


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
        raise KPIError(
            "uplift: the control group has size 0; without a control group there is no uplift "
            "(hold out a random share of the audience, e.g. 10 %)"
        )
    if treated_n <= 0:
        raise KPIError("uplift: the target group has size 0; nothing was sent")
    low, high = confint_proportions_2indep(
        treated_conversions,
        treated_n,
        control_conversions,
        control_n,
        method="newcomb",
        compare="diff",
        alpha=1 - level,
    )
    test = test_proportions_2indep(
        treated_conversions, treated_n, control_conversions, control_n, method="score", compare="diff"
    )
    rt, rc = treated_conversions / treated_n, control_conversions / control_n
    p = float(test.pvalue)
    return pd.Series(
        dict(
            rate_target=rt,
            rate_control=rc,
            uplift=rt - rc,
            low=float(low),
            high=float(high),
            p_value=p,
            significant=bool(p < 1 - level),
        )
    )


def uplift_by_customer(
    entries: pd.DataFrame,
    outcome: str = "converted",
    group: str = "group",
    cluster: str = "customer_id",
    level: float = 0.95,
) -> pd.Series:
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
        out[g] = (per["sum"].to_numpy(float), per["size"].to_numpy(float))
    return clustered_uplift(*out["target"], *out["control"], level=level)


def clustered_uplift(
    y_target: np.ndarray, n_target: np.ndarray, y_control: np.ndarray, n_control: np.ndarray, level: float = 0.95
) -> pd.Series:
    """:func:`uplift_by_customer` from per-customer sums: outcomes ``y`` and entries ``n`` of each customer.

    A replay that already holds its entries as arrays (e.g. :meth:`helpers.workflows.Simulator.coverage`, a
    hundred replays of every entry) counts per customer with ``np.bincount`` and skips building a table.

    Parameters
    ----------
    y_target, n_target : array-like
        Per target customer: the sum of the outcome over their entries, and their number of entries.
    y_control, n_control : array-like
        The same for the control customers.
    level : float, default 0.95
        Confidence level of the interval.

    Examples
    --------
    >>> round(float(clustered_uplift([1, 1, 0, 1], [1, 1, 1, 1], [0, 1, 0, 0], [1, 1, 1, 1])["uplift"]), 2)
    0.5
    """
    out = {}
    for g, (y, n) in (("target", (y_target, n_target)), ("control", (y_control, n_control))):
        y, n = np.asarray(y, float), np.asarray(n, float)
        if len(y) == 0:
            raise KPIError(f"uplift_by_customer: the {g} group is empty (size 0); a {g} group is needed")
        r = y.sum() / n.sum()
        m = len(y)
        var = ((y - r * n) ** 2).sum() / n.sum() ** 2 * (m / (m - 1) if m > 1 else np.inf)
        out[g] = (r, var, int(n.sum()), m)
    diff = out["target"][0] - out["control"][0]
    se = float(np.sqrt(out["target"][1] + out["control"][1]))
    z = stats.norm.ppf(0.5 + level / 2)
    p = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else float(diff == 0)
    return pd.Series(
        dict(
            n_target=out["target"][2],
            n_control=out["control"][2],
            rate_target=out["target"][0],
            rate_control=out["control"][0],
            uplift=diff,
            se=se,
            low=diff - z * se,
            high=diff + z * se,
            p_value=p,
            significant=bool(p < 1 - level),
        )
    )


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
    return pd.DataFrame(
        dict(
            incremental_conversions=inc_conv,
            incremental_revenue=inc_rev,
            incremental_per_1000=inc_conv / s["sent"].where(s["sent"] > 0) * 1000,
            roi=(s["revenue"] - s["cost"]) / s["cost"].where(s["cost"] > 0),
            romi=(inc_rev - s["cost"]) / s["cost"].where(s["cost"] > 0),
        )
    )


def campaign_kpis(
    campaigns: pd.DataFrame,
    by: str | None = None,
    level: float = 0.95,
    n_boot: int = 2000,
    value_cv: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """The KPI table: per campaign, or per value of ``by`` (``"channel"``, ``"target_segment"``) summed.

    Rates (lead-to-close among them) get Wilson intervals. ROMI and incremental conversions per 1,000 sent get
    percentile bootstrap intervals: per campaign a parametric bootstrap (each group's conversion rate from its
    Jeffreys posterior, revenue per converter with coefficient of variation ``value_cv``, since the table holds
    sums only); per group a bootstrap over the group's campaigns.
    Campaigns whose control group is empty get no uplift or ROMI (NaN, said in ``note``); without a
    ``lead_conversions`` column there is no lead-to-close.

    Parameters
    ----------
    campaigns : DataFrame
        One row per campaign with ``campaign_id, sent, opens, clicks, conversions, revenue, cost, control_size,
        control_conversions`` (and optionally ``lead_conversions``); revenue is net of discounts.
    by : str, optional
        A column to sum campaigns by (``"channel"``, ``"target_segment"``); default: one row per campaign.
    level : float, default 0.95
        Confidence level of the intervals.
    n_boot : int, default 2000
        Bootstrap resamples.
    value_cv : float, default 1.0
        Coefficient of variation of revenue per converter, for the per-campaign parametric bootstrap.
    seed : int, default 0
        Random seed of the bootstrap.

    Examples
    --------
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
    for name, num, den in (
        ("open_rate", "opens", "sent"),
        ("ctr", "clicks", "sent"),
        ("cto", "clicks", "opens"),
        ("conversion_rate", "conversions", "sent"),
    ):
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
        lo, hi = wilson(s["lead_conversions"][ok], s["clicks"][ok], level) if ok.any() else (np.array([]), np.array([]))
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
    for conv, n, rev in (
        ("conversions", "sent", "revenue"),
        ("control_conversions", "control_size", "control_revenue"),
    ):
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
    """Revenue, cost, ROI and ROMI per channel (the campaign-workflow step end to end), bootstrap over campaigns.

    Parameters
    ----------
    campaigns : DataFrame
        The campaigns table, as for :func:`campaign_kpis`.
    level : float, default 0.95
        Confidence level of the intervals.
    n_boot : int, default 2000
        Bootstrap resamples over campaigns.
    seed : int, default 0
        Random seed of the bootstrap.
    """
    k = campaign_kpis(campaigns, by="channel", level=level, n_boot=n_boot, seed=seed)
    return k[
        [
            "campaigns",
            "delivered",
            "conversion_rate",
            "uplift",
            "revenue",
            "incremental_revenue",
            "cost",
            "roi",
            "romi",
            "romi_low",
            "romi_high",
        ]
    ]


def workflow_kpis(entries: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Target-versus-control KPIs of a workflow replay (:func:`helpers.workflows.simulate`), per entry.

    Rows: conversion rate and revenue per entry (after discounts) in each group with the uplift and its
    clustered interval (:func:`uplift_by_customer`); messages, message cost and discounts given per target
    entry; incremental profit per entry (revenue uplift - message cost); and ROMI = incremental profit /
    (message cost + discounts given), the return on what the workflow spent.

    Parameters
    ----------
    entries : DataFrame
        One row per entry of a workflow replay (:func:`helpers.workflows.simulate`), target and control.
    level : float, default 0.95
        Confidence level of the intervals.
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
