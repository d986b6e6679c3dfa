"""PostgreSQL lists of audiences that left the audience file: their rows are removed from the table.

An audience taken out of ``config/audiences.yml``, or a PostgreSQL destination taken out of an audience's
``destinations``, is no longer delivered, so ``postgres_table.deliver`` never touches its rows again. A CRM
or ad platform fed from that table would keep targeting them forever. So each run looks in
``state.postgres_syncs`` for the (destination, audience, table) triples synced before and not removed since
(``state.postgres_removals``), and for each one the file no longer defines, deletes the audience's rows from
that table (``delete ... where audience = %s``) and records it.

Rows are never removed while the audience is still delivered to the same table by a destination of the
file (a destination renamed, the same table), and only the removed audience's rows are touched: the table
is shared by audiences. A dry run counts the rows it would remove and writes nothing. A table that cannot
be reached fails the run like a delivery; since nothing was recorded, the next run removes them.
Files already delivered stay where they are (the outbox is a record of what was sent).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from customer360.activation.audiences import AudienceFile
from customer360.activation.postgres_table import target_name
from customer360.activation.state import has_table

if TYPE_CHECKING:
    import duckdb


def retired(con: duckdb.DuckDBPyConnection, audiences: AudienceFile) -> list[tuple[str, str, str]]:
    """(destination, audience, schema.table) synced before, not removed since, and no longer in the file."""
    if not has_table(con, "postgres_syncs"):
        return []
    removed = (
        "select destination, audience, target_table, max(removed_at) as at from state.postgres_removals "
        "group by all"
        if has_table(con, "postgres_removals")
        else "select null::varchar as destination, null::varchar as audience, "
        "null::varchar as target_table, null::timestamp as at where false"
    )
    synced = con.execute(
        f"""select s.destination, s.audience, s.target_table
        from (select destination, audience, target_table, max(synced_at) as at
              from state.postgres_syncs group by all) as s
        left join ({removed}) as r using (destination, audience, target_table)
        where r.at is null or r.at < s.at
        order by s.audience, s.destination, s.target_table"""
    ).fetchall()
    defined = {
        (name, audience.name, target_name(audiences.destinations[name]))
        for audience in audiences.audiences
        for name in audience.destinations
        if audiences.destinations[name].type == "postgres"
    }
    return [triple for triple in synced if triple not in defined]


def remove(
    con: duckdb.DuckDBPyConnection,
    postgres_url: str,
    audiences: AudienceFile,
    run_date: date,
    run_id: str,
    dry_run: bool,
) -> list[dict[str, Any]]:
    """Delete the rows of each retired pair from its table (a dry run counts them); one entry per pair."""
    still_delivered = {
        (audience.name, target_name(audiences.destinations[name]))
        for audience in audiences.audiences
        for name in audience.destinations
        if audiences.destinations[name].type == "postgres"
    }
    entries = []
    for destination, audience, target_table in retired(con, audiences):
        entry: dict[str, Any] = {
            "audience": audience,
            "destination": destination,
            "type": "postgres",
            "table": target_table,
            "removed": 0,
        }
        entries.append(entry)
        if (audience, target_table) in still_delivered:
            entry["status"] = "kept: the audience is still delivered to this table"
        elif not postgres_url:
            entry["status"] = "skipped: no connection (CUSTOMER360_ACTIVATION_POSTGRES_URL)"
            continue
        else:
            entry["removed"] = _delete(postgres_url, audience, target_table, dry_run)
            entry["status"] = "would remove" if dry_run else "removed"
        if not dry_run:
            con.execute(
                "insert into state.postgres_removals values (?, ?, ?, ?, ?, ?, ?)",
                [
                    destination,
                    audience,
                    target_table,
                    run_date,
                    run_id,
                    entry["removed"],
                    datetime.now(UTC).replace(tzinfo=None),
                ],
            )
    return entries


def _delete(postgres_url: str, audience: str, target_table: str, dry_run: bool) -> int:
    """Rows of ``audience`` in ``schema.table`` deleted (or, dry, that would be); 0 if the table is gone."""
    import psycopg2
    from psycopg2 import sql

    schema, table = target_table.split(".", 1)
    target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    connection = psycopg2.connect(postgres_url)
    try:
        with connection, connection.cursor() as cur:
            cur.execute("select to_regclass(%s)", [f'"{schema}"."{table}"'])
            if cur.fetchone()[0] is None:
                return 0
            if dry_run:
                cur.execute(sql.SQL("select count(*) from {} where audience = %s").format(target), [audience])
                count = cur.fetchone()[0]
                connection.rollback()
                return count
            cur.execute(sql.SQL("delete from {} where audience = %s").format(target), [audience])
            return cur.rowcount
    finally:
        connection.close()
