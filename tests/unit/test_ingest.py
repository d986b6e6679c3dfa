"""Ingest: landing files into raw, bad rows into the quarantine, every file in the manifest."""

from __future__ import annotations

import datetime as dt
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer360.ingest import ChannelLoadResult, load_channel
from customer360.landing.contract import CHANNELS, raw_column_name
from customer360.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "landing"
DAY = date(2026, 3, 1)
RUN = "test-run"
LINEAGE = ["_load_date", "_source_file", "_source_line", "_file_sha256", "_record_hash", "_ingest_run_id"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, channels_file=tmp_path / "channels.yml", duckdb_threads=1)


def place(settings: Settings, fixture: str, channel: str, day: date = DAY, name: str | None = None) -> Path:
    """Copy a fixture into ``<landing>/<channel>/<day>/``."""
    assert settings.landing_root is not None
    target = settings.landing_root / channel / day.isoformat() / (name or fixture)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / fixture, target)
    return target


def write_parquet(settings: Settings, channel: str, table: pa.Table, name: str, day: date = DAY) -> Path:
    assert settings.landing_root is not None
    target = settings.landing_root / channel / day.isoformat() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target)
    return target


def tickets_table() -> pa.Table:
    at = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    return pa.table(
        {
            "ticket_id": ["TK1", "TK2", "TK3"],
            "updated_at": pa.array([at, at, at], pa.timestamp("us", "UTC")),
            "opened_at": ["2026-02-28T08:00:00Z", "2026-03-01T08:00:00Z", "2026-03-01T08:30:00Z"],
            "channel": ["email", "chat", "PHONE"],
            "category": ["billing", "delivery", "returns"],
            "is_complaint": [True, False, True],
            "status": ["open", "resolved", "closed"],
            "sla_hours": pa.array([24, 48, None], pa.int64()),
            "satisfaction_score": pa.array([None, 5, 6], pa.int64()),  # 6 is above the maximum 5
        }
    )


def marketing_table() -> pa.Table:
    return pa.table(
        {
            "event_id": ["E1", "E2"],
            "event_at": ["2026-03-01T07:00:00Z", "2026-03-01T07:05:00+01:00"],
            "event_type": ["open", "referral"],
            "channel": ["email", "social"],
            "followers": pa.array([None, 12000], pa.int64()),
            "referred_email": [None, "friend@example.nl"],
        }
    )


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def assert_reconciles(result: ChannelLoadResult) -> None:
    for f in result.files:
        assert f.rows_read == f.rows_loaded + f.rows_quarantined, f


# --- every channel -------------------------------------------------------------------------------


def test_given_good_files_for_every_channel_when_loaded_then_all_rows_reach_raw_with_lineage(
    settings: Settings,
) -> None:
    place(settings, "crm_contacts_good.csv", "crm_contacts")
    place(settings, "pos_transactions_good.csv", "pos_transactions")
    place(settings, "surveys_good.csv", "surveys")
    place(settings, "web_orders_good.jsonl", "web_orders")
    write_parquet(settings, "marketing_events", marketing_table(), "marketing.parquet")
    write_parquet(settings, "support_tickets", tickets_table().slice(0, 2), "tickets.parquet")
    expected = {
        "crm_contacts": (3, 3),
        "pos_transactions": (3, 3),
        "surveys": (2, 2),
        "web_orders": (2, 3),  # 2 orders (records), 3 order lines (raw rows)
        "marketing_events": (2, 2),
        "support_tickets": (2, 2),
    }
    for channel, (records, raw_rows) in expected.items():
        result = load_channel(settings, channel, DAY, RUN)
        assert result.failures == []
        assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (records, records, 0), (
            channel
        )
        assert query(settings, f"select count(*) from raw.{channel}") == [(raw_rows,)]
        columns = [r[0] for r in query(settings, f"describe raw.{channel}")]
        assert columns == [raw_column_name(c.name) for c in CHANNELS[channel].all_columns] + LINEAGE
    lineage = query(
        settings,
        "select _load_date, _source_file, _source_line, length(_file_sha256), length(_record_hash), "
        "_ingest_run_id "
        "from raw.crm_contacts order by _source_line",
    )
    assert lineage[0] == (DAY, "crm_contacts/2026-03-01/crm_contacts_good.csv", 2, 64, 32, RUN)
    assert [r[2] for r in lineage] == [2, 3, 4]
    assert query(settings, "select full_name from raw.crm_contacts where contact_id = 'C002'") == [
        ("王小明",)
    ]
    web = query(settings, "select order_id, line_number, sku, _source_line from raw.web_orders order by 1, 2")
    assert web == [("W1", "1", "SKU-1", 1), ("W1", "2", "SKU-2", 1), ("W2", "1", "SKU-3", 2)]
    manifest = query(
        settings, "select channel, status, rows_read, rows_loaded, rows_quarantined from audit.file_manifest"
    )
    assert len(manifest) == 6 and all(row[1] == "loaded" and row[2] == row[3] + row[4] for row in manifest)


