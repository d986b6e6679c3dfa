"""The published snapshot as BI tools and analysts open it: a storage version DuckDB 1.x reads, connections
that cannot write files, and table/column listing through SQLAlchemy as Superset does it."""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from customer360.analyst import connect_snapshot, sqlalchemy_url
from customer360.analyst.commands import register
from customer360.publish.snapshot import storage_version
from customer360.settings import DEFAULT_SNAPSHOT_STORAGE_VERSION, Settings
from tests.support import published_snapshot as fixture


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("snapshot-access"))
    fixture.publish_fixture_snapshot(settings)
    return settings


def _database(settings: Settings) -> Path:
    return settings.published_dir / "current" / "marts.duckdb"


# --- storage version ------------------------------------------------------------------------------------


def test_given_the_default_setting_when_published_then_duckdb_reports_a_v1_storage_version(published):
    # GIVEN no CUSTOMER360_SNAPSHOT_STORAGE_VERSION WHEN the marts are published
    assert published.snapshot_storage_version == DEFAULT_SNAPSHOT_STORAGE_VERSION == "v1.0.0"
    # THEN DuckDB, opening the file, reports it readable by 1.0.0 and later (storage format 64, which every
    # DuckDB from 0.10 through 1.5 reads), not DuckDB 2.0's format
    assert storage_version(_database(published)) == "v1.0.0+"
    # AND every mart is there with its rows
    con = duckdb.connect(str(_database(published)), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        assert set(fixture.MARTS) <= tables
    finally:
        con.close()


def test_given_latest_storage_when_published_then_duckdb_reports_the_2_0_format(tmp_path):
    # GIVEN the setting asks for DuckDB's newest format WHEN published THEN the file says so (the setting is
    # what decides the version, not a constant in the publisher)
    settings = Settings(home=tmp_path, snapshot_storage_version="latest")
    fixture.publish_fixture_snapshot(settings)
    assert storage_version(_database(settings)) == "v2.0.0+"


def test_given_a_storage_version_that_is_not_a_version_then_settings_refuse_it_by_name(monkeypatch):
    monkeypatch.setenv("CUSTOMER360_SNAPSHOT_STORAGE_VERSION", "1.0")
    message = "CUSTOMER360_SNAPSHOT_STORAGE_VERSION='1.0' is not a DuckDB version"
    with pytest.raises(ValueError, match=message):
        Settings()


# --- no file access -------------------------------------------------------------------------------------


def test_given_connect_snapshot_when_copy_to_a_file_then_it_fails_and_writes_nothing(published, tmp_path):
    target = tmp_path / "leak.csv"
    con = connect_snapshot(published)
    try:
        assert con.execute("select count(*) from dim_customers").fetchone()[0] == fixture.CUSTOMERS
        with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
            con.execute(f"copy dim_customers to '{target}' (header)")
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"attach '{tmp_path / 'other.duckdb'}' as other")
        # AND it cannot be switched back on from the connection
        with pytest.raises(duckdb.Error, match="Cannot enable external access"):
            con.execute("set enable_external_access = true")
    finally:
        con.close()
    assert not target.exists() and not (tmp_path / "other.duckdb").exists()


def test_given_customer360_sql_when_copy_to_a_file_then_it_fails_with_a_hint(
    published, tmp_path, monkeypatch, capsys
):
    from customer360.settings import get_settings

    target = tmp_path / "leak.parquet"
    monkeypatch.setenv("CUSTOMER360_HOME", str(published.home))
    get_settings.cache_clear()
    try:
        parser = argparse.ArgumentParser()
        register(parser.add_subparsers())
        args = parser.parse_args(["sql", f"copy customer_clv to '{target}' (format parquet)"])
        code = args.func(args)
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert code == 1
    assert "disabled by configuration" in err and "--format csv or json" in err
    assert not target.exists()


def test_given_the_sqlalchemy_url_when_copy_to_a_file_then_it_fails(published, tmp_path):
    url = sqlalchemy_url(published)
    assert url.endswith("?access_mode=read_only&enable_external_access=false")
    target = tmp_path / "leak.csv"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            count = conn.execute(sa.text("select count(*) from customer_clv")).scalar_one()
            assert count == fixture.CUSTOMERS
            with pytest.raises(sa.exc.DBAPIError, match="disabled by configuration"):
                conn.execute(sa.text(f"copy customer_clv to '{target}'"))
    finally:
        engine.dispose()
    assert not target.exists()


def test_given_the_documented_connect_args_when_copy_to_a_file_then_it_fails(published, tmp_path):
    target = tmp_path / "leak.csv"
    engine = sa.create_engine(
        f"duckdb:///{_database(published).absolute()}",
        connect_args={"read_only": True, "config": {"enable_external_access": False}},
        poolclass=sa.pool.NullPool,
    )
    try:
        with engine.connect() as conn:
            with pytest.raises(sa.exc.DBAPIError, match="disabled by configuration"):
                conn.execute(sa.text(f"copy customer_clv to '{target}'"))
    finally:
        engine.dispose()
    assert not target.exists()


# --- Superset's inspector -------------------------------------------------------------------------------


def test_given_the_sqlalchemy_url_when_inspected_as_superset_does_then_tables_are_listed(published):
    engine = sa.create_engine(sqlalchemy_url(published), poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        assert set(fixture.MARTS) <= set(inspector.get_table_names())
    finally:
        engine.dispose()


def test_given_the_sqlalchemy_url_when_inspected_as_superset_does_then_columns_are_listed(published):
    engine = sa.create_engine(sqlalchemy_url(published), poolclass=sa.pool.NullPool)
    try:
        columns = sa.inspect(engine).get_columns("customer_clv")
    finally:
        engine.dispose()
    names = [c["name"] for c in columns]
    assert "customer_id" in names
    con = connect_snapshot(published)
    try:
        expected = [r[0] for r in con.execute("describe customer_clv").fetchall()]
    finally:
        con.close()
    assert names == expected
