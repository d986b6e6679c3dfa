"""run_checkpoint on each stage's real suites (expectations/raw.py, staging.py, marts.py).

A good warehouse passes every check (zero failures, zero errors, zero warnings). Then, per stage, a copy
of it gets several independent corruptions, each in a different table or column, and the checkpoint must
fail exactly the checks aimed at them, with sentences naming the table, column, check, count and a sample:
every other check still passes, so each corruption trips its own check and nothing else.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("great_expectations")

from customer360.quality import StageResult, run_checkpoint  # noqa: E402
from customer360.quality.runner import load_suites  # noqa: E402
from customer360.settings import Settings  # noqa: E402
from tests.support.quality_warehouse import (  # noqa: E402
    AS_OF_DATE,
    OLDER_RUN_ID,
    RUN_ID,
    build_good_warehouse,
    execute,
)


@pytest.fixture(scope="module")
def good_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_good_warehouse(tmp_path_factory.mktemp("good_wh") / "customer360.duckdb")


def _settings(tmp: Path, warehouse: Path) -> Settings:
    target = tmp / "warehouse" / "customer360.duckdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(warehouse, target)
    return Settings(home=tmp, warehouse_path=target)


@pytest.fixture(scope="module")
def good_runs(tmp_path_factory: pytest.TempPathFactory, good_warehouse: Path) -> tuple[Settings, dict]:
    settings = _settings(tmp_path_factory.mktemp("good_run"), good_warehouse)
    results = {
        stage: run_checkpoint(settings, stage, AS_OF_DATE, RUN_ID) for stage in ("raw", "staging", "marts")
    }
    return settings, results


def _failed(result: StageResult) -> dict[tuple[str, str], str]:
    """(table, column or description) -> message of every check that did not pass."""
    return {(c.table, c.column or c.description): c.message for c in result.checks if c.status != "passed"}


@pytest.mark.parametrize("stage", ["raw", "staging", "marts"])
def test_good_data_passes_every_check(good_runs, stage: str) -> None:
    """GIVEN a warehouse that honours every contract WHEN the stage's checkpoint runs
    THEN every check passes: no failure, no warning, no broken check, and .ok is True."""
    settings, results = good_runs
    result = results[stage]
    expected = sum(len(s.expectations) for s in load_suites(settings, stage, AS_OF_DATE, RUN_ID))
    assert _failed(result) == {}
    assert (result.failed, result.warnings, result.errors) == (0, 0, 0)
    assert result.passed == expected > 0
    assert result.ok


def test_results_json_and_data_docs_are_written_to_the_run_folder(good_runs) -> None:
    """GIVEN the three stages validated for one date WHEN looking in the run folder
    THEN quality/<stage>.json holds each verdict and every check, and one Data Docs site lists all stages."""
    settings, results = good_runs
    run_dir = settings.run_dir(AS_OF_DATE.isoformat())
    for stage, result in results.items():
        payload = json.loads((run_dir / "quality" / f"{stage}.json").read_text())
        assert payload["ok"] is True and payload["passed"] == result.passed
        assert len(payload["checks"]) == result.passed
        assert result.results_path == run_dir / "quality" / f"{stage}.json"
    docs = run_dir / "gx" / "data_docs" / "local_site" / "index.html"
    assert results["marts"].docs_path == docs
    html = docs.read_text()
    for suite in (
        "raw.crm_contacts",
        "audit.file_manifest",
        "staging.stg_pos_transactions__transaction_lines",
        "marts.fct_orders",
    ):
        assert suite in html
    assert list((run_dir / "gx" / "data_docs" / "local_site" / "validations").rglob("*.html"))


def test_raw_corruptions_each_fail_their_own_check(tmp_path: Path, good_warehouse: Path) -> None:
    """GIVEN raw data of this run's files with a null required value, an unknown enum, a number below the
    contract minimum and an invalid email, and a manifest row that does not reconcile
    WHEN the raw checkpoint runs THEN exactly those checks fail (the email as a warning), with readable
    sentences, and the stage is red."""
    settings = _settings(tmp_path, good_warehouse)
    execute(
        settings.warehouse_path,
        "update raw.crm_contacts set contact_id = null where _source_line = 3",
        "update raw.web_orders set status = 'shipped' where order_id = 'WEB-0'",
        "update raw.pos_transactions set quantity = '0' where transaction_id = 'POS-2'",
        "update audit.file_manifest set rows_read = rows_read + 1 where channel = 'surveys'",
        "update raw.marketing_events set email = 'not-an-email' where _source_line = 4",
    )
    result = run_checkpoint(settings, "raw", AS_OF_DATE, RUN_ID)
    failed = _failed(result)
    assert set(failed) == {
        ("raw.crm_contacts", "contact_id"),
        ("raw.web_orders", "status"),
        ("raw.pos_transactions", "pos_transactions.quantity is a number at least 1 (landing contract)"),
        ("audit.file_manifest", "every loaded file reconciles: rows_read = rows_loaded + rows_quarantined"),
        ("raw.marketing_events", "email"),
    }
    assert (result.failed, result.warnings, result.errors) == (4, 1, 0) and not result.ok
    assert "1 of 3 values unexpected" in failed[("raw.crm_contacts", "contact_id")]
    assert "'shipped' (2x)" in failed[("raw.web_orders", "status")]
    manifest = failed[
        ("audit.file_manifest", "every loaded file reconciles: rows_read = rows_loaded + rows_quarantined")
    ]
    assert "channel: 'surveys'" in manifest and "rows_read: 4" in manifest and "rows_loaded: 3" in manifest
    assert (
        "value: '0'"
        in failed[
            ("raw.pos_transactions", "pos_transactions.quantity is a number at least 1 (landing contract)")
        ]
    )
    assert "'not-an-email'" in result.warning_messages[0]
    assert all(str(result.docs_path) in m for m in result.critical_failures)
    assert "raw quality gate is red: 4 critical failure(s)" in result.failure_message()


# The older file of the fixture: one pos_transactions record loaded and one quarantined on the day before,
# by the run of that day.
OLDER_DATE = AS_OF_DATE - timedelta(days=1)
OLDER_ROW_QUANTITY = (
    "raw.pos_transactions",
    "pos_transactions.quantity is a number at least 1 (landing contract)",
)
BAD_TODAY_AND_BEFORE = (
    "update raw.crm_contacts set contact_id = null where _source_line = 3",  # today's file
    "update raw.pos_transactions set quantity = '0' where transaction_id = 'POS-OLD'",  # the older file
    "update audit.quarantine set reason = null",  # the older file's quarantined record
)


def test_given_bad_rows_of_today_and_of_an_earlier_run_when_todays_raw_gate_runs_then_only_todays_fail(
    tmp_path: Path, good_warehouse: Path
) -> None:
    """GIVEN a bad row in today's CRM file, and a bad row and a quarantine row without reason in a POS file
    an earlier run loaded (for the day before) WHEN today's raw checkpoint runs THEN only today's row fails:
    the stage is red for it; the earlier rows are not checked again (their own run checks them)."""
    settings = _settings(tmp_path, good_warehouse)
    execute(settings.warehouse_path, *BAD_TODAY_AND_BEFORE)
    result = run_checkpoint(settings, "raw", AS_OF_DATE, RUN_ID)
    assert set(_failed(result)) == {("raw.crm_contacts", "contact_id")}
    assert (result.failed, result.errors) == (1, 0) and not result.ok


def test_given_bad_rows_of_an_earlier_run_when_that_run_validates_then_they_fail_there(
    tmp_path: Path, good_warehouse: Path
) -> None:
    """GIVEN the same bad rows WHEN the raw checkpoint of the earlier run (its date, its run id) runs
    THEN the earlier file's bad row and quarantine row fail, and today's CRM row is not its business."""
    settings = _settings(tmp_path, good_warehouse)
    execute(settings.warehouse_path, *BAD_TODAY_AND_BEFORE)
    result = run_checkpoint(settings, "raw", OLDER_DATE, OLDER_RUN_ID)
    critical = {
        (c.table, c.column or c.description)
        for c in result.checks
        if c.status != "passed" and c.severity == "critical"
    }
    assert critical == {OLDER_ROW_QUANTITY, ("audit.quarantine", "reason")}
    assert result.errors == 0 and not result.ok


def test_given_a_late_file_for_an_earlier_date_loaded_by_this_run_then_this_run_checks_its_rows(
    tmp_path: Path, good_warehouse: Path
) -> None:
    """GIVEN the POS file for the day before was delivered late, loaded by today's run, with a bad row
    WHEN today's raw checkpoint runs THEN that row fails today (this run delivered it), and the file still
    reconciles with raw and the quarantine."""
    settings = _settings(tmp_path, good_warehouse)
    today, earlier = f"'{RUN_ID}'", f"'{OLDER_RUN_ID}'"
    execute(
        settings.warehouse_path,
        f"update audit.file_manifest set run_id = {today} where run_id = {earlier}",
        f"update audit.quarantine set run_id = {today} where run_id = {earlier}",
        f"update raw.pos_transactions set _ingest_run_id = {today} where _ingest_run_id = {earlier}",
        "update raw.pos_transactions set quantity = '0' where transaction_id = 'POS-OLD'",
    )
    result = run_checkpoint(settings, "raw", AS_OF_DATE, RUN_ID)
    critical = {
        (c.table, c.column or c.description)
        for c in result.checks
        if c.status != "passed" and c.severity == "critical"
    }
    assert critical == {OLDER_ROW_QUANTITY}
    assert "value: '0'" in _failed(result)[OLDER_ROW_QUANTITY]


def test_raw_quarantine_share_over_thresholds_warns_then_stops(tmp_path: Path, good_warehouse: Path) -> None:
    """GIVEN this run's surveys file with 1 of 4 rows quarantined (25%: over the 5% warning share) and the CRM
    file with 9 of 12 quarantined (75%: over the 50% critical share), manifest and quarantine reconciling
    WHEN the raw checkpoint runs THEN the warning check names both channels and the critical one only CRM."""
    settings = _settings(tmp_path, good_warehouse)
    stamp = "timestamp '2026-11-25 00:30:00'"
    execute(
        settings.warehouse_path,
        "update audit.file_manifest set rows_read = 4, rows_quarantined = 1 where channel = 'surveys'",
        "update audit.file_manifest set rows_read = 12, rows_quarantined = 9 where channel = 'crm_contacts'",
        "insert into audit.quarantine select run_id, channel, load_date, source_file, 99, 'csat_score', "
        f"'column csat_score: ''x'' is not a whole number', '{{}}', {stamp} "
        "from audit.file_manifest where channel = 'surveys'",
        "insert into audit.quarantine select m.run_id, m.channel, m.load_date, m.source_file, 100 + g.i, "
        f"'updated_at', 'column updated_at: not a timestamp', '{{}}', {stamp} "
        "from audit.file_manifest as m, range(9) as g(i) where m.channel = 'crm_contacts'",
    )
    result = run_checkpoint(settings, "raw", AS_OF_DATE, RUN_ID)
    failed = _failed(result)
    warn_key = ("audit.file_manifest", "less than 5% of a channel's rows read in this run were quarantined")
    stop_key = ("audit.file_manifest", "less than 50% of a channel's rows read in this run were quarantined")
    assert set(failed) == {warn_key, stop_key}
    assert (result.failed, result.warnings, result.errors) == (1, 1, 0)
    assert "channel: 'surveys'" in failed[warn_key] and "channel: 'crm_contacts'" in failed[warn_key]
    assert "quarantined_share: 0.75" in failed[stop_key] and "surveys" not in failed[stop_key]


def test_staging_corruptions_each_fail_their_own_check(tmp_path: Path, good_warehouse: Path) -> None:
    """GIVEN staging where a CRM row is lost (raw rows no longer add up), a POS price is negative, a ticket
    was updated after the run's
    day and every survey email is a shifted name WHEN the staging checkpoint runs
    THEN exactly the reconciliation, amount, timestamp and email checks fail, and the stage is red."""
    settings = _settings(tmp_path, good_warehouse)
    execute(
        settings.warehouse_path,
        "delete from staging.stg_crm_contacts__contacts where contact_id = 'CRM-1'",
        "update staging.stg_pos_transactions__transaction_lines set unit_price = -1 "
        "where transaction_id = 'POS-1'",
        "update staging.stg_support_tickets__tickets set updated_at = timestamp '2026-11-26 08:00:00' "
        "where ticket_id = 'SUP-0'",
        "update staging.stg_surveys__responses set email = 'Jansen'",
    )
    result = run_checkpoint(settings, "staging", AS_OF_DATE, RUN_ID)
    failed = _failed(result)
    counts = (
        "raw rows delivered by the run's date = staging rows + exact duplicates removed "
        "+ older versions superseded"
    )
    future = (
        "updated_at of rows delivered up to 2026-11-24 is not more than a day after the end of that day (UTC)"
    )
    assert set(failed) == {
        ("staging.stg_crm_contacts__contacts", counts),
        ("staging.stg_pos_transactions__transaction_lines", "unit_price"),
        ("staging.stg_support_tickets__tickets", future),
        ("staging.stg_surveys__responses", "email"),
    }
    # the survey email fails both its warning (98%) and its critical (80%) share: one key, two outcomes
    email_outcomes = [
        c for c in result.checks if c.table == "staging.stg_surveys__responses" and c.column == "email"
    ]
    assert {c.severity for c in email_outcomes if c.status == "failed"} == {"warning", "critical"}
    assert (result.failed, result.warnings, result.errors) == (4, 1, 0)
    assert (
        "raw_rows: 3, staging_rows: 2, duplicates_removed: 0, versions_superseded: 0"
        in failed[("staging.stg_crm_contacts__contacts", counts)]
    )
    assert "-1.0 (1x)" in failed[("staging.stg_pos_transactions__transaction_lines", "unit_price")]
    assert "2026-11-26T08:00:00" in failed[("staging.stg_support_tickets__tickets", future)]


def test_marts_corruptions_each_fail_their_own_check(tmp_path: Path, good_warehouse: Path) -> None:
    """GIVEN marts where a source record is mapped twice in the xref, an RFM score is 6, a completed order's
    revenue drifted by 1.00 and a customer row is missing WHEN the marts checkpoint runs
    THEN exactly the identity, dim_customers, revenue and RFM checks fail with readable sentences."""
    settings = _settings(tmp_path, good_warehouse)
    execute(
        settings.warehouse_path,
        "insert into identity.customer_source_xref "
        "select * from identity.customer_source_xref where source_record_id = 'CRM-2'",
        "update marts.customer_rfm set r_score = 6 where customer_id = 'C-1'",
        "update marts.fct_orders set net_amount = net_amount + 1 where order_id = 'WEB-0'",
        "delete from marts.dim_customers where customer_id = 'C-0'",
    )
    result = run_checkpoint(settings, "marts", AS_OF_DATE, RUN_ID)
    failed = _failed(result)
    mapped = "every record of intermediate.int_contact_records_unioned is mapped to exactly one customer_id"
    revenue = "completed-order revenue per channel equals staging within a cent"
    dim = "one row per distinct customer_id of identity.customer_source_xref"
    # the missing customer row also leaves its resolved records without a profile
    profiles = "every resolved source record belongs to exactly one profile in marts.dim_customers"
    assert set(failed) == {
        ("identity.customer_source_xref", mapped),
        ("identity.customer_source_xref", profiles),
        ("marts.dim_customers", dim),
        ("marts.fct_orders", revenue),
        ("marts.customer_rfm", "r_score"),
    }
    assert (result.failed, result.warnings, result.errors) == (5, 0, 0)
    assert "source_record_id: 'CRM-2', mappings: 2" in failed[("identity.customer_source_xref", mapped)]
    assert "source_channel: 'web'" in failed[("marts.fct_orders", revenue)]
    assert "difference: 1.0" in failed[("marts.fct_orders", revenue)]
    assert "dim_rows: 2, xref_customers: 3" in failed[("marts.dim_customers", dim)]
    assert "6 (1x)" in failed[("marts.customer_rfm", "r_score")]
