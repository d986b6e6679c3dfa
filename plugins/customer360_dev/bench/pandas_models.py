"""The pandas peer of three dbt models: int_customer_purchase_days, customer_rfm and customer_clv, computed
in plain pandas from the same relations the models read, to the same definitions (see the models' YAML).

Amounts are integer cents (``*_cents``): the models sum decimal(18,2) values exactly, and so do integer
sums here, so equal amounts stay equal and get equal scores, as in SQL (a float sum such as
0.10 + 0.20 is not equal to 0.30 and would move a customer across a score edge).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

PREDICTION_COLUMNS = (
    "p_alive",
    "expected_purchases_90d",
    "expected_purchases_365d",
    "expected_avg_spend",
    "predicted_clv_12m",
)


@dataclass(frozen=True)
class PeerInputs:
    """What the three models read, as DataFrames (amounts in integer cents, dates as datetime64):

    - order_lines (int_order_lines_unioned): source_channel, order_id, customer_id, ordered_date, is_revenue,
      net_cents, margin_cents
    - orders (fct_orders): customer_id, ordered_date, is_revenue, net_cents, margin_cents
    - customers (dim_customers): customer_id
    - clv_predictions (analytics.customer_clv_predictions): customer_id, as_of_date, the predictions
    - segment_map (seed rfm_segment_map): r_score, fm_score, rfm_segment
    """

    order_lines: pd.DataFrame
    orders: pd.DataFrame
    customers: pd.DataFrame
    clv_predictions: pd.DataFrame
    segment_map: pd.DataFrame


def scores_by_value(values: pd.Series, buckets: int = 5) -> np.ndarray:
    """customer_rfm's score of each value: ``least(buckets, 1 + floor(buckets x percent_rank))``, where
    percent_rank = (rank - 1) / (n - 1) over ascending values (0 for a single row): equal values share
    their rank, so they always get the same score. Nulls rank last, as in SQL's ascending order."""
    n = len(values)
    if n == 0:
        return np.empty(0, dtype="int64")
    worse = values.rank(method="min", na_option="bottom").to_numpy() - 1  # rows with a strictly lower value
    share = worse / (n - 1) if n > 1 else np.zeros(n)
    return np.minimum(buckets, 1 + np.floor(buckets * share)).astype("int64")


def purchase_days(order_lines: pd.DataFrame, as_of_date: date) -> pd.DataFrame:
    """int_customer_purchase_days: revenue orders of resolved customers per (customer, purchase day) up to
    the as-of date, with the day's distinct orders (channel and order id) and summed amounts."""
    as_of = pd.Timestamp(as_of_date)
    revenue = order_lines[
        order_lines["is_revenue"]
        & order_lines["customer_id"].notna()
        & (order_lines["ordered_date"] <= as_of)
    ]
    orders_of_day = revenue.groupby(
        ["customer_id", "ordered_date", "source_channel", "order_id"], sort=False, observed=True
    )[["net_cents", "margin_cents"]].sum(min_count=1)
    days = orders_of_day.groupby(level=["customer_id", "ordered_date"], sort=False)
    result = days.sum(min_count=1)  # SQL sum: null when every value is null
    result.insert(0, "order_count", days.size())
    return result.reset_index().rename(columns={"ordered_date": "purchase_date"})


def customer_rfm(
    days: pd.DataFrame, segment_map: pd.DataFrame, as_of_date: date, window_days: int
) -> pd.DataFrame:
    """customer_rfm: recency, frequency (purchase days) and monetary value over the window
    (as_of_date - window_days, as_of_date], scores by value (equal values, equal scores), the segment."""
    as_of = pd.Timestamp(as_of_date)
    start = as_of - pd.Timedelta(days=window_days - 1)
    window = days[(days["purchase_date"] >= start) & (days["purchase_date"] <= as_of)]
    per_customer = window.groupby("customer_id", sort=True)
    rfm = pd.DataFrame(
        {
            "recency_days": (as_of - per_customer["purchase_date"].max()).dt.days,
            "frequency": per_customer.size(),
            "monetary_cents": per_customer["net_cents"].sum(min_count=1),
        }
    ).reset_index()
    rfm["r_score"] = scores_by_value(-rfm["recency_days"])  # the most recent gets the highest score
    rfm["f_score"] = scores_by_value(rfm["frequency"])
    rfm["m_score"] = scores_by_value(rfm["monetary_cents"])
    rfm["fm_score"] = (rfm["f_score"] + rfm["m_score"] + 1) // 2
    rfm["rfm_cell"] = rfm["r_score"].astype(str) + rfm["f_score"].astype(str) + rfm["m_score"].astype(str)
    return rfm.merge(segment_map, on=["r_score", "fm_score"], how="left")


def customer_clv(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    clv_predictions: pd.DataFrame,
    days: pd.DataFrame,
    as_of_date: date,
) -> pd.DataFrame:
    """customer_clv: every customer's revenue orders so far (revenue, margin counting an order without a
    full cost as 0, order count; 0 without orders) beside the CLV predictions for the as-of date; a
    purchaser without a prediction has model_status 'failed' (the CLV models did not score them)."""
    as_of = pd.Timestamp(as_of_date)
    revenue = orders[orders["is_revenue"] & orders["customer_id"].notna() & (orders["ordered_date"] <= as_of)]
    per_customer = revenue.assign(margin_cents=revenue["margin_cents"].fillna(0)).groupby(
        "customer_id", sort=False
    )
    history = pd.DataFrame(
        {
            "historical_revenue_cents": per_customer["net_cents"].sum(),
            "historical_margin_cents": per_customer["margin_cents"].sum(),
            "order_count": per_customer.size(),
        }
    )
    predictions = clv_predictions.loc[
        clv_predictions["as_of_date"] == as_of, ["customer_id", *PREDICTION_COLUMNS, "model_status"]
    ]
    clv = customers[["customer_id"]].merge(history, left_on="customer_id", right_index=True, how="left")
    clv = clv.fillna({"historical_revenue_cents": 0, "historical_margin_cents": 0, "order_count": 0})
    clv = clv.merge(predictions, on="customer_id", how="left")
    purchaser = clv["customer_id"].isin(days["customer_id"])
    clv["model_status"] = clv["model_status"].fillna(pd.Series("failed", index=clv.index).where(purchaser))
    clv["model_status"] = clv["model_status"].fillna("no_purchase")
    return clv


def pandas_models(inputs: PeerInputs, as_of_date: date, window_days: int) -> dict[str, pd.DataFrame]:
    """The three models' results, keyed by model name."""
    days = purchase_days(inputs.order_lines, as_of_date)
    return {
        "int_customer_purchase_days": days,
        "customer_rfm": customer_rfm(days, inputs.segment_map, as_of_date, window_days),
        "customer_clv": customer_clv(
            inputs.orders, inputs.customers, inputs.clv_predictions, days, as_of_date
        ),
    }
