"""The staging and core layers' build plans: incremental after a recorded build, in full when they must be."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pytest

from customer360.incremental import BUILDS_DDL, BuildPlan, plan_build, record_build
from customer360.ingest.schema import _AUDIT_DDL
from customer360.settings import Settings

DAY = date(2026, 11, 20)
VARS = {"as_of_date": DAY.isoformat(), "rfm_window_days": 365}


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.delenv("CUSTOMER360_FULL_REFRESH", raising=False)
    s = Settings(home=tmp_path)
    s.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(s.warehouse_path))
    con.execute("create schema audit")
    for ddl in _AUDIT_DDL:
        con.execute(ddl)
    con.close()
    return s


def _manifest(settings: Settings, source_file: str, load_date: date, ingested_at: datetime) -> None:
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute(
        "insert into audit.file_manifest values "
        "('web_orders', ?, ?, 'sha', 1, 1, 1, 0, 'loaded', '', 'r', ?)",
        [load_date, source_file, ingested_at],
    )
    con.close()


def _built(
    settings: Settings, as_of: date, started_at: datetime, vars_: dict = VARS, layer: str = "staging"
) -> BuildPlan:
    plan = BuildPlan(layer, as_of, True, "test", _fingerprint(settings, vars_, layer), started_at=started_at)
    record_build(settings, plan, f"run-{as_of}")
    return plan


def _identity_change(settings: Settings, record_id: str | None, changed_at: datetime) -> None:
    """One row of identity's change log (``record_id`` None: every record)."""
    from customer360.identity.changes import CHANGES_DDL, CHANGES_TABLE

    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("create schema if not exists identity")
    con.execute(CHANGES_DDL)
    channel = None if record_id is None else "web"
    con.execute(f"insert into {CHANGES_TABLE} values (?, ?, ?)", [channel, record_id, changed_at])
    con.close()


def _identity_changes(settings: Settings) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path))
    rows = con.execute(
        "select source_record_id, changed_at from identity.record_changes order by changed_at"
    ).fetchall()
    con.close()
    return rows


def _fingerprint(settings: Settings, vars_: dict, layer: str = "staging") -> str:
    from customer360.incremental import fingerprint

    return fingerprint(settings, vars_, layer)


def test_given_no_recorded_build_then_the_first_build_is_a_full_refresh(settings):
    plan = plan_build(settings, "staging", DAY, VARS)
    assert plan.full_refresh and plan.reason == "no earlier build recorded"
    assert plan.dbt_vars() == {}


def test_given_a_build_yesterday_then_today_is_incremental_from_yesterdays_date(settings):
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1))
    plan = plan_build(settings, "staging", DAY, VARS)
    assert not plan.full_refresh
    assert plan.since_as_of == DAY - timedelta(days=1)
    assert plan.dbt_vars() == {
        "incremental_since_as_of": "2026-11-19",
        "incremental_files": [],
        "incremental_files_from": None,
    }


def test_given_a_late_file_for_an_earlier_date_then_the_incremental_build_names_it(settings):
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1))
    _manifest(settings, "web_orders/2026-11-10/late.jsonl", date(2026, 11, 10), datetime(2026, 11, 21, 1))
    _manifest(settings, "web_orders/2026-11-20/new.jsonl", DAY, datetime(2026, 11, 21, 1))
    _manifest(settings, "web_orders/2026-11-09/old.jsonl", date(2026, 11, 9), datetime(2026, 11, 10, 1))
    plan = plan_build(settings, "staging", DAY, VARS)
    # the day's own file is covered by the date window; only the late file is listed
    assert not plan.full_refresh
    assert plan.late_files == ["web_orders/2026-11-10/late.jsonl"]
    assert "1 late file" in plan.reason


def test_given_late_files_of_several_dates_then_the_plan_passes_the_earliest_date(settings):
    # GIVEN two late files, for 2026-11-12 and 2026-11-08; WHEN the daily build is planned; THEN the
    # identity-input models learn the earliest date a newly delivered raw row can carry
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1))
    _manifest(settings, "web_orders/2026-11-12/late.jsonl", date(2026, 11, 12), datetime(2026, 11, 21, 1))
    _manifest(settings, "web_orders/2026-11-08/late.jsonl", date(2026, 11, 8), datetime(2026, 11, 21, 2))
    plan = plan_build(settings, "staging", DAY, VARS)
    assert plan.late_files == ["web_orders/2026-11-08/late.jsonl", "web_orders/2026-11-12/late.jsonl"]
    assert plan.late_from == date(2026, 11, 8)
    assert plan.dbt_vars()["incremental_files_from"] == "2026-11-08"


