"""The synthetic world: deterministic, self-consistent, and carrying the truth it claims to plant."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from helpers import synth
from helpers.explore import pair_lift
from helpers.synth import generate_world, read_manifest, write_world
from helpers.world import TABLES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world():
    """The default course world (seed 42, 20,000 customers), generated in memory."""
    return generate_world()


# ---------------------------------------------------------------------------------------------------- determinism
def _digests(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def test_same_seed_gives_byte_identical_files(tmp_path, small_world):
    again = generate_world(seed=7, n_customers=3_000, n_campaigns=60)
    a, b = write_world(small_world, tmp_path / "a"), write_world(again, tmp_path / "b")
    assert a == b
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")


def test_another_seed_gives_another_world(small_world):
    other = generate_world(seed=8, n_customers=3_000, n_campaigns=60)
    assert not small_world.transactions.equals(other.transactions)


def test_default_world_reproduces_the_committed_manifest(tmp_path, world):
    got = write_world(world, tmp_path)
    assert got == read_manifest(ROOT / "data" / "MANIFEST.sha256")


def test_cli_check_passes_on_identical_and_fails_on_changed_manifest(tmp_path, capsys):
    args = ["--seed", "3", "--customers", "400", "--campaigns", "10", "--out", str(tmp_path / "w")]
    assert synth.main(args) == 0
    manifest = tmp_path / "w" / "MANIFEST.sha256"
    assert synth.main([*args, "--check", str(manifest)]) == 0
    manifest.write_text(manifest.read_text().replace(manifest.read_text()[:8], "00000000", 1))
    assert synth.main([*args, "--check", str(manifest)]) == 1
    assert "differ from" in capsys.readouterr().err


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_segments=1), "n_segments"),
        (dict(n_segments=9), "n_segments"),
        (dict(n_customers=50), "n_customers"),
        (dict(n_products=10), "n_products"),
        (dict(n_campaigns=0), "n_campaigns"),
    ],
)
def test_bad_generator_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_world(**kwargs)


# ---------------------------------------------------------------------------------------------------- structure
def test_every_table_is_there_and_segment_is_latent(world):
    assert set(world.tables) == set(TABLES)
    assert not any("segment" in c for c in world.customers.columns)
    assert world.campaigns.shape[0] >= 200


def test_every_truth_key_is_described(world):
    for key in world.truth.keys():
        assert len(world.truth.entries[key]["description"]) > 15, key
    d = world.truth.describe()
    assert list(d["key"]) == world.truth.keys()


@pytest.mark.parametrize("k", [3, 6])
def test_number_of_segments_is_a_parameter(k):
    w = generate_world(seed=11, n_customers=1_000, n_segments=k, n_campaigns=10)
    assert w.truth["n_segments"] == k
    assert sorted(set(w.truth.customers["segment"])) == list(range(k))


def test_segment_shares_match_the_planted_shares(world):
    drawn = world.truth.customers["segment"].value_counts(normalize=True).sort_index()
    planted = np.array([s["share"] for s in world.truth["segments"]])
    assert np.abs(drawn.to_numpy() - planted).max() < 0.02


# ---------------------------------------------------------------------------------------------------- consistency
def test_no_orders_or_sessions_after_churn(world):
    churn = world.truth.customers.set_index("customer_id")["churn_date"]
    last_order = world.transactions.groupby("customer_id")["order_date"].max()
    both = pd.concat([last_order, churn], axis=1, join="inner").dropna()
    assert (both["order_date"] < both["churn_date"] + pd.Timedelta(days=1)).all()
    visits = world.events[world.events["event_type"] == "site_visit"]
    last_visit = visits.groupby("customer_id")["timestamp"].max()
    both = pd.concat([last_visit, churn], axis=1, join="inner").dropna()
    assert (both["timestamp"] < both["churn_date"] + pd.Timedelta(days=1)).all()


def test_campaign_counts_equal_their_events(world):
    ev = world.events.dropna(subset=["campaign_id"])
    counts = ev.groupby(["campaign_id", "event_type"]).size().unstack(fill_value=0)
    c = world.campaigns.set_index("campaign_id")
    opens = counts.reindex(c.index).fillna(0)
    assert (opens["email_open"] + opens["push_open"] == c["opens"]).all()
    assert (opens["email_click"] + opens["push_click"] == c["clicks"]).all()
    assert (opens["email_sent"] + opens["push_sent"] == c["sent"]).all()
    assert (c["audience_size"] == c["sent"] + c["control_size"]).all()
    assert (c["opens"] <= c["sent"]).all() and (c["clicks"] <= c["opens"]).all()


def test_experiment_sends_equal_their_events(world):
    es = world.email_sends
    ev = world.events[world.events["campaign_id"].isin(set(world.experiments["campaign_id"]))]
    assert (ev["event_type"] == "email_sent").sum() == len(es)
    assert (ev["event_type"] == "email_open").sum() == es["opened"].sum()
    assert (ev["event_type"] == "email_click").sum() == es["clicked"].sum()
    assert not es.duplicated(["campaign_id", "customer_id"]).any()


def test_unsubscribed_customers_have_no_consent(world):
    unsub = world.events.loc[world.events["event_type"] == "unsubscribe", "customer_id"].unique()
    assert len(unsub) > 0
    assert not world.customers.set_index("customer_id").loc[unsub, "email_consent"].any()


def test_lead_features_are_counts_of_lead_events(world):
    counts = world.lead_events.groupby(["lead_id", "event_type"]).size().unstack(fill_value=0)
    leads = world.leads.set_index("lead_id")
    counts = counts.reindex(leads.index).fillna(0).astype(int)
    pairs = {
        "site_visits": "site_visit",
        "product_page_views": "product_page_view",
        "catalog_clicks": "catalog_click",
        "guide_downloads": "guide_download",
        "payment_form_views": "payment_form_view",
        "email_opens": "email_open",
        "email_clicks": "email_click",
        "social_engagements": "social_engagement",
    }
    for col, ev in pairs.items():
        assert (leads[col] == counts[ev]).all(), col
    assert (leads["unsubscribed"] == (counts["unsubscribe"] > 0)).all()
    last = world.lead_events.groupby("lead_id")["timestamp"].max().reindex(leads.index)
    end = leads["created_date"] + pd.Timedelta(days=30)
    assert ((end - last).dt.floor("D").dt.days == leads["days_since_last_activity"]).all()


def test_orders_are_chronological_and_prices_follow_the_catalogue(world):
    tx = world.transactions
    first = tx.groupby("order_id")["order_date"].first()
    assert first.is_monotonic_increasing
    price = tx["product_id"].astype(str).map(world.products.set_index("product_id")["price"])
    ratio = (tx["unit_price"] / price).round(2)
    assert ratio.isin([1.0, 0.9, 0.85, 0.8]).all()


# ---------------------------------------------------------------------------------------------------- planted truth
def test_planted_rules_show_their_closed_form_lift(world):
    for r in world.truth["association_rules"]:
        obs = pair_lift(world.transactions, r["antecedent"], r["consequent"])
        assert obs["lift"] == pytest.approx(r["lift"], rel=0.05)
        assert obs["confidence"] == pytest.approx(r["confidence"], rel=0.05)
    assert world.truth["association_min_lift"] == min(r["lift"] for r in world.truth["association_rules"])


def _lead_design(leads: pd.DataFrame) -> pd.DataFrame:
    x = pd.DataFrame(index=leads.index)
    for c in (
        "site_visits",
        "catalog_clicks",
        "payment_form_views",
        "email_opens",
        "email_clicks",
        "social_engagements",
    ):
        x[c] = np.log1p(leads[c])
    x["product_page_views"] = (leads["product_page_views"] >= 3).astype(float)
    x["guide_downloads"] = leads["guide_downloads"].astype(float)
    x["days_since_last_activity"] = leads["days_since_last_activity"].astype(float)
    x["unsubscribed"] = leads["unsubscribed"].astype(float)
    x["age"] = (leads["age"] - 40) / 10
    x["is_female"] = (leads["gender"] == "F").astype(float)
    x["income_high"] = (leads["income_band"] == "high").astype(float)
    x["source_referral"] = (leads["source"] == "referral").astype(float)
    x["region_north"] = (leads["region"] == "North").astype(float)
    return x[list(synth.LEAD_FEATURES)]


def test_lead_model_is_recovered_by_maximum_likelihood():
    """An unpenalised logistic fit on the planted transforms recovers the planted coefficients."""
    w = generate_world(seed=5, n_customers=2_000, n_leads=60_000, n_campaigns=10)
    leads = w.leads[~np.asarray(w.truth.leads["after_drift"])]
    fit = LogisticRegression(C=np.inf, max_iter=2000).fit(_lead_design(leads), leads["converted"])
    coef = dict(zip(synth.LEAD_FEATURES, fit.coef_[0], strict=True))
    for name, planted in synth.LEAD_COEF_BEFORE.items():
        got = fit.intercept_[0] if name == "intercept" else coef[name]
        tol = 0.02 if name == "days_since_last_activity" else 0.2
        assert got == pytest.approx(planted, abs=tol), name


def test_lead_probabilities_in_truth_match_the_formula(world):
    leads = world.leads
    x = _lead_design(leads)
    after = np.asarray(world.truth.leads["after_drift"])
    eta = np.where(
        after,
        synth.LEAD_COEF_AFTER["intercept"] + x.to_numpy() @ [synth.LEAD_COEF_AFTER[f] for f in x.columns],
        synth.LEAD_COEF_BEFORE["intercept"] + x.to_numpy() @ [synth.LEAD_COEF_BEFORE[f] for f in x.columns],
    )
    p = 1 / (1 + np.exp(-eta))
    np.testing.assert_allclose(p, world.truth.leads["p_convert"], atol=1e-6)
    assert after.any() and (~after).any()
    assert (leads.loc[after, "created_date"] >= pd.Timestamp("2025-07-01")).all()


def test_send_time_tests_favour_each_segment_s_planted_hour(world):
    """In the send-time experiments, per segment, the best observed hour is within 3 h of the planted best."""
    es = world.email_sends.merge(world.experiments[["campaign_id", "kind"]], on="campaign_id")
    es = es[es["kind"] == "send_time"]
    seg = world.truth.customers.set_index("customer_id")["segment_name"]
    rates = es.assign(segment=es["customer_id"].map(seg)).groupby(["segment", "send_hour"])["opened"].mean()
    for name, best in world.truth["best_send_hour"].items():
        r = rates.loc[name]
        found = int(r.idxmax())
        assert min(abs(found - best), 24 - abs(found - best)) <= 3, (name, found, best)


def test_open_curves_peak_at_the_best_hour(world):
    for name, curve in world.truth["open_rate_by_hour"].items():
        assert int(np.argmax(curve)) == world.truth["best_send_hour"][name]


def test_holdout_shows_the_planted_campaign_effect(world):
    """Sent groups convert more than their holdouts, on aggregate (the campaigns have an effect)."""
    c = world.campaigns
    treated = c["conversions"].sum() / c["sent"].sum()
    control = c["control_conversions"].sum() / c["control_size"].sum()
    se = np.sqrt(treated * (1 - treated) / c["sent"].sum() + control * (1 - control) / c["control_size"].sum())
    assert treated - control > 3 * se


def test_drift_raises_churn_of_the_drifting_segment(world):
    lat = world.truth.customers
    seg = world.truth["churn_model"]["drift_segment"]
    m = lat["segment_name"] == seg
    d = pd.Timestamp("2025-07-01")
    half = pd.Timedelta(days=182)
    before = lat.loc[m, "churn_date"].between(d - half, d, inclusive="left").sum()
    after = lat.loc[m, "churn_date"].between(d, d + half, inclusive="left").sum()
    assert after > 1.4 * before


# ------------------------------------------------------------------------------------ the test of several treatments
def test_campaign_sends_is_a_randomised_test_after_the_history(world):
    s = world.tables["campaign_sends"]
    test = world.truth["uplift_test"]
    assert list(s["arm"].unique()) != [] and set(s["arm"]) == set(test["arms"])
    assert s["customer_id"].is_unique and s["customer_id"].is_monotonic_increasing
    # equal shares, as drawn: every arm within 4 binomial standard errors of a quarter
    share = s["arm"].value_counts(normalize=True)
    assert (share - 0.25).abs().max() < 4 * np.sqrt(0.25 * 0.75 / len(s))
    # everyone who may receive email and signed up before the send, and nobody else
    cust = world.customers.set_index("customer_id")
    sent_at = pd.Timestamp(f"{test['send_date']} {test['send_hour']:02d}:00")
    eligible = cust.index[cust["email_consent"] & (cust["signup_date"] < sent_at.normalize())]
    assert s["customer_id"].tolist() == eligible.tolist()
    assert (s["sent_at"] == sent_at).all() and sent_at > world.transactions["order_date"].max()
    control = s["arm"] == test["arms"][0]
    assert not s.loc[control, ["opened", "clicked"]].any().any()
    assert (s["clicked"] <= s["opened"]).all()
    bought = s["converted"]
    assert (s["converted_at"].notna() == bought).all() and ((s["revenue"] > 0) == bought).all()
    wait = (s.loc[bought, "converted_at"] - s.loc[bought, "sent_at"]).dt.total_seconds() / 86400
    assert wait.min() >= 0 and wait.max() < test["window_days"]


def test_campaign_sends_outcomes_follow_the_true_probabilities(world):
    """Each arm's observed rates agree with the mean of its recipients' true probabilities (4 standard errors)."""
    s = world.tables["campaign_sends"]
    r = pd.DataFrame(world.truth["uplift_test"]["recipients"])
    assert r["customer_id"].tolist() == s["customer_id"].tolist() and r["arm"].tolist() == s["arm"].tolist()
    for arm, rows in r.groupby("arm"):
        got = s.loc[rows.index]
        for observed, p in [(got["converted"], rows[f"p_{arm}"])] + (
            [(got["opened"], rows["p_open"]), (got["clicked"], rows[f"p_click_{arm}"])] if arm != "control" else []
        ):
            se = np.sqrt((p * (1 - p)).sum()) / len(p)
            assert abs(observed.mean() - p.mean()) < 4 * se, (arm, observed.name)


def test_campaign_sends_truth_agrees_with_the_planted_rates(world):
    """Without a message, the true probability is the organic one, from the customer's own order rate and churn."""
    from helpers.planted import UpliftTest

    test, dog = UpliftTest.from_truth(world.truth)
    r = pd.DataFrame(world.truth["uplift_test"]["recipients"])
    lat = world.truth.customers.set_index("customer_id").loc[r["customer_id"]]
    active = lat["churn_date"].isna().to_numpy()
    expected = test.p_organic(lat["orders_per_month"].to_numpy(), active)
    np.testing.assert_allclose(r["p_control"], expected, atol=1e-6)
    # the sleeping dogs lose with every treatment; the churned gain nothing; the others gain on average
    dogs = (lat["segment_name"] == dog).to_numpy()
    for arm in test.arms[1:]:
        uplift = r[f"p_{arm}"] - r["p_control"]
        assert (uplift[dogs & active] < 0).mean() > 0.95
        assert np.allclose(uplift[~active], 0.0)
        assert uplift[~dogs & active].mean() > 0.005
    # realistic effects: on average below 2 points, and nowhere above 20
    uplifts = np.stack([r[f"p_{a}"] - r["p_control"] for a in test.arms[1:]])
    assert abs(uplifts.mean()) < 0.02 and np.abs(uplifts).max() < 0.2


def test_a_truth_file_of_an_older_generator_is_refused_by_name(small_world):
    from helpers.planted import ChurnModel, ResponseModel, UpliftTest

    for cls, key, drop in (
        (ResponseModel, "response_model", "holdout_share"),
        (ChurnModel, "churn_model", "drift_segment"),
        (UpliftTest, "uplift_test", "window_days"),
    ):
        assert cls.from_truth(small_world.truth) is not None
        old = {key: {k: v for k, v in small_world.truth[key].items() if k != drop}}
        with pytest.raises(ValueError, match=rf"truth {key} lacks \['{drop}'\]: regenerate the world"):
            cls.from_truth(old)
