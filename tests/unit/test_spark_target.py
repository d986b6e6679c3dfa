"""The Spark target's settings, dbt profile and raw hand-over, without starting Spark (see tests/spark)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from customer360 import warehouse
from customer360.settings import Settings
from customer360.spark_handover import export_raw_table, exported_tables, raw_dir
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
