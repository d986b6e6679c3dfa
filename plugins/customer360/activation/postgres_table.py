"""PostgreSQL destination: a table kept equal to each audience's members by upsert and delete.

It stands for a CRM's or an ad platform's customer list. The table (``<schema>.<table>`` of the destination,
in the database of ``CUSTOMER360_ACTIVATION_POSTGRES_URL``) has one row per audience and customer key: the
fields as ``jsonb`` (mart fields, and contact fields where the destination allows them), a hash of them,
the run id and the time of the last change. Each run compares the audience's members that may be sent now
with the table itself, in one transaction: rows missing or different are upserted
(``insert ... on conflict do update``), rows of customers no longer members (exited, erased, consent
withdrawn) are deleted, equal rows are left alone. So a rerun writes nothing, and the table heals itself
if someone edits it. ``state.postgres_syncs`` records what each run changed.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from customer360.activation.audiences import Audience, Destination
from customer360.activation.outgoing import members_sql, sends_contact_fields

if TYPE_CHECKING:
    import duckdb

DEFAULT_TABLE = "customer360_audience_members"
DEFAULT_SCHEMA = "public"


def _target(destination: Destination) -> tuple[str, str]:
    return (
        destination.options.get("schema", DEFAULT_SCHEMA),
        destination.options.get("table", DEFAULT_TABLE),
    )


def target_name(destination: Destination) -> str:
    """``schema.table`` of a PostgreSQL destination, as ``state.postgres_syncs`` records it."""
    return "{}.{}".format(*_target(destination))


def _desired(
    con: duckdb.DuckDBPyConnection, audience: Audience, destination: Destination
) -> dict[str, tuple]:
    """customer_key -> (fields JSON text, hash) of the members to hold now."""
    sql, params = members_sql(audience, sends_contact_fields(audience, destination))
    relation = con.execute(sql, params)
    names = [d[0] for d in relation.description]
    desired = {}
    for row in relation.fetchall():
        fields = {name: value for name, value in zip(names[1:], row[1:], strict=True)}
        text = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
        desired[row[0]] = (text, _hash(text))
    return desired


def _hash(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode()).hexdigest()


def ensure_table(cur, schema: str, table: str) -> None:
    from psycopg2 import sql

    cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    cur.execute(
        sql.SQL(
            """create table if not exists {}.{} (
                audience text not null,
                customer_key text not null,
                fields jsonb not null,
                row_hash text not null,
                run_id text not null,
                updated_at timestamptz not null,
                primary key (audience, customer_key))"""
        ).format(sql.Identifier(schema), sql.Identifier(table))
    )


def deliver(
    con: duckdb.DuckDBPyConnection,
    postgres_url: str,
    destination: Destination,
    audience: Audience,
    run_date: date,
    run_id: str,
    dry_run: bool,
) -> dict[str, Any]:
    """Upsert and delete the audience's rows in the destination table (a dry run only counts them)."""
    schema, table = _target(destination)
    desired = _desired(con, audience, destination)
    result: dict[str, Any] = {"rows": len(desired), "table": f"{schema}.{table}"}
    if not postgres_url:
        result["status"] = "skipped: no connection (CUSTOMER360_ACTIVATION_POSTGRES_URL)"
        return result
    import psycopg2
    from psycopg2 import sql
    from psycopg2.extras import execute_values

    target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    connection = psycopg2.connect(postgres_url)
    try:
        with connection, connection.cursor() as cur:
            if dry_run:
                cur.execute("select to_regclass(%s)", [f'"{schema}"."{table}"'])
                exists = cur.fetchone()[0] is not None
            else:
                ensure_table(cur, schema, table)
                exists = True
            current: dict[str, str] = {}
            if exists:
                cur.execute(
                    sql.SQL("select customer_key, row_hash from {} where audience = %s").format(target),
                    [audience.name],
                )
                current = dict(cur.fetchall())
            upserts = [(k, text, h) for k, (text, h) in desired.items() if current.get(k) != h]
            deletes = sorted(set(current) - set(desired))
            result.update(upserted=len(upserts), deleted=len(deletes))
            if dry_run:
                result["status"] = "would sync"
                connection.rollback()
                return result
            now = datetime.now(UTC)
            if upserts:
                execute_values(
                    cur,
                    sql.SQL(
                        "insert into {} (audience, customer_key, fields, row_hash, run_id, updated_at) "
                        "values %s "
                        "on conflict (audience, customer_key) do update set fields = excluded.fields, "
                        "row_hash = excluded.row_hash, run_id = excluded.run_id, "
                        "updated_at = excluded.updated_at"
                    )
                    .format(target)
                    .as_string(cur),
                    [(audience.name, k, text, h, run_id, now) for k, text, h in upserts],
                    template="(%s, %s, %s::jsonb, %s, %s, %s)",
                )
            if deletes:
                cur.execute(
                    sql.SQL("delete from {} where audience = %s and customer_key = any(%s)").format(target),
                    [audience.name, deletes],
                )
    finally:
        connection.close()
    con.execute(
        "insert into state.postgres_syncs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            destination.name,
            audience.name,
            run_date,
            run_id,
            f"{schema}.{table}",
            len(desired),
            result["upserted"],
            result["deleted"],
            datetime.now(UTC).replace(tzinfo=None),
        ],
    )
    result["status"] = "synced"
    return result
