"""Purchase days to the per-customer summary the CLV models need: frequency, recency, age and spend.

Definitions (all durations in **days**, measured to the observation end, inclusive):

- a *purchase day* is one (customer, calendar date) with at least one purchase; purchases on the same day
  are collapsed into one transaction (their amounts summed), as Fader, Hardie & Lee (2005) do for CDNOW;
- ``frequency`` (x) is the number of **repeat** purchase days: purchase days after the first one;
- ``recency_days`` (t_x) is the age of the customer at the last purchase day: last day - first day;
- ``tenure_days`` (T) is the age of the customer at the observation end: observation end - first day;
- ``repeat_avg_spend`` (m_x) is the mean net amount of the repeat purchase days (the Gamma-Gamma input;
  the first purchase is left out, as in Fader & Hardie 2005); NaN when x = 0;
- ``avg_purchase_day_spend`` is the mean net amount over all purchase days, the first included;
- ``avg_order_value`` is the historical net amount per order over all purchase days (orders counted by
  ``order_count``, one per day when unknown);
- ``margin_share`` is sum(margin) / sum(net) over all purchase days, clipped to [-1, 1]; NaN when the margin
  is unknown or the net amount is not positive (the predictor then uses the median known share, or 1).

The aggregation runs in DuckDB and the result comes back as Arrow/numpy arrays: no Python loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

# Columns a purchase-day relation must have (``intermediate.int_customer_purchase_days`` has them all).
PURCHASE_DAY_COLUMNS = ("customer_id", "purchase_date", "order_count", "net_amount", "margin_amount")


@dataclass(frozen=True)
class CustomerSummary:
    """One entry per customer, aligned arrays. ``customer_id`` stays an Arrow array (no Python objects)."""

    customer_id: pa.Array
    frequency: np.ndarray
    recency_days: np.ndarray
    tenure_days: np.ndarray
    repeat_avg_spend: np.ndarray
    avg_purchase_day_spend: np.ndarray
    avg_order_value: np.ndarray
    margin_share: np.ndarray
    observation_end: date

    @property
    def n_customers(self) -> int:
        return int(self.frequency.shape[0])

    @property
    def n_repeat_customers(self) -> int:
        return int(np.count_nonzero(self.frequency > 0))


def purchase_days_sql(source: str, end: str) -> str:
    """The ``with`` clause both engines' summaries start from (``summary_sql``, ``customer360.spark.clv``):
    ``days``, the rows of ``source`` up to ``end`` (an SQL date expression) collapsed to one per (customer,
    day), and ``ranked``, those with the customer's first purchase day. Standard SQL, the same on DuckDB
    and Spark."""
    return f"""with days as (
            select
                customer_id,
                purchase_date,
                sum(coalesce(order_count, 1)) as order_count,
                sum(net_amount) as net_amount,
                sum(margin_amount) as margin_amount,
                count(margin_amount) as margin_known
            from {source}
            where purchase_date <= {end} and customer_id is not null and purchase_date is not null
            group by customer_id, purchase_date
        ),
        ranked as (
            select *, min(purchase_date) over (partition by customer_id) as first_date
            from days
        )"""


def summary_sql(source: str) -> str:
    """SQL summarising ``source`` (a relation with PURCHASE_DAY_COLUMNS) up to the date bound as ``$end``.

    Rows of ``source`` on the same (customer, day) are collapsed first, so a relation with one row per order
    gives the same summary as one with one row per purchase day.
    """
    return f"""
        {purchase_days_sql(source, "$end")}
        select
            customer_id,
            count(*) - 1 as frequency,
            date_diff('day', min(purchase_date), max(purchase_date)) as recency_days,
            date_diff('day', min(purchase_date), $end) as tenure_days,
            sum(net_amount) filter (where purchase_date > first_date) / nullif(count(*) - 1, 0)
                as repeat_avg_spend,
            sum(net_amount) / count(*) as avg_purchase_day_spend,
            sum(net_amount) / nullif(sum(order_count), 0) as avg_order_value,
            case
                when sum(margin_known) > 0 and sum(net_amount) > 0
                then greatest(-1.0, least(1.0, sum(margin_amount) / sum(net_amount)))
            end as margin_share
        from ranked
        group by customer_id
        order by customer_id
    """


def _float_column(table: pa.Table, name: str) -> np.ndarray:
    import pyarrow.compute as pc

    column = pc.cast(table.column(name), "float64")
    return np.asarray(pc.fill_null(column, float("nan")).to_numpy(zero_copy_only=False), dtype=np.float64)


def summarize(con: duckdb.DuckDBPyConnection, source: str, observation_end: date) -> CustomerSummary:
    """Summarise the purchase days in ``source`` (table, view or parenthesised query) up to the end date."""
    table = con.sql(summary_sql(source), params={"end": observation_end}).to_arrow_table()
    return CustomerSummary(
        customer_id=table.column("customer_id").combine_chunks(),
        frequency=_float_column(table, "frequency"),
        recency_days=_float_column(table, "recency_days"),
        tenure_days=_float_column(table, "tenure_days"),
        repeat_avg_spend=_float_column(table, "repeat_avg_spend"),
        avg_purchase_day_spend=_float_column(table, "avg_purchase_day_spend"),
        avg_order_value=_float_column(table, "avg_order_value"),
        margin_share=_float_column(table, "margin_share"),
        observation_end=observation_end,
    )
