"""Connected components in Spark: which rows can end up one customer (``customer360.spark.identity``).

Rows are nodes, shared values are keys; two rows sharing a key are connected. ``connected_rows`` labels every
node with the smallest node it is connected to, by label propagation in Spark SQL: each round gives every
key the smallest label of its nodes and every node the smallest label of its keys, until no label changes
(one round per step of the longest chain). The driver sees one number per round: whether a label changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

ROW_ID = "row_id"
# Phones: rows whose numbers end in the same digits share a key component (two writings of one number, with
# or without country code or trunk prefix, end alike; the households' "same line" compares the last 8).
PHONE_TAIL_DIGITS = 6


def key_pairs(prepared: DataFrame) -> DataFrame:
    """``(row_id, key)``: every value that can make two rows one person's or tell regions and households
    about each other."""
    from pyspark.sql import functions as F

    digits = F.col("phone_digits")
    tail = F.when(
        F.length(digits) >= PHONE_TAIL_DIGITS, F.substring(digits, -PHONE_TAIL_DIGITS, PHONE_TAIL_DIGITS)
    )
    keys = {
        "record": F.col("record_key"),
        "account": F.col("account_key"),
        "loyalty": F.col("loyalty_key"),
        "email": F.col("email_key"),
        "phone": F.coalesce(tail, digits),
    }
    parts = [
        prepared.select(ROW_ID, F.concat(F.lit(f"{kind}\x1f"), value).alias("key")).where(value.isNotNull())
        for kind, value in keys.items()
    ]
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def connected_rows(pairs: DataFrame, node: str = ROW_ID, label: str = "component") -> DataFrame:
    """``(node, label)``: each node of ``pairs`` (``node, key``) with the smallest node it is connected to
    through shared keys. Label propagation in Spark: each round gives every key the smallest label of its
    nodes and every node the smallest label of its keys, until no label changes."""
    from pyspark.sql import functions as F

    pairs = pairs.select(node, "key").distinct().localCheckpoint()
    labels = pairs.select(node).distinct().withColumn(label, F.col(node)).localCheckpoint()
    while True:
        by_key = pairs.join(labels, node).groupBy("key").agg(F.min(label).alias("key_label"))
        proposed = pairs.join(by_key, "key").groupBy(node).agg(F.min("key_label").alias("proposed"))
        updated = (
            labels.join(proposed, node, "left")
            .select(node, F.least(F.col(label), F.coalesce("proposed", label)).alias(label))
            .localCheckpoint()
        )
        changed = updated.join(labels.withColumnRenamed(label, "before"), node).where(
            F.col(label) != F.col("before")
        )
        if changed.limit(1).count() == 0:
            return updated
        labels = updated
