"""The audience forecast: send history as of each send, personas as of a date, the per-recipient model and its CV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import audience, forecasting
from helpers.kpis import KPIError


@pytest.fixture(scope="module")
def history(small_world):
    return audience.send_history(small_world.events, small_world.transactions)


def test_send_history_counts_what_came_before_each_send(small_world, history):
    """Every per-send feature, recomputed for a sample of customers by a plain loop over their events."""
    ev = small_world.events.assign(
        campaign_id=small_world.events["campaign_id"].astype(object),
        event_type=small_world.events["event_type"].astype(str),
    )
    orders = small_world.transactions
    rng = np.random.default_rng(0)
    for cust in rng.choice(history["customer_id"].unique(), 25, replace=False):
        mine = ev[ev["customer_id"] == cust]
        sends = mine[mine["event_type"].isin(["email_sent", "push_sent"])]
        rows = history[history["customer_id"] == cust].reset_index(drop=True)
        assert len(rows) == len(sends)
        own_orders = pd.to_datetime(orders.loc[orders["customer_id"] == cust, "order_date"])
        for i, row in rows.iterrows():
            t = row["sent_at"]
            before = mine[mine["timestamp"] < t]
            assert row["messages_before"] == i
            assert row["opens_before"] == before["event_type"].isin(["email_open", "push_open"]).sum()
            assert row["clicks_before"] == before["event_type"].isin(["email_click", "push_click"]).sum()
            same = mine[mine["campaign_id"] == row["campaign_id"]]
            assert row["opened"] == same["event_type"].isin(["email_open", "push_open"]).any()
            visits = before[before["event_type"] == "site_visit"]["timestamp"]
            assert row["visits_before"] == len(visits)
            if len(visits):
                hours = (visits.dt.hour * 3600 + visits.dt.minute * 60 + visits.dt.second) / 86400 * 2 * np.pi
                assert row["visit_hour_cos"] == pytest.approx(np.cos(hours).mean(), abs=1e-12)
            activity = pd.concat([visits, own_orders[own_orders < t]])
            if len(activity):
                assert row["days_inactive"] == pytest.approx((t - activity.max()).total_seconds() / 86400)
            else:
                assert np.isnan(row["days_inactive"])
            earlier = rows.loc[: i - 1, "sent_at"] if i else pd.Series([], dtype="datetime64[ns]")
            fatigue = np.exp(-(t - earlier).dt.total_seconds() / 86400 / 10.0).sum()
            assert row["fatigue"] == pytest.approx(fatigue, abs=1e-9)


def test_send_history_outcomes_add_up_to_the_campaigns_table(small_world, history):
    per = history.groupby("campaign_id")[["opened", "clicked"]].sum()
    camps = small_world.campaigns.assign(campaign_id=small_world.campaigns["campaign_id"].astype(str))
    camps = camps.set_index("campaign_id")
    assert (per.loc[camps.index, "opened"].to_numpy() == camps["opens"].to_numpy()).all()
    assert (per.loc[camps.index, "clicked"].to_numpy() == camps["clicks"].to_numpy()).all()


def test_nothing_after_a_send_changes_its_row(small_world, history):
    """The features of the sends before a date are the same when every event after that date is removed."""
    cut = pd.Timestamp("2025-03-01")
    ev = small_world.events[small_world.events["timestamp"] < cut]
    orders = small_world.transactions[small_world.transactions["order_date"] < cut]
    short = audience.send_history(ev, orders)
    long = history[history["sent_at"] < cut - pd.Timedelta(days=30)].reset_index(drop=True)  # outcomes settled
    short = short[short["sent_at"] < cut - pd.Timedelta(days=30)].reset_index(drop=True)
    features = [c for c in long.columns if c not in ("opened", "clicked")]
    as_text = {"campaign_id": str}  # the categories differ: the shorter log has fewer campaigns
    pd.testing.assert_frame_equal(short[features].astype(as_text), long[features].astype(as_text))


def test_personas_use_only_activity_before_the_date(small_world):
    when = pd.Timestamp("2025-01-01")
    full = audience.personas_as_of(small_world.events, small_world.transactions, when, n_personas=4, random_state=3)
    ev = small_world.events[small_world.events["timestamp"] < when]
    orders = small_world.transactions[small_world.transactions["order_date"] < when]
    cut = audience.personas_as_of(ev, orders, when, n_personas=4, random_state=3)
    pd.testing.assert_series_equal(full.loc[cut.index], cut)
    assert set(full.unique()) <= set(range(5)) and full.attrs["n_personas"] == 4
    later = full.index.difference(cut.index)  # customers whose first activity is after the date
    assert (full.loc[later] == 4).all()


def test_personas_find_the_planted_segments_by_their_hours(small_world):
    """The segments differ in the hour they are active: personas at the end of the history recover them."""
    from sklearn.metrics import adjusted_rand_score

    end = pd.Timestamp(small_world.events["timestamp"].max())
    personas = audience.personas_as_of(small_world.events, small_world.transactions, end, n_personas=5)
    latent = pd.DataFrame(small_world.truth["customer_latent"]).set_index("customer_id")["segment"]
    active = personas[personas < 5]
    assert adjusted_rand_score(latent.loc[active.index], active) > 0.5


@pytest.fixture(scope="module")
def small_cv(small_world, history):
    return audience.audience_cv(
        history, small_world.campaigns, small_world.events, small_world.transactions, n_splits=4, test_size=8
    )


def test_audience_forecast_beats_the_campaign_glm_against_truth(small_world, small_cv):
    """On the planted world, the audience forecast is closer to each campaign's true expected rate than the GLM."""
    send_log = forecasting.send_log_features(small_world.events, small_world.transactions)
    X = forecasting.CampaignFeatures(passthrough=list(send_log.columns)).fit_transform(
        forecasting.with_send_log(small_world.campaigns, send_log)
    )
    expected = pd.DataFrame(small_world.truth["campaign_expected"]).set_index("campaign_id")
    for kpi in ("open_rate", "click_rate"):
        mine = small_cv[kpi].set_index("campaign_id")
        glm = forecasting.forecast_cv(small_world.campaigns, X, kpi, models=("glm",), n_splits=4, test_size=8)
        glm = glm.set_index("campaign_id").loc[mine.index]
        truth = expected.loc[mine.index, f"exp_{kpi}"]
        assert np.sqrt(np.mean((mine["predicted"] - truth) ** 2)) < np.sqrt(np.mean((glm["predicted"] - truth) ** 2))
        assert list(mine.columns[:6]) == ["model", "fold", "date", "trials", "observed", "predicted"]
        assert (mine["lower"] <= mine["predicted"]).all() and (mine["predicted"] <= mine["upper"]).all()
        assert 0.8 <= audience.coverage(mine.reset_index()) <= 1.0


