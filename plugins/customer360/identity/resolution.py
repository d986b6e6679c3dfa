"""``resolve``: one identity resolution run over ``intermediate.int_contact_records_unioned``.

Steps: read the input and decide the scope (every record on a first run, else the records the changes since
the last run can reach: ``identity.incremental``), normalising only rows not seen before; deterministic edges
(account id > loyalty id > email > phone); guarded clustering; probabilistic edges between the clusters that
are left apart; guarded clustering of all edges; stable ids against the previous run; write ``identity.*``
in one transaction (a failed run leaves the previous state untouched, a re-run of the same input changes
nothing).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360.identity.blocklist import Blocklist, load_blocklist
from customer360.identity.changes import ChangeLog, drop_capture_tables
from customer360.identity.clustering import ACCEPTED, ClusterResult, Guard, cluster_records
from customer360.identity.deterministic import deterministic_edges
from customer360.identity.edges import ALL_RULES, FORCED_PRIORITY, RULE_BY_PRIORITY, EdgeSet
from customer360.identity.households import (
    HOUSEHOLD_KEYS_TABLE,
    classify_shared_values,
    household_edge_mask,
    household_free,
)
from customer360.identity.incremental import (
    BLOCK_SIZES_RELATION,
    ERASURE_LOG_TABLE,
    SCOPE_RELATION,
    drop_run_tables,
    fingerprint,
    plan_scope,
    record_components,
    write_state,
)
from customer360.identity.match_model import MatchModel
from customer360.identity.model_store import load_model, train_and_save
from customer360.identity.phone_regions import apply_person_regions, channel_regions
from customer360.identity.probabilistic import DEFAULT_MAX_BLOCK_SIZE, probabilistic_edges
from customer360.identity.records import (
    INPUT_TABLE,
    check_input,
    combined,
    contiguous,
    guard_codes,
    latest_versions,
    read_records,
)
from customer360.identity.rules import RuleSet, build_ruleset, guards_for
from customer360.identity.stable_ids import XREF_TABLE, assign_customer_ids, ensure_state_tables
from customer360.settings import Settings
from customer360.warehouse import IDENTITY_SCHEMA, stage_connection

CONTACT_POINTS_TABLE = f"{IDENTITY_SCHEMA}.contact_points"
MATCH_EDGES_TABLE = f"{IDENTITY_SCHEMA}.match_edges"
# identity.contact_points, in column order; the outputs' source record columns come first
CONTACT_POINT_COLUMNS = (
    "source_channel",
    "source_record_id",
    "email_normalized",
    "email_is_valid",
    "phone_e164",
    "phone_is_valid",
    "name_normalized",
    "name_script",
)
# identity.match_edges, in column order
EDGE_COLUMNS = {
    "run_id": "varchar",
    "left_channel": "varchar",
    "left_record_id": "varchar",
    "right_channel": "varchar",
    "right_record_id": "varchar",
    "match_rule": "varchar",
    "match_key": "varchar",
    "match_score": "double",
    "status": "varchar",
    "reject_reason": "varchar",
}
RUNS_TABLE = f"{IDENTITY_SCHEMA}.resolution_runs"
SINGLETON_RULE = "singleton"
log = logging.getLogger(__name__)

RUNS_DDL = f"""create table if not exists {RUNS_TABLE} (
    run_sequence bigint, run_id varchar, as_of_date date, ruleset_version varchar, ruleset_hash varchar,
    ruleset_changed boolean, ruleset json, records bigint, customers bigint, new_customers bigint,
    merges bigint, splits bigint, edges_by_rule json, accepted_edges_by_rule json, guard_rejections bigint,
    rejections_by_guard json, candidate_pairs bigint, blocks_skipped bigint, records_in_skipped_blocks bigint,
    seconds double, mode varchar, mode_reason varchar, records_resolved bigint, rows_normalised bigint,
    records_changed bigint)"""
# Columns added after the first release (a warehouse from then gets them on its next run).
RUNS_ADDED_COLUMNS = (
    ("mode", "varchar"),
    ("mode_reason", "varchar"),
    ("records_resolved", "bigint"),
    ("rows_normalised", "bigint"),
    ("records_changed", "bigint"),
)


@dataclass
class ResolutionResult:
    run_id: str
    as_of_date: date
    records: int
    customers: int
    new_customers: int
    merges: int
    splits: int
    edges_by_rule: dict[str, int]
    accepted_edges_by_rule: dict[str, int]
    guard_rejections: int
    rejections_by_guard: dict[str, int]
    candidate_pairs: int
    blocks_skipped: int
    records_in_skipped_blocks: int
    ruleset_version: str
    ruleset_hash: str
    ruleset_changed: bool
    seconds: float
    # "full": every record resolved; "incremental": the records_resolved that this run's changes can reach
    # (edge, rejection and blocking counts above are theirs). records/customers count the whole output.
    mode: str = "full"
    mode_reason: str = ""
    records_resolved: int = 0
    rows_normalised: int = 0
    # records whose customer or contact points changed (identity.record_changes); -1: every record (no
    # earlier answer)
    records_changed: int = 0
    step_seconds: dict[str, float] = field(default_factory=dict)
    # the match model used (identity.model_store) and whether this run trained it (no model existed)
    model_version: int = 0
    model_trained: bool = False
    households: int = 0

    @property
    def model_note(self) -> str:
        if self.model_trained:
            return f"match model v{self.model_version} trained by this run (no model existed)"
        return f"match model v{self.model_version}"

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["as_of_date"] = self.as_of_date.isoformat()
        return data


def resolve(
    settings: Settings,
    as_of_date: date,
    run_id: str,
    *,
    blocklist: Blocklist | None = None,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    guards: tuple[Guard, ...] | None = None,
) -> ResolutionResult:
    """Resolve identities for ``as_of_date`` and write ``identity.*``. ``blocklist`` and ``guards`` default to
    the shipped blocklist and the settings' limits; passing others is a rule change and is recorded."""
    blocklist = blocklist or load_blocklist()
    guards = guards or guards_for(settings)
    # On PostgreSQL: a scratch DuckDB with the input and identity's state; identity.* is written back.
    pull = (INPUT_TABLE, IDENTITY_SCHEMA, ERASURE_LOG_TABLE)
    with stage_connection(settings, pull=pull, push=(IDENTITY_SCHEMA,)) as con:
        con.execute("set enable_progress_bar = false")
        try:
            model = load_model(settings)
            trained = model is None
            prepared = None
            if model is None:
                # Training reads, normalises and clusters every record; a new model makes this run a full
                # one, which resolves the same records: it takes them from training instead of again.
                check_input(con)
                prepared = prepare_every_record(con, settings, blocklist, guards)
                model, path = train_and_save(
                    con, prepared.records, prepared.first.labels, settings, as_of_date
                )
                log.info("identity: no match model yet: trained v%s (%s)", model.version, path)
            ruleset = build_ruleset(settings, blocklist, guards, max_block_size, model)
            result = _resolve(
                con,
                settings,
                as_of_date,
                run_id,
                blocklist,
                guards,
                ruleset,
                max_block_size,
                model,
                trained,
                prepared,
            )
            return result
        finally:
            drop_run_tables(con)
            drop_capture_tables(con)


