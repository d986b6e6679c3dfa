"""Table comparisons of the Spark tests: the same rows on DuckDB and on Spark, floats within a tolerance."""

from __future__ import annotations

from typing import Any

import duckdb

from customer360.identity.households import HOUSEHOLD_KEYS_TABLE
from customer360.identity.stable_ids import REGISTRY_TABLE, XREF_TABLE
from tests.support.value_equality import same_value

# Floats are equal within this, relative or absolute: Spark adds a column's doubles in another order than
# DuckDB, which moves the last bits of a sum or an average (and of the scores computed from them).
FLOAT_TOLERANCE = 1e-9

# The identity tables the core build reads that both targets write, with the key that orders their rows.
IDENTITY_TABLES = {
    XREF_TABLE: "source_channel, source_record_id",
    "identity.contact_points": "source_channel, source_record_id",
    HOUSEHOLD_KEYS_TABLE: "source_channel, source_record_id, identifier_type, identifier",
    "identity.match_edges": (
        "left_channel, left_record_id, right_channel, right_record_id, match_rule, match_key"
    ),
    REGISTRY_TABLE: "customer_id",
}


def duckdb_tables(
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


def columns_of(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"describe select * from {relation}").fetchall()]


def sort_key(row: tuple) -> tuple:
    """Nulls first; floats rounded well inside the tolerance, so rows whose floats differ in their last bits
    sort alike."""
    return tuple((0, "") if v is None else (1, round(v, 6) if isinstance(v, float) else v) for v in row)


def sorted_rows(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> list[tuple]:
    listed = ", ".join(f'"{c}"' for c in columns)
    return sorted(con.execute(f"select {listed} from {relation}").fetchall(), key=sort_key)


def same(left: Any, right: Any) -> bool:
    return same_value(left, right, FLOAT_TOLERANCE)


def row_differences(table: str, columns: list[str], expected: list[tuple], actual: list[tuple]) -> list[str]:
    """What differs between two sorted row lists (empty when equal): the row count, or the first row."""
    if len(expected) != len(actual):
        return [f"{table}: {len(actual)} rows on Spark, {len(expected)} on DuckDB"]
    for row_expected, row_actual in zip(expected, actual, strict=True):
        unequal = [
            f"{c}: {a!r} != {e!r}"
            for c, e, a in zip(columns, row_expected, row_actual, strict=True)
            if not same(e, a)
        ]
        if unequal:
            return [f"{table}: first differing row: {'; '.join(unequal)}"]
    return []


def differences(
    con: duckdb.DuckDBPyConnection,
    table: str,
    expected_relation: str,
    actual_relation: str,
    columns: list[str],
) -> tuple[list[str], int]:
    """What differs between the DuckDB relation and the Spark one (empty when equal), and the row count."""
    actual_columns = columns_of(con, actual_relation)
    if actual_columns != columns:
        return [f"{table}: columns {actual_columns} on Spark, {columns} on DuckDB"], 0
    expected = sorted_rows(con, expected_relation, columns)
    actual = sorted_rows(con, actual_relation, columns)
    return row_differences(table, columns, expected, actual), len(expected)
