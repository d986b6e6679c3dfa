"""Atomic publishing: readers never see an error or a mix of two runs; a failed publish keeps the last
good snapshot; old snapshots are pruned."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from customer360.publish import current_database, publish_marts
from customer360.publish.snapshot import storage_version, table_checksums
from customer360.settings import Settings
from customer360.warehouse import connect, marts_path

MARTS = ("dim_customers", "fct_orders", "customer_rfm")


def _write_marts(settings: Settings, version: int, rows: int = 2000) -> None:
    """The marts as dbt builds them on the DuckDB target: in the marts' own file, attached as ``marts``."""
    with connect(settings) as con:
        con.execute("create schema if not exists restricted")
        for name in MARTS:
            con.execute(
                f"create or replace table marts.main.{name} as "
                f"select range as id, {version} as version from range({rows + version})"
            )
        con.execute("create or replace table restricted.pii as select 'a@b.c' as email")


def _write_marts_in_warehouse(settings: Settings, version: int, rows: int = 2000) -> None:
    """The marts as a warehouse made before the marts file holds them: in its schema ``marts``."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists restricted")
        for name in MARTS:
            con.execute(
                f"create or replace table marts.{name} as "
                f"select range as id, {version} as version from range({rows + version})"
            )
        con.execute("create or replace table restricted.pii as select 'a@b.c' as email")
    finally:
        con.close()


def _reader(published: str, seconds: float, out: str) -> None:
    """A BI tool: reconnects and reads every mart again and again; records versions seen and errors."""
    db = Path(published) / "current" / "marts.duckdb"
    seen, errors, mixed = set(), [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            con = duckdb.connect(str(db), read_only=True)
            try:
                versions = {
                    con.execute(f"select max(version), count(*) - max(version) from {name}").fetchone()
                    for name in MARTS
                }
            finally:
                con.close()
            if len(versions) != 1:
                mixed += 1
            seen.update(v for v, _ in versions)
        except Exception as exc:  # noqa: BLE001 - the test records every error a reader meets
            errors.append(f"{type(exc).__name__}: {exc}")
    Path(out).write_text(json.dumps({"seen": sorted(seen), "errors": errors[:5], "mixed": mixed}))


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, keep_snapshots=3)


def test_given_a_reader_querying_continuously_when_runs_publish_then_it_never_errors_nor_sees_a_mix(
    settings, tmp_path
):
    _write_marts(settings, 1)
    publish_marts(settings, date(2026, 11, 1), "run-1")
    out = tmp_path / "reader.json"
    ctx = mp.get_context("spawn")
    reader = ctx.Process(target=_reader, args=(str(settings.published_dir), 8.0, str(out)))
    reader.start()
    time.sleep(1.5)  # the reader is up and reading
    for version in range(2, 6):
        _write_marts(settings, version)
        publish_marts(settings, date(2026, 11, version), f"run-{version}")
        time.sleep(0.5)
    reader.join(timeout=60)
    result = json.loads(out.read_text())
    assert result["errors"] == []
    assert result["mixed"] == 0
    assert len(result["seen"]) >= 2, "the reader should have seen more than one published run"


def test_given_a_publish_that_fails_midway_then_the_last_good_snapshot_stays_current(settings, monkeypatch):
    _write_marts(settings, 1)
    publish_marts(settings, date(2026, 11, 1), "run-1")
    before = table_checksums(current_database(settings))

    _write_marts(settings, 2)
    from customer360.publish import snapshot

    def broken_fsync(root):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(snapshot, "_fsync_tree", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        publish_marts(settings, date(2026, 11, 2), "run-2")
    assert table_checksums(current_database(settings)) == before
    # the half-written snapshot is cleaned by the next good publish
    monkeypatch.undo()
    publish_marts(settings, date(2026, 11, 2), "run-2b")
    assert not list((settings.published_dir / "snapshots").glob(".tmp-*"))


def test_given_more_runs_than_kept_then_old_snapshots_are_pruned_and_parquet_matches(settings):
    for version in range(1, 6):
        _write_marts(settings, version, rows=10)
        result = publish_marts(settings, date(2026, 11, version), f"run-{version}")
    snapshots = [p for p in (settings.published_dir / "snapshots").iterdir() if not p.name.startswith(".")]
    assert len(snapshots) == 3
    assert result["tables"] == {"customer_rfm": 15, "dim_customers": 15, "fct_orders": 15}
    current = Path(result["snapshot"])
    for name in MARTS:
        rows = (
            duckdb.connect()
            .execute(f"select count(*) from read_parquet('{current}/parquet/{name}.parquet')")
            .fetchone()[0]
        )
        assert rows == 15


def test_given_restricted_tables_then_they_are_never_published(settings):
    _write_marts(settings, 1)
    result = publish_marts(settings, date(2026, 11, 1), "run-1")
    assert "pii" not in result["tables"]
    con = duckdb.connect(str(current_database(settings)), read_only=True)
    names = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    con.close()
    assert names == set(MARTS)


def test_given_two_identical_warehouses_then_checksums_match_and_a_changed_row_changes_them(settings):
    _write_marts(settings, 1, rows=50)
    publish_marts(settings, date(2026, 11, 1), "run-1")
    first = table_checksums(current_database(settings))
    publish_marts(settings, date(2026, 11, 1), "run-1-again")
    assert table_checksums(current_database(settings)) == first
    with connect(settings) as con:
        con.execute("update marts.fct_orders set version = 99 where id = 3")
    publish_marts(settings, date(2026, 11, 1), "run-1-changed")
    changed = table_checksums(current_database(settings))
    assert changed["fct_orders"] != first["fct_orders"]
    assert changed["dim_customers"] == first["dim_customers"]


def test_given_marts_larger_than_a_row_group_then_the_snapshot_and_its_parquet_hold_every_row(settings):
    # GIVEN marts of several row groups (DuckDB copies them in parallel, in no particular order)
    _write_marts(settings, 1, rows=400_000)
    # WHEN they are published
    result = publish_marts(settings, date(2026, 11, 1), "run-1")
    # THEN the snapshot table and its Parquet file hold exactly the warehouse's rows, each once
    con = duckdb.connect()
    con.execute(f"attach '{marts_path(settings)}' as warehouse_marts (read_only)")
    con.execute(f"attach '{current_database(settings)}' as snapshot (read_only)")
    parquet = Path(result["snapshot"]) / "parquet"
    for name in MARTS:
        sources = {
            "snapshot": f"snapshot.main.{name}",
            "parquet": f"read_parquet('{parquet / (name + '.parquet')}')",
        }
        for label, relation in sources.items():
            missing, extra = con.execute(
                f"""
                select
                    (select count(*) from (from warehouse_marts.main.{name} except all from {relation})),
                    (select count(*) from (from {relation} except all from warehouse_marts.main.{name}))
                """
            ).fetchone()
            assert (missing, extra) == (0, 0), f"{label} {name}: {missing} rows missing, {extra} extra"
        assert result["tables"][name] == 400_001
    con.close()


def test_given_a_reader_holding_a_snapshot_when_newer_runs_publish_and_prune_it_then_it_reads_on_unchanged(
    settings,
):
    # GIVEN a BI connection opened on the current snapshot of run 1
    _write_marts(settings, 1)
    publish_marts(settings, date(2026, 11, 1), "run-1")
    held = duckdb.connect(str(current_database(settings)), read_only=True)
    try:
        # WHEN four more runs publish (three snapshots kept: run 1's folder is deleted under the reader)
        for version in range(2, 6):
            _write_marts(settings, version)
            publish_marts(settings, date(2026, 11, version), f"run-{version}")
        assert not any(
            p.name.startswith("2026-11-01") for p in (settings.published_dir / "snapshots").iterdir()
        )
        # THEN the held connection still reads run 1's marts, every row of them
        for name in MARTS:
            assert held.execute(f"select max(version), count(*) from {name}").fetchone() == (1, 2001)
    finally:
        held.close()
    # AND a connection opened now reads run 5's
    con = duckdb.connect(str(current_database(settings)), read_only=True)
    try:
        assert con.execute("select max(version) from dim_customers").fetchone() == (5,)
    finally:
        con.close()


def test_given_published_snapshots_when_later_runs_publish_then_no_published_file_is_written_again(settings):
    # GIVEN run 1 published, its files' bytes recorded
    _write_marts(settings, 1)
    first = Path(publish_marts(settings, date(2026, 11, 1), "run-1")["snapshot"])
    digests = {p.relative_to(first): hashlib.sha256(p.read_bytes()).hexdigest() for p in first.rglob("*.*")}
    assert {str(p) for p in digests} >= {"marts.duckdb", "manifest.json", "parquet/fct_orders.parquet"}
    # WHEN runs 2 and 3 publish, run 2 holding fct_orders back (so it is read from run 1's snapshot)
    _write_marts(settings, 2)
    publish_marts(settings, date(2026, 11, 2), "run-2", exclude={"fct_orders"})
    _write_marts(settings, 3)
    publish_marts(settings, date(2026, 11, 3), "run-3")
    # THEN run 1's snapshot is byte for byte what it was (a new snapshot is a new file, never an update),
    # and the database in it has no write-ahead log beside it (it was checkpointed whole before the swap)
    assert {
        p.relative_to(first): hashlib.sha256(p.read_bytes()).hexdigest() for p in first.rglob("*.*")
    } == digests
    assert not list(first.glob("*.wal"))


def test_given_a_warehouse_with_its_marts_in_a_schema_when_publishing_then_they_move_to_the_marts_file(
    settings, tmp_path
):
    # GIVEN a warehouse made before the marts file: its marts in its schema marts
    _write_marts_in_warehouse(settings, 1, rows=50)
    # WHEN it publishes (the first connection that may write moves them, once)
    result = publish_marts(settings, date(2026, 11, 1), "run-1")
    # THEN the snapshot is the one a warehouse built with the marts file publishes
    assert result["tables"] == {name: 51 for name in MARTS}
    moved = table_checksums(current_database(settings))
    built = Settings(home=tmp_path / "built", keep_snapshots=3)
    _write_marts(built, 1, rows=50)
    publish_marts(built, date(2026, 11, 1), "run-1")
    assert moved == table_checksums(current_database(built))
    # AND the warehouse has no marts schema any more: marts.<table> names the marts file's tables
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        schemas = {r[0] for r in con.execute("select schema_name from duckdb_schemas()").fetchall()}
    finally:
        con.close()
    assert "marts" not in schemas and "restricted" in schemas
    with connect(settings, read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_customers").fetchone()[0] == 51


def test_given_a_held_back_mart_when_the_marts_file_is_copied_then_it_keeps_its_last_published_version(
    settings,
):
    # GIVEN a published run 1, then run 2's marts with fct_orders failing its checks
    _write_marts(settings, 1, rows=50)
    publish_marts(settings, date(2026, 11, 1), "run-1")
    first = table_checksums(current_database(settings))
    _write_marts(settings, 2, rows=50)
    # WHEN run 2 publishes with fct_orders held back
    result = publish_marts(settings, date(2026, 11, 2), "run-2", exclude={"fct_orders", "customer_rfm"})
    # THEN the held-back marts are run 1's, in the snapshot and in Parquet; the others are run 2's
    assert result["held_back"] == ["customer_rfm", "fct_orders"]
    published = table_checksums(current_database(settings))
    assert published["fct_orders"] == first["fct_orders"]
    assert published["customer_rfm"] == first["customer_rfm"]
    assert published["dim_customers"] != first["dim_customers"]
    assert result["tables"] == {"customer_rfm": 51, "dim_customers": 52, "fct_orders": 51}
    parquet = Path(result["snapshot"]) / "parquet" / "fct_orders.parquet"
    assert duckdb.connect().execute(f"select max(version) from '{parquet}'").fetchone()[0] == 1


def test_given_a_held_back_mart_never_published_then_the_copied_snapshot_leaves_it_out(settings):
    _write_marts(settings, 1, rows=50)
    result = publish_marts(settings, date(2026, 11, 1), "run-1", exclude={"fct_orders"})
    assert result["held_back"] == ["fct_orders"]
    assert set(result["tables"]) == {"customer_rfm", "dim_customers"}
    assert set(table_checksums(current_database(settings))) == {"customer_rfm", "dim_customers"}
    assert not (Path(result["snapshot"]) / "parquet" / "fct_orders.parquet").exists()


def test_given_a_marts_file_in_an_older_storage_version_then_publish_copies_its_tables_in_the_setting(
    settings, tmp_path
):
    # GIVEN a marts file written for DuckDB 1.0 (the default), then the setting raised to the newest format
    _write_marts(settings, 1, rows=50)
    raised = Settings(home=settings.home, keep_snapshots=3, snapshot_storage_version="latest")
    # WHEN it publishes
    result = publish_marts(raised, date(2026, 11, 1), "run-1")
    # THEN the file is not copied as it is: its tables are, into a file of the newest format
    assert storage_version(current_database(raised)) == "v2.0.0+"
    assert result["tables"] == {name: 51 for name in MARTS}
    expected = Settings(home=tmp_path / "expected", keep_snapshots=3)
    _write_marts(expected, 1, rows=50)
    publish_marts(expected, date(2026, 11, 1), "run-1")
    assert table_checksums(current_database(raised)) == table_checksums(current_database(expected))
