"""The aggregations behind the report's charts: SQL over the published snapshot, small results to Python.

Each function takes an open (read-only) DuckDB connection to a snapshot, whose marts are tables in ``main``,
and returns a pandas DataFrame of at most a few hundred rows: grouping, ranking and binning happen in
DuckDB, never in Python loops over customers.
"""

from __future__ import annotations

from typing import Any

# Lifecycle stages in the order a customer moves through them (docs/architecture.md, customer_lifecycle).
LIFECYCLE_STAGES: tuple[str, ...] = (
    "potential",
    "first_contact",
    "first_purchase",
    "repeat",
    "loyal",
    "at_risk",
    "lapsed",
    "reactivated",
)
CHURN_BANDS: tuple[str, ...] = ("low", "medium", "high")
VALUE_TIERS: tuple[str, ...] = ("A", "B", "C")

PARETO_MAX_POINTS = 400  # points drawn on the Pareto curve, whatever the number of customers
CLV_BINS = 40  # histogram bars between the minimum and the 99th percentile
CLV_CLIP_QUANTILE = 0.99  # predicted CLV above this quantile is counted in the last bar


def mart_row_counts(con: Any) -> dict[str, int]:
    """Rows per table of the snapshot (schema ``main``)."""
    names = [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' order by 1"
        ).fetchall()
    ]
    return {name: con.execute(f'select count(*) from main."{name}"').fetchone()[0] for name in names}


def rfm_grid(con: Any) -> Any:
    """Customers per (r_score, f_score) cell, with the cell's most common segment and all its segments."""
    return con.execute(
        """
        with cells as (
            select
                r_score, f_score, coalesce(rfm_segment, '(no segment)') as rfm_segment, count(*) as customers
            from customer_rfm
            where r_score is not null and f_score is not null
            group by all
        )
        select
            r_score,
            f_score,
            sum(customers) as customers,
            arg_max(rfm_segment, customers) as top_segment,
            string_agg(rfm_segment || ': ' || customers, '; ' order by customers desc, rfm_segment)
                as segments
        from cells
        group by r_score, f_score
        order by r_score, f_score
        """
    ).df()


def pareto_curve(con: Any) -> Any:
    """Share of customers (ranked by value, highest first) against their cumulative share of value.

    At most ``PARETO_MAX_POINTS`` points, always including the last customer of each tier (the cut points).
    """
    return con.execute(
        """
        with ranked as (
            select
                value_tier,
                cumulative_value_share,
                row_number() over (order by cumulative_value_share, customer_id) as value_rank,
                count(*) over () as customers
            from customer_value_tiers
            where cumulative_value_share is not null
        ),
        tier_ends as (
            select value_tier, max(value_rank) as last_rank from ranked group by value_tier
        )
        select
            cast(value_rank as double) / customers as customer_share,
            cumulative_value_share,
            ranked.value_tier,
            value_rank = tier_ends.last_rank as is_tier_cut
        from ranked
        join tier_ends using (value_tier)
        where value_rank % greatest(1, customers // ?) = 0
            or value_rank = tier_ends.last_rank
            or value_rank = 1
        order by value_rank
        """,
        [PARETO_MAX_POINTS],
    ).df()


def clv_histogram(con: Any) -> Any:
    """Customers per bin of ``predicted_clv_12m``; values above the clip quantile fall in the last bin.

    Columns: ``bin_start, bin_end, customers, is_overflow`` plus the distribution's ``median`` and ``mean``
    (the same on every row).
    """
    return con.execute(
        """
        with v as (
            select cast(predicted_clv_12m as double) as x
            from customer_clv
            where predicted_clv_12m is not null
        ),
        stats as (
            select min(x) as lo, quantile_cont(x, ?) as hi, median(x) as med, avg(x) as mean from v
        ),
        sized as (
            select lo, hi, med, mean, case when hi > lo then (hi - lo) / ? else 1.0 end as width from stats
        ),
        binned as (
            select least(cast(floor((x - lo) / width) as integer), ? - 1) as bin, x > hi as over_clip
            from v, sized
        )
        select
            lo + bin * width as bin_start,
            lo + (bin + 1) * width as bin_end,
            count(*) as customers,
            bool_or(over_clip) as is_overflow,
            any_value(med) as median,
            any_value(mean) as mean
        from binned, sized
        group by bin, lo, width
        order by bin
        """,
        [CLV_CLIP_QUANTILE, CLV_BINS, CLV_BINS],
    ).df()


def lifecycle_counts(con: Any) -> Any:
    """Customers per lifecycle stage (unordered; the chart puts them in lifecycle order)."""
    return con.execute(
        """
        select coalesce(lifecycle_stage, '(none)') as lifecycle_stage, count(*) as customers
        from customer_lifecycle
        group by 1
        """
    ).df()


