"""KPIs: intervals against independent formulas, uplift coverage, the forecast on a world it can model, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import kpis


def _wilson_by_hand(k, n, level=0.95):
    z = stats.norm.ppf(0.5 + level / 2)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def test_wilson_matches_the_formula():
    k, n = np.array([0, 3, 50, 99]), np.array([20, 40, 100, 100])
    low, high = kpis.wilson(k, n)
    lo2, hi2 = _wilson_by_hand(k, n)
    np.testing.assert_allclose(low, lo2, atol=1e-12)
    np.testing.assert_allclose(high, hi2, atol=1e-12)
    with pytest.raises(kpis.KPIError, match="n must be > 0"):
        kpis.wilson([1], [0])


def test_uplift_is_newcombes_interval():
    u = kpis.uplift(130, 1000, 45, 500)
    (l1, h1), (l2, h2) = _wilson_by_hand(130, 1000), _wilson_by_hand(45, 500)
    p1, p2 = 0.13, 0.09
    assert u["uplift"] == pytest.approx(p1 - p2)
    assert u["low"] == pytest.approx(p1 - p2 - np.sqrt((p1 - l1) ** 2 + (h2 - p2) ** 2), abs=1e-12)
    assert u["high"] == pytest.approx(p1 - p2 + np.sqrt((h1 - p1) ** 2 + (p2 - l2) ** 2), abs=1e-12)
    assert u["significant"] and u["p_value"] < 0.05
    assert not kpis.uplift(50, 1000, 24, 500)["significant"]


def test_uplift_refuses_an_empty_group():
    with pytest.raises(kpis.KPIError, match="control group has size 0"):
        kpis.uplift(10, 100, 0, 0)
    with pytest.raises(kpis.KPIError, match="target group has size 0"):
        kpis.uplift(0, 0, 3, 50)
    e = pd.DataFrame({"customer_id": [1, 2], "group": ["target", "target"], "converted": [1, 0]})
    with pytest.raises(kpis.KPIError, match="control group is empty"):
        kpis.uplift_by_customer(e)


def test_uplift_by_customer_without_repeats_is_the_two_sample_formula():
    rng = np.random.default_rng(1)
    y = rng.random(600) < np.r_[np.full(300, 0.3), np.full(300, 0.2)]
    e = pd.DataFrame({"customer_id": np.arange(600), "group": ["target"] * 300 + ["control"] * 300, "converted": y})
    u = kpis.uplift_by_customer(e)
    p1, p2 = y[:300].mean(), y[300:].mean()
    se = np.sqrt(p1 * (1 - p1) / 299 + p2 * (1 - p2) / 299)  # cluster variance with m/(m-1)
    assert u["uplift"] == pytest.approx(p1 - p2)
    assert u["se"] == pytest.approx(se, rel=1e-12)


def test_uplift_by_customer_widens_for_repeated_customers():
    """Customers who enter many times and always do the same carry less information than independent rows."""
    rng = np.random.default_rng(2)
    cust = np.repeat(np.arange(200), 5)
    y = np.repeat(rng.random(200) < 0.3, 5)
    e = pd.DataFrame({"customer_id": cust, "group": np.where(cust < 100, "target", "control"), "converted": y})
    clustered = kpis.uplift_by_customer(e)["se"]
    naive = kpis.uplift_by_customer(e.assign(customer_id=np.arange(1000)))["se"]
    assert clustered > 2 * naive


def _campaigns():
    return pd.DataFrame(
        {
            "campaign_id": ["C1", "C2", "C3"],
            "channel": ["email", "email", "push"],
            "sent": [1000, 2000, 500],
            "opens": [200, 300, 150],
            "clicks": [50, 60, 20],
            "conversions": [40, 50, 15],
            "lead_conversions": [12, 20, 5],
            "revenue": [4000.0, 5000.0, 1500.0],
            "control_size": [100, 200, 50],
            "control_conversions": [2, 3, 1],
            "control_revenue": [200.0, 300.0, 100.0],
            "cost": [300.0, 400.0, 260.0],
        }
    )


def test_campaign_kpis_by_hand():
    c = _campaigns()
    k = kpis.campaign_kpis(c, n_boot=200)
    r = k.loc["C1"]
    assert r["open_rate"] == 0.2 and r["ctr"] == 0.05 and r["cto"] == 0.25 and r["conversion_rate"] == 0.04
    assert r["uplift"] == pytest.approx(0.04 - 0.02)
    assert r["incremental_conversions"] == pytest.approx(40 - 0.02 * 1000)
    assert r["incremental_revenue"] == pytest.approx(4000 - 2.0 * 1000)
    assert r["lead_to_close"] == pytest.approx(12 / 50)  # closes among leads: a rate in [0, 1]
    assert r["incremental_per_1000"] == pytest.approx((40 - 0.02 * 1000) / 1000 * 1000)
    assert r["roi"] == pytest.approx((4000 - 300) / 300)
    assert r["romi"] == pytest.approx((2000 - 300) / 300)
    assert r["cost_per_lead"] == pytest.approx(6.0)
    for name in ("open_rate", "ctr", "cto", "conversion_rate", "romi", "lead_to_close", "incremental_per_1000"):
        assert (k[f"{name}_low"] <= k[name]).all() and (k[name] <= k[f"{name}_high"]).all(), name
    by = kpis.campaign_kpis(c, by="channel", n_boot=200)
    assert by.loc["email", "delivered"] == 3000 and by.loc["email", "campaigns"] == 2
    assert by.loc["email", "open_rate"] == pytest.approx(500 / 3000)
    ch = kpis.channel_view(c, n_boot=200)
    assert ch["revenue"].sum() == pytest.approx(c["revenue"].sum())
    assert ch["cost"].sum() == pytest.approx(c["cost"].sum())


def test_romi_of_a_hand_computed_discounted_campaign_counts_the_discount_once():
    """1,000 sent with a 20 % discount: 50 buyers pay 80 each net (list price 100), the holdout of 1,000 has 30 buyers
    paying 100 in full. Revenue is net of the discount, so the discount is already paid; cost is 250 + 1,000 x 0.004."""
    c = pd.DataFrame(
        {
            "campaign_id": ["D1"],
            "channel": ["email"],
            "discount": [0.2],
            "sent": [1000],
            "opens": [300],
            "clicks": [60],
            "conversions": [50],
            "lead_conversions": [30],
            "revenue": [50 * 80.0],
            "control_size": [1000],
            "control_conversions": [30],
            "control_revenue": [30 * 100.0],
            "cost": [250 + 1000 * 0.004],
        }
    )
    r = kpis.campaign_kpis(c, n_boot=100).loc["D1"]
    incremental = 50 * 80.0 - 30 * 100.0  # 1,000: what the campaign brought in, after its discount
    assert r["incremental_revenue"] == pytest.approx(incremental)
    assert r["romi"] == pytest.approx((incremental - 254) / 254)
    assert r["roi"] == pytest.approx((4000 - 254) / 254)
    assert r["lead_to_close"] == pytest.approx(0.5) and r["incremental_per_1000"] == pytest.approx(20.0)


def test_the_world_charges_a_campaign_what_it_paid_out_and_not_its_discounts_again(course_world):
    """Revenue is net of discounts (unit price = list x (1 - d)): a cost that adds d / (1 - d) x revenue counts the
    discount twice, on full-price orders too. The world's cost is the fixed cost plus each message."""
    c = course_world.campaigns
    rm = course_world.truth["response_model"]
    expected = rm["fixed_cost_per_campaign"] + c["sent"] * c["channel"].astype(str).map(rm["channel_cost_per_send"])
    assert np.allclose(c["cost"], expected.round(2), atol=0.006)
    assert (c["lead_conversions"] <= c[["clicks", "conversions"]].min(axis=1)).all()
    k = kpis.campaign_kpis(c, n_boot=50)
    assert k["lead_to_close"].dropna().between(0, 1).all()
    assert k["lead_to_close"].isna().sum() == (c["clicks"] == 0).sum()  # no lead, no lead-to-close


