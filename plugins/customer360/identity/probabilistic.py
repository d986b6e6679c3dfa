"""Probabilistic edges for records the deterministic rules leave in different clusters.

Blocking (``identity.blocking``) says which records are compared; the trained match model
(``identity.match_model``, a versioned file from ``identity.model_store``) scores each pair in Splink, in the
stage's DuckDB; pairs whose match probability reaches ``settings.match_threshold`` become edges of the
``probabilistic`` rule. The probability depends on the pair and the model alone (term frequencies come from
the model, not from the day's records), so a run over part of the records scores every pair as a run over
all of them would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from customer360.identity.blocking import BLOCK_COLUMNS, DEFAULT_MAX_BLOCK_SIZE, block_columns_sql
from customer360.identity.edges import PROBABILISTIC_RULE, EdgeSet
from customer360.identity.match_model import MatchModel, predict_pairs, splink_input_sql

__all__ = ["DEFAULT_MAX_BLOCK_SIZE", "BlockingStats", "probabilistic_edges"]


@dataclass
class BlockingStats:
    blocks: int = 0
    blocks_skipped: int = 0
    records_in_skipped_blocks: int = 0
    candidate_pairs: int = 0
    skipped_by_key: dict[str, int] = field(default_factory=dict)


BLOCK_STATS_SQL = """
select blocking, count(distinct block_key) as blocks,
    count(distinct block_key) filter (where block_size > $max_block_size) as skipped,
    count(*) filter (where block_size > $max_block_size) as skipped_records
from prob_keys group by all order by blocking
"""


def probabilistic_edges(
    con: object,
    records: pa.Table,
    labels: np.ndarray,
    threshold: float,
    model: MatchModel,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    block_sizes: str | None = None,
) -> tuple[EdgeSet, BlockingStats]:
    """Score the candidate pairs with ``model`` and return the pairs at or above ``threshold`` as edges.

    ``labels``: each row's cluster after the deterministic pass (pairs within one are not compared).
    ``block_sizes``: a relation ``(blocking, block_key, block_size)`` counted over the whole input, when
    ``records`` is only part of it (an incremental run): a block is skipped by its size in the whole input,
    as a run over every record would skip it."""
    keyed = records.append_column("idx", pa.array(np.arange(records.num_rows, dtype=np.int64)))
    keyed = keyed.append_column("det_label", pa.array(labels.astype(np.int64)))
    con.register("prob_records", keyed)
    columns = ", ".join(BLOCK_COLUMNS)
    try:
        con.execute(
            f"""create or replace temp table prob_rows as
            {block_columns_sql("prob_records", carry=("idx", "det_label"))}"""
        )
        con.execute(
            f"""create or replace temp table prob_key_rows as
            select idx, blocking, block_key
            from (unpivot (select idx, {columns} from prob_rows)
                on {columns} into name blocking value block_key)"""
        )
        sizes = block_sizes or (
            "(select blocking, block_key, count(*) as block_size from prob_key_rows group by all)"
        )
        con.execute(
            f"""create or replace temp table prob_keys as
            select k.idx, k.blocking, k.block_key, s.block_size
            from prob_key_rows as k join {sizes} as s using (blocking, block_key)"""
        )
        stats = _blocking_stats(
            con.sql(BLOCK_STATS_SQL.replace("$max_block_size", str(int(max_block_size))))
            .to_arrow_table()
            .to_pylist()
        )
        splink_input = splink_input_sql("prob_rows", sizes, max_block_size)
        con.execute(f"create or replace temp table prob_input as {splink_input}")
        pairs, stats.candidate_pairs = predict_pairs(con, "prob_input", model, threshold)
    finally:
        for table in ("prob_input", "prob_keys", "prob_key_rows", "prob_rows"):
            con.execute(f"drop table if exists {table}")
        con.unregister("prob_records")
    left = pairs.column("idx_l").to_numpy().astype(np.int64)
    right = pairs.column("idx_r").to_numpy().astype(np.int64)
    probability = pairs.column("match_probability").to_numpy().astype(np.float64)
    weight = pairs.column("match_weight").to_numpy().astype(np.float64)
    edges = EdgeSet(
        left=left,
        right=right,
        priority=np.full(len(left), PROBABILISTIC_RULE.priority, dtype=np.int16),
        score=np.round(probability, 9),
        key=pa.array([f"w={w:.2f}" for w in weight], pa.string()),
    )
    return edges, stats


def _blocking_stats(rows: list[dict[str, object]]) -> BlockingStats:
    stats = BlockingStats()
    for row in rows:
        stats.blocks += int(row["blocks"])
        stats.blocks_skipped += int(row["skipped"])
        stats.records_in_skipped_blocks += int(row["skipped_records"])
        stats.skipped_by_key[str(row["blocking"])] = int(row["skipped"])
    return stats
