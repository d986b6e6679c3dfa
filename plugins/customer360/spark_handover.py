"""Hand the raw tables ingest wrote to Spark (the Spark target, docs/spark.md).

Ingest keeps loading landing files into the local DuckDB file (``settings.warehouse_path``), as on the
PostgreSQL target: it remembers which files it read and quarantines bad rows there. After a channel's ingest,
``export_raw_table`` writes its ``raw.<channel>`` table as Parquet to ``<spark_dir>/raw/<channel>/``
(DuckDB's own Parquet writer, streamed, typed as in DuckDB). Before the staging build,
``register_raw_tables`` declares every exported table to Spark as ``raw.<channel>`` through dbt
(``dbt run-operation register_raw_tables``, dbt_project/macros/spark.sql), so the dbt sources read them.

A new export is written beside the old one and swapped in by renaming folders, so a failed export leaves the
previous one whole, and Spark never reads half a table.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from customer360.settings import Settings
from customer360.warehouse import RAW_SCHEMA

if TYPE_CHECKING:
    import duckdb


def raw_dir(settings: Settings) -> Path:
    """Where the raw tables go as Parquet, one folder per table."""
    return settings.spark_dir / "raw"


def export_raw_table(settings: Settings, con: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    """Write ``raw.<table>`` of ``con`` to ``<raw_dir>/<table>/`` as Parquet; returns its row count."""
    target = raw_dir(settings) / table
    staging = target.with_name(f".{table}.new")
    retired = target.with_name(f".{table}.old")
    for leftover in (staging, retired):
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir(parents=True)
    rows = con.execute(f'select count(*) from {RAW_SCHEMA}."{table}"').fetchone()[0]
    con.execute(
        f"copy (select * from {RAW_SCHEMA}.\"{table}\") to '{staging / 'part-0.parquet'}' (format parquet)"
    )
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
    return {"spark_raw_rows": int(rows)}


def exported_tables(settings: Settings) -> list[str]:
    """The raw tables exported so far (folder names under ``raw_dir``), sorted."""
    root = raw_dir(settings)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def register_raw_tables(settings: Settings) -> list[str]:
    """Declare every exported raw table to Spark as ``raw.<table>``; returns their names."""
    from dbt.cli.main import dbtRunner

    from customer360.dbt_runner import _environment

    tables = exported_tables(settings)
    if not tables:
        raise FileNotFoundError(
            f"no raw table was handed to Spark under {raw_dir(settings)}"
            ": run ingest on the Spark target first"
        )
    args = [
        "run-operation",
        "register_raw_tables",
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target",
        settings.dbt_target,
        "--args",
        json.dumps({"tables": tables, "location": str(raw_dir(settings))}),
        "--quiet",
    ]
    with _environment(settings):
        result = dbtRunner().invoke(args)
    if not result.success:
        raise RuntimeError(
            f"dbt could not declare the raw tables to Spark: {result.exception or 'see the dbt log'} "
            f"(log: {settings.home / 'dbt' / 'logs' / 'dbt.log'})"
        )
    return tables
