"""``customer360 bench --target spark``: every stage of a first run on a local Spark session, timed as the
DuckDB bench times them (``customer360_dev.bench.run``), over the same generated data.

The stages run in this process through ``customer360.pipeline`` with a Spark-target home, on one local
session (``CUSTOMER360_SPARK_MASTER``, ``local[2]`` by default) started before the first stage and stopped
after the last. Spark's driver JVM is a child process that PySpark never waits for, so ``getrusage`` does not
see its CPU: each stage's CPU seconds here are this process's, its waited-for children's and every live
descendant's (the JVM and Spark's Python workers, read from ``/proc`` through psutil), and its peak memory is
the resident set of all of them together.

What is measured and what is not (docs/spark.md, "What does not run on Spark yet"):

- the first run only: identity on Spark resolves without an earlier answer, so a daily run on the same Spark
  warehouse stops at identity; the daily run is left out rather than timed without identity;
- the models stage does not run on Spark yet: here it runs the DuckDB stage in this process over views of
  Spark's ``intermediate`` Parquet tables (a DuckDB file of its own under the run's home, which keeps the
  stage's earlier tables and artefacts as the DuckDB warehouse would), and hands its ``analytics`` tables
  to Spark (``spark_handover.hand_over_duckdb_stage_outputs``), which the analytics build then declares. Its
  row is marked so on the results page (``HANDED_OVER_STAGES``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from customer360.settings import Settings
from customer360_dev.bench.run import (
    END_DATE,
    SCALES,
    Stages,
    StageTiming,
    _stages,
    ensure_data,
    machine_info,
    process_tree_cpu_seconds,
    records_read,
    run_pipeline_timed,
    stage_details,
)
from customer360_dev.bench.targets import per_million

# Stages whose Spark figure is not computed on Spark (the results page says so beside it).
HANDED_OVER_STAGES = {
    "identity:train": "the match model trained on DuckDB in this process over Spark's identity input "
    "(its Parquet files), as a deployment trains it on DuckDB and copies the file; identity then scores on "
    "Spark",
    "models:clv+churn": "DuckDB over Spark's Parquet tables in this process, outputs handed over to Spark",
}
MODELS_SOURCE_SCHEMA = "intermediate"  # what the models stage reads (clv.stage, churn.warehouse_features)


def spark_settings(home: Path, landing: Path, settings: Settings) -> Settings:
    """A Spark-target home for the bench: the session's files under ``home/spark``, one local master."""
    return Settings(
        home=home,
        landing_root=landing,
        target="spark",
        spark_master=settings.spark_master,
        duckdb_threads=settings.duckdb_threads,
    )


def models_workspace(settings: Settings) -> Settings:
    """The DuckDB-target settings the models stage runs with on a Spark home: same home (run folders, model
    artefacts), its own DuckDB file."""
    return dataclasses.replace(
        settings, target="duckdb", warehouse_path=settings.home / "models-on-duckdb" / "warehouse.duckdb"
    )


def _duckdb_workspace(settings: Settings) -> Settings:
    """``models_workspace``'s settings, its file holding a view of every Spark ``intermediate`` table over
    its Parquet files (replaced, so each view reads the table's current files)."""
    import duckdb

    from customer360.spark_publish import spark_schema_tables, spark_table_files
    from customer360.sql_strings import sql_string

    workspace = models_workspace(settings)
    workspace.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(workspace.warehouse_path)) as con:
        con.execute(f"create schema if not exists {MODELS_SOURCE_SCHEMA}")
        for table in spark_schema_tables(settings, MODELS_SOURCE_SCHEMA):
            files = sql_string(spark_table_files(settings, MODELS_SOURCE_SCHEMA, table))
            view = f'{MODELS_SOURCE_SCHEMA}."{table}"'
            con.execute(f"create or replace view {view} as select * from read_parquet({files})")
    return workspace


def train_identity_on_duckdb(logical_date: date, settings: Settings) -> dict[str, Any]:
    """The identity match model for a Spark home with none: trained on DuckDB over Spark's identity input,
    saved in the home's model folder, where identity on Spark reads it."""
    from customer360.identity.model_store import train_in_warehouse

    _model, path, _changes = train_in_warehouse(_duckdb_workspace(settings), logical_date)
    return {"model": str(path)}


def fit_models_handed_over(logical_date: date, run_id: str, settings: Settings) -> dict[str, Any]:
    """The models stage for a Spark home until it runs on Spark: the DuckDB stage over views of Spark's
    ``intermediate`` tables (their Parquet files), then its ``analytics`` tables handed to Spark."""
    from customer360 import pipeline
    from customer360.spark_handover import hand_over_duckdb_stage_outputs

    workspace = _duckdb_workspace(settings)
    result = pipeline.fit_models(logical_date, run_id, workspace)
    result["handed_over"] = hand_over_duckdb_stage_outputs(settings, workspace.warehouse_path, "analytics")
    return result


def spark_stages(logical_date: date, run_id: str, settings: Settings) -> Stages:
    """The pipeline's stages (``run._stages``) as a Spark home runs them today: the identity model trained
    on DuckDB before identity, the models stage on DuckDB and handed over (``HANDED_OVER_STAGES``)."""
    stages: Stages = []
    for name, call in _stages(logical_date, run_id, settings):
        if name == "identity":
            stages.append(("identity:train", lambda: train_identity_on_duckdb(logical_date, settings)))
        if name == "models:clv+churn":
            call = lambda: fit_models_handed_over(logical_date, run_id, settings)  # noqa: E731, PLW2901
        stages.append((name, call))
    return stages


