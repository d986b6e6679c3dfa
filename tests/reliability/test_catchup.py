"""A backfill through Airflow's catchup gives the same marts as running the same dates one by one.

GIVEN the landing data of ``backfill_run`` (which ran ``BACKFILL_DAYS`` dates ending with ``END`` one by one),
WHEN the real daily DAG is unpaused in a real Airflow deployment (API server, DAG processor, scheduler with
the LocalExecutor; ``airflow_scheduler.py``) with its schedule window set to those dates
(``CUSTOMER360_SCHEDULE_START`` / ``_END``) and catchup on, THEN the scheduler creates one run per date, runs
them one at a time in date order, each run loads its own day's files, and the published marts - history
marts included, as both ran the same dates - are identical to the one-by-one home's.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta

import duckdb
import pytest

from customer360.publish import current_database
from customer360.publish.snapshot import table_checksums
from customer360.settings import Settings
from tests.support import pipeline_run
from tests.support.airflow_scheduler import running_airflow
from tests.support.shared_dbt_parse import seed_home
from tests.support.shared_runs import BACKFILL_DAYS, END, RUN_LOG_MARTS

pytestmark = pytest.mark.slow

DAG_ID = "customer360_daily"
FIRST = END - timedelta(days=BACKFILL_DAYS - 1)
# Head room per daily run through the scheduler, for a loaded CI machine.
SECONDS_PER_RUN = 240


def _day(timestamp: str) -> date:
    return datetime.fromisoformat(timestamp).date()


@pytest.fixture(scope="module")
def catchup(tmp_path_factory, landing) -> tuple[Settings, list[dict]]:
    home = tmp_path_factory.mktemp("catchup")
    shutil.copytree(landing, home / "landing")
    seed_home(home, pipeline_run.PARSE_CACHE)  # the session's dbt parse, as run_day's homes start from it
    settings = Settings(home=home)
    window = {
        "CUSTOMER360_HOME": str(home),
        "CUSTOMER360_SCHEDULE_START": FIRST.isoformat(),
        "CUSTOMER360_SCHEDULE_END": END.isoformat(),
        "CUSTOMER360_RETRY_DELAY_SECONDS": "1",
    }
    with running_airflow(settings, **window) as airflow:
        airflow.unpause(DAG_ID)
        runs = airflow.wait_for_runs(DAG_ID, BACKFILL_DAYS, timeout=60 + SECONDS_PER_RUN * BACKFILL_DAYS)
        failed = {
            r["dag_run_id"]: [
                t["task_id"]
                for t in airflow.task_instances(DAG_ID, r["dag_run_id"])
                if t["state"] != "success"
            ]
            for r in runs
            if r["state"] != "success"
        }
    assert not failed, f"catchup runs failed: {failed}; task logs under {home / 'airflow' / 'logs'}"
    return settings, runs


def test_given_catchup_when_the_dag_is_unpaused_then_one_run_per_date_runs_in_order_one_at_a_time(catchup):
    _, runs = catchup
    # THEN one scheduled run per date of the window, each over its day [D, D+1) UTC
    expected = [FIRST + timedelta(days=i) for i in range(BACKFILL_DAYS)]
    assert [_day(r["logical_date"]) for r in runs] == expected
    for run in runs:
        assert run["run_type"] == "scheduled"
        assert run["state"] == "success"
        start, end = (datetime.fromisoformat(run[k]) for k in ("data_interval_start", "data_interval_end"))
        assert (start.date(), end - start) == (_day(run["logical_date"]), timedelta(days=1))
    # AND they ran in date order, never two at once (max_active_runs=1)
    ordered = sorted(runs, key=lambda r: r["start_date"])
    assert [r["dag_run_id"] for r in ordered] == [r["dag_run_id"] for r in runs]
    for before, after in zip(ordered, ordered[1:], strict=False):
        assert datetime.fromisoformat(before["end_date"]) <= datetime.fromisoformat(after["start_date"])


def test_given_catchup_then_each_run_loaded_its_own_days_files(catchup):
    settings, runs = catchup
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        loaded = con.execute(
            "select run_id, min(load_date), max(load_date), count(*) from audit.file_manifest "
            "where status = 'loaded' group by run_id"
        ).fetchall()
    by_run = {run_id: (first, last, files) for run_id, first, last, files in loaded}
    for index, run in enumerate(runs):
        day = _day(run["logical_date"])
        first, last, files = by_run[run["dag_run_id"]]
        # the first run loads the history up to its date; every later run only its own day
        assert last == day and files > 0
        if index > 0:
            assert first == day
        summary = json.loads((settings.run_dir(day.isoformat()) / "summary.json").read_text())
        assert summary["status"] == "success", summary["problems"]


def test_given_catchup_when_compared_with_the_same_dates_run_one_by_one_then_every_mart_is_identical(
    catchup, backfill_run
):
    caught_up = table_checksums(current_database(catchup[0]))
    one_by_one = table_checksums(current_database(backfill_run[0]))
    assert set(caught_up) == set(one_by_one)
    # (model_runs logs each run by its id, which differs between a scheduled and a manual run)
    assert sorted(t for t in one_by_one if caught_up[t] != one_by_one[t] and t not in RUN_LOG_MARTS) == []
