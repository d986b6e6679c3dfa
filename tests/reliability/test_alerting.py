"""Data-quality alerting: volume and freshness per channel, broken checks told apart from bad data end to end,
SCD2 history checks, and marts held back from publishing when their checks fail.

Volume and freshness run on a hand-written ``audit.file_manifest``; the gate tests run the real marts
checkpoint (Great Expectations) through ``pipeline.validate`` on the quality tests' small warehouse
(tests/support/quality_warehouse.py), with a copy of the project's suites when a broken check is needed.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from customer360 import pipeline
from customer360.landing.contract import CHANNELS
from customer360.publish import current_database
from customer360.publish.snapshot import publish_marts, table_checksums
from customer360.quality.alerting import (
    VOLUME_HISTORY_DATES,
    channel_alerts,
    freshness_sql,
    held_back_marts,
    volume_anomaly_sql,
)
from customer360.settings import PROJECT_DIR, Settings
from tests.support import quality_warehouse

DAY = date(2026, 11, 20)


def _manifest(path: Path, rows: list[tuple[str, date, int]]) -> None:
    """A manifest with one loaded file per (channel, date, rows_loaded)."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists audit")
        con.execute(
            "create table audit.file_manifest (channel varchar, load_date date, source_file varchar, "
            "file_sha256 varchar, file_bytes bigint, rows_read bigint, rows_loaded bigint, "
            "rows_quarantined bigint, "
            "status varchar, message varchar, run_id varchar, ingested_at timestamp)"
        )
        con.executemany(
            "insert into audit.file_manifest values (?, ?, ?, 'sha', 1, ?, ?, 0, 'loaded', '', 'r', "
            "timestamp '2026-11-21 00:00')",
            [(c, d, f"{c}/{d}/{c}.csv", n, n) for c, d, n in rows],
        )


def _history(channel: str, rows: int, dates: int = VOLUME_HISTORY_DATES) -> list[tuple[str, date, int]]:
    return [(channel, DAY - timedelta(days=i), rows + i) for i in range(1, dates + 1)]


@pytest.fixture
def manifest_home(tmp_path) -> Settings:
    settings = Settings(home=tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    rows = []
    for channel in CHANNELS:
        rows += _history(channel, 100)
    rows += [
        ("crm_contacts", DAY, 10),  # 90% fewer than the median: alert
        ("web_orders", DAY, 25),  # 76% fewer: no alert (below the 80% line)
        ("pos_transactions", DAY, 104),
        ("support_tickets", DAY, 0),  # an empty file: 100% fewer, alert
        ("marketing_events", DAY, 98),
        # surveys: no file for DAY
    ]
    _manifest(settings.warehouse_path, rows)
    return settings


def test_given_a_channel_with_80_percent_fewer_rows_than_its_recent_median_then_a_volume_warning_says_so(
    manifest_home,
):
    alerts = {(a.channel, a.kind): a.message for a in channel_alerts(manifest_home, DAY)}
    volume = {channel for channel, kind in alerts if kind == "volume"}
    assert volume == {"crm_contacts", "support_tickets"}
    assert alerts[("crm_contacts", "volume")] == (
        "crm_contacts: 10 rows loaded for 2026-11-20, 90% fewer than the median of 104.0 over the previous 7 "
        "loaded dates (2026-11-13 to 2026-11-19)"
    )


def test_given_a_channel_without_a_file_for_the_date_then_freshness_warns_and_volume_stays_silent(
    manifest_home,
):
    alerts = channel_alerts(manifest_home, DAY)
    assert [(a.channel, a.message) for a in alerts if a.kind == "freshness"] == [
        ("surveys", "no file for surveys on 2026-11-20 by the run")
    ]
    assert "surveys" not in {a.channel for a in alerts if a.kind == "volume"}


def test_given_too_little_history_then_no_volume_judgement_is_made(tmp_path):
    path = tmp_path / "w.duckdb"
    _manifest(path, _history("crm_contacts", 100, dates=2) + [("crm_contacts", DAY, 1)])
    with duckdb.connect(str(path)) as con:
        assert con.execute(volume_anomaly_sql(DAY)).fetchall() == []
        assert [r[0] for r in con.execute(freshness_sql(DAY, ("crm_contacts", "surveys"))).fetchall()] == [
            "surveys"
        ]


def test_given_the_raw_suites_then_volume_and_freshness_run_as_warnings_in_the_raw_checkpoint():
    from customer360.quality.runner import load_suites
    from customer360.quality.specs import severity_of

    suites = {s.name: s for s in load_suites(Settings(home=Path("/nonexistent")), "raw", DAY)}
    alerts = suites["audit.file_manifest.alerts"]
    assert [severity_of(e) for e in alerts.expectations] == ["warning", "warning"]
    manifest_checks = [e.description for e in suites["audit.file_manifest"].expectations]
    assert not any("delivered at least one file" in (d or "") for d in manifest_checks), "freshness twice"


# --- gates through pipeline.validate (Great Expectations, in-database) ---------------------------------


@pytest.fixture(scope="module")
def good_warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("good") / "customer360.duckdb"
    return quality_warehouse.build_good_warehouse(path)


def _home(tmp_path: Path, good_warehouse: Path, project_dir: Path = PROJECT_DIR) -> Settings:
    settings = Settings(home=tmp_path / "home", project_dir=project_dir)
    settings.warehouse_path.parent.mkdir(parents=True)
    shutil.copy(good_warehouse, settings.warehouse_path)
    return settings


@pytest.mark.slow
def test_given_a_check_with_broken_sql_then_the_marts_gate_fails_as_an_error_not_as_bad_data(
    tmp_path, good_warehouse
):
    # GIVEN a copy of the project's suites with one marts check whose SQL cannot run
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "expectations", project / "expectations")
    shutil.copytree(PROJECT_DIR / "config", project / "config")
    shutil.copytree(PROJECT_DIR / "dbt_project" / "snapshots", project / "dbt_project" / "snapshots")
    with (project / "expectations" / "marts.py").open("a", encoding="utf-8") as fh:
        fh.write(
            "\n\n_build = build_suites\n\n\ndef build_suites(as_of_date, run_id=None):  # noqa: F811\n"
            "    broken = ExpectQueryToReturnNoRows("
            "unexpected_rows_query='select no_such_column from {batch}',"
            " description='a broken check', **critical())\n"
            "    return _build(as_of_date, run_id) + [SuiteSpec(name='marts.broken', schema='marts', "
            "table='fct_orders', expectations=[broken])]\n"
        )
    settings = _home(tmp_path, good_warehouse, project)
    # WHEN the marts gate runs
    with pytest.raises(pipeline.QualityGateError) as raised:
        pipeline.validate("marts", quality_warehouse.AS_OF_DATE, "broken", settings)
    # THEN it is red for a broken check (an error), with no data failure counted, and nothing is held back
    assert "0 critical failure(s), 1 broken check(s)" in str(raised.value)
    assert "could not run, so the check is broken, not the data" in str(raised.value)
    assert held_back_marts(settings, quality_warehouse.AS_OF_DATE, "broken") == set()


