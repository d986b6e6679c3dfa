"""Score cluster assignments against a set's truth: pairwise metrics, clusters and merges per trap class.

Pairwise precision, recall and F1 come from ``customer360.identity.evaluate.pairwise_metrics`` (pairs
counted from cluster sizes, ``n * (n - 1) / 2`` per cell, never enumerated). On top of it, per trap class:

* groups merged (households, role mailboxes, namesakes): groups of persons that must stay apart of which
  at least two persons share a customer;
* linked share of the labelled same-person pairs (nicknames, scripts, swapped names, typos, phone formats):
  pairs whose two records got one customer.

Everything runs in DuckDB over three relations: ``assignments`` (``source_channel, source_record_id,
customer_id``), the truth, and the optional trap files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from customer360.identity.evaluate import CHANNEL_ALIASES, EvaluationResult, pairwise_metrics
from customer360.sql_strings import sql_string
from customer360_dev.identity_eval.sets import APART_CLASSES

ASSIGNMENT_COLUMNS = ["source_channel", "source_record_id", "customer_id"]


@dataclass
class SetScore:
    pairwise: EvaluationResult
    groups_merged: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    pairs_linked: dict[str, float] = field(default_factory=dict)
    pairs: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            **self.pairwise.as_dict(),
            "groups_merged": self.groups_merged,
            "groups": self.groups,
            "pairs_linked": self.pairs_linked,
            "pairs": self.pairs,
        }


def _channel_case(column: str) -> str:
    when = " ".join(f"when '{alias}' then '{name}'" for alias, name in CHANNEL_ALIASES.items())
    return f"case {column} {when} else {column} end"


def score(
    assignments: pd.DataFrame,
    truth_path: Path,
    trap_groups_path: Path | None = None,
    trap_pairs_path: Path | None = None,
) -> SetScore:
    """Score ``assignments`` (one customer per source record) against the truth files."""
    missing = [c for c in ASSIGNMENT_COLUMNS if c not in assignments.columns]
    if missing:
        raise ValueError(f"assignments lack column(s) {missing}; expected {ASSIGNMENT_COLUMNS}")
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        frame = assignments[ASSIGNMENT_COLUMNS].astype("string")
        con.register("assignments_frame", frame)
        con.execute(
            "create temp table assignments as select "
            f"{_channel_case('source_channel')} as source_channel, source_record_id, customer_id "
            "from assignments_frame"
        )
        con.execute(
            "create temp table truth as select "
            f"{_channel_case('source_channel::varchar')} as source_channel, "
            "source_record_id::varchar as source_record_id, person_id::varchar as person_id "
            f"from read_parquet({sql_string(truth_path)})"
        )
        result = SetScore(pairwise_metrics(con, "assignments", "truth"))
        if trap_groups_path is not None and Path(trap_groups_path).exists():
            _groups_merged(con, Path(trap_groups_path), result)
        if trap_pairs_path is not None and Path(trap_pairs_path).exists():
            _pairs_linked(con, Path(trap_pairs_path), result)
        return result
    finally:
        con.close()


def _groups_merged(con: duckdb.DuckDBPyConnection, path: Path, result: SetScore) -> None:
    rows = con.execute(
        f"""
        with
        groups as (select * from read_parquet({sql_string(path)})),
        person_customers as (
            select distinct t.person_id, a.customer_id
            from truth as t
            join assignments as a using (source_channel, source_record_id)
        ),
        shared as (
            select g.trap_class, g.group_id, pc.customer_id, count(distinct g.person_id) as persons
            from groups as g
            join person_customers as pc using (person_id)
            group by all
        ),
        merged as (select distinct trap_class, group_id from shared where persons > 1),
        counts as (select trap_class, count(distinct group_id) as groups from groups group by all)
        select
            counts.trap_class,
            counts.groups,
            (select count(*) from merged where merged.trap_class = counts.trap_class) as merged
        from counts
        order by counts.trap_class
        """
    ).fetchall()
    for trap_class, groups, merged in rows:
        result.groups[trap_class] = int(groups)
        result.groups_merged[trap_class] = int(merged)
    for trap_class in APART_CLASSES:
        result.groups.setdefault(trap_class, 0)


def _pairs_linked(con: duckdb.DuckDBPyConnection, path: Path, result: SetScore) -> None:
    rows = con.execute(
        f"""
        with
        pairs as (select * from read_parquet({sql_string(path)}) where same_person),
        scored as (
            select
                pairs.trap_class,
                l.customer_id is not null and l.customer_id = r.customer_id as linked
            from pairs
            left join assignments as l
                on l.source_channel = {_channel_case("pairs.source_channel_l")}
                and l.source_record_id = pairs.source_record_id_l
            left join assignments as r
                on r.source_channel = {_channel_case("pairs.source_channel_r")}
                and r.source_record_id = pairs.source_record_id_r
        )
        select trap_class, count(*) as pairs, avg(linked::int) as linked
        from scored
        group by all
        order by trap_class
        """
    ).fetchall()
    for trap_class, pairs, linked in rows:
        result.pairs[trap_class] = int(pairs)
        result.pairs_linked[trap_class] = float(linked)


def pipeline_assignments(warehouse_path: Path) -> pd.DataFrame:
    """The customer of every source record in a set's warehouse, as the identity stage left it (through the
    members map from identity records to source records when the dbt project builds one)."""
    from customer360.identity.evaluate import _predicted_relation

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        con.execute("set enable_progress_bar = false")
        relation = _predicted_relation(con)
        return con.execute(f"select {', '.join(ASSIGNMENT_COLUMNS)} from {relation}").df()
    finally:
        con.close()