def lifecycle_transitions(con: Any) -> Any:
    """Changes of stage counted by (from, to); a first stage has no from-stage and reads ``(new)``."""
    return con.execute(
        """
        select coalesce(from_stage, '(new)') as from_stage, to_stage, count(*) as customers
        from customer_lifecycle_transitions
        where to_stage is not null
        group by all
        order by customers desc
        """
    ).df()


def churn_by_segment(con: Any) -> Any:
    """Customers per (RFM segment, churn band); customers without an RFM score form their own segment."""
    return con.execute(
        """
        select
            coalesce(rfm.rfm_segment, '(no RFM score)') as rfm_segment,
            churn.churn_band,
            count(*) as customers
        from customer_churn_risk as churn
        left join customer_rfm as rfm using (customer_id)
        where churn.churn_band is not null
        group by all
        """
    ).df()


MIN_TICKETS_PER_POINT = 10  # a rate drawn from fewer tickets than this is left out of the chart
# The weeks service_quality_weekly's _4w rates pool: dbt var service_rate_weeks (a test keeps them equal).
RATE_WEEKS = 4


def service_weekly(con: Any) -> Any:
    """Service quality per week and channel (service_quality_weekly, channel 'all' included): the week's
    complaints and tickets, and FCR and SLA adherence over the ``RATE_WEEKS`` weeks up to it as the mart pools
    them (``fcr_rate_4w`` over ``fcr_tickets_4w`` resolved tickets, ``sla_rate_4w`` over ``sla_tickets_4w``
    tickets whose SLA is decided), and whether each rests on ``MIN_TICKETS_PER_POINT`` tickets or more
    (``fcr_enough``, ``sla_enough``): what the chart may draw."""
    return con.execute(
        """
        select
            week_start,
            channel,
            complaints,
            tickets_opened,
            fcr_tickets_4w,
            fcr_rate_4w,
            sla_tickets_4w,
            sla_rate_4w,
            coalesce(fcr_tickets_4w >= ?, false) as fcr_enough,
            coalesce(sla_tickets_4w >= ?, false) as sla_enough
        from service_quality_weekly
        where week_start is not null and channel is not null
        order by week_start, channel = 'all' desc, channel
        """,
        [MIN_TICKETS_PER_POINT, MIN_TICKETS_PER_POINT],
    ).df()


def kpi_trends(con: Any) -> Any:
    """The headline figures of the last dates (kpi_daily), oldest first, with their currency."""
    return con.execute(
        """
        select
            kpi_date,
            currency,
            customers,
            active_customers,
            customers_at_risk,
            cast(net_revenue_30d as double) as net_revenue_30d,
            orders_30d,
            complaints_30d,
            nps_90d,
            nps_responses_90d,
            avg_csat_90d,
            csat_responses_90d
        from kpi_daily
        where kpi_date is not null
        order by kpi_date
        """
    ).df()


def revenue_at_risk(con: Any) -> Any:
    """Per churn band (low, medium, high, unscored, in that order): customers, net revenue of the RFM window,
    the revenue expected to be lost (revenue x churn score) and the currency (revenue_at_risk)."""
    return con.execute(
        """
        select
            churn_band,
            currency,
            customers,
            cast(net_revenue_12m as double) as net_revenue_12m,
            cast(revenue_at_risk as double) as revenue_at_risk,
            avg_churn_score
        from revenue_at_risk
        where churn_band is not null
        order by case churn_band when 'low' then 1 when 'medium' then 2 when 'high' then 3 else 4 end,
            churn_band
        """
    ).df()


def nps_mix(con: Any) -> Any:
    """Customers per category of their latest NPS answer (customer_satisfaction): promoter, passive,
    detractor, in that order."""
    return con.execute(
        """
        select 'mix' as part, nps_category, count(*) as customers
        from customer_satisfaction
        where nps_category is not null
        group by nps_category
        order by
            case nps_category when 'promoter' then 1 when 'passive' then 2 when 'detractor' then 3 else 4 end
        """
    ).df()


def satisfaction(con: Any) -> Any:
    """NPS and CSAT of the last dates (kpi_daily, rows with ``part`` 'trend') and the customers per category
    of their latest NPS answer (customer_satisfaction, ``part`` 'mix': ``nps_category``, ``customers``)."""
    import pandas as pd

    trend = con.execute(
        """
        select 'trend' as part, kpi_date, nps_90d, nps_responses_90d, avg_csat_90d, csat_responses_90d
        from kpi_daily
        where kpi_date is not null and (nps_90d is not null or avg_csat_90d is not null)
        order by kpi_date
        """
    ).df()
    return pd.concat([trend, nps_mix(con)], ignore_index=True)


