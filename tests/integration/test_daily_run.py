"""End to end: generated data → the real DAG (Airflow, SQLite metadata) → published marts; then a rerun of
the same date changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from customer360.publish import current_database
from customer360.publish.snapshot import table_checksums
from customer360.settings import Settings

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[2]
LOGICAL_DATE = date(2026, 11, 20)
CORE_MARTS = ("dim_customers", "fct_orders", "customer_rfm")


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


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
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
    result = _run(home, "run", "--date", LOGICAL_DATE.isoformat(), "--no-generate")
    return home, result


def _summary(home: Path) -> dict:
    return json.loads((home / "runs" / LOGICAL_DATE.isoformat() / "summary.json").read_text())


def test_given_generated_data_when_the_dag_runs_then_it_succeeds_and_prints_the_summary(first_run):
    home, result = first_run
    assert result.returncode == 0, (result.stdout[-4000:], result.stderr[-4000:])
    assert "Ingest per channel" in result.stdout
    assert "Expectations per stage" in result.stdout
    summary = _summary(home)
    assert summary["status"] == "success", summary["problems"]


def test_given_the_run_then_every_channel_reconciles_read_equals_loaded_plus_quarantined(first_run):
    home, _ = first_run
    for channel, info in _summary(home)["channels"].items():
        assert info["status"] == "ok", channel
        assert info["rows_read"] > 0, channel
        assert info["rows_read"] == info["rows_loaded"] + info["rows_quarantined"], channel


def test_given_the_run_then_quality_gates_passed_and_core_marts_are_published(first_run):
    home, _ = first_run
    summary = _summary(home)
    for layer in ("raw", "staging", "marts"):
        assert summary["quality"][layer]["status"] == "ok", layer
        assert summary["quality"][layer]["failed"] == 0, layer
        assert summary["quality"][layer]["passed"] > 0, layer
    for mart in CORE_MARTS:
        assert summary["marts"].get(mart, 0) > 0, mart


def test_given_a_rerun_of_the_same_date_then_every_mart_is_unchanged(first_run):
    home, _ = first_run
    settings = Settings(home=home)
    before = table_checksums(current_database(settings))
    again = _run(home, "run", "--date", LOGICAL_DATE.isoformat(), "--no-generate")
    assert again.returncode == 0, again.stdout[-3000:]
    after = table_checksums(current_database(settings))
    assert after == before
    # nothing was loaded twice: every file is 'unchanged' the second time
    for channel, info in _summary(home)["channels"].items():
        assert info.get("rows_loaded", 0) == 0, channel


def test_given_the_run_then_every_idic_mart_is_populated_and_consistent_with_the_profiles(first_run):
    home, _ = first_run
    import duckdb

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
