"""The RFM and FP-growth steps on Apache Spark, for order lines that outgrow one machine (see docs/scale-out.md).

The definitions are those of :mod:`helpers.rfm` and :mod:`helpers.nbo`, so a team can move these steps to a
cluster without changing a number: ``tests/test_spark.py`` runs both here in Spark's local mode on the course
world and checks that they equal the pandas/mlxtend helpers.

* :func:`session` — a local Spark session set up as these functions expect (UTC, no UI); on a cluster, build
  your own with ``spark.sql.session.timeZone=UTC``.
* :func:`read_transactions` — the transactions CSV with the course's column types; a malformed line fails the
  read instead of becoming a null.
* :func:`rfm_table` — :func:`helpers.rfm.rfm_table` as a Spark DataFrame: the aggregation over lines is
  distributed; the quantile scores need one global order of the *distinct* values of each measure.
* :func:`lifetimes_summary` — :func:`helpers.rfm.lifetimes_summary` (frequency, recency, T, monetary_value).
* :func:`mine_rules` — frequent itemsets by Spark MLlib's ``FPGrowth`` (the counting, which is what grows with
  the data), then the same rule table as :func:`helpers.nbo.mine_rules` from those itemsets.

pyspark is not needed by the lessons; ``make test`` installs it (``requirements-spark.lock``) and needs Java 17+.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from helpers.rfm import SEGMENT_RULES, _rule_level

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["session", "read_transactions", "check_transactions", "rfm_table", "lifetimes_summary", "mine_rules"]


def session(app: str = "ml-marketing", master: str = "local[2]", memory: str = "2g") -> SparkSession:
    """A Spark session in local mode (``master``), with UTC timestamps, no web UI and quiet logs."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", memory)
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.ansi.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_transactions(spark: SparkSession, path, ids: str = "long") -> DataFrame:
    """``transactions.csv`` (a file or a folder of part files) with the course's column types.

    Columns are matched by their header names, in any order; extra columns are kept as text. A missing column
    is a ``ValueError`` naming the file. The read is ``FAILFAST``: a line whose date or number does not parse
    raises an error naming it, instead of turning into a null that would silently drop out of every sum.
    ``ids="string"`` reads order and customer ids as text, for exports whose ids are not numbers.
    """
    from pyspark.sql import types as T

    if ids not in ("long", "string"):
        raise ValueError(f"ids must be 'long' or 'string', got {ids!r}")
    id_type = T.LongType() if ids == "long" else T.StringType()
    kinds = {
        "order_id": id_type,
        "customer_id": id_type,
        "order_date": T.TimestampType(),
        "product_id": T.StringType(),
        "quantity": T.LongType(),
        "unit_price": T.DoubleType(),
    }
    header = spark.read.option("header", True).option("inferSchema", False).csv(str(path)).columns
    missing = [c for c in kinds if c not in header]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {missing}; the header has {header}. Fix: export "
            f"{list(kinds)} (other columns may follow)"
        )
    schema = T.StructType([T.StructField(c, kinds.get(c, T.StringType())) for c in header])
    return (
        spark.read.option("header", True)
        .option("mode", "FAILFAST")
        .option("enforceSchema", False)
        .option("timestampFormat", "yyyy-MM-dd[ HH:mm:ss]")
        .schema(schema)
        .csv(str(path))
    )


def check_transactions(lines: DataFrame, name: str = "transactions") -> None:
    """Refuse what would make RFM silently wrong.

    Refuse what would make RFM silently wrong, as :func:`helpers.rfm.check_transactions` does: missing
    columns, no lines, missing values, negative amounts (a value of 0 is a purchase).
    """
    from pyspark.sql import functions as F

    need = ["customer_id", "order_id", "order_date", "quantity", "unit_price"]
    missing = [c for c in need if c not in lines.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}; RFM needs {need}")
    stats = lines.agg(
        F.count(F.lit(1)).alias("n"),
        *(F.sum(F.col(c).isNull().cast("long")).alias(c) for c in need),
        F.sum((F.col("quantity") * F.col("unit_price") < 0).cast("long")).alias("negative"),
    ).collect()[0]  # an aggregate over the whole table: exactly one row
    if stats["n"] == 0:
        raise ValueError(f"{name} is empty: RFM needs at least one order")
    nulls = {c: stats[c] for c in need if stats[c]}
    if nulls:
        raise ValueError(f"{name}: missing values in {nulls} (column: lines). Fix: fill or drop those lines first")
    if stats["negative"]:
        raise ValueError(
            f"{name}: {stats['negative']} line(s) with a negative quantity x unit_price. Fix: RFM counts "
            "purchases (a value of 0 counts); drop returns and refunds first"
        )


