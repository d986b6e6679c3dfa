"""A raw DuckDB connection to a test warehouse as the pipeline sees it: on the DuckDB target dbt builds the
marts in ``marts.duckdb`` beside the warehouse file, and ``customer360.warehouse.connect`` attaches it as
``marts``. Tests that open a warehouse file built by dbt directly (no ``Settings``) use ``open_warehouse``
so that ``marts.<table>`` names the marts there too."""

from __future__ import annotations

from pathlib import Path

import duckdb

from customer360.warehouse import MARTS_FILE, attach_marts_beside


def open_warehouse(path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """``path`` opened with the marts file beside it attached as ``marts`` (when there is one and the
    warehouse has no ``marts`` schema of its own: ``customer360.warehouse.attach_marts_beside``)."""
    con = duckdb.connect(str(path), read_only=read_only)
    if (Path(path).parent / MARTS_FILE).exists():
        attach_marts_beside(con, Path(path), read_only)
    return con