def _resolve(
    con: object,
    settings: Settings,
    as_of_date: date,
    run_id: str,
    blocklist: Blocklist,
    guards: tuple[Guard, ...],
    ruleset: RuleSet,
    max_block_size: int,
    model: MatchModel,
    model_trained: bool,
    prepared: Prepared | None = None,
) -> ResolutionResult:
    started = time.perf_counter()
    steps: dict[str, float] = {}
    tick = time.perf_counter()
    check_input(con)
    scope = plan_scope(
        con,
        settings,
        ruleset.hash,
        blocklist,
        max_block_size,
        model,
        read=prepared.raw if prepared else None,
    )
    if prepared is not None and scope.full:
        records, households = prepared.records, prepared.households
    else:
        prepared = None
        records, households = guarded_records(scope.records, settings, blocklist, scope.numbers_on_file)
    steps["read_normalise"] = time.perf_counter() - tick
    count = records.num_rows
    codes = guard_codes(records)

    tick = time.perf_counter()
    if prepared is not None:
        det, first = prepared.det, prepared.first
    else:
        det = deterministic_edges(household_free(records, households))
        first = cluster_records(count, det, codes, guards)
    steps["deterministic"] = time.perf_counter() - tick

    tick = time.perf_counter()
    prob, blocking = probabilistic_edges(
        con,
        records,
        first.labels,
        settings.match_threshold,
        model,
        max_block_size,
        block_sizes=None if scope.full else BLOCK_SIZES_RELATION,
    )
    prob = prob.take(np.flatnonzero(household_edge_mask(records, households, prob.left, prob.right)))
    steps["probabilistic"] = time.perf_counter() - tick

    tick = time.perf_counter()
    edges = EdgeSet.concat([det, prob])
    final = cluster_records(count, edges, codes, guards)
    steps["clustering"] = time.perf_counter() - tick

    tick = time.perf_counter()
    latest = latest_versions(records)
    group = _record_numbers(records, latest)
    rule, score = record_match_rules(group, len(latest), edges, final)
    labels, label_of_cluster = _record_labels(final.labels, latest)
    # one row per record, with what the outputs need (not every normalised column: 1.3 GB at 1M customers)
    outputs = records.select(list(CONTACT_POINT_COLUMNS)).take(pa.array(latest, pa.int64()))
    components = record_components(records, latest, final.components)
    accepted = final.edge_status == ACCEPTED
    in_scope = None if scope.full else SCOPE_RELATION
    con.execute("begin transaction")
    try:
        ensure_state_tables(con)
        previous_hash = _previous_ruleset_hash(con)
        changed = previous_hash is not None and previous_hash != ruleset.hash
        assignment = assign_customer_ids(
            con,
            outputs,
            pa.array(labels, pa.int64()),
            as_of_date,
            run_id,
            _merge_reasons(con, edges, label_of_cluster[final.labels[edges.left]], accepted, ruleset),
            _split_reason(ruleset, previous_hash),
            scope=in_scope,
        )
        steps["stable_ids"] = time.perf_counter() - tick
        tick = time.perf_counter()
        changes = ChangeLog(con)
        _write_xref(con, outputs, assignment.customer_ids, rule, score, in_scope, changes)
        _write_contact_points(con, outputs, in_scope, changes)
        household_count = _write_household_keys(con, records, group, households, in_scope)
        changed_records = changes.write()
        _write_edges(con, records, group, edges, final, run_id, in_scope)
        write_state(con, scope, components, fingerprint(ruleset.hash), as_of_date, run_id)
        total_records, total_customers = con.execute(
            f"select count(*), count(distinct customer_id) from {XREF_TABLE}"
        ).fetchall()[0]
        result = ResolutionResult(
            run_id=run_id,
            as_of_date=as_of_date,
            records=int(total_records),
            customers=int(total_customers),
            new_customers=assignment.new_customers,
            merges=assignment.merges,
            splits=assignment.splits,
            edges_by_rule=edges.counts_by_rule(),
            accepted_edges_by_rule=edges.counts_by_rule(accepted),
            guard_rejections=final.rejections,
            rejections_by_guard=final.rejections_by_guard(),
            candidate_pairs=blocking.candidate_pairs,
            blocks_skipped=blocking.blocks_skipped,
            records_in_skipped_blocks=blocking.records_in_skipped_blocks,
            ruleset_version=ruleset.version,
            ruleset_hash=ruleset.hash,
            ruleset_changed=changed,
            seconds=0.0,
            mode=scope.mode,
            mode_reason=scope.reason,
            records_resolved=len(latest),
            rows_normalised=scope.new_rows,
            records_changed=changed_records,
            step_seconds=steps,
            model_version=model.version,
            model_trained=model_trained,
            households=household_count,
        )
        steps["write"] = time.perf_counter() - tick
        result.seconds = round(time.perf_counter() - started, 3)
        _write_run(con, result, ruleset)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    log.info(
        "identity: %s run (%s): %s of %s records resolved in %.1f s",
        scope.mode,
        scope.reason,
        f"{len(latest):,}",
        f"{result.records:,}",
        result.seconds,
    )
    return result


