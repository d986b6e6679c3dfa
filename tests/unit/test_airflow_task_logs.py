"""Task logs of ``customer360 run`` (``airflow dags test``) written where the Airflow UI reads them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from customer360.airflow_task_logs import split_task_tries

RUN = "manual__2026-12-07T08:51:03.108988+00:00"


def _try_lines(task: str, body: list[str]) -> list[str]:
    return [
        f"2026-12-07T08:51:03.7Z [info     ] [DAG TEST] starting task_id={task} map_index=-1 [airflow.sdk]",
        f"2026-12-07T08:51:03.7Z [info     ] [DAG TEST] running task <TaskInstance: customer360_daily.{task} "
        f"{RUN} [TaskInstanceState.SCHEDULED] ti_id=01a2> [airflow.sdk]",
        *body,
        f"2026-12-07T08:51:16.0Z [info     ] [DAG TEST] end task task_id={task} map_index=-1 [airflow.sdk]",
    ]


def test_given_dags_test_output_then_each_try_gets_its_own_lines_and_nothing_outside_a_try():
    text = "\n".join(
        [
            "Preparing the DAG run",  # before any task: belongs to no try
            *_try_lines("dbt_core", ["dbt test failed"]),
            "scheduler loop line between tries",
            *_try_lines("dbt_core", ["dbt build ok"]),
            *_try_lines("publish", ["published 20 marts"]),
        ]
    )
    tries = split_task_tries(text)
    assert [(t.task_id, t.dag_id, t.run_id) for t in tries] == [
        ("dbt_core", "customer360_daily", RUN),
        ("dbt_core", "customer360_daily", RUN),
        ("publish", "customer360_daily", RUN),
    ]
    assert "dbt test failed" in tries[0].lines and "dbt build ok" not in tries[0].lines
    assert "dbt build ok" in tries[1].lines
    assert all("scheduler loop line" not in line for t in tries for line in t.lines)
    assert all("Preparing" not in line for t in tries for line in t.lines)


TINY_DAG = """
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import dag, task


@dag(dag_id="tiny", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def tiny():
    @task(retries=1, retry_delay=timedelta(seconds=1))
    def flaky():
        marker = Path(__file__).with_name("flaky.done")
        if not marker.exists():
            marker.write_text("1")
            raise RuntimeError("first try fails on purpose")
        print("second try of flaky succeeds")

    @task
    def hello():
        print("hello from the tiny task")

    flaky() >> hello()


tiny()
"""

READ_BACK = """
import json
from sqlalchemy import select
from airflow.models.taskinstance import TaskInstance
from airflow.utils.log.log_reader import TaskLogReader
from airflow.utils.session import create_session

found = {}
with create_session() as session:
    for ti in session.scalars(select(TaskInstance).where(TaskInstance.dag_id == "tiny")):
        for try_number in range(1, ti.try_number + 1):
            logs, _ = TaskLogReader().read_log_chunks(ti, try_number, {})
            found[f"{ti.task_id}/{try_number}"] = " ".join(str(m) for m in logs)
print(json.dumps(found))
"""


@pytest.mark.slow
def test_given_a_dags_test_run_when_its_logs_are_written_then_airflow_reads_every_try(tmp_path):
    """GIVEN a DAG run by ``airflow dags test`` on the embedded Airflow, one task failing once then retried
    WHEN its output is written as task logs THEN Airflow's own log reader (the one the UI's API uses) finds
    each try's log, with that try's lines."""
    from customer360.airflow_setup import airflow_bin, ensure_airflow
    from customer360.settings import Settings

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "tiny.py").write_text(textwrap.dedent(TINY_DAG))
    settings = Settings(home=tmp_path / "home")
    log = tmp_path / "airflow.log"
    base = {
        k: v for k, v in __import__("os").environ.items() if not k.startswith(("AIRFLOW", "CUSTOMER360_"))
    }
    base["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
    env = ensure_airflow(settings, log, base=base)
    with log.open("a") as fh:
        subprocess.run(
            [airflow_bin(), "dags", "test", "tiny", "2026-12-06"],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    assert "[DAG TEST] starting task_id=flaky" in log.read_text()
    # Without this step Airflow has no file for the tries, and the UI reports the log as not found.
    done = subprocess.run(
        [sys.executable, "-m", "customer360.airflow_task_logs", str(log), "0"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    read = subprocess.run([sys.executable, "-c", READ_BACK], env=env, capture_output=True, text=True)
    assert read.returncode == 0, read.stderr
    found = json.loads(read.stdout.strip().splitlines()[-1])
    assert set(found) == {"flaky/1", "flaky/2", "hello/1"}
    assert "first try fails on purpose" in found["flaky/1"]
    assert "second try of flaky succeeds" in found["flaky/2"] and "first try fails" not in found["flaky/2"]
    assert "hello from the tiny task" in found["hello/1"]
    assert all("not found" not in text.lower() for text in found.values())
    # The same run's OpenLineage events (docs/lineage.md): the failed try ends in FAIL, the retry in COMPLETE
    from customer360.lineage.config import read_events

    states = [(e["job"]["name"], e["eventType"]) for e in read_events(settings, "2026-12-06")]
    assert [state for job, state in states if job == "tiny.flaky"] == ["START", "FAIL", "START", "COMPLETE"]
    assert [state for job, state in states if job == "tiny.hello"] == ["START", "COMPLETE"]