def test_campaign_kpis_bootstrap_covers_the_true_romi():
    """Per-campaign ROMI intervals from the parametric bootstrap hold the true ROMI in about 95 % of replays."""
    rng = np.random.default_rng(3)
    n, m, p_t, p_c, value, cost = 3000, 300, 0.05, 0.03, 100.0, 2000.0
    true_romi = ((p_t - p_c) * n * value - cost) / cost
    rows = []
    for i in range(200):
        conv, ctl = rng.binomial(n, p_t), rng.binomial(m, p_c)
        rows.append(
            dict(
                campaign_id=f"C{i}",
                channel="email",
                sent=n,
                opens=n // 5,
                clicks=n // 20,
                conversions=conv,
                revenue=rng.gamma(conv, value) if conv else 0.0,
                control_size=m,
                control_conversions=ctl,
                control_revenue=rng.gamma(ctl, value) if ctl else 0.0,
                cost=cost,
            )
        )
    k = kpis.campaign_kpis(pd.DataFrame(rows), n_boot=1000, value_cv=1.0)
    covered = ((k["romi_low"] <= true_romi) & (true_romi <= k["romi_high"])).mean()
    assert 0.9 <= covered <= 0.99


def test_campaign_kpis_interval_width_counts_the_sampling_variance_once():
    """The per-campaign interval of incremental conversions per 1,000 is as wide as the normal theory says, and
    covers the truth about 95 % of the time (a binomial draw on top of the rate's posterior made it 1.41x wide,
    with 99 % coverage)."""
    rng = np.random.default_rng(0)
    n, m, p_t, p_c = 5000, 1000, 0.05, 0.04
    rows = []
    for i in range(300):
        conv, ctl = rng.binomial(n, p_t), rng.binomial(m, p_c)
        rows.append(
            dict(
                campaign_id=f"C{i}",
                sent=n,
                opens=1000,
                clicks=200,
                conversions=conv,
                revenue=conv * 50.0,
                control_size=m,
                control_conversions=ctl,
                control_revenue=ctl * 50.0,
                cost=100.0,
            )
        )
    k = kpis.campaign_kpis(pd.DataFrame(rows), n_boot=2000, value_cv=0.0)
    se = np.sqrt(p_t * (1 - p_t) / n + p_c * (1 - p_c) / m) * 1000
    width = (k["incremental_per_1000_high"] - k["incremental_per_1000_low"]).mean() / (2 * 1.96 * se)
    assert width == pytest.approx(1.0, abs=0.06)
    truth = (p_t - p_c) * 1000
    covered = ((k["incremental_per_1000_low"] <= truth) & (truth <= k["incremental_per_1000_high"])).mean()
    assert 0.91 <= covered <= 0.98


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.assign(sent=[0, 2000, 500]), "C1 have sent = 0"),
        (lambda c: c.assign(cost=[np.nan, 1.0, 1.0]), "column cost is missing or not a number for campaign.s. C1"),
        (lambda c: c.drop(columns="cost"), "missing column.s. cost"),
        (lambda c: c.assign(revenue=[-1.0, 1.0, 1.0]), "column revenue is negative"),
        (lambda c: c.assign(opens=[2000, 300, 150]), "opens > sent for campaign.s. C1"),
        (lambda c: c.iloc[:0], "the table is empty"),
    ],
)
def test_campaign_kpis_bad_input(change, message):
    with pytest.raises(kpis.KPIError, match=message):
        kpis.campaign_kpis(change(_campaigns()))


def test_a_campaign_without_control_group_has_no_romi():
    c = _campaigns().assign(control_size=[0, 200, 50], control_conversions=[0, 3, 1], control_revenue=[0.0, 300, 100])
    k = kpis.campaign_kpis(c, n_boot=100)
    assert (
        np.isnan(k.loc["C1", "romi"]) and np.isnan(k.loc["C1", "uplift"]) and "no control group" in k.loc["C1", "note"]
    )
    assert np.isfinite(k.loc["C2", "romi"])
