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
        con.execute("begin transaction")
        con.execute(f"delete from {predictions_table} where as_of_date = ?", [as_of_date])
        con.execute(f"insert into {predictions_table} by name select * from {BATCH_VIEW}")
        con.execute(f"delete from {runs_table} where as_of_date = ?", [as_of_date])
        if runs:
            placeholders = ", ".join("?" * len(runs[0]))
            con.executemany(f"insert into {runs_table} values ({placeholders})", runs)
        for index, (table, rows) in enumerate(more.items()):
            con.execute(f"delete from {table} where as_of_date = ?", [as_of_date])
            if rows is None or len(rows) == 0:
                continue
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
    con.execute("begin transaction")
    try:
        for index, (table, rows) in enumerate(tables.items()):
            con.execute(f"delete from {table} where as_of_date = ?", [as_of_date])
            if rows is None or len(rows) == 0:
                continue
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