def benchmark_spark(settings: Settings, scale: str) -> dict[str, Any]:
    """One first run (all history but the last day) of every stage on a local Spark session, from an empty
    Spark home; the same data as ``customer360 bench --scale <scale>``."""
    from customer360.spark.session import spark_session

    base = settings.home / "bench"
    landing, generate_seconds = ensure_data(base, scale)
    home = base / scale / "run-spark"
    shutil.rmtree(home, ignore_errors=True)
    run_settings = spark_settings(home, landing, settings)
    logical_date = END_DATE - timedelta(days=1)
    started, cpu_started = time.perf_counter(), process_tree_cpu_seconds()
    spark = spark_session(run_settings)
    session_start = StageTiming(
        "spark:session", time.perf_counter() - started, 0.0, 0, process_tree_cpu_seconds() - cpu_started
    )
    first: list[StageTiming] = []
    stopped: dict[str, str] | None = None
    try:
        run_pipeline_timed(
            run_settings, logical_date, "first", spark_stages, process_tree=True, timings=first
        )
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the stages timed so far are kept
        names = [name for name, _call in spark_stages(logical_date, "", run_settings)]
        stage = names[len(first)] if len(first) < len(names) else "the stage details"
        stopped = {"stage": stage, "error": f"{type(exc).__name__}: {exc}"[:1000]}
    finally:
        spark.stop()
    rows = per_million(_rows([session_start, *first]), records_read([first]))
    machine = machine_info(settings)
    machine["versions"].update(_spark_versions())
    machine.update(spark_master=run_settings.spark_master, spark_shuffle_partitions=_shuffle_partitions())
    return {
        "target": "spark",
        "scale": scale,
        "parameters": SCALES[scale],
        "repeat": 0,
        "first_repeat": 1,
        "measured_at": datetime.now(UTC).isoformat(),
        "load_average": os.getloadavg(),
        "machine": machine,
        "generate_seconds": generate_seconds,
        "first_run_records": records_read([first]),
        "daily_run_records": 0,
        "first_run": rows,
        "daily_run": [],
        "not_measured": {
            "daily_run": "identity on Spark resolves without an earlier answer only (docs/spark.md): a "
            "second run on the same Spark warehouse stops at identity",
        },
        "handed_over_stages": HANDED_OVER_STAGES,
        # the stage that raised (or was interrupted), when the run did not finish: the rows are those before
        **({"stopped_at": stopped} if stopped else {}),
        "stage_details": stage_details(run_settings, logical_date),
    }


def _rows(timings: list[Any]) -> list[dict[str, Any]]:
    """One run's rows in the DuckDB bench's shape (``run._summarise`` of a single run)."""
    rows = [
        {
            "stage": t.stage,
            "min_s": round(t.seconds, 3),
            "median_s": round(t.seconds, 3),
            "cpu_s": round(t.cpu_seconds, 3),
            "peak_rss_mib": round(t.peak_rss_mib, 1),
        }
        for t in timings
    ]
    total = sum(t.seconds for t in timings)
    rows.append(
        {
            "stage": "total",
            "min_s": round(total, 3),
            "median_s": round(total, 3),
            "cpu_s": round(sum(t.cpu_seconds for t in timings), 3),
            "peak_rss_mib": round(max((t.peak_rss_mib for t in timings), default=0.0), 1),
        }
    )
    return rows


def _spark_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("pyspark", "dbt-spark")}


def _shuffle_partitions() -> str | None:
    return os.environ.get("CUSTOMER360_SPARK_SHUFFLE_PARTITIONS")


def side_by_side(spark_result: dict[str, Any], duckdb_result: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each stage of Spark's first run beside the same stage of DuckDB's first run at the same scale: wall
    and CPU seconds on both, and how many times DuckDB's CPU Spark's took (None where a side is missing)."""
    duck = {row["stage"]: row for row in (duckdb_result or {}).get("first_run") or []}
    if spark_result.get("stopped_at"):  # a stopped run's total covers only some stages: not comparable
        duck.pop("total", None)
    rows = []
    for row in spark_result.get("first_run") or []:
        other = duck.get(row["stage"], {})
        spark_cpu, duck_cpu = row.get("cpu_s"), other.get("cpu_s")
        rows.append(
            {
                "stage": row["stage"],
                "spark_s": row.get("median_s"),
                "spark_cpu_s": spark_cpu,
                "spark_peak_rss_mib": row.get("peak_rss_mib"),
                "duckdb_s": other.get("median_s"),
                "duckdb_cpu_s": duck_cpu,
                "cpu_ratio": round(spark_cpu / duck_cpu, 2) if spark_cpu and duck_cpu else None,
                "handed_over": row["stage"] in (spark_result.get("handed_over_stages") or {}),
            }
        )
    return rows


def newest_duckdb_result(
    folders: list[Path], scale: str, before: str | None = None
) -> tuple[Path, dict[str, Any]] | None:
    """The newest DuckDB result of ``scale`` in ``folders`` (measured before ``before`` when given)."""
    from customer360_dev.bench.results_page import read_results, result_target

    found = [
        (path, data)
        for folder in folders
        if folder.is_dir()
        for path, data in read_results(folder)
        if result_target(data) == "duckdb" and data.get("scale") == scale
    ]
    if before is not None:
        found = [(p, d) for p, d in found if str(d["measured_at"]) <= before]
    return max(found, key=lambda item: str(item[1]["measured_at"]), default=None)