def _history(lines: DataFrame, as_of):
    """Checked lines before ``as_of`` (default: the day after the last order) with their ``value``, and as_of."""
    from pyspark.sql import functions as F

    check_transactions(lines)
    # timestamps cross between Spark and Python as text: a datetime object would be read in the local time zone
    text = "yyyy-MM-dd HH:mm:ss"
    first, last = lines.agg(
        F.date_format(F.min("order_date"), text), F.date_format(F.max("order_date"), text)
    ).collect()[0]
    as_of = pd.Timestamp(last).normalize() + pd.Timedelta(days=1) if as_of is None else pd.Timestamp(as_of)
    if as_of <= pd.Timestamp(first):
        raise ValueError(
            f"transactions: as_of {as_of.date()} is not after the first order "
            f"({pd.Timestamp(first).date()}); choose a later as_of"
        )
    before = lines.where(F.col("order_date") < F.to_timestamp(F.lit(as_of.strftime("%Y-%m-%d %H:%M:%S"))))
    return as_of, before.withColumn("value", F.col("quantity") * F.col("unit_price"))


def _score(frame: DataFrame, column: str, bins: int, ascending: bool = True) -> DataFrame:
    """RFM scores on Spark, as helpers.rfm.score.

    Add ``1 + floor(bins * below / n)`` where ``below`` counts the rows with a strictly lower value (higher
    for ``ascending=False``): :func:`helpers.rfm.score`. Only the distinct values are ordered globally.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    n = frame.count()
    key = F.col(column) if ascending else -F.col(column)
    counts = frame.groupBy(key.alias("_v")).count()
    cumulative = Window.orderBy("_v").rowsBetween(Window.unboundedPreceding, -1)
    below = counts.withColumn("_below", F.coalesce(F.sum("count").over(cumulative), F.lit(0)))
    scored = below.select("_v", (1 + F.floor(F.lit(bins) * F.col("_below") / F.lit(n))).cast("int").alias("_s"))
    return frame.withColumn("_v", key).join(F.broadcast(scored) if n < 5_000_000 else scored, "_v").drop("_v")


def _segment(bins: int, rules=SEGMENT_RULES):
    """The ``segment`` column of :func:`helpers.rfm.name_segments`, as one Spark ``CASE WHEN``."""
    from pyspark.sql import functions as F

    ops = {
        "==": lambda c, v: c == v,
        ">=": lambda c, v: c >= v,
        "<=": lambda c, v: c <= v,
        ">": lambda c, v: c > v,
        "<": lambda c, v: c < v,
    }
    out = None
    for name, conds in rules:
        cond = F.lit(True)
        for col, op, v in conds:
            if op not in ops:
                raise ValueError(f"rule {name!r}: unknown operator {op!r}; use one of {sorted(ops)}")
            cond = cond & ops[op](F.col(col), _rule_level(v, bins))
        out = F.when(cond, name) if out is None else out.when(cond, name)
    return F.lit("other") if out is None else out.otherwise("other")


def rfm_table(lines: DataFrame, as_of=None, bins: int = 5) -> DataFrame:
    """The RFM table on Spark.

    :func:`helpers.rfm.rfm_table` on Spark: ``customer_id, recency_days, frequency, monetary, R, F, M, rfm,
    segment`` (one row per customer who ordered before ``as_of``; order it yourself if you need to).
    """
    from pyspark.sql import functions as F

    if not 2 <= int(bins) <= 10:
        raise ValueError(f"bins must be between 2 and 10, got {bins}")
    as_of, lines = _history(lines, as_of)
    seconds = F.unix_timestamp(F.lit(as_of.strftime("%Y-%m-%d %H:%M:%S"))) - F.unix_timestamp(F.max("order_date"))
    out = lines.groupBy("customer_id").agg(
        F.floor(seconds / 86400).cast("long").alias("recency_days"),
        F.countDistinct("order_id").alias("frequency"),
        (F.rint(F.sum("value") * 100) / 100).alias("monetary"),  # numpy's round(2): x 100, half to even, / 100
    )
    for col, measure, ascending in [("R", "recency_days", False), ("F", "frequency", True), ("M", "monetary", True)]:
        out = _score(out, measure, bins, ascending).withColumnRenamed("_s", col)
    out = out.withColumn("rfm", F.col("R") * 100 + F.col("F") * 10 + F.col("M"))
    return out.withColumn("segment", _segment(bins)).select(
        "customer_id", "recency_days", "frequency", "monetary", "R", "F", "M", "rfm", "segment"
    )


def lifetimes_summary(lines: DataFrame, as_of=None) -> DataFrame:
    """The lifetimes summary on Spark.

    :func:`helpers.rfm.lifetimes_summary` on Spark: ``customer_id, frequency, recency, T, monetary_value`` in
    the definitions of the ``lifetimes`` package (daily periods; repeat days only in ``monetary_value``).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    as_of, lines = _history(lines, as_of)
    end = (as_of.normalize() - pd.Timedelta(days=1)).date()
    days = lines.groupBy("customer_id", F.to_date("order_date").alias("day")).agg(F.sum("value").alias("spend"))
    first = Window.partitionBy("customer_id")
    days = days.withColumn("first_day", F.min("day").over(first))
    per = days.groupBy("customer_id").agg(
        (F.count(F.lit(1)) - 1).cast("double").alias("frequency"),
        F.datediff(F.max("day"), F.min("day")).cast("double").alias("recency"),
        F.datediff(F.lit(end), F.min("day")).cast("double").alias("T"),
        F.sum(F.when(F.col("day") > F.col("first_day"), F.col("spend")).otherwise(0.0)).alias("_repeat_spend"),
    )
    monetary = F.when(F.col("frequency") > 0, F.col("_repeat_spend") / F.col("frequency")).otherwise(0.0)
    return per.withColumn("monetary_value", monetary).drop("_repeat_spend")


