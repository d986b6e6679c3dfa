"""Identity resolution on the Spark target: ``identity.resolve``'s answer, computed in Spark.

Reads ``intermediate.int_contact_records_unioned`` (the staging build's Spark table) and writes the identity
tables the core build reads, as Spark tables with the DuckDB stage's names and columns:
``identity.customer_source_xref``, ``contact_points``, ``household_keys``, ``match_edges``, ``customer_ids``,
``customer_merge_history``, ``customer_id_aliases`` and ``record_changes``.

Nothing collects the records to the driver. The work is split where no edge can cross:

1. **Prepare** (``mapInArrow``): every input row normalised on the executors by the DuckDB stage's own code
   (``records.read_select_sql`` in an in-memory DuckDB, then ``records.prepare_records``).
2. **Key components** (Spark SQL): rows sharing a record, account id, loyalty id, email or the last digits of
   a phone are connected (label propagation, ``connected_rows``). Everything the phone regions and the
   household classification compare is inside one component, so each component is classified on its own
   exactly as over all records.
3. **Deterministic pass** (``applyInArrow`` per bucket of whole components): shared values cleared,
   households found, deterministic edges and the guarded first clustering (``identity.clustering``), then the
   Splink input rows with their blocking keys (``blocking.block_columns_sql``).
4. **Scoring** (Splink's ``SparkAPI``): blocks sized over all rows (a block outside 2..max size is skipped, as
   on DuckDB), the trained model file scored by Splink on Spark, pairs at or above the threshold that agree on
   more than their names (``match_model.corroborated_sql``).
5. **Resolution components**: the key components joined by the scored pairs (label propagation again). No
   edge of either kind joins two of them.
6. **Clustering and ids** (cogrouped ``applyInArrow`` per bucket of whole components): the DuckDB stage's
   own steps on the bucket's rows and pairs (household filter, guarded clustering of all edges, match rule
   per record, stable ids, writers) in an in-memory DuckDB. Records are numbered in the stage's record order
   within the bucket, which is the order a run over all records gives them, so every tie breaks the same way.
7. **Write**: the components' rows as Spark tables; the customer id registry numbered over all new ids in
   record order (``row_number`` in Spark).

Steps 3 and 6 run the DuckDB stage's code over a **bucket**: the components whose id hashes to it
(``component_buckets``, about ``BUCKET_ROWS`` rows each). No edge or comparison crosses a component, so a
bucket of whole components is resolved as a run over all records resolves it (that run is one bucket); a
group per component would pay the in-memory DuckDB and the stage's fixed costs once per component, thousands
of times at 5,000 customers.

A run with an earlier answer on Spark (a second run) is not supported yet: it stops with a message.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360.identity.blocking import BLOCK_COLUMNS, DEFAULT_MAX_BLOCK_SIZE, block_columns_sql
from customer360.identity.blocklist import Blocklist, load_blocklist
from customer360.identity.clustering import ACCEPTED, Guard, cluster_records
from customer360.identity.deterministic import deterministic_edges
from customer360.identity.edges import PROBABILISTIC_RULE, EdgeSet
from customer360.identity.households import household_edge_mask, household_free
from customer360.identity.match_model import PAIR_COLUMNS, TF_COLUMNS, MatchModel
from customer360.identity.model_store import load_model, model_dir
from customer360.identity.phone_regions import channel_regions
from customer360.identity.records import (
    INPUT_COLUMNS,
    INPUT_TABLE,
    guard_codes,
    latest_versions,
    prepare_records,
    read_select_sql,
)
from customer360.identity.resolution import (
    _merge_reasons,
    _record_labels,
    _record_numbers,
    _split_reason,
    _write_contact_points,
    _write_edges,
    _write_household_keys,
    _write_xref,
    guarded_records,
    record_match_rules,
)
from customer360.identity.rules import RuleSet, build_ruleset, guards_for
from customer360.identity.stable_ids import (
    REGISTRY_TABLE,
    XREF_TABLE,
    assign_customer_ids,
    ensure_state_tables,
)
from customer360.settings import Settings
from customer360.spark.components import ROW_ID, connected_rows, key_pairs
from customer360.spark.identity_tables import (
    OUTPUT_TABLES,
    NoChangeLog,
    conform,
    create_empty_outputs,
    id_order,
    output_schema,
    plain,
    with_order,
    write_outputs,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)
# Rows per bucket of components (steps 3 and 6): large enough that the stage's fixed cost per call is paid a
# few times per executor core, small enough that one bucket's rows sit in a Python worker's memory.
BUCKET_ROWS = 50_000
BUCKET = "bucket"
# The session view Splink scores from (the term-frequency lookups are ``identity_tf_<column>``).
PREDICT_INPUT_VIEW = "identity_predict_input"


@dataclass
class SparkResolution:
    run_id: str
    as_of_date: date
    records: int
    customers: int
    probabilistic_pairs: int
    model_version: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "as_of_date": self.as_of_date.isoformat()}


@dataclass(frozen=True)
class _Run:
    """What the executors need (pickled into each task)."""

    settings: Settings
    blocklist: Blocklist
    guards: tuple[Guard, ...]
    channel_regions: dict[str, str]
    ruleset: RuleSet
    as_of_date: date
    run_id: str


def resolve_on_spark(
    settings: Settings,
    as_of_date: date,
    run_id: str,
    spark: SparkSession | None = None,
    *,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
) -> SparkResolution:
    """Resolve identities for ``as_of_date`` over the Spark tables and write ``identity.*`` on Spark."""
    from customer360.spark.session import spark_session

    started = time.perf_counter()
    spark = spark or spark_session(settings)
    model = load_model(settings)
    if model is None:
        raise FileNotFoundError(
            f"no identity match model in {model_dir(settings)}: the Spark target scores with the model "
            "trained on DuckDB (customer360 identity train, or a first identity run on DuckDB); copy its file"
        )
    if spark.catalog.tableExists(XREF_TABLE):
        raise NotImplementedError(
            f"{XREF_TABLE} already exists on Spark: identity on Spark resolves without an earlier answer "
            "only (stable ids against an earlier run are not carried over yet; docs/spark.md)"
        )
    blocklist = load_blocklist()
    guards = guards_for(settings)
    run = _Run(
        settings=settings,
        blocklist=blocklist,
        guards=guards,
        channel_regions=channel_regions(settings),
        ruleset=build_ruleset(settings, blocklist, guards, max_block_size, model),
        as_of_date=as_of_date,
        run_id=run_id,
    )
    step = _Steps()
    prepared = prepare(spark, run).localCheckpoint()
    rows = step.done("prepare", prepared.count())
    keyed = prepared.join(connected_rows(key_pairs(prepared)), ROW_ID).localCheckpoint()
    step.done("key components", None)
    buckets = component_buckets(spark, rows)
    splink_input = deterministic_pass(keyed, run, buckets)
    pairs = score_pairs(
        spark, splink_input, model, settings.match_threshold, max_block_size
    ).localCheckpoint()
    step.done("deterministic pass and scoring", pairs.count())
    resolved = resolve_components(keyed, pairs, run, buckets).localCheckpoint()
    step.done("clustering and ids", resolved.count())
    counts = write_outputs(spark, resolved)
    step.done("write", counts["records"])
    return SparkResolution(
        run_id=run_id,
        as_of_date=as_of_date,
        records=counts["records"],
        customers=counts["customers"],
        probabilistic_pairs=step.counts["deterministic pass and scoring"],
        model_version=model.version,
        seconds=round(time.perf_counter() - started, 3),
    )


class _Steps:
    """Logs each step's wall seconds and row count as it ends (the steps are checkpointed, so each one's time
    is its own)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.counts: dict[str, int] = {}

    def done(self, name: str, count: int | None) -> int:
        now = time.perf_counter()
        log.info("identity on Spark: %s in %.1f s (%s rows)", name, now - self.started, count)
        self.started = now
        if count is not None:
            self.counts[name] = count
        return count or 0


