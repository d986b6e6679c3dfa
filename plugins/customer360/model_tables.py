"""The model stages' output tables (CLV, churn): one as-of date's rows replaced in one transaction.

Each model stage writes a predictions table (one row per customer and as-of date), a runs table (one row
per model and as-of date) and, for CLV, its validation rows; ``customer360.model_runs`` writes the overview
``analytics.model_runs``. Replacing the date's rows of both together makes a retry or a backfill of a date
leave the same tables, and a failure leave the previous ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

BATCH_VIEW = "model_predictions_batch"


def replace_as_of_date_rows(
    con: duckdb.DuckDBPyConnection,
    as_of_date: date,
    ddl: Sequence[str],
    predictions_table: str,
    predictions: Any,
    runs_table: str,
    runs: Sequence[Sequence[Any]],
    more_tables: Mapping[str, Any] | None = None,
) -> None:
    """Create the tables when missing (``ddl``: ``create table if not exists`` statements), then in one
    transaction replace ``as_of_date``'s rows of ``predictions_table`` with ``predictions`` (an Arrow table
    or a DataFrame, matched by column name), of ``runs_table`` with ``runs`` (tuples in column order), and of
    each table of ``more_tables`` with its Arrow table or DataFrame (matched by column name)."""
    more = dict(more_tables or {})
    schemas = {table.split(".", 1)[0] for table in (predictions_table, runs_table, *more)}
    for schema in sorted(schemas):
        con.execute(f"create schema if not exists {schema}")
    for statement in ddl:
        con.execute(statement)
    con.register(BATCH_VIEW, predictions)
    try:
        _replace_rows(con, as_of_date, {predictions_table: BATCH_VIEW, runs_table: runs, **more})
    finally:
        con.unregister(BATCH_VIEW)


def replace_tables(
    con: duckdb.DuckDBPyConnection, as_of_date: date, ddl: Sequence[str], tables: Mapping[str, Any]
) -> None:
    """Create the tables when missing, then in one transaction replace ``as_of_date``'s rows of each table
    of ``tables`` with its Arrow table or DataFrame (matched by column name; None or no rows: delete only)."""
    for schema in sorted({table.split(".", 1)[0] for table in tables}):
        con.execute(f"create schema if not exists {schema}")
    for statement in ddl:
        con.execute(statement)
    _replace_rows(con, as_of_date, tables)


def _replace_rows(con: duckdb.DuckDBPyConnection, as_of_date: date, tables: Mapping[str, Any]) -> None:
    """In one transaction, delete ``as_of_date``'s rows of each table of ``tables`` and insert its new rows:
    the name of a registered view (a str), tuples in column order (a list), or an Arrow table or DataFrame
    (matched by column name). None or no rows: delete only. Any error rolls the whole date back."""
    con.execute("begin transaction")
    try:
        for index, (table, rows) in enumerate(tables.items()):
            con.execute(f"delete from {table} where as_of_date = ?", [as_of_date])
            if isinstance(rows, str):
                con.execute(f"insert into {table} by name select * from {rows}")
            elif rows is None or len(rows) == 0:
                continue
            elif isinstance(rows, list | tuple):
                placeholders = ", ".join("?" * len(rows[0]))
                con.executemany(f"insert into {table} values ({placeholders})", rows)
            else:
                view = f"{BATCH_VIEW}_{index}"
                con.register(view, rows)
                try:
                    con.execute(f"insert into {table} by name select * from {view}")
                finally:
                    con.unregister(view)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
