"""Connections to the warehouse, one place for DuckDB settings and schema names.

DuckDB allows one writing process per file. The pipeline's writing tasks run one at a time (the
``customer360_warehouse`` pool has one slot) and close their connection before the next task starts;
readers (Great Expectations, the summary) open the file read-only. BI tools never open this file: they
read the published snapshot (see ``customer360.publish``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from customer360.settings import Settings

if TYPE_CHECKING:
    import duckdb

# Schemas the Python stages write; dbt writes staging, intermediate, marts and snapshots.
RAW_SCHEMA = "raw"
AUDIT_SCHEMA = "audit"
IDENTITY_SCHEMA = "identity"
DBT_SCHEMAS = ("seeds", "staging", "intermediate", "marts", "restricted", "snapshots")


@contextmanager
def connect(settings: Settings, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the DuckDB warehouse with the configured threads and memory limit, and always close it."""
    import duckdb

    path = settings.warehouse_path
    if read_only and not path.exists():
        raise FileNotFoundError(
            f"warehouse {path} does not exist yet: run the pipeline first (make run, or customer360 run)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        str(path),
        read_only=read_only,
        config={"threads": settings.duckdb_threads, "memory_limit": settings.duckdb_memory_limit},
    )
    try:
        if not read_only:
            for schema in (RAW_SCHEMA, AUDIT_SCHEMA, IDENTITY_SCHEMA):
                con.execute(f"create schema if not exists {schema}")
        yield con
    finally:
        con.close()
