"""sendtime: exact regret of the split, Thompson against the planted curves, the prior, the fatigue curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import sendtime as st


def _curves() -> pd.DataFrame:
    hours = np.arange(6, 23)
    peak = {"early": 9, "late": 20}
    return pd.DataFrame(
        {
            h: {s: 1 / (1 + np.exp(-(-1.2 + 1.1 * (np.cos(2 * np.pi * (h - p) / 24) - 1)))) for s, p in peak.items()}
            for h in hours
        }
    )


def test_split_regret_is_exact_and_oracle_has_none():
    curves = _curves()
    split = st.simulate(curves, "split", audience=170, n_campaigns=3, seed=0)
    p = curves.to_numpy()
    expected = 170 * p.max(axis=1) - 10 * p.sum(axis=1)  # 170 recipients over 17 hours: 10 each
    assert split.groupby("segment", sort=False)["regret"].sum().to_numpy() == pytest.approx(3 * expected)
    oracle = st.simulate(curves, "oracle", audience=170, n_campaigns=3, seed=0)
    assert oracle["regret"].abs().max() < 1e-9
    with pytest.raises(ValueError, match="policy must be one of"):
        st.simulate(curves, "greedy")


def test_baselines_pooled_hour_and_explore_then_commit():
    curves = _curves()  # "early" peaks at 9, "late" at 20: no single hour is best for both
    p = curves.to_numpy()
    pooled = st.simulate(curves, "pooled", audience=1700, n_campaigns=6, seed=3)
    later = pooled[pooled["campaign"] > 1]
    assert all(np.count_nonzero(s) == 1 for s in later["sends"])  # one hour per segment and campaign...
    per_campaign = later.groupby("campaign")["sends"].agg(lambda c: {int(np.argmax(s)) for s in c})
    assert per_campaign.map(len).eq(1).all()  # ...and the same hour for every segment
    commit = st.simulate(curves, "explore-commit", audience=1700, n_campaigns=6, explore=2, seed=3)
    first, rest = commit[commit["campaign"] <= 2], commit[commit["campaign"] > 2]
    assert all(min(s) == max(s) for s in first["sends"])  # the equal split while exploring
    chosen = rest.groupby("segment", sort=False)["sends"].agg(lambda c: {int(np.argmax(s)) for s in c})
    assert chosen.map(len).eq(1).all()  # committed: the same hour in every later campaign
    peak = dict(zip(curves.index, curves.columns[p.argmax(axis=1)], strict=True))
    assert {s: int(curves.columns[h.pop()]) for s, h in chosen.items()} == pytest.approx(peak, abs=1)
    # a policy that adapts per segment loses less than one that cannot, once both have learned
    assert rest["regret"].sum() < pooled[pooled["campaign"] > 2]["regret"].sum()
    with pytest.raises(ValueError, match="explore must be"):
        st.simulate(curves, "explore-commit", n_campaigns=4, explore=0)


def test_smooth_best_hour_on_a_known_curve():
    season = st.simulate(_curves(), "split", audience=3400, n_campaigns=20, seed=1)
    best = st.best_hours(season)
    assert best["best_hour"].to_dict() == {"early": 9, "late": 20}
    assert (best["peak"] - pd.Series({"early": 9, "late": 20})).abs().max() < 0.5


def test_thompson_on_the_course_world(course_world):
    curves = st.open_curves(course_world.truth)
    seg = course_world.truth.customers.set_index("customer_id")["segment_name"]
    consent = course_world.customers.set_index("customer_id")["email_consent"].astype(bool)
    audience = seg[consent].value_counts().reindex(curves.index).to_numpy()
    x = course_world.experiments
    past = course_world.email_sends[
        course_world.email_sends["campaign_id"].isin(x.loc[x["kind"] == "send_time", "campaign_id"])
    ]
    prior = st.history_prior(past)
    regret = {}
    for policy in ("split", "epsilon", "thompson", "pooled", "explore-commit"):
        season = st.simulate(curves, policy, audience=audience, n_campaigns=52, prior=prior, seed=42)
        regret[policy] = season["regret"].sum()
        if policy == "thompson":
            found = st.best_hours(season)["best_hour"]
    assert regret["thompson"] <= 0.3 * regret["split"] and regret["thompson"] < regret["epsilon"]
    assert regret["thompson"] < regret["pooled"]  # segments differ: one hour for everyone leaves opens behind
    assert found.to_dict() == course_world.truth["best_send_hour"]


def test_history_prior():
    sends = pd.DataFrame({"send_hour": [8, 8, 8, 8, 20, 20], "opened": [1, 0, 0, 0, 1, 1]})
    a, b = st.history_prior(sends, hours=[8, 12, 20], strength=10)
    assert (a + b).tolist() == [10, 10, 10]
    assert (a / 10).tolist() == pytest.approx([0.25, 0.5, 1 - 1e-3])  # 12 h never tried: overall 3/6
    with pytest.raises(ValueError, match="no column 'opened'"):
        st.history_prior(sends.drop(columns="opened"))
    with pytest.raises(ValueError, match="no past sends"):
        st.history_prior(sends.iloc[:0])


def test_frequency_curve_by_hand(course_world):
    truth = course_world.truth
    curve = st.frequency_curve(truth, "loyal_regulars", per_month=[4.0, 10.0, 30.0], months=12)
    rm = truth["response_model"]
    seg = next(s for s in truth["segments"] if s["name"] == "loyal_regulars")
    fatigue = 1 / np.expm1(30.4375 / 4 / rm["fatigue_tau_days"])
    p_open = 1 / (1 + np.exp(-(seg["open_logit"] - rm["fatigue_gamma"] * fatigue)))
    assert curve.loc[4.0, "open_rate"] == pytest.approx(p_open)
    assert curve.loc[4.0, "clicks_while_subscribed"] == pytest.approx(4 * p_open / (1 + np.exp(-seg["click_logit"])))
    full = st.frequency_curve(truth, "loyal_regulars")
    best = full["clicks_per_month"].idxmax()
    assert full.index.min() < best < full.index.max()  # fatigue makes "more" stop paying before the maximum
    assert full["open_rate"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="unknown segment"):
        st.frequency_curve(truth, "nobody")


def test_batched_thompson_behaves_like_thompson_per_recipient(monkeypatch):
    """Past THOMPSON_DRAWS recipients the audience is split by estimated shares: the same regret, the same hours."""
    curves = _curves()
    audience = 3 * st.THOMPSON_DRAWS  # batched by default

    def seasons(per_recipient: bool) -> np.ndarray:
        if per_recipient:
            monkeypatch.setattr(st, "THOMPSON_DRAWS", 10**9)
        out = []
        for seed in range(12):
            season = st.simulate(curves, "thompson", audience=audience, n_campaigns=12, seed=seed)
            assert (season["sends"].map(sum) == audience).all()  # the multinomial split sends to everyone
            out.append(season["regret"].sum())
        monkeypatch.undo()
        return np.array(out)

    batched, exact = seasons(False), seasons(True)
    gap = abs(batched.mean() - exact.mean())
    se = np.sqrt(batched.var(ddof=1) / len(batched) + exact.var(ddof=1) / len(exact))
    assert gap < 4 * se, (batched.mean(), exact.mean(), se)
    assert batched.mean() < 0.3 * st.simulate(curves, "split", audience=audience, n_campaigns=12)["regret"].sum()