def test_interval_variance_is_the_binomial_when_the_model_is_right():
    """Campaigns drawn from the forecast probabilities themselves: no model error is left over."""
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.3, 400)
    n = rng.integers(500, 3000, 400)
    y = rng.binomial(n, p) / n
    per = pd.DataFrame({"p_open": p, "opened": y, "v_open": p * (1 - p) / n})
    assert audience._relative_error_var(per, "p_open", "opened", "v_open") < 0.002
    per["p_open"] = p * 1.2  # 20 % too high everywhere: about 0.17² of relative error
    assert audience._relative_error_var(per, "p_open", "opened", "v_open") == pytest.approx(
        np.mean((y - 1.2 * p) ** 2 / (1.2 * p) ** 2), rel=0.2
    )


def test_bad_input_is_named(small_world, history):
    ev = small_world.events
    with pytest.raises(KPIError, match="no email_sent or push_sent"):
        audience.send_history(ev[~ev["event_type"].isin(["email_sent", "push_sent"])])
    broken = ev.assign(campaign_id=ev["campaign_id"].astype(object))
    first_send = int(np.flatnonzero(broken["event_type"].isin(["email_sent", "push_sent"]).to_numpy())[0])
    broken.iloc[first_send, broken.columns.get_loc("campaign_id")] = None
    with pytest.raises(KPIError, match=f"lines {first_send + 2}"):
        audience.send_history(broken)
    with pytest.raises(KPIError, match="missing column"):
        audience.send_history(ev.drop(columns="campaign_id"))
    with pytest.raises(KPIError, match="too few"):
        audience.audience_cv(history, small_world.campaigns.head(5), ev, n_splits=12)
    with pytest.raises(KPIError, match="level"):
        audience.audience_cv(history, small_world.campaigns, ev, level=95)
    with pytest.raises(KPIError, match="call fit"):
        audience.AudienceModel().predict(history.head(), small_world.campaigns.set_index("campaign_id"))
    camps = small_world.campaigns.assign(campaign_id=small_world.campaigns["campaign_id"].astype(str))
    personas = audience.personas_as_of(ev, None, "2025-01-01")
    history = history[history["campaign_id"].isin(camps["campaign_id"])]  # not the A/B tests' sends
    with pytest.raises(KPIError, match="both opened and unopened"):
        audience.AudienceModel().fit(
            history.assign(opened=False), camps.set_index("campaign_id"), personas, "2025-01-01"
        )
    with pytest.raises(KPIError, match="missing from the campaigns table"):
        audience.AudienceModel().fit(history, camps.iloc[1:].set_index("campaign_id"), personas, "2025-01-01")