# --- row checks ----------------------------------------------------------------------------------


def test_given_a_csv_with_bad_rows_when_loaded_then_good_rows_load_and_bad_rows_are_quarantined_with_reasons(
    settings: Settings,
) -> None:
    place(settings, "crm_contacts_bad_rows.csv", "crm_contacts")
    result = load_channel(settings, "crm_contacts", DAY, RUN)
    file = result.files[0]
    assert (file.status, file.rows_read, file.rows_loaded, file.rows_quarantined) == ("loaded", 7, 2, 5)
    assert query(settings, "select contact_id from raw.crm_contacts order by 1") == [("C101",), ("C107",)]
    rows = query(
        settings,
        "select source_file, line_number, column_name, reason, raw_record::json->>'contact_id' "
        "from audit.quarantine order by line_number",
    )
    assert [(r[1], r[2]) for r in rows] == [
        (3, "updated_at"),
        (4, "birth_date"),
        (5, "contact_id"),
        (6, "gender"),
        (7, "email_opt_in"),
    ]
    assert all(r[0] == "crm_contacts/2026-03-01/crm_contacts_bad_rows.csv" for r in rows)
    reasons = {r[2]: r[3] for r in rows}
    assert reasons["updated_at"] == (
        "column updated_at: 'not-a-date' is not an ISO-8601 timestamp "
        "(YYYY-MM-DDTHH:MM:SS, optionally with Z or +HH:MM)"
    )
    assert reasons["birth_date"] == "column birth_date: '31-12-1990' is not a date (YYYY-MM-DD)"
    assert reasons["contact_id"] == "column contact_id: required value is empty"
    assert reasons["gender"] == "column gender: 'q' is not one of: f, m, x, u"
    assert reasons["email_opt_in"].startswith("column email_opt_in: 'maybe' is not a boolean")
    assert rows[0][4] == "C102"
    assert_reconciles(result)


def test_given_numbers_out_of_contract_when_loaded_then_reasons_quote_value_and_bound(
    settings: Settings,
) -> None:
    place(settings, "pos_transactions_bad_numbers.csv", "pos_transactions")
    result = load_channel(settings, "pos_transactions", DAY, RUN)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 3)
    reasons = [r[0] for r in query(settings, "select reason from audit.quarantine order by line_number")]
    assert reasons == [
        "column quantity: '-3' is below the minimum 1",
        "column unit_price: '12,50' is not a decimal number (digits with '.' as the decimal mark)",
        "column transaction_type: 'refund' is not one of: sale, return, void",
    ]