@dataclass
class Prepared:
    """Every input record as read (``raw``), with phones in the person's region and shared values guarded
    (``records``, ``households``), and the deterministic edges and clusters over them."""

    raw: pa.Table
    records: pa.Table
    households: pa.Table
    det: EdgeSet
    first: ClusterResult


def prepare_every_record(
    con: object,
    settings: Settings,
    blocklist: Blocklist | None = None,
    guards: tuple[Guard, ...] | None = None,
) -> Prepared:
    """Read and normalise every input record and cluster it by the deterministic rules: what training needs,
    and what a full run starts from."""
    blocklist = blocklist or load_blocklist()
    guards = guards or guards_for(settings)
    raw = contiguous(read_records(con, settings.default_phone_region, blocklist, channel_regions(settings)))
    records, households = guarded_records(raw, settings, blocklist)
    det = deterministic_edges(household_free(records, households))
    first = cluster_records(records.num_rows, det, guard_codes(records), guards)
    return Prepared(raw, records, households, det, first)


def guarded_records(
    records: pa.Table, settings: Settings, blocklist: Blocklist, numbers_on_file: pa.Array | None = None
) -> tuple[pa.Table, pa.Table]:
    """The scope's rows with phones read in the person's region, shared values cleared from the keys, and the
    household values (``identity.households``). ``numbers_on_file``: an incremental run's phone numbers of
    known country in the whole input (``phone_regions.apply_person_regions``)."""
    records = apply_person_regions(records, settings, blocklist, channel_regions(settings), numbers_on_file)
    return classify_shared_values(records, settings.identity_max_people_per_value)


