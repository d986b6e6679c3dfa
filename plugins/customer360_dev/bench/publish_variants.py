"""Ways to build the published snapshot from a warehouse, timed side by side (CPU and wall seconds), so the
choice in ``customer360.publish.snapshot`` rests on a measurement anyone can repeat:

    python -m customer360_dev.bench.publish_variants <warehouse.duckdb> <scratch folder> [--rounds N]
        [--previous <an earlier snapshot folder of the same warehouse>]

Every variant writes the analyst-facing layout (``marts.duckdb`` with each mart in ``main``, in the
settings' snapshot storage version, and ``parquet/<mart>.parquet``) into its own folder under the scratch
folder, then flushes it to disk:

- ``copy_tables`` (what ``publish_marts`` does): one ``create table as`` per mart into the new file, then
  each table to Parquet.
- ``one_transaction``: the same copies in one transaction (one commit instead of one per mart).
- ``parquet_first``: export the mart schema to Parquet, then load the new file from the Parquet files.
- ``sync_previous`` (with ``--previous``): start from a file copy of an earlier snapshot's database, then
  bring each mart to the warehouse's rows by deleting the rows gone and inserting the new ones (rows told
  apart by two 64-bit hashes of the whole row), and write Parquet only for the marts that changed (the
  others are hard links to the earlier snapshot's files): the daily cost of a snapshot file updated in place
  instead of written whole.
- ``file_copy`` (what ``publish_marts`` does on the DuckDB target, where dbt builds the marts in a file of
  their own beside the warehouse): a file copy of that file as the snapshot's database, then each table to
  Parquet. Only when the warehouse has the marts file.
- ``parquet_only`` (a measure, not a snapshot): only the Parquet files, exported from the warehouse: what
  publish would still pay if the database file were built elsewhere and copied whole (a file copy is
  I/O, not CPU). Its CPU against ``copy_tables`` is the share a file swap would save.

``COPY FROM DATABASE`` is not a variant: it copies every schema of the source (raw, staging, identity,
restricted...) with no way to name one, into the same schemas, so the snapshot would hold what must never
be published and not in ``main``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from customer360.publish.snapshot import PUBLISHED_SCHEMAS, SNAPSHOT_DB, _fsync_tree, _quote
from customer360.settings import Settings
from customer360.sql_strings import sql_string
from customer360.warehouse import MARTS_FILE, duckdb_config

MARTS_SOURCE = "warehouse_marts"  # the marts file beside the warehouse, attached read-only


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _marts(con) -> list[tuple[str, str]]:
    """``(source relation, mart)`` of every mart: the attached marts file's ``main`` (the DuckDB target's
    layout, ``customer360.warehouse.marts_path``), or a warehouse's schema ``marts`` (made before it)."""
    placeholders = ", ".join("?" for _ in PUBLISHED_SCHEMAS)
    rows = con.execute(
        "select database_name, schema_name, table_name from duckdb_tables() "
        f"where (database_name = 'warehouse' and schema_name in ({placeholders})) "
        f"or (database_name = '{MARTS_SOURCE}' and schema_name = 'main') order by table_name",
        list(PUBLISHED_SCHEMAS),
    ).fetchall()
    return [(f"{_quote(db)}.{_quote(schema)}.{_quote(table)}", table) for db, schema, table in rows]


def _copy_tables(con, folder: Path, one_transaction: bool) -> None:
    marts = _marts(con)
    if one_transaction:
        con.execute("begin")
    for source, table in marts:
        con.execute(f"create table main.{_quote(table)} as from {source}")
    if one_transaction:
        con.execute("commit")
    for _schema, table in marts:
        parquet = folder / "parquet" / f"{table}.parquet"
        con.execute(f"copy main.{_quote(table)} to {sql_string(parquet)} (format parquet)")


def _parquet_first(con, folder: Path) -> None:
    marts = _marts(con)
    for source, table in marts:
        parquet = folder / "parquet" / f"{table}.parquet"
        con.execute(f"copy {source} to {sql_string(parquet)} (format parquet)")
    for _schema, table in marts:
        parquet = folder / "parquet" / f"{table}.parquet"
        con.execute(f"create table main.{_quote(table)} as from read_parquet({sql_string(parquet)})")


