"""Publish the marts as a read-only snapshot that BI tools and analysts read, swapped in whole.

Layout under ``settings.published_dir``::

    snapshots/<logical date>__<UTC stamp>/marts.duckdb   every BI-facing mart as a table in ``main``
    snapshots/<...>/parquet/<mart>.parquet               the same marts as Parquet
    snapshots/<...>/manifest.json                        run id, logical date, row counts, checksums
    current -> snapshots/<...>                           a symlink, replaced atomically (rename)

A snapshot is written aside and only then made current with one ``rename``: a reader sees the old
snapshot or the new one, never a mix, and a failed run leaves the last good snapshot in place. Readers
open ``current/marts.duckdb`` read-only; a reader that already holds the old file keeps reading it (the
file stays until its last reader closes it, even after it is pruned). The newest ``keep_snapshots``
snapshots are kept.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import ExitStack
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from customer360.faults import fault_point
from customer360.settings import Settings
from customer360.sql_strings import sql_string
from customer360.warehouse import duckdb_config, readable_copy

PUBLISHED_SCHEMAS = ("marts",)
SNAPSHOT_DB = "marts.duckdb"
CURRENT_LINK = "current"


def current_snapshot(settings: Settings) -> Path | None:
    link = settings.published_dir / CURRENT_LINK
    return link.resolve() if link.exists() else None


def current_database(settings: Settings) -> Path:
    """Path BI tools and ``customer360 sql`` open (read-only)."""
    return settings.published_dir / CURRENT_LINK / SNAPSHOT_DB


def current_logical_date(settings: Settings) -> date | None:
    """The logical date of the current snapshot (its manifest), or None when nothing is published yet."""
    current = current_snapshot(settings)
    manifest = current / "manifest.json" if current is not None else None
    if manifest is None or not manifest.exists():
        return None
    return date.fromisoformat(json.loads(manifest.read_text(encoding="utf-8"))["logical_date"])


def newer_current_snapshot(settings: Settings, logical_date: date) -> str | None:
    """Why a run for ``logical_date`` must not replace the current snapshot, or None when it may.

    The current snapshot is for a later date: making the older date's marts current would move every BI
    reader back in time. ``publish_older`` (``customer360 run --publish-older``) allows it."""
    current = current_logical_date(settings)
    if current is None or current <= logical_date or settings.publish_older:
        return None
    day, newer = logical_date.isoformat(), current.isoformat()
    return (
        f"not published: the current snapshot is for {newer}, later than {day}, and stays current (BI "
        f"readers keep the newer marts); the marts of {day} are in the warehouse. To make them current "
        f"anyway: customer360 run --date {day} --publish-older (or CUSTOMER360_PUBLISH_OLDER=true); to bring "
        f"the warehouse back to the newer date: customer360 run --date {newer}"
    )


def _bi_tables(con) -> list[tuple[str, str]]:
    """``(source relation, mart)``: the ``marts`` schema of the attached ``warehouse``, and the ``main``
    schema of the attached marts file (``warehouse_marts``, the DuckDB target's) when there is one."""
    placeholders = ", ".join("?" for _ in PUBLISHED_SCHEMAS)
    rows = con.execute(
        f"""
        select table_catalog, table_schema, table_name
        from information_schema.tables
        where ((table_catalog = 'warehouse' and table_schema in ({placeholders}))
            or (table_catalog = 'warehouse_marts' and table_schema = 'main'))
            and table_type in ('BASE TABLE', 'VIEW')
        order by table_name
        """,
        list(PUBLISHED_SCHEMAS),
    ).fetchall()
    return [(f"{_quote(catalog)}.{_quote(schema)}.{_quote(name)}", name) for catalog, schema, name in rows]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _swap_current(published_dir: Path, target: Path) -> None:
    """Point ``current`` at ``target`` with one atomic rename of a fresh symlink."""
    tmp_link = published_dir / f".{CURRENT_LINK}.{os.getpid()}.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    tmp_link.symlink_to(target.relative_to(published_dir), target_is_directory=True)
    os.replace(tmp_link, published_dir / CURRENT_LINK)


def _prune(snapshots_dir: Path, keep: int, current: Path) -> list[str]:
    done = sorted(p for p in snapshots_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    removed = []
    for old in done[: max(0, len(done) - keep)]:
        if old.resolve() == current.resolve():
            continue
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old.name)
    # Half-written snapshots of killed runs
    for partial in snapshots_dir.glob(".tmp-*"):
        shutil.rmtree(partial, ignore_errors=True)
    return removed


def publish_marts(
    settings: Settings, logical_date: date, run_id: str, exclude: set[str] | None = None
) -> dict[str, Any]:
    """Make a new snapshot of every BI-facing mart and make it current.

    DuckDB target: the marts' own file (``customer360.warehouse.marts_path``), checkpointed, copied whole.
    PostgreSQL and Spark targets: each mart copied into a new file. ``exclude`` names marts held back: they
    keep their last published version."""
    from customer360.warehouse import engine

    exclude = exclude or set()
    snapshots_dir = settings.published_dir / "snapshots"
    snapshots_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{logical_date.isoformat()}__{stamp}"
    staging_dir = snapshots_dir / f".tmp-{name}"
    final_dir = snapshots_dir / name
    (staging_dir / "parquet").mkdir(parents=True)
    # A held-back mart keeps its last published version (BI sees yesterday's trusted table, not none).
    previous = current_database(settings) if exclude and current_snapshot(settings) is not None else None

    copied = engine(settings) == "duckdb" and _copy_marts_file(settings, staging_dir / SNAPSHOT_DB)
    if copied:
        tables, held_back = _finish_copied_file(settings, staging_dir, exclude, previous)
    else:
        tables, held_back = _copy_tables(settings, staging_dir, exclude, previous)

    manifest = {
        "run_id": run_id,
        "logical_date": logical_date.isoformat(),
        "published_at": datetime.now(UTC).isoformat(),
        "tables": tables,
        "held_back": held_back,
    }
    (staging_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    _fsync_tree(staging_dir)
    fault_point("publish.before_swap")  # reliability tests kill the run here (customer360.faults)
    os.rename(staging_dir, final_dir)
    fsync_path(snapshots_dir)  # the rename is on disk before anything points at the new name
    _swap_current(settings.published_dir, final_dir)
    fsync_path(settings.published_dir)
    removed = _prune(snapshots_dir, settings.keep_snapshots, final_dir)
    return {
        "snapshot": str(final_dir),
        "database": str(current_database(settings)),
        "tables": tables,
        "held_back": held_back,
        "pruned": removed,
    }


def _copy_marts_file(settings: Settings, target: Path) -> bool:
    """Copy the marts' own file whole to ``target``; False when there is none to copy (nothing built yet,
    or a warehouse whose marts are still in its schema ``marts``), or when it was written in another storage
    version than the snapshot's.

    The copy is made while this process holds the warehouse open for writing (the pipeline's writers take
    turns, ``customer360.warehouse``), right after a checkpoint wrote everything of the file into it: no
    write-ahead log is left that the copy would miss."""
    from customer360.warehouse import MARTS_DATABASE, connect, marts_path

    source = marts_path(settings)
    with connect(settings) as con:
        attached = con.execute(
            "select count(*) from duckdb_databases() where database_name = ?", [MARTS_DATABASE]
        ).fetchone()[0]
        if not attached or not source.exists():
            return False
        con.execute(f"checkpoint {MARTS_DATABASE}")
        wal = source.with_name(source.name + ".wal")
        if wal.exists() and wal.stat().st_size:
            raise RuntimeError(f"{wal} is not empty after a checkpoint: the marts file cannot be copied")
        shutil.copyfile(source, target)
    # The version the file itself was written in (an attach asking for a newer one does not rewrite it).
    if storage_version(target) != _storage_tag(settings.snapshot_storage_version):
        target.unlink()
        return False
    return True


@lru_cache(maxsize=4)
def _storage_tag(version: str) -> str:
    """The storage version DuckDB reports for a file written with ``storage_version`` (``v1.0.0+``), read
    from a scratch file (an in-memory database reports none)."""
    import tempfile

    import duckdb

    with tempfile.TemporaryDirectory(prefix="c360-storage-") as folder:
        probe = Path(folder) / "probe.duckdb"
        duckdb.connect(str(probe), config={"storage_compatibility_version": version}).close()
        return storage_version(probe)


def _finish_copied_file(
    settings: Settings, staging_dir: Path, exclude: set[str], previous: Path | None
) -> tuple[dict[str, int], list[str]]:
    """In the copied marts file: put each held-back mart back to its last published version (or drop it when
    none was published), then write every mart to Parquet. Row counts from the tables' own metadata."""
    import duckdb

    tables: dict[str, int] = {}
    held_back: list[str] = []
    con = duckdb.connect(
        str(staging_dir / SNAPSHOT_DB), config=duckdb_config(settings, preserve_insertion_order=False)
    )
    try:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = current_database() "
                "and schema_name = 'main' order by table_name"
            ).fetchall()
        ]
        held = [n for n in names if n in exclude]
        if held:
            previous_tables: set[str] = set()
            if previous is not None:
                con.execute(f"attach {sql_string(previous.resolve())} as previous (read_only)")
                previous_tables = {
                    r[0]
                    for r in con.execute(
                        "select table_name from duckdb_tables() where database_name = 'previous'"
                    ).fetchall()
                }
            for table in held:
                held_back.append(table)
                con.execute(f"drop table main.{_quote(table)}")
                if table in previous_tables:
                    con.execute(f"create table main.{_quote(table)} as from previous.main.{_quote(table)}")
            if previous is not None:
                con.execute("detach previous")
            con.execute("checkpoint")
        present = _tables_of(con)
        for table in names:
            if table not in present:
                continue
            parquet_path = staging_dir / "parquet" / f"{table}.parquet"
            con.execute(f"copy main.{_quote(table)} to {sql_string(parquet_path)} (format parquet)")
            (tables[table],) = con.execute(f"select count(*) from main.{_quote(table)}").fetchone()
    finally:
        con.close()
    return tables, held_back