def _write_household_keys(
    con: object, records: pa.Table, group: np.ndarray, households: pa.Table, scope: str | None
) -> int:
    """``identity.household_keys``: one row per record and household value it holds (any version); returns
    the number of household values in the scope."""
    rows = pa.array(households.column("row").to_numpy().astype(np.int64))
    table = pa.table(
        {
            "source_channel": records.column("source_channel").take(rows),
            "source_record_id": records.column("source_record_id").take(rows),
            "identifier_type": households.column("identifier_type"),
            "identifier": households.column("identifier"),
        }
    )
    con.register("identity_household_rows", table)
    try:
        con.execute(
            f"""create table if not exists {HOUSEHOLD_KEYS_TABLE} (source_channel varchar,
            source_record_id varchar, identifier_type varchar, identifier varchar)"""
        )
        if scope is None:
            con.execute(f"delete from {HOUSEHOLD_KEYS_TABLE}")
        else:
            con.execute(
                f"""delete from {HOUSEHOLD_KEYS_TABLE} as t using {scope} as s
                where s.source_channel = t.source_channel and s.source_record_id = t.source_record_id"""
            )
        con.execute(
            f"""insert into {HOUSEHOLD_KEYS_TABLE}
            select distinct source_channel, source_record_id, identifier_type, identifier
            from identity_household_rows order by all"""
        )
    finally:
        con.unregister("identity_household_rows")
    return int(pc.count_distinct(households.column("identifier")).as_py()) if households.num_rows else 0


def _record_numbers(records: pa.Table, latest: np.ndarray) -> np.ndarray:
    """For every row, the number of its record (the position of the record's latest row in ``latest``)."""
    encoded = pc.dictionary_encode(records.column("record_key").combine_chunks())
    code = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    position_of_code = np.empty(len(encoded.dictionary), dtype=np.int64)
    position_of_code[code[latest]] = np.arange(len(latest), dtype=np.int64)
    return position_of_code[code]


