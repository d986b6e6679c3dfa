"""Every DuckDB connection the pipeline opens uses the settings' threads and memory limit, and an allocator
that gives freed memory back to the system (customer360.warehouse.ALLOCATOR_CONFIG): the warehouse
connection, a stage's scratch database, Great Expectations' datasource and dbt's profile.

How much memory that saves is measured by ``make bench`` (peak memory per stage), not here.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from customer360.settings import Settings
from customer360.warehouse import ALLOCATOR_CONFIG, connect, duckdb_config
from customer360.warehouse_sync import scratch_duckdb

PROFILES = Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml"
SETTINGS_QUERY = (
    "select current_setting('allocator_background_threads'), current_setting('threads'), "
    "current_setting('memory_limit')"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", duckdb_threads=1, duckdb_memory_limit="1GB")


def assert_pipeline_settings(row: tuple) -> None:
    background_threads, threads, memory_limit = row
    assert background_threads is True
    assert int(threads) == 1
    assert memory_limit.replace(" ", "") in {"1GB", "953.6MiB"}  # DuckDB may report 1GB in MiB


def test_duckdb_config_keeps_overrides_and_the_allocator(settings: Settings) -> None:
    config = duckdb_config(settings, preserve_insertion_order=False)
    assert config == {
        "threads": 1,
        "memory_limit": "1GB",
        "allocator_background_threads": True,
        "preserve_insertion_order": False,
    }
    assert duckdb_config(settings, threads=2)["threads"] == 2


def test_warehouse_connection_gives_memory_back(settings: Settings) -> None:
    with connect(settings) as con:
        assert_pipeline_settings(con.execute(SETTINGS_QUERY).fetchone())
    with connect(settings, read_only=True) as con:
        assert_pipeline_settings(con.execute(SETTINGS_QUERY).fetchone())


def test_scratch_database_gives_memory_back(settings: Settings) -> None:
    with scratch_duckdb(settings, "config-test") as (con, path):
        assert path.exists()
        assert_pipeline_settings(con.execute(SETTINGS_QUERY).fetchone())


def test_great_expectations_datasource_gives_memory_back(tmp_path: Path) -> None:
    gx = pytest.importorskip("great_expectations")
    from customer360.quality.gx_duckdb import add_duckdb_datasource

    database = tmp_path / "checked.duckdb"
    duckdb.connect(str(database)).close()
    context = gx.get_context(mode="ephemeral")
    datasource = add_duckdb_datasource(context, "config_test", database, threads=1, memory_limit="1GB")
    with datasource.get_engine().connect() as con:
        row = tuple(con.exec_driver_sql(SETTINGS_QUERY).fetchone())
    assert_pipeline_settings(row)


def test_dbt_profile_sets_the_same_allocator_option() -> None:
    profile = yaml.safe_load(PROFILES.read_text(encoding="utf-8"))
    duckdb_settings = profile["customer360"]["outputs"]["duckdb"]["settings"]
    for name, value in ALLOCATOR_CONFIG.items():
        assert duckdb_settings[name] is value


def _gx_engine_beside_marts(tmp_path: Path, warehouse_sql: str | None):
    """A GX DuckDB datasource's engine on a warehouse (made by ``warehouse_sql``, or empty) whose marts file
    beside it holds ``dim_customers`` with three rows."""
    gx = pytest.importorskip("great_expectations")
    from customer360.quality.gx_duckdb import add_duckdb_datasource
    from customer360.warehouse import MARTS_FILE

    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        if warehouse_sql:
            con.execute(warehouse_sql)
    with duckdb.connect(str(tmp_path / MARTS_FILE)) as marts:
        marts.execute("create table dim_customers as select range as customer_id from range(3)")
    context = gx.get_context(mode="ephemeral")
    datasource = add_duckdb_datasource(context, "marts_test", database, threads=1, memory_limit="1GB")
    return datasource.get_engine()


def test_great_expectations_datasource_reads_the_marts_file(tmp_path: Path) -> None:
    """GIVEN a warehouse with its marts file beside it WHEN a GX DuckDB datasource queries ``marts.<table>``
    THEN it reads the file's table, read-only, by the pipeline's own attach rule."""
    with _gx_engine_beside_marts(tmp_path, None).connect() as con:
        assert con.exec_driver_sql("select count(*) from marts.dim_customers").fetchone()[0] == 3
        with pytest.raises(Exception, match="read-only"):
            con.exec_driver_sql("insert into marts.dim_customers values (9)")


def test_great_expectations_datasource_keeps_an_old_marts_schema(tmp_path: Path) -> None:
    """GIVEN a warehouse made before the marts file (a ``marts`` schema, not moved yet) WHEN GX connects
    THEN nothing is attached over it: ``marts.<table>`` is the schema's table, not ambiguous."""
    old_layout = "create schema marts; create table marts.dim_customers as select 1 as customer_id"
    with _gx_engine_beside_marts(tmp_path, old_layout).connect() as con:
        assert con.exec_driver_sql("select count(*) from marts.dim_customers").fetchone()[0] == 1
        databases = con.exec_driver_sql("select database_name from duckdb_databases()").fetchall()
        assert ("marts",) not in databases
