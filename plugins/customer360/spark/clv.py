"""CLV on Spark: the per-customer summary, the population statistics and the scores computed in Spark.

The DuckDB stage (``customer360.clv``) summarises the purchase days in SQL, fits Pareto/NBD and Gamma-Gamma
on the summary and scores every customer with numpy. Here the same steps run on the engine, so that nothing
collects the customers to the driver:

- **summary**: ``clv.summary.summary_sql``'s definitions in Spark SQL over the purchase days (one row per
  customer: x, t_x, T, spends, margin share), a Spark dataframe;
- **population statistics**: one aggregate of the summary, what a customer's score needs from all customers
  (the counts the fit decides on, the pooled repeat rate of the fallback, the median known margin share);
- **Pareto/NBD fit**: on the summary grouped to its distinct (x, t_x, T) rows with their counts (whole days
  repeat a lot: a few thousand rows for millions of customers), the only rows that reach the driver,
  in the order ``pareto_nbd.compress`` gives them, so the fit is DuckDB's;
- **Gamma-Gamma fit**: its likelihood needs each spender's own mean spend inside ln(v + x m_x), which no
  grouping removes, so each optimiser step is one Spark aggregate of four sums over ``v + x m_x`` at the
  step's v (``gamma_gamma.fit_grouped``); DuckDB's fit up to the order of the additions;
- **training data's fingerprint** (``summary_fingerprint``): the DuckDB stage's digest, row hashes computed
  on the executors, sorted by Spark and streamed into SHA-256;
- **scores**: ``clv.predict.predict`` on each Arrow batch of the summary (``mapInArrow``), with the
  population statistics passed in, so a batch scores as the whole summary does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from customer360.clv import gamma_gamma, pareto_nbd
from customer360.clv.fit import ClvModels
from customer360.clv.mle import ModelFit
from customer360.clv.predict import Population, pooled_rate, predict
from customer360.clv.summary import CustomerSummary, purchase_days_sql

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

SUMMARY_COLUMNS = (
    "customer_id",
    "frequency",
    "recency_days",
    "tenure_days",
    "repeat_avg_spend",
    "avg_purchase_day_spend",
    "avg_order_value",
    "margin_share",
)
# ``analytics.customer_clv_predictions`` (``clv.stage.PREDICTIONS_DDL``) in Spark's types.
PREDICTIONS_SCHEMA = (
    "customer_id string, as_of_date date, frequency bigint, recency_days bigint, tenure_days bigint, "
    "avg_order_value double, p_alive double, expected_purchases_90d double, expected_purchases_365d double, "
    "expected_avg_spend double, predicted_clv_12m double, model_status string"
)


def summary_sql(source: str, end: date) -> str:
    """``clv.summary.summary_sql`` in Spark SQL: the same ``purchase_days_sql``, then the summary in
    Spark's dialect. Amounts are summed as exact decimals and their sums divided
    as doubles, as DuckDB divides decimals (Spark would keep a decimal quotient, rounded to its scale)."""
    bound = f"date '{end.isoformat()}'"
    return f"""
        {purchase_days_sql(source, bound)}
        select
            customer_id,
            cast(count(*) - 1 as double) as frequency,
            cast(datediff(max(purchase_date), min(purchase_date)) as double) as recency_days,
            cast(datediff({bound}, min(purchase_date)) as double) as tenure_days,
            cast(sum(net_amount) filter (where purchase_date > first_date) as double)
                / nullif(count(*) - 1, 0) as repeat_avg_spend,
            cast(sum(net_amount) as double) / count(*) as avg_purchase_day_spend,
            cast(sum(net_amount) as double) / nullif(sum(order_count), 0) as avg_order_value,
            case
                when sum(margin_known) > 0 and sum(net_amount) > 0
                then greatest(
                    -1.0D, least(1.0D, cast(sum(margin_amount) as double) / cast(sum(net_amount) as double))
                )
            end as margin_share
        from ranked
        group by customer_id
    """


def summarize(spark: SparkSession, source: str, end: date) -> DataFrame:
    """One row per customer of ``source`` (with ``clv.summary.PURCHASE_DAY_COLUMNS``) up to ``end``."""
    return spark.sql(summary_sql(source, end))


@dataclass(frozen=True)
class SummaryStatistics:
    """The summary's population statistics (one Spark aggregate)."""

    n_customers: int
    n_repeat_customers: int
    n_spenders: int  # repeat customers with a positive mean repeat spend: Gamma-Gamma's customers
    population: Population


