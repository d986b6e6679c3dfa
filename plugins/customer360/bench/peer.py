"""The pandas peer: a straightforward pandas implementation of RFM scores and historical customer value,
timed against the SQL dbt runs for the same results on the same warehouse, with a check that both agree.

The SQL side executes the models' compiled SQL (what ``dbt build`` ran, from dbt's target folder) into a
scratch schema, so the comparison measures the engine, not dbt's start-up. The pandas side starts from the
same order lines (``intermediate.int_order_lines_unioned``), loaded into a DataFrame first (load time is
reported but not counted against pandas).
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from customer360.settings import Settings

SQL_MODELS = (
    "models/intermediate/customers/int_customer_purchase_days.sql",
    "models/marts/customer_analytics/customer_rfm.sql",
    "models/marts/customer_analytics/customer_clv.sql",
)
SCRATCH_SCHEMA = "bench_peer"


def ntile(n: int, buckets: int = 5) -> np.ndarray:
    """SQL ``ntile(buckets)`` over n ordered rows: the first ``n % buckets`` groups hold one row more."""
    base, extra = divmod(n, buckets)
    sizes = [base + 1] * extra + [base] * (buckets - extra)
    return np.repeat(np.arange(1, buckets + 1), sizes)[:n]


def pandas_rfm_and_value(lines, as_of_date: date, window_days: int):
    """RFM (recency, distinct purchase days, net revenue in the window; quintile scores with customer_id as
    tie-breaker) and historical value per customer, in plain pandas."""
    import pandas as pd

    as_of = pd.Timestamp(as_of_date)
    lines = lines.assign(ordered_date=pd.to_datetime(lines["ordered_date"]))
    revenue = lines[lines["is_revenue"] & lines["customer_id"].notna() & (lines["ordered_date"] <= as_of)]
    days = (
        revenue.groupby(["customer_id", "ordered_date"], sort=False)
        .agg(net_amount=("net_amount", "sum"), margin_amount=("margin_amount", "sum"))
        .reset_index()
    )
    start = as_of - pd.Timedelta(days=window_days)
    window = days[days["ordered_date"] >= start]
    rfm = (
        window.groupby("customer_id")
        .agg(
            last_day=("ordered_date", "max"),
            frequency=("ordered_date", "count"),
            monetary=("net_amount", "sum"),
        )
        .reset_index()
    )
    rfm["recency_days"] = (as_of - rfm["last_day"]).dt.days
    n = len(rfm)
    for score, column, ascending in (
        ("r_score", "recency_days", False),
        ("f_score", "frequency", True),
        ("m_score", "monetary", True),
    ):
        ordered = rfm.sort_values([column, "customer_id"], ascending=[ascending, True], kind="mergesort")
        rfm.loc[ordered.index, score] = ntile(n)
    rfm[["r_score", "f_score", "m_score"]] = rfm[["r_score", "f_score", "m_score"]].astype(int)
    value = (
        revenue.groupby("customer_id")
        .agg(
            historical_revenue=("net_amount", "sum"),
            historical_margin=("margin_amount", "sum"),
            order_count=("order_id", "nunique"),
        )
        .reset_index()
    )
    return rfm, value


def _compiled_sql(settings: Settings, model_path: str) -> str | None:
    path = settings.home / "dbt" / "target" / "compiled" / "customer360" / model_path
    return path.read_text(encoding="utf-8") if path.exists() else None


def sql_rfm_and_value(con, settings: Settings) -> tuple[float, list[str]]:
    """Run the models' compiled SQL into a scratch schema; return the seconds and the models run."""
    con.execute(f"create schema if not exists {SCRATCH_SCHEMA}")
    ran = []
    started = time.perf_counter()
    for model_path in SQL_MODELS:
        sql = _compiled_sql(settings, model_path)
        if sql is None:
            continue
        name = Path(model_path).stem
        con.execute(f"create or replace table {SCRATCH_SCHEMA}.{name} as {sql}")
        ran.append(name)
    seconds = time.perf_counter() - started
    return seconds, ran


def compare(settings: Settings, as_of_date: date) -> dict[str, Any]:
    """Time both implementations on the warehouse of ``settings`` and check they give the same answers."""
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path))
    try:
        load_started = time.perf_counter()
        lines = con.execute(
            "select customer_id, order_id, ordered_date, is_revenue, "
            "cast(net_amount as double) as net_amount, cast(margin_amount as double) as margin_amount "
            "from intermediate.int_order_lines_unioned"
        ).df()
        load_seconds = time.perf_counter() - load_started

        pandas_started = time.perf_counter()
        rfm, value = pandas_rfm_and_value(lines, as_of_date, settings.rfm_window_days)
        pandas_seconds = time.perf_counter() - pandas_started

        sql_seconds, models = sql_rfm_and_value(con, settings)
        sql_rfm = con.execute(
            f"select customer_id, r_score, f_score, m_score from {SCRATCH_SCHEMA}.customer_rfm"
        ).df()
        merged = rfm.merge(
            sql_rfm, on="customer_id", how="outer", suffixes=("_pandas", "_sql"), indicator=True
        )
        score_mismatches = int(
            (merged["_merge"] != "both").sum()
            + sum(
                (merged[f"{s}_pandas"] != merged[f"{s}_sql"]).sum() for s in ("r_score", "f_score", "m_score")
            )
        )
        value_mismatches = None
        if "customer_clv" in models:
            sql_value = con.execute(
                f"select customer_id, cast(historical_revenue as double) as historical_revenue "
                f"from {SCRATCH_SCHEMA}.customer_clv where historical_revenue is not null"
            ).df()
            joined = value.merge(sql_value, on="customer_id", how="inner", suffixes=("_pandas", "_sql"))
            value_mismatches = int(
                (np.abs(joined["historical_revenue_pandas"] - joined["historical_revenue_sql"]) > 0.005).sum()
            )
        con.execute(f"drop schema if exists {SCRATCH_SCHEMA} cascade")
    finally:
        con.close()
    return {
        "customers_scored": int(len(rfm)),
        "order_lines": int(len(lines)),
        "pandas_load_seconds": round(load_seconds, 3),
        "pandas_seconds": round(pandas_seconds, 3),
        "sql_seconds": round(sql_seconds, 3),
        "sql_models": models,
        "speedup": round(pandas_seconds / sql_seconds, 1) if sql_seconds > 0 else None,
        "rfm_score_mismatches": score_mismatches,
        "historical_value_mismatches": value_mismatches,
    }
