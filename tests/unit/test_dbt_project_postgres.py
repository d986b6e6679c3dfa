"""The same dbt project, unchanged, on PostgreSQL: both selectors build and the marts match the DuckDB run.

Needs a server: set CUSTOMER360_TEST_POSTGRES to a libpq connection string of a role that may create
databases (e.g. ``host=127.0.0.1 port=5432 user=postgres dbname=postgres``). The test creates a throwaway
database, builds the fixture raw layer in it, runs `dbt build --target postgres` for both selectors and
drops the database again. Without the variable it uses the server tests/conftest.py finds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import dbt_runner, raw_warehouse

pytestmark = pytest.mark.postgres

AS_OF_DATE = "2026-11-24"


def _conninfo(params: dict[str, str]) -> str:
    return " ".join(f"{key}={value}" for key, value in params.items())


def test_given_postgres_target_when_both_selectors_build_then_marts_hold_the_same_values_as_on_duckdb(
    postgres_database: dict[str, str], tmp_path: Path
) -> None:
    import psycopg2

    conninfo = _conninfo(postgres_database)
    env = {
        "CUSTOMER360_TARGET": "postgres",
        "CUSTOMER360_PG_HOST": postgres_database.get("host", "127.0.0.1"),
        "CUSTOMER360_PG_PORT": postgres_database.get("port", "5432"),
        "CUSTOMER360_PG_USER": postgres_database.get("user", "postgres"),
        "CUSTOMER360_PG_PASSWORD": postgres_database.get("password", ""),
        "CUSTOMER360_PG_DBNAME": postgres_database["dbname"],
    }
    dbt_vars = dbt_runner.dbt_vars(AS_OF_DATE, pseudonym_salt="test-salt")
    raw_warehouse.build_raw_postgres(conninfo)
    staging = dbt_runner.run_dbt(["build", "--selector", "staging", *dbt_vars], tmp_path, env)
    assert staging.success, staging.report()
    raw_warehouse.build_identity_tables_postgres(conninfo)
    marts = dbt_runner.run_dbt(["build", "--selector", "core", *dbt_vars], tmp_path, env)
    assert marts.success, marts.report()
    assert any(uid.startswith("unit_test.") for uid in marts.statuses)

    with psycopg2.connect(conninfo) as con, con.cursor() as cur:
        cur.execute(
            "select order_id, order_status, net_amount from marts.fct_orders "
            "where order_id in ('T-5001', 'W-1001', 'W-1006') order by order_id"
        )
        assert [(r[0], r[1], float(r[2])) for r in cur.fetchall()] == [
            ("T-5001", "partially_returned", 35.0),
            ("W-1001", "partially_returned", 62.5),
            ("W-1006", "returned", 0.0),
        ]
        cur.execute(
            "select d.email_masked, d.phone_masked, d.channels_present, r.rfm_cell, r.rfm_segment "
            "from restricted.dim_customer_pii as p "
            "join marts.dim_customers as d on p.customer_id = d.customer_id "
            "join marts.customer_rfm as r on p.customer_id = r.customer_id "
            "where p.email = 'anna.devries@example.com'"
        )
        assert cur.fetchall() == [
            ("a***@example.com", "+3161****678", "crm,marketing,pos,surveys,web", "555", "Champions")
        ]
        cur.execute("select count(*) from marts.dim_customers")
        assert cur.fetchone() == (5,)
        cur.execute(
            "select to_char(updated_at, 'YYYY-MM-DD HH24:MI') from staging.stg_crm_contacts__contacts "
            "where contact_id = 'c-001' order by updated_at"
        )
        # the 2026-12-01 version was delivered after the as-of date: not staged yet
        assert [r[0] for r in cur.fetchall()] == ["2026-01-10 08:00", "2026-06-01 12:30"]
        before = _checksums(cur, INCREMENTAL_MARTS)
        # AND the table of the retired dbt snapshot that a warehouse from before the history marts still has
        cur.execute("create table snapshots.customer_lifecycle_snapshot as select 1 as customer_id")
        relations = _relations(cur)

    # WHEN the marts layer builds again, incrementally (by hand: without the planner's window every order is
    # recomputed; the golden record's inputs did not change, so no customer is), THEN nothing changes
    again = dbt_runner.run_dbt(["build", "--selector", "core", *dbt_vars], tmp_path, env)
    assert again.success, again.report()
    with psycopg2.connect(conninfo) as con, con.cursor() as cur:
        assert _checksums(cur, INCREMENTAL_MARTS) == before
        # AND the core build's on-run-start hook dropped the retired table, and nothing else
        retired = ("snapshots", "customer_lifecycle_snapshot")
        assert _relations(cur) == [r for r in relations if r[:2] != retired]
        # every order was listed, so recomputed (the list may hold more: orders dated after the as-of date)
        cur.execute(
            "select count(*), count(c.order_id) from marts.fct_orders as o "
            "left join intermediate.int_orders_changed as c "
            "on o.source_channel = c.source_channel and o.order_id = c.order_id"
        )
        (orders, listed) = cur.fetchone()
        assert listed == orders > 0
        cur.execute("select count(*) from intermediate.int_golden_record_inputs_changed")
        assert cur.fetchone() == (0,)


# The core layer's incremental models and marts built from them.
INCREMENTAL_MARTS = (
    "intermediate.int_customers_golden_record",
    "intermediate.int_golden_record_inputs",
    "marts.dim_customers",
    "restricted.dim_customer_pii",
    "intermediate.int_order_lines_unioned",
    "marts.fct_order_lines",
    "marts.fct_orders",
)


def _relations(cur) -> list[tuple]:
    cur.execute(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_schema not in ('pg_catalog', 'information_schema') order by 1, 2"
    )
    return cur.fetchall()


def _checksums(cur, tables: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    result = {}
    for table in tables:
        cur.execute(
            f"select count(*), md5(coalesce(string_agg(r::text, ',' order by r::text), '')) from {table} as r"
        )
        result[table] = cur.fetchone()
    return result