def statistics(summary: DataFrame) -> SummaryStatistics:
    """Counts, pooled repeat rate and median known margin share of ``summary`` (``summarize``'s rows)."""
    row = summary.selectExpr(
        "count(*) as n_customers",
        "count_if(frequency > 0) as n_repeat_customers",
        "count_if(frequency > 0 and repeat_avg_spend > 0) as n_spenders",
        "sum(frequency) as total_frequency",
        "sum(tenure_days) as total_tenure_days",
        "percentile(margin_share, 0.5) as median_margin_share",
    ).first()
    median = row["median_margin_share"]
    return SummaryStatistics(
        n_customers=int(row["n_customers"]),
        n_repeat_customers=int(row["n_repeat_customers"]),
        n_spenders=int(row["n_spenders"]),
        population=Population(
            pooled_rate=pooled_rate(
                float(row["total_frequency"] or 0.0), float(row["total_tenure_days"] or 0.0)
            ),
            default_margin_share=1.0 if median is None else float(median),
        ),
    )


def fit_purchases(summary: DataFrame) -> ModelFit:
    """Pareto/NBD fitted on ``summary``'s distinct (x, t_x, T) rows and their counts (``fit_compressed``)."""
    grouped = (
        summary.groupBy("frequency", "recency_days", "tenure_days")
        .count()
        .orderBy("frequency", "recency_days", "tenure_days")
        .toPandas()
    )
    columns = ("frequency", "recency_days", "tenure_days", "count")
    return pareto_nbd.fit_compressed(*(grouped[c].to_numpy(dtype=np.float64) for c in columns))


def fit_models(summary: DataFrame, counts: SummaryStatistics) -> ClvModels:
    """``clv.fit.fit_models`` on Spark: the same decisions on the summary's counts (``statistics``), then
    Pareto/NBD on the grouped rows (``fit_purchases``) and Gamma-Gamma by aggregates (``fit_spend``)."""
    from customer360.clv.fit import decide_models

    return decide_models(
        counts.n_customers,
        counts.n_repeat_customers,
        counts.n_spenders,
        lambda: fit_purchases(summary),
        lambda: fit_spend(summary),
    )


# Gamma-Gamma's customers in ``summary``: a repeat purchase and a positive, finite mean repeat spend
# (``gamma_gamma.usable``; Spark's NaN is greater than every double, hence the explicit test).
SPENDERS = "frequency > 0 and repeat_avg_spend > 0 and not isnan(repeat_avg_spend)"


