"""Ways to build the published snapshot from a warehouse, timed side by side (CPU and wall seconds), so the
choice in ``customer360.publish.snapshot`` rests on a measurement anyone can repeat:

    python -m customer360_dev.bench.publish_variants <warehouse.duckdb> <scratch folder> [--rounds N]

Every variant writes the analyst-facing layout (``marts.duckdb`` with each mart in ``main``, in the
settings' snapshot storage version, and ``parquet/<mart>.parquet``) into its own folder under the scratch
folder, then flushes it to disk:

- ``copy_tables`` (what ``publish_marts`` does): one ``create table as`` per mart into the new file, then
  each table to Parquet.
- ``one_transaction``: the same copies in one transaction (one commit instead of one per mart).
- ``parquet_first``: export the mart schema to Parquet, then load the new file from the Parquet files.

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
from customer360.warehouse import duckdb_config


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _marts(con) -> list[tuple[str, str]]:
    placeholders = ", ".join("?" for _ in PUBLISHED_SCHEMAS)
    return con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'warehouse' "
        f"and schema_name in ({placeholders}) order by table_name",
        list(PUBLISHED_SCHEMAS),
    ).fetchall()


def _copy_tables(con, folder: Path, one_transaction: bool) -> None:
    marts = _marts(con)
    if one_transaction:
        con.execute("begin")
    for schema, table in marts:
        con.execute(f"create table main.{_quote(table)} as from warehouse.{_quote(schema)}.{_quote(table)}")
    if one_transaction:
        con.execute("commit")
    for _schema, table in marts:
        parquet = folder / "parquet" / f"{table}.parquet"
        con.execute(f"copy main.{_quote(table)} to {sql_string(parquet)} (format parquet)")


def _parquet_first(con, folder: Path) -> None:
    marts = _marts(con)
    for schema, table in marts:
        parquet = folder / "parquet" / f"{table}.parquet"
        con.execute(
            f"copy warehouse.{_quote(schema)}.{_quote(table)} to {sql_string(parquet)} (format parquet)"
        )
    for _schema, table in marts:
        parquet = folder / "parquet" / f"{table}.parquet"
        con.execute(f"create table main.{_quote(table)} as from read_parquet({sql_string(parquet)})")


VARIANTS: dict[str, Callable] = {
    "copy_tables": lambda con, folder: _copy_tables(con, folder, one_transaction=False),
    "one_transaction": lambda con, folder: _copy_tables(con, folder, one_transaction=True),
    "parquet_first": _parquet_first,
}


def run_variant(name: str, warehouse: Path, folder: Path, settings: Settings) -> dict[str, float]:
    """Build one snapshot with variant ``name`` into ``folder``; its CPU and wall seconds and size."""
    import duckdb

    shutil.rmtree(folder, ignore_errors=True)
    (folder / "parquet").mkdir(parents=True)
    wall, cpu = time.perf_counter(), _cpu()
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
        VARIANTS[name](con, folder)
        con.execute("detach warehouse")
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
    args = parser.parse_args(argv)
    settings = Settings(home=args.scratch / "home")
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for round_ in range(1, args.rounds + 1):
        for name in VARIANTS:
            figures = run_variant(name, args.warehouse, args.scratch / name, settings)
            print(f"round {round_} {name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()), flush=True)
    for name in VARIANTS:
        shutil.rmtree(args.scratch / name, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
