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
        home, "generate", "--customers", "400", "--days", "60", "--seed", "7",
        "--end-date", LOGICAL_DATE.isoformat(), "--out", str(home / "landing"),
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