def test_given_events_in_the_future_too_old_or_too_late_when_loaded_then_they_are_quarantined(
    settings: Settings,
) -> None:
    header = (FIXTURES / "surveys_good.csv").read_text(encoding="utf-8").splitlines()[0]
    rows = [
        "R1,2026-03-02T23:00:00Z,csat,web,,a@x.nl,,5,,8,9,tomorrow is fine",
        "R2,2026-03-03T00:00:00Z,csat,web,,a@x.nl,,5,,8,9,future",
        "R3,1899-12-31T23:00:00Z,csat,web,,a@x.nl,,5,,8,9,ancient",
        "R4,2024-01-01T00:00:00Z,csat,web,,a@x.nl,,5,,8,9,late",
        "R5,2025-02-01T00:00:00Z,csat,web,,a@x.nl,,5,,8,9,within 400 days",
    ]
    target = settings.landing_root / "surveys" / DAY.isoformat() / "s.csv"  # type: ignore[operator]
    target.parent.mkdir(parents=True)
    target.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = load_channel(settings, "surveys", DAY, RUN)
    assert query(settings, "select response_id from raw.surveys order by 1") == [("R1",), ("R5",)]
    reasons = [r[0] for r in query(settings, "select reason from audit.quarantine order by line_number")]
    assert reasons[0].startswith("column submitted_at: '2026-03-03T00:00:00Z' is in the future")
    assert reasons[1].startswith("column submitted_at: '1899-12-31T23:00:00Z' is before 1900-01-01")
    assert reasons[2].startswith(
        "late arrival beyond look-back window: column submitted_at '2024-01-01T00:00:00Z'"
    )
    assert_reconciles(result)


def test_given_sql_and_formula_text_when_loaded_then_it_is_stored_as_data_and_duplicates_share_a_hash(
    settings: Settings,
) -> None:
    place(settings, "surveys_injection.csv", "surveys")
    load_channel(settings, "surveys", DAY, RUN)
    rows = query(settings, "select response_id, comment, _record_hash from raw.surveys order by _source_line")
    assert rows[0][1] == '=HYPERLINK("http://evil.example","click")'
    assert rows[1][1] == "'; drop table raw.surveys;--"
    assert rows[1][2] == rows[2][2] and rows[0][2] != rows[1][2]  # exact duplicates loaded, same hash


# --- formats and encodings -----------------------------------------------------------------------


def test_given_bom_gb18030_and_latin1_files_when_loaded_then_text_round_trips(settings: Settings) -> None:
    header = "contact_id,updated_at,full_name,last_name,city\n"
    folder = settings.landing_root / "crm_contacts" / DAY.isoformat()  # type: ignore[operator]
    folder.mkdir(parents=True)
    (folder / "bom.csv").write_bytes(
        b"\xef\xbb\xbf" + (header + "C1,2026-03-01 09:00:00,,Smith,York\n").encode()
    )
    (folder / "gb.csv").write_bytes((header + "C2,2026-03-01 09:00:00,王小明,,上海\n").encode("gb18030"))
    (folder / "latin.csv").write_bytes((header + "C3,2026-03-01 09:00:00,,Müller,Köln\n").encode("latin-1"))
    result = load_channel(settings, "crm_contacts", DAY, RUN)
    assert [f.status for f in result.files] == ["loaded", "loaded", "loaded"]
    assert query(
        settings, "select contact_id, full_name, last_name, city from raw.crm_contacts order by 1"
    ) == [
        ("C1", None, "Smith", "York"),
        ("C2", "王小明", None, "上海"),
        ("C3", None, "Müller", "Köln"),
    ]
    gb = next(f for f in result.files if f.file.endswith("gb.csv"))
    assert "gb18030" in gb.message


def test_given_quoted_newlines_and_malformed_records_when_loaded_then_lines_are_exact(
    settings: Settings,
) -> None:
    place(settings, "surveys_quoted_newlines.csv", "surveys")
    place(settings, "surveys_malformed.csv", "surveys")
    result = load_channel(settings, "surveys", DAY, RUN)
    assert query(
        settings,
        "select _source_file, _source_line, response_id from raw.surveys order by _source_file, _source_line",
    ) == [
        ("surveys/2026-03-01/surveys_malformed.csv", 2, "R1"),
        ("surveys/2026-03-01/surveys_malformed.csv", 5, "R4"),
        ("surveys/2026-03-01/surveys_quoted_newlines.csv", 2, "R1"),
        ("surveys/2026-03-01/surveys_quoted_newlines.csv", 5, "R2"),
        ("surveys/2026-03-01/surveys_quoted_newlines.csv", 6, "R3"),
    ]
    quarantined = query(
        settings, "select line_number, column_name, raw_record from audit.quarantine order by 1"
    )
    assert [(q[0], q[1]) for q in quarantined] == [(3, "(whole record)"), (4, "comment")]
    assert quarantined[1][2].startswith(
        'R3,2026-03-01T10:00:00Z,csat,store,,c@example.nl,,5,,9,9,"never closed'
    )
    assert_reconciles(result)


