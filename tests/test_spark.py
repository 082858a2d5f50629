"""The Spark versions of RFM and FP-growth (helpers.spark, docs/scale-out.md) equal the one-machine helpers on the
course world, in Spark's local mode.

Needs pyspark (``make test`` installs requirements-spark.lock) and Java 17+. Without them the tests are skipped,
except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from helpers import nbo, paths, rfm


def _need(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what}; `make test` installs it (requirements-spark.lock, tools/ensure_java.sh)")
    pytest.skip(what)


@pytest.fixture(scope="module")
def spark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _need("pyspark is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _need("no Java runtime (Spark needs Java 17 or newer)")
    from helpers import spark as hs

    session = hs.session(app="ml-marketing-tests")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def lines(spark):
    from helpers import spark as hs

    return hs.read_transactions(spark, paths.DATA_DIR / "transactions.csv").cache()


def test_spark_rfm_table_equals_the_pandas_helper_on_the_course_world(spark, lines, course_world):
    from helpers import spark as hs

    ours = rfm.rfm_table(course_world.transactions)
    theirs = hs.rfm_table(lines).toPandas().set_index("customer_id").sort_index()
    assert len(theirs) == len(ours) > 10_000
    theirs.index = theirs.index.astype(ours.index.dtype)
    theirs = theirs.astype({c: ours[c].dtype for c in ours.columns})
    pd.testing.assert_frame_equal(theirs[ours.columns], ours, check_exact=True)
    assert ours["segment"].nunique() >= 5  # the comparison covers several named segments


def test_spark_rfm_table_at_an_earlier_date_and_other_bins(spark, lines, course_world):
    from helpers import spark as hs

    ours = rfm.rfm_table(course_world.transactions, as_of="2025-01-01", bins=3)
    theirs = hs.rfm_table(lines, as_of="2025-01-01", bins=3).toPandas().set_index("customer_id").sort_index()
    theirs.index = theirs.index.astype(ours.index.dtype)
    theirs = theirs.astype({c: ours[c].dtype for c in ours.columns})
    pd.testing.assert_frame_equal(theirs[ours.columns], ours, check_exact=True)


def test_spark_lifetimes_summary_equals_the_pandas_helper(spark, lines, course_world):
    from helpers import spark as hs

    ours = rfm.lifetimes_summary(course_world.transactions)
    theirs = hs.lifetimes_summary(lines).toPandas().set_index("customer_id").sort_index()
    theirs.index = theirs.index.astype(ours.index.dtype)
    assert (ours["frequency"] > 0).mean() > 0.5  # repeat buyers are most of the comparison
    pd.testing.assert_frame_equal(theirs[ours.columns], ours, rtol=1e-12)


def test_spark_counts_free_lines_as_the_pandas_helper_does(spark, lines, course_world):
    from pyspark.sql import functions as F

    from helpers import spark as hs

    tx = course_world.transactions
    free = tx["order_id"].astype("int64") % 7 == 0
    assert free.any()
    ours = rfm.lifetimes_summary(tx.assign(unit_price=tx["unit_price"].where(~free, 0.0)))
    zeroed = lines.withColumn("unit_price", F.when(F.col("order_id") % 7 == 0, 0.0).otherwise(F.col("unit_price")))
    theirs = hs.lifetimes_summary(zeroed).toPandas().set_index("customer_id").sort_index()
    theirs.index = theirs.index.astype(ours.index.dtype)
    pd.testing.assert_frame_equal(theirs[ours.columns], ours, rtol=1e-12)


@pytest.mark.parametrize(
    "algorithm, by, min_support, min_lift",
    [
        ("fpgrowth", "order_id", 0.005, 1.0),  # lesson 03's rules of what is bought together
        ("pairs", "customer_id", 0.05, 1.1),
    ],
)  # lesson 03's cross-sell rules for the offers
def test_spark_rules_give_the_same_itemsets_and_rules_as_mlxtend(
    spark, lines, course_world, algorithm, by, min_support, min_lift
):
    from helpers import spark as hs

    ours_sets, ours_rules = nbo.mine_rules(
        course_world.transactions,
        min_support=min_support,
        min_confidence=0.05,
        min_lift=min_lift,
        by=by,
        algorithm=algorithm,
    )
    sets, rules = hs.mine_rules(
        lines, min_support=min_support, min_confidence=0.05, min_lift=min_lift, by=by, algorithm=algorithm
    )
    assert (ours_sets["size"] == 2).sum() >= 10 and len(ours_rules) >= 10
    pd.testing.assert_frame_equal(sets, ours_sets, check_exact=True)
    pd.testing.assert_frame_equal(rules, ours_rules, check_exact=True)


def test_spark_refuses_what_the_pandas_helpers_refuse(spark, lines):
    from helpers import spark as hs

    with pytest.raises(ValueError, match=r"missing column\(s\) \['unit_price'\]"):
        hs.rfm_table(lines.drop("unit_price"))
    refund = lines.limit(50).withColumn("quantity", -lines["quantity"])
    with pytest.raises(ValueError, match=r"50 line\(s\) with a negative quantity x unit_price.*drop returns"):
        hs.lifetimes_summary(refund)
    with pytest.raises(ValueError, match="is empty"):
        hs.rfm_table(lines.limit(0))
    with pytest.raises(ValueError, match="not after the first order"):
        hs.rfm_table(lines, as_of="2023-01-01")
    with pytest.raises(ValueError, match="bins must be between 2 and 10"):
        hs.rfm_table(lines, bins=1)
    with pytest.raises(ValueError, match="missing column 'basket'"):
        hs.mine_rules(lines, by="basket")
    with pytest.raises(ValueError, match="no item reaches min_support=0.9"):
        hs.mine_rules(lines, min_support=0.9)
    with pytest.raises(ValueError, match="counts single items and pairs only"):
        hs.mine_rules(lines, algorithm="pairs", max_len=3)


def test_spark_read_fails_on_a_malformed_line_instead_of_a_null(spark, tmp_path):
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    from helpers import spark as hs

    src = (paths.DATA_DIR / "transactions.csv").read_text().splitlines()[:20]
    fields = src[5].split(",")
    (tmp_path / "transactions.csv").write_text("\n".join([*src[:5], ",".join([*fields[:4], "two", fields[5]])]) + "\n")
    with pytest.raises((PySparkException, Py4JJavaError), match="(?i)malformed"):
        hs.read_transactions(spark, tmp_path / "transactions.csv").collect()
    (tmp_path / "blank.csv").write_text("\n".join([*src[:5], ",".join([*fields[:4], "", fields[5]])]) + "\n")
    with pytest.raises(ValueError, match=r"missing values in \{'quantity': 1\}"):
        hs.rfm_table(hs.read_transactions(spark, tmp_path / "blank.csv"))


def test_spark_monetary_rounding_matches_numpy_on_half_cents(spark):
    # line values whose sums fall on half cents: numpy rounds half to even after x 100, and so must Spark
    from pyspark.sql import functions as F

    from helpers import spark as hs

    tx = pd.DataFrame(
        {
            "order_id": [1, 2, 3, 4],
            "customer_id": [1, 2, 3, 3],
            "order_date": pd.to_datetime(["2025-01-01 10:00:00"] * 4),
            "product_id": ["a", "b", "a", "b"],
            "quantity": [1, 1, 1, 1],
            "unit_price": [0.125, 0.375, 2.5, 0.0625],
        }
    )
    frame = spark.createDataFrame(tx.assign(order_date=tx["order_date"].dt.strftime("%Y-%m-%d %H:%M:%S")))
    frame = frame.withColumn("order_date", F.to_timestamp("order_date"))
    ours = rfm.rfm_table(tx)["monetary"].to_numpy()
    theirs = hs.rfm_table(frame).toPandas().set_index("customer_id").sort_index()["monetary"].to_numpy()
    np.testing.assert_array_equal(theirs, ours)


def test_spark_read_matches_columns_by_name_and_names_a_missing_one(spark, tmp_path, course_world):
    from helpers import spark as hs

    head = course_world.transactions.head(300)
    shuffled = head[["unit_price", "product_id", "customer_id", "quantity", "order_date", "order_id"]]
    shuffled.assign(crm_owner="team a").to_csv(tmp_path / "transactions.csv", index=False)
    theirs = hs.rfm_table(hs.read_transactions(spark, tmp_path / "transactions.csv"))
    theirs = theirs.toPandas().set_index("customer_id").sort_index()
    ours = rfm.rfm_table(head)
    theirs.index = theirs.index.astype(ours.index.dtype)
    pd.testing.assert_frame_equal(theirs[ours.columns], ours.astype({c: theirs[c].dtype for c in ours.columns}))
    head.drop(columns="unit_price").to_csv(tmp_path / "no_price.csv", index=False)
    with pytest.raises(ValueError, match=r"no_price.csv: missing column\(s\) \['unit_price'\].*Fix: export"):
        hs.read_transactions(spark, tmp_path / "no_price.csv")
    text_ids = head.assign(customer_id="C" + head["customer_id"].astype(str))
    text_ids.to_csv(tmp_path / "text_ids.csv", index=False)
    scores = hs.rfm_table(hs.read_transactions(spark, tmp_path / "text_ids.csv", ids="string")).toPandas()
    assert scores["customer_id"].str.startswith("C").all() and len(scores) == len(ours)
