"""A real public transaction log: CDNOW (Fader & Hardie), as it ships inside the pinned lifetimes wheel.

The full log holds 69,659 lines of 23,570 customers who first bought in early 1997 (customer id, date, number
of CDs, dollar value), 80 of them worth $0. It is read from the wheel's files by path: the course downloads
nothing, and lifetimes' own loaders import pkg_resources, which the pinned environment no longer has.
``pytest -k cdnow`` runs these tests.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import rfm

AS_OF = pd.Timestamp("1998-07-01")  # the day after the log's last order (1998-06-30)


def _cdnow_master() -> pd.DataFrame:
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None and spec.submodule_search_locations, "lifetimes (requirements-dev.lock) is not installed"
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "CDNOW_master.txt"
    raw = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype(int),
            "order_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["dollar_value"].astype(float),
        }
    )


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return _cdnow_master()


def test_cdnow_master_is_the_published_log(cdnow):
    assert len(cdnow) == 69_659 and cdnow["customer_id"].nunique() == 23_570
    assert (
        str(cdnow["order_date"].min().date()) == "1997-01-01" and str(cdnow["order_date"].max().date()) == "1998-06-30"
    )
    assert int((cdnow["amount"] == 0).sum()) == 80 and not (cdnow["amount"] < 0).any()


@pytest.mark.filterwarnings("ignore:The 'mode.chained_assignment' option is deprecated")
def test_cdnow_lifetimes_summary_equals_the_lifetimes_package(cdnow):
    """Our summary of the real log against lifetimes' own, on every one of the 23,570 customers.

    Frequency, recency and T are equal exactly; the mean spend of the repeat days to 1e-12 relative: pandas
    adds a customer's days with compensated (Kahan) summation, ours adds them in plain order, and the two
    differ by at most a few units of the last binary digit (1.4e-13 dollars on this log).
    """
    from lifetimes.utils import summary_data_from_transaction_data

    ours = rfm.lifetimes_summary(cdnow, as_of=AS_OF)
    theirs = summary_data_from_transaction_data(
        cdnow,
        "customer_id",
        "order_date",
        monetary_value_col="amount",
        observation_period_end=AS_OF - pd.Timedelta(days=1),
        freq="D",
    )
    theirs.index = theirs.index.astype(ours.index.dtype)
    assert ours.index.equals(theirs.index.sort_values()) and len(ours) == 23_570
    theirs = theirs.loc[ours.index]
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[col].to_numpy(), theirs[col].to_numpy(), err_msg=col)
    np.testing.assert_allclose(ours["monetary_value"], theirs["monetary_value"], rtol=1e-12, atol=0)


def test_cdnow_rfm_counts_free_lines_as_purchases(cdnow):
    """The 80 lines worth $0 are orders: leaving them out loses exactly the orders that held nothing else."""
    t = rfm.rfm_table(cdnow, as_of=AS_OF)
    assert len(t) == 23_570
    # no order ids and dates without a time: a customer's lines of one day are one order
    days = cdnow.groupby(["customer_id", "order_date"])["amount"].max()
    assert t["frequency"].sum() == len(days)
    paid = rfm.rfm_table(cdnow[cdnow["amount"] > 0], as_of=AS_OF)
    assert t["frequency"].sum() - paid["frequency"].sum() == int((days == 0).sum()) > 0
    np.testing.assert_allclose(t["monetary"].sum(), cdnow["amount"].sum(), rtol=1e-9)


# ----------------------------------------------------------------------------------------------------------------
# The whole course on the real log, as a team exports it
# ----------------------------------------------------------------------------------------------------------------
RAN = {
    "00_the_world": ["customers", "purchases"],
    "01_segmentation": ["segmentation"],
    "02_scoring": ["rfm", "churn"],
    "03_nbo": [],
    "04_abtest": [],
    "05_kpis": [],
    "06_retraining": ["churn_drift"],
}


@pytest.fixture(scope="module")
def cdnow_course(tmp_path_factory):
    from cdnow_export import write_cdnow_export

    from helpers import run

    d = write_cdnow_export(tmp_path_factory.mktemp("cdnow_export"))
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    out = tmp_path_factory.mktemp("cdnow_run")
    metrics = run.run_course(d, out, progress=False)
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before, "the course wrote into the team's folder"
    return out, metrics


def test_cdnow_the_whole_course_runs_on_the_log_alone_and_says_what_it_skipped(cdnow_course):
    import json

    out, metrics = cdnow_course
    assert {k: v["sections_ran"] for k, v in metrics.items()} == RAN
    assert metrics["03_nbo"]["sections_skipped"] == {
        "nbo": "needs a column product_id in transactions.csv, products.csv"
    }
    for lesson in RAN:
        cells = json.loads((out / f"{lesson}.ipynb").read_text())["cells"]
        outputs = [o for c in cells if c["cell_type"] == "code" for o in c["outputs"]]
        assert not [o for o in outputs if o["output_type"] == "error" or o.get("name") == "stderr"], lesson
        printed = "".join("".join(o.get("text", "")) for o in outputs)
        for key, why in metrics[lesson]["sections_skipped"].items():
            assert printed.count(f"- {why}.") == 1, (lesson, key)  # said once, in the section's first cell
        if not RAN[lesson]:
            assert "Nothing in this lesson runs on this data" in printed


def test_cdnow_lesson_02_rfm_is_the_package_s_rfm_of_the_log(cdnow_course, cdnow):
    out, metrics = cdnow_course
    lesson = pd.read_csv(out / "rfm.csv").set_index("customer_id")
    ours = rfm.rfm_table(cdnow)
    assert len(lesson) == 23_570 and lesson.index.equals(ours.index)
    for col in ("R", "F", "M", "segment", "frequency"):
        assert (lesson[col].to_numpy() == ours[col].to_numpy()).all(), col
    np.testing.assert_allclose(lesson["monetary"], ours["monetary"], rtol=1e-5)  # written with 6 digits


def test_cdnow_churn_on_the_real_log_beats_recency_alone(cdnow_course):
    """Real data, no truth: the lesson's churn model must still rank better than chance and than recency."""
    m = cdnow_course[1]["02_scoring"]
    assert m["auc_churn"] > 0.75 and m["auc_churn"] >= m["auc_churn_recency"] - 0.005