def test_given_web_orders_with_malformed_lines_and_bad_items_when_loaded_then_whole_orders_are_quarantined(
    settings: Settings,
) -> None:
    place(settings, "web_orders_bad.jsonl", "web_orders")
    result = load_channel(settings, "web_orders", DAY, RUN)
    file = result.files[0]
    # 6 JSON lines (the blank line is not a record): W10 and W14 load; W11, W12, W13 and the array do not.
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (6, 2, 4)
    assert query(settings, "select order_id, line_number from raw.web_orders order by 1") == [
        ("W10", "1"),
        ("W14", "1"),
    ]
    rows = query(
        settings, "select line_number, column_name, reason, raw_record from audit.quarantine order by 1"
    )
    whole = "(whole record)"
    assert [(r[0], r[1]) for r in rows] == [(2, whole), (3, "quantity"), (5, "status"), (6, whole)]
    assert rows[0][2].startswith("malformed JSON")
    assert rows[1][2] == "line item 2: column quantity: '-3' is below the minimum 1"
    assert rows[1][3].startswith('{"order_id": "W12"')  # the JSON line as delivered
    assert rows[2][2] == (
        "column status: 'shipped' is not one of: completed, cancelled, returned, pending; "
        "record has no lines (field 'lines' is missing, empty or not an array)"
    )
    assert any("gift_wrap" in note for note in result.drift)


def test_given_empty_header_only_missing_column_and_extra_column_files_when_loaded_then_each_is_handled(
    settings: Settings,
) -> None:
    for fixture in ("surveys_empty.csv", "surveys_header_only.csv", "surveys_missing_required.csv"):
        place(settings, fixture, "surveys")
    place(settings, "surveys_extra_column.csv", "surveys")
    place(settings, "surveys_good.csv", "surveys")
    result = load_channel(settings, "surveys", DAY, RUN)
    by_name = {Path(f.file).name: f for f in result.files}
    assert by_name["surveys_empty.csv"].status == "loaded"
    assert "empty file" in by_name["surveys_empty.csv"].message
    assert by_name["surveys_header_only.csv"].rows_read == 0
    assert "header row only" in by_name["surveys_header_only.csv"].message
    missing = by_name["surveys_missing_required.csv"]
    assert missing.status == "failed"
    assert (
        "surveys/2026-03-01/surveys_missing_required.csv" in missing.message
        and "submitted_at" in missing.message
    )
    assert result.failures == [missing]
    assert by_name["surveys_extra_column.csv"].status == "loaded"
    assert any("campaign_code" in note for note in result.drift)
    assert "schema drift" in by_name["surveys_extra_column.csv"].message
    assert query(settings, "select count(*) from raw.surveys") == [(3,)]
    assert query(settings, "select count(*) from raw.surveys where _source_file like '%missing%'") == [(0,)]


