"""Connections to the warehouse, one place for DuckDB settings and schema names.

DuckDB allows one writing process per file. The pipeline's writing tasks run one at a time (the
``customer360_warehouse`` pool has one slot) and close their connection before the next task starts;
readers (Great Expectations, the summary) open the file read-only. BI tools never open this file: they
read the published snapshot (see ``customer360.publish``).

The engine choice lives here and nowhere else (``engine``). On ``CUSTOMER360_TARGET=postgres`` PostgreSQL
is the warehouse of record and DuckDB stays the Python stages' compute engine: ``stage_connection`` gives a
stage a scratch DuckDB filled from PostgreSQL and writes its output back, ``after_ingest`` pushes what
ingest loaded into the local DuckDB cache (``settings.warehouse_path``), and ``readable_copy`` hands publish
a DuckDB file of the marts (``customer360.warehouse_sync`` moves the rows; docs/postgres.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from customer360.settings import Settings

if TYPE_CHECKING:
    import duckdb

# DuckDB's allocator keeps memory it has freed for reuse until something asks it to give it back, so a
# stage's resident memory stays at its high-water mark long after the query that needed it (identity's
# sort of its input rows held most of its peak after the rows were dropped). With background threads the
# allocator returns freed pages to the system soon after (DECISIONLOG.md, "Performance and memory"). dbt's
# profile sets the same option.
ALLOCATOR_CONFIG = {"allocator_background_threads": True}

# Schemas the Python stages write; dbt writes staging, intermediate, marts and snapshots.
RAW_SCHEMA = "raw"
AUDIT_SCHEMA = "audit"
IDENTITY_SCHEMA = "identity"
DBT_SCHEMAS = ("seeds", "staging", "intermediate", "marts", "restricted", "snapshots")

# DuckDB target: the marts live in a DuckDB file of their own beside the warehouse (``marts_path``), attached
# to every warehouse connection as the database ``marts`` (dbt's profile attaches it too, and the mart
# folders set ``+database: marts``). Each mart is a table in that file's ``main`` schema, the published
# snapshot's layout, so publish copies the file whole instead of re-encoding its rows (DECISIONLOG.md,
# "Marts in a file of their own"). DuckDB resolves ``marts.dim_customers`` to ``marts.main.dim_customers``
# as long as the warehouse itself has no ``marts`` schema: a warehouse made before keeps its marts in one
# until ``move_marts_schema`` moves them (once, on the first connection that may write).
MARTS_DATABASE = "marts"
MARTS_FILE = "marts.duckdb"


def marts_path(settings: Settings) -> Path:
    """The DuckDB file of the marts, beside the warehouse file (its name is what dbt's profile attaches)."""
    return settings.warehouse_path.parent / MARTS_FILE


def _has_schema(con: duckdb.DuckDBPyConnection, schema: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from duckdb_schemas() where database_name = current_database() "
            "and schema_name = ?",
            [schema],
        ).fetchone()[0]
    )


def attach_marts_beside(
    con: duckdb.DuckDBPyConnection, warehouse_file: Path, read_only: bool, storage_version: str | None = None
) -> bool:
    """Attach the marts file beside ``warehouse_file`` to ``con`` as ``marts`` (``MARTS_DATABASE``); whether
    it is. A new file is written in ``storage_version`` (the snapshot's: publish copies the file as it is and
    analysts' DuckDB must open it).

    Not while the warehouse still has a ``marts`` schema (made before, not moved yet: ``marts.x`` would be
    ambiguous), and read-only only when the file exists (nothing has built a mart yet otherwise)."""
    from customer360.sql_strings import sql_string

    marts = Path(warehouse_file).parent / MARTS_FILE
    if _has_schema(con, MARTS_DATABASE):
        return False
    if read_only and not marts.exists():
        return False
    options = " (read_only)" if read_only else ""
    if not read_only and storage_version:
        options = f" (storage_version {sql_string(storage_version)})"
    con.execute(f"attach if not exists {sql_string(marts)} as {MARTS_DATABASE}{options}")
    return True


def attach_marts(con: duckdb.DuckDBPyConnection, settings: Settings, read_only: bool) -> bool:
    """``attach_marts_beside`` for the settings' warehouse, new files in the snapshot's storage version."""
    return attach_marts_beside(con, settings.warehouse_path, read_only, settings.snapshot_storage_version)