def test_given_an_earlier_date_than_the_last_build_then_it_is_a_full_refresh(settings):
    _built(settings, DAY, datetime(2026, 11, 21, 1))
    plan = plan_build(settings, "staging", DAY - timedelta(days=3), VARS)
    assert plan.full_refresh and plan.reason.startswith("backfill")


def test_given_a_file_reloaded_with_new_content_then_it_is_a_full_refresh(settings):
    _manifest(settings, "web_orders/2026-11-18/a.jsonl", date(2026, 11, 18), datetime(2026, 11, 18, 1))
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1))
    _manifest(settings, "web_orders/2026-11-18/a.jsonl", date(2026, 11, 18), datetime(2026, 11, 21, 1))
    plan = plan_build(settings, "staging", DAY, VARS)
    assert plan.full_refresh and "reloaded" in plan.reason


def test_given_changed_settings_then_it_is_a_full_refresh(settings):
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1))
    plan = plan_build(settings, "staging", DAY, {**VARS, "rfm_window_days": 180})
    assert plan.full_refresh and "changed" in plan.reason


def test_given_an_erasure_since_the_last_build_then_it_is_a_full_refresh(settings):
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1))
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute(
        "create table audit.erasure_log (request_id varchar, processed_at timestamp not null, status varchar)"
    )
    con.execute("insert into audit.erasure_log values ('r1', ?, 'done')", [datetime(2026, 11, 20, 12)])
    con.close()
    plan = plan_build(settings, "staging", DAY, VARS)
    assert plan.full_refresh and "erasure" in plan.reason


def test_given_the_setting_then_it_is_a_full_refresh(settings, monkeypatch):
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1))
    monkeypatch.setenv("CUSTOMER360_FULL_REFRESH", "true")
    plan = plan_build(Settings(home=settings.home), "staging", DAY, VARS)
    assert plan.full_refresh and "CUSTOMER360_FULL_REFRESH" in plan.reason


def test_builds_are_recorded_with_their_mode(settings):
    _built(settings, DAY, datetime(2026, 11, 21, 1))
    con = duckdb.connect(str(settings.warehouse_path))
    rows = con.execute("select layer, as_of_date, full_refresh from audit.dbt_layer_builds").fetchall()
    con.close()
    assert rows == [("staging", DAY, True)]
    assert "create table if not exists audit.dbt_layer_builds" in BUILDS_DDL


def test_given_no_recorded_core_build_then_the_core_layer_is_rebuilt_in_full_by_var_not_flag(settings):
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1))  # a staging build is not a core one
    plan = plan_build(settings, "core", DAY, VARS)
    assert plan.full_refresh and plan.reason == "no earlier build recorded"
    # --full-refresh would also empty the history marts: the core models read a var instead
    assert not plan.full_refresh_flag
    assert plan.dbt_vars() == {"marts_full_rebuild": True}


def test_given_a_core_build_yesterday_then_today_the_core_layer_is_incremental_from_its_date(settings):
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1), layer="core")
    _identity_change(settings, "sig-a", datetime(2026, 11, 20, 0, 30))  # consumed by that build
    _manifest(settings, "web_orders/2026-11-15/late.jsonl", date(2026, 11, 15), datetime(2026, 11, 20, 9))
    staging = BuildPlan("staging", DAY, False, "test", "print", started_at=datetime(2026, 11, 20, 9, 30))
    record_build(settings, staging, "run-staging")
    plan = plan_build(settings, "core", DAY, VARS)
    assert not plan.full_refresh and not plan.full_refresh_flag
    # the order models recompute the orders with rows delivered since the core layer's own last build; the
    # source-record models follow identity's changes since that build started, and the golden record
    # compares the records the one staging build since then listed
    assert plan.dbt_vars() == {
        "marts_full_rebuild": False,
        "incremental_since_as_of": "2026-11-19",
        "incremental_files": ["web_orders/2026-11-15/late.jsonl"],
        "incremental_files_from": "2026-11-15",
        "incremental_identity_since": "2026-11-20 01:00:00",
        "incremental_staging_builds": 1,
    }


def test_given_no_identity_change_log_then_the_core_layer_is_rebuilt_in_full(settings):
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1), layer="core")
    # no identity.record_changes: a warehouse from before the log was kept
    plan = plan_build(settings, "core", DAY, VARS)
    assert plan.full_refresh and "identity.record_changes) is missing" in plan.reason