@pytest.mark.slow
def test_given_a_revenue_mismatch_in_a_mart_then_only_that_mart_is_held_back_and_the_run_fails(
    tmp_path, good_warehouse
):
    # GIVEN a published snapshot of good marts, then fct_orders revenue drifting from staging
    settings = _home(tmp_path, good_warehouse)
    day, run_id = quality_warehouse.AS_OF_DATE, "drift"
    publish_marts(settings, day, "good")
    before = table_checksums(current_database(settings))
    quality_warehouse.execute(
        settings.warehouse_path, "update marts.fct_orders set net_amount = net_amount + 5"
    )
    quality_warehouse.execute(settings.warehouse_path, "update marts.customer_rfm set monetary = 99")
    # WHEN the marts gate and publish run
    detail = pipeline.validate("marts", day, run_id, settings)
    published = pipeline.publish(day, run_id, settings)
    # THEN the gate records a data failure (not an error) and holds back fct_orders only
    assert detail["failed"] >= 1 and detail["errors"] == 0 and detail["held_back"] == ["fct_orders"]
    assert published["held_back"] == ["fct_orders"]
    after = table_checksums(current_database(settings))
    assert after["fct_orders"] == before["fct_orders"]  # the last trusted version stays
    assert after["customer_rfm"] != before["customer_rfm"]  # the other marts are fresh
    # and the run's summary fails, naming the held-back mart
    with pytest.raises(pipeline.RunFailedError, match="held back by failed checks.*fct_orders"):
        pipeline.summarize(day, run_id, settings)


@pytest.mark.slow
def test_given_overlapping_history_in_a_snapshot_then_the_marts_gate_stops_the_run(tmp_path, good_warehouse):
    # GIVEN a dbt snapshot with two current versions of one contact and overlapping validity
    settings = _home(tmp_path, good_warehouse)
    quality_warehouse.execute(
        settings.warehouse_path,
        "insert into snapshots.snap_crm_contacts values ('K1', 'scd-9', timestamp '2026-11-10 00:00', null)",
    )
    # WHEN the marts gate runs THEN both history checks fail (data failures) and the run stops
    with pytest.raises(pipeline.QualityGateError) as raised:
        pipeline.validate("marts", quality_warehouse.AS_OF_DATE, "history", settings)
    message = str(raised.value)
    assert "2 critical failure(s), 0 broken check(s)" in message
    assert "snapshots.snap_crm_contacts" in message and "do not overlap" in message
