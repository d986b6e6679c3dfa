"""The identity tables on Spark: one tagged schema for every table a component writes, and the final write.

Each resolution component runs the DuckDB stage's writers in an in-memory DuckDB
(``customer360.spark.identity``); its tables come back as rows of one Arrow schema, tagged with the table
(``output``), so one Spark job carries all of them. ``write_outputs`` splits them into the Spark tables, with
DuckDB's names and columns, and numbers the id registry over all new ids in record order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from customer360.identity.changes import CHANGES_TABLE
from customer360.identity.households import HOUSEHOLD_KEYS_TABLE
from customer360.identity.resolution import CONTACT_POINTS_TABLE, EDGE_COLUMNS, MATCH_EDGES_TABLE
from customer360.identity.stable_ids import (
    ALIASES_TABLE,
    HISTORY_TABLE,
    REGISTRY_TABLE,
    XREF_TABLE,
    ensure_state_tables,
)
from customer360.warehouse import IDENTITY_SCHEMA

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# The tables one component's resolution writes, read back from its in-memory DuckDB and emitted tagged.
OUTPUT_TABLES = (
    XREF_TABLE,
    CONTACT_POINTS_TABLE,
    HOUSEHOLD_KEYS_TABLE,
    MATCH_EDGES_TABLE,
    REGISTRY_TABLE,
    HISTORY_TABLE,
    ALIASES_TABLE,
)
# Where a new id's sequence comes from: the record order of the cluster's earliest record.
ORDER_COLUMNS = {
    "order_observed_at": pa.timestamp("us", tz="UTC"),
    "order_channel": pa.string(),
    "order_record_id": pa.string(),
    "order_row_hash": pa.string(),
}


def plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded, strings as ``string``, timestamps as UTC: the types Spark reads."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = kind.value_type
        if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            column = column.cast(pa.string())
        elif pa.types.is_timestamp(kind):
            column = column.cast(pa.timestamp("us", tz="UTC"))
        columns[name] = column
    return pa.table(columns)


def output_schema() -> pa.Schema:
    """One row per output row of any identity table: ``output`` names the table, the columns are the union."""
    import duckdb

    con = duckdb.connect()
    try:
        ensure_state_tables(con)
        create_empty_outputs(con)
        fields: dict[str, pa.DataType] = {"output": pa.string()}
        for table in OUTPUT_TABLES:
            for field in plain(con.sql(f"select * from {table}").to_arrow_table()).schema:
                fields.setdefault(field.name, field.type)
        fields.update(ORDER_COLUMNS)
        return pa.schema(fields)
    finally:
        con.close()


def create_empty_outputs(con: object) -> None:
    """The tables the stage's writers create on their first write, empty (for a component without rows)."""
    con.execute(
        f"""create table if not exists {CONTACT_POINTS_TABLE} (source_channel varchar,
        source_record_id varchar, email_normalized varchar, email_is_valid boolean, phone_e164 varchar,
        phone_is_valid boolean, name_normalized varchar, name_script varchar)"""
    )
    con.execute(
        f"""create table if not exists {HOUSEHOLD_KEYS_TABLE} (source_channel varchar,
        source_record_id varchar, identifier_type varchar, identifier varchar)"""
    )
    columns = ", ".join(f"{name} {kind}" for name, kind in EDGE_COLUMNS.items())
    con.execute(f"create table if not exists {MATCH_EDGES_TABLE} ({columns})")


class NoChangeLog:
    """The writers' change log for a run without an earlier answer: every record changed (one row, written
    once for the whole run by ``write_outputs``)."""

    def compare(self, table: str, rows: str, scope: str | None) -> None:
        return None


def id_order(
    con: object,
    outputs: pa.Table,
    customer_ids: pa.Array,
    labels: np.ndarray,
    records: pa.Table,
    latest: np.ndarray,
) -> dict[str, tuple[Any, ...]]:
    """Per customer id: the record order of its cluster's earliest record (a new id's sequence follows it)."""
    order: dict[str, tuple[Any, ...]] = {}
    ids = customer_ids.to_pylist()
    for record, label in enumerate(labels.tolist()):
        if record != label:
            continue
        row = int(latest[label])
        order[ids[record]] = tuple(
            records.column(c)[row].as_py()
            for c in ("observed_at", "source_channel", "source_record_id", "row_hash")
        )
    return order


def with_order(registry: pa.Table, order: dict[str, tuple[Any, ...]]) -> pa.Table:
    keys = [order[c] for c in registry.column("customer_id").to_pylist()]
    for position, (name, kind) in enumerate(ORDER_COLUMNS.items()):
        registry = registry.append_column(name, pa.array([k[position] for k in keys], kind))
    return registry


def conform(part: pa.Table, table: str, schema: pa.Schema) -> pa.Table:
    """``part`` (rows of ``table``) in the output schema: tagged, other tables' columns null."""
    count = part.num_rows
    columns = []
    for field in schema:
        if field.name == "output":
            columns.append(pa.array([table] * count, pa.string()))
        elif field.name in part.column_names:
            columns.append(part.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(count, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def write_outputs(spark: SparkSession, resolved: DataFrame) -> dict[str, int]:
    """Write each identity table from the components' rows; the registry numbered in record order."""
    import duckdb
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spark.sql(f"create database if not exists {IDENTITY_SCHEMA}")
    con = duckdb.connect()
    try:
        ensure_state_tables(con)
        create_empty_outputs(con)
        columns = {
            table: [c[0] for c in con.execute(f"describe {table}").fetchall()] for table in OUTPUT_TABLES
        }
    finally:
        con.close()
    for table in OUTPUT_TABLES:
        frame = resolved.where(F.col("output") == table)
        if table == REGISTRY_TABLE:
            order = Window.orderBy(
                F.col("order_observed_at").asc_nulls_last(),
                "order_channel",
                "order_record_id",
                "order_row_hash",
            )
            frame = frame.withColumn("sequence", F.row_number().over(order).cast("bigint"))
        frame.select(*columns[table]).write.mode("overwrite").format("parquet").saveAsTable(table)
    changed_at = datetime.now(UTC).replace(tzinfo=None)
    spark.createDataFrame(
        [(None, None, changed_at)], "source_channel string, source_record_id string, changed_at timestamp"
    ).write.mode("overwrite").format("parquet").saveAsTable(CHANGES_TABLE)
    xref = spark.table(XREF_TABLE)
    records, customers = xref.agg(F.count(F.lit(1)), F.countDistinct("customer_id")).first()
    return {"records": int(records), "customers": int(customers)}
