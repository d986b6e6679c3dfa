"""Incremental identity resolution: a daily run re-resolves only the records that the day's changes can reach.

A run over every record and a run over the *scope* below give the same clusters, customer ids, merges and
splits, because nothing outside the scope can have changed:

* A row is *changed* when it is new in the input or gone from it (``row_hash`` covers everything identity
  reads from a row, so a contact signature seen again, with a later ``observed_at``, is a gone row and a new
  one). Every record with a changed row is in the scope.
* Every record that shares a match key (account id, loyalty id, email, phone) with a changed row is in the
  scope: the deterministic rules join all holders of a key.
* Every record in a probabilistic block (``blocking.block_keys_sql``) that holds a changed row is in the
  scope when the block is compared now and was not before, or the other way round (2 to ``max_block_size``
  rows): its candidate pairs changed. In a block compared both before and now, the pairs of the rows that
  stay are the same; the pairs with a gone row are edges of that row's record (in the scope, with its
  component), and of the pairs with a new row only those the model scores as a match (at or above the
  threshold, corroborated) can be edges: the records on their other side are in the scope, the rest of the
  block is not. Block sizes are counted over the whole input, as a full run counts.
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
import pyarrow.compute as pc

from customer360.identity.blocking import BLOCK_COLUMNS, block_columns_sql
from customer360.identity.blocklist import Blocklist
from customer360.identity.match_model import MatchModel, predict_pairs, splink_input_sql
from customer360.identity.normalize_phone import _is_placeholder
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
    # incremental runs: the phone numbers of known country (E.164) of every input row, which a scope's phone
    # without a country is read against (identity.phone_regions), as in a full run
    numbers_on_file: pa.Array | None = None

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
    model: MatchModel,
    read: pa.Table | None = None,
) -> Scope:
    """Read the input; decide between a full and an incremental run; return the rows to resolve.

    ``model``: the match model of this run (an incremental run scores the new rows against their blocks).
    ``read``: every input record, already read in this run (by training): a full run takes it as it is."""
    reason = _full_run_reason(con, settings, fingerprint(ruleset_hash))
    if reason is None:
        scope = _incremental_scope(con, settings, blocklist, max_block_size, model)
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
    con: object, settings: Settings, blocklist: Blocklist, max_block_size: int, model: MatchModel
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
    _scope_records(con, max_block_size, model, settings.match_threshold, blocklist)
    records = con.sql(
        f"""select * exclude (change) from identity_rows
        where change <> 'removed' and record_key in (select record_key from {SCOPE_RELATION})
        order by {RECORD_ORDER}"""
    ).to_arrow_table()
    numbers = con.sql(
        """select distinct phone_e164 from identity_rows
        where change <> 'removed' and phone_e164 is not null
            and (coalesce(phone_international, false) or upper(country_code) is not null)"""
    ).to_arrow_table()
    reason = f"{removed + new_raw.num_rows:,} input row(s) new or gone since the last run"
    return Scope(INCREMENTAL, reason, contiguous(records), new_rows.num_rows, combined(numbers.column(0)))


def _scope_records(
    con: object, max_block_size: int, model: MatchModel, threshold: float, blocklist: Blocklist
) -> None:
    """Fill ``identity_scope`` (the records to re-resolve) and ``identity_block_sizes`` (the sizes of the
    blocks of the scope's rows, counted over the whole input)."""
    con.execute(
        "create or replace temp table identity_changed as select * from identity_rows where change <> 'kept'"
    )
    # every row's block keys (not the comparison columns: only the rows scored below need those), numbered
    # (``idx``), once; blocks are counted only for the keys asked about (a filter per block column), not
    # grouped over every key of every row
    numbered = "(select *, row_number() over () as idx from identity_rows)"
    carry = ("idx", "record_key", "change", "row_hash")
    con.execute(
        f"""create or replace temp table identity_row_blocks as
        select {", ".join(carry + BLOCK_COLUMNS)} from ({block_columns_sql(numbered, carry=carry)})"""
    )
    _keys_of(con, "identity_changed_keys", "change <> 'kept'")
    _count_blocks(con, "identity_changed_keys")
    size = int(max_block_size)
    # the blocks of the changed rows: ``flipped`` when compared now and not before or the other way round,
    # ``stable`` when compared both times; ``with_new`` when a new row holds it
    con.execute(
        f"""create or replace temp table identity_changed_blocks as
        select blocking, block_key,
            (s.block_size between 2 and {size}) <> (s.previous_size between 2 and {size}) as flipped,
            s.block_size between 2 and {size} and s.previous_size between 2 and {size} as stable,
            bool_or(k.change = 'new') as with_new
        from identity_changed_keys as k join {BLOCK_SIZES_RELATION} as s using (blocking, block_key)
        group by all"""
    )
    con.execute(
        f"""create or replace temp table identity_flipped_rows as
        select idx from ({_holders_sql("identity_changed_blocks", "flipped")})"""
    )
    _score_new_rows(con, max_block_size, model, threshold)
    match_keys = ("account_key", "loyalty_key", "email_key", "phone_key")
    holders = " or ".join(
        f"{k} in (select {k} from identity_changed where {k} is not null)" for k in match_keys
    )
    # A phone read again in the person's region, or kept as digits (identity.phone_regions), has a key the
    # cache does not hold, and a number of known country is read against by phones written without one:
    # holders of the same last 8 digits include every record it can match or give a region to.
    _phone_tails(con, blocklist)
    holders += " or right(phone_digits, 8) in (select tail from identity_phone_tails)"
    con.execute(
        f"""create or replace temp table {SCOPE_RELATION} as
        with
        reached_keys as (
            select record_key from identity_changed
            union
            select record_key from identity_rows where change <> 'removed' and ({holders})
            union
            select record_key from identity_row_blocks
            where change <> 'removed' and idx in (select idx from identity_flipped_rows)
            union
            select record_key from identity_matched_rows
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
    # the sizes probabilistic_edges needs: of every block a row of the scope holds
    _keys_of(
        con,
        "identity_scope_keys",
        f"change <> 'removed' and record_key in (select record_key from {SCOPE_RELATION})",
    )
    _count_blocks(con, "identity_scope_keys")
    for table in (
        "identity_scope_keys",
        "identity_changed_keys",
        "identity_flipped_rows",
        "identity_matched_rows",
        "identity_changed_blocks",
        "identity_phone_tails",
        "identity_row_blocks",
        "identity_changed",
    ):
        con.execute(f"drop table if exists {table}")


def _phone_tails(con: object, blocklist: Blocklist) -> None:
    """``identity_phone_tails`` (``tail``): the last 8 digits of the changed rows' phones that can reach
    another record. A placeholder by its digits (one repeated digit, a run, a listed number: in any region)
    written without a country reaches nobody: it never links, and only numbers of known country give
    another record its region; one placeholder is held by thousands of records at 1M persons."""
    changed = con.sql(
        """select phone_digits,
            phone_e164 is not null and (coalesce(phone_international, false) or country_code is not null)
                as on_file
        from identity_changed where length(phone_digits) >= 6"""
    ).to_arrow_table()
    digits = combined(changed.column("phone_digits"))
    placeholder = pc.fill_null(_is_placeholder(digits, blocklist), False)
    reaching = pc.or_(pc.invert(placeholder), pc.fill_null(combined(changed.column("on_file")), False))
    tails = pc.unique(pc.utf8_slice_codeunits(digits.filter(reaching), -8))
    con.register("identity_phone_tails_arrow", pa.table({"tail": tails.cast(pa.string())}))
    try:
        con.execute(
            "create or replace temp table identity_phone_tails as select * from identity_phone_tails_arrow"
        )
    finally:
        con.unregister("identity_phone_tails_arrow")


def _keys_of(con: object, into: str, where: str) -> None:
    """``into`` (``idx, record_key, change, blocking, block_key``): the block keys of the rows of
    ``identity_row_blocks`` that meet ``where``."""
    columns = ", ".join(BLOCK_COLUMNS)
    con.execute(
        f"""create or replace temp table {into} as
        select idx, record_key, change, blocking, block_key
        from (unpivot (select idx, record_key, change, {columns} from identity_row_blocks where {where})
            on {columns} into name blocking value block_key)"""
    )


def _count_blocks(con: object, keys: str) -> None:
    """``identity_block_sizes`` (``blocking, block_key, block_size, previous_size``) for the distinct keys
    of ``keys``, counted over every row: now (without the gone rows) and before (without the new rows)."""
    parts = [
        f"""select '{column}' as blocking, {column} as block_key,
            count(*) filter (where change <> 'removed') as block_size,
            count(*) filter (where change <> 'new') as previous_size
        from identity_row_blocks
        where {column} in (select block_key from {keys} where blocking = '{column}')
        group by {column}"""
        for column in BLOCK_COLUMNS
    ]
    con.execute(f"create or replace temp table {BLOCK_SIZES_RELATION} as {' union all '.join(parts)}")


def _holders_sql(blocks: str, condition: str) -> str:
    """``select idx``: the rows of ``identity_row_blocks`` holding a block of ``blocks`` that meets
    ``condition``."""
    return " union ".join(
        f"""select idx from identity_row_blocks
        where {column} in (select block_key from {blocks} where blocking = '{column}' and {condition})"""
        for column in BLOCK_COLUMNS
    )


def _score_new_rows(con: object, max_block_size: int, model: MatchModel, threshold: float) -> None:
    """``identity_matched_rows`` (``record_key``): the rows that stay and that a new row matches (the model's
    score at or above ``threshold``, corroborated) in a block compared before and now. Only these pairs of
    such a block can be edges the last run did not have; a superset of the full run's (pairs inside one
    deterministic cluster are scored too), which only widens the scope."""
    # new rows compare with every other row (each its own label), rows that stay not with each other (one
    # shared label): only pairs with a new row are scored
    con.execute(
        f"""create or replace temp table identity_probe_hashes as
        select distinct row_hash from identity_row_blocks
        where change = 'new' or (change = 'kept' and idx in (
            {_holders_sql("identity_changed_blocks", "stable and with_new")}))"""
    )
    probed = (
        "(select *, row_number() over () as idx from identity_rows where change <> 'removed' "
        "and row_hash in (select row_hash from identity_probe_hashes))"
    )
    con.execute(
        f"""create or replace temp table identity_probe_rows as
        select *, case when change = 'new' then idx else -1 end as det_label
        from ({block_columns_sql(probed, carry=("idx", "record_key", "change"))})"""
    )
    con.execute("drop table identity_probe_hashes")
    con.execute(
        f"""create or replace temp table identity_probe_input as
        {splink_input_sql("identity_probe_rows", BLOCK_SIZES_RELATION, max_block_size)}"""
    )
    try:
        (new_rows,) = con.execute(
            "select count(*) from identity_probe_input where change = 'new'"
        ).fetchall()[0]
        if new_rows:
            pairs, _ = predict_pairs(con, "identity_probe_input", model, threshold)
        else:
            pairs = pa.table({"idx_l": pa.array([], pa.int64()), "idx_r": pa.array([], pa.int64())})
        con.register("identity_probe_pairs", pairs.select(["idx_l", "idx_r"]))
        try:
            con.execute(
                """create or replace temp table identity_matched_rows as
                select distinct r.record_key
                from (select idx_l as idx from identity_probe_pairs
                    union select idx_r from identity_probe_pairs)
                    join identity_probe_rows as r using (idx)
                where r.change = 'kept'"""
            )
        finally:
            con.unregister("identity_probe_pairs")
    finally:
        con.execute("drop table if exists identity_probe_input")
        con.execute("drop table if exists identity_probe_rows")


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