def _columns(con, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe {relation}").fetchall()]


def _sync_previous(con, folder: Path, previous: Path) -> None:
    (snapshot,) = con.execute("select current_database()").fetchone()
    kept = {
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = ? and schema_name = 'main'",
            [snapshot],
        ).fetchall()
    }
    marts = _marts(con)
    for name in kept - {table for _source, table in marts}:
        con.execute(f"drop table main.{_quote(name)}")
    for source, table in marts:
        target = f"main.{_quote(table)}"
        if table not in kept or _columns(con, source) != _columns(con, target):
            con.execute(f"create or replace table {target} as from {source}")
            changed = True
        else:
            con.execute(
                "create or replace temp table new_rows as "
                f"select hash(s) as h1, hash(s, 1) as h2 from {source} as s"
            )
            con.execute(
                "create or replace temp table old_rows as "
                f"select rowid as rid, hash(o) as h1, hash(o, 1) as h2 from {target} as o"
            )
            (gone,) = con.execute(
                f"delete from {target} where rowid in "
                "(select rid from old_rows anti join new_rows using (h1, h2))"
            ).fetchone()
            (added,) = con.execute(
                f"insert into {target} select s.* from {source} as s semi join "
                "(select h1, h2 from new_rows anti join old_rows using (h1, h2)) as n "
                "on hash(s) = n.h1 and hash(s, 1) = n.h2"
            ).fetchone()
            changed = bool(gone or added)
        parquet = folder / "parquet" / f"{table}.parquet"
        if changed or not (previous / "parquet" / parquet.name).exists():
            con.execute(f"copy {target} to {sql_string(parquet)} (format parquet)")
        else:
            os.link(previous / "parquet" / parquet.name, parquet)
    con.execute("drop table if exists new_rows")
    con.execute("drop table if exists old_rows")


def _parquet_only(con, folder: Path) -> None:
    for source, table in _marts(con):
        parquet = folder / "parquet" / f"{table}.parquet"
        con.execute(f"copy {source} to {sql_string(parquet)} (format parquet)")


def _file_copy(con, folder: Path) -> None:
    """After ``run_variant`` copied the marts file whole as the snapshot: its Parquet files."""
    for (table,) in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() order by 1"
    ).fetchall():
        parquet = folder / "parquet" / f"{table}.parquet"
        con.execute(f"copy main.{_quote(table)} to {sql_string(parquet)} (format parquet)")


VARIANTS: dict[str, Callable] = {
    "copy_tables": lambda con, folder, previous: _copy_tables(con, folder, one_transaction=False),
    "one_transaction": lambda con, folder, previous: _copy_tables(con, folder, one_transaction=True),
    "parquet_first": lambda con, folder, previous: _parquet_first(con, folder),
    "sync_previous": _sync_previous,
    "parquet_only": lambda con, folder, previous: _parquet_only(con, folder),
    "file_copy": lambda con, folder, previous: _file_copy(con, folder),
}
NEEDS_PREVIOUS = {"sync_previous"}
NEEDS_MARTS_FILE = {"file_copy"}  # the DuckDB target's layout: the marts in a file of their own
MEASURE_ONLY = {"parquet_only"}  # writes part of a snapshot, to size what another way would save


def run_variant(
    name: str, warehouse: Path, folder: Path, settings: Settings, previous: Path | None = None
) -> dict[str, float]:
    """Build one snapshot with variant ``name`` into ``folder`` (``previous``: an earlier snapshot folder,
    for the variants in ``NEEDS_PREVIOUS``); its CPU and wall seconds and size."""
    import duckdb

    shutil.rmtree(folder, ignore_errors=True)
    (folder / "parquet").mkdir(parents=True)
    wall, cpu = time.perf_counter(), _cpu()
    if name in NEEDS_PREVIOUS:
        if previous is None:
            raise ValueError(f"the {name} variant needs an earlier snapshot folder (--previous)")
        shutil.copyfile(previous / SNAPSHOT_DB, folder / SNAPSHOT_DB)
    marts_file = warehouse.parent / MARTS_FILE
    if name in NEEDS_MARTS_FILE:
        # What publish does (checkpointed first, by the pipeline's writer): a file copy of the marts file.
        shutil.copyfile(marts_file, folder / SNAPSHOT_DB)
    con = duckdb.connect(
        str(folder / SNAPSHOT_DB),
        config=duckdb_config(
            settings,
            preserve_insertion_order=False,
            storage_compatibility_version=settings.snapshot_storage_version,
        ),
    )
    try:
        con.execute(f"attach {sql_string(warehouse)} as warehouse (read_only)")
        if marts_file.exists():
            con.execute(f"attach {sql_string(marts_file)} as {MARTS_SOURCE} (read_only)")
        VARIANTS[name](con, folder, previous)
        con.execute("detach warehouse")
        if marts_file.exists():
            con.execute(f"detach {MARTS_SOURCE}")
        con.execute("checkpoint")
    finally:
        con.close()
    _fsync_tree(folder)
    return {
        "cpu_s": round(_cpu() - cpu, 2),
        "wall_s": round(time.perf_counter() - wall, 2),
        "mib": round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("scratch", type=Path)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every variant, interleaved")
    parser.add_argument(
        "--previous", type=Path, default=None, help="an earlier snapshot folder (for sync_previous)"
    )
    args = parser.parse_args(argv)
    has_marts_file = (args.warehouse.parent / MARTS_FILE).exists()
    names = [
        n
        for n in VARIANTS
        if (n not in NEEDS_PREVIOUS or args.previous is not None)
        and (n not in NEEDS_MARTS_FILE or has_marts_file)
    ]
    settings = Settings(home=args.scratch / "home")
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for round_ in range(1, args.rounds + 1):
        for name in names:
            figures = run_variant(name, args.warehouse, args.scratch / name, settings, args.previous)
            print(f"round {round_} {name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()), flush=True)
    for name in names:
        shutil.rmtree(args.scratch / name, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