def fit_spend(summary: DataFrame) -> ModelFit:
    """Gamma-Gamma fitted on ``summary``'s spenders without collecting them: ``gamma_gamma.fit_grouped`` on
    their count and sum of ln m_x per distinct x (one grouped aggregate: a row per number of repeat
    purchases), with one global Spark aggregate per optimiser step of the four sums over T = v + x m_x at the
    step's v. The spenders are cached for the steps and released afterwards."""
    from pyspark.sql import functions as F

    spenders = summary.where(SPENDERS).select(
        F.col("frequency").alias("x"), F.col("repeat_avg_spend").alias("m")
    )
    spenders.cache()
    try:
        fixed = (
            spenders.groupBy("x")
            .agg(F.count("*").alias("count"), F.sum(F.ln("m")).alias("sum_log_m"), F.sum("m").alias("sum_m"))
            .orderBy("x")
            .toPandas()
        )
        n = float(fixed["count"].sum())
        groups = gamma_gamma.SpendGroups(
            x=fixed["x"].to_numpy(dtype=np.float64),
            count=fixed["count"].to_numpy(dtype=np.float64),
            sum_log_m=fixed["sum_log_m"].to_numpy(dtype=np.float64),
            mean_m=float(fixed["sum_m"].sum()) / n if n else 1.0,
        )
        steps: dict[float, tuple[float, float, float, float]] = {}

        def sums_at_v(v: float) -> tuple[float, float, float, float]:
            if v not in steps:
                total = F.lit(v) + F.col("x") * F.col("m")
                row = spenders.agg(
                    F.sum(F.ln(total)),
                    F.sum(F.col("x") * F.ln(total)),
                    F.sum(1.0 / total),
                    F.sum(F.col("x") / total),
                ).first()
                steps.clear()  # the optimiser asks for one v at a time
                steps[v] = tuple(float(value or 0.0) for value in row)  # type: ignore[assignment]
            return steps[v]

        return gamma_gamma.fit_grouped(groups, sums_at_v)
    finally:
        spenders.unpersist()


# ``clv.stage.summary_fingerprint``'s columns, in its order.
FINGERPRINT_COLUMNS = (
    "frequency",
    "recency_days",
    "tenure_days",
    "repeat_avg_spend",
    "avg_purchase_day_spend",
)
_SIGN_BIT = np.uint64(1 << 63)
_FINGERPRINT_CHUNK = 1 << 16


def summary_fingerprint(summary: DataFrame) -> str:
    """``clv.stage.summary_fingerprint`` of ``summary``, the same digest: each row hashed on the executors by
    pandas' row hash (``model_artifacts.data_fingerprint``'s), the hashes sorted by Spark and streamed to
    the driver partition by partition into SHA-256 (eight bytes a customer pass through, none are kept).
    Spark's longs are signed: the hashes are sorted with their top bit flipped, which orders them as the
    unsigned numbers numpy sorts."""
    import hashlib

    import pandas as pd

    columns = list(FINGERPRINT_COLUMNS)

    def keys(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in frames:
            hashes = pd.util.hash_pandas_object(frame[columns].astype("float64"), index=False)
            yield pd.DataFrame({"key": (hashes.to_numpy(dtype=np.uint64) ^ _SIGN_BIT).view(np.int64)})

    ordered = summary.select(*columns).mapInPandas(keys, "key long").orderBy("key")
    digest = hashlib.sha256()
    chunk: list[int] = []
    for row in ordered.toLocalIterator(prefetchPartitions=True):
        chunk.append(row[0])
        if len(chunk) == _FINGERPRINT_CHUNK:
            digest.update((np.array(chunk, dtype=np.int64).view(np.uint64) ^ _SIGN_BIT).tobytes())
            chunk.clear()
    digest.update((np.array(chunk, dtype=np.int64).view(np.uint64) ^ _SIGN_BIT).tobytes())
    digest.update(",".join(columns).encode())
    return digest.hexdigest()


def batch_summary(batch: pa.RecordBatch, end: date) -> CustomerSummary:
    import pyarrow.compute as pc

    def floats(name: str) -> np.ndarray:
        column = pc.fill_null(pc.cast(batch.column(name), "float64"), float("nan"))
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)

    return CustomerSummary(
        customer_id=batch.column("customer_id"),
        **{name: floats(name) for name in SUMMARY_COLUMNS[1:]},
        observation_end=end,
    )


def score(
    summary: DataFrame, end: date, models: ClvModels, people: Population, annual_discount_rate: float
) -> DataFrame:
    """``analytics.customer_clv_predictions``'s rows for ``summary``, scored batch by batch on the
    executors with ``clv.predict.predict`` and the population's statistics."""

    def batches(source: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in source:
            table = predict(batch_summary(batch, end), models, annual_discount_rate, people)
            yield from table.to_batches()

    return summary.select(*SUMMARY_COLUMNS).mapInArrow(batches, PREDICTIONS_SCHEMA)