def move_marts_schema(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[str]:
    """Move the marts of a warehouse made before the marts file (schema ``marts``) into the file, once.

    Each table is copied (``create or replace``: a move killed halfway is redone from the start), the file
    checkpointed, and only then the schema dropped: the marts are in one place or the other, never lost.
    A DuckDB transaction writes to one database, so the copy and the drop are two steps."""
    from customer360.sql_strings import sql_string

    if not _has_schema(con, MARTS_DATABASE):
        return []
    warehouse = con.execute("select current_database()").fetchone()[0]
    con.execute(
        f"attach if not exists {sql_string(marts_path(settings))} as _marts_moving "
        f"(storage_version {sql_string(settings.snapshot_storage_version)})"
    )
    tables = [
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = ? order by 1",
            [MARTS_DATABASE],
        ).fetchall()
    ]
    source = f"{_quote(warehouse)}.{_quote(MARTS_DATABASE)}"
    for table in tables:
        target = f"_marts_moving.main.{_quote(table)}"
        con.execute(f"create or replace table {target} as from {source}.{_quote(table)}")
    con.execute("checkpoint _marts_moving")
    con.execute("detach _marts_moving")
    con.execute(f"drop schema {source} cascade")
    con.execute("checkpoint")
    return tables


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def duckdb_config(settings: Settings, **overrides: object) -> dict[str, object]:
    """The configuration every pipeline connection to DuckDB opens with: the settings' threads and memory
    limit, and an allocator that gives freed memory back (``ALLOCATOR_CONFIG``)."""
    return {
        "threads": settings.duckdb_threads,
        "memory_limit": settings.duckdb_memory_limit,
        **ALLOCATOR_CONFIG,
        **overrides,
    }


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
    con = duckdb.connect(str(path), read_only=read_only, config=duckdb_config(settings))
    try:
        if not read_only:
            for schema in (RAW_SCHEMA, AUDIT_SCHEMA, IDENTITY_SCHEMA):
                con.execute(f"create schema if not exists {schema}")
        # The marts' own file: the DuckDB target's (on PostgreSQL and Spark this file is a local cache of
        # what ingest loaded, and the marts live in the warehouse of record).
        if engine(settings) == "duckdb":
            if not read_only:
                move_marts_schema(con, settings)
            attach_marts(con, settings, read_only)
        yield con
    finally:
        con.close()


Engine = Literal["duckdb", "postgres", "spark"]


def engine(settings: Settings) -> Engine:
    """Where the warehouse of record lives: the DuckDB file, PostgreSQL or Spark (``CUSTOMER360_TARGET``)."""
    if settings.target in ("postgres", "spark"):
        return settings.target  # type: ignore[return-value]
    return "duckdb"


def _not_on_spark(settings: Settings, what: str) -> None:
    """The stages that do not run on Spark yet stop with a message instead of reading the wrong warehouse."""
    if engine(settings) == "spark":
        raise NotImplementedError(
            f"{what} does not run on the Spark target yet (CUSTOMER360_TARGET=spark builds the raw hand-over "
            "and the dbt builds; see docs/spark.md)"
        )


def spark_identity_stage(settings: Settings) -> Callable[..., Any] | None:
    """On Spark, identity resolution computed in Spark (``customer360.spark.identity.resolve_on_spark``,
    called like ``identity.resolve``); None on the other engines, where ``identity.resolve`` runs."""
    if engine(settings) != "spark":
        return None
    from customer360.spark.identity import resolve_on_spark

    return resolve_on_spark


