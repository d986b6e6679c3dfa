"""A raw DuckDB connection to a test warehouse as the pipeline sees it: on the DuckDB target dbt builds the
marts in ``marts.duckdb`` beside the warehouse file, and ``customer360.warehouse.connect`` attaches it as
``marts``. Tests that open a warehouse file built by dbt directly (no ``Settings``) use ``open_warehouse``
so that ``marts.<table>`` names the marts there too."""

from __future__ import annotations

from pathlib import Path

import duckdb

from customer360.warehouse import MARTS_DATABASE, MARTS_FILE


def open_warehouse(path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """``path`` opened with the marts file beside it attached as ``marts`` (when there is one and the
    warehouse has no ``marts`` schema of its own, as ``customer360.warehouse.attach_marts`` decides)."""
    con = duckdb.connect(str(path), read_only=read_only)
    marts = Path(path).parent / MARTS_FILE
    (own_schema,) = con.execute(
        "select count(*) from duckdb_schemas() where database_name = current_database() and schema_name = ?",
        [MARTS_DATABASE],
    ).fetchone()
    if marts.exists() and not own_schema:
        mode = " (read_only)" if read_only else ""
        con.execute(f"attach '{marts}' as {MARTS_DATABASE}{mode}")
    return con
