"""The pipeline's dbt runner passes the run's date and incremental window as environment variables, so that
``--vars`` stay the same from run to run and dbt keeps its partial parsing (customer360.dbt_runner,
dbt_project/macros/run_context.sql).

Two staging builds for consecutive dates on the small raw fixture: the second one must not parse the whole
project again, and its compiled SQL must still carry its own date and window, not the first build's.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import date
from pathlib import Path

import pytest

from customer360 import dbt_runner
from customer360.settings import Settings

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures"


def _raw_warehouse():
    spec = importlib.util.spec_from_file_location(
        "customer360_test_raw_warehouse", FIXTURES_DIR / "raw_warehouse.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _log_lines_since(log_path: Path, offset: int) -> str:
    with log_path.open(encoding="utf-8", errors="replace") as fh:
        fh.seek(offset)
        return fh.read()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings(home=tmp_path / "home", duckdb_memory_limit="1GB")
    s.warehouse_path.parent.mkdir(parents=True)
    _raw_warehouse().build_raw_warehouse(s.warehouse_path)
    return s


def test_split_run_context_keeps_vars_stable_across_days_and_layers() -> None:
    day_one = {"as_of_date": "2026-11-23", "rfm_window_days": 365}
    day_two = {
        "as_of_date": "2026-11-24",
        "rfm_window_days": 365,
        "incremental_since_as_of": "2026-11-23",
        "incremental_files": ["crm_contacts/2026-11-20/late.csv"],
        "incremental_files_from": "2026-11-20",
    }
    stable_one, context_one = dbt_runner.split_run_context(day_one)
    stable_two, context_two = dbt_runner.split_run_context(day_two)
    assert stable_one == stable_two == {"rfm_window_days": 365, "marts_full_rebuild": False}
    assert context_two["incremental_files"] == ["crm_contacts/2026-11-20/late.csv"]
    env = dbt_runner.run_context_environment(context_one)
    assert env["CUSTOMER360_RUN_AS_OF_DATE"] == json.dumps("2026-11-23")
    # unset values are written as empty, so that nothing from an earlier call or the shell is read
    assert env["CUSTOMER360_RUN_INCREMENTAL_SINCE_AS_OF"] == ""
    assert dbt_runner.split_run_context({"marts_full_rebuild": True})[0] == {"marts_full_rebuild": True}


def test_given_two_daily_builds_when_the_second_runs_then_dbt_parses_partially_with_the_new_date(
    settings: Settings,
) -> None:
    first = dbt_runner.build(settings, "staging", date(2026, 11, 23))
    assert first.success
    log_path = settings.home / "dbt" / "logs" / "dbt.log"
    offset = log_path.stat().st_size

    second = dbt_runner.build(
        settings,
        "staging",
        date(2026, 11, 24),
        extra_vars={"incremental_since_as_of": "2026-11-23", "incremental_files": []},
    )
    assert second.success
    log = _log_lines_since(log_path, offset)
    assert "Unable to do partial parsing" not in log, log[-3000:]
    assert "Partial parsing enabled" in log, log[-3000:]

    compiled = (
        settings.home
        / "dbt"
        / "target"
        / "compiled"
        / "customer360"
        / "models"
        / "staging"
        / "pos"
        / "stg_pos__transaction_lines.sql"
    )
    sql = compiled.read_text(encoding="utf-8")
    assert "cast('2026-11-24' as date)" in sql
    assert "cast('2026-11-23' as date)" in sql  # the incremental window's start, from the run context