@contextmanager
def stage_connection(
    settings: Settings,
    *,
    pull: Sequence[str] = (),
    push: Sequence[str] = (),
    push_key: str | None = None,
    push_key_values: Sequence[Any] = (),
    read_only: bool = False,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The DuckDB connection a Python stage computes in.

    DuckDB target: the warehouse itself (``connect``). PostgreSQL target: a scratch DuckDB holding the
    ``pull`` tables (``schema.table`` or a whole ``schema``; missing ones are skipped); when the stage ends
    without an error the ``push`` tables are written back in one PostgreSQL transaction, replacing each table
    or, with ``push_key``, only the rows whose key value the stage wrote or is in ``push_key_values`` (pass
    the date a stage replaces, so that its old rows go even when the stage wrote none). ``read_only``: a
    stage that only reads opens the DuckDB file read-only (and pushes nothing).
    """
    _not_on_spark(settings, "a Python stage (identity, CLV and churn, the build planner)")
    if engine(settings) == "duckdb":
        with connect(settings, read_only=read_only) as con:
            yield con
        return
    from customer360.warehouse_sync import postgres_workspace

    with postgres_workspace(settings, pull, () if read_only else push, push_key, push_key_values) as con:
        yield con


def after_ingest(settings: Settings, con: duckdb.DuckDBPyConnection, channel: str) -> dict[str, int]:
    """After ingest loaded a channel into ``con`` (the DuckDB file): on PostgreSQL, push what changed."""
    if engine(settings) == "duckdb":
        return {}
    if engine(settings) == "spark":
        from customer360.spark_handover import export_raw_table

        return export_raw_table(settings, con, channel)
    from customer360.warehouse_sync import sync_ingest

    return sync_ingest(settings, con, channel)


@contextmanager
def readable_copy(settings: Settings, schemas: Sequence[str]) -> Iterator[Path]:
    """A DuckDB file holding ``schemas``: the warehouse file, a scratch copy of them from PostgreSQL, or on
    Spark views over the Parquet files of Spark's tables (``spark_readable_copy``)."""
    if engine(settings) == "spark":
        with spark_readable_copy(settings, schemas) as path:
            yield path
        return
    if engine(settings) == "duckdb":
        if not settings.warehouse_path.exists():
            raise FileNotFoundError(f"warehouse {settings.warehouse_path} does not exist: nothing to read")
        yield settings.warehouse_path
        return
    from customer360.warehouse_sync import postgres_snapshot

    with postgres_snapshot(settings, schemas) as path:
        yield path


@contextmanager
def spark_readable_copy(settings: Settings, schemas: Sequence[str]) -> Iterator[Path]:
    """Spark target: a scratch DuckDB file whose ``schemas`` hold one view per Spark table over its Parquet
    files (``customer360.spark_publish``), from which publish makes the DuckDB snapshot."""
    from customer360.spark_publish import parquet_views

    with parquet_views(settings, schemas) as path:
        yield path


# How warehouse queries name a table's schema: its own, or ``marts`` for the attached marts file's tables.
WAREHOUSE_SCHEMA_SQL = (
    f"case when table_catalog = '{MARTS_DATABASE}' then '{MARTS_DATABASE}' else table_schema end"
)
WAREHOUSE_CATALOGS_SQL = f"table_catalog in (current_database(), '{MARTS_DATABASE}')"


def has_table(con: duckdb.DuckDBPyConnection, qualified_name: str) -> bool:
    """Whether ``schema.table`` exists on the DuckDB connection ``con`` (``marts.x``: in the marts file)."""
    schema, name = qualified_name.split(".")
    return bool(
        con.execute(
            f"select count(*) from information_schema.tables where {WAREHOUSE_CATALOGS_SQL} "
            f"and {WAREHOUSE_SCHEMA_SQL} = ? and table_name = ?",
            [schema, name],
        ).fetchall()[0][0]
    )


def table_names(settings: Settings) -> set[str]:
    """``schema.table`` of every table and view in the warehouse of record (empty before the first run)."""
    _not_on_spark(settings, "listing the warehouse's tables")
    if engine(settings) == "postgres":
        from customer360.warehouse_sync import pg_connect

        connection = pg_connect(settings)
        try:
            with connection.cursor() as cur:
                cur.execute("select table_schema || '.' || table_name from information_schema.tables")
                return {row[0] for row in cur.fetchall()}
        finally:
            connection.close()
    if not settings.warehouse_path.exists():
        return set()
    with connect(settings, read_only=True) as con:
        rows = con.execute(
            f"select {WAREHOUSE_SCHEMA_SQL} || '.' || table_name from information_schema.tables "
            f"where {WAREHOUSE_CATALOGS_SQL}"
        ).fetchall()
    return {row[0] for row in rows}