def test_text_customer_ids_give_the_same_history(small_world, history):
    """A team's ids as text take the general path (a hash table) and give the same rows as numbered ids."""
    ev = small_world.events.assign(customer_id="C" + small_world.events["customer_id"].astype(str))
    orders = small_world.transactions.assign(customer_id="C" + small_world.transactions["customer_id"].astype(str))
    text = audience.send_history(ev, orders)
    assert (text["customer_id"].to_numpy() == ("C" + history["customer_id"].astype(str)).to_numpy()).all()
    pd.testing.assert_frame_equal(text.drop(columns="customer_id"), history.drop(columns="customer_id"))


def test_cv_reads_sends_in_any_order_and_form(small_world, history, small_cv):
    """Shuffled sends with text campaign ids, and a campaigns table with a campaign never sent: the same folds."""
    shuffled = history.sample(frac=1.0, random_state=3).assign(campaign_id=history["campaign_id"].astype(str))
    shuffled = shuffled.sort_index()  # same rows as the send history again, so the rows drawn are the same
    extra = small_world.campaigns.iloc[[0]].assign(campaign_id="never sent")
    again = audience.audience_cv(
        shuffled,
        pd.concat([small_world.campaigns, extra], ignore_index=True),
        small_world.events,
        small_world.transactions,
        n_splits=4,
        test_size=8,
    )
    for kpi, d in small_cv.items():
        pd.testing.assert_frame_equal(again[kpi], d)


def test_folds_train_on_a_sample_of_earlier_campaigns_only(small_world, history, monkeypatch):
    """With more sends than max_rows, each fold fits on max_rows sends drawn from the campaigns before its date."""
    dates = small_world.campaigns.assign(campaign_id=small_world.campaigns["campaign_id"].astype(str)).set_index(
        "campaign_id"
    )["date"]
    seen: list[tuple[int, pd.Timestamp, pd.Timestamp]] = []
    fit = audience.AudienceModel.fit

    def spy(self, sends, campaigns, personas, as_of):
        seen.append((len(sends), pd.to_datetime(dates.loc[sends["campaign_id"].astype(str)]).max(), as_of))
        return fit(self, sends, campaigns, personas, as_of)

    monkeypatch.setattr(audience.AudienceModel, "fit", spy)
    cv = audience.audience_cv(
        history, small_world.campaigns, small_world.events, n_splits=3, test_size=5, max_rows=10_000
    )
    assert len(seen) == 3 and all(n == 10_000 and last < as_of for n, last, as_of in seen)
    assert cv["open_rate"]["fold"].value_counts().to_dict() == {0: 5, 1: 5, 2: 5}


