"""Publish on the Spark target (docs/spark.md): the marts are Spark tables, the snapshot is DuckDB's.

On Spark the core and analytics builds write every mart as a Parquet table of the metastore (schema
``marts``, files under ``<spark_dir>/warehouse/marts.db/<mart>/``): a BI tool reads them through Spark's
Thrift/JDBC server (``jdbc:hive2://<host>:10000/marts``; docker-compose.yml's ``spark`` profile). For the
small consumers that open the published DuckDB snapshot (``customer360 sql``, the run report, a notebook), the
publish stage makes it from those Parquet files: ``parquet_views`` gives ``customer360.publish`` a scratch
DuckDB file whose ``marts`` schema has one view per mart over its files (DuckDB's ``read_parquet``), and
``publish.snapshot.publish_marts`` copies them into a new snapshot exactly as it copies the DuckDB
warehouse's marts: same storage version, same manifest, same atomic swap of ``current``.

The files must be on a path this process reads: the session method's own folder, or on a cluster the volume
the Thrift server writes (the ``spark`` compose profile mounts it at the same path); on Databricks the marts
stay in the workspace and publish stops with a message.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from customer360.settings import Settings
from customer360.sql_strings import sql_string


def spark_tables_dir(settings: Settings) -> Path:
    """Where Spark keeps its tables (``spark.sql.warehouse.dir`` of dbt_project/profiles.yml)."""
    return settings.spark_dir / "warehouse"


def spark_table_files(settings: Settings, schema: str, table: str) -> str:
    """The glob of a Spark table's Parquet files (one folder per table, ``<schema>.db/<table>/``)."""
    return str(spark_tables_dir(settings) / f"{schema}.db" / table / "*.parquet")


def spark_schema_tables(settings: Settings, schema: str) -> list[str]:
    """The tables Spark wrote in ``schema`` (folders holding Parquet files), sorted."""
    root = spark_tables_dir(settings) / f"{schema}.db"
    if not root.is_dir():
        return []
    return sorted(
        folder.name
        for folder in root.iterdir()
        if folder.is_dir() and not folder.name.startswith((".", "_")) and any(folder.glob("*.parquet"))
    )


def _views_database(settings: Settings, schemas: Sequence[str], path: Path) -> dict[str, list[str]]:
    """Write ``path``: a DuckDB file with one view per Spark table of ``schemas`` over its Parquet files."""
    import duckdb

    found = {schema: spark_schema_tables(settings, schema) for schema in schemas}
    if not any(found.values()):
        raise FileNotFoundError(
            f"no Spark table of {', '.join(schemas)} under {spark_tables_dir(settings)}: build the core and "
            "analytics layers on the Spark target first (on Databricks the tables stay in the workspace, "
            "docs/spark.md)"
        )
    with duckdb.connect(str(path)) as con:
        for schema, tables in found.items():
            con.execute(f'create schema if not exists "{schema}"')
            for table in tables:
                files = sql_string(spark_table_files(settings, schema, table))
                con.execute(f'create view "{schema}"."{table}" as select * from read_parquet({files})')
    return found


@contextmanager
def parquet_views(settings: Settings, schemas: Sequence[str]) -> Iterator[Path]:
    """A scratch DuckDB file whose ``schemas`` hold a view per Spark table over its Parquet files, removed
    afterwards; what ``customer360.warehouse.readable_copy`` hands publish on the Spark target."""
    scratch = Path(tempfile.mkdtemp(prefix="spark-marts-", dir=settings.home))
    try:
        path = scratch / "spark_tables.duckdb"
        _views_database(settings, schemas, path)
        yield path
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
