"""Retraining building blocks: PSI against the formula, drift alarms, and a registry that refuses to be unsafe."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from helpers import retraining as rt


def test_psi_by_hand_and_its_properties():
    # two bins by the reference's median (0.5): reference counts 50 / 50, new 80 / 20, half a row added to each
    ref = np.r_[np.zeros(50), np.ones(50)]
    new = np.r_[np.zeros(80), np.ones(20)]
    r, a = np.array([50.5, 50.5]) / 101, np.array([80.5, 20.5]) / 101
    by_hand = np.sum((a - r) * np.log(a / r))
    assert rt.psi(ref, new) == pytest.approx(by_hand)
    assert rt.psi_bins(ref, new) == 2
    assert rt.psi(ref, ref) == 0
    rng = np.random.default_rng(1)
    x = rng.normal(size=20_000)
    assert rt.psi(x, rng.normal(size=20_000)) < 0.01  # same distribution
    assert rt.psi(x, rng.normal(0.5, 1, size=20_000)) > 0.2  # half a standard deviation of shift: "act"
    assert rt.psi(["a", "b"] * 50, ["c"] * 50) > 5  # a category never seen before keeps a bin of its own
    # a bin that chance empties: 70 rows against 10 reference bins; no 1e-4 floor blows the index up
    few = rng.normal(size=70)
    assert rt.psi(x, few) < rt.psi_chance(len(x), 70, bins=rt.psi_bins(x, few))


def test_fingerprint_is_the_same_for_last_bit_differences_and_differs_for_real_ones():
    counts = np.arange(100_001, dtype=float)
    features = pd.DataFrame({"log_visits": np.log1p(counts), "rate": counts / 100_001, "n": np.arange(100_001)})
    # another CPU's log1p differs in the last bit on about 1 % of these integers: move every value by one ulp
    other_cpu = features.assign(
        log_visits=np.nextafter(features["log_visits"], np.inf), rate=np.nextafter(features["rate"], -np.inf)
    )
    assert rt.fingerprint(other_cpu) == rt.fingerprint(features)
    changed = features.copy()
    changed.loc[500, "log_visits"] *= 1 + 1e-5  # a change a person could see at six digits
    assert rt.fingerprint(changed) != rt.fingerprint(features)
    assert rt.fingerprint(features.rename(columns={"n": "m"})) != rt.fingerprint(features)
    assert rt.fingerprint(features.iloc[::-1]) != rt.fingerprint(features)  # row order (and index) count


def test_psi_table_and_alarm():
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(["u", "v"], 5000)})
    new = pd.DataFrame(
        {
            "x": np.r_[rng.normal(size=3000), rng.normal(1, 1, size=3000)],
            "c": rng.choice(["u", "v"], 6000),
            "month": ["2025-06"] * 3000 + ["2025-07"] * 3000,
        }
    )
    table = rt.psi_table(ref, new, "month", ["x", "c"])
    assert list(table.columns) == ["2025-06", "2025-07"] and list(table.index) == ["x", "c"]
    assert rt.drift_alarm(table, 0.2).to_dict() == {"2025-06": False, "2025-07": True}


def test_drift_bad_input():
    ref = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(rt.DriftError, match="x missing in the new data"):
        rt.psi_table(ref, pd.DataFrame({"y": [1.0], "w": [1]}), "w", ["x"])
    with pytest.raises(rt.DriftError, match="empty"):
        rt.psi([1.0, 2.0], [])


def _model(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 3))
    return LogisticRegression().fit(X, (X[:, 0] + rng.normal(size=200)) > 0), X


def test_registry_versions_load_and_rollback(tmp_path):
    reg = rt.Registry(tmp_path / "models")
    m1, X = _model(0)
    m2, _ = _model(1)
    data = pd.DataFrame(X, columns=["a", "b", "c"])
    assert (
        reg.register(
            "churn", m1, window=("2024-01-01", "2024-12-31"), metrics={"auc": 0.8}, features=["a", "b", "c"], data=data
        )
        == 1
    )
    assert (
        reg.register(
            "churn",
            m2,
            window=("2024-02-01", "2025-01-31"),
            metrics={"auc": 0.82},
            features=["a", "b", "c"],
            data=data.iloc[:100],
        )
        == 2
    )
    assert reg.current("churn") == 2
    np.testing.assert_array_equal(reg.load("churn").predict_proba(X), m2.predict_proba(X))
    np.testing.assert_array_equal(reg.load("churn", 1).predict_proba(X), m1.predict_proba(X))
    assert reg.rollback("churn") == 1
    assert rt.Registry(tmp_path / "models").current("churn") == 1  # persisted, read back by a new instance
    v = reg.versions("churn")
    assert v["current"].tolist() == [True, False] and v["auc"].tolist() == [0.8, 0.82]
    assert v.loc[1, "data_fingerprint"] == rt.fingerprint(data) != v.loc[2, "data_fingerprint"]
    with pytest.raises(rt.RegistryError, match="no earlier version"):
        reg.rollback("churn")
    with pytest.raises(rt.RegistryError, match="has no version 7"):
        reg.load("churn", 7)
    with pytest.raises(rt.RegistryError, match="no model 'lead'"):
        reg.load("lead")


def test_registry_refuses_damage_and_newer_schemas_without_overwriting(tmp_path):
    folder = tmp_path / "models"
    reg = rt.Registry(folder)
    m, _ = _model()
    reg.register("lead", m, window=("a", "b"), metrics={}, features=["x"])
    model_file = folder / "lead" / "v001.skops"
    # a changed model file is caught by its checksum
    original = model_file.read_bytes()
    model_file.write_bytes(original[:-10] + b"0123456789")
    with pytest.raises(rt.RegistryError, match="does not match the checksum"):
        reg.load("lead")
    model_file.write_bytes(original)
    # a corrupted index is refused and left as it is
    index = folder / "registry.json"
    index.write_text('{"schema": 1, "models": {')
    with pytest.raises(rt.RegistryError, match="not valid JSON"):
        rt.Registry(folder)
    assert index.read_text() == '{"schema": 1, "models": {'
    # a registry written by a newer course
    index.write_text(json.dumps({"schema": 99, "models": {}}))
    with pytest.raises(rt.RegistryError, match="schema 99 is newer"):
        rt.Registry(folder)
    assert json.loads(index.read_text())["schema"] == 99
    # model files without an index
    index.unlink()
    with pytest.raises(rt.RegistryError, match="no registry.json"):
        rt.Registry(folder)


def _double(x):
    return 2 * x


def test_registry_refuses_to_load_code_it_does_not_trust(tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    reg = rt.Registry(tmp_path)
    reg.register("odd", FunctionTransformer(func=_double), window=("a", "b"), metrics={}, features=["x"])
    with pytest.raises(rt.RegistryError, match="types this course does not trust: .*_double"):
        reg.load("odd")


def _drifting(n_per=800, months=18, change=10, seed=3):
    """Months of leads whose outcome follows x1 before month `change` and x2 (shifted upward) from it on."""
    rng = np.random.default_rng(seed)
    month = np.repeat(np.arange(months), n_per)
    after = month >= change
    x1, x2 = rng.normal(size=len(month)), rng.normal(size=len(month)) + 0.8 * after
    eta = np.where(after, 2.0 * (x2 - 0.8), 2.0 * x1) - 1.0
    y = rng.random(len(month)) < 1 / (1 + np.exp(-eta))
    return pd.DataFrame(
        {
            "created": pd.Timestamp("2024-01-01") + pd.to_timedelta(month * 31 + 3, "D"),
            "x1": x1,
            "x2": x2,
            "converted": y,
        }
    )


def test_walk_forward_policies_through_a_known_drift():
    d = _drifting()
    change = str(pd.Period(d["created"].iloc[0], "M") + 10)
    args = dict(
        features=["x1", "x2"],
        target="converted",
        time_col="created",
        first_test="2024-05",
        make_model=LogisticRegression,
    )
    never = rt.walk_forward(d, policy="never", **args).set_index("period")
    drift = rt.walk_forward(d, policy="drift", window=1, **args).set_index("period")
    sched = rt.walk_forward(d, policy="scheduled", window=3, **args).set_index("period")
    before = never.loc[: str(pd.Period(change, "M") - 1), "auc"].mean()
    # detection fires in the month of the change (lag 0) and not before it
    fired = drift.index[drift["drift_alarm"]]
    assert fired[0] == change
    # within two months of the change the drift policy is back near its pre-drift AUC; never stays degraded
    two_later = [str(pd.Period(change, "M") + k) for k in (1, 2)]
    assert drift.loc[two_later[-1], "auc"] >= 0.9 * before
    assert never.loc[two_later, "auc"].max() < 0.75 * before
    assert sched.loc[two_later[-1], "auc"] > never.loc[two_later[-1], "auc"]
    assert drift.loc[change, "psi_feature"] == "x2"
    assert never["trained_on"].nunique() == 1


def test_walk_forward_fits_each_set_of_training_rows_once_with_the_same_results():
    d = _drifting(n_per=300, months=12, change=8)
    made = []

    def make():
        made.append(1)
        return LogisticRegression()

    args = dict(features=["x1", "x2"], target="converted", time_col="created", first_test="2024-05", make_model=make)
    alone = [rt.walk_forward(d, policy=p, **args) for p in ("never", "scheduled")]
    fitted_alone, made[:] = len(made), []
    fits: dict = {}
    shared = [rt.walk_forward(d, policy=p, fits=fits, **args) for p in ("never", "scheduled")]
    for a, b in zip(alone, shared, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert len(made) == fitted_alone - 1 == len(fits)  # the first model of "scheduled" is the one "never" fitted
    changed = d.assign(x1=d["x1"][::-1].to_numpy())  # other values: nothing fitted before is reused
    rt.walk_forward(changed, policy="never", fits=fits, **args)
    assert len(made) == fitted_alone


def test_walk_forward_bad_input():
    d = _drifting(n_per=50, months=4)
    args = dict(features=["x1"], target="converted", time_col="created", make_model=LogisticRegression)
    with pytest.raises(rt.DriftError, match="unknown policy"):
        rt.walk_forward(d, first_test="2024-02", policy="weekly", **args)
    with pytest.raises(rt.DriftError, match="x9 missing"):
        rt.walk_forward(d, first_test="2024-02", **{**args, "features": ["x9"]})
    with pytest.raises(rt.DriftError, match="period 2024-03 has no positives"):
        rt.walk_forward(d.assign(converted=d["converted"] & (d["created"].dt.month != 3)), first_test="2024-02", **args)
    with pytest.raises(rt.DriftError, match="one class only"):
        rt.walk_forward(d.assign(converted=d["created"].dt.month != 1), first_test="2024-02", **args)
    with pytest.raises(rt.DriftError, match="no training rows"):
        rt.walk_forward(d, first_test="2024-01", **args)


def test_drift_retrain_learns_from_the_alarm_on_and_waits_for_its_labels(tmp_path):
    d = _drifting()
    change = pd.Period(d["created"].iloc[0], "M") + 10
    args = dict(
        features=["x1", "x2"],
        target="converted",
        time_col="created",
        first_test="2024-05",
        make_model=LogisticRegression,
        policy="drift",
    )
    reset = rt.walk_forward(d, **args).set_index("period")
    keep = rt.walk_forward(d, reset_on_drift=False, **args).set_index("period")
    nxt = str(change + 1)
    assert reset.loc[nxt, "trained_on"] == f"{change}..{change}"  # only the new world
    assert keep.loc[nxt, "trained_on"] == f"2024-01..{change}"  # everything so far: the old world outvotes it
    assert reset.loc[nxt, "auc"] > keep.loc[nxt, "auc"] + 0.1
    # with the outcomes of a month known one month later, the retrain waits one month for the alarm's labels
    late = rt.walk_forward(d, label_delay=1, **args).set_index("period")
    assert late.loc[str(change), "drift_alarm"]
    assert late.loc[nxt, "version"] == late.loc[str(change), "version"]
    assert late.loc[str(change + 2), "version"] == late.loc[str(change), "version"] + 1
    assert late.loc[str(change + 2), "trained_on"] == f"{change}..{change}"


class _Recording:
    """A logistic regression that records, in a shared log, the rows and labels of every fit."""

    def __init__(self, log):
        self.log = log

    def fit(self, X, y):
        self.log.append((tuple(X.index), tuple(np.asarray(y).tolist())))
        self.model_ = LogisticRegression().fit(X, y)
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


@pytest.mark.parametrize("delay", [dict(label_time="known"), dict(label_delay=1)], ids=["label_time", "label_delay"])
@pytest.mark.parametrize("policy", rt.POLICIES)
def test_no_model_or_alarm_uses_a_label_before_it_is_known(policy, delay):
    """Scramble every label not yet known at the start of period c: nothing decided by then may change."""
    d = _drifting(n_per=300, months=16, change=8)
    d["known"] = d["created"] + pd.Timedelta(days=40)  # a month's labels are all in one period after it ends
    d.index = [f"r{i}" for i in range(len(d))]
    period = d["created"].dt.to_period("M")
    known = rt.labels_known(d, "created", **delay)
    for c in [pd.Period("2024-07", "M"), pd.Period("2024-10", "M"), pd.Period("2025-01", "M")]:
        unknown = (period.map(known) > c).to_numpy()
        rng = np.random.default_rng(0)
        poisoned = d.assign(converted=np.where(unknown, rng.random(len(d)) < 0.5, d["converted"]))
        logs, outs = [], []
        for frame in (d, poisoned):
            log: list = []
            outs.append(
                rt.walk_forward(
                    frame,
                    ["x1", "x2"],
                    "converted",
                    "created",
                    "2024-05",
                    lambda log=log: _Recording(log),
                    policy=policy,
                    **delay,
                ).set_index("period")
            )
            logs.append(log)
        clean, dirty = outs
        upto = [p for p in clean.index if pd.Period(p, "M") <= c]
        before = [p for p in upto if pd.Period(p, "M") < c]
        # the models that scored the periods up to c, and what they learned from, are the same
        assert clean.loc[upto, ["version", "trained_on"]].equals(dirty.loc[upto, ["version", "trained_on"]])
        fits = clean.loc[upto, "version"].max()
        assert logs[0][:fits] == logs[1][:fits]
        # every alarm the policy heard before c is the same (the AUC alarm waits for its labels)
        assert clean.loc[before, "alarm_raised"].equals(dirty.loc[before, "alarm_raised"])
    # each fit learned only from periods whose labels were known at the start of the period it scored
    log: list = []
    out = rt.walk_forward(
        d, ["x1", "x2"], "converted", "created", "2024-05", lambda: _Recording(log), policy=policy, **delay
    )
    starts = out.drop_duplicates("version")["period"].map(lambda p: pd.Period(p, "M")).tolist()
    for (index, _), start in zip(log, starts, strict=True):
        assert (period.loc[list(index)].map(known) <= start).all()


def test_labels_known_and_its_errors():
    d = pd.DataFrame({"created": pd.to_datetime(["2025-01-05", "2025-01-31", "2025-02-10"])})
    # a lead created on 31 January with a 90-day window is decided on 1 May: its month is known from May on
    k = rt.labels_known(d.assign(known=d["created"] + pd.Timedelta(days=90)), "created", "known")
    assert [str(v) for v in k] == ["2025-05", "2025-06"] and rt.label_delay_periods(k) == 3
    assert rt.label_delay_periods(rt.labels_known(d, "created", label_delay=2)) == 2
    with pytest.raises(rt.DriftError, match="known before the row exists"):
        rt.labels_known(d.assign(known=d["created"] - pd.Timedelta(days=1)), "created", "known")
    with pytest.raises(rt.DriftError, match="without the time"):
        rt.labels_known(d.assign(known=pd.NaT), "created", "known")
    with pytest.raises(rt.DriftError, match="not both"):
        rt.walk_forward(
            d.assign(known=d["created"], x=1.0, y=1),
            ["x"],
            "y",
            "created",
            "2025-02",
            LogisticRegression,
            label_time="known",
            label_delay=1,
        )


def test_walk_forward_registers_every_model_it_trains(tmp_path):
    d = _drifting(months=14)
    reg = rt.Registry(tmp_path / "models")
    out = rt.walk_forward(
        d,
        ["x1", "x2"],
        "converted",
        "created",
        "2024-05",
        LogisticRegression,
        policy="drift",
        registry=reg,
        name="lead",
    )
    table = reg.versions("lead")
    assert table.index.tolist() == sorted(out["version"].unique().tolist())
    assert table["current"].tolist()[-1] and reg.current("lead") == out["version"].max()
    first = table.loc[1]
    assert (first["from"], first["to"]) == ("2024-01-01", "2024-04-30")
    assert first["train_rows"] == 4 * 800
    period = pd.to_datetime(d["created"]).dt.to_period("M")
    rows = (period <= pd.Period("2024-04", "M")).to_numpy()
    assert first["train_positive_rate"] == pytest.approx(d.loc[rows, "converted"].mean())
    assert first["data_fingerprint"] == rt.fingerprint(d.loc[rows, ["x1", "x2", "converted"]])
    # the registered first model is the one that scored the first periods
    again = reg.load("lead", 1)
    may = (period == pd.Period("2024-05", "M")).to_numpy()
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(d.loc[may, "converted"], again.predict_proba(d.loc[may, ["x1", "x2"]])[:, 1]) == pytest.approx(
        out.set_index("period").loc["2024-05", "auc"]
    )


def test_walk_forward_fits_on_a_sample_of_its_rows_when_capped(tmp_path):
    """max_train_rows: each model learns from at most that many of its training rows (the same draw for the
    same rows) and scores every row; a cap above the rows changes nothing."""
    d = _drifting(n_per=400, months=12, change=99)
    args = dict(features=["x1", "x2"], target="converted", time_col="created", first_test="2024-05")
    plain = rt.walk_forward(d, make_model=LogisticRegression, policy="scheduled", **args)
    pd.testing.assert_frame_equal(
        plain, rt.walk_forward(d, make_model=LogisticRegression, policy="scheduled", max_train_rows=10**6, **args)
    )
    reg = rt.Registry(tmp_path / "reg")
    capped = rt.walk_forward(
        d, make_model=LogisticRegression, policy="scheduled", max_train_rows=500, registry=reg, name="m", **args
    )
    assert (capped["n"] == plain["n"]).all()  # every row of a month is still scored
    assert (reg.versions("m")["train_rows"] == 500).all()
    assert not capped["auc"].equals(plain["auc"]) and (capped["auc"] - plain["auc"]).abs().max() < 0.03
    # the first model learned from exactly the rows fit_rows draws from its training months
    first = (d["created"].dt.to_period("M") < pd.Period("2024-05", "M")).to_numpy()
    rows = rt.fit_rows(first, 500)
    assert rows.sum() == 500 and (rows <= first).all() and (rt.fit_rows(first, 500) == rows).all()
    by_hand = LogisticRegression().fit(d.loc[rows, ["x1", "x2"]], d.loc[rows, "converted"])
    np.testing.assert_allclose(reg.load("m", 1).coef_, by_hand.coef_)
    with pytest.raises(rt.DriftError, match="at least 1"):
        rt.fit_rows(first, 0)


def test_recovery_summarises_each_policy_through_the_change():
    d = _drifting()
    change = pd.Period(d["created"].iloc[0], "M") + 10
    args = dict(
        features=["x1", "x2"],
        target="converted",
        time_col="created",
        first_test="2024-05",
        make_model=LogisticRegression,
    )
    res = pd.concat([rt.walk_forward(d, policy=p, **args) for p in rt.POLICIES], ignore_index=True)
    rec = rt.recovery(res, str(change), windows=2)
    assert rec.loc["drift", "detect_lag"] == 0 and rec.loc["drift", "false_alarms"] == 0
    by = res.assign(per=res["period"]).set_index(["policy", "per"])["auc"]
    before = [p for p in res["period"].unique() if pd.Period(p, "M") < change]
    after = [str(change + 1), str(change + 2)]
    for policy in rt.POLICIES:
        assert rec.loc[policy, "auc_before"] == pytest.approx(by[policy].loc[before].mean())
        assert rec.loc[policy, "ratio"] == pytest.approx(
            by[policy].loc[after].mean() / by[policy].loc[before].mean(), abs=1e-6
        )
    assert rec.loc["drift", "ratio"] >= 0.9 > rec.loc["never", "ratio"]
    with pytest.raises(rt.DriftError, match="no drift alarm"):
        rt.recovery(res.assign(drift_alarm=False), str(change))


def test_move_change_draws_each_period_from_its_world_and_keeps_label_delays():
    d = _drifting(n_per=50, months=12, change=6).assign(known=lambda x: x["created"] + pd.Timedelta(days=90))
    d.index = d.index + 1000  # origins are the data's own ids
    change = pd.Period(d["created"].iloc[0], "M") + 6
    at = change - 3
    moved = rt.move_change(d, "created", change, at, label_time="known", random_state=4)
    period, origin = moved["created"].dt.to_period("M"), d.loc[moved["origin"]]
    assert period.value_counts().sort_index().equals(d["created"].dt.to_period("M").value_counts().sort_index())
    old_world = (origin["created"].dt.to_period("M") < change).to_numpy()
    assert (old_world == (period < at).to_numpy()).all()  # before the moved change: old rows only; after: new
    assert ((moved["known"] - moved["created"]) == pd.Timedelta(days=90)).all()
    assert (moved[["x1", "x2", "converted"]].to_numpy() == origin[["x1", "x2", "converted"]].to_numpy()).all()
    assert moved.equals(rt.move_change(d, "created", change, at, label_time="known", random_state=4))
    assert not moved.equals(rt.move_change(d, "created", change, at, label_time="known", random_state=5))
    # a day that does not exist in the target month lands on its last day
    d31 = pd.DataFrame(
        {"t": pd.to_datetime(["2025-01-31", "2025-02-14", "2025-03-31", "2025-04-30"]), "w": [0, 0, 1, 1]}
    )
    assert rt.move_change(d31, "t", "2025-03", "2025-02", random_state=0)["t"].iloc[1] == pd.Timestamp("2025-02-28")
    with pytest.raises(rt.DriftError, match="rows before and after the change"):
        rt.move_change(d, "created", "2030-01", at)
    with pytest.raises(rt.DriftError, match="must fall after the first period"):
        rt.move_change(d, "created", change, "2020-01")


def test_replay_change_points_judges_the_policies_over_many_changes():
    d = _drifting(n_per=600, months=16, change=8)
    change = pd.Period(d["created"].iloc[0], "M") + 8
    args = dict(
        features=["x1", "x2"],
        target="converted",
        time_col="created",
        first_test="2024-04",
        make_model=LogisticRegression,
    )
    eligible = rt.change_points(d, "created", "2024-04", label_delay=1, windows=2)
    assert eligible[0] == "2024-06" and eligible[-1] == str(pd.Period(d["created"].max(), "M") - 3)
    at = eligible[::3]
    rep = rt.replay_change_points(d, change, at, label_delay=1, random_state=7, **args)
    assert sorted(rep["change"].unique()) == at and len(rep) == len(at) * len(rt.POLICIES)
    kept = rep.pivot(index="change", columns="policy", values="lift_kept")
    assert (kept["drift"] > kept["never"] + 0.3).all()  # at every moved change, not only on average
    assert (rep.loc[rep["policy"] == "drift", "detect_lag"] == 0).all()
    assert rep["false_alarms"].sum() == 0
    # the same numbers as replaying one moved change by hand
    one = rt.move_change(d, "created", change, at[1], random_state=8)
    by_hand = rt.recovery(
        pd.concat([rt.walk_forward(one, policy=p, label_delay=1, **args) for p in rt.POLICIES], ignore_index=True),
        at[1],
    )
    assert rep[rep["change"] == at[1]].set_index("policy")["lift_kept"].equals(by_hand["lift_kept"])
    with pytest.raises(rt.DriftError, match="cannot be judged like the real change"):
        rt.replay_change_points(d, change, [str(pd.Period(d["created"].max(), "M"))], label_delay=1, **args)


def _lesson_lead_data(leads: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Lesson 06's leads as they came: the lead features, the outcome, the creation date and when it is known."""
    from helpers import scoring as sc
    from helpers import timeline as tl

    x = sc.lead_features(leads)
    days = tl.outcome_window_days(leads["created_date"], leads["converted_date"])
    data = x.assign(
        converted=leads["converted"].astype(int),
        created=leads["created_date"],
        known=leads["created_date"] + pd.Timedelta(days=days),
    )
    return data, list(x.columns)