def mine_rules(
    lines: DataFrame,
    min_support: float = 0.01,
    min_confidence: float = 0.1,
    min_lift: float = 1.0,
    algorithm: str = "fpgrowth",
    max_len: int = 2,
    by: str = "order_id",
    item: str = "product_id",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`helpers.nbo.mine_rules` with Spark doing the counting.

    Baskets (``by``: orders or customers) and their frequent itemsets are found in Spark; the itemsets, few
    even when the lines are billions, come back to the driver, where :func:`helpers.nbo.rules_from_itemsets`
    makes the same ``(itemsets, rules)`` tables as the one-machine helper.

    ``algorithm="fpgrowth"``: Spark MLlib's FP-growth. It has no maximum itemset length, so it enumerates every
    frequent itemset before the longer ones are dropped: right for orders (a few items each), explosive for
    customer histories (dozens of items, so millions of frequent subsets). ``algorithm="pairs"``: exact
    counts of single items and pairs by a self-join of the baskets, as in :func:`helpers.nbo.mine_rules` —
    the choice for ``by="customer_id"``.
    """
    from pyspark.sql import functions as F

    from helpers.nbo import rules_from_itemsets

    if algorithm not in ("fpgrowth", "pairs"):
        raise ValueError(f"algorithm must be 'fpgrowth' or 'pairs', got {algorithm!r}")
    if algorithm == "pairs" and max_len > 2:
        raise ValueError("algorithm='pairs' counts single items and pairs only: use max_len=2 or fpgrowth")
    for col in (by, item):
        if col not in lines.columns:
            raise ValueError(f"transactions: missing column {col!r}; baskets need {by!r} and {item!r}")
    if not 0 < min_support <= 1:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    pairs = lines.select(F.col(by).alias("basket"), F.col(item).cast("string").alias("item")).distinct().cache()
    try:
        n = pairs.select("basket").distinct().count()
        if n == 0:
            raise ValueError("no order lines: a basket analysis needs at least one order")
        # collect(), not toPandas(), for these small tables: pyspark 4.0's toPandas trips a pandas 3 deprecation
        single = pd.DataFrame(pairs.groupBy("item").count().collect(), columns=["item", "count"])
        top = single.loc[single["count"].idxmax()]
        if top["count"] / n < min_support:
            raise ValueError(
                f"no item reaches min_support={min_support}: the most frequent, {top['item']!r}, is in "
                f"{top['count'] / n:.4f} of the baskets; lower min_support"
            )
        if algorithm == "fpgrowth":
            found = _fpgrowth(pairs, min_support, max_len)
        else:
            frequent = single.loc[single["count"] / n >= min_support, "item"].tolist()
            found = [(c, [i]) for i, c in single.loc[single["item"].isin(frequent), ["item", "count"]].to_numpy()]
            if max_len >= 2:
                kept = pairs.where(F.col("item").isin(frequent))
                a, b = kept.alias("a"), kept.alias("b")
                counted = pd.DataFrame(
                    a.join(b, (F.col("a.basket") == F.col("b.basket")) & (F.col("a.item") < F.col("b.item")))
                    .groupBy(F.col("a.item").alias("x"), F.col("b.item").alias("y"))
                    .count()
                    .collect(),
                    columns=["x", "y", "count"],
                )
                found += [(c, [x, y]) for x, y, c in counted[["x", "y", "count"]].to_numpy() if c / n >= min_support]
    finally:
        pairs.unpersist()
    itemsets = pd.DataFrame(
        {"support": [c / n for c, _ in found], "itemsets": [frozenset(map(str, items)) for _, items in found]}
    )
    return rules_from_itemsets(itemsets, n, min_confidence, min_lift)


def _fpgrowth(pairs: DataFrame, min_support: float, max_len: int) -> list[tuple[int, list[str]]]:
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F

    baskets = pairs.groupBy("basket").agg(F.collect_list("item").alias("items"))
    model = FPGrowth(itemsCol="items", minSupport=min_support, minConfidence=1.0).fit(baskets)
    # collect(): the item sets are a few thousand rows at most
    found = model.freqItemsets.where(F.size("items") <= max_len).collect()
    return [(int(row["freq"]), list(row["items"])) for row in found]
