"""The publish variants the bench compares (customer360_dev.bench.publish_variants) build the same snapshot
as publish_marts: the same marts in ``main``, the same rows, the same storage version, and nothing else."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from customer360.publish import current_database, publish_marts
from customer360.publish.snapshot import SNAPSHOT_DB, storage_version, table_checksums
from customer360.settings import Settings
from customer360.warehouse import connect
from customer360_dev.bench.publish_variants import MEASURE_ONLY, VARIANTS, run_variant


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    settings = Settings(home=tmp_path_factory.mktemp("variants"))
    with connect(settings) as con:  # the marts in their own file, attached as marts (the DuckDB target)
        con.execute("create schema restricted")
        con.execute(
            "create table marts.fct_orders as select range as id, range * 1.5 as amount from range(150000)"
        )
        con.execute(
            "create table marts.dim_customers as select range as id, 'c' || range as name from range(900)"
        )
        con.execute("create table restricted.pii as select 'a@b.c' as email")
        con.execute("create table marts.retired as select 1 as id")
    first = publish_marts(settings, date(2026, 11, 1), "run-1")
    # The next day: some rows changed, some gone, some new, a mart retired and one added
    with connect(settings) as con:
        con.execute("update marts.fct_orders set amount = -1 where id % 1000 = 7")
        con.execute("delete from marts.fct_orders where id % 5000 = 3")
        con.execute("insert into marts.fct_orders select range, 0.5 from range(150000, 150100)")
        con.execute("drop table marts.retired")
        con.execute("create table marts.kpi_daily as select 1 as day")
    publish_marts(settings, date(2026, 11, 2), "run-2")
    return settings, Path(first["snapshot"])


@pytest.mark.parametrize("name", sorted(set(VARIANTS) - MEASURE_ONLY))
def test_given_a_warehouse_when_a_variant_builds_the_snapshot_then_it_equals_what_publish_writes(
    published: tuple[Settings, Path], tmp_path: Path, name: str
):
    warehouse, previous = published
    # WHEN the variant builds a snapshot of the warehouse (sync_previous from the day before's snapshot)
    figures = run_variant(name, warehouse.warehouse_path, tmp_path / name, warehouse, previous)
    # THEN its tables, rows and content equal the published snapshot's, restricted tables left out
    database = tmp_path / name / SNAPSHOT_DB
    assert table_checksums(database) == table_checksums(current_database(warehouse))
    assert set(table_checksums(database)) == {"fct_orders", "dim_customers", "kpi_daily"}
    # AND it is in the settings' storage version, with one Parquet file per mart holding its rows
    assert storage_version(database) == storage_version(current_database(warehouse)) == "v1.0.0+"
    parquet = tmp_path / name / "parquet"
    assert sorted(p.name for p in parquet.iterdir()) == [
        "dim_customers.parquet",
        "fct_orders.parquet",
        "kpi_daily.parquet",
    ]
    con = duckdb.connect()
    for mart, (rows, _digest) in table_checksums(database).items():
        assert con.execute(f"select count(*) from read_parquet('{parquet / mart}.parquet')").fetchone() == (
            rows,
        )
    assert figures["cpu_s"] >= 0 and figures["mib"] > 0


def test_given_a_warehouse_when_only_the_parquet_half_is_measured_then_it_writes_every_marts_rows(
    published: tuple[Settings, Path], tmp_path: Path
):
    warehouse, _previous = published
    # WHEN the measure-only variant runs THEN it writes each mart's Parquet file, the published rows in it
    run_variant("parquet_only", warehouse.warehouse_path, tmp_path / "p", warehouse)
    con = duckdb.connect()
    for mart, (rows, _digest) in table_checksums(current_database(warehouse)).items():
        path = tmp_path / "p" / "parquet" / f"{mart}.parquet"
        assert con.execute(f"select count(*) from read_parquet('{path}')").fetchone() == (rows,)
