"""The model stages' output tables (CLV, churn): one as-of date's rows replaced in one transaction.

Each model stage writes a predictions table (one row per customer and as-of date) and a runs table (one row
per model and as-of date). Replacing the date's rows of both together makes a retry or a backfill of a date
leave the same tables, and a failure leave the previous ones.
"""

from __future__ import annotations

from collections.abc import Sequence
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
) -> None:
    """Create the tables when missing (``ddl``: ``create table if not exists`` statements), then in one
    transaction replace ``as_of_date``'s rows of ``predictions_table`` with ``predictions`` (an Arrow table
    or a DataFrame, matched by column name) and of ``runs_table`` with ``runs`` (tuples in column order)."""
    schemas = {table.split(".", 1)[0] for table in (predictions_table, runs_table)}
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
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister(BATCH_VIEW)