def test_given_a_truncated_parquet_when_loaded_then_only_that_file_fails(settings: Settings) -> None:
    write_parquet(settings, "support_tickets", tickets_table(), "a_good.parquet")
    bad = write_parquet(settings, "support_tickets", tickets_table(), "b_cut.parquet")
    bad.write_bytes(bad.read_bytes()[: len(bad.read_bytes()) // 2])
    result = load_channel(settings, "support_tickets", DAY, RUN)
    assert [(Path(f.file).name, f.status) for f in result.files] == [
        ("a_good.parquet", "loaded"),
        ("b_cut.parquet", "failed"),
    ]
    assert "b_cut.parquet" in result.failures[0].message and "Parquet" in result.failures[0].message
    assert (result.files[0].rows_loaded, result.files[0].rows_quarantined) == (
        2,
        1,
    )  # satisfaction_score 6 > 5
    assert query(settings, "select reason from audit.quarantine") == [
        ("column satisfaction_score: '6' is above the maximum 5",)
    ]
    assert query(settings, "select channel from raw.support_tickets where ticket_id = 'TK3'") == []
    assert query(settings, "select channel from raw.support_tickets order by ticket_id") == [
        ("email",),
        ("chat",),
    ]


def test_given_a_file_that_fails_mid_read_when_loaded_then_none_of_its_rows_stay(settings: Settings) -> None:
    settings.channels_file.write_text("channels:\n  surveys:\n    encoding: utf-8\n", encoding="utf-8")  # type: ignore[union-attr]
    folder = settings.landing_root / "surveys" / DAY.isoformat()  # type: ignore[operator]
    folder.mkdir(parents=True)
    good = (FIXTURES / "surveys_good.csv").read_bytes()
    (folder / "s.csv").write_bytes(good + b"R9,2026-03-01T08:00:00Z,csat,web,,a@x.nl,,5,,8,9,caf\xe9\n")
    result = load_channel(
        settings, "surveys", DAY, RUN, batch_rows=1
    )  # two batches commit-free before the error
    assert result.files[0].status == "failed"
    assert "cannot decode" in result.files[0].message
    assert query(settings, "select count(*) from raw.surveys") == [(0,)]
    assert query(settings, "select count(*) from audit.quarantine") == [(0,)]


# --- manifest: reruns, duplicates, changes --------------------------------------------------------


def test_given_a_loaded_date_when_run_again_then_nothing_is_loaded_twice(settings: Settings) -> None:
    place(settings, "pos_transactions_good.csv", "pos_transactions")
    place(settings, "pos_transactions_bad_numbers.csv", "pos_transactions")
    first = load_channel(settings, "pos_transactions", DAY, "run-1")
    second = load_channel(settings, "pos_transactions", DAY, "run-2")
    assert [f.status for f in first.files] == ["loaded", "loaded"]
    assert [f.status for f in second.files] == ["unchanged", "unchanged"]
    assert second.rows_read == 0
    assert query(settings, "select count(*) from raw.pos_transactions") == [(4,)]
    assert query(settings, "select count(*) from audit.quarantine") == [(3,)]
    assert query(settings, "select status, count(*) from audit.file_manifest group by 1 order by 1") == [
        ("loaded", 2),
        ("unchanged", 2),
    ]


def test_given_the_same_file_under_another_name_and_date_when_loaded_then_it_is_skipped_as_duplicate(
    settings: Settings,
) -> None:
    place(settings, "pos_transactions_good.csv", "pos_transactions", day=date(2026, 2, 28), name="pos.csv")
    place(settings, "pos_transactions_good.csv", "pos_transactions", day=DAY, name="pos_resent.csv")
    result = load_channel(settings, "pos_transactions", DAY, RUN)
    assert [f.status for f in result.files] == ["loaded", "skipped_duplicate"]
    assert "pos_transactions/2026-02-28/pos.csv" in result.files[1].message
    assert query(settings, "select count(*) from raw.pos_transactions") == [(3,)]


def test_given_a_changed_file_when_loaded_again_then_its_rows_are_replaced(settings: Settings) -> None:
    target = place(settings, "pos_transactions_bad_numbers.csv", "pos_transactions", name="pos.csv")
    load_channel(settings, "pos_transactions", DAY, "run-1")
    shutil.copy(FIXTURES / "pos_transactions_good.csv", target)
    result = load_channel(settings, "pos_transactions", DAY, "run-2")
    assert result.files[0].status == "loaded"
    assert "replaced" in result.files[0].message
    assert query(
        settings, "select distinct transaction_id, _ingest_run_id from raw.pos_transactions order by 1"
    ) == [
        ("T1001", "run-2"),
        ("T1002", "run-2"),
    ]
    assert query(settings, "select count(*) from audit.quarantine") == [(0,)]
    assert query(
        settings,
        "select rows_loaded, run_id from audit.file_manifest_current where channel = 'pos_transactions'",
    ) == [(3, "run-2")]


def test_given_folders_after_the_as_of_date_and_hidden_files_when_loaded_then_they_are_ignored(
    settings: Settings,
) -> None:
    place(settings, "surveys_good.csv", "surveys", day=DAY)
    place(settings, "surveys_good.csv", "surveys", day=date(2026, 3, 2), name="tomorrow.csv")
    place(settings, "surveys_good.csv", "surveys", day=DAY, name="_partial.csv")
    place(settings, "surveys_good.csv", "surveys", day=DAY, name=".hidden.csv")
    place(settings, "surveys_good.csv", "surveys", day=DAY, name="notes.md")
    result = load_channel(settings, "surveys", DAY, RUN)
    assert [f.file for f in result.files if f.status == "loaded"] == ["surveys/2026-03-01/surveys_good.csv"]
    # THEN the files that are not landing files are not read but each has an 'ignored' row with its reason;
    # the folder dated after the as-of date is not due yet and is not listed
    assert {f.file: f.message for f in result.ignored} == {
        "surveys/2026-03-01/.hidden.csv": "ignored: name starts with . or _ (marker or partial upload)",
        "surveys/2026-03-01/_partial.csv": "ignored: name starts with . or _ (marker or partial upload)",
        "surveys/2026-03-01/notes.md": (
            "ignored: not a csv file of surveys (suffix not one of .csv, .csv.gz, .txt)"
        ),
    }
    assert all(f.rows_read == 0 and f.file_sha256 is None for f in result.ignored)


# --- mapping and errors --------------------------------------------------------------------------


def test_given_a_yaml_column_mapping_when_loaded_then_a_csv_with_other_header_names_loads(
    settings: Settings,
) -> None:
    settings.channels_file.write_text(  # type: ignore[union-attr]
        "channels:\n  surveys:\n    delimiter: ';'\n    columns:\n      response_id: Response ID\n"
        "      submitted_at: Submitted\n      survey_type: Type\n      email: E-mail address\n"
        "      csat_score: CSAT\n",
        encoding="utf-8",
    )
    place(settings, "surveys_mapped_headers.csv", "surveys")
    result = load_channel(settings, "surveys", DAY, RUN)
    assert (result.rows_loaded, result.failures) == (1, [])
    assert query(settings, "select response_id, survey_type, email, csat_score from raw.surveys") == [
        ("R1", "CSAT", "a@example.nl", "5")
    ]


def test_given_a_permission_error_when_loading_then_it_is_raised_not_swallowed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    place(settings, "surveys_good.csv", "surveys")

    def denied(path: Path) -> tuple[str, int]:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("customer360.ingest.loader.file_checksum", denied)
    with pytest.raises(PermissionError):
        load_channel(settings, "surveys", DAY, RUN)


def test_given_an_unknown_channel_when_loading_then_the_error_lists_known_channels(
    settings: Settings,
) -> None:
    with pytest.raises(KeyError, match="crm_contacts"):
        load_channel(settings, "faxes", DAY, RUN)


def test_given_the_cli_when_a_file_fails_then_it_prints_the_failure_and_exits_1(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from customer360.ingest import commands

    place(settings, "surveys_good.csv", "surveys")
    place(settings, "surveys_missing_required.csv", "surveys")
    monkeypatch.setattr("customer360.settings.get_settings", lambda: settings)
    parser = argparse.ArgumentParser(prog="customer360")
    commands.register(parser.add_subparsers())
    args = parser.parse_args(["ingest", "--date", "2026-03-01", "--channel", "surveys", "--run-id", "cli"])
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "surveys: 2 file(s) (1 loaded, 1 failed)" in out
    assert "FAILED surveys/2026-03-01/surveys_missing_required.csv" in out
    assert query(settings, "select distinct _ingest_run_id from raw.surveys") == [("cli",)]


def test_given_a_crash_after_rows_were_inserted_when_loading_then_the_file_leaves_nothing_behind(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    place(settings, "pos_transactions_bad_numbers.csv", "pos_transactions")
    import customer360.ingest.file_group as file_group

    def crash_before_commit(
        con: duckdb.DuckDBPyConnection, channel: str, run_id: str, results: object
    ) -> None:
        raise KeyboardInterrupt  # a kill between the inserts and the commit

    monkeypatch.setattr(file_group, "record_files", crash_before_commit)
    with pytest.raises(KeyboardInterrupt):
        load_channel(settings, "pos_transactions", DAY, RUN)
    assert query(settings, "select count(*) from raw.pos_transactions") == [(0,)]
    assert query(settings, "select count(*) from audit.quarantine") == [(0,)]
    monkeypatch.undo()
    result = load_channel(settings, "pos_transactions", DAY, RUN)  # the next run loads it whole
    assert (result.files[0].status, result.rows_loaded, result.rows_quarantined) == ("loaded", 1, 3)


# --- many files: written a group per transaction ---------------------------------------------------


def _survey_rows(day: date, first: int, count: int) -> str:
    header = (FIXTURES / "surveys_good.csv").read_text(encoding="utf-8").splitlines()[0]
    rows = [f"R{first + i},{day.isoformat()}T08:00:00Z,csat,web,,a@x.nl,,5,,8,9,ok" for i in range(count)]
    return "\n".join([header, *rows]) + "\n"


def place_survey_days(settings: Settings, days: int, rows_per_file: int = 2) -> list[date]:
    """One surveys file per day for ``days`` days ending on DAY, each with its own response ids."""
    dates = [DAY - dt.timedelta(days=n) for n in reversed(range(days))]
    for i, day in enumerate(dates):
        target = settings.landing_root / "surveys" / day.isoformat() / "s.csv"  # type: ignore[operator]
        target.parent.mkdir(parents=True)
        target.write_text(_survey_rows(day, i * rows_per_file, rows_per_file), encoding="utf-8")
    return dates


def test_given_many_small_files_when_loaded_then_each_keeps_its_own_lineage_counts_and_manifest_row(
    settings: Settings,
) -> None:
    # GIVEN 30 daily files, written together in one group (2 rows each, far below the row budget)
    dates = place_survey_days(settings, 30)
    # WHEN the channel loads
    result = load_channel(settings, "surveys", DAY, RUN)
    # THEN every file is loaded and reconciles, and raw rows name their own file, date, line and checksum
    assert [f.status for f in result.files] == ["loaded"] * 30
    assert_reconciles(result)
    per_file = query(
        settings,
        "select _source_file, _load_date, min(_source_line), max(_source_line), count(distinct _file_sha256) "
        "from raw.surveys group by 1, 2 order by 2",
    )
    assert [(r[0], r[1]) for r in per_file] == [(f"surveys/{d.isoformat()}/s.csv", d) for d in dates]
    assert all(r[2:] == (2, 3, 1) for r in per_file)
    shas = dict(query(settings, "select source_file, file_sha256 from audit.file_manifest"))
    assert shas == {f.file: f.file_sha256 for f in result.files}
    assert query(settings, "select count(*) from raw.surveys") == [(60,)]


def test_given_two_dated_files_in_one_group_when_events_are_late_then_each_reason_names_its_file_date(
    settings: Settings,
) -> None:
    # GIVEN two files a day apart, each with an event 401 days before the newer file's date
    header = (FIXTURES / "surveys_good.csv").read_text(encoding="utf-8").splitlines()[0]
    late = (DAY - dt.timedelta(days=401)).isoformat()
    for name, day in (("older", DAY - dt.timedelta(days=1)), ("newer", DAY)):
        target = settings.landing_root / "surveys" / day.isoformat() / "s.csv"  # type: ignore[operator]
        target.parent.mkdir(parents=True)
        target.write_text(f"{header}\n{name},{late}T12:00:00Z,csat,web,,a@x.nl,,5,,8,9,late\n")
    # WHEN they load together
    load_channel(settings, "surveys", DAY, RUN)
    # THEN only the newer file's event is beyond its look-back window, and the reason names that file's date
    assert query(settings, "select response_id from raw.surveys") == [("older",)]
    rows = query(settings, "select source_file, load_date, reason from audit.quarantine")
    assert len(rows) == 1 and rows[0][:2] == (f"surveys/{DAY.isoformat()}/s.csv", DAY)
    assert rows[0][2].endswith(f"is more than 400 days (late_arrival_days) before the file date {DAY}")


def test_given_an_unreadable_file_among_readable_ones_when_loaded_then_only_it_is_missing_from_raw(
    settings: Settings,
) -> None:
    # GIVEN five daily files of which the third cannot be decoded (configured UTF-8, a latin-1 byte)
    settings.channels_file.write_text("channels:\n  surveys:\n    encoding: utf-8\n", encoding="utf-8")  # type: ignore[union-attr]
    dates = place_survey_days(settings, 5)
    broken = settings.landing_root / "surveys" / dates[2].isoformat() / "s.csv"  # type: ignore[operator]
    broken.write_bytes(broken.read_bytes() + b"R99,2026-03-01T08:00:00Z,csat,web,,a@x.nl,,5,,8,9,caf\xe9\n")
    # WHEN the channel loads
    result = load_channel(settings, "surveys", DAY, RUN)
    # THEN that file failed and left nothing; the others loaded whole; every file has its manifest row
    assert [f.status for f in result.files] == ["loaded", "loaded", "failed", "loaded", "loaded"]
    assert query(
        settings, "select count(*) from raw.surveys where _source_file = ?", [result.files[2].file]
    ) == [(0,)]
    assert query(settings, "select count(*) from raw.surveys") == [(8,)]
    assert query(settings, "select status, count(*) from audit.file_manifest group by 1 order by 1") == [
        ("failed", 1),
        ("loaded", 4),
    ]


def test_given_a_file_larger_than_a_batch_among_small_ones_when_loaded_then_every_file_loads_whole(
    settings: Settings,
) -> None:
    # GIVEN small files around one with more rows than a read batch
    dates = place_survey_days(settings, 4, rows_per_file=1)
    big = settings.landing_root / "surveys" / dates[1].isoformat() / "s.csv"  # type: ignore[operator]
    big.write_text(_survey_rows(dates[1], 100, 7), encoding="utf-8")
    # WHEN the channel loads with batches of 3 rows
    result = load_channel(settings, "surveys", DAY, RUN, batch_rows=3)
    # THEN every file loads, in order, with all its rows and lines
    assert [(f.status, f.rows_loaded) for f in result.files] == [
        ("loaded", 1),
        ("loaded", 7),
        ("loaded", 1),
        ("loaded", 1),
    ]
    lines = query(
        settings,
        "select _source_line from raw.surveys where _source_file = ? order by 1",
        [result.files[1].file],
    )
    assert [r[0] for r in lines] == list(range(2, 9))


def test_given_a_kill_before_a_group_commits_when_the_next_run_starts_then_every_file_loads_exactly_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN ten files whose group is interrupted between its inserts and its commit
    place_survey_days(settings, 10)
    import customer360.ingest.file_group as file_group

    def killed(name: str) -> None:
        if name == "ingest.before_commit":
            raise KeyboardInterrupt

    monkeypatch.setattr(file_group, "fault_point", killed)
    with pytest.raises(KeyboardInterrupt):
        load_channel(settings, "surveys", DAY, "killed")
    # THEN nothing of any file of the group was kept
    assert query(settings, "select count(*) from raw.surveys") == [(0,)]
    assert query(settings, "select count(*) from audit.file_manifest") == [(0,)]
    # WHEN the next run starts THEN every file loads once
    monkeypatch.undo()
    result = load_channel(settings, "surveys", DAY, "next")
    assert [f.status for f in result.files] == ["loaded"] * 10
    assert query(
        settings, "select count(*), count(distinct (_source_file, _source_line)) from raw.surveys"
    ) == [(20, 20)]
