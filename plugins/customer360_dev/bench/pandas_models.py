"""The pandas peer of three dbt models: int_customer_purchase_days, customer_rfm and customer_clv, computed
in plain pandas from the same relations the models read, to the same definitions (see the models' YAML).

Amounts are integer cents (``*_cents``): the models sum decimal(18,2) values exactly, and so do integer
sums here, so equal amounts stay equal and quintile ties split the same way as in SQL (a float sum such as
0.10 + 0.20 is not equal to 0.30 and would move a customer across a quintile edge).
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


def ntile(n: int, buckets: int = 5) -> np.ndarray:
    """SQL ``ntile(buckets)`` over n ordered rows: the first ``n % buckets`` groups hold one row more."""
    base, extra = divmod(n, buckets)
    sizes = [base + 1] * extra + [base] * (buckets - extra)
    return np.repeat(np.arange(1, buckets + 1), sizes)[:n]


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
    (as_of_date - window_days, as_of_date], quintile scores with customer_id breaking ties, the segment."""
    as_of = pd.Timestamp(as_of_date)
    start = as_of - pd.Timedelta(days=window_days - 1)
    window = days[(days["purchase_date"] >= start) & (days["purchase_date"] <= as_of)]
    per_customer = window.groupby("customer_id", sort=True)  # sorted by customer_id: the tie-breaker order
    rfm = pd.DataFrame(
        {
            "recency_days": (as_of - per_customer["purchase_date"].max()).dt.days,
            "frequency": per_customer.size(),
            "monetary_cents": per_customer["net_cents"].sum(min_count=1),
        }
    ).reset_index()
    n = len(rfm)
    for score, values in (
        ("r_score", -rfm["recency_days"].to_numpy()),  # descending: the most recent gets the highest score
        ("f_score", rfm["frequency"].to_numpy()),
        ("m_score", rfm["monetary_cents"].to_numpy(dtype="float64", na_value=np.inf)),  # nulls last
    ):
        scores = np.empty(n, dtype="int64")
        scores[np.argsort(values, kind="stable")] = ntile(n)  # stable: equal values keep customer_id order
        rfm[score] = scores
    rfm["fm_score"] = (rfm["f_score"] + rfm["m_score"] + 1) // 2
    rfm["rfm_cell"] = rfm["r_score"].astype(str) + rfm["f_score"].astype(str) + rfm["m_score"].astype(str)
    return rfm.merge(segment_map, on=["r_score", "fm_score"], how="left")


def customer_clv(
    orders: pd.DataFrame, customers: pd.DataFrame, clv_predictions: pd.DataFrame, as_of_date: date
) -> pd.DataFrame:
    """customer_clv: every customer's revenue orders so far (revenue, margin counting an order without a
    full cost as 0, order count; 0 without orders) beside the CLV predictions for the as-of date."""
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
    clv["model_status"] = clv["model_status"].fillna("no_purchase")
    return clv


def pandas_models(inputs: PeerInputs, as_of_date: date, window_days: int) -> dict[str, pd.DataFrame]:
    """The three models' results, keyed by model name."""
    days = purchase_days(inputs.order_lines, as_of_date)
    return {
        "int_customer_purchase_days": days,
        "customer_rfm": customer_rfm(days, inputs.segment_map, as_of_date, window_days),
        "customer_clv": customer_clv(inputs.orders, inputs.customers, inputs.clv_predictions, as_of_date),
    }
