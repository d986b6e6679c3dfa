"""Every warning of a run with its reason, in the summary and on the command line; a retried task is
announced while the run waits for the retry, and listed in the summary afterwards."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest

from customer360.progress import stage
from customer360.run_command import retry_announcements, task_id_of, task_states
from customer360.settings import Settings
from customer360.summary import build_summary, render_summary, retry_warnings

DAY = date(2026, 12, 6)
RUN = "manual__2026-12-06T00:00:00+00:00"


@pytest.fixture(scope="module", autouse=True)
def _airflow_home(tmp_path_factory) -> None:
    """Airflow, imported by the DAG and metadata tests, keeps its files in a temporary home."""
    import os

    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow-home")))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def _events(run_dir: Path) -> None:
    """The progress events of a run in which dbt:core failed once and succeeded on its retry, ingest skipped a
    duplicate and ignored a file, and the marts gate had warning failures."""
    with stage(run_dir, "ingest:web_orders", RUN) as detail:
        detail.update(
            {
                "files_loaded": 1,
                "rows_read": 10,
                "rows_loaded": 8,
                "rows_quarantined": 2,
                "ignored": ["web_orders/notes.txt: ignored: not a json file of web_orders"],
                "duplicates": [
                    "web_orders/2026-12-06/copy.json: same content as web_orders/2026-12-06/a.json"
                ],
                "drift": ["extra column 'coupon' (not in the contract) ignored"],
                "failures": [],
            }
        )
    with pytest.raises(RuntimeError):
        with stage(run_dir, "dbt:core", RUN):
            raise RuntimeError("dbt test unique_dim_customers_customer_id failed")
    with stage(run_dir, "dbt:core", RUN) as detail:
        detail["build"] = {"mode": "incremental", "reason": "keys follow"}
    with stage(run_dir, "validate:marts", RUN) as detail:
        detail.update(
            {
                "ok": True,
                "passed": 40,
                "failed": 0,
                "warnings": 2,
                "errors": 0,
                "warning_messages": [
                    "marts.customer_clv: column predicted_clv: 3 of 60 values above the expected maximum",
                    "marts.service_quality_daily: fewer rows than usual (12, usual 30 to 40)",
                ],
            }
        )


@pytest.fixture
def summary(tmp_path: Path) -> dict:
    settings = Settings(home=tmp_path)
    (settings.landing_root / "web_orders" / DAY.isoformat()).mkdir(parents=True)
    _events(settings.run_dir(DAY.isoformat()))
    return build_summary(settings, DAY, RUN)


def test_given_a_run_with_warnings_then_the_summary_lists_each_with_its_reason(summary):
    warnings = summary["warnings"]
    # THEN each quality warning is there with its message, not just a count
    gate = "quality gate marts: "
    assert (
        gate + "marts.customer_clv: column predicted_clv: 3 of 60 values above the expected maximum"
        in warnings
    )
    assert (
        "quality gate marts: marts.service_quality_daily: fewer rows than usual (12, usual 30 to 40)"
        in warnings
    )
    # AND every ingest warning with its file and reason
    assert "ingest web_orders: web_orders/notes.txt: ignored: not a json file of web_orders" in warnings
    assert any("duplicate file skipped: web_orders/2026-12-06/copy.json" in w for w in warnings)
    assert "ingest web_orders: schema drift: extra column 'coupon' (not in the contract) ignored" in warnings
    assert any(
        w.startswith("ingest web_orders: 2 row(s) quarantined") and "audit.quarantine" in w for w in warnings
    )
    # AND a channel with no landing folder for the date is named
    assert any(w.startswith("ingest crm_contacts: no landing folder for 2026-12-06") for w in warnings)
    # AND the retried stage, with the error of the failed attempt
    retried = "dbt:core: attempt 1 failed and was retried: RuntimeError: "
    assert retried + "dbt test unique_dim_customers_customer_id failed" in warnings


def test_given_a_date_without_any_landing_file_then_the_summary_says_the_marts_are_older_data(tmp_path):
    settings = Settings(home=tmp_path)
    settings.landing_root.mkdir(parents=True)
    warnings = build_summary(settings, DAY, RUN)["warnings"]
    assert any(w.startswith("ingest: no landing files for 2026-12-06 in any channel") for w in warnings)
    assert not any("no landing folder" in w for w in warnings)  # one line, not one per channel


def test_given_a_summary_with_warnings_when_printed_then_each_warning_is_a_line(summary, capsys):
    render_summary(summary)
    out = capsys.readouterr().out
    for warning in summary["warnings"]:
        assert f"warning: {warning[:60]}" in " ".join(out.split()), warning


def test_given_a_stage_that_failed_for_good_then_it_is_not_called_retried():
    events = [
        {"stage": "validate:raw", "event": "start"},
        {"stage": "validate:raw", "event": "error", "error": "QualityGateError: red"},
    ]
    assert retry_warnings(events) == []


def test_given_every_pipeline_stage_then_its_task_id_is_a_task_of_the_dag():
    from airflow.dag_processing.dagbag import DagBag

    from customer360.run_command import PIPELINE_STAGES

    dags = Path(__file__).resolve().parents[2] / "dags"
    dag = DagBag(dag_folder=str(dags / "customer360_daily.py")).dags["customer360_daily"]
    assert {task_id_of(name) for name in PIPELINE_STAGES} <= set(dag.task_ids)


@pytest.fixture(scope="module")
def metadata_db(tmp_path_factory) -> str:
    """An Airflow metadata database with Airflow's own schema (its models), holding one run's task
    instances: dbt_core waiting for its retry, ingest_web_orders done."""
    import sqlalchemy as sa
    from airflow.models import import_all_models

    import_all_models()
    from airflow.models.base import Base
    from airflow.models.taskinstance import TaskInstance

    url = f"sqlite:///{tmp_path_factory.mktemp('airflow') / 'airflow.db'}"
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    rows = [("dbt_core", "up_for_retry", 1, 1), ("ingest_web_orders", "success", 1, 2)]
    with engine.begin() as conn:
        conn.execute(sa.text("pragma foreign_keys = off"))
        for task_id, state, try_number, max_tries in rows:
            conn.execute(
                TaskInstance.__table__.insert().values(
                    id=uuid.uuid4(),
                    dag_id="customer360_daily",
                    run_id=RUN,
                    task_id=task_id,
                    map_index=-1,
                    pool="customer360_warehouse",
                    state=state,
                    try_number=try_number,
                    max_tries=max_tries,
                    dag_version_id=uuid.uuid4(),
                )
            )
    engine.dispose()
    return url


def test_given_a_task_up_for_retry_when_the_run_is_watched_then_the_retry_is_announced_once(
    metadata_db, tmp_path
):
    # GIVEN the DAG run's task states in Airflow's metadata, and the progress events of the failed attempt
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with stage(run_dir, "dbt:core", RUN):
            raise RuntimeError("dbt test not_null_fct_orders_order_id failed")
    from customer360.progress import read_events

    events = read_events(run_dir)
    states = task_states(metadata_db, RUN)
    assert states["dbt_core"] == {"state": "up_for_retry", "try_number": 1, "max_tries": 1}
    announced: set = set()
    # WHEN the watcher looks
    lines = retry_announcements(states, events, announced)
    # THEN it announces the retry of that task with the error of the failed try, and only once
    assert lines == [
        "dbt_core failed on try 1 of 2 and will be retried after Airflow's retry delay: "
        "RuntimeError: dbt test not_null_fct_orders_order_id failed"
    ]
    assert retry_announcements(states, events, announced) == []


def test_given_no_metadata_yet_then_task_states_are_empty(tmp_path):
    assert task_states(f"sqlite:///{tmp_path / 'missing.db'}", RUN) == {}
