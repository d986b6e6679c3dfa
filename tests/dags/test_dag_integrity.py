"""The DAG files parse quickly, without errors and without heavy imports, and are configured as the
conventions ask (tags, owner, retries, schedule, pool)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
DAGS = PROJECT / "dags"
HEAVY = ("pandas", "duckdb", "great_expectations", "dbt", "sklearn", "pyarrow", "scipy")


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow")
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_given_the_dags_folder_when_parsed_then_there_are_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "customer360_daily" in dagbag.dags


def test_given_every_dag_then_file_stem_is_dag_id_and_it_has_tags_owner_and_retries(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert Path(dag.fileloc).stem == dag_id
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has no owner"
            assert task.retries is not None


def test_given_the_daily_dag_then_it_runs_daily_with_catchup_and_one_run_at_a_time(dagbag):
    dag = dagbag.dags["customer360_daily"]
    assert dag.catchup is True
    assert dag.max_active_runs == 1
    assert dag.start_date.tzinfo is not None
    # An interval timetable: the run for D covers [D, D+1), unlike @daily's trigger timetable in Airflow 3.
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"


def test_given_the_daily_dag_then_stages_run_in_the_designed_order(dagbag):
    dag = dagbag.dags["customer360_daily"]
    chain = [
        "validate_raw",
        "dbt_staging",
        "validate_staging",
        "resolve_identity",
        "dbt_core",
        "fit_models",
        "dbt_analytics",
        "validate_marts",
        "publish",
        "summarize",
    ]
    for upstream, downstream in zip(chain, chain[1:], strict=False):
        assert downstream in dag.get_task(upstream).downstream_task_ids, f"{upstream} >> {downstream} missing"
    ingest_tasks = [t for t in dag.task_ids if t.startswith("ingest_")]
    assert len(ingest_tasks) == 6
    for task_id in ingest_tasks:
        assert "validate_raw" in dag.get_task(task_id).downstream_task_ids


def test_given_the_daily_dag_then_activation_runs_after_publish_and_before_the_summary(dagbag):
    dag = dagbag.dags["customer360_daily"]
    assert "activate" in dag.get_task("publish").downstream_task_ids
    assert "summarize" in dag.get_task("activate").downstream_task_ids


def test_given_the_daily_dag_then_every_warehouse_task_shares_the_one_slot_pool(dagbag):
    dag = dagbag.dags["customer360_daily"]
    assert {t.pool for t in dag.tasks} == {"customer360_warehouse"}


def test_given_quality_gates_then_they_are_not_retried(dagbag):
    dag = dagbag.dags["customer360_daily"]
    for task_id in ("validate_raw", "validate_staging", "validate_marts", "summarize"):
        assert dag.get_task(task_id).retries == 0


def test_given_a_fresh_interpreter_when_the_dag_file_is_imported_then_no_heavy_library_is_loaded():
    code = f"""
import importlib.util, json, sys, time
t = time.perf_counter()
spec = importlib.util.spec_from_file_location("customer360_daily", {str(DAGS / "customer360_daily.py")!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
loaded = sorted(name for name in {HEAVY!r} if name in sys.modules)
print(json.dumps({{"loaded": loaded, "seconds": time.perf_counter() - t}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == [], f"the DAG file imports {result['loaded']} at parse time"


def test_given_a_schedule_window_in_the_environment_then_the_daily_dag_starts_and_ends_there():
    # GIVEN CUSTOMER360_SCHEDULE_START / _END, WHEN the DAG file is parsed in a fresh interpreter
    code = f"""
import importlib.util, json
spec = importlib.util.spec_from_file_location("customer360_daily", {str(DAGS / "customer360_daily.py")!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({{"start": module.START_DATE.isoformat(), "end": module.END_DATE.isoformat()}}))
"""
    env = {**os.environ, "CUSTOMER360_SCHEDULE_START": "2026-10-01", "CUSTOMER360_SCHEDULE_END": "2026-10-30"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    window = json.loads(out.stdout.strip().splitlines()[-1])
    # THEN the scheduler's window is [start, end] at midnight UTC
    assert window == {"start": "2026-10-01T00:00:00+00:00", "end": "2026-10-30T00:00:00+00:00"}


def test_given_a_schedule_end_before_its_start_then_settings_refuse_it(monkeypatch):
    from customer360.settings import Settings

    monkeypatch.setenv("CUSTOMER360_SCHEDULE_START", "2026-10-01")
    monkeypatch.setenv("CUSTOMER360_SCHEDULE_END", "2026-09-30")
    with pytest.raises(ValueError, match="SCHEDULE_END .* is before"):
        Settings()
    monkeypatch.setenv("CUSTOMER360_SCHEDULE_END", "30/09/2026")
    with pytest.raises(ValueError, match="not a date"):
        Settings()
