"""``customer360 report`` (rebuild a run's HTML report) and ``customer360 docs`` (dbt and quality docs)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from customer360.cli_types import iso_date


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report",
        help="rebuild the HTML report of one run (charts of the published marts, data quality)",
        description=(
            "Write <runs>/<date>/report.html: one self-contained page with the changes since the previous "
            "date, trends over the last dates, the RFM grid, value Pareto curve, CLV distribution, lifecycle "
            "funnel and transitions, churn risk by segment, revenue at risk, weekly service quality, "
            "satisfaction, next-best actions and the run's data-quality figures."
        ),
    )
    report.add_argument("--date", type=iso_date, required=True, help="logical date of the run (YYYY-MM-DD)")
    report.add_argument("--run-id", default=None, help="run id (default: the one in the run's summary.json)")
    report.add_argument(
        "--snapshot",
        type=Path,
        default=None,
        metavar="PATH",
        help="read this marts.duckdb file or snapshot folder instead of the run's published snapshot",
    )
    report.set_defaults(func=run_report)

    docs = subparsers.add_parser(
        "docs",
        help="build the dbt docs site and copy the newest run's Great Expectations Data Docs to <home>/docs",
    )
    docs.add_argument(
        "--date", type=iso_date, default=None, help="logical date of the run to document (default: newest)"
    )
    docs.set_defaults(func=run_docs)


def _run_id_of(settings, logical_date: date) -> str | None:
    """The run id recorded for a date: summary.json first, then the newest progress event."""
    from customer360.progress import read_events
    from customer360.summary import load_summary

    summary = load_summary(settings, logical_date)
    if summary and summary.get("run_id"):
        return str(summary["run_id"])
    events = read_events(settings.run_dir(logical_date.isoformat()))
    return str(events[-1]["run_id"]) if events and events[-1].get("run_id") else None


def run_report(args: argparse.Namespace) -> int:
    from customer360.report import build_report
    from customer360.settings import get_settings

    settings = get_settings()
    run_id = args.run_id or _run_id_of(settings, args.date)
    try:
        path = build_report(settings, args.date, run_id, snapshot=args.snapshot)
    except FileNotFoundError as exc:
        print(f"customer360 report: {exc}", file=sys.stderr)
        return 1
    print(f"report: {path}")
    return 0


def run_docs(args: argparse.Namespace) -> int:
    from customer360.report.docs_site import build_docs
    from customer360.settings import get_settings

    outcomes = build_docs(get_settings(), args.date)
    for outcome in outcomes:
        if outcome.ok:
            print(f"{outcome.name} docs: {outcome.path}  ({outcome.message})")
        else:
            print(f"{outcome.name} docs not built: {outcome.message}", file=sys.stderr)
    return 0 if all(o.ok for o in outcomes) else 1
