"""KPIs defined once: every metric of the semantic layer (dbt_project/models/analytics/semantic), computed by
MetricFlow on a run's published snapshot, equals the figure of the mart it stands for; ``customer360 metrics``
and dbt-metricflow's ``mf query`` answer from the same definitions.

All read the session's ``single_run`` (tests/reliability/conftest.py): its snapshot read-only, and for ``mf``
(which opens the warehouse for writing) a copy of its warehouse; dbt parses into this module's own folder.
The checks are in tests/support/metric_checks.py; that run has no survey answers and no tickets, so NPS,
CSAT and the service metrics are checked on the larger run of tests/integration/test_daily_run.py, which
runs every check.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from customer360.analyst import connect_snapshot
from customer360.metrics import SemanticLayer
from customer360.settings import Settings
from customer360.warehouse import MARTS_FILE, marts_path
from tests.support import metric_checks
from tests.support.metric_checks import KPIS
from tests.support.pipeline_run import PROJECT
from tests.support.shared_runs import END

# Every test here reads a pipeline run (``single_run``), so they are end-to-end tests: `make test` runs them,
# `make test-fast` (unit, dbt unit tests, DAG integrity) does not start a pipeline run for them.
pytestmark = pytest.mark.slow

CUSTOMER_DIMENSIONS = ("customer__rfm_segment", "customer__value_tier", "customer__lifecycle_stage")


@pytest.fixture(scope="module")
def run_settings(single_run) -> Settings:
    return single_run[0]


@pytest.fixture(scope="module")
def semantic_work(tmp_path_factory) -> Path:
    """Where ``layer`` has dbt parse the project (one folder per source)."""
    return tmp_path_factory.mktemp("semantic")


@pytest.fixture(scope="module")
def layer(run_settings: Settings, semantic_work: Path):
    with SemanticLayer(run_settings, work_dir=semantic_work) as opened:
        yield opened


@pytest.fixture(scope="module")
def marts(run_settings: Settings):
    con = connect_snapshot(run_settings)
    yield con
    con.close()


def test_given_a_run_when_order_metrics_are_asked_by_day_and_channel_then_they_equal_fct_orders(layer, marts):
    metric_checks.check_order_metrics(layer, marts)


def test_given_a_run_when_active_customers_are_asked_over_the_rfm_window_then_they_equal_customer_rfm(
    layer, marts
):
    metric_checks.check_rfm_window_metrics(layer, marts, END)


def test_given_a_run_when_repeat_churn_and_clv_are_asked_by_tier_then_they_equal_the_marts(layer, marts):
    metric_checks.check_customer_state_metrics(layer, marts)


def test_given_the_semantic_layer_when_listed_then_every_kpi_has_the_date_and_customer_dimensions(
    layer,
):
    # GIVEN the semantic layer WHEN its metrics are listed
    listed = {metric["name"]: metric for metric in layer.metrics()}
    # THEN every KPI of the issue is there, described, and can be cut by date, segment, tier and stage
    assert set(KPIS) <= set(listed)
    for name in KPIS:
        assert listed[name]["description"], name
        assert "metric_time__day" in listed[name]["dimensions"], name
        assert set(CUSTOMER_DIMENSIONS) <= set(listed[name]["dimensions"]), name
    # AND by channel: sales channel for orders, contact channel for tickets, touchpoint for surveys
    assert "order__channel" in listed["revenue"]["dimensions"]
    assert "ticket__channel" in listed["sla_adherence"]["dimensions"]
    assert "survey_response__touchpoint" in listed["nps"]["dimensions"]
    assert "customer__preferred_channel" in listed["churn_rate"]["dimensions"]


def test_given_metricflow_s_engine_when_it_runs_a_query_itself_then_it_returns_what_the_compiled_sql_returns(
    layer,
):
    # GIVEN a request WHEN MetricFlow's engine runs it through the project's DuckDB client
    request = layer.request(
        ["revenue", "orders"], group_by=["metric_time__month"], order_by=["metric_time__month"]
    )
    result = layer.engine.query(request).result_df
    # THEN its rows are those of the SQL it compiles, run on the snapshot
    compiled = layer.connection.sql(
        layer.sql(["revenue", "orders"], group_by=["metric_time__month"])
    ).fetchall()
    assert [tuple(metric_checks.plain(v) for v in row) for row in result.rows] == sorted(
        tuple(metric_checks.plain(v) for v in row) for row in compiled
    )


def test_given_the_cli_when_a_metric_is_asked_as_json_then_it_prints_rows_and_a_typo_fails_clearly(
    run_settings, layer, semantic_work, tmp_path
):
    # GIVEN a home of its own (dbt parses there, starting from the parse ``layer`` saved for the same
    # snapshot: same profile, so dbt parses only what changed, as a user's second command does) and the
    # run's snapshot
    parsed = tmp_path / "home" / "dbt" / "semantic" / "published" / "target"
    parsed.mkdir(parents=True)
    shutil.copy2(semantic_work / "published" / "target" / "partial_parse.msgpack", parsed)
    env = {**os.environ, "CUSTOMER360_HOME": str(tmp_path / "home")}
    snapshot = run_settings.published_dir / "current"
    command = [sys.executable, "-m", "customer360.cli", "metrics", "--snapshot", str(snapshot)]
    # WHEN revenue is asked per month as JSON
    done = subprocess.run(
        [*command, "--metrics", "revenue", "--group-by", "metric_time__month", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    # THEN the rows sum to the revenue orders of fct_orders
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    con = connect_snapshot(run_settings)
    try:
        total = con.execute("select sum(net_amount) from fct_orders where is_revenue").fetchone()[0]
    finally:
        con.close()
    assert sum(row["revenue"] for row in rows) == pytest.approx(float(total), abs=0.005)
    # AND a misspelt metric fails with MetricFlow's message naming it
    failed = subprocess.run(
        [*command, "--metrics", "revenu"], capture_output=True, text=True, env=env, timeout=600
    )
    assert failed.returncode == 1
    assert "revenu" in failed.stderr and "MetricFlow cannot answer" in failed.stderr


def test_given_a_copy_of_the_warehouse_when_mf_query_runs_as_documented_then_it_equals_the_semantic_layer(
    run_settings, layer, tmp_path
):
    # GIVEN the documented invocation: the dbt project as working directory, the warehouse's path, dbt parse
    # (mf opens the warehouse for writing: it reads a copy, as it must wait for no run to hold the original)
    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    warehouse = tmp_path / "warehouse" / run_settings.warehouse_path.name
    warehouse.parent.mkdir()
    shutil.copy2(run_settings.warehouse_path, warehouse)
    shutil.copy2(marts_path(run_settings), warehouse.parent / MARTS_FILE)  # the marts' own file beside it
    env = {
        **os.environ,
        "CUSTOMER360_WAREHOUSE_FILE": str(warehouse),
        "CUSTOMER360_TARGET": "duckdb",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    for name in ("DBT_TARGET_PATH", "DBT_LOG_PATH", "DBT_PROFILES_DIR", "DBT_PROJECT_DIR"):
        env.pop(name, None)
    bin_dir = Path(sys.executable).parent
    parsed = subprocess.run(
        [str(bin_dir / "dbt"), "parse", "--quiet"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    # WHEN mf query asks for revenue and SLA adherence per month
    out = tmp_path / "mf.csv"
    done = subprocess.run(
        [
            str(bin_dir / "mf"),
            "query",
            "--metrics",
            "revenue,orders",
            "--group-by",
            "metric_time__month",
            "--csv",
            str(out),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # THEN its rows are the semantic layer's on the published snapshot of the same run
    with out.open(encoding="utf-8") as handle:
        mf_rows = {
            row["metric_time__month"][:10]: (float(row["revenue"]), float(row["orders"]))
            for row in csv.DictReader(handle)
        }
    by_month = metric_checks.metric_rows(layer, ["revenue", "orders"], group_by=["metric_time__month"])
    expected = {key[0]: values for key, values in by_month.items()}
    assert mf_rows.keys() == expected.keys() and mf_rows
    for month, values in expected.items():
        assert mf_rows[month] == pytest.approx(values, abs=0.005), month
