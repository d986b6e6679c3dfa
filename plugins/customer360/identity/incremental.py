"""Incremental identity resolution: a daily run re-resolves only the records that the day's changes can reach.

A run over every record and a run over the *scope* below give the same clusters, customer ids, merges and
splits, because nothing outside the scope can have changed:

* A row is *changed* when it is new in the input or gone from it (``row_hash`` covers everything identity
  reads from a row, so a contact signature seen again, with a later ``observed_at``, is a gone row and a new
  one). Every record with a changed row is in the scope.
* Every record that shares a match key (account id, loyalty id, email, phone) with a changed row is in the
  scope: the deterministic rules join all holders of a key.
* Every record in a probabilistic block (``probabilistic.block_keys_sql``) that holds a changed row is in the
  scope when the block is compared now or was compared before (at most ``max_block_size`` rows then or now):
  its candidate pairs may have changed. Block sizes are counted over the whole input, as a full run counts.
* The scope is closed over the last run's *components*: the connected parts of the graph of every edge that
  run found, accepted or rejected by a guard. Records outside the scope keep every edge they had (the same
  rows in the same relative order give the same deterministic and probabilistic edges; the match probability
  depends on the pair alone), and have no edge into the scope, so their clusters, ids and edges stand.

Inside the scope the rows are resolved exactly as a full run would (same record order, same guards, same
stable-id rules); outside it the previous output is kept. ``tests/unit/test_identity_incremental.py``
compares both on generated data with new, changed and deleted records.

State, all in the restricted ``identity`` schema:

* ``identity.record_rows``: every input row, normalised, with its ``row_hash`` (only new rows are normalised);
* ``identity.record_components``: each record's component in the last run's edge graph (a hash of its
  earliest record, so no record id of another person is kept on a row);
* ``identity.resolution_state``: the fingerprint of the rule set and of the identity code that filled the
  cache, and when.

A run resolves every record (a *full* run) when there is no state yet, the fingerprint changed (rules,
normalisers, blocklist, settings, code), an erasure request was processed since the last run (rows were
deleted outside this stage), the input's rows are not what the cache and the changes add up to, or
``CUSTOMER360_FULL_REFRESH=true``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from customer360.identity.blocking import block_keys_sql
from customer360.identity.blocklist import Blocklist
from customer360.identity.phone_regions import channel_regions
from customer360.identity.records import (
    READ_SELECT,
    RECORD_ORDER,
    combined,
    contiguous,
    prepare_records,
    read_records,
)
from customer360.settings import Settings
from customer360.warehouse import AUDIT_SCHEMA, IDENTITY_SCHEMA, has_table

ROWS_TABLE = f"{IDENTITY_SCHEMA}.record_rows"
COMPONENTS_TABLE = f"{IDENTITY_SCHEMA}.record_components"
STATE_TABLE = f"{IDENTITY_SCHEMA}.resolution_state"
ERASURE_LOG_TABLE = f"{AUDIT_SCHEMA}.erasure_log"
# The relation holding the scope's records (record_key, source_channel, source_record_id) during a run.
SCOPE_RELATION = "identity_scope"
# Block sizes over the whole input (blocking, block_key, block_size), for probabilistic_edges.
BLOCK_SIZES_RELATION = "identity_block_sizes"
FULL = "full"
INCREMENTAL = "incremental"

STATE_DDL = f"""create table if not exists {STATE_TABLE} (
    fingerprint varchar, as_of_date date, run_id varchar, resolved_at timestamp)"""


@dataclass
class Scope:
    """What this run resolves: every record (``full``) or the records the changes can reach."""

    mode: str
    reason: str
    records: pa.Table  # normalised rows to resolve, in record order, with row_hash; one chunk per column
    new_rows: int  # rows normalised this run

    @property
    def full(self) -> bool:
        return self.mode == FULL


def fingerprint(ruleset_hash: str) -> str:
    """The rule set's hash and the identity code: a change to either invalidates the cache."""
    digest = hashlib.sha256(ruleset_hash.encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def plan_scope(
    con: object,
    settings: Settings,
    ruleset_hash: str,
    blocklist: Blocklist,
    max_block_size: int,
    read: pa.Table | None = None,
) -> Scope:
    """Read the input; decide between a full and an incremental run; return the rows to resolve.

    ``read``: every input record, already read in this run (by training): a full run takes it as it is."""
    reason = _full_run_reason(con, settings, fingerprint(ruleset_hash))
    if reason is None:
        scope = _incremental_scope(con, settings, blocklist, max_block_size)
        if scope is not None:
            return scope
        reason = "the input's rows do not add up to the cached rows and their changes"
    records = (
        read
        if read is not None
        else contiguous(
            read_records(con, settings.default_phone_region, blocklist, channel_regions(settings))
        )
    )
    return Scope(FULL, reason, records, records.num_rows)


def _full_run_reason(con: object, settings: Settings, current: str) -> str | None:
    if settings.full_refresh:
        return "asked for (CUSTOMER360_FULL_REFRESH)"
    if not all(has_table(con, t) for t in (ROWS_TABLE, COMPONENTS_TABLE, STATE_TABLE)):
        return "no earlier incremental state"
    state = con.execute(f"select fingerprint, resolved_at from {STATE_TABLE}").fetchall()
    if not state:
        return "no earlier incremental state"
    previous, resolved_at = state[0]
    if previous != current:
        return "the identity rules, settings or code changed since the last run"
    if has_table(con, ERASURE_LOG_TABLE):
        (erasures,) = con.execute(
            f"select count(*) from {ERASURE_LOG_TABLE} where processed_at >= ?", [resolved_at]
        ).fetchall()[0]
        if erasures:
            return f"{erasures} erasure request(s) processed since the last run"
    return None


def _incremental_scope(
    con: object, settings: Settings, blocklist: Blocklist, max_block_size: int
) -> Scope | None:
    con.execute(f"create or replace temp table identity_input as {READ_SELECT}")
    con.execute(
        f"""create or replace temp table identity_removed as
        select row_hash from {ROWS_TABLE} anti join identity_input using (row_hash)"""
    )
    new_raw = con.sql(
        f"select * from identity_input anti join {ROWS_TABLE} using (row_hash) order by {RECORD_ORDER}"
    ).to_arrow_table()
    (inputs, cached, removed) = con.execute(
        f"""select (select count(*) from identity_input), (select count(*) from {ROWS_TABLE}),
            (select count(*) from identity_removed)"""
    ).fetchall()[0]
    con.execute("drop table identity_input")
    if inputs != cached - removed + new_raw.num_rows:  # a row repeated in the input, or repeated no more
        return None
    new_rows = prepare_records(new_raw, settings.default_phone_region, blocklist, channel_regions(settings))
    con.register("identity_new_arrow", new_rows)
    try:
        con.execute("create or replace temp table identity_new as select * from identity_new_arrow")
    finally:
        con.unregister("identity_new_arrow")
    con.execute(
        f"""create or replace temp view identity_rows as
        select c.*, case when r.row_hash is null then 'kept' else 'removed' end as change
        from {ROWS_TABLE} as c left join identity_removed as r using (row_hash)
        union all by name
        select *, 'new' as change from identity_new"""
    )
    _scope_records(con, max_block_size)
    records = con.sql(
        f"""select * exclude (change) from identity_rows
        where change <> 'removed' and record_key in (select record_key from {SCOPE_RELATION})
        order by {RECORD_ORDER}"""
    ).to_arrow_table()
    reason = f"{removed + new_raw.num_rows:,} input row(s) new or gone since the last run"
    return Scope(INCREMENTAL, reason, contiguous(records), new_rows.num_rows)


def _scope_records(con: object, max_block_size: int) -> None:
    """Fill ``identity_scope`` (the records to re-resolve) and ``identity_block_sizes``."""
    con.execute(
        "create or replace temp table identity_changed as select * from identity_rows where change <> 'kept'"
    )
    keys = block_keys_sql("identity_rows", carry=("record_key", "change"))
    con.execute(f"create or replace temp table identity_row_keys as {keys}")
    con.execute(
        f"""create or replace temp table {BLOCK_SIZES_RELATION} as
        select blocking, block_key,
            count(*) filter (where change <> 'removed') as block_size,
            count(*) filter (where change <> 'new') as previous_size
        from identity_row_keys group by all"""
    )
    match_keys = ("account_key", "loyalty_key", "email_key", "phone_key")
    holders = " or ".join(
        f"{k} in (select {k} from identity_changed where {k} is not null)" for k in match_keys
    )
    # A phone read again in the person's region, or kept as digits (identity.phone_regions), has a key the
    # cache does not hold: holders of the same last 8 digits include every record it can match.
    holders += (
        " or right(phone_digits, 8) in (select right(phone_digits, 8) from identity_changed"
        " where length(phone_digits) >= 6)"
    )
    con.execute(
        f"""create or replace temp table {SCOPE_RELATION} as
        with
        changed_blocks as (
            select distinct k.blocking, k.block_key
            from identity_row_keys as k join {BLOCK_SIZES_RELATION} as s using (blocking, block_key)
            where k.change <> 'kept'
                and (s.block_size <= {int(max_block_size)} or s.previous_size <= {int(max_block_size)})
        ),
        reached_keys as (
            select record_key from identity_changed
            union
            select record_key from identity_rows where change <> 'removed' and ({holders})
            union
            select k.record_key
            from identity_row_keys as k join changed_blocks using (blocking, block_key)
            where k.change <> 'removed'
        ),
        components as (
            select distinct c.component_id
            from {COMPONENTS_TABLE} as c join reached_keys using (record_key)
        ),
        scope_keys as (
            select record_key from reached_keys
            union
            select c.record_key from {COMPONENTS_TABLE} as c join components using (component_id)
        )
        select distinct r.record_key, r.source_channel, r.source_record_id
        from identity_rows as r semi join scope_keys using (record_key)"""
    )
    con.execute("drop table identity_row_keys")
    con.execute("drop table identity_changed")


def record_components(records: pa.Table, latest: np.ndarray, components: np.ndarray) -> pa.Table:
    """Per record (its latest row): the key of the earliest record of its component (``components``: per row,
    the component over every edge found, accepted or rejected, from ``clustering.cluster_records``; versions
    of a record are joined by ``same_record`` edges)."""
    count = records.num_rows
    earliest = np.full(int(components.max()) + 1 if count else 0, count, dtype=np.int64)
    np.minimum.at(earliest, components, np.arange(count, dtype=np.int64))
    latest_rows = pa.array(latest, pa.int64())
    earliest_rows = pa.array(earliest[components[latest]], pa.int64())

    def rows_of(column: str, rows: pa.Array) -> pa.DictionaryArray:
        # a dictionary over the records' own column: no string copied per record
        return pa.DictionaryArray.from_arrays(rows, combined(records.column(column)))

    return pa.table(
        {
            "source_channel": rows_of("source_channel", latest_rows),
            "source_record_id": rows_of("source_record_id", latest_rows),
            "record_key": rows_of("record_key", latest_rows),
            "component_key": rows_of("record_key", earliest_rows),
        }
    )


def write_state(
    con: object,
    scope: Scope,
    components: pa.Table,
    fingerprint_: str,
    as_of_date: date,
    run_id: str,
) -> None:
    """Store the row cache, the components and the state (inside the caller's transaction)."""
    con.register("identity_components_arrow", components)
    try:
        select_components = (
            "select source_channel, source_record_id, record_key, md5(component_key) as component_id "
            "from identity_components_arrow"
        )
        if scope.full:
            con.register("identity_rows_arrow", scope.records)
            try:
                con.execute(f"create or replace table {ROWS_TABLE} as select * from identity_rows_arrow")
            finally:
                con.unregister("identity_rows_arrow")
            con.execute(f"create or replace table {COMPONENTS_TABLE} as {select_components}")
        else:
            con.execute(f"delete from {ROWS_TABLE} where row_hash in (select row_hash from identity_removed)")
            con.execute(f"insert into {ROWS_TABLE} by name select * from identity_new")
            con.execute(
                f"delete from {COMPONENTS_TABLE} "
                f"where record_key in (select record_key from {SCOPE_RELATION})"
            )
            con.execute(f"insert into {COMPONENTS_TABLE} {select_components}")
    finally:
        con.unregister("identity_components_arrow")
    con.execute(STATE_DDL)
    con.execute(f"delete from {STATE_TABLE}")
    con.execute(
        f"insert into {STATE_TABLE} values (?, ?, ?, ?)",
        [fingerprint_, as_of_date, run_id, datetime.now(UTC).replace(tzinfo=None)],
    )


def drop_run_tables(con: object) -> None:
    for name in ("identity_removed", "identity_new", SCOPE_RELATION, BLOCK_SIZES_RELATION):
        con.execute(f"drop table if exists {name}")
    con.execute("drop view if exists identity_rows")