def _tables_of(con) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database()"
        ).fetchall()
    }


def _copy_tables(
    settings: Settings, staging_dir: Path, exclude: set[str], previous: Path | None
) -> tuple[dict[str, int], list[str]]:
    """Copy every mart into a new snapshot file, and to Parquet: on the PostgreSQL and Spark targets from the
    ``marts`` schema of a scratch DuckDB file of their marts; on the DuckDB target from the marts file when
    it cannot be copied whole (written in another storage version than the snapshot's)."""
    import duckdb

    from customer360.warehouse import engine, marts_path

    marts_file = marts_path(settings) if engine(settings) == "duckdb" else None
    if marts_file is not None and not marts_file.exists():
        marts_file = None

    tables: dict[str, int] = {}
    held_back: list[str] = []
    # The DuckDB warehouse file, or (PostgreSQL target) a scratch DuckDB file of the marts pulled from it.
    sources = ExitStack()
    warehouse_db = sources.enter_context(readable_copy(settings, PUBLISHED_SCHEMAS))
    # Row order carries no meaning in a mart (readers sort; ``table_checksums`` ignores it), and not keeping
    # it lets DuckDB copy and write Parquet in parallel instead of in one ordered stream (DECISIONLOG.md,
    # "Publish without row order").
    # Written in the storage format of ``snapshot_storage_version``, so the DuckDB releases analysts have
    # installed (not only the one the pipeline runs) open it.
    con = duckdb.connect(
        str(staging_dir / SNAPSHOT_DB),
        config=duckdb_config(
            settings,
            preserve_insertion_order=False,
            storage_compatibility_version=settings.snapshot_storage_version,
        ),
    )
    try:
        con.execute(f"attach {sql_string(warehouse_db)} as warehouse (read_only)")
        if marts_file is not None:
            con.execute(f"attach {sql_string(marts_file)} as warehouse_marts (read_only)")
        if previous is not None:
            con.execute(f"attach {sql_string(previous.resolve())} as previous (read_only)")
        previous_tables = (
            {
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables where table_catalog = 'previous'"
                ).fetchall()
            }
            if previous is not None
            else set()
        )
        for source, table in _bi_tables(con):
            if table in exclude:
                held_back.append(table)
                if table not in previous_tables:
                    continue
                source = f"previous.main.{_quote(table)}"
            # ``create table as`` answers with the rows it wrote: no count query per table.
            (rows,) = con.execute(f"create table main.{_quote(table)} as select * from {source}").fetchone()
            parquet_path = staging_dir / "parquet" / f"{table}.parquet"
            con.execute(f"copy main.{_quote(table)} to {sql_string(parquet_path)} (format parquet)")
            tables[table] = rows
        con.execute("detach warehouse")
        if marts_file is not None:
            con.execute("detach warehouse_marts")
        if previous is not None:
            con.execute("detach previous")
        con.execute("checkpoint")
    finally:
        con.close()
        sources.close()
    return tables, held_back


