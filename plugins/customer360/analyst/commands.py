"""``customer360 sql``: a read-only query against the published snapshot, as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

READ_ONLY_HINT = (
    "The published snapshot is read-only. To keep results, write them to your own database: "
    "`duckdb mine.duckdb` then `attach '<snapshot>' as marts (read_only)`, or export with --format csv."
)
NO_FILES_HINT = (
    "customer360 sql reads the marts only: it cannot read or write other files (COPY ... TO, EXPORT, "
    "ATTACH, read_csv). Export a result with --format csv or json and redirect it to a file."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sql",
        help="run a read-only SQL query against the published marts",
        description=(
            "Run one SQL query against the published snapshot (every mart is a table: "
            "select * from customer_clv). The snapshot is opened read-only and without file access: queries "
            "run; writes, COPY ... TO and reading other files fail. "
            "CSV output is safe to open in a spreadsheet (text starting with = + - @ is prefixed with ')."
        ),
    )
    parser.add_argument("query", help="the SQL to run; '-' reads it from standard input")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", dest="output_format")
    parser.add_argument(
        "--snapshot",
        type=Path,
        default=None,
        metavar="PATH",
        help="a marts.duckdb file or snapshot folder (default: <published>/current/marts.duckdb)",
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=None,
        metavar="N",
        help="rows the table format shows (default 500); csv and json always write every row",
    )
    parser.set_defaults(func=run_sql)


def run_sql(args: argparse.Namespace) -> int:
    import duckdb

    from customer360.analyst.sql import (
        DEFAULT_TABLE_MAX_ROWS,
        SnapshotNotFoundError,
        connect_snapshot,
        run_query,
    )

    query = sys.stdin.read() if args.query == "-" else args.query
    if not query.strip():
        print("customer360 sql: the query is empty", file=sys.stderr)
        return 2
    try:
        con = connect_snapshot(snapshot=args.snapshot)
    except SnapshotNotFoundError as exc:
        print(f"customer360 sql: {exc}", file=sys.stderr)
        return 1
    except duckdb.Error as exc:
        print(f"customer360 sql: cannot open the snapshot: {exc}", file=sys.stderr)
        return 1
    options = {}
    if args.output_format == "table":
        options["max_rows"] = args.max_rows if args.max_rows is not None else DEFAULT_TABLE_MAX_ROWS
    try:
        run_query(con, query, sys.stdout, args.output_format, **options)
    except duckdb.Error as exc:
        message = str(exc).strip()
        print(f"customer360 sql: the query failed: {message}", file=sys.stderr)
        if "read-only" in message.lower():
            print(READ_ONLY_HINT, file=sys.stderr)
        elif "disabled by configuration" in message.lower():
            print(NO_FILES_HINT, file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0
