"""The staging build on Spark makes the same tables as on DuckDB, from the same landing files.

GIVEN 30 days of generated landing data for 150 customers, WHEN ingest and the staging build (seeds, staging
models, identity input) run once on the DuckDB target and once on the Spark target (a local[2] session,
tables as Parquet under its home; separate homes, same landing root and salt), THEN every table the staging
build made on DuckDB exists on Spark with the same columns and the same rows (floats within 1e-9, relative
or absolute). Spark's tables are read from their Parquet files, which is how a consumer outside Spark reads
them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from customer360 import dbt_runner, pipeline
from customer360.landing.contract import CHANNELS
from customer360.settings import Settings

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = date(2026, 11, 20)
RUN_ID = "spark-parity"
FLOAT_TOLERANCE = 1e-9
SALT = "spark-parity-salt"
# The schemas the staging build writes (dbt_project.yml): seeds, staging models, identity input.
STAGING_BUILD_SCHEMAS = ("seeds", "staging", "intermediate")


def _settings(home: Path, landing: Path, target: str) -> Settings:
    # Every path explicit: dbt_runner exports CUSTOMER360_* variables into this process's environment.
    return Settings(
        home=home,
        warehouse_path=home / "warehouse" / "customer360.duckdb",
        published_dir=home / "published",
        runs_dir=home / "runs",
        spark_dir=home / "spark",
        landing_root=landing,
        target=target,
        spark_master="local[2]",
        pseudonym_salt=SALT,
    )


@pytest.fixture(scope="module")
def built(spark_available: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Settings]]:
    """Ingest and the staging build on both targets; yields each target's settings."""
    from customer360_dev.datagen.generate import generate

    landing = tmp_path_factory.mktemp("spark_parity") / "landing"
    generate(landing, customers=150, days=30, seed=7, end_date=AS_OF)
    targets: dict[str, Settings] = {}
    for target in ("duckdb", "spark"):
        settings = _settings(tmp_path_factory.mktemp(f"home_{target}"), landing, target)
        started = time.perf_counter()
        for channel in CHANNELS:
            pipeline.ingest(channel, AS_OF, RUN_ID, settings=settings)
        result = dbt_runner.build(settings, "staging", AS_OF, full_refresh=True)
        print(f"\n{target}: ingest and staging build {time.perf_counter() - started:.1f}s ({result.counts})")
        targets[target] = settings
    yield targets
    from pyspark.sql import SparkSession

    # dbt-spark's session outlives the build; stop it so the rest of this worker's tests get its memory back.
    SparkSession.builder.getOrCreate().stop()


def _duckdb_tables(settings: Settings) -> dict[str, list[str]]:
    """``schema.table`` -> column names, for every table of the staging build's schemas on DuckDB."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select table_schema || '.' || table_name, column_name from information_schema.columns "
            f"where table_schema in {STAGING_BUILD_SCHEMAS} "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def _spark_files(settings: Settings, table: str) -> str:
    schema, name = table.split(".")
    return str(settings.spark_dir / "warehouse" / f"{schema}.db" / name / "*.parquet")


def _sorted_rows(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> list[tuple]:
    listed = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"select {listed} from {relation} order by all").fetchall()


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    return left == right


def test_given_the_same_landing_files_when_staging_builds_on_spark_then_its_tables_equal_duckdbs(
    built: dict[str, Settings],
) -> None:
    duck, spark = built["duckdb"], built["spark"]
    tables = _duckdb_tables(duck)
    # GIVEN every model of the staging build (the seeds, six staging models, the identity input)
    assert {"staging.stg_crm_contacts__contacts", "intermediate.int_contact_records_unioned"} <= set(tables)
    differences: list[str] = []
    row_counts: dict[str, int] = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{duck.warehouse_path}' as duck (read_only)")
        for table, columns in sorted(tables.items()):
            files = _spark_files(spark, table)
            # WHEN the Spark table's Parquet files are read
            spark_columns = [
                r[0] for r in con.execute(f"describe select * from read_parquet('{files}')").fetchall()
            ]
            if spark_columns != columns:
                differences.append(f"{table}: columns {spark_columns} on Spark, {columns} on DuckDB")
                continue
            expected = _sorted_rows(con, f"duck.{table}", columns)
            actual = _sorted_rows(con, f"read_parquet('{files}')", columns)
            row_counts[table] = len(expected)
            # THEN they hold the rows DuckDB's table holds
            if len(expected) != len(actual):
                differences.append(f"{table}: {len(actual)} rows on Spark, {len(expected)} on DuckDB")
                continue
            for row_expected, row_actual in zip(expected, actual, strict=True):
                unequal = [
                    f"{c}: {a!r} != {e!r}"
                    for c, e, a in zip(columns, row_expected, row_actual, strict=True)
                    if not _same(e, a)
                ]
                if unequal:
                    differences.append(f"{table}: first differing row: {'; '.join(unequal)}")
                    break
    assert differences == [], "\n".join(differences)
    # AND the comparison is not an empty one: every staging model and the identity input have rows
    empty = [t for t, n in row_counts.items() if n == 0 and not t.endswith("_changed")]
    assert empty == [], f"tables without rows compare trivially: {empty}"
