"""The chart sections of the report: which marts each needs, its query and its figure.

A section whose marts are missing from the snapshot, or empty, or whose query fails, becomes a
"no data: <why>" note; the other sections still render.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from customer360.report import charts, queries


@dataclass(frozen=True)
class SectionSpec:
    key: str  # also the chart div's id: chart-<key>
    title: str
    intro: str
    marts: tuple[str, ...]
    query: Callable[[Any], Any]
    figure: Callable[[Any], Any]


@dataclass(frozen=True)
class SectionResult:
    key: str
    title: str
    intro: str
    figure: Any | None = None  # a plotly Figure when the section has data
    note: str | None = None  # "no data: ..." otherwise


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "kpi-trends",
        "Trends over the last runs",
        "Customers, active customers (a purchase within the churn horizon), customers at churn risk (half "
        "the horizon without an order), net revenue and complaints of the last 30 days and NPS of the last "
        "90, on each of the last dates up to this run's, computed from the facts as they stand today "
        "(kpi_daily).",
        ("kpi_daily",),
        queries.kpi_trends,
        charts.kpi_trends,
    ),
    SectionSpec(
        "rfm-grid",
        "RFM grid",
        "Customers per recency × frequency score, labelled with the cell's main segment (customer_rfm).",
        ("customer_rfm",),
        queries.rfm_grid,
        charts.rfm_heatmap,
    ),
    SectionSpec(
        "value-pareto",
        "Pareto curve of value",
        "Cumulative share of value held by the most valuable customers, with the A/B/C tier cut points "
        "(customer_value_tiers).",
        ("customer_value_tiers",),
        queries.pareto_curve,
        charts.pareto,
    ),
    SectionSpec(
        "clv-distribution",
        "Predicted customer lifetime value",
        "Distribution of predicted_clv_12m, the margin each customer is expected to bring in the next 12 "
        "months (customer_clv).",
        ("customer_clv",),
        queries.clv_histogram,
        charts.clv_distribution,
    ),
    SectionSpec(
        "clv-holdout",
        "CLV model check on a holdout",
        "At its last refit the CLV model was fitted on the purchases up to a calibration end and compared "
        "with the repeat purchases the same customers made in the holdout after it: per customer by "
        "calibration repeat purchases, and cumulatively over the holdout (clv_holdout_validation).",
        ("clv_holdout_validation",),
        queries.clv_holdout,
        charts.clv_holdout,
    ),
    SectionSpec(
        "model-runs",
        "Models of this run",
        "Each model's version, whether it was fitted in this run, reused from its refit date, skipped (too "
        "little data) or failed (its columns are empty), its backtest or holdout figures and why "
        "(model_runs).",
        ("model_runs",),
        queries.model_runs,
        charts.model_runs_table,
    ),
    SectionSpec(
        "lifecycle-funnel",
        "Lifecycle funnel",
        "Customers per lifecycle stage, in lifecycle order (customer_lifecycle).",
        ("customer_lifecycle",),
        queries.lifecycle_counts,
        charts.lifecycle_funnel,
    ),
    SectionSpec(
        "lifecycle-transitions",
        "Lifecycle stage transitions",
        "Every recorded change of stage, from the stage left to the stage entered "
        "(customer_lifecycle_transitions).",
        ("customer_lifecycle_transitions",),
        queries.lifecycle_transitions,
        charts.lifecycle_sankey,
    ),
    SectionSpec(
        "churn-by-segment",
        "Churn risk by segment",
        "Customers per RFM segment by churn band (customer_churn_risk joined to customer_rfm).",
        ("customer_churn_risk", "customer_rfm"),
        queries.churn_by_segment,
        charts.churn_stacked,
    ),
    SectionSpec(
        "revenue-at-risk",
        "Revenue at risk by churn band",
        "Per churn band, the net revenue its customers brought in the last 12 months and the part expected "
        "to be lost: each customer's revenue times their churn score (revenue_at_risk).",
        ("revenue_at_risk",),
        queries.revenue_at_risk,
        charts.revenue_at_risk,
    ),
    SectionSpec(
        "service-quality",
        "Complaints, first-contact resolution and SLA adherence by week",
        "Complaints opened per week by contact channel; first-contact resolution and SLA adherence over the "
        f"{queries.RATE_WEEKS} weeks up to each week (tickets pooled), over all channels (thick line) and "
        f"per channel, a point only where at least {queries.MIN_TICKETS_PER_POINT} tickets back the rate "
        "(service_quality_weekly).",
        ("service_quality_weekly",),
        queries.service_weekly,
        charts.service_weekly,
    ),
    SectionSpec(
        "satisfaction",
        "Customer satisfaction",
        "Net Promoter Score and average CSAT of the survey answers of the 90 days up to each date "
        "(kpi_daily), and the customers by the category of their latest NPS answer (customer_satisfaction).",
        ("kpi_daily", "customer_satisfaction"),
        queries.satisfaction,
        charts.satisfaction,
    ),
    SectionSpec(
        "next-best-actions",
        "Next-best actions",
        "Customers per proposed action and the channel to reach them on (customer_next_best_action).",
        ("customer_next_best_action",),
        queries.next_best_actions,
        charts.actions_by_type,
    ),
)


def _missing_reason(
    spec: SectionSpec, counts: dict[str, int], held_back: list[str], snapshot: str
) -> str | None:
    for mart in spec.marts:
        if mart not in counts:
            if mart in held_back:
                return f"mart {mart} was held back from snapshot {snapshot} by the quality gate"
            return f"mart {mart} is not in snapshot {snapshot} (it was not built or not published)"
        if counts[mart] == 0:
            return f"mart {mart} has no rows in snapshot {snapshot}"
    return None


def build_section(
    con: Any, spec: SectionSpec, counts: dict[str, int], held_back: list[str], snapshot: str
) -> SectionResult:
    """Query and draw one section, or explain why it has no data."""
    reason = _missing_reason(spec, counts, held_back, snapshot)
    if reason is None:
        try:
            frame = spec.query(con)
        except Exception as exc:  # noqa: BLE001 - a mart that does not match its contract must not sink the page
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            reason = f"could not read {', '.join(spec.marts)}: {first_line}"
        else:
            if len(frame) == 0:
                reason = f"no rows to draw in {', '.join(spec.marts)} (every row lacks the charted columns)"
            else:
                return SectionResult(spec.key, spec.title, spec.intro, figure=spec.figure(frame))
    return SectionResult(spec.key, spec.title, spec.intro, note=f"no data: {reason}")


def build_sections(
    con: Any, counts: dict[str, int], held_back: list[str], snapshot: str
) -> list[SectionResult]:
    return [build_section(con, spec, counts, held_back, snapshot) for spec in SECTIONS]


def unavailable_sections(reason: str) -> list[SectionResult]:
    """Every section as a note, when there is no snapshot to read at all."""
    return [SectionResult(s.key, s.title, s.intro, note=f"no data: {reason}") for s in SECTIONS]
