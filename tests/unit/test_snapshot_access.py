"""The published snapshot as BI tools and analysts open it: a storage version DuckDB 1.x reads, connections
that cannot write files, and table/column listing through SQLAlchemy as Superset does it."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from customer360.analyst import connect_snapshot, sqlalchemy_url
from customer360.analyst.commands import register
from customer360.publish.snapshot import storage_version
from customer360.settings import DEFAULT_SNAPSHOT_STORAGE_VERSION, Settings
from tests.support import published_snapshot as fixture

# DuckDB releases analysts have installed, put beside the project by scripts/older-duckdb.sh (make test and
# make test-fast run it).
OLDER_DUCKDB = ("1.5.6", "1.0.0")
UNDER_CI = os.environ.get("CI", "").lower() == "true"


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


def _open_with_older_duckdb(version: str, database: Path) -> dict:
    """Open ``database`` read-only with DuckDB ``version`` (installed under var/cache by make test's setup) in
    a process of its own, and return its version and each table's row count, or the error it raised."""
    installed = Settings().project_dir / "var" / "cache" / f"duckdb-{version}"
    if not (installed / "duckdb").is_dir():
        message = (
            f"DuckDB {version} is not installed under {installed}: run scripts/older-duckdb.sh (make test)"
        )
        if UNDER_CI:
            pytest.fail(message)
        pytest.skip(message)
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(installed)!r})\n"
        "import duckdb\n"
        "out = {'version': duckdb.__version__}\n"
        "try:\n"
        f"    con = duckdb.connect({str(database)!r}, read_only=True)\n"
        "    query = 'select table_name from information_schema.tables'\n"
        "    tables = [r[0] for r in con.execute(query).fetchall()]\n"
        "    out['rows'] = {t: con.execute(f'select count(*) from \"{t}\"').fetchone()[0] for t in tables}\n"
        "except Exception as exc:\n"
        "    out['error'] = f'{type(exc).__name__}: {exc}'\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("version", OLDER_DUCKDB)
def test_given_the_default_setting_when_an_older_duckdb_opens_the_snapshot_then_it_reads_every_mart(
    published, version
):
    # GIVEN the snapshot published with the default storage version WHEN DuckDB 1.5 or 1.0 opens it
    opened = _open_with_older_duckdb(version, _database(published))
    # THEN it is that release, and it reads every mart with the rows DuckDB 2 reads
    assert opened["version"] == version
    assert "error" not in opened, opened.get("error")
    con = duckdb.connect(str(_database(published)), read_only=True)
    try:
        expected = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in fixture.MARTS}
    finally:
        con.close()
    assert {t: opened["rows"][t] for t in fixture.MARTS} == expected


def test_given_latest_storage_when_duckdb_1_5_opens_the_snapshot_then_it_cannot(tmp_path):
    # GIVEN a snapshot written in DuckDB 2.0's format (what publish wrote before the setting existed)
    settings = Settings(home=tmp_path, snapshot_storage_version="latest")
    fixture.publish_fixture_snapshot(settings)
    # WHEN DuckDB 1.5 opens it THEN it fails: the older-release check above can tell the formats apart
    opened = _open_with_older_duckdb("1.5.6", _database(settings))
    assert opened["version"] == "1.5.6" and "error" in opened


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
