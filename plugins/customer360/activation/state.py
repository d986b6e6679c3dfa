"""The activation state: one DuckDB file under ``settings.activation_dir`` (``activation.duckdb``).

It holds what each run materialised and what each destination has received, so that a rerun sends
nothing twice and the next day's changes are computed against the previous run:

- ``audience_runs``: one row per audience per run date (file version, counts).
- ``audience_members``: the members of each audience per run date, their fields as JSON and a hash of them.
- ``audience_changes``: per run date, the members who entered, exited or changed against the previous run.
- ``file_deliveries``: per file destination, audience and run date, the manifest's checksum and row count.
- ``webhook_batches``: every batch posted (idempotency key, events, attempts, last HTTP status, outcome).
- ``webhook_dead_letters``: batches that still failed after the last retry, with their payload.
- ``postgres_syncs``: every sync of a PostgreSQL destination (audience, run date, rows upserted, deleted).
- ``postgres_removals``: every audience removed from a PostgreSQL table because the audience file no longer
  sends it there (destination, audience, table, run date, rows deleted).
- ``webhook_retirements``: every audience whose webhook receiver was told all its members exited because the
  audience file no longer sends it there (destination, audience, run date, exit events, told or not told).

A separate file, not the warehouse: activation runs after publish and reads only the published snapshot
(and, for destinations allowed contact fields, the restricted PII model), whichever warehouse target runs
(DECISIONLOG.md, "Activation state beside the warehouse"). Only pseudonymous keys are kept here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from customer360.settings import Settings

if TYPE_CHECKING:
    import duckdb

STATE_DB = "activation.duckdb"
STATE = "state"  # the name the state file is attached under

DDL = (
    """create table if not exists {s}.audience_runs (
        run_date date not null, audience varchar not null, run_id varchar not null,
        file_version integer not null, matched bigint not null, members bigint not null,
        entered bigint not null, exited bigint not null, changed bigint not null,
        excluded_no_consent bigint not null, excluded_contact_cap bigint not null,
        excluded_deleted bigint not null, computed_at timestamp not null,
        primary key (run_date, audience))""",
    """create table if not exists {s}.audience_members (
        run_date date not null, audience varchar not null, customer_key varchar not null,
        fields json not null, fields_hash varchar not null, run_id varchar not null,
        primary key (run_date, audience, customer_key))""",
    """create table if not exists {s}.audience_changes (
        run_date date not null, audience varchar not null, customer_key varchar not null,
        change varchar not null, fields json, run_id varchar not null,
        primary key (run_date, audience, customer_key))""",
    """create table if not exists {s}.file_deliveries (
        destination varchar not null, audience varchar not null, run_date date not null,
        run_id varchar not null, folder varchar not null, rows bigint not null, checksum varchar not null,
        delivered_at timestamp not null, primary key (destination, audience, run_date))""",
    """create table if not exists {s}.webhook_batches (
        destination varchar not null, audience varchar not null, run_date date not null,
        batch_number integer not null, idempotency_key varchar not null, events bigint not null,
        status varchar not null, attempts integer not null, http_status integer, error varchar,
        run_id varchar not null, updated_at timestamp not null, primary key (idempotency_key))""",
    """create table if not exists {s}.webhook_dead_letters (
        idempotency_key varchar not null, destination varchar not null, audience varchar not null,
        run_date date not null, batch_number integer not null, payload json not null,
        attempts integer not null,
        http_status integer, error varchar not null, failed_at timestamp not null, resolved_at timestamp,
        primary key (idempotency_key))""",
    """create table if not exists {s}.postgres_syncs (
        destination varchar not null, audience varchar not null, run_date date not null,
        run_id varchar not null, target_table varchar not null, rows bigint not null,
        upserted bigint not null,
        deleted bigint not null, synced_at timestamp not null)""",
    """create table if not exists {s}.postgres_removals (
        destination varchar not null, audience varchar not null, target_table varchar not null,
        run_date date not null, run_id varchar not null, deleted bigint not null,
        removed_at timestamp not null)""",
    """create table if not exists {s}.webhook_retirements (
        destination varchar not null, audience varchar not null, run_date date not null,
        run_id varchar not null, events bigint not null, status varchar not null,
        retired_at timestamp not null)""",
)


def state_path(settings: Settings) -> Path:
    return settings.activation_dir / STATE_DB


def attach_state(con: duckdb.DuckDBPyConnection, settings: Settings, read_only: bool) -> None:
    """Attach the state file as ``state`` (created when missing); a dry run with no state yet gets an empty
    in-memory one, so it reads as a first run and leaves nothing behind."""
    from customer360.sql_strings import sql_string

    path = state_path(settings)
    if read_only and not path.exists():
        con.execute(f"attach ':memory:' as {STATE}")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"attach {sql_string(path)} as {STATE} {'(read_only)' if read_only else ''}")
    if not read_only or not path.exists():
        for statement in DDL:
            con.execute(statement.format(s=STATE))


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the attached state has table ``name``: an older state file opened read-only by a dry run may
    not have the newer tables yet."""
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = ? and table_name = ?", [STATE, name]
        ).fetchone()[0]
    )
