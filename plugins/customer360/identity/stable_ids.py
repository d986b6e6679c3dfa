"""Stable customer ids across runs, with merges and splits recorded.

A new customer id is ``'C'`` + 12 hex characters of the MD5 of the cluster's earliest record
(``<source_channel>|<source_record_id>``); if that id was ever used (or two new clusters collide), a
counter is
appended to the hashed text until it is unique. ``identity.customer_ids`` registers every id ever issued
with a
sequence number: a lower sequence is an older id.

From one run to the next (previous assignment = ``identity.customer_source_xref``):

* Each previous id goes *home* to the new cluster holding most of its records (ties: the cluster whose
  earliest record is earliest). Its records in other clusters have split off: those clusters are recorded
  as ``split`` (old id -> the id they get now).
* A cluster that is home to one previous id keeps it. A cluster home to several has merged them: the oldest
  id survives, the others are recorded as ``merge`` and become aliases of the survivor.
* A cluster home to none (new records only, or the smaller part of a split) gets a new id.
* Aliases always point at a live id: when a survivor is itself merged later, its aliases move along
  (a->b, b->c is stored as a->c, b->c).

The same input and rules give the same clusters, so a re-run changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from customer360.warehouse import IDENTITY_SCHEMA

XREF_TABLE = f"{IDENTITY_SCHEMA}.customer_source_xref"
REGISTRY_TABLE = f"{IDENTITY_SCHEMA}.customer_ids"
HISTORY_TABLE = f"{IDENTITY_SCHEMA}.customer_merge_history"
ALIASES_TABLE = f"{IDENTITY_SCHEMA}.customer_id_aliases"

STATE_DDL = (
    f"""create table if not exists {XREF_TABLE} (
        source_channel varchar, source_record_id varchar, customer_id varchar, match_rule varchar,
        match_score double)""",
    f"""create table if not exists {REGISTRY_TABLE} (
        customer_id varchar, sequence bigint, first_as_of_date date, first_run_id varchar, status varchar,
        merged_into varchar)""",
    f"""create table if not exists {HISTORY_TABLE} (
        changed_on date, change_type varchar, old_customer_id varchar, new_customer_id varchar, reason
        varchar,
        run_id varchar)""",
    f"create table if not exists {ALIASES_TABLE} (alias_customer_id varchar, customer_id varchar)",
)

ID_PREFIX = "C"
ID_HEX_LENGTH = 12


@dataclass
class IdAssignment:
    customer_ids: pa.Array  # one per record, in record order
    new_customers: int
    merges: int
    splits: int


def customer_id_for(source_channel: str, source_record_id: str, attempt: int = 0) -> str:
    text = f"{source_channel}|{source_record_id}" + (f"#{attempt}" if attempt else "")
    return ID_PREFIX + hashlib.md5(text.encode()).hexdigest()[:ID_HEX_LENGTH]


def ensure_state_tables(con: object) -> None:
    con.execute(f"create schema if not exists {IDENTITY_SCHEMA}")
    for ddl in STATE_DDL:
        con.execute(ddl)


def assign_customer_ids(
    con: object,
    records: pa.Table,
    labels: pa.Array,
    as_of_date: date,
    run_id: str,
    merge_reasons: pa.Table,
    split_reason: str,
    scope: str | None = None,
) -> IdAssignment:
    """Give every cluster an id, update the registry, history and aliases; return the id per record.

    ``records`` has ``source_channel, source_record_id`` in record order; ``labels`` the cluster of each
    record (its earliest record number); ``merge_reasons`` has ``label, reason`` for clusters that may merge
    ids. ``scope``: a relation ``(source_channel, source_record_id)`` when ``records`` are only the records an
    incremental run re-resolves (plus records gone from the input): only the previous ids of those records
    can be retired; every other id keeps its records."""
    ensure_state_tables(con)
    cur = pa.table(
        {
            "idx": pa.array(range(records.num_rows), pa.int64()),
            "source_channel": records.column("source_channel"),
            "source_record_id": records.column("source_record_id"),
            "label": labels,
        }
    )
    con.register("ids_current", cur)
    con.register("ids_merge_reasons", merge_reasons)
    try:
        return _assign(con, as_of_date, run_id, split_reason, scope)
    finally:
        for name in ("ids_current", "ids_merge_reasons"):
            con.unregister(name)
        for name in ("ids_overlap", "ids_home", "ids_cluster", "ids_new"):
            con.execute(f"drop table if exists {name}")


def _assign(con: object, as_of_date: date, run_id: str, split_reason: str, scope: str | None) -> IdAssignment:
    con.execute(
        f"""create or replace temp table ids_overlap as
        select c.label, x.customer_id as prev_id, count(*) as record_count
        from ids_current as c
        join {XREF_TABLE} as x using (source_channel, source_record_id)
        group by all"""
    )
    con.execute(
        """create or replace temp table ids_home as
        select prev_id, label as home_label
        from ids_overlap
        qualify row_number() over (partition by prev_id order by record_count desc, label) = 1"""
    )
    # Survivor per cluster: the oldest previous id that is at home here.
    con.execute(
        f"""create or replace temp table ids_cluster as
        with homed as (
            select h.home_label as label, h.prev_id, r.sequence
            from ids_home as h left join {REGISTRY_TABLE} as r on r.customer_id = h.prev_id
        ),
        ranked as (
            select label, prev_id,
                row_number() over (partition by label order by sequence nulls last, prev_id) as age_rank
            from homed
        )
        select labels.label, ranked.prev_id as survivor_id
        from (select distinct label from ids_current) as labels
        left join ranked on ranked.label = labels.label and ranked.age_rank = 1"""
    )
    _issue_new_ids(con, as_of_date, run_id)
    merges = con.execute(
        f"""insert into {HISTORY_TABLE}
        select ?::date, 'merge', h.prev_id, c.survivor_id,
            coalesce(m.reason, 'records of both customers are now linked'), ?
        from ids_home as h
        join ids_cluster as c on c.label = h.home_label
        left join ids_merge_reasons as m on m.label = h.home_label
        where h.prev_id <> c.survivor_id
        order by c.survivor_id, h.prev_id""",
        [as_of_date, run_id],
    ).fetchall()[0][0]
    splits = con.execute(
        f"""insert into {HISTORY_TABLE}
        select distinct ?::date, 'split', o.prev_id, c.survivor_id, ?, ?
        from ids_overlap as o
        join ids_home as h using (prev_id)
        join ids_cluster as c on c.label = o.label
        where o.label <> h.home_label
        order by 3, 4""",
        [as_of_date, split_reason, run_id],
    ).fetchall()[0][0]
    if merges:
        con.execute(
            """create or replace temp table ids_merged as
            select h.prev_id as old_id, c.survivor_id as new_id
            from ids_home as h join ids_cluster as c on c.label = h.home_label
            where h.prev_id <> c.survivor_id"""
        )
        con.execute(
            f"""update {ALIASES_TABLE} as a set customer_id = m.new_id
            from ids_merged as m where a.customer_id = m.old_id"""
        )
        con.execute(f"insert into {ALIASES_TABLE} select old_id, new_id from ids_merged order by 1")
        con.execute(
            f"""update {REGISTRY_TABLE} as r set status = 'merged', merged_into = m.new_id
            from ids_merged as m where r.customer_id = m.old_id"""
        )
        con.execute("drop table ids_merged")
    # Previous ids with no records left (their records disappeared from the input).
    within_scope = ""
    if scope is not None:
        within_scope = f"""and customer_id in (
            select x.customer_id from {XREF_TABLE} as x
            join {scope} as s using (source_channel, source_record_id))"""
    con.execute(
        f"""update {REGISTRY_TABLE} set status = 'retired'
        where status = 'active' and customer_id not in (select survivor_id from ids_cluster) {within_scope}"""
    )
    new_customers = con.execute("select count(*) from ids_new").fetchall()[0][0]
    ids = con.sql(
        """select c.survivor_id as customer_id
        from ids_current as cur join ids_cluster as c on c.label = cur.label
        order by cur.idx"""
    ).to_arrow_table()
    return IdAssignment(
        customer_ids=ids.column("customer_id").combine_chunks(),
        new_customers=int(new_customers),
        merges=int(merges),
        splits=int(splits),
    )


def _issue_new_ids(con: object, as_of_date: date, run_id: str) -> None:
    """New ids for clusters without a survivor, unique against every id ever issued."""
    con.execute(
        f"""create or replace temp table ids_new as
        select c.label, r.source_channel, r.source_record_id,
            '{ID_PREFIX}' || left(md5(r.source_channel || '|' || r.source_record_id), {ID_HEX_LENGTH}) as
            customer_id
        from ids_cluster as c join ids_current as r on r.idx = c.label
        where c.survivor_id is null"""
    )
    clashes = con.execute(
        f"""select n.label, n.source_channel, n.source_record_id
        from ids_new as n
        where n.customer_id in (select customer_id from {REGISTRY_TABLE})
            or n.customer_id in (select customer_id from ids_new group by 1 having count(*) > 1)
        order by n.label"""
    ).fetchall()
    if clashes:
        taken = {row[0] for row in con.execute(f"select customer_id from {REGISTRY_TABLE}").fetchall()}
        clashing_labels = {row[0] for row in clashes}
        taken |= {
            row[0]
            for row in con.execute("select customer_id, label from ids_new").fetchall()
            if row[1] not in clashing_labels
        }
        for label, channel, record_id in clashes:
            attempt = 0
            candidate = customer_id_for(channel, record_id)
            while candidate in taken:
                attempt += 1
                candidate = customer_id_for(channel, record_id, attempt)
            taken.add(candidate)
            con.execute("update ids_new set customer_id = ? where label = ?", [candidate, label])
    con.execute(
        f"""insert into {REGISTRY_TABLE}
        select customer_id,
            coalesce((select max(sequence) from {REGISTRY_TABLE}), 0) + row_number() over (order by label),
            ?::date, ?, 'active', null
        from ids_new order by label""",
        [as_of_date, run_id],
    )
    con.execute(
        """update ids_cluster as c set survivor_id = n.customer_id
        from ids_new as n where n.label = c.label"""
    )
