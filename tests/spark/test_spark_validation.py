"""Great Expectations on Spark fails a check where it fails on DuckDB, and passes where it passes.

GIVEN one small table with a null key, a duplicate key and a row past the as-of date, in a DuckDB warehouse
and in Spark, and one suite of the kinds the project's suites use (a column check, a uniqueness check, a query
check with double-quoted identifiers and a date literal written for DuckDB, checks that pass), and the same
suite over selected rows, WHEN the runner validates them on each target (GX's Spark datasource on Spark,
``quality.gx_spark``), THEN every expectation has the same status and unexpected count on both, and the
failing ones are reported failed on Spark.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb
import pytest

from customer360.quality.runner import _run_suites, open_context
from customer360.quality.specs import SuiteSpec, critical, warning
from customer360.settings import Settings

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ROWS = [
    (1, "a@example.com", date(2026, 11, 1)),
    (2, None, date(2026, 11, 2)),
    (2, "b@example.com", date(2026, 11, 3)),
    (None, "c@example.com", date(2026, 11, 30)),
]
AS_OF = date(2026, 11, 20)


def _suite(rows: str | None = None) -> SuiteSpec:
    import great_expectations.expectations as gxe

    return SuiteSpec(
        name="staging__stg_check" if rows is None else "staging__stg_check_selected",
        schema="staging",
        table="stg_check",
        rows=rows,
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="customer_key", **critical("key")),
            gxe.ExpectColumnValuesToBeUnique(column="customer_key", **critical("key")),
            gxe.ExpectColumnValuesToNotBeNull(column="loaded_on", **critical("date")),
            gxe.ExpectColumnValuesToMatchRegex(
                column="email", regex=r"^[^@\s]+@[^@\s]+$", **warning("email")
            ),
            gxe.ExpectTableRowCountToBeBetween(min_value=1, max_value=10, **warning("volume")),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    'select "customer_key", loaded_on from {batch} '
                    f"where loaded_on > date '{AS_OF.isoformat()}'"
                ),
                description="no row after the as-of date",
                **critical("freshness"),
            ),
        ],
    )


@pytest.fixture(scope="module")
def outcomes(spark_available: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list]]:
    from customer360.spark.session import spark_session

    on_duckdb = Settings(home=tmp_path_factory.mktemp("gx_duckdb"))
    on_duckdb.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(on_duckdb.warehouse_path)) as con:
        con.execute("create schema staging")
        con.execute("create table staging.stg_check (customer_key integer, email varchar, loaded_on date)")
        con.executemany("insert into staging.stg_check values (?, ?, ?)", ROWS)

    home = tmp_path_factory.mktemp("gx_spark")
    on_spark = Settings(home=home, spark_dir=home / "spark", target="spark", spark_master="local[2]")
    spark = spark_session(on_spark)
    spark.sql("create database if not exists staging")
    spark.createDataFrame(ROWS, "customer_key int, email string, loaded_on date").write.mode(
        "overwrite"
    ).format("parquet").saveAsTable("staging.stg_check")

    found = {}
    for name, settings in (("duckdb", on_duckdb), ("spark", on_spark)):
        root = settings.home / "gx"
        specs = [_suite(), _suite("loaded_on <= date '2026-11-02'")]
        found[name] = _run_suites(open_context(root), settings, "staging", specs, "gx-parity", root / "docs")
    yield found
    spark.stop()


def _by_check(outcomes: list) -> dict[tuple, tuple]:
    return {
        (o.suite, o.expectation, o.column, o.description): (o.status, o.unexpected_count) for o in outcomes
    }


def test_given_the_same_rows_when_validated_on_spark_then_every_check_ends_as_on_duckdb(
    outcomes: dict[str, list],
) -> None:
    duckdb_checks, spark_checks = _by_check(outcomes["duckdb"]), _by_check(outcomes["spark"])
    assert len(duckdb_checks) == 12
    assert spark_checks == duckdb_checks


def test_given_a_null_key_and_a_late_row_when_validated_on_spark_then_those_checks_fail(
    outcomes: dict[str, list],
) -> None:
    statuses = {
        (o.expectation, o.column, o.description): o.status
        for o in outcomes["spark"]
        if o.suite == "staging__stg_check"
    }
    failed = {key for key, status in statuses.items() if status == "failed"}
    assert {key[0] for key in failed} == {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
        "unexpected_rows_expectation",
    }
    assert {key[1] for key in failed if key[0] == "expect_column_values_to_not_be_null"} == {"customer_key"}
    assert all(o.status != "error" for o in outcomes["spark"])
