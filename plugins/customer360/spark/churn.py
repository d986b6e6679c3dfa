"""Churn scoring on Spark: the fitted churn model applied to each batch of customers with a pandas UDF.

The DuckDB stage (``customer360.churn.stage``) scores every purchaser with ``churn.model.score``: the
probability, its band and each customer's top three reasons (one extra prediction per feature, against the
training medians the model keeps). Each of those depends only on the customer's own features and the fitted
model, so here ``score`` runs that same function on every batch of the features dataframe
(``mapInPandas``): the model (a scikit-learn pipeline, a few kilobytes) goes to the executors, the
customers never come to the driver.

The feature table (``features``) is ``churn.warehouse_features.load_features``' on Spark: dbt's
``intermediate.int_churn_features`` (built by the core build on Spark) for the stage's feature dates, joined
with the Pareto/NBD columns of each date, which ``purchase_model_features`` computes batch by batch from the
CLV summary up to that date (``spark.clv.summarize``) with the stage's own ``clv.predict`` functions and the
date's population statistics.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from customer360.churn.features import REQUIRED_COLUMNS
from customer360.churn.model import TOP_REASONS, ChurnModel
from customer360.churn.model import score as score_batch
from customer360.churn.warehouse_features import FEATURES_TABLE, PURCHASE_MODEL_COLUMNS, feature_dates
from customer360.clv.fit import ClvModels
from customer360.clv.predict import SHORT_HORIZON_DAYS, no_purchase_probability, purchase_model
from customer360.clv.stage import SOURCE_TABLE

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

# ``warehouse_features.purchase_model_features``' columns in Spark's types.
PURCHASE_MODEL_SCHEMA = (
    "customer_id string, feature_date date, p_alive double, expected_purchases_90d double, "
    "p_no_purchase_horizon double"
)

# ``churn.model.score``'s columns in Spark's types.
SCORES_SCHEMA = ", ".join(
    [
        "customer_id string",
        "churn_score double",
        "churn_band string",
        *(f"top_reason_{rank} string" for rank in range(1, TOP_REASONS + 1)),
    ]
)


def score(features: DataFrame, model: ChurnModel) -> DataFrame:
    """``churn.model.score`` for every row of ``features`` (``customer_id`` and the model's feature
    columns), computed batch by batch on the executors."""

    def batches(source: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in source:
            yield score_batch(model, batch)

    return features.select("customer_id", *model.feature_columns).mapInPandas(batches, SCORES_SCHEMA)


def purchase_model_features(
    spark: SparkSession, models: ClvModels, feature_date: date, horizon_days: int, source: str = SOURCE_TABLE
) -> DataFrame:
    """``warehouse_features.purchase_model_features`` on Spark: every customer of ``source`` who bought by
    ``feature_date``, with P(alive), the expected purchase days in the next 90 and the probability of none
    in the churn horizon, computed per Arrow batch; under the fallback with the date's population
    statistics (one aggregate), so a batch computes as the whole summary does."""
    import pyarrow as pa

    from customer360.spark import clv as spark_clv

    summary = spark_clv.summarize(spark, source, feature_date)
    people = None if models.purchases.fitted else spark_clv.statistics(summary).population
    days = float(horizon_days)

    def batches(source_batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in source_batches:
            customers = spark_clv.batch_summary(batch, feature_date)
            alive, expected = purchase_model(customers, models, people)
            yield from pa.table(
                {
                    "customer_id": customers.customer_id,
                    "feature_date": pa.repeat(pa.scalar(feature_date, pa.date32()), customers.n_customers),
                    "p_alive": alive,
                    "expected_purchases_90d": expected(SHORT_HORIZON_DAYS),
                    "p_no_purchase_horizon": no_purchase_probability(customers, models, days, people),
                }
            ).to_batches()

    return summary.select(*spark_clv.SUMMARY_COLUMNS).mapInArrow(batches, PURCHASE_MODEL_SCHEMA)


def features(
    spark: SparkSession,
    models: ClvModels,
    as_of_date: date,
    horizon_days: int,
    training_end: date | None = None,
) -> DataFrame:
    """``warehouse_features.load_features`` on Spark: dbt's rows of the ``feature_dates`` left-joined with
    the Pareto/NBD columns of each date (``models``: the run's CLV models), ``REQUIRED_COLUMNS`` in order."""
    from functools import reduce

    from pyspark.sql import functions as F

    dates = feature_dates(as_of_date, horizon_days, training_end)
    purchases = reduce(
        lambda left, right: left.unionByName(right),
        (purchase_model_features(spark, models, d, horizon_days) for d in dates),
    )
    dbt_rows = spark.table(FEATURES_TABLE).where(F.col("feature_date").isin(list(dates)))
    dbt_columns = [c for c in REQUIRED_COLUMNS if c not in PURCHASE_MODEL_COLUMNS]
    joined = dbt_rows.select(*dbt_columns).join(purchases, ["customer_id", "feature_date"], "left")
    return joined.select(*REQUIRED_COLUMNS)
