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
from customer360_dev.bench.publish_variants import VARIANTS, run_variant


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("variants"))
    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema marts")
        con.execute("create schema restricted")
        con.execute(
            "create table marts.fct_orders as select range as id, range * 1.5 as amount from range(150000)"
        )
        con.execute(
            "create table marts.dim_customers as select range as id, 'c' || range as name from range(900)"
        )
        con.execute("create table restricted.pii as select 'a@b.c' as email")
    publish_marts(settings, date(2026, 11, 1), "run-1")
    return settings


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_given_a_warehouse_when_a_variant_builds_the_snapshot_then_it_equals_what_publish_writes(
    warehouse: Settings, tmp_path: Path, name: str
):
    # WHEN the variant builds a snapshot of the same warehouse
    figures = run_variant(name, warehouse.warehouse_path, tmp_path / name, warehouse)
    # THEN its tables, rows and content equal the published snapshot's, restricted tables left out
    database = tmp_path / name / SNAPSHOT_DB
    assert table_checksums(database) == table_checksums(current_database(warehouse))
    assert set(table_checksums(database)) == {"fct_orders", "dim_customers"}
    # AND it is in the settings' storage version, with one Parquet file per mart
    assert storage_version(database) == storage_version(current_database(warehouse)) == "v1.0.0+"
    assert sorted(p.name for p in (tmp_path / name / "parquet").iterdir()) == [
        "dim_customers.parquet",
        "fct_orders.parquet",
    ]
    assert figures["cpu_s"] >= 0 and figures["mib"] > 0
