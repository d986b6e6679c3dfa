"""Lineage without a pipeline run: where events go (the run folder; Marquez only when configured), the names
of the datasets, and the table lists ``customer360.lineage.tasks`` keeps beside the stages' own constants.

The events of real runs are checked where the runs are: tests/reliability/test_lineage.py (dbt, the shared
session run) and tests/integration/test_daily_run.py (every Airflow task of ``customer360 run``).
"""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import nominal_time_run
from openlineage.client.uuid import generate_new_uuid

from customer360.airflow_setup import airflow_env
from customer360.lineage import naming, tasks, transport
from customer360.settings import Settings


def _event(nominal_start: str | None = None, event_time: str = "2026-12-07T10:00:00+00:00") -> RunEvent:
    facets = {}
    if nominal_start:
        facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(nominalStartTime=nominal_start)
    return RunEvent(
        eventType=RunState.START,
        eventTime=event_time,
        run=Run(runId=str(generate_new_uuid()), facets=facets),
        job=Job(namespace="customer360", name="customer360_daily.ingest_web_orders"),
        producer="tests",
    )


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("OPENLINEAGE_URL", "CUSTOMER360_OPENLINEAGE_URL", "OPENLINEAGE_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    return Settings(home=tmp_path)


def test_given_events_of_two_dates_when_emitted_then_each_lands_in_its_run_folder(settings):
    # GIVEN the client the pipeline builds without a URL, and events of two logical dates
    client = transport.client(settings)
    assert isinstance(client.transport, transport.RunFolderTransport)
    # WHEN they are emitted
    client.emit(_event("2026-11-20T00:00:00+00:00"))
    client.emit(_event("2026-11-21T00:00:00+00:00"))
    client.emit(_event("2026-11-20T00:00:00+00:00"))
    # THEN each date's run folder holds its own events, one JSON line each
    assert len(_lines(transport.events_path(settings, date(2026, 11, 20)))) == 2
    assert len(_lines(transport.events_path(settings, "2026-11-21"))) == 1


def test_given_a_fixed_run_date_when_an_event_has_another_date_then_the_fixed_date_wins(settings):
    transport.client(settings, date(2026, 11, 20)).emit(_event("2026-01-01T00:00:00+00:00"))
    assert len(_lines(transport.events_path(settings, date(2026, 11, 20)))) == 1


def test_given_an_airflow_dag_run_when_dated_then_its_logical_date_wins_over_the_data_interval():
    # `airflow dags test customer360_daily D` runs for D with the data interval [D-1, D): the pipeline runs
    # for the logical date, and so its events go to D's folder
    class Facet:
        dagRun = {
            "logical_date": "2026-11-20T00:00:00+00:00",
            "data_interval_start": "2026-11-19T00:00:00+00:00",
        }

    event = _event("2026-11-19T00:00:00+00:00")
    event.run.facets["airflow"] = Facet()
    assert transport.event_date(event) == "2026-11-20"
    assert transport.event_date(_event(None, event_time="2026-12-07T23:59:00+00:00")) == "2026-12-07"


def test_given_no_url_when_airflow_is_configured_then_only_the_run_folder_transport_is_set(settings):
    env = airflow_env(settings, base={})
    config = json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert config == {
        "type": "customer360.lineage.transport.RunFolderTransport",
        "runs_dir": str(settings.runs_dir),
    }
    assert (
        env["AIRFLOW__OPENLINEAGE__EXTRACTORS"] == "customer360.lineage.airflow_extractor.DailyTaskExtractor"
    )
    assert env["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "customer360"
    assert "http" not in env["AIRFLOW__OPENLINEAGE__TRANSPORT"]


def test_given_lineage_disabled_or_a_users_transport_when_airflow_is_configured_then_they_are_respected(
    tmp_path,
):
    disabled = Settings(home=tmp_path, lineage_enabled=False)
    assert airflow_env(disabled, base={})["AIRFLOW__OPENLINEAGE__DISABLED"] == "True"
    own = '{"type": "console"}'
    env = airflow_env(Settings(home=tmp_path), base={"AIRFLOW__OPENLINEAGE__TRANSPORT": own})
    assert env["AIRFLOW__OPENLINEAGE__TRANSPORT"] == own


class _Marquez(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Marquez.received.append((self.path, json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_given_a_marquez_url_when_events_are_emitted_then_marquez_and_the_run_folder_both_get_them(
    tmp_path, monkeypatch
):
    # GIVEN a local OpenLineage HTTP endpoint standing for Marquez, set as the lineage URL
    monkeypatch.setattr(transport, "_http_paused_until", 0.0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Marquez)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Marquez.received.clear()
    try:
        settings = Settings(home=tmp_path, openlineage_url=f"http://127.0.0.1:{server.server_address[1]}")
        # WHEN an event is emitted
        client = transport.client(settings)
        event = _event("2026-11-20T00:00:00+00:00")
        client.emit(event)
        client.close(timeout=5)
    finally:
        server.shutdown()
    # THEN Marquez's lineage endpoint received it, and the run folder has it too
    assert [(path, body["run"]["runId"]) for path, body in _Marquez.received] == [
        ("/api/v1/lineage", event.run.runId)
    ]
    assert _lines(transport.events_path(settings, "2026-11-20"))[0]["run"]["runId"] == event.run.runId


class _Down(BaseHTTPRequestHandler):
    requests = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        _Down.requests += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_given_a_marquez_that_fails_when_a_run_emits_many_events_then_it_is_asked_once_and_nothing_is_lost(
    tmp_path, monkeypatch
):
    # GIVEN an OpenLineage endpoint that answers every POST with 503
    monkeypatch.setattr(transport, "_http_paused_until", 0.0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Down)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Down.requests = 0
    try:
        settings = Settings(home=tmp_path, openlineage_url=f"http://127.0.0.1:{server.server_address[1]}")
        client = transport.client(settings)
        # WHEN a build's worth of events is emitted
        for _ in range(40):
            client.emit(_event("2026-11-20T00:00:00+00:00"))
    finally:
        server.shutdown()
    # THEN the endpoint got the first event and its retries only (three tries), not 40 events' retries, and
    # every event is in the run folder
    assert _Down.requests == 3
    assert len(_lines(transport.events_path(settings, "2026-11-20"))) == 40


def test_given_the_warehouse_targets_when_named_then_names_follow_the_dbt_integration(tmp_path):
    duck = Settings(home=tmp_path)
    table = naming.warehouse_table(duck, "raw.web_orders")
    assert (table.namespace, table.name) == (f"duckdb://{duck.warehouse_path}", "customer360.raw.web_orders")
    pg = Settings(home=tmp_path, target="postgres", postgres_url="postgresql://u:secret@db.example:5433/crm")
    table = naming.warehouse_table(pg, "marts.dim_customers")
    assert (table.namespace, table.name) == ("postgres://db.example:5433", "crm.marts.dim_customers")
    assert "secret" not in table.namespace
    landing = naming.local_file(tmp_path / "landing" / "web_orders" / "2026-11-20" / "orders.jsonl")
    assert landing.namespace == "file" and landing.name.startswith("/")
    published = naming.published_table(duck, "dim_customers")
    assert published.name == "marts.main.dim_customers" and published.namespace.endswith(
        "current/marts.duckdb"
    )


def test_given_manifest_nodes_when_named_then_each_is_under_its_own_database_as_the_dbt_integration_does(
    tmp_path,
):
    # GIVEN nodes as dbt's manifest has them on the DuckDB target: a mart in the marts file (database `marts`,
    # schema `main`), a staging model and a source in the warehouse, and a node with no database (Spark)
    duck = Settings(home=tmp_path)
    mart = {"database": "marts", "schema": "main", "alias": "dim_customers", "name": "dim_customers"}
    staged = {"database": "customer360", "schema": "staging", "alias": "stg_orders", "name": "stg_orders"}
    source = {"database": "customer360", "schema": "raw", "identifier": "web_orders", "name": "web_orders"}
    no_database = {"database": None, "schema": "staging", "alias": "stg_orders", "name": "stg_orders"}
    # WHEN named for the tasks' lineage
    names = [tasks._relation(duck, n) for n in (mart, staged, source, no_database)]
    # THEN the mart is where it is, as publish's inputs name it, and the rest are the warehouse's
    assert names == [
        naming.warehouse_table(duck, "marts.dim_customers").name,
        "customer360.staging.stg_orders",
        "customer360.raw.web_orders",
        f"{naming.warehouse_database(duck)}.staging.stg_orders",
    ]
    assert names[0] == "marts.main.dim_customers"
    table = naming.dbt_table(duck, names[0])
    assert (table.namespace, table.name) == (naming.warehouse_namespace(duck), "marts.main.dim_customers")


def test_given_the_stages_modules_then_the_lineage_table_lists_name_their_tables():
    # The lineage keeps the Python stages' tables as names (so that computing it imports no stage); they must
    # be the tables the stages really read and write.
    from customer360.churn import stage as churn_stage
    from customer360.churn import warehouse_features
    from customer360.clv import stage as clv_stage
    from customer360.identity import changes, households, records, resolution, stable_ids
    from customer360.ingest import schema
    from customer360.model_runs import MODEL_RUNS_TABLE

    assert set(tasks.INGEST_AUDIT_TABLES) == {schema.MANIFEST_TABLE, schema.QUARANTINE_TABLE}
    assert set(tasks.IDENTITY_INPUTS) == {records.INPUT_TABLE, records.MEMBERS_TABLE}
    assert set(tasks.IDENTITY_OUTPUTS) == {
        resolution.CONTACT_POINTS_TABLE,
        resolution.MATCH_EDGES_TABLE,
        resolution.RUNS_TABLE,
        households.HOUSEHOLD_KEYS_TABLE,
        changes.CHANGES_TABLE,
        stable_ids.REGISTRY_TABLE,
        stable_ids.XREF_TABLE,
        stable_ids.HISTORY_TABLE,
        stable_ids.ALIASES_TABLE,
    }
    assert set(tasks.MODEL_INPUTS) == {clv_stage.SOURCE_TABLE, warehouse_features.FEATURES_TABLE}
    assert set(tasks.MODEL_OUTPUTS) == {
        clv_stage.PREDICTIONS_TABLE,
        clv_stage.RUNS_TABLE,
        clv_stage.VALIDATION_TABLE,
        churn_stage.PREDICTIONS_TABLE,
        churn_stage.RUNS_TABLE,
        MODEL_RUNS_TABLE,
    }


def test_given_the_activation_modules_then_the_activate_task_names_their_mart_and_state_tables(tmp_path):
    # GIVEN the activation stage's own names for the mart it reads and the state tables it writes
    from customer360.activation import state
    from customer360.activation.audiences import ATTRIBUTES_MART

    assert tasks.ACTIVATION_INPUT_MART == ATTRIBUTES_MART
    ddl = " ".join(state.DDL)
    assert all(f"{{s}}.{table} (" in ddl for table in tasks.ACTIVATION_STATE_TABLES)
    # WHEN the activate task's lineage is asked before a run (no deliveries known yet)
    settings = Settings(home=tmp_path)
    lineage = tasks.task_lineage(settings, "activate")
    # THEN it reads the audience file and the published mart, and writes the state tables
    assert [d.name for d in lineage.inputs] == [
        str(settings.activation_file.resolve()),
        f"marts.main.{ATTRIBUTES_MART}",
    ]
    assert {d.name for d in lineage.outputs} == {
        f"activation.{state.STATE}.{table}" for table in tasks.ACTIVATION_STATE_TABLES
    }


def test_given_a_task_of_another_dag_or_an_unknown_task_then_no_lineage_is_claimed(tmp_path):
    assert tasks.task_lineage(Settings(home=tmp_path), "erase_subject") is None
    assert tasks.task_lineage(Settings(home=tmp_path), "ingest_unknown_channel") is None
