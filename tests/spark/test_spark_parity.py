"""The pipeline on Spark makes the same tables as on DuckDB, from the same landing files.

GIVEN 21 days of generated landing data for 100 customers, WHEN the pipeline runs for one date once on the
DuckDB target and once on the Spark target (a local[2] session, tables as Parquet under its home; separate
homes, same landing root and salt; ``parity_runs`` in conftest.py, once per test session), THEN

- every table the staging build made on DuckDB (seeds, staging models, identity input) exists on Spark with
  the same columns and the same rows, read from Spark's Parquet files, as a consumer outside Spark reads
  them;
- every mart published from Spark (the DuckDB snapshot publish makes from Spark's Parquet marts) equals the
  one published on DuckDB: same marts, same columns, same rows.

Floats are equal within ``FLOAT_TOLERANCE`` (relative or absolute): Spark adds a column's doubles in another
order than DuckDB, which moves the last bits of a sum or an average. Every other value is equal.

Identity and the models stage do not run on Spark yet: the Spark run reads their DuckDB outputs (conftest.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import pytest

from customer360.publish.snapshot import current_database
from customer360.settings import Settings
from customer360.spark_publish import spark_table_files

pytestmark = [pytest.mark.spark, pytest.mark.slow]

FLOAT_TOLERANCE = 1e-9
# The schemas the staging build writes (dbt_project.yml): seeds, staging models, identity input.
STAGING_BUILD_SCHEMAS = ("seeds", "staging", "intermediate")
# Its models (models/staging); the core build writes more `intermediate` tables, compared through the marts.
STAGING_MODELS = frozenset(
    p.stem
    for p in (Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging").rglob("*.sql")
)
# Marts that may be empty on this small data (none of the generated customers qualifies yet).
MAY_BE_EMPTY = ("_changed",)


def _duckdb_tables(
    con: duckdb.DuckDBPyConnection, catalog: str, schemas: tuple[str, ...]
) -> dict[str, list[str]]:
    """``schema.table`` -> column names, for every table of ``schemas`` in the attached ``catalog``."""
    rows = con.execute(
        "select table_schema || '.' || table_name, column_name from information_schema.columns "
        f"where table_catalog = ? and table_schema in {schemas} "
        "order by table_schema, table_name, ordinal_position",
        [catalog],
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"describe select * from {relation}").fetchall()]


def _sort_key(row: tuple) -> tuple:
    # floats rounded well inside the tolerance, so rows whose floats differ in their last bits sort alike
    return tuple((0, "") if v is None else (1, round(v, 6) if isinstance(v, float) else v) for v in row)


def _rows(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> list[tuple]:
    listed = ", ".join(f'"{c}"' for c in columns)
    return sorted(con.execute(f"select {listed} from {relation}").fetchall(), key=_sort_key)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    return left == right


def _differences(
    con: duckdb.DuckDBPyConnection,
    table: str,
    expected_relation: str,
    actual_relation: str,
    columns: list[str],
) -> tuple[list[str], int]:
    """What differs between the DuckDB relation and the Spark one (empty when equal), and the row count."""
    actual_columns = _columns(con, actual_relation)
    if actual_columns != columns:
        return [f"{table}: columns {actual_columns} on Spark, {columns} on DuckDB"], 0
    expected = _rows(con, expected_relation, columns)
    actual = _rows(con, actual_relation, columns)
    if len(expected) != len(actual):
        return [f"{table}: {len(actual)} rows on Spark, {len(expected)} on DuckDB"], len(expected)
    for row_expected, row_actual in zip(expected, actual, strict=True):
        unequal = [
            f"{c}: {a!r} != {e!r}"
            for c, e, a in zip(columns, row_expected, row_actual, strict=True)
            if not _same(e, a)
        ]
        if unequal:
            return [f"{table}: first differing row: {'; '.join(unequal)}"], len(expected)
    return [], len(expected)


def test_given_the_same_landing_files_when_staging_builds_on_spark_then_its_tables_equal_duckdbs(
    parity_runs: dict[str, Settings],
) -> None:
    duck, spark = parity_runs["duckdb"], parity_runs["spark"]
    differences: list[str] = []
    row_counts: dict[str, int] = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{duck.warehouse_path}' as duck (read_only)")
        tables = {
            table: columns
            for table, columns in _duckdb_tables(con, "duck", STAGING_BUILD_SCHEMAS).items()
            if not table.startswith("intermediate.") or table.split(".")[1] in STAGING_MODELS
        }
        # GIVEN every model of the staging build (the seeds, six staging models, the identity input)
        assert {"staging.stg_crm_contacts__contacts", "intermediate.int_contact_records_unioned"} <= set(
            tables
        )
        for table, columns in sorted(tables.items()):
            schema, name = table.split(".")
            # WHEN the Spark table's Parquet files are read, THEN they hold the rows DuckDB's table holds
            found, rows = _differences(
                con,
                table,
                f"duck.{table}",
                f"read_parquet('{spark_table_files(spark, schema, name)}')",
                columns,
            )
            differences += found
            row_counts[table] = rows
    assert differences == [], "\n".join(differences)
    # AND the comparison is not an empty one: every staging model and the identity input have rows
    empty = [t for t, n in row_counts.items() if n == 0 and not t.endswith(MAY_BE_EMPTY)]
    assert empty == [], f"tables without rows compare trivially: {empty}"


def test_given_the_same_landing_files_when_the_pipeline_publishes_on_spark_then_every_mart_equals_duckdbs(
    parity_runs: dict[str, Settings],
) -> None:
    duck, spark = parity_runs["duckdb"], parity_runs["spark"]
    differences: list[str] = []
    row_counts: dict[str, int] = {}
    with duckdb.connect() as con:
        # GIVEN the snapshot published on DuckDB and the one published from Spark's Parquet marts
        con.execute(f"attach '{current_database(duck)}' as duck (read_only)")
        con.execute(f"attach '{current_database(spark)}' as spark (read_only)")
        expected = _duckdb_tables(con, "duck", ("main",))
        actual = _duckdb_tables(con, "spark", ("main",))
        # THEN both hold the same marts
        assert sorted(actual) == sorted(expected)
        assert len(expected) > 30, f"only {len(expected)} marts published: {sorted(expected)}"
        for table, columns in sorted(expected.items()):
            # AND each mart has the same columns and rows
            found, rows = _differences(con, table, f"duck.{table}", f"spark.{table}", columns)
            differences += found
            row_counts[table] = rows
    assert differences == [], "\n".join(differences)
    # AND the comparison is not an empty one: the marts that describe customers have rows
    for mart in ("main.dim_customers", "main.fct_orders", "main.customer_rfm", "main.customer_clv"):
        assert row_counts.get(mart, 0) > 0, f"{mart} has no rows: {row_counts.get(mart)}"
