"""End to end: generated data → the real DAG (Airflow, SQLite metadata) → published marts; then the same date
runs twice more and nothing changes.

The three runs are module fixtures (each a `customer360 run` of about a minute): ``first_run`` keeps what the
first run reported and published, ``reruns`` what each of the next two did, and the tests read them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from customer360.analyst import connect_snapshot
from customer360.landing.contract import CHANNELS
from customer360.metrics import SemanticLayer
from customer360.publish import current_database
from customer360.publish.snapshot import table_checksums
from customer360.settings import Settings
from tests.support import metric_checks, pipeline_run
from tests.support.shared_dbt_parse import seed_home
from tests.support.shared_runs import without_run_logs

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[2]
LOGICAL_DATE = date(2026, 11, 20)
CORE_MARTS = ("dim_customers", "fct_orders", "customer_rfm")


@dataclass
class DagRun:
    """What one `customer360 run` printed, its summary, the published marts and raw row counts after it."""

    result: subprocess.CompletedProcess
    summary: dict
    marts: dict
    raw_rows: dict[str, int]


def _run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update({"CUSTOMER360_HOME": str(home), "CUSTOMER360_RETRY_DELAY_SECONDS": "1", "NO_COLOR": "1"})
    for key in list(env):
        if key.startswith("AIRFLOW__") or key == "AIRFLOW_HOME":
            env.pop(key)  # the embedded Airflow of this home, whatever the caller's shell says
    return subprocess.run(
        [sys.executable, "-m", "customer360.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=PROJECT,
    )


def _dag_run(home: Path) -> DagRun:
    result = _run(home, "run", "--date", LOGICAL_DATE.isoformat(), "--no-generate")
    settings = Settings(home=home)
    summary_path = home / "runs" / LOGICAL_DATE.isoformat() / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    published = current_database(settings)
    marts = table_checksums(published) if published.exists() else {}
    raw_rows = {}
    if settings.warehouse_path.exists():
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            raw_rows = {c: con.execute(f'select count(*) from raw."{c}"').fetchone()[0] for c in CHANNELS}
    return DagRun(result, summary, marts, raw_rows)


def _succeeded(run: DagRun) -> None:
    assert run.result.returncode == 0, (run.result.stdout[-4000:], run.result.stderr[-4000:])


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> tuple[Path, DagRun]:
    home = tmp_path_factory.mktemp("c360")
    generated = _run(
        home,
        "generate",
        "--customers",
        "400",
        "--days",
        "60",
        "--seed",
        "7",
        "--end-date",
        LOGICAL_DATE.isoformat(),
        "--out",
        str(home / "landing"),
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    seed_home(home, pipeline_run.PARSE_CACHE)  # the session's dbt parse, as run_day's homes start from it
    return home, _dag_run(home)


@pytest.fixture(scope="module")
def reruns(first_run) -> list[DagRun]:
    """The same date run twice more through the DAG, after the first run."""
    home, first = first_run
    _succeeded(first)
    return [_dag_run(home) for _ in range(2)]


def test_given_generated_data_when_the_dag_runs_then_it_succeeds_and_prints_the_summary(first_run):
    _, run = first_run
    _succeeded(run)
    assert "Ingest per channel" in run.result.stdout
    assert "Expectations per stage" in run.result.stdout
    assert run.summary["status"] == "success", run.summary["problems"]
    # the first run builds both incremental dbt layers in full, and says so
    for layer in ("staging", "core"):
        assert run.summary[f"{layer}_build"]["mode"] == "full refresh", layer
        assert f"{layer} layer:" in run.result.stdout, layer


def test_given_the_run_then_every_channel_reconciles_read_equals_loaded_plus_quarantined(first_run):
    _, run = first_run
    for channel, info in run.summary["channels"].items():
        assert info["status"] == "ok", channel
        assert info["rows_read"] > 0, channel
        assert info["rows_read"] == info["rows_loaded"] + info["rows_quarantined"], channel


def test_given_the_run_then_quality_gates_passed_and_core_marts_are_published(first_run):
    _, run = first_run
    for layer in ("raw", "staging", "marts"):
        assert run.summary["quality"][layer]["status"] == "ok", layer
        assert run.summary["quality"][layer]["failed"] == 0, layer
        assert run.summary["quality"][layer]["passed"] > 0, layer
    for mart in CORE_MARTS:
        assert run.summary["marts"].get(mart, 0) > 0, mart


def test_given_a_rerun_of_the_same_date_then_every_mart_is_unchanged(first_run, reruns):
    _, first = first_run
    again = reruns[0]
    _succeeded(again)
    assert without_run_logs(again.marts) == without_run_logs(first.marts)
    # nothing was loaded twice: every file is 'unchanged' the second time
    for channel, info in again.summary["channels"].items():
        assert info.get("rows_loaded", 0) == 0, channel


def test_given_a_date_when_it_runs_three_times_then_the_published_marts_are_identical(first_run, reruns):
    # GIVEN the date ran once, WHEN it runs a second and a third time through the DAG
    _, first = first_run
    for attempt, run in enumerate(reruns, start=2):
        _succeeded(run)
        assert run.summary["status"] == "success", (attempt, run.summary["problems"])
        # THEN every published mart has the same rows and content, and nothing was loaded twice
        assert first.marts and without_run_logs(run.marts) == without_run_logs(first.marts), attempt
        assert first.raw_rows and run.raw_rows == first.raw_rows, attempt
        assert all(info.get("rows_loaded", 0) == 0 for info in run.summary["channels"].values()), attempt


def test_given_the_run_then_every_idic_mart_is_populated_and_consistent_with_the_profiles(first_run):
    home, _ = first_run
    con = duckdb.connect(str(current_database(Settings(home=home))), read_only=True)
    try:
        customers = con.execute("select count(*) from dim_customers").fetchone()[0]
        per_customer = (
            "customer_clv",
            "customer_value_tiers",
            "customer_lifecycle",
            "customer_contact_profile",
            "customer_influence",
            "customer_service_summary",
            "customer_next_best_action",
        )
        for mart in per_customer:
            rows, distinct, orphans = con.execute(
                f"select count(*), count(distinct customer_id), count(*) filter "
                f"(where customer_id not in (select customer_id from dim_customers)) from {mart}"
            ).fetchone()
            assert rows == distinct == customers, mart
            assert orphans == 0, mart
        for mart in (
            "customer_rfm",
            "customer_churn_risk",
            "fct_support_tickets",
            "service_quality_daily",
            "customer_satisfaction",
            "fct_interactions",
            "fct_orders",
        ):
            assert con.execute(f"select count(*) from {mart}").fetchone()[0] > 0, mart
        # every purchaser has an RFM row and a churn score; every action names a rule of the seed
        purchasers = con.execute("select count(*) from customer_clv where order_count > 0").fetchone()[0]
        assert con.execute("select count(*) from customer_rfm").fetchone()[0] <= purchasers
        assert (
            con.execute(
                "select count(*) from customer_next_best_action where rule_id is null or reason is null"
            ).fetchone()[0]
            == 0
        )
        # consent: nobody unreachable by email is sent an email action
        assert (
            con.execute(
                """select count(*) from customer_next_best_action as a
               join customer_contact_profile as p using (customer_id)
               where a.contact_channel = 'email' and not p.can_contact_email"""
            ).fetchone()[0]
            == 0
        )
    finally:
        con.close()


def test_given_the_run_then_its_report_shows_trends_revenue_at_risk_and_changes_with_currency(first_run):
    # GIVEN the run, THEN kpi_daily holds the 28 dates up to the run's, revenue_at_risk holds every scored
    # customer once, and the run's report draws the trends, revenue at risk, weekly service and satisfaction
    # charts and compares the date with the one before, money in EUR
    home, _ = first_run
    settings = Settings(home=home)
    con = duckdb.connect(str(current_database(settings)), read_only=True)
    try:
        assert con.execute("select count(*), max(kpi_date), min(currency) from kpi_daily").fetchone() == (
            28,
            LOGICAL_DATE,
            "EUR",
        )
        assert (
            con.execute("select sum(customers) from revenue_at_risk").fetchone()
            == con.execute("select count(*) from customer_churn_risk").fetchone()
        )
    finally:
        con.close()
    page = (settings.run_dir(LOGICAL_DATE.isoformat()) / "report.html").read_text(encoding="utf-8")
    for key in ("kpi-trends", "revenue-at-risk", "service-quality", "satisfaction"):
        assert f'id="chart-{key}"' in page, key
    previous = (LOGICAL_DATE - timedelta(days=1)).isoformat()
    assert f"<th>{LOGICAL_DATE.isoformat()}</th><th>{previous}</th><th>change</th>" in page
    assert re.search(r"net revenue, last 30 days</td><td>EUR [\d,]+\.\d\d</td>", page)


def test_given_the_run_then_every_metric_of_the_semantic_layer_equals_its_mart(first_run, tmp_path):
    # GIVEN the run's published snapshot (its data has orders, tickets and survey answers)
    home, _ = first_run
    settings = Settings(home=home)
    marts = connect_snapshot(settings)
    try:
        with SemanticLayer(settings, work_dir=tmp_path / "semantic") as layer:
            # WHEN each KPI is asked by its dimensions THEN it equals the figure of the mart it stands for
            metric_checks.check_order_metrics(layer, marts)
            metric_checks.check_rfm_window_metrics(layer, marts, LOGICAL_DATE)
            metric_checks.check_customer_state_metrics(layer, marts)
            metric_checks.check_satisfaction_metrics(layer, marts, LOGICAL_DATE)
            metric_checks.check_service_metrics(layer, marts)
    finally:
        marts.close()


def test_given_the_run_then_its_progress_log_names_each_dbt_layers_slowest_nodes(first_run):
    # GIVEN the run's progress log, THEN each dbt layer's end event lists its slowest nodes, slowest first,
    # and its node time by resource type (at least that of the slowest node)
    home, run = first_run
    _succeeded(run)
    from customer360.progress import read_events

    ends = {
        e["stage"]: e["detail"]
        for e in read_events(home / "runs" / LOGICAL_DATE.isoformat())
        if e.get("event") == "end" and e["stage"].startswith("dbt:")
    }
    assert set(ends) == {"dbt:staging", "dbt:core", "dbt:analytics"}
    for stage, detail in ends.items():
        seconds = [n["seconds"] for n in detail["slowest_nodes"]]
        assert detail["slowest_nodes"] and all(n["node"] for n in detail["slowest_nodes"]), stage
        assert seconds == sorted(seconds, reverse=True), stage
        by_type = detail["node_seconds_by_type"]
        assert {"model", "test"} <= set(by_type), stage
        assert sum(by_type.values()) >= seconds[0] > 0, stage


def test_given_the_dag_runs_then_activate_sends_the_audiences_once_and_reruns_send_nothing(first_run, reruns):
    home, first = first_run
    sent = first.summary["activation"]
    assert sent["members"] > 0 and sent["entered"] == sent["members"]
    assert sent["file_rows_written"] == sent["members"]  # every shipped audience goes to the outbox once
    manifests = sorted((home / "outbox").glob(f"*/*/{LOGICAL_DATE.isoformat()}/manifest.json"))
    assert manifests and sum(json.loads(m.read_text())["rows"] for m in manifests) == sent["members"]
    for rerun in reruns:
        again = rerun.summary["activation"]
        assert again["members"] == sent["members"] and again["file_rows_written"] == 0
    # the files of the first run stay: the reruns found the same rows already delivered
    assert {json.loads(m.read_text())["run_id"] for m in manifests} == {first.summary["run_id"]}


def _lineage_of_first_run(home: Path) -> tuple[list[dict], str]:
    """The first DAG run's OpenLineage events (later reruns of the date append to the same file) and the
    Airflow run id they belong to."""
    from customer360.lineage.config import read_events

    events = read_events(Settings(home=home), LOGICAL_DATE)
    task_events = [e for e in events if "airflow" in e["run"]["facets"]]
    run_id = task_events[0]["run"]["facets"]["airflow"]["dagRun"]["run_id"]
    return events, run_id


def test_given_the_dag_run_then_every_task_has_a_start_and_a_complete_with_its_datasets(first_run):
    # GIVEN the OpenLineage events Airflow's provider wrote for the first run (by default, to its run folder)
    home, run = first_run
    _succeeded(run)
    from customer360.lineage import naming

    settings = Settings(home=home)
    events, run_id = _lineage_of_first_run(home)
    tasks: dict[str, list[dict]] = {}
    for event in events:
        airflow = event["run"]["facets"].get("airflow")
        if airflow and airflow["dagRun"]["run_id"] == run_id:
            tasks.setdefault(event["job"]["name"].removeprefix("customer360_daily."), []).append(event)
    # THEN every task of the DAG has one START and one COMPLETE, under the project's namespace
    expected_tasks = {f"ingest_{c}" for c in CHANNELS} | {
        "validate_raw", "dbt_staging", "validate_staging", "resolve_identity", "dbt_core", "fit_models",
        "dbt_analytics", "validate_marts", "publish", "activate", "summarize",
    }  # fmt: skip
    assert set(tasks) == expected_tasks
    for task_id, task_events in tasks.items():
        assert [e["eventType"] for e in task_events] == ["START", "COMPLETE"], task_id
        assert {e["job"]["namespace"] for e in task_events} == {"customer360"}, task_id

    def names(task_id: str, side: str) -> set[str]:
        return {d["name"] for d in tasks[task_id][-1][side]}

    table = lambda relation: naming.warehouse_table(settings, relation).name  # noqa: E731
    # AND the COMPLETE events name the expected datasets: landing files in, raw tables out for ingest ...
    for channel in CHANNELS:
        files = tasks[f"ingest_{channel}"][-1]["inputs"]
        assert files and {f["namespace"] for f in files} == {"file"}, channel
        assert all(f["name"].startswith(f"{home / 'landing' / channel}/") for f in files), channel
        assert names(f"ingest_{channel}", "outputs") == {
            table(f"raw.{channel}"), table("audit.file_manifest"), table("audit.quarantine")
        }  # fmt: skip
    assert {table(f"raw.{c}") for c in CHANNELS} <= names("validate_raw", "inputs")
    # ... each dbt build reads what the stage before it wrote and writes what the next one reads ...
    assert table("raw.web_orders") in names("dbt_staging", "inputs")
    assert table("intermediate.int_contact_records_unioned") in names("dbt_staging", "outputs")
    assert table("intermediate.int_contact_records_unioned") in names("resolve_identity", "inputs")
    assert table("identity.customer_source_xref") in names("resolve_identity", "outputs")
    assert table("identity.customer_source_xref") in names("dbt_core", "inputs")
    assert table("marts.dim_customers") in names("dbt_core", "outputs")
    assert table("analytics.churn_predictions") in names("fit_models", "outputs")
    assert table("analytics.churn_predictions") in names("dbt_analytics", "inputs")
    assert table("marts.customer_churn_risk") in names("dbt_analytics", "outputs")
    # ... and publish copies every published mart from the warehouse into the snapshot
    published = {naming.published_table(settings, mart).name for mart in run.summary["marts"]}
    assert names("publish", "outputs") == published
    assert {table(f"marts.{mart}") for mart in run.summary["marts"]} == names("publish", "inputs")
    # ... and activate reads the published audience mart and writes its state and the day's outbox folders
    assert naming.published_table(settings, "customer_audience_attributes").name in names(
        "activate", "inputs"
    )
    assert any(name.startswith(str(settings.outbox_dir)) for name in names("activate", "outputs"))


def test_given_the_dag_run_then_the_dbt_models_events_are_children_of_their_airflow_task(first_run):
    # GIVEN the first run's events: each dbt build's START names the Airflow task that ran it as its parent
    home, run = first_run
    _succeeded(run)
    from customer360.lineage import dbt_events

    events, run_id = _lineage_of_first_run(home)
    task_runs = {
        e["job"]["name"]: e["run"]["runId"]
        for e in events
        if e["eventType"] == "START"
        and e["run"]["facets"].get("airflow", {}).get("dagRun", {}).get("run_id") == run_id
    }
    for layer in ("staging", "core", "analytics"):
        builds = [
            e
            for e in events
            if e["job"]["name"] == dbt_events.job_name(layer)
            and e["run"]["facets"]["parent"]["run"]["runId"] == task_runs[f"customer360_daily.dbt_{layer}"]
        ]
        # THEN the build is a START and a COMPLETE under its task, with the DAG run as the root (a task's run
        # id is derived from its logical date and try, so the reruns' builds follow under the same parent) ...
        builds = builds[:2]
        assert [e["eventType"] for e in builds] == ["START", "COMPLETE"], layer
        assert builds[0]["run"]["runId"] == builds[1]["run"]["runId"], layer
        assert builds[0]["run"]["facets"]["parent"]["root"]["job"]["name"] == "customer360_daily"
        # ... and its models are children of the build, each with a COMPLETE naming its output table
        models = [
            e
            for e in events
            if e["run"]["facets"].get("parent", {}).get("run", {}).get("runId") == builds[0]["run"]["runId"]
            and e["job"]["name"].endswith(".build.run")
        ]
        assert {e["eventType"] for e in models} == {"START", "COMPLETE"}, layer
        assert all(len(e["outputs"]) == 1 for e in models if e["eventType"] == "COMPLETE"), layer