def test_given_identities_resolved_from_scratch_since_the_core_build_then_core_is_rebuilt_in_full(settings):
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1), layer="core")
    _identity_change(settings, None, datetime(2026, 11, 20, 0, 30))  # before that build: consumed
    assert not plan_build(settings, "core", DAY, VARS).full_refresh
    _identity_change(settings, None, datetime(2026, 11, 20, 8))
    plan = plan_build(settings, "core", DAY, VARS)
    assert plan.full_refresh and "no earlier answer" in plan.reason


def test_given_a_core_build_then_identity_changes_before_it_started_are_deleted_and_later_ones_kept(settings):
    _identity_change(settings, "sig-a", datetime(2026, 11, 20, 0, 30))
    _identity_change(settings, "sig-b", datetime(2026, 11, 20, 2))
    _built(settings, DAY, datetime(2026, 11, 20, 1), layer="core")
    assert _identity_changes(settings) == [("sig-b", datetime(2026, 11, 20, 2))]
    # a staging build leaves them alone
    _built(settings, DAY, datetime(2026, 11, 20, 3))
    assert _identity_changes(settings) == [("sig-b", datetime(2026, 11, 20, 2))]


def test_given_the_staging_layer_rebuilt_in_full_since_the_core_build_then_core_is_rebuilt_too(settings):
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1), layer="core")
    _built(settings, DAY, datetime(2026, 11, 21, 1))  # staging, in full (as _built records it)
    plan = plan_build(settings, "core", DAY, VARS)
    assert plan.full_refresh and "staging layer was rebuilt in full" in plan.reason


@pytest.mark.parametrize(
    ("as_of", "vars_", "reason"),
    [
        (DAY - timedelta(days=3), VARS, "backfill"),
        (DAY, {**VARS, "rfm_window_days": 180}, "changed"),
    ],
)
def test_given_a_backfill_or_changed_settings_then_the_core_layer_is_rebuilt_in_full(
    settings, as_of, vars_, reason
):
    _built(settings, DAY - timedelta(days=1), datetime(2026, 11, 20, 1), layer="core")
    plan = plan_build(settings, "core", as_of, vars_)
    assert plan.full_refresh and reason in plan.reason
    assert plan.dbt_vars() == {"marts_full_rebuild": True}


def test_the_core_fingerprint_covers_the_marts_and_the_staging_one_does_not(settings):
    from customer360.incremental import project_files

    root = settings.dbt_project_dir
    golden = root / "models/core/intermediate/customers/int_customers_golden_record.sql"
    assert golden in project_files(settings, "core")
    assert golden not in project_files(settings, "staging")
    identity_input = root / "models/staging/identity_input/int_contact_records.sql"
    assert identity_input in project_files(settings, "staging")


def test_the_fingerprint_ignores_the_run_context_and_follows_the_settings(settings):
    # The run context (customer360.dbt_runner.RUN_CONTEXT_VARS) changes every run; the settings' vars do not.
    daily = {
        **VARS,
        "as_of_date": (DAY + timedelta(days=1)).isoformat(),
        "incremental_since_as_of": DAY.isoformat(),
        "incremental_files": ["web_orders/2026-11-18/late.csv"],
        "incremental_files_from": "2026-11-18",
    }
    assert _fingerprint(settings, daily) == _fingerprint(settings, VARS)
    assert _fingerprint(settings, {**VARS, "rfm_window_days": 180}) != _fingerprint(settings, VARS)


def test_given_daily_core_builds_then_whole_table_tests_run_on_full_rebuilds_and_the_first_build_of_a_week():
    # GIVEN core builds: a full rebuild, an incremental one in the same ISO week as the previous build, and
    # one whose previous build was in the week before (Monday 2026-11-23 after Sunday 2026-11-22)
    full = BuildPlan("core", date(2026, 11, 25), True, "test", "print")
    same_week = BuildPlan("core", date(2026, 11, 25), False, "test", "print", since_as_of=date(2026, 11, 24))
    new_week = BuildPlan("core", date(2026, 11, 23), False, "test", "print", since_as_of=date(2026, 11, 22))
    two_weeks = BuildPlan("core", date(2026, 11, 25), False, "test", "print", since_as_of=date(2026, 11, 12))
    staging = BuildPlan("staging", date(2026, 11, 25), False, "test", "print", since_as_of=date(2026, 11, 24))
    # THEN only the daily build within a week leaves the whole-table tests out (selector core_daily); a build
    # without a daily selector (staging) always uses its own
    plans = (full, same_week, new_week, two_weeks)
    assert [p.whole_table_tests for p in plans] == [True, False, True, True]
    assert [p.selector for p in plans] == ["core", "core_daily", "core", "core"]
    assert (staging.whole_table_tests, staging.selector) == (False, "staging")
    assert same_week.as_dict()["whole_table_tests"] is False
