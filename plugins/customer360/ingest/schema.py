"""DDL of the raw layer and the audit tables (docs/architecture.md, "Raw layer")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer360.ingest.results import STATUSES
from customer360.landing.contract import Channel, raw_column_name
from customer360.warehouse import AUDIT_SCHEMA, RAW_SCHEMA

if TYPE_CHECKING:
    import duckdb

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_load_date", "date"),
    ("_source_file", "varchar"),
    ("_source_line", "bigint"),
    ("_file_sha256", "varchar"),
    ("_record_hash", "varchar"),
    ("_ingest_run_id", "varchar"),
)
MANIFEST_TABLE = f"{AUDIT_SCHEMA}.file_manifest"
MANIFEST_CURRENT_VIEW = f"{AUDIT_SCHEMA}.file_manifest_current"
QUARANTINE_TABLE = f"{AUDIT_SCHEMA}.quarantine"

_STATUS_LIST = ", ".join(f"'{s}'" for s in STATUSES)
_AUDIT_DDL = (
    f"""
    create table if not exists {MANIFEST_TABLE} (
        channel varchar not null,
        load_date date not null,
        source_file varchar not null,
        file_sha256 varchar,
        file_bytes bigint,
        rows_read bigint not null,
        rows_loaded bigint not null,
        rows_quarantined bigint not null,
        status varchar not null check (status in ({_STATUS_LIST})),
        message varchar,
        run_id varchar not null,
        ingested_at timestamp not null
    )""",
    f"""
    create table if not exists {QUARANTINE_TABLE} (
        run_id varchar not null,
        channel varchar not null,
        load_date date not null,
        source_file varchar not null,
        line_number bigint,
        column_name varchar,
        reason varchar not null,
        raw_record varchar,
        quarantined_at timestamp not null
    )""",
    # The load of each file whose rows are in raw now: its latest 'loaded' manifest row.
    f"""
    create or replace view {MANIFEST_CURRENT_VIEW} as
    select * from {MANIFEST_TABLE}
    where status = 'loaded'
    qualify row_number() over (partition by channel, source_file order by ingested_at desc) = 1""",
)


def raw_table(channel: Channel) -> str:
    return f'{RAW_SCHEMA}."{channel.name}"'


def raw_data_columns(channel: Channel) -> list[str]:
    """The contract columns of ``raw.<channel>``, in contract order (nested array fields last)."""
    return [raw_column_name(c.name) for c in channel.all_columns]


def ensure_tables(con: duckdb.DuckDBPyConnection, channel: Channel) -> None:
    """Create ``raw.<channel>`` and the audit tables if missing; add contract columns that are new."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
    columns = [(name, "varchar") for name in raw_data_columns(channel)] + list(LINEAGE_COLUMNS)
    body = ",\n".join(f'    "{name}" {kind}' for name, kind in columns)
    con.execute(f"create table if not exists {raw_table(channel)} (\n{body}\n)")
    existing = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [RAW_SCHEMA, channel.name],
        ).fetchall()
    }
    for name, kind in columns:
        if name not in existing:  # the contract gained a column since the table was created
            con.execute(f'alter table {raw_table(channel)} add column "{name}" {kind}')
    for ddl in _AUDIT_DDL:
        con.execute(ddl)
    _widen_manifest_statuses(con)


def _widen_manifest_statuses(con: duckdb.DuckDBPyConnection) -> None:
    """A manifest created before a status existed (e.g. 'ignored') gets the current status check.

    DuckDB cannot alter a check constraint, so the table is rebuilt in place, rows and order kept.
    """
    schema, table = MANIFEST_TABLE.split(".")
    checks = con.execute(
        "select expression from duckdb_constraints() where schema_name = ? and table_name = ? "
        "and constraint_type = 'CHECK'",
        [schema, table],
    ).fetchall()
    if not checks or all(f"'{status}'" in checks[0][0] for status in STATUSES):
        return
    con.execute(f"drop view if exists {MANIFEST_CURRENT_VIEW}")
    con.execute(f"alter table {MANIFEST_TABLE} rename to file_manifest_before_statuses")
    con.execute(_AUDIT_DDL[0])
    con.execute(f"insert into {MANIFEST_TABLE} select * from {schema}.file_manifest_before_statuses")
    con.execute(f"drop table {schema}.file_manifest_before_statuses")
    con.execute(_AUDIT_DDL[2])
