"""The polars peer of the same three dbt models as ``pandas_models``: int_customer_purchase_days,
customer_rfm and customer_clv, from the same relations and to the same definitions (see the models' YAML),
so the bench can set DuckDB beside both DataFrame libraries on one warehouse.

Inputs are ``PolarsInputs``: the ``peer.INPUTS`` relations as polars DataFrames (amounts in integer cents,
as in the pandas peer: exact sums, so equal amounts get equal scores). The three results are planned
lazily and collected together, so polars may share the purchase-day roll-up between the two models that
read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from customer360_dev.bench.pandas_models import PREDICTION_COLUMNS


@dataclass(frozen=True)
class PolarsInputs:
    order_lines: pl.DataFrame
    orders: pl.DataFrame
    customers: pl.DataFrame
    clv_predictions: pl.DataFrame
    segment_map: pl.DataFrame


def _sum_or_null(column: str) -> pl.Expr:
    """SQL's ``sum``: null when every value is null (polars' own sum gives 0)."""
    return pl.when(pl.col(column).count() > 0).then(pl.col(column).sum()).alias(column)


def _score(column: str, buckets: int = 5) -> pl.Expr:
    """customer_rfm's score: ``least(buckets, 1 + floor(buckets x percent_rank))`` over ascending values,
    equal values sharing their (lowest) rank, nulls ranked last (as in ``pandas_models.scores_by_value``)."""
    value = pl.col(column)
    worse = (value.rank("min").fill_null(value.count() + 1) - 1).cast(pl.Float64)
    rows = pl.len()
    share = pl.when(rows > 1).then(worse / (rows - 1).cast(pl.Float64)).otherwise(0.0)
    return pl.min_horizontal(pl.lit(buckets, dtype=pl.Float64), 1 + (buckets * share).floor()).cast(pl.Int64)


def purchase_days(order_lines: pl.LazyFrame, as_of_date: date) -> pl.LazyFrame:
    """Revenue orders of resolved customers per (customer, purchase day) up to the as-of date."""
    revenue = order_lines.filter(
        pl.col("is_revenue") & pl.col("customer_id").is_not_null() & (pl.col("ordered_date") <= as_of_date)
    )
    orders_of_day = revenue.group_by(["customer_id", "ordered_date", "source_channel", "order_id"]).agg(
        _sum_or_null("net_cents"), _sum_or_null("margin_cents")
    )
    return (
        orders_of_day.group_by(["customer_id", "ordered_date"])
        .agg(
            pl.len().cast(pl.Int64).alias("order_count"),
            _sum_or_null("net_cents"),
            _sum_or_null("margin_cents"),
        )
        .rename({"ordered_date": "purchase_date"})
    )


def customer_rfm(
    days: pl.LazyFrame, segment_map: pl.LazyFrame, as_of_date: date, window_days: int
) -> pl.LazyFrame:
    """Recency, frequency (purchase days) and monetary value over (as_of_date - window_days, as_of_date],
    scored by value, with the segment."""
    start = as_of_date - timedelta(days=window_days - 1)
    window = days.filter(pl.col("purchase_date").is_between(start, as_of_date))
    rfm = window.group_by("customer_id").agg(
        (pl.lit(as_of_date) - pl.col("purchase_date").max()).dt.total_days().alias("recency_days"),
        pl.len().cast(pl.Int64).alias("frequency"),
        _sum_or_null("net_cents").alias("monetary_cents"),
    )
    scored = rfm.with_columns((-pl.col("recency_days")).alias("neg_recency")).with_columns(
        _score("neg_recency").alias("r_score"),
        _score("frequency").alias("f_score"),
        _score("monetary_cents").alias("m_score"),
    )
    scored = scored.drop("neg_recency").with_columns(
        ((pl.col("f_score") + pl.col("m_score") + 1) // 2).alias("fm_score")
    )
    scored = scored.with_columns(
        pl.concat_str(pl.col("r_score"), pl.col("f_score"), pl.col("m_score")).alias("rfm_cell")
    )
    segments = segment_map.with_columns(pl.col("r_score").cast(pl.Int64), pl.col("fm_score").cast(pl.Int64))
    return scored.join(segments, on=["r_score", "fm_score"], how="left")


def customer_clv(
    orders: pl.LazyFrame,
    customers: pl.LazyFrame,
    clv_predictions: pl.LazyFrame,
    days: pl.LazyFrame,
    as_of_date: date,
) -> pl.LazyFrame:
    """Every customer's revenue orders so far beside the CLV predictions of the as-of date; a purchaser
    without a prediction has model_status 'failed', a customer without purchases 'no_purchase'."""
    revenue = orders.filter(
        pl.col("is_revenue") & pl.col("customer_id").is_not_null() & (pl.col("ordered_date") <= as_of_date)
    )
    history = revenue.group_by("customer_id").agg(
        pl.col("net_cents").sum().alias("historical_revenue_cents"),
        pl.col("margin_cents").fill_null(0).sum().alias("historical_margin_cents"),
        pl.len().cast(pl.Int64).alias("order_count"),
    )
    predictions = clv_predictions.filter(pl.col("as_of_date") == as_of_date).select(
        "customer_id", *PREDICTION_COLUMNS, "model_status"
    )
    purchasers = days.select("customer_id").unique().with_columns(pl.lit(True).alias("_purchaser"))
    clv = (
        customers.select("customer_id")
        .join(history, on="customer_id", how="left")
        .with_columns(
            pl.col("historical_revenue_cents").fill_null(0),
            pl.col("historical_margin_cents").fill_null(0),
            pl.col("order_count").fill_null(0),
        )
        .join(predictions, on="customer_id", how="left")
        .join(purchasers, on="customer_id", how="left")
    )
    status = (
        pl.when(pl.col("model_status").is_not_null())
        .then(pl.col("model_status"))
        .when(pl.col("_purchaser"))
        .then(pl.lit("failed"))
        .otherwise(pl.lit("no_purchase"))
    )
    return clv.with_columns(status.alias("model_status")).drop("_purchaser")


def polars_models(inputs: PolarsInputs, as_of_date: date, window_days: int) -> dict[str, pl.DataFrame]:
    """The three models' results, keyed by model name (planned lazily, collected together)."""
    days = purchase_days(inputs.order_lines.lazy(), as_of_date)
    plans = {
        "int_customer_purchase_days": days,
        "customer_rfm": customer_rfm(days, inputs.segment_map.lazy(), as_of_date, window_days),
        "customer_clv": customer_clv(
            inputs.orders.lazy(), inputs.customers.lazy(), inputs.clv_predictions.lazy(), days, as_of_date
        ),
    }
    return dict(zip(plans, pl.collect_all(list(plans.values())), strict=True))