def fsync_path(path: Path) -> None:
    """Flush one file, or one directory's entries (a new file, a rename, a new link in it), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Flush the snapshot's files, and the directory entries naming them, to disk before it is made
    current."""
    for path in sorted(root.rglob("*"), key=lambda p: p.is_dir()):
        fsync_path(path)
    fsync_path(root)


def storage_version(database: Path) -> str:
    """The storage version a DuckDB database file was written for, as DuckDB reports it on opening the file
    (``v1.0.0+``: readable by DuckDB 1.0.0 and later, and by 0.10.x)."""
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        (version,) = con.execute(
            "select tags['storage_version'] from duckdb_databases() where database_name = current_database()"
        ).fetchone()
        return str(version)
    finally:
        con.close()


def table_checksums(database: Path) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent content checksum of every table in a snapshot database.

    Two runs that produced the same marts give the same checksums (reruns, backfills, incremental vs full).
    """
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute("select table_name from information_schema.tables order by 1").fetchall()
        ]
        result = {}
        for name in names:
            rows, digest = con.execute(
                f"""
                select count(*), coalesce(md5(string_agg(row_hash, ',' order by row_hash)), '')
                from (select md5(cast(r as varchar)) as row_hash from {_quote(name)} as r)
                """
            ).fetchone()
            result[name] = (rows, digest)
        return result
    finally:
        con.close()