def component_buckets(spark: SparkSession, rows: int) -> int:
    """How many buckets the components are spread over: one per ``BUCKET_ROWS`` rows, and at least one per
    core of the session, so every core has one."""
    return max(int(spark.sparkContext.defaultParallelism), -(-rows // BUCKET_ROWS), 1)


def _bucketed(frame: DataFrame, column: str, buckets: int) -> DataFrame:
    """``frame`` with ``bucket``: which bucket the component in ``column`` falls in."""
    from pyspark.sql import functions as F

    return frame.withColumn(BUCKET, F.pmod(F.xxhash64(column), F.lit(buckets)))


# 1. Prepare ------------------------------------------------------------------------------------------------


def _prepare_batch(batch: pa.Table, run: _Run) -> pa.Table:
    """Normalise one batch of input rows as ``records.read_records`` does; ``row_id`` carried along."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.register("batch", batch)
        raw = con.sql(
            read_select_sql("batch").replace("select\n", f"select\n    {ROW_ID},\n", 1)
        ).to_arrow_table()
    finally:
        con.close()
    records = prepare_records(raw, run.settings.default_phone_region, run.blocklist, run.channel_regions)
    records = records.append_column(ROW_ID, raw.column(ROW_ID))
    return plain(records)


def prepare(spark: SparkSession, run: _Run) -> DataFrame:
    """Every input row, numbered (``row_id``) and normalised on the executors."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    source = (
        spark.table(INPUT_TABLE).select(*INPUT_COLUMNS).withColumn(ROW_ID, F.monotonically_increasing_id())
    )
    empty = pa.Table.from_batches([], schema=_arrow_input_schema(source))
    schema = from_arrow_schema(_prepare_batch(empty, run).schema)

    def batches(iterator: Any) -> Any:
        for batch in iterator:
            yield from _prepare_batch(pa.Table.from_batches([batch]), run).to_batches()

    return source.mapInArrow(batches, schema)


def _arrow_input_schema(frame: DataFrame) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(frame.schema, timezone="UTC")


# 3. Deterministic pass per component ----------------------------------------------------------------------


def _ordered(table: pa.Table) -> pa.Table:
    """The component's rows in record order (``records.RECORD_ORDER``)."""
    order = pc.sort_indices(
        table,
        sort_keys=[
            ("observed_at", "ascending"),
            ("source_channel", "ascending"),
            ("source_record_id", "ascending"),
            ("row_hash", "ascending"),
        ],
        null_placement="at_end",
    )
    return table.take(order)


def _records(table: pa.Table) -> tuple[pa.Table, np.ndarray]:
    ordered = _ordered(table)
    row_ids = ordered.column(ROW_ID).to_numpy().astype(np.int64)
    records = ordered.drop_columns(
        [c for c in (ROW_ID, "component", "resolution", BUCKET) if c in ordered.column_names]
    )
    return records.combine_chunks(), row_ids


def _deterministic_component(table: pa.Table, run: _Run) -> pa.Table:
    """One bucket of whole key components: the Splink input rows (``idx`` = row id, ``det_label``,
    comparison and block columns), as ``probabilistic.probabilistic_edges`` builds them."""
    import duckdb

    records, row_ids = _records(table)
    guarded, households = guarded_records(records, run.settings, run.blocklist)
    first = cluster_records(
        guarded.num_rows,
        deterministic_edges(household_free(guarded, households)),
        guard_codes(guarded),
        run.guards,
    )
    keyed = guarded.append_column("idx", pa.array(row_ids)).append_column(
        "det_label", pa.array(row_ids[first.labels])
    )
    con = duckdb.connect()
    try:
        con.register("prob_records", keyed)
        return plain(con.sql(block_columns_sql("prob_records", carry=("idx", "det_label"))).to_arrow_table())
    finally:
        con.close()


def deterministic_pass(keyed: DataFrame, run: _Run, buckets: int) -> DataFrame:
    from pyspark.sql.pandas.types import from_arrow_schema

    sample = keyed.limit(0).toArrow()
    schema = from_arrow_schema(_deterministic_component(sample, run).schema)
    return (
        _bucketed(keyed, "component", buckets)
        .groupBy(BUCKET)
        .applyInArrow(lambda t: _deterministic_component(t, run), schema)
    )


# 4. Scoring with Splink on Spark --------------------------------------------------------------------------


def score_pairs(
    spark: SparkSession, splink_input: DataFrame, model: MatchModel, threshold: float, max_block_size: int
) -> DataFrame:
    """``(idx_l, idx_r, match_probability, match_weight)``: the pairs the model scores at or above
    ``threshold`` that agree on more than their names."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from splink import Linker, SparkAPI

    from customer360.spark.splink_model import spark_corroborated_sql, spark_settings

    # A block outside 2..max_block_size rows is skipped: its key nulled (match_model.splink_input_sql).
    frame = splink_input
    for column in BLOCK_COLUMNS:
        size = F.count(F.lit(1)).over(Window.partitionBy(column))
        frame = frame.withColumn(
            column, F.when(F.col(column).isNotNull() & size.between(2, int(max_block_size)), F.col(column))
        )
    frame = frame.localCheckpoint()
    db_api = SparkAPI(spark_session=spark, break_lineage_method="persist")
    linker = Linker(
        db_api.register(frame, table_name=PREDICT_INPUT_VIEW), spark_settings(model), log_level=None
    )
    try:
        for column in TF_COLUMNS:
            values = model.term_frequencies.get(column, [])
            lookup = spark.createDataFrame(
                [(str(v), float(t)) for v, t in values], f"{column} string, tf_{column} double"
            )
            linker.table_management.register_term_frequency_lookup(
                db_api.register(lookup, table_name=f"identity_tf_{column}"), column
            )
        predictions = linker.inference.predict(threshold_match_probability=threshold).as_spark_dataframe()
        left = frame.select("idx", *[F.col(c).alias(f"{c}_l") for c in PAIR_COLUMNS]).withColumnRenamed(
            "idx", "idx_l"
        )
        right = frame.select("idx", *[F.col(c).alias(f"{c}_r") for c in PAIR_COLUMNS]).withColumnRenamed(
            "idx", "idx_r"
        )
        return (
            predictions.select("idx_l", "idx_r", "match_probability", "match_weight")
            .join(left, "idx_l")
            .join(right, "idx_r")
            .where(F.expr(spark_corroborated_sql(model)))
            .select("idx_l", "idx_r", "match_probability", "match_weight")
            .localCheckpoint()
        )
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        # The views registered above are the session's until dropped, and Splink refuses to register a name
        # twice: a second resolution in the same session (another date, a test) would stop on them.
        for view in (PREDICT_INPUT_VIEW, *(f"identity_tf_{column}" for column in TF_COLUMNS)):
            spark.catalog.dropTempView(view)


# 6. Clustering, ids and outputs per resolution component --------------------------------------------------


def _probabilistic_edges(pairs: pa.Table, row_ids: np.ndarray) -> EdgeSet:
    """The component's scored pairs as edges between its record numbers, in the DuckDB stage's order."""
    if pairs.num_rows == 0:
        return EdgeSet.empty()
    position = {int(row): i for i, row in enumerate(row_ids.tolist())}
    a = np.array([position[int(r)] for r in pairs.column("idx_l").to_pylist()], dtype=np.int64)
    b = np.array([position[int(r)] for r in pairs.column("idx_r").to_pylist()], dtype=np.int64)
    left, right = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((right, left))
    probability = pairs.column("match_probability").to_numpy().astype(np.float64)[order]
    weight = pairs.column("match_weight").to_numpy().astype(np.float64)[order]
    return EdgeSet(
        left=left[order],
        right=right[order],
        priority=np.full(len(order), PROBABILISTIC_RULE.priority, dtype=np.int16),
        score=np.round(probability, 9),
        key=pa.array([f"w={w:.2f}" for w in weight], pa.string()),
    )


def _resolve_component(rows: pa.Table, pairs: pa.Table, run: _Run, schema: pa.Schema) -> pa.Table:
    """One bucket of whole resolution components through the DuckDB stage's steps, in an in-memory DuckDB;
    its output rows."""
    import duckdb

    if rows.num_rows == 0:
        return schema.empty_table()
    records, row_ids = _records(rows)
    guarded, households = guarded_records(records, run.settings, run.blocklist)
    codes = guard_codes(guarded)
    det = deterministic_edges(household_free(guarded, households))
    prob = _probabilistic_edges(pairs, row_ids)
    prob = prob.take(np.flatnonzero(household_edge_mask(guarded, households, prob.left, prob.right)))
    edges = EdgeSet.concat([det, prob])
    final = cluster_records(guarded.num_rows, edges, codes, run.guards)
    latest = latest_versions(guarded)
    group = _record_numbers(guarded, latest)
    rule, score = record_match_rules(group, len(latest), edges, final)
    labels, label_of_cluster = _record_labels(final.labels, latest)
    outputs = guarded.select(
        ["source_channel", "source_record_id", "email_normalized", "email_is_valid", "phone_e164",
         "phone_is_valid", "name_normalized", "name_script"]
    ).take(pa.array(latest, pa.int64()))  # fmt: skip
    accepted = final.edge_status == ACCEPTED
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        ensure_state_tables(con)
        create_empty_outputs(con)
        assignment = assign_customer_ids(
            con,
            outputs,
            pa.array(labels, pa.int64()),
            run.as_of_date,
            run.run_id,
            _merge_reasons(con, edges, label_of_cluster[final.labels[edges.left]], accepted, run.ruleset),
            _split_reason(run.ruleset, None),
        )
        changes = NoChangeLog()
        _write_xref(con, outputs, assignment.customer_ids, rule, score, None, changes)
        _write_contact_points(con, outputs, None, changes)
        _write_household_keys(con, guarded, group, households, None)
        _write_edges(con, guarded, group, edges, final, run.run_id, None)
        order = id_order(con, outputs, assignment.customer_ids, labels, guarded, latest)
        parts = []
        for table in OUTPUT_TABLES:
            part = plain(con.sql(f"select * from {table}").to_arrow_table())
            if table == REGISTRY_TABLE and part.num_rows:
                part = with_order(part, order)
            parts.append(conform(part, table, schema))
    finally:
        con.close()
    return pa.concat_tables(parts)


def resolve_components(keyed: DataFrame, pairs: DataFrame, run: _Run, buckets: int) -> DataFrame:
    """Every output row of every resolution component (key components joined by the scored pairs), resolved
    by buckets of whole components."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    component_of = keyed.select(ROW_ID, "component")
    edges = (
        pairs.withColumn("key", F.concat_ws("\x1f", F.lit("pair"), "idx_l", "idx_r"))
        .join(component_of.withColumnRenamed(ROW_ID, "idx_l").withColumnRenamed("component", "left"), "idx_l")
        .join(
            component_of.withColumnRenamed(ROW_ID, "idx_r").withColumnRenamed("component", "right"), "idx_r"
        )
    )
    pair_keys = edges.select(F.col("left").alias("component"), "key").unionByName(
        edges.select(F.col("right").alias("component"), "key")
    )
    merged = connected_rows(pair_keys, node="component", label="resolution")
    resolution_of = component_of.join(merged, "component", "left").select(
        ROW_ID, F.coalesce("resolution", "component").alias("resolution")
    )
    resolution_of = _bucketed(resolution_of, "resolution", buckets).localCheckpoint()
    # each side its own copy of the column (new aliases): both come from one frame, which Spark's cogroup
    # would find ambiguous
    rows = keyed.join(resolution_of.select(ROW_ID, F.col(BUCKET).alias(BUCKET)), ROW_ID)
    scored = pairs.join(
        resolution_of.select(F.col(ROW_ID).alias("idx_l"), F.col(BUCKET).alias(BUCKET)), "idx_l"
    )
    arrow_schema = output_schema()

    def resolve(left: pa.Table, right: pa.Table) -> pa.Table:
        return _resolve_component(left, right, run, arrow_schema)

    return (
        rows.groupBy(BUCKET)
        .cogroup(scored.groupBy(BUCKET))
        .applyInArrow(resolve, from_arrow_schema(arrow_schema))
    )
