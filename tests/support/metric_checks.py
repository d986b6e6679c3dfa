"""Each metric of the semantic layer (dbt_project/models/analytics/semantic) set against the mart it stands
for, on one run's published snapshot: ``layer`` is a ``customer360.metrics.SemanticLayer`` on it, ``marts`` a
read-only connection to it (``customer360.analyst.connect_snapshot``). Each ``check_*`` asserts; the test
modules call them on the runs they share (tests/reliability/test_metrics.py,
tests/integration/test_daily_run.py).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from customer360.metrics import SemanticLayer

RFM_WINDOW_DAYS = 365
# The KPIs docs/analyst-guide.md ("Metrics") promises as metrics of the semantic layer.
KPIS = (
    "revenue",
    "orders",
    "active_customers",
    "repeat_rate",
    "churn_rate",
    "average_clv",
    "nps",
    "csat",
    "first_contact_resolution",
    "sla_adherence",
    "complaint_rate",
)


def metric_rows(layer: SemanticLayer, metrics: list[str], **options) -> dict[tuple, tuple]:
    """The metrics' values keyed by the group-by values, both in the order asked (MetricFlow orders its output
    columns its own way), dates as ISO strings, numbers as floats."""
    result = layer.relation(metrics, **options)
    group_by = list(options.get("group_by", ()))
    keys = [result.columns.index(name) for name in group_by]
    values = [result.columns.index(name) for name in metrics]
    return {
        tuple(plain(row[i]) for i in keys): tuple(plain(row[i]) for i in values) for row in result.fetchall()
    }


def sql_rows(con, query: str, keys: int) -> dict[tuple, tuple]:
    return {
        tuple(plain(v) for v in row[:keys]): tuple(plain(v) for v in row[keys:])
        for row in con.execute(query).fetchall()
    }


def plain(value):
    if hasattr(value, "date") and callable(value.date):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | bool):
        return value
    return float(value)


def _window_start(as_of_date: date) -> date:
    return as_of_date - timedelta(days=RFM_WINDOW_DAYS - 1)


def check_order_metrics(layer, marts) -> None:
    # GIVEN the run's snapshot WHEN the order metrics are asked per order date and sales channel
    got = metric_rows(
        layer, ["revenue", "orders", "active_customers"], group_by=["metric_time__day", "order__channel"]
    )
    # THEN each equals fct_orders' revenue orders (completed or partially returned) of that day and channel
    expected = sql_rows(
        marts,
        """
        select ordered_date, source_channel,
            sum(case when is_revenue then net_amount else 0 end),
            sum(case when is_revenue then 1 else 0 end),
            count(distinct case when is_revenue then customer_id end)
        from fct_orders
        group by all
        """,
        keys=2,
    )
    assert got == expected
    assert sum(values[1] for values in expected.values()) > 0


def check_rfm_window_metrics(layer, marts, as_of_date: date) -> None:
    # GIVEN the RFM window (365 days up to the as-of date) WHEN active customers are asked over it
    ((active,),) = metric_rows(
        layer, ["active_customers"], start=_window_start(as_of_date), end=as_of_date
    ).values()
    # THEN they are the customers of customer_rfm (who bought in the window)
    assert active == marts.execute("select count(*) from customer_rfm").fetchone()[0] > 0
    # AND the revenue of identified customers up to the as-of date is the sum of their historical revenue
    ((revenue,),) = metric_rows(
        layer, ["revenue"], end=as_of_date, where=["{{ Entity('customer') }} is not null"]
    ).values()
    historical = marts.execute("select sum(historical_revenue) from customer_clv").fetchone()[0]
    assert revenue == pytest.approx(float(historical), abs=0.005)


def check_customer_state_metrics(layer, marts) -> None:
    # GIVEN the customer-state metrics WHEN they are asked per value tier
    got = metric_rows(layer, ["repeat_rate", "churn_rate", "average_clv"], group_by=["customer__value_tier"])
    # THEN repeat rate is customer_rfm's buyers on two or more days over its buyers, churn rate the lapsed
    # customers of customer_lifecycle over those who ever bought, and average CLV customer_clv's mean
    expected = sql_rows(
        marts,
        """
        with repeat as (
            select tiers.value_tier, avg(case when rfm.frequency >= 2 then 1.0 else 0.0 end) as rate
            from customer_rfm as rfm join customer_value_tiers as tiers using (customer_id)
            group by all
        ),
        churn as (
            select tiers.value_tier,
                sum(case when life.lifecycle_stage = 'lapsed' then 1.0 else 0.0 end)
                    / nullif(count(life.days_since_last_order), 0) as rate
            from customer_lifecycle as life join customer_value_tiers as tiers using (customer_id)
            group by all
        ),
        clv as (
            select tiers.value_tier, avg(clv.predicted_clv_12m) as average
            from customer_clv as clv join customer_value_tiers as tiers using (customer_id)
            group by all
        )
        select value_tier, repeat.rate, churn.rate, clv.average
        from churn left join repeat using (value_tier) left join clv using (value_tier)
        """,
        keys=1,
    )
    assert got.keys() == expected.keys()
    for tier, values in expected.items():
        assert got[tier] == pytest.approx(values, abs=1e-9), tier
    # AND over all customers, the same from the marts' totals
    ((repeat_rate, churn_rate, average_clv),) = metric_rows(
        layer, ["repeat_rate", "churn_rate", "average_clv"]
    ).values()
    assert repeat_rate == pytest.approx(
        marts.execute(
            "select avg(case when frequency >= 2 then 1.0 else 0.0 end) from customer_rfm"
        ).fetchone()[0]
    )
    lapsed, buyers = marts.execute(
        "select count(*) filter (where lifecycle_stage = 'lapsed'), count(days_since_last_order) "
        "from customer_lifecycle"
    ).fetchone()
    assert buyers > 0 and churn_rate == pytest.approx(lapsed / buyers)
    assert average_clv == pytest.approx(
        marts.execute("select avg(predicted_clv_12m) from customer_clv").fetchone()[0]
    )


def check_satisfaction_metrics(layer, marts, as_of_date: date) -> None:
    # GIVEN the survey answers of the RFM window WHEN NPS and CSAT are asked per RFM segment and touchpoint
    got = metric_rows(
        layer,
        ["nps", "csat", "nps_answers"],
        group_by=["customer__rfm_segment", "survey_response__touchpoint"],
        start=_window_start(as_of_date),
        end=as_of_date,
    )
    # THEN they equal satisfaction_by_segment's (unsegmented answers and those without touchpoint named there)
    got = {
        (segment or "Not segmented", touchpoint or "unknown"): values
        for (segment, touchpoint), values in got.items()
    }
    expected = sql_rows(
        marts,
        "select rfm_segment, touchpoint, nps, avg_csat, nps_responses from satisfaction_by_segment",
        keys=2,
    )
    assert expected, "the run has no survey answers in the window"
    assert got.keys() == expected.keys()
    for group, values in expected.items():
        assert got[group] == pytest.approx(values, abs=1e-9), group


def check_service_metrics(layer, marts) -> None:
    # GIVEN the tickets WHEN FCR, SLA adherence and complaint rate are asked per opening day and channel
    got = metric_rows(
        layer,
        ["first_contact_resolution", "sla_adherence", "complaint_rate", "tickets_opened"],
        group_by=["metric_time__day", "ticket__channel"],
    )
    # THEN each equals service_quality_daily's rate of that day and channel, weighted by its denominator
    expected = sql_rows(
        marts,
        """
        select service_date, channel,
            sum(fcr_rate * tickets_resolved) / nullif(sum(tickets_resolved), 0),
            sum(sla_adherence_rate * tickets_sla_judged) / nullif(sum(tickets_sla_judged), 0),
            sum(complaints) / sum(tickets_opened),
            sum(tickets_opened)
        from service_quality_daily
        group by all
        """,
        keys=2,
    )
    assert expected, "the run has no tickets"
    assert got.keys() == expected.keys()
    for group, values in expected.items():
        assert got[group] == pytest.approx(values, abs=1e-9, nan_ok=True), group
