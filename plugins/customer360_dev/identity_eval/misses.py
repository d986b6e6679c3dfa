"""Why true pairs stay apart: the missed pairs of a kept evaluation home, by cause.

``customer360 eval-identity-misses DIR`` (``DIR``: one set's home that ``make eval ARGS="--work-dir ..."``
kept) reads the identity input, the set's saved match model and truth, and the customers the run made. Every
pair of source records that is one person in the truth but got two customers falls in the first cause that
holds for it:

* ``never_compared``: no blocking key shared by the two identity records (any of their versions), and not in
  one deterministic cluster: the model never saw the pair;
* ``not_corroborated``: compared, but agreeing on the names alone (``match_model.CORROBORATING_LEVELS``);
* ``below_threshold``: compared and scored below ``settings.match_threshold``;
* ``refused``: scored at or above the threshold (or joined by a deterministic rule), yet apart: a guard, the
  household rule or the clustering refused a link on the way.

Pairs are counted over source records, as the pairwise recall counts them. ``--list N`` prints the N missed
identity-record pairs with the highest scores, side by side, to read what the records look like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

CAUSES = ("never_compared", "not_corroborated", "below_threshold", "refused")
LISTED_COLUMNS = (
    "given_name",
    "surname",
    "birth_date",
    "email_key",
    "phone_key",
    "street_fold",
    "postal_key",
)


@dataclass
class MissReport:
    true_pairs: int
    missed_pairs: int
    by_cause: dict[str, int]
    examples: list[dict[str, object]] = field(default_factory=list)
    # (match weight, precision, recall) when every scored pair at or above the weight is linked
    sweep: list[tuple[float, float, float]] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"{self.missed_pairs:,} of {self.true_pairs:,} true pairs of source records are apart:"]
        lines += [f"  {cause}: {self.by_cause.get(cause, 0):,}" for cause in CAUSES]
        for row in self.examples:
            left = " | ".join(str(row.get(f"{c}_l") or "") for c in LISTED_COLUMNS)
            right = " | ".join(str(row.get(f"{c}_r") or "") for c in LISTED_COLUMNS)
            weight = row["match_weight"]
            lines.append(
                f"{row['cause']:<16} w={'-' if weight is None else f'{weight:.2f}':>6}  {left}  ||  {right}"
            )
        for weight, precision, recall in self.sweep:
            lines.append(f"linking every scored pair at weight >= {weight:g}: precision {precision:.4f}, "
                         f"recall {recall:.4f} (no guards, no household rule)")  # fmt: skip
        return "\n".join(lines)


def missed_pairs(home: Path, listed: int = 0, sweep: tuple[float, ...] = ()) -> MissReport:
    """The missed true pairs of the set in ``home`` by cause; ``listed``: how many to show; ``sweep``: match
    weights at which to score linking every scored pair at or above the weight (with the deterministic
    clusters, without guards or the household rule): what a lower threshold alone could reach."""
    import duckdb

    from customer360.identity.blocking import BLOCK_COLUMNS, block_columns_sql
    from customer360.identity.evaluate import _predicted_relation
    from customer360.identity.match_model import predict_pairs, splink_input_sql
    from customer360.identity.model_store import load_model
    from customer360.identity.probabilistic import DEFAULT_MAX_BLOCK_SIZE
    from customer360.identity.records import MEMBERS_TABLE
    from customer360.identity.resolution import prepare_every_record
    from customer360.settings import Settings
    from customer360.sql_strings import sql_string
    from customer360_dev.identity_eval.metrics import _channel_case

    home = Path(home).resolve()
    settings = Settings(home=home)
    model = load_model(settings)
    if model is None:
        raise FileNotFoundError(
            f"no match model under {home}: keep a home with make eval ARGS='--work-dir DIR'"
        )
    truth = home / "truth" / "source_records.parquet"
    # read-write: Splink writes (and drops) its tables in the warehouse; a kept home is a scratch copy
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute("set enable_progress_bar = false")
        prepared = prepare_every_record(con, settings)
        rows = np.arange(prepared.records.num_rows, dtype=np.int64)
        con.register(
            "miss_records",
            prepared.records.append_column("idx", pa.array(rows)).append_column(
                "det_label", pa.array(prepared.first.labels.astype(np.int64))
            ),
        )
        con.execute(
            "create temp table miss_rows as "
            + block_columns_sql(
                "miss_records", carry=("idx", "det_label", "source_channel", "source_record_id")
            )
        )
        keys = ", ".join(BLOCK_COLUMNS)
        sizes = (
            f"(select blocking, block_key, count(*) as block_size from (unpivot (select idx, {keys} "
            f"from miss_rows) on {keys} into name blocking value block_key) group by all)"
        )
        con.execute(
            "create temp view miss_keyless as "
            "select * exclude (source_channel, source_record_id) from miss_rows"
        )
        con.execute(
            "create temp table miss_input as "
            + splink_input_sql("miss_keyless", sizes, DEFAULT_MAX_BLOCK_SIZE)
        )
        scored, _ = predict_pairs(con, "miss_input", model, 0.0)
        con.register("miss_scored", scored)
        predicted = _predicted_relation(con)
        if predicted == "identity_predicted":
            members = f"(select source_channel, source_record_id, identity_record_id from {MEMBERS_TABLE})"
        else:
            members = (
                "(select source_channel, source_record_id, source_record_id as identity_record_id "
                f"from {predicted})"
            )
        block_match = " or ".join(f"ai.{c} = bi.{c}" for c in BLOCK_COLUMNS)
        con.execute(
            f"""create temp table miss_source as
            select {_channel_case("m.source_channel")} as source_channel, m.source_record_id,
                m.source_channel as identity_channel, m.identity_record_id, p.customer_id, t.person_id
            from {members} as m
            join {predicted} as p on p.source_channel = m.source_channel
                and p.source_record_id = m.source_record_id
            join (select {_channel_case("source_channel::varchar")} as source_channel,
                    source_record_id::varchar as source_record_id, person_id::varchar as person_id
                from read_parquet({sql_string(truth)})) as t
                on t.source_channel = {_channel_case("m.source_channel")}
                and t.source_record_id = m.source_record_id"""
        )
        (true_pairs,) = con.execute(
            "select coalesce(sum(n * (n - 1) / 2), 0)::bigint "
            "from (select count(*) as n from miss_source group by person_id)"
        ).fetchall()[0]
        con.execute(
            """create temp table miss_identity_pairs as
            select l.identity_channel as channel_l, l.identity_record_id as record_l,
                r.identity_channel as channel_r, r.identity_record_id as record_r, count(*) as source_pairs
            from miss_source as l join miss_source as r
                on l.person_id = r.person_id and l.customer_id <> r.customer_id
                and (l.source_channel, l.source_record_id) < (r.source_channel, r.source_record_id)
            group by all"""
        )
        con.execute(
            f"""create temp table miss_classified as
            with row_pairs as (
                select p.*, a.idx as idx_a, b.idx as idx_b, a.det_label = b.det_label as same_cluster,
                    coalesce({block_match}, false) as blocked
                from miss_identity_pairs as p
                join miss_rows as a on a.source_channel = p.channel_l and a.source_record_id = p.record_l
                join miss_rows as b on b.source_channel = p.channel_r and b.source_record_id = p.record_r
                join miss_input as ai on ai.idx = a.idx
                join miss_input as bi on bi.idx = b.idx
            ),
            scored as (
                select r.channel_l, r.record_l, r.channel_r, r.record_r,
                    any_value(r.source_pairs) as source_pairs,
                    bool_or(r.same_cluster) as same_cluster, bool_or(r.blocked) as blocked,
                    max(s.match_probability) as match_probability, max(s.match_weight) as match_weight,
                    arg_max(r.idx_a, s.match_weight) as idx_a, arg_max(r.idx_b, s.match_weight) as idx_b,
                    min(r.idx_a) as any_a, min(r.idx_b) as any_b
                from row_pairs as r
                left join miss_scored as s on s.idx_l = least(r.idx_a, r.idx_b)
                    and s.idx_r = greatest(r.idx_a, r.idx_b)
                group by all
            )
            select *, case
                when same_cluster or match_probability >= {float(settings.match_threshold)} then 'refused'
                when not blocked then 'never_compared'
                when match_probability is null then 'not_corroborated'
                else 'below_threshold' end as cause
            from scored"""
        )  # fmt: skip
        by_cause = dict(
            con.execute(
                "select cause, sum(source_pairs)::bigint from miss_classified group by all"
            ).fetchall()
        )
        examples: list[dict[str, object]] = []
        if listed:
            sides = ", ".join(f"a.{c} as {c}_l, b.{c} as {c}_r" for c in LISTED_COLUMNS)
            examples = (
                con.sql(
                    f"""select c.cause, c.match_weight, {sides}
                    from miss_classified as c
                    join miss_rows as a on a.idx = coalesce(c.idx_a, c.any_a)
                    join miss_rows as b on b.idx = coalesce(c.idx_b, c.any_b)
                    order by c.match_weight desc nulls last, c.record_l, c.record_r limit {int(listed)}"""
                )
                .to_arrow_table()
                .to_pylist()
            )
        points = _sweep(con, prepared.first.labels, sweep) if sweep else []
    finally:
        con.close()
    return MissReport(
        true_pairs=int(true_pairs),
        missed_pairs=int(sum(by_cause.values())),
        by_cause={cause: int(by_cause.get(cause, 0)) for cause in CAUSES},
        examples=examples,
        sweep=points,
    )


def _sweep(
    con: object, det_labels: np.ndarray, weights: tuple[float, ...]
) -> list[tuple[float, float, float]]:
    """Pairwise precision and recall over the source records of ``miss_source`` when the rows are clustered
    by their deterministic cluster, their record's versions and every pair of ``miss_scored`` at or above
    each weight."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    record = con.sql(
        "select dense_rank() over (order by source_channel, source_record_id) - 1 as r "
        "from miss_rows order by idx"
    ).fetchnumpy()["r"]
    count = len(record)
    first_row = np.full(int(record.max()) + 1 if count else 0, count, dtype=np.int64)
    np.minimum.at(first_row, record, np.arange(count))
    source = con.sql(
        """select s.person_id, min(r.idx) as idx
        from miss_source as s join miss_rows as r
            on r.source_channel = s.identity_channel and r.source_record_id = s.identity_record_id
        group by s.source_channel, s.source_record_id, s.person_id"""
    ).fetchnumpy()
    _, person = np.unique(source["person_id"].astype(str), return_inverse=True)
    scored = con.sql("select idx_l, idx_r, match_weight from miss_scored").fetchnumpy()
    base_left = np.concatenate([np.arange(count), np.arange(count)])
    base_right = np.concatenate([det_labels.astype(np.int64), first_row[record]])

    def pairs(labels: np.ndarray) -> int:
        _, sizes = np.unique(labels, return_counts=True)
        return int((sizes * (sizes - 1) // 2).sum())

    true_pairs = pairs(person)
    points = []
    for weight in weights:
        keep = scored["match_weight"] >= weight
        left = np.concatenate([base_left, scored["idx_l"][keep]])
        right = np.concatenate([base_right, scored["idx_r"][keep]])
        graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(count, count))
        _, component = connected_components(graph, directed=False)
        cluster = component[source["idx"]].astype(np.int64)
        found = pairs(cluster)
        correct = pairs(cluster * (int(person.max()) + 1) + person)
        points.append(
            (weight, correct / found if found else 1.0, correct / true_pairs if true_pairs else 1.0)
        )
    return points