def _record_labels(row_labels: np.ndarray, latest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cluster labels at record level (the cluster's first record number), and a map from row-level labels."""
    clusters = row_labels[latest]
    _, inverse = np.unique(clusters, return_inverse=True)
    first = np.full(inverse.max() + 1 if len(inverse) else 0, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(len(latest), dtype=np.int64))
    labels = first[inverse]
    label_of_cluster = np.full(len(row_labels), -1, dtype=np.int64)
    label_of_cluster[clusters] = labels
    return labels, label_of_cluster


def record_match_rules(
    group: np.ndarray, count: int, edges: EdgeSet, clusters: ClusterResult
) -> tuple[pa.Array, pa.Array]:
    """Per record (``group`` maps rows to records): the strongest accepted rule linking it to another record,
    and its score (null when it is linked to nothing but its own versions: ``singleton``)."""
    accepted = (clusters.edge_status == ACCEPTED) & (edges.priority != FORCED_PRIORITY)
    sentinel = np.iinfo(np.int16).max
    best = np.full(count, sentinel, dtype=np.int64)
    left, right, priority, score = (
        group[edges.left[accepted]],
        group[edges.right[accepted]],
        edges.priority[accepted].astype(np.int64),
        edges.score[accepted],
    )
    np.minimum.at(best, left, priority)
    np.minimum.at(best, right, priority)
    best_score = np.full(count, -1.0)
    for side in (left, right):
        hit = priority == best[side]
        np.maximum.at(best_score, side[hit], score[hit])
    names = np.array(
        [SINGLETON_RULE] + [RULE_BY_PRIORITY[p].name for p in sorted(RULE_BY_PRIORITY)], dtype=object
    )
    index = np.zeros(count, dtype=np.int64)
    for position, p in enumerate(sorted(RULE_BY_PRIORITY), start=1):
        index[best == p] = position
    linked = best != sentinel
    return (
        pa.array(names[index], pa.string()),
        pa.array(np.round(best_score, 6), pa.float64(), mask=~linked),
    )


def _previous_ruleset_hash(con: object) -> str | None:
    con.execute(RUNS_DDL)
    for column, kind in RUNS_ADDED_COLUMNS:
        con.execute(f"alter table {RUNS_TABLE} add column if not exists {column} {kind}")
    rows = con.execute(f"select ruleset_hash from {RUNS_TABLE} order by run_sequence desc limit 1").fetchall()
    return rows[0][0] if rows else None


def _split_reason(ruleset: RuleSet, previous_hash: str | None) -> str:
    if previous_hash is not None and previous_hash != ruleset.hash:
        return (
            f"records no longer linked after rule set change {previous_hash} -> {ruleset.hash} "
            f"(v{ruleset.version})"
        )
    return f"records no longer linked by the current evidence (rule set {ruleset.hash})"


def _merge_reasons(
    con: object, edges: EdgeSet, edge_labels: np.ndarray, accepted: np.ndarray, ruleset: RuleSet
) -> pa.Table:
    """Per cluster (record-level label): the rules of the accepted edges that hold it together."""
    accepted = accepted & (edges.priority != FORCED_PRIORITY)
    table = pa.table(
        {
            "label": pa.array(edge_labels[accepted]),
            "priority": pa.array(edges.priority[accepted].astype(np.int64)),
        }
    )
    rules = pa.table(
        {
            "priority": pa.array([r.priority for r in ALL_RULES], pa.int64()),
            "rule": [r.name for r in ALL_RULES],
        }
    )
    con.register("merge_edges", table)
    con.register("merge_rules", rules)
    try:
        return con.sql(
            f"""select e.label,
                'linked by ' || string_agg(distinct r.rule, ', ' order by r.rule) || ' (rule set
                {ruleset.hash})'
                    as reason
            from merge_edges as e join merge_rules as r using (priority)
            group by e.label"""
        ).to_arrow_table()
    finally:
        con.unregister("merge_edges")
        con.unregister("merge_rules")


def _write_xref(
    con: object,
    records: pa.Table,
    customer_ids: pa.Array,
    rule: pa.Array,
    score: pa.Array,
    scope: str | None,
    changes: ChangeLog,
) -> None:
    xref = pa.table(
        {
            "source_channel": records.column("source_channel"),
            "source_record_id": records.column("source_record_id"),
            "customer_id": customer_ids,
            "match_rule": rule,
            "match_score": score,
        }
    )
    _replace_table(con, XREF_TABLE, xref, "source_channel, source_record_id", scope, changes)


def _write_contact_points(con: object, records: pa.Table, scope: str | None, changes: ChangeLog) -> None:
    _replace_table(
        con,
        CONTACT_POINTS_TABLE,
        records.select(list(CONTACT_POINT_COLUMNS)),
        "source_channel, source_record_id",
        scope,
        changes,
    )


def _write_edges(
    con: object,
    records: pa.Table,
    group: np.ndarray,
    edges: EdgeSet,
    clusters: ClusterResult,
    run_id: str,
    scope: str | None,
) -> None:
    """Every edge between two different records, accepted or rejected, once per record pair, rule and key
    (edges between versions of one record, or repeated by versions, are left out). With ``scope`` only the
    edges of the scope's records are replaced (no edge links a record in it to one outside)."""
    keep = _distinct_edges(group, edges, clusters)
    edges = edges.take(keep)
    left = pa.array(edges.left, pa.int64())
    right = pa.array(edges.right, pa.int64())
    channels = combined(records.column("source_channel"))
    record_ids = combined(records.column("source_record_id"))
    rule_names = [""] * (max(RULE_BY_PRIORITY) + 1)
    for priority, rule in RULE_BY_PRIORITY.items():
        rule_names[priority] = rule.name
    rejected = clusters.edge_status[keep] != ACCEPTED
    reason = pa.array(clusters.reject_reason[keep], pa.string())
    # Strings repeated on many edges (channels, record ids, rules, the run) are dictionary columns over the
    # records' own arrays: no copy per edge (6.6M edges at 1M customers; the copies and DuckDB's sort of them
    # took 5.3 GB on top of the stage's memory).
    table = pa.table(
        {
            "run_id": _repeated(run_id, len(edges)),
            "left_channel": pa.DictionaryArray.from_arrays(left, channels),
            "left_record_id": pa.DictionaryArray.from_arrays(left, record_ids),
            "right_channel": pa.DictionaryArray.from_arrays(right, channels),
            "right_record_id": pa.DictionaryArray.from_arrays(right, record_ids),
            "match_rule": pa.DictionaryArray.from_arrays(
                pa.array(edges.priority.astype(np.int32)), pa.array(rule_names, pa.string())
            ),
            "match_key": edges.key,
            "match_score": pa.array(edges.score, pa.float64()),
            "status": pa.DictionaryArray.from_arrays(
                pa.array(rejected.astype(np.int8)), pa.array(["accepted", "rejected"])
            ),
            "reject_reason": pc.if_else(pc.equal(reason, ""), pa.scalar(None, pa.string()), reason),
        }
    )
    columns = ", ".join(f"{column}::{type_} as {column}" for column, type_ in EDGE_COLUMNS.items())
    select_edges = f"select {columns} from identity_edges"
    con.register("identity_edges", table)
    try:
        if scope is None:
            con.execute(f"create or replace table {MATCH_EDGES_TABLE} as {select_edges}")
        else:
            for side in ("left", "right"):
                con.execute(
                    f"""delete from {MATCH_EDGES_TABLE} as e using {scope} as s
                    where s.source_channel = e.{side}_channel and s.source_record_id = e.{side}_record_id"""
                )
            con.execute(f"insert into {MATCH_EDGES_TABLE} {select_edges}")
    finally:
        con.unregister("identity_edges")


def _distinct_edges(group: np.ndarray, edges: EdgeSet, clusters: ClusterResult) -> np.ndarray:
    """Positions of the edges to store, in record order: one per (left record, right record, rule, key),
    edges within one record left out. Of repeats (an edge found again through another version) the accepted
    one is kept, then the highest score, then the first found."""
    left_record, right_record = group[edges.left], group[edges.right]
    between = np.flatnonzero(left_record != right_record)
    key_codes = pc.dictionary_encode(edges.key.take(pa.array(between, pa.int64()))).indices
    key_code = pc.fill_null(key_codes, -1).to_numpy(zero_copy_only=False).astype(np.int64) + 1
    # Two integer keys instead of four: the record pair, and the rule with the linking key.
    pair = left_record[between].astype(np.int64) * (int(group.max(initial=0)) + 1) + right_record[between]
    rule_key = edges.priority[between].astype(np.int64) * (int(key_code.max(initial=0)) + 1) + key_code
    rejected = clusters.edge_status[between] != ACCEPTED
    order = np.lexsort((-edges.score[between], rejected, rule_key, pair))  # stable: ties keep edge order
    pair, rule_key = pair[order], rule_key[order]
    repeat = np.zeros(len(order), dtype=bool)  # same pair, rule and key as the edge before it
    repeat[1:] = (pair[1:] == pair[:-1]) & (rule_key[1:] == rule_key[:-1])
    return between[order[~repeat]]


def _repeated(value: str, count: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(count, np.int8)), pa.array([value], pa.string()))


def _write_run(con: object, result: ResolutionResult, ruleset: RuleSet) -> None:
    con.execute(f"delete from {RUNS_TABLE} where run_id = ?", [result.run_id])
    con.execute(
        f"""insert into {RUNS_TABLE} (run_sequence, run_id, as_of_date, ruleset_version, ruleset_hash,
            ruleset_changed, ruleset, records, customers, new_customers, merges, splits, edges_by_rule,
            accepted_edges_by_rule, guard_rejections, rejections_by_guard, candidate_pairs, blocks_skipped,
            records_in_skipped_blocks, seconds, mode, mode_reason, records_resolved, rows_normalised,
            records_changed)
        values (
            (select coalesce(max(run_sequence), 0) + 1 from {RUNS_TABLE}),
            ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            result.run_id,
            result.as_of_date,
            result.ruleset_version,
            result.ruleset_hash,
            result.ruleset_changed,
            ruleset.description,
            result.records,
            result.customers,
            result.new_customers,
            result.merges,
            result.splits,
            json.dumps(result.edges_by_rule),
            json.dumps(result.accepted_edges_by_rule),
            result.guard_rejections,
            json.dumps(result.rejections_by_guard),
            result.candidate_pairs,
            result.blocks_skipped,
            result.records_in_skipped_blocks,
            result.seconds,
            result.mode,
            result.mode_reason,
            result.records_resolved,
            result.rows_normalised,
            result.records_changed,
        ],
    )


def _replace_table(
    con: object,
    name: str,
    table: pa.Table,
    order_by: str,
    scope: str | None = None,
    changes: ChangeLog | None = None,
) -> None:
    """Replace ``name`` with ``table``; with ``scope``, replace only the rows of the scope's records.
    ``changes`` first collects the records whose rows differ (identity.changes)."""
    con.register("identity_output", table)
    try:
        if changes is not None:
            changes.compare(name, "identity_output", scope)
        if scope is None:
            con.execute(
                f"create or replace table {name} as select * from identity_output order by {order_by}"
            )
        else:
            con.execute(
                f"""delete from {name} as t using {scope} as s
                where s.source_channel = t.source_channel and s.source_record_id = t.source_record_id"""
            )
            con.execute(f"insert into {name} by name select * from identity_output order by {order_by}")
    finally:
        con.unregister("identity_output")