def test_course_world_drift_is_detected_and_only_the_drift_policy_recovers(course_world):
    """Issue 8's targets through the planted change of 2025-07-01, on lesson 06's lead model, with every label
    used only once it is known (90 days after a lead's creation: three months after its month ends)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data, features = _lesson_lead_data(course_world.leads.set_index("lead_id"))
    args = dict(
        features=features,
        target="converted",
        time_col="created",
        first_test="2024-07",
        label_time="known",
        make_model=lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    )
    res = pd.concat([rt.walk_forward(data, policy=p, **args) for p in rt.POLICIES], ignore_index=True)
    change = course_world.truth["drift"]["date"]
    rec = rt.recovery(res, change, windows=2)
    assert rec.loc["drift", "detect_lag"] <= 1 and rec.loc["drift", "false_alarms"] == 0
    assert (rec["label_delay"] == 3).all()
    drift = res[res["policy"] == "drift"].set_index("period")
    assert drift.loc["2025-10", "version"] == 1 and drift.loc["2025-11", "trained_on"] == "2025-07..2025-07"
    assert rec.loc["drift", "ratio"] >= 0.9
    assert rec.loc["never", "ratio"] < 0.9 and rec.loc["scheduled", "ratio"] < 0.9


def test_psi_chance_is_the_noise_floor_of_unchanged_samples():
    rng = np.random.default_rng(11)
    for n, m in [(400, 70), (3000, 500)]:
        draws = [rt.psi(rng.normal(size=n), rng.normal(size=m)) for _ in range(400)]
        # about 1 % of unchanged samples pass the 99 % floor; far more pass the customary 0.2 when samples are small
        assert np.mean(np.array(draws) > rt.psi_chance(n, m)) < 0.04
        assert np.mean(draws) == pytest.approx(rt.psi_chance(n, m, level=0.5) * 9 / 8.34, rel=0.25)
    small = [rt.psi(rng.normal(size=400), rng.normal(size=70)) for _ in range(400)]
    assert np.mean(np.array(small) > 0.2) > 0.1
    with pytest.raises(rt.DriftError, match="need rows"):
        rt.psi_chance(0, 10)


@pytest.mark.parametrize("n_new", [40, 70, 500])
@pytest.mark.parametrize("kind", ["normal", "counts", "binary"])
def test_psi_keeps_its_false_alarm_rate_on_small_months(n_new, kind):
    """Unchanged samples pass the 99 % chance limit about 1 % of the time, whatever the month's size or the
    feature's kind: bins merged to >= 5 expected rows and shares smoothed, so that an empty bin cannot blow the
    index up (a 1e-4 floor for empty bins gave 3 % at 70 rows and 17 % at 40)."""
    rng = np.random.default_rng(n_new)
    draw = {
        "normal": lambda k: rng.normal(size=k),
        "counts": lambda k: rng.poisson(2.0, k).astype(float),
        "binary": lambda k: (rng.random(k) < 0.3).astype(float),
    }[kind]
    fired = []
    for _ in range(1500):
        r, a = draw(430), draw(n_new)
        fired.append(rt.psi(r, a) > rt.psi_chance(430, n_new, bins=rt.psi_bins(r, a)))
    assert 0.002 <= np.mean(fired) <= 0.02  # 1 %, give or take the simulation's own noise (sd 0.26 %)


def test_walk_forward_alarm_keeps_its_rate_across_many_features():
    """With 15 features any of which may fire, the per-feature chance level is corrected (Bonferroni): months of
    70 rows with nothing changed raise a PSI alarm in about 1 % of months, not in a third of them."""
    rng = np.random.default_rng(7)
    months, n_per, k = 40, 70, 15
    d = pd.DataFrame(rng.normal(size=(months * n_per, k)), columns=[f"x{i}" for i in range(k)])
    d["created"] = pd.Timestamp("2022-01-01") + pd.to_timedelta(np.repeat(np.arange(months), n_per) * 31 + 2, "D")
    d["converted"] = rng.random(len(d)) < 1 / (1 + np.exp(-(d["x0"] - 1)))
    out = rt.walk_forward(
        d, [f"x{i}" for i in range(k)], "converted", "created", "2022-07", LogisticRegression, policy="never"
    )
    assert out["psi_alarm"].mean() <= 0.06  # 34 months: at most 2 alarms where 0.3 would be expected


def test_auc_alarm_keeps_its_false_alarm_rate_against_few_earlier_months():
    """Nothing changes; the second month's AUC is judged against the first's alone. The limit must cover the
    noise of both (sqrt 2 times one month's standard error): a limit of the month's own error alone, the rule
    before issue 22, fires about 3 % of the time here at the 99 % level (up to 7 % on lesson 06's leads)."""
    rng = np.random.default_rng(22)
    alarms = own_error_only = 0
    reps = 300
    for _ in range(reps):
        month = np.repeat(np.arange(3), [400, 300, 300])  # the model learns from 400 rows, then scores 300 twice
        x = rng.normal(size=len(month))
        y = rng.random(len(month)) < 1 / (1 + np.exp(-(1.5 * x - 1.2)))
        d = pd.DataFrame({"created": pd.Timestamp("2024-01-05") + pd.to_timedelta(month * 31, "D"), "x": x, "y": y})
        out = rt.walk_forward(d, ["x"], "y", "created", "2024-02", LogisticRegression, auc_drop=0.0)
        second = out.iloc[1]
        assert np.isnan(out.iloc[0]["auc_drop_limit"])  # the first month has nothing earlier to be judged against
        assert second["auc_drop_limit"] == pytest.approx(
            2.3263 * np.hypot(second["auc_se"], out.iloc[0]["auc_se"]), rel=1e-4
        )
        alarms += bool(second["auc_alarm"])
        own_error_only += bool(second["auc"] < out.iloc[0]["auc"] - 2.3263 * second["auc_se"])
    assert alarms / reps <= 0.015  # stated: at most 1 % (binomial sd 0.6 % at 300 draws)
    assert own_error_only / reps >= 0.02  # the old rule, on the same draws, fails the same check


def _seed_walk(seed: int, n_leads: int, **kw) -> pd.DataFrame:
    """Lesson 06's drift walk on the leads of a world of another random seed (the synth's lead stage alone)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from helpers import timeline as tl
    from helpers.synth.leads import leads as draw_leads
    from helpers.synth.params import DRIFT

    table = draw_leads(np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2]), n_leads)[0]
    table = table.set_index("lead_id")
    data, features = _lesson_lead_data(table)
    out = rt.walk_forward(
        data,
        features,
        "converted",
        "created",
        tl.first_month(table["created_date"]),
        lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        policy="drift",
        label_time="known",
        **kw,
    )
    return out[out["period"] < str(pd.Period(DRIFT, "M"))]  # the months before the planted change


@pytest.mark.parametrize("n_leads", [1500, 12_800])
def test_drift_alarms_keep_their_false_alarm_rate_on_worlds_of_other_seeds(n_leads):
    """Issue 22: lesson 06's alarm rule, tuned on the course world, on the leads of 16 worlds it never saw — the
    course size (12,800 leads, about 470 a month) and a small team's (1,500, about 50 a month). Before the planted
    change nothing changes, so every alarm there is false; stated: each alarm at most 1 % of months."""
    from scipy import stats

    pre = pd.concat([_seed_walk(seed, n_leads) for seed in range(100, 116)], ignore_index=True)
    months = len(pre)
    assert months == 16 * 12
    bound = stats.binom.ppf(0.995, months, 0.01)  # what a 1 % rate can reach, at the 99.5 % level
    assert pre["psi_alarm"].sum() <= bound and pre["auc_alarm"].sum() <= bound
    if n_leads == 1500:  # the same months without the noise floors: the fixed PSI limit of 0.2 fires most months
        fixed = pd.concat([_seed_walk(seed, n_leads, chance_level=None) for seed in range(100, 104)])
        assert fixed["psi_alarm"].mean() > 0.5


def test_first_shift_finds_the_change_from_the_data_alone(course_world):
    """Lesson 02 takes 'the leads before the world changed' from the data, not from truth.json."""
    d = _drifting(change=10)
    assert rt.first_shift(d, ["x1", "x2"], "created") == pd.Timestamp("2024-11-01")
    assert rt.first_shift(_drifting(change=99), ["x1", "x2"], "created") is None  # nothing changed
    from helpers import scoring as sc

    leads = course_world.leads.set_index("lead_id")
    x = sc.lead_features(leads)
    assert (
        rt.first_shift(x.assign(created=leads["created_date"]), list(x.columns), "created")
        == pd.Timestamp(course_world.truth["drift"]["date"])
        == sc.first_lead_shift(course_world.leads)
    )
    with pytest.raises(rt.DriftError, match="not more than the 6 of reference"):
        rt.first_shift(_drifting(months=5), ["x1"], "created")


def test_walk_forward_on_small_months_raises_the_psi_limit_to_chance():
    d = _drifting(n_per=70, months=12, change=99, seed=0)  # no change at all
    args = dict(
        features=["x1", "x2"],
        target="converted",
        time_col="created",
        first_test="2024-07",
        make_model=LogisticRegression,
        policy="drift",
    )
    naive = rt.walk_forward(d, chance_level=None, **args)
    floor = rt.walk_forward(d, **args)
    assert (floor["psi_limit"] > 0.2).all() and (naive["psi_limit"] == 0.2).all()
    assert naive["drift_alarm"].sum() >= 2  # sampling noise, and then noise against a one-month model
    assert floor["drift_alarm"].sum() == 0


def test_auc_se_matches_the_spread_of_simulated_aucs():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    n_pos, n_neg, shift = 30, 90, 1.05  # true AUC = Phi(shift / sqrt 2) = 0.77
    aucs = [
        roc_auc_score(
            np.r_[np.ones(n_pos), np.zeros(n_neg)], np.r_[rng.normal(shift, 1, n_pos), rng.normal(0, 1, n_neg)]
        )
        for _ in range(2000)
    ]
    # within 20 %, on the safe side: Hanley and McNeil's formula is a little wide for normal scores
    assert np.std(aucs) * 0.95 < rt.auc_se(np.mean(aucs), n_pos, n_neg) < np.std(aucs) * 1.2
    with pytest.raises(rt.DriftError, match="positives and negatives"):
        rt.auc_se(0.7, 0, 10)
