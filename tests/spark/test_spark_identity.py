"""Identity on Spark gives the DuckDB stage's answer, from the same records and the same model file.

GIVEN generated identity input (customer360_dev.identity_synthetic: typos, variant emails and phones, CRM
versions, households, namesakes, role emails) and one trained match model file, WHEN identity resolves the
records once on DuckDB (``identity.resolve``) and once on a local[2] Spark session
(``customer360.spark.identity.resolve_on_spark``, Splink's Spark backend), THEN every identity table the core
build reads holds the same rows on both: the customer of every record (same clusters, same stable ids), the
match rule and score, the contact points, the household values, every edge with its status and guard, and the
id registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from customer360.identity.households import HOUSEHOLD_KEYS_TABLE
from customer360.identity.stable_ids import REGISTRY_TABLE, XREF_TABLE
from customer360.settings import Settings
from customer360.warehouse import connect
from tests.support.identity_model import install_model, train_model_file

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = date(2026, 11, 20)
RUN_ID = "spark-identity"
PERSONS = 300
SCORE_TOLERANCE = 1e-9
COMPARED = {
    XREF_TABLE: "source_channel, source_record_id",
    "identity.contact_points": "source_channel, source_record_id",
    HOUSEHOLD_KEYS_TABLE: "source_channel, source_record_id, identifier_type, identifier",
    "identity.match_edges": (
        "left_channel, left_record_id, right_channel, right_record_id, match_rule, match_key"
    ),
    REGISTRY_TABLE: "customer_id",
}


@pytest.fixture(scope="module")
def resolved(spark_available: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """The same records resolved on DuckDB and on Spark; yields DuckDB's file and the Spark session."""
    from customer360.identity.resolution import resolve
    from customer360.spark.identity import resolve_on_spark
    from customer360.spark.session import spark_session
    from customer360_dev.identity_synthetic import synthetic_records, write_input_table

    model = train_model_file(Settings(home=tmp_path_factory.mktemp("identity_model")))
    records, _ = synthetic_records(PERSONS, seed=5)

    on_duckdb = Settings(home=tmp_path_factory.mktemp("identity_duckdb"))
    install_model(on_duckdb, model)
    with connect(on_duckdb) as con:
        write_input_table(con, records)
    resolve(on_duckdb, AS_OF, RUN_ID)

    home = tmp_path_factory.mktemp("identity_spark")
    on_spark = Settings(home=home, spark_dir=home / "spark", target="spark", spark_master="local[2]")
    install_model(on_spark, model)
    spark = spark_session(on_spark)
    spark.sql("create database if not exists intermediate")
    spark.createDataFrame(records).write.mode("overwrite").format("parquet").saveAsTable(
        "intermediate.int_contact_records_unioned"
    )
    result = resolve_on_spark(on_spark, AS_OF, RUN_ID, spark)
    print(f"\nspark identity: {result.as_dict()}")
    yield {"duckdb": on_duckdb.warehouse_path, "spark": spark, "result": result}
    spark.stop()


def _duckdb_rows(path: Path, table: str, order: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        columns = [c[0] for c in con.execute(f"describe {table}").fetchall()]
        return columns, con.execute(f"select {', '.join(columns)} from {table} order by {order}").fetchall()


def _row_order(row: tuple) -> tuple:
    return tuple((value is None, str(value)) for value in row)


def _same(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return abs(left - right) <= SCORE_TOLERANCE
    return left == right


@pytest.mark.parametrize("table", sorted(COMPARED))
def test_given_the_same_records_and_model_when_resolved_on_spark_then_the_table_equals_duckdbs(
    resolved: dict[str, object], table: str
) -> None:
    columns, expected = _duckdb_rows(resolved["duckdb"], table, COMPARED[table])
    spark = resolved["spark"]
    frame = spark.table(table)
    assert frame.columns == columns
    actual = sorted((tuple(row) for row in frame.collect()), key=_row_order)
    expected = sorted(expected, key=_row_order)
    if table != HOUSEHOLD_KEYS_TABLE:  # no household value among this few persons: both sides empty
        assert expected, f"{table} is empty on DuckDB: the comparison would prove nothing"
    assert len(actual) == len(expected)
    differing = [
        (want, got)
        for want, got in zip(expected, actual, strict=True)
        if not all(_same(a, b) for a, b in zip(want, got, strict=True))
    ]
    assert not differing, f"{len(differing)} of {len(expected)} rows differ, e.g. {differing[:3]}"


def test_given_generated_records_when_resolved_on_spark_then_records_are_linked_by_every_kind_of_rule(
    resolved: dict[str, object],
) -> None:
    spark = resolved["spark"]
    rules = {row[0] for row in spark.table(XREF_TABLE).select("match_rule").distinct().collect()}
    assert {"email", "probabilistic", "singleton"} <= rules
    assert resolved["result"].customers < resolved["result"].records
