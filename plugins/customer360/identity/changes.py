"""The identity records whose published answer changed in a run, for the core layer to follow.

The core layer's build joins every source record to its customer (``identity.customer_source_xref``) and
reads each record's contact points (``identity.contact_points``). A daily core build recomputes only the
records whose answer changed since its previous build, so each resolution run appends to
``identity.record_changes`` the records whose row in either table was added, removed or changed, with the
time of the run:

* an incremental run compares the scope's rows before and after (nothing outside the scope changes);
* a full run over an earlier answer compares every row (a rule change moves a few records, not all);
* a run with no earlier answer (the first one) writes one row with no record, meaning *every record*: the
  core planner then rebuilds the layer in full instead of listing millions of keys.

The core planner (``customer360.incremental``) passes the start of the previous core build; the layer reads
the changes from then on, and a successful build deletes the ones logged before it started
(``incremental.record_build``), so the table holds only what the next build still has to follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from customer360.warehouse import IDENTITY_SCHEMA, has_table

CHANGES_TABLE = f"{IDENTITY_SCHEMA}.record_changes"
CHANGES_DDL = f"""create table if not exists {CHANGES_TABLE} (
    source_channel varchar, source_record_id varchar, changed_at timestamp not null)"""
KEY = ("source_channel", "source_record_id")
_BEFORE = "identity_changes_before_{}"
_KEYS = "identity_changes_keys"
_KEYS_DDL = f"create temp table if not exists {_KEYS} (source_channel varchar, source_record_id varchar)"


@contextmanager
def logged_changes(con: object, tables: tuple[str, ...], scope: str | None) -> Iterator[list[int]]:
    """Around the writes of ``tables`` (each keyed by source_channel, source_record_id): log the records
    whose rows the writes changed. The yielded list holds, after the block, how many records were logged
    (-1: every record, when a table had no earlier answer)."""
    earlier = [capture_before(con, table, scope) for table in tables]
    logged: list[int] = []
    yield logged
    for table, compare in zip(tables, earlier, strict=True):
        if compare:
            capture_after(con, table, scope)
    logged.append(write_changes(con, datetime.now(UTC).replace(tzinfo=None), everything=not all(earlier)))


def capture_before(con: object, table: str, scope: str | None) -> bool:
    """Keep the rows of ``table`` that this run may replace (the scope's, or all); False when there is no
    earlier answer to compare with (no table, or an empty one)."""
    if not has_table(con, table) or not con.execute(f"select count(*) from {table}").fetchall()[0][0]:
        return False
    con.execute(f"create or replace temp table {_before(table)} as {_scope_rows(table, scope)}")
    return True


def capture_after(con: object, table: str, scope: str | None) -> None:
    """Add the records whose rows of ``table`` differ from what ``capture_before`` kept."""
    before = _before(table)
    now = _scope_rows(table, scope)
    con.execute(_KEYS_DDL)
    con.execute(
        f"""insert into {_KEYS}
        select source_channel, source_record_id
        from (
            (select * from {before} except select * from ({now}))
            union all
            (select * from ({now}) except select * from {before})
        )"""
    )
    con.execute(f"drop table {before}")


def write_changes(con: object, changed_at: datetime, everything: bool) -> int:
    """Append the captured records (or, with ``everything``, the one row meaning every record) to the log;
    return how many records were logged (-1 for every record)."""
    con.execute(CHANGES_DDL)
    if everything:
        con.execute(f"insert into {CHANGES_TABLE} values (null, null, ?)", [changed_at])
        return -1
    con.execute(_KEYS_DDL)
    (count,) = con.execute(
        f"""insert into {CHANGES_TABLE}
        select distinct source_channel, source_record_id, ?::timestamp from {_KEYS}""",
        [changed_at],
    ).fetchall()[0]
    return int(count)


def drop_capture_tables(con: object) -> None:
    con.execute(f"drop table if exists {_KEYS}")


def _before(table: str) -> str:
    return _BEFORE.format(table.replace(".", "_"))


def _scope_rows(table: str, scope: str | None) -> str:
    if scope is None:
        return f"select * from {table}"
    return f"select * from {table} semi join {scope} using ({', '.join(KEY)})"
