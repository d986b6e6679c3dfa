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
    rows = _export_table(con, f'{RAW_SCHEMA}."{table}"', raw_dir(settings) / table)
    return {"spark_raw_rows": rows}


def _export_table(con: duckdb.DuckDBPyConnection, relation: str, target: Path) -> int:
    """Write ``relation`` of ``con`` to the folder ``target`` as Parquet, swapped in whole; its row count."""
    table = target.name
    staging = target.with_name(f".{table}.new")
    retired = target.with_name(f".{table}.old")
    for leftover in (staging, retired):
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir(parents=True)
    rows = con.execute(f"select count(*) from {relation}").fetchone()[0]
    con.execute(f"copy (select * from {relation}) to '{staging / 'part-0.parquet'}' (format parquet)")
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
    return int(rows)


def exported_tables(settings: Settings) -> list[str]:
    """The raw tables exported so far (folder names under ``raw_dir``), sorted."""
    return _table_folders(raw_dir(settings))


def _table_folders(root: Path) -> list[str]:
    """The tables handed over under ``root`` (one folder each; the swap's hidden folders left out), sorted."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def register_raw_tables(settings: Settings) -> list[str]:
    """Declare every exported raw table to Spark as ``raw.<table>``; returns their names."""
    tables = exported_tables(settings)
    if not tables:
        raise FileNotFoundError(
            f"no raw table was handed to Spark under {raw_dir(settings)}"
            ": run ingest on the Spark target first"
        )
    _run_operation(
        settings, "register_raw_tables", {"tables": tables, "location": str(raw_dir(settings))}, "raw tables"
    )
    return tables


# The stages that do not run on Spark yet, by the schema whose tables the next dbt build reads as sources:
# identity (read by the core build, models/core/_identity__sources.yml) and the CLV and churn models stage
# (read by the analytics build, models/analytics/_analytics__sources.yml).
HANDED_OVER_SCHEMAS = {"core": "identity", "analytics": "analytics"}


def stage_output_dir(settings: Settings, schema: str) -> Path:
    """Where the hand-over of a DuckDB stage's output tables (``schema``) goes, one folder per table."""
    return settings.spark_dir / "handover" / schema


def hand_over_duckdb_stage_outputs(settings: Settings, warehouse: Path, schema: str) -> dict[str, int]:
    """Hand the output tables a stage wrote on DuckDB to Spark: every table of ``schema`` in the DuckDB file
    ``warehouse`` as Parquet under ``stage_output_dir`` (each swapped in whole, as the raw hand-over), and a
    table handed over before but no longer written is removed. Returns each table's row count.

    For a stage that did not run on Spark (identity and the models stage, until they do): the build that
    reads them declares them to Spark first (``before_build``)."""
    import duckdb

    if schema not in HANDED_OVER_SCHEMAS.values():
        raise ValueError(f"{schema!r} is not the output of a stage handed to Spark: {HANDED_OVER_SCHEMAS}")
    root = stage_output_dir(settings, schema)
    counts: dict[str, int] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "and table_type = 'BASE TABLE' order by 1",
                [schema],
            ).fetchall()
        ]
        if not tables:
            raise FileNotFoundError(f"{warehouse} has no table in schema {schema}: nothing to hand to Spark")
        for table in tables:
            counts[table] = _export_table(con, f'{schema}."{table}"', root / table)
    for stale in set(_table_folders(root)) - set(tables):
        shutil.rmtree(root / stale)
    return counts


def before_build(settings: Settings, layer: str) -> list[str]:
    """What a dbt build on Spark needs declared first: the raw tables (staging), or the output tables a
    stage handed over from DuckDB (``hand_over_duckdb_stage_outputs``: identity before core, the models
    stage before analytics). A build whose stage ran on Spark itself finds nothing handed over and
    declares nothing. Returns the ``schema.table`` names declared."""
    if layer == "staging":
        return [f"{RAW_SCHEMA}.{t}" for t in register_raw_tables(settings)]
    schema = HANDED_OVER_SCHEMAS.get(layer)
    if schema is None:
        return []
    root = stage_output_dir(settings, schema)
    tables = _table_folders(root)
    if tables:
        _run_operation(
            settings,
            "register_parquet_tables",
            {"schema": schema, "tables": tables, "location": str(root)},
            f"{schema} tables handed over",
        )
    return [f"{schema}.{t}" for t in tables]


def _run_operation(settings: Settings, macro: str, args: dict[str, object], what: str) -> None:
    from dbt.cli.main import dbtRunner

    from customer360.dbt_runner import _environment

    command = [
        "run-operation",
        macro,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target",
        settings.dbt_target,
        "--args",
        json.dumps(args),
        "--quiet",
    ]
    with _environment(settings):
        result = dbtRunner().invoke(command)
    if not result.success:
        raise RuntimeError(
            f"dbt could not declare the {what} to Spark: {result.exception or 'see the dbt log'} "
            f"(log: {settings.home / 'dbt' / 'logs' / 'dbt.log'})"
        )
