"""The identity records whose published answer changed in a run, for the core layer to follow.

The core layer's build joins every source record to its customer (``identity.customer_source_xref``) and
reads each record's contact points (``identity.contact_points``). A daily core build recomputes only the
records whose answer changed since its previous build, so each resolution run appends to
``identity.record_changes`` the records whose row in either table was added, removed or changed, with the
time of the run:

* an incremental run compares the scope's rows with what it writes for them (nothing outside the scope
  changes);
* a full run over an earlier answer compares every row (a rule change moves a few records, not all);
* a run with no earlier answer (the first one) writes one row with no record, meaning *every record*: the
  core planner then rebuilds the layer in full instead of listing millions of keys.

The core planner (``customer360.incremental``) passes the start of the previous core build; the layer reads
the changes from then on, and a successful build deletes the ones logged before it started
(``incremental.record_build``), so the table holds only what the next build still has to follow.
"""

from __future__ import annotations

from datetime import UTC, datetime

from customer360.warehouse import IDENTITY_SCHEMA, has_table
from customer360.warehouse_sync import duckdb_columns

CHANGES_TABLE = f"{IDENTITY_SCHEMA}.record_changes"
CHANGES_DDL = f"""create table if not exists {CHANGES_TABLE} (
    source_channel varchar, source_record_id varchar, changed_at timestamp not null)"""
KEY = ("source_channel", "source_record_id")
_KEYS = "identity_changes_keys"
_KEYS_DDL = f"create temp table if not exists {_KEYS} (source_channel varchar, source_record_id varchar)"


class ChangeLog:
    """Collects, during one run, the records whose rows of the answer tables the run rewrites differently."""

    def __init__(self, con: object) -> None:
        self.con = con
        self.everything = False
        con.execute(_KEYS_DDL)
        con.execute(f"delete from {_KEYS}")

    def compare(self, table: str, rows: str, scope: str | None) -> None:
        """Before ``table`` is rewritten with the relation ``rows`` (all its records, or the ``scope``'s):
        add the records whose row is new, gone or different. A table with no earlier answer (missing or
        empty) makes the log say every record."""
        con = self.con
        if not has_table(con, table) or not con.execute(f"select count(*) from {table}").fetchall()[0][0]:
            self.everything = True
            return
        columns = [name for name, _ in duckdb_columns(con, rows) if name not in KEY]
        differs = " or ".join(f"earlier.{c} is distinct from now.{c}" for c in columns) or "false"
        earlier = f"select * from {table}" + (
            f" semi join {scope} using ({', '.join(KEY)})" if scope is not None else ""
        )
        con.execute(
            f"""insert into {_KEYS}
            select coalesce(now.source_channel, earlier.source_channel),
                coalesce(now.source_record_id, earlier.source_record_id)
            from ({earlier}) as earlier
            full join {rows} as now
                on now.source_channel = earlier.source_channel
                and now.source_record_id = earlier.source_record_id
            where earlier.source_channel is null or now.source_channel is null or {differs}"""
        )

    def write(self) -> int:
        """Append the collected records (or the one row meaning every record) to the log, at this time;
        return how many records were logged (-1: every record)."""
        con = self.con
        changed_at = datetime.now(UTC).replace(tzinfo=None)
        con.execute(CHANGES_DDL)
        if self.everything:
            con.execute(f"insert into {CHANGES_TABLE} values (null, null, ?)", [changed_at])
            return -1
        (count,) = con.execute(
            f"""insert into {CHANGES_TABLE}
            select distinct source_channel, source_record_id, ?::timestamp from {_KEYS}""",
            [changed_at],
        ).fetchall()[0]
        return int(count)


def drop_capture_tables(con: object) -> None:
    con.execute(f"drop table if exists {_KEYS}")
