"""The Spark target's settings, dbt profile and raw hand-over, without starting Spark (see tests/spark)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from customer360 import warehouse
from customer360.publish.snapshot import current_database, publish_marts, storage_version
from customer360.settings import Settings
from customer360.spark_handover import (
    before_build,
    export_raw_table,
    exported_tables,
    hand_over_duckdb_stage_outputs,
    raw_dir,
    stage_output_dir,
)
from customer360.spark_publish import parquet_views, spark_table_files
from tests.support import dbt_runner


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        home=tmp_path, warehouse_path=tmp_path / "w.duckdb", spark_dir=tmp_path / "spark", **overrides
    )


def test_given_the_spark_target_when_settings_are_read_then_dbt_builds_the_profile_output_of_the_method(
    tmp_path: Path,
) -> None:
    session = _settings(tmp_path, target="spark")
    thrift = _settings(tmp_path, target="spark", spark_method="thrift")
    assert (session.dbt_target, thrift.dbt_target) == ("spark", "spark_thrift")
    assert session.spark_master == "local[2]"
    env = session.dbt_env()
    assert env["CUSTOMER360_TARGET"] == "spark"
    assert env["CUSTOMER360_SPARK_DIR"] == str(tmp_path / "spark")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [({"target": "snowflake"}, "CUSTOMER360_TARGET"), ({"spark_method": "jdbc"}, "CUSTOMER360_SPARK_METHOD")],
)
def test_given_an_unknown_target_or_spark_method_when_settings_are_made_then_the_error_names_the_variable(
    tmp_path: Path, overrides: dict[str, str], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        _settings(tmp_path, **overrides)


def test_given_a_raw_table_when_handed_to_spark_twice_then_the_parquet_folder_holds_the_latest_rows(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, target="spark")
    with duckdb.connect() as con:
        con.execute("create schema raw")
        con.execute("create table raw.web_orders as select 'o1' as order_id, date '2026-11-20' as _load_date")
        assert export_raw_table(settings, con, "web_orders") == {"spark_raw_rows": 1}
        con.execute("insert into raw.web_orders values ('o2', date '2026-11-21')")
        assert export_raw_table(settings, con, "web_orders") == {"spark_raw_rows": 2}
        files = raw_dir(settings) / "web_orders" / "*.parquet"
        rows = con.execute(f"select order_id, _load_date from read_parquet('{files}') order by 1").fetchall()
    assert [r[0] for r in rows] == ["o1", "o2"]
    assert str(rows[0][1]) == "2026-11-20"
    # no half-written or retired copy is left beside it, and only the table counts as exported
    assert sorted(p.name for p in raw_dir(settings).iterdir()) == ["web_orders"]
    assert exported_tables(settings) == ["web_orders"]


def test_given_the_spark_target_when_a_python_stage_asks_for_a_connection_then_it_says_it_does_not_run_yet(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, target="spark")
    with pytest.raises(NotImplementedError, match="docs/spark.md"):
        with warehouse.stage_connection(settings, pull=("intermediate.int_contact_records_unioned",)):
            pass


def test_given_spark_target_env_vars_when_dbt_parses_then_the_project_parses_without_starting_spark(
    tmp_path: Path,
) -> None:
    env = {"CUSTOMER360_TARGET": "spark", "CUSTOMER360_SPARK_DIR": str(tmp_path / "spark")}
    call = dbt_runner.run_dbt(
        ["parse", *dbt_runner.dbt_vars("2026-11-20", pseudonym_salt="s")], tmp_path, env
    )
    assert call.success, call.report()
    manifest = (tmp_path / "target" / "manifest.json").read_text(encoding="utf-8")
    assert '"adapter_type": "spark"' in manifest
    # the SCD2 snapshot needs MERGE, which Parquet tables on Spark lack: it is not part of the Spark build
    assert "snapshot.customer360.snap_crm_contacts" in json.loads(manifest)["disabled"]


def _identity_warehouse(path: Path, tables: dict[str, str]) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema identity")
        con.execute("create schema analytics")
        con.execute(
            "create table analytics.churn_predictions as select 'c1' as customer_id, 0.25 as churn_risk"
        )
        for name, select in tables.items():
            con.execute(f"create table identity.{name} as {select}")
    return path


def test_given_identity_ran_on_duckdb_when_its_outputs_are_handed_to_spark_then_each_table_is_parquet(
    tmp_path: Path,
) -> None:
    # GIVEN a DuckDB warehouse where identity wrote two tables (and the models stage one of its own)
    settings = _settings(tmp_path, target="spark")
    xref = "select 'crm' as source_channel, 'r1' as source_record_id, 'C1' as customer_id"
    first = _identity_warehouse(
        tmp_path / "first.duckdb", {"customer_source_xref": xref, "record_changes": "select 'crm' as c"}
    )
    # WHEN identity's outputs are handed to Spark
    assert hand_over_duckdb_stage_outputs(settings, first, "identity") == {
        "customer_source_xref": 1,
        "record_changes": 1,
    }
    # THEN each is a folder of Parquet files under the hand-over folder of identity, nothing else is
    root = stage_output_dir(settings, "identity")
    with duckdb.connect() as con:
        rows = con.execute(f"select * from read_parquet('{root / 'customer_source_xref' / '*.parquet'}')")
        assert rows.fetchall() == [("crm", "r1", "C1")]
    assert sorted(p.name for p in root.iterdir()) == ["customer_source_xref", "record_changes"]
    # AND a later hand-over without a table removes its folder (Spark does not read a stale output)
    second = _identity_warehouse(tmp_path / "second.duckdb", {"customer_source_xref": xref})
    hand_over_duckdb_stage_outputs(settings, second, "identity")
    assert sorted(p.name for p in root.iterdir()) == ["customer_source_xref"]
    # AND the models stage's outputs go beside them; a schema no build reads is refused
    assert hand_over_duckdb_stage_outputs(settings, second, "analytics") == {"churn_predictions": 1}
    with pytest.raises(ValueError, match="not the output of a stage"):
        hand_over_duckdb_stage_outputs(settings, second, "marts")


def test_given_nothing_handed_over_when_a_spark_build_starts_then_it_declares_nothing(tmp_path: Path) -> None:
    # identity ran on Spark itself (its tables are Spark's): the core build finds no hand-over to declare
    settings = _settings(tmp_path, target="spark")
    assert before_build(settings, "core") == []
    assert before_build(settings, "analytics") == []


def _spark_mart(settings: Settings, table: str, select: str) -> None:
    """A Parquet table laid out as Spark writes one (``<warehouse>/<schema>.db/<table>/part-*.parquet``)."""
    files = Path(spark_table_files(settings, "marts", table))
    files.parent.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute(f"copy ({select}) to '{files.parent / 'part-00000-x.snappy.parquet'}' (format parquet)")
    (files.parent / "_SUCCESS").touch()


def test_given_marts_built_on_spark_when_published_then_the_snapshot_holds_them_as_the_duckdb_publish_does(
    tmp_path: Path,
) -> None:
    # GIVEN two marts Spark wrote as Parquet tables (one empty) and a stray folder with no Parquet file
    settings = _settings(tmp_path / "spark_home", target="spark")
    _spark_mart(settings, "customer_360", "select 'C1' as customer_id, 12.5::decimal(18,2) as net_revenue")
    _spark_mart(settings, "kpi_daily", "select date '2026-11-20' as as_of_date where false")
    (settings.spark_dir / "warehouse" / "marts.db" / "_temporary").mkdir()
    # WHEN the marts are read through the views publish reads
    with parquet_views(settings, ("marts",)) as path:
        with duckdb.connect(str(path), read_only=True) as con:
            assert con.execute("select * from marts.customer_360").fetchall() == [("C1", Decimal("12.50"))]
        scratch = path.parent
    assert not scratch.exists()  # the scratch file goes with the publish
    # AND published
    result = publish_marts(settings, date(2026, 11, 20), "run-1")
    # THEN the current snapshot holds every mart with its rows, in the storage version of a DuckDB publish
    assert result["tables"] == {"customer_360": 1, "kpi_daily": 0}
    duck = _settings(tmp_path / "duck_home")
    duck.home.mkdir()
    with duckdb.connect(str(duck.warehouse_path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.customer_360 as select 'C1' as customer_id")
    publish_marts(duck, date(2026, 11, 20), "run-1")
    assert storage_version(current_database(settings)) == storage_version(current_database(duck))


def test_given_no_spark_marts_when_published_then_the_error_says_to_build_them_first(tmp_path: Path) -> None:
    settings = _settings(tmp_path, target="spark")
    with pytest.raises(FileNotFoundError, match="build the core and analytics layers"):
        publish_marts(settings, date(2026, 11, 20), "run-1")
    assert not (settings.published_dir / "current").exists()
