"""Churn scoring on Spark: the fitted churn model applied to each batch of customers with a pandas UDF.

The DuckDB stage (``customer360.churn.stage``) scores every purchaser with ``churn.model.score``: the
probability, its band and each customer's top three reasons (one extra prediction per feature, against the
training medians the model keeps). Each of those depends only on the customer's own features and the fitted
model, so here ``score`` runs that same function on every batch of the features dataframe
(``mapInPandas``): the model (a scikit-learn pipeline, a few kilobytes) goes to the executors, the
customers never come to the driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer360.churn.model import TOP_REASONS, ChurnModel
from customer360.churn.model import score as score_batch

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd
    from pyspark.sql import DataFrame

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
