"""``customer360 metrics``: a KPI by name, computed by MetricFlow from its one definition in the dbt semantic
layer, on the published snapshot (default) or the warehouse, as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="query the KPIs of the semantic layer (MetricFlow) on the published marts",
        description=(
            "Compute metrics defined once in dbt_project/models/analytics/semantic (revenue, orders, "
            "active_customers, repeat_rate, churn_rate, average_clv, nps, csat, first_contact_resolution, "
            "sla_adherence, complaint_rate, ...) with MetricFlow, by metric_time and the dimensions of "
            "--list. Reads the published snapshot read-only (default) or, between runs, the warehouse."
        ),
    )
    parser.add_argument("--metrics", type=_names, default=[], help="comma-separated metric names")
    parser.add_argument(
        "--group-by",
        type=_names,
        default=[],
        help="comma-separated dimensions, e.g. metric_time__month,order__channel,customer__value_tier",
    )
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        help="a MetricFlow filter (repeatable): \"{{ Dimension('customer__lifecycle_stage') }} = 'loyal'\"",
    )
    parser.add_argument(
        "--order-by",
        type=_names,
        default=[],
        help="comma-separated names; - first descends (--order-by=-revenue)",
    )
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--start", type=date.fromisoformat, default=None, help="first metric_time (date)")
    parser.add_argument("--end", type=date.fromisoformat, default=None, help="last metric_time (date)")
    parser.add_argument("--source", choices=("published", "warehouse"), default="published")
    parser.add_argument(
        "--snapshot", type=Path, default=None, metavar="PATH", help="another snapshot (its folder)"
    )
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", dest="output_format")
    parser.add_argument("--explain", action="store_true", help="print MetricFlow's SQL, do not run it")
    parser.add_argument("--list", action="store_true", help="list the metrics and their dimensions")
    parser.set_defaults(func=run_metrics)


def run_metrics(args: argparse.Namespace) -> int:
    import duckdb

    from customer360.analyst.sql import DEFAULT_TABLE_MAX_ROWS, run_query
    from customer360.metrics.semantic_layer import SemanticLayer, WarehouseBusyError
    from customer360.metrics.semantic_manifest import SemanticManifestError

    if not args.list and not args.metrics:
        print("customer360 metrics: name a metric (--metrics revenue) or use --list", file=sys.stderr)
        return 2
    try:
        layer = SemanticLayer(source=args.source, snapshot=args.snapshot)
    except (FileNotFoundError, WarehouseBusyError, SemanticManifestError, ValueError) as exc:
        print(f"customer360 metrics: {exc}", file=sys.stderr)
        return 1
    with layer:
        if args.list:
            for metric in layer.metrics():
                if args.output_format == "json":
                    print(json.dumps(metric))
                else:
                    print(f"{metric['name']} ({metric['type']}): {metric['description']}")
                    print(f"    by: {', '.join(metric['dimensions'])}")
            return 0
        options = {
            "group_by": args.group_by,
            "where": args.where,
            "order_by": args.order_by,
            "limit": args.limit,
            "start": args.start,
            "end": args.end,
        }
        try:
            sql = layer.sql(args.metrics, **options)
        except Exception as exc:  # MetricFlow's query errors name the unknown metric or dimension
            print(f"customer360 metrics: MetricFlow cannot answer this query: {exc}", file=sys.stderr)
            return 1
        if args.explain:
            print(sql)
            return 0
        extra = {"max_rows": DEFAULT_TABLE_MAX_ROWS} if args.output_format == "table" else {}
        try:
            run_query(layer.connection, sql, sys.stdout, args.output_format, **extra)
        except duckdb.Error as exc:
            print(f"customer360 metrics: the query failed: {str(exc).strip()}", file=sys.stderr)
            return 1
    return 0
