"""Compare two homes' marts customer by customer, whatever ids their histories minted."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb


def with_customer_ids_of(database: Path, reference: Path, work: Path) -> tuple[Path, int]:
    """A copy of the snapshot ``database`` in which each customer has the id (and pseudonymous key) that
    ``reference`` gives the customer holding the same source records; and how many ids differed.

    Stable ids depend on history: an id is minted when a cluster first appears and survives its later merges
    (``identity.stable_ids``), so a customer whose records arrived over several days may keep an id that one
    run over all the days would mint differently. The customers themselves (which source records make up each
    one) must not depend on history: the translation fails unless they are the same on both sides."""
    copy = work / "translated.duckdb"
    shutil.copyfile(database, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(f"attach '{reference}' as ref (read_only)")
        con.execute(
            """
            create temp table id_map as
            select distinct mine.customer_id as old_id, theirs.customer_id as new_id
            from main.customer_source_xref as mine
            full join ref.customer_source_xref as theirs using (source_channel, source_record_id)
            """
        )
        unmatched, pairs, old_ids, new_ids, differing = con.execute(
            "select count(*) filter (where old_id is null or new_id is null), count(*), "
            "count(distinct old_id), count(distinct new_id), count(*) filter (where old_id <> new_id) "
            "from id_map"
        ).fetchone()
        assert unmatched == 0 and pairs == old_ids == new_ids, (
            f"the customers differ, not only their ids: {pairs} id pairs for {old_ids} and {new_ids} "
            f"customers, {unmatched} source records on one side only"
        )
        con.execute(
            """
            create temp table key_map as
            select mine.customer_key as old_key, theirs.customer_key as new_key
            from main.dim_customers as mine
            join id_map on mine.customer_id = id_map.old_id
            join ref.dim_customers as theirs on theirs.customer_id = id_map.new_id
            """
        )
        tables = con.execute(
            "select table_name from information_schema.columns "
            "where table_catalog = 'translated' and column_name = 'customer_id'"
        ).fetchall()
        for (table,) in tables:
            con.execute(
                f'update main."{table}" as t set customer_id = id_map.new_id from id_map '
                "where t.customer_id = id_map.old_id"
            )
        con.execute(
            "update main.dim_customers as t set customer_key = key_map.new_key from key_map "
            "where t.customer_key = key_map.old_key"
        )
    return copy, differing