def test_blocks_of_customers_give_the_same_history(small_world, history):
    """Worked out 500 customers at a time (as a million customers are, 100,000 at a time): the same rows.

    Counts, outcomes, dates and fatigue agree exactly; the mean visit hour differs in the last digits only, since a
    block's running sums of cosines start from zero instead of from the earlier blocks' totals.
    """
    blocked = audience.send_history(small_world.events, small_world.transactions, block_customers=500)
    assert blocked["customer_id"].nunique() > 3 * 500  # several blocks were used
    hours = ["visit_hour_cos", "visit_hour_sin"]
    pd.testing.assert_frame_equal(blocked.drop(columns=hours), history.drop(columns=hours), check_exact=True)
    np.testing.assert_allclose(blocked[hours], history[hours], rtol=0, atol=1e-9)
    with pytest.raises(KPIError, match="block_customers"):
        audience.send_history(small_world.events, block_customers=0)


def test_recent_sends_weigh_more_with_a_half_life(small_world, history):
    """Weighted logistic regression with an unpenalised intercept: its weighted residuals sum to zero.

    The weights are recomputed here as 0.5 ** (age in days / half-life) from the campaigns' dates; with the wrong
    weights (or none) the weighted sum of residuals is not zero.
    """
    camps = small_world.campaigns.assign(campaign_id=small_world.campaigns["campaign_id"].astype(str))
    table = camps.set_index("campaign_id")
    sends = history[history["campaign_id"].isin(table.index)]
    as_of = pd.Timestamp("2025-06-01")
    sends = sends[sends["sent_at"] < as_of]
    personas = audience.personas_as_of(small_world.events, small_world.transactions, as_of)
    age = (as_of - pd.to_datetime(table.loc[sends["campaign_id"].astype(str), "date"])).dt.days.to_numpy()
    y = sends["opened"].to_numpy(float)
    for half_life, other in ((30.0, None), (None, 30.0)):
        model = audience.AudienceModel(half_life_days=half_life).fit(sends, table, personas, as_of)
        # the rows as the fit saw them: recent terms only for the campaigns of the last recent_days
        X = model._design(sends, table, personas, (age <= model.recent_days).astype(float))
        resid = y - model.open_model_.predict_proba(X)[:, 1]
        w_fit = np.ones(len(y)) if half_life is None else 0.5 ** (age / half_life)
        w_other = 0.5 ** (age / other) if other else np.ones(len(y))
        assert abs(np.sum(w_fit * resid)) / np.sum(w_fit) < 1e-6
        assert abs(np.sum(w_other * resid)) / np.sum(w_other) > 1e-4
    with pytest.raises(KPIError, match="half_life_days"):
        audience.AudienceModel(half_life_days=0).fit(sends, table, personas, as_of)


def test_customer_codes_by_table_and_by_sort_agree():
    """Numbered ids go through a table of their range, others through a sort: the same ids and positions."""
    rng = np.random.default_rng(0)
    visits, orders = rng.integers(0, 5_000, 20_000), rng.integers(2_000, 7_000, 3_000)
    ids, (v, o) = audience._codes(visits, orders)
    assert np.array_equal(ids, np.unique(np.r_[visits, orders])) and ids.dtype == visits.dtype
    assert np.array_equal(ids[v], visits) and np.array_equal(ids[o], orders) and v.dtype == np.int32
    text_ids, (tv, to) = audience._codes(visits.astype(str), orders.astype(str))  # the sorting path
    assert np.array_equal(text_ids[tv], visits.astype(str)) and np.array_equal(text_ids[to], orders.astype(str))
    sparse = np.r_[visits, 2**40]  # beyond any table: the sorting path, same answer
    s_ids, (sv, so) = audience._codes(sparse, orders[:0])
    assert np.array_equal(s_ids[sv], sparse) and len(so) == 0