# Figures compared with the previous date, in page order: (column of kpi_daily, label, kind).
CHANGE_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("customers", "customers", "count"),
    ("active_customers", "active customers (bought within the churn horizon)", "count"),
    ("customers_at_risk", "customers at churn risk (half the horizon without an order)", "count"),
    ("net_revenue_30d", "net revenue, last 30 days", "money"),
    ("orders_30d", "revenue orders, last 30 days", "count"),
    ("complaints_30d", "complaints, last 30 days", "count"),
    ("nps_90d", "NPS, last 90 days", "score"),
    ("avg_csat_90d", "average CSAT (1-5), last 90 days", "score"),
)


def kpi_changes(con: Any) -> dict[str, Any] | None:
    """The as-of date's figures beside the previous date's (kpi_daily's two latest dates): ``date``,
    ``previous_date``, ``currency`` and ``rows`` of ``(label, kind, value, previous, change)``; None when the
    mart holds no date. ``change`` is None when either value is missing."""
    rows = con.execute(
        f"""
        select kpi_date, currency, {", ".join(column for column, _label, _kind in CHANGE_FIGURES)}
        from kpi_daily
        where kpi_date is not null
        order by kpi_date desc
        limit 2
        """
    ).fetchall()
    if not rows:
        return None
    latest = rows[0]
    previous = rows[1] if len(rows) > 1 else None
    figures = []
    for index, (_column, label, kind) in enumerate(CHANGE_FIGURES, start=2):
        value = _number(latest[index])
        before = _number(previous[index]) if previous else None
        change = value - before if value is not None and before is not None else None
        figures.append((label, kind, value, before, change))
    return {
        "date": latest[0],
        "previous_date": previous[0] if previous else None,
        "currency": latest[1],
        "rows": figures,
    }


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def next_best_actions(con: Any) -> Any:
    """Customers per next-best action and contact channel."""
    return con.execute(
        """
        select
            action_code,
            max(action_name) as action_name,
            coalesce(contact_channel, 'none') as contact_channel,
            count(*) as customers
        from customer_next_best_action
        group by action_code, coalesce(contact_channel, 'none')
        order by action_code, contact_channel
        """
    ).df()


def headline_figures(con: Any, counts: dict[str, int]) -> dict[str, int | float | None]:
    """A few figures for the top of the page, from the marts present."""
    figures: dict[str, int | float | None] = {
        "customers": counts.get("dim_customers"),
        "orders": counts.get("fct_orders"),
        "tickets": counts.get("fct_support_tickets"),
    }
    if counts.get("customer_clv"):
        figures["predicted_clv_12m"] = con.execute(
            "select sum(cast(predicted_clv_12m as double)) from customer_clv"
        ).fetchone()[0]
    if counts.get("revenue_at_risk"):
        figures["revenue_at_risk"] = con.execute(
            "select sum(cast(revenue_at_risk as double)) from revenue_at_risk"
        ).fetchone()[0]
    return figures


def currency(con: Any, counts: dict[str, int]) -> str | None:
    """The currency of the marts' money (kpi_daily's, else the orders'), or None when neither says."""
    for mart in ("kpi_daily", "revenue_at_risk", "fct_orders"):
        if counts.get(mart):
            try:
                found = con.execute(f"select max(currency) from {mart}").fetchone()[0]
            except Exception:  # noqa: BLE001 - a mart without the column: ask the next one
                continue
            if found:
                return str(found)
    return None


def clv_holdout(con: Any) -> Any:
    """The CLV holdout check: ``curve, x_value, x_label, n_customers, actual, predicted, relative_error``
    (by_frequency, cumulative and total rows of clv_holdout_validation), in curve and x order."""
    return con.execute(
        """
        select
            curve,
            x_value,
            x_label,
            n_customers,
            actual_repeat_purchases as actual,
            predicted_repeat_purchases as predicted,
            relative_error
        from clv_holdout_validation
        order by curve, x_value
        """
    ).df()


def model_runs(con: Any) -> Any:
    """One row per model of the run: ``model, version, status, reason`` and ``metrics``, its headline figures
    as text (backtest AUC and top-decile precision for churn, holdout error for Pareto/NBD)."""
    return con.execute(
        """
        with figures as (
            select
                model,
                coalesce(version, '-') as version,
                status,
                coalesce(nullif(reason, ''), '-') as reason,
                try_cast(json_extract(metrics, '$.auc') as double) as auc,
                try_cast(json_extract(metrics, '$.precision_top_decile') as double) as precision,
                try_cast(json_extract(metrics, '$.holdout_relative_error') as double) as holdout_error
            from model_runs
        )
        select
            model,
            version,
            status,
            reason,
            coalesce(
                nullif(
                    concat_ws(
                        '; ',
                        printf('AUC %.3f', auc),
                        printf('top-decile precision %.1f%%', 100 * precision),
                        printf('holdout error %+.1f%%', 100 * holdout_error)
                    ),
                    ''
                ),
                '-'
            ) as metrics
        from figures
        order by model
        """
    ).df()
