"""Issue 22's ten measured cases: ingest never crashes, never loses a row silently, never reads outside the
landing root. One test (or a few) per case, each named for the case it pins."""

from __future__ import annotations

import gzip
import logging
import os
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer360 import pipeline
from customer360.ingest import load_channel
from customer360.ingest.schema import ensure_tables
from customer360.landing.contract import CHANNELS
from customer360.publish import current_database, publish_marts
from customer360.run_command import default_run_date
from customer360.settings import Settings
from customer360.summary import build_summary

DAY = date(2026, 3, 1)
RUN = "issue-22"
SURVEY_HEADER = (
    "response_id,submitted_at,survey_type,touchpoint,account_id,email,ticket_id,csat_score,nps_score,"
    "expectation_score,perceived_score,comment\n"
)
CRM_HEADER = "contact_id,updated_at,first_name,last_name,full_name,city\n"
WHOLE = "(whole record)"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, channels_file=tmp_path / "channels.yml", duckdb_threads=1)


def survey(n: int, comment: str = "fine") -> str:
    return f"R{n},2026-03-01T08:{n % 60:02d}:00Z,csat,web,,r{n}@example.nl,,4,,7,8,{comment}\n"


def land(settings: Settings, channel: str, name: str, content: str | bytes, day: date = DAY) -> Path:
    assert settings.landing_root is not None
    path = settings.landing_root / channel / day.isoformat() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def quarantine(settings: Settings) -> list[tuple]:
    return query(
        settings,
        "select source_file, line_number, column_name, reason from audit.quarantine order by source_file, 2",
    )


# --- 1. a field larger than any parser limit ------------------------------------------------------------


def test_case1_given_a_5mb_csv_field_when_loaded_then_its_row_is_quarantined_with_file_line_column_and_limit(
    settings: Settings,
) -> None:
    huge = "x" * 5_000_000
    land(settings, "surveys", "big.csv", SURVEY_HEADER + survey(1) + survey(2, f'"{huge}"') + survey(3, huge))
    land(settings, "surveys", "other.csv", SURVEY_HEADER + survey(4))
    result = load_channel(settings, "surveys", DAY, RUN)
    big = result.files[0]
    # THEN no crash: the file loads, the two rows with the 5 MB value are quarantined, the others load
    assert (big.status, big.rows_read, big.rows_loaded, big.rows_quarantined) == ("loaded", 3, 1, 2)
    rows = quarantine(settings)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("surveys/2026-03-01/big.csv", 3, "comment"),
        ("surveys/2026-03-01/big.csv", 4, "comment"),
    ]
    assert all("ingest_max_field_chars (1048576)" in r[3] for r in rows)
    assert result.files[1].rows_loaded == 1
    assert query(settings, "select max(length(raw_record)) from audit.quarantine")[0][0] < 20_000


# --- 2. neighbouring unclosed quotes --------------------------------------------------------------------


def test_case2_given_two_neighbouring_rows_with_unclosed_quotes_when_loaded_then_every_line_is_counted(
    settings: Settings,
) -> None:
    lines = [survey(n) for n in range(1, 17)]
    lines[4] = survey(5, '"great service')
    lines[5] = survey(6, '"slow')
    land(settings, "surveys", "quotes.csv", SURVEY_HEADER + "".join(lines))
    file = load_channel(settings, "surveys", DAY, RUN).files[0]
    # THEN 16 data lines are 16 rows read: 14 loaded, both broken rows quarantined on their own lines
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (16, 14, 2)
    assert [(r[1], r[2]) for r in quarantine(settings)] == [(6, "comment"), (7, "comment")]
    loaded = query(settings, "select response_id, comment from raw.surveys order by _source_line")
    assert ("R7", "fine") in loaded and all("\n" not in (c or "") for _, c in loaded)


# --- 3. encodings ------------------------------------------------------------------------------------------


def test_case3_given_gb18030_with_chinese_and_accented_latin_names_when_loaded_then_every_name_round_trips(
    settings: Settings,
) -> None:
    names = [
        ("王小明", "北京"),
        ("Müller", "Köln"),
        ("李娜", "上海"),
        ("José Núñez", "Málaga"),
        ("张伟", "广州"),
    ]
    body = "".join(
        f"C{i},2026-03-01T08:00:00,,,{name},{city}\n" for i, (name, city) in enumerate(names, start=1)
    )
    land(settings, "crm_contacts", "gb.csv", (CRM_HEADER + body).encode("gb18030"))
    file = load_channel(settings, "crm_contacts", DAY, RUN).files[0]
    assert file.status == "loaded" and "gb18030" in file.message
    assert query(settings, "select full_name, city from raw.crm_contacts order by contact_id") == names


def test_case3_given_too_little_text_to_tell_gb18030_from_cp1252_when_loaded_then_it_is_refused_not_guessed(
    settings: Settings,
) -> None:
    land(
        settings,
        "crm_contacts",
        "short.csv",
        (CRM_HEADER + "C1,2026-03-01T08:00:00,,,王 Müller,\n").encode("gb18030"),
    )
    file = load_channel(settings, "crm_contacts", DAY, RUN).files[0]
    assert file.status == "failed"
    assert "ambiguous" in file.message and "channels.yml" in file.message
    assert query(settings, "select count(*) from raw.crm_contacts") == [(0,)]
    # WHEN the channel's encoding is configured THEN the same file loads as written
    (settings.channels_file).write_text(
        "channels:\n  crm_contacts:\n    encoding: gb18030\n", encoding="utf-8"
    )
    land(
        settings,
        "crm_contacts",
        "short.csv",
        (CRM_HEADER + "C1,2026-03-01T08:00:00,,,王 Müller,\n").encode("gb18030"),
    )
    load_channel(settings, "crm_contacts", DAY, RUN + "-2")
    assert query(settings, "select full_name from raw.crm_contacts") == [("王 Müller",)]


def test_case3_given_latin1_bytes_no_candidate_reads_as_text_when_loaded_then_refused_naming_the_scores(
    settings: Settings,
) -> None:
    land(
        settings,
        "crm_contacts",
        "soup.csv",
        CRM_HEADER.encode() + b"C1,2026-03-01T08:00:00,,," + bytes(range(0x80, 0xA0)) * 3 + b",\n",
    )
    file = load_channel(settings, "crm_contacts", DAY, RUN).files[0]
    assert file.status == "failed" and "no candidate encoding reads it as clean text" in file.message


# --- 4. duplicates and corrections --------------------------------------------------------------------------


def test_case4_given_a_copy_skipped_as_duplicate_when_the_original_is_corrected_then_the_copy_never_loads(
    settings: Settings,
) -> None:
    original = SURVEY_HEADER + survey(1, "stale")
    land(settings, "surveys", "x.csv", original)
    land(settings, "surveys", "x_resent.csv", original)
    first = load_channel(settings, "surveys", DAY, RUN)
    assert [f.status for f in first.files] == ["loaded", "skipped_duplicate"]
    land(settings, "surveys", "x.csv", SURVEY_HEADER + survey(1, "corrected"))
    second = load_channel(settings, "surveys", DAY, RUN + "-2")
    assert [f.status for f in second.files] == ["loaded", "skipped_duplicate"]
    third = load_channel(settings, "surveys", DAY, RUN + "-3")
    # THEN the copy of the first delivery stays a duplicate: content and delivery order decide, not names
    assert [f.status for f in third.files] == ["unchanged", "skipped_duplicate"]
    assert "x.csv" in third.files[1].message
    assert query(settings, "select _source_file, comment from raw.surveys") == [
        ("surveys/2026-03-01/x.csv", "corrected")
    ]


# --- 5. a failed run does not publish -------------------------------------------------------------------


def _marts(settings: Settings, version: int) -> None:
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema if not exists marts")
        con.execute(f"create or replace table marts.dim_customers as select {version} as version")


def test_case5_given_a_refused_file_in_the_run_when_publish_runs_then_the_published_snapshot_stays(
    settings: Settings,
) -> None:
    _marts(settings, 1)
    publish_marts(settings, DAY, "run-before")
    before = current_database(settings).resolve()
    _marts(settings, 2)
    land(settings, "marketing_events", "cut.parquet", b"PAR1 not a parquet file PAR1")
    with pytest.raises(pipeline.ChannelIngestError):
        pipeline.ingest("marketing_events", DAY, RUN, settings)
    with pytest.raises(pipeline.PublishWithheldError, match="refused 1 file"):
        pipeline.publish(DAY, RUN, settings)
    assert current_database(settings).resolve() == before
    with duckdb.connect(str(current_database(settings)), read_only=True) as con:
        assert con.execute("select version from main.dim_customers").fetchall() == [(1,)]
    summary = build_summary(settings, DAY, RUN)
    assert summary["status"] == "failed"
    assert any("not published" in p for p in summary["problems"])


# --- 6. a file cut inside a quoted last field ----------------------------------------------------------


def test_case6_given_a_file_cut_inside_a_quoted_last_field_when_loaded_then_the_partial_value_is_quarantined(
    settings: Settings,
) -> None:
    land(settings, "surveys", "cut.csv", SURVEY_HEADER + survey(1) + survey(2, '"the whole story is'))
    file = load_channel(settings, "surveys", DAY, RUN).files[0]
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (2, 1, 1)
    assert [(r[1], r[2]) for r in quarantine(settings)] == [(3, "comment")]
    assert query(settings, "select count(*) from raw.surveys where comment like 'the whole%'") == [(0,)]


# --- 7. parse rejects name a column or the whole record ------------------------------------------------


def test_case7_given_parse_level_rejects_when_quarantined_then_each_names_its_column_or_the_whole_record(
    settings: Settings,
) -> None:
    land(
        settings,
        "surveys",
        "parse.csv",
        SURVEY_HEADER
        + survey(1)
        + survey(2, "too,many")
        + survey(3, '"quoted"tail')
        + "R4,2026-03-01T08:00:00Z,csat,web,,r4@example.nl,,4,,7,8\n"
        + survey(5, '"never closed'),
    )
    land(
        settings,
        "web_orders",
        "parse.jsonl",
        '{"order_id": "W1", "ordered_at": "2026-03-01T08:00:00Z", "status": "completed", "lines": ['
        '{"line_number": 1, "sku": "S", "quantity": 1, "unit_price": 2}]}\n{"order_id": "W2", \n[1, 2]\n',
    )
    load_channel(settings, "surveys", DAY, RUN)
    load_channel(settings, "web_orders", DAY, RUN)
    assert [(Path(r[0]).name, r[1], r[2]) for r in quarantine(settings)] == [
        ("parse.csv", 3, WHOLE),
        ("parse.csv", 4, "comment"),
        ("parse.csv", 5, WHOLE),
        ("parse.csv", 6, "comment"),
        ("parse.jsonl", 2, WHOLE),
        ("parse.jsonl", 3, WHOLE),
    ]
    assert query(settings, "select count(*) from audit.quarantine where column_name is null") == [(0,)]


# --- 8. files that are not landing files ----------------------------------------------------------------


def test_case8_given_files_in_non_date_folders_or_other_suffixes_when_run_then_each_is_recorded_and_warned(
    settings: Settings,
) -> None:
    assert settings.landing_root is not None
    land(settings, "surveys", "good.csv", SURVEY_HEADER + survey(1))
    for folder in ("20261110", "2026-11-10_retry", "2026-02-30"):
        path = settings.landing_root / "surveys" / folder / "late.csv"
        path.parent.mkdir(parents=True)
        path.write_text(SURVEY_HEADER + survey(2), encoding="utf-8")
    land(settings, "surveys", "export.xlsx", b"PK\x03\x04")
    (settings.landing_root / "surveys" / "loose.csv").write_text(SURVEY_HEADER, encoding="utf-8")
    (settings.landing_root / "readme.txt").write_text("hello", encoding="utf-8")
    for channel in CHANNELS:
        pipeline.ingest(channel, DAY, RUN, settings)
    rows = query(
        settings,
        "select channel, source_file, load_date, message from audit.file_manifest where status = 'ignored' "
        "order by source_file",
    )
    assert [(r[0], r[1]) for r in rows] == [
        ("crm_contacts", "readme.txt"),
        ("surveys", "surveys/2026-02-30/late.csv"),
        ("surveys", "surveys/2026-03-01/export.xlsx"),
        ("surveys", "surveys/2026-11-10_retry/late.csv"),
        ("surveys", "surveys/20261110/late.csv"),
        ("surveys", "surveys/loose.csv"),
    ]
    reasons = {r[1]: r[3] for r in rows}
    assert "'20261110' is not a date" in reasons["surveys/20261110/late.csv"]
    assert "not a csv file of surveys" in reasons["surveys/2026-03-01/export.xlsx"]
    assert "not in a channel folder" in reasons["readme.txt"]
    assert "not in a date folder" in reasons["surveys/loose.csv"]
    assert query(settings, "select count(*) from raw.surveys") == [(1,)]
    warnings = build_summary(settings, DAY, RUN)["warnings"]
    assert any(w.startswith("ingest surveys: 5 file(s) under the landing root ignored") for w in warnings)
    assert any(w.startswith("ingest crm_contacts: 1 file(s)") for w in warnings)


# --- 9. symbolic links and echoed content ----------------------------------------------------------------


def test_case9_given_symlinks_out_of_the_landing_root_when_loaded_then_none_is_followed(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.landing_root is not None
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.csv").write_text(SURVEY_HEADER + survey(9, "outside"), encoding="utf-8")
    day_dir = land(settings, "surveys", "good.csv", SURVEY_HEADER + survey(1)).parent
    os.symlink(outside / "secret.csv", day_dir / "linked.csv")
    os.symlink(outside, settings.landing_root / "surveys" / "2026-02-28")
    inside = land(settings, "surveys", "inside.csv", SURVEY_HEADER + survey(2), day=date(2026, 2, 27))
    os.symlink(inside, day_dir / "link_inside.csv")
    result = load_channel(settings, "surveys", DAY, RUN)
    by_file = {f.file: f for f in result.files}
    assert by_file["surveys/2026-02-28"].status == "ignored"
    assert by_file["surveys/2026-03-01/linked.csv"].status == "ignored"
    assert "outside the landing root" in by_file["surveys/2026-03-01/linked.csv"].message
    # a link that stays inside the root is a file like any other (here: a copy of inside.csv)
    assert by_file["surveys/2026-03-01/link_inside.csv"].status == "skipped_duplicate"
    assert query(settings, "select count(*) from raw.surveys where comment = 'outside'") == [(0,)]


def test_case9_given_a_refused_file_when_recorded_then_no_line_of_it_is_echoed_in_the_manifest_or_the_log(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    first_line = "jan.jansen@example.nl,0612345678,Hoofdstraat 1 Utrecht\n"
    land(settings, "surveys", "not_an_export.csv", first_line + "more,private,lines\n")
    with caplog.at_level(logging.DEBUG, logger="customer360"):
        file = load_channel(settings, "surveys", DAY, RUN).files[0]
    assert file.status == "failed" and "required column(s) missing" in file.message
    for secret in ("jan.jansen@example.nl", "0612345678", "Hoofdstraat"):
        assert secret not in file.message
        assert secret not in caplog.text


def test_case9_given_a_reader_error_quoting_content_when_loaded_then_only_its_type_is_recorded(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import customer360.ingest.loader as loader

    land(settings, "surveys", "a.csv", SURVEY_HEADER + survey(1))
    land(settings, "surveys", "b.csv", SURVEY_HEADER + survey(2))
    real = loader.open_landing_file

    def failing(path, *args, **kwargs):  # noqa: ANN001, ANN202 - the reader's signature
        if path.name == "a.csv":
            raise ValueError(f"could not convert {path.read_text().splitlines()[1]!r}")  # quotes the file
        return real(path, *args, **kwargs)

    monkeypatch.setattr(loader, "open_landing_file", failing)
    with caplog.at_level(logging.DEBUG, logger="customer360"):
        result = load_channel(settings, "surveys", DAY, RUN)
    assert [f.status for f in result.files] == ["failed", "loaded"]
    assert "ValueError" in result.files[0].message and "r1@example.nl" not in result.files[0].message
    assert "ValueError" in caplog.text and "r1@example.nl" not in caplog.text  # the frames hold code only


# --- 10. NUL bytes and the default run date ------------------------------------------------------------


def test_case10_given_nul_bytes_early_and_late_when_loaded_then_each_row_holding_one_is_quarantined_alike(
    settings: Settings,
) -> None:
    padding = "".join(survey(n, "p" * 200) for n in range(2, 6000))  # the second NUL lies past the first MiB
    land(
        settings, "surveys", "nul.csv", SURVEY_HEADER + survey(1, "a\x00b") + padding + survey(6000, "c\x00d")
    )
    file = load_channel(settings, "surveys", DAY, RUN).files[0]
    assert file.rows_read == 6000 and file.rows_quarantined == 2
    rows = quarantine(settings)
    assert [(r[1], r[2]) for r in rows] == [(2, "comment"), (6001, "comment")]
    assert all("NUL byte" in r[3] for r in rows)


def test_case10_given_a_binary_file_under_a_text_suffix_when_loaded_then_it_is_refused_as_binary(
    settings: Settings,
) -> None:
    parquet = land(settings, "surveys", "export.parquet", b"")
    pq.write_table(pa.table({"response_id": [f"R{n}" for n in range(500)], "n": list(range(500))}), parquet)
    parquet.rename(parquet.with_name("binary.csv"))  # a Parquet export under a CSV name
    file = load_channel(settings, "surveys", DAY, RUN).files[0]
    assert file.status == "failed" and "looks binary" in file.message


def test_case10_given_a_stray_folder_dated_2099_when_run_has_no_date_then_it_runs_the_latest_date_up_to_today(
    settings: Settings,
) -> None:
    assert settings.landing_root is not None
    for folder in ("surveys/2026-11-09", "web_orders/2026-11-10", "surveys/2099-01-01", "surveys/20261111"):
        (settings.landing_root / folder).mkdir(parents=True)
    assert default_run_date(settings.landing_root, date(2026, 11, 12)) == date(2026, 11, 10)
    assert default_run_date(settings.landing_root, date(2026, 11, 9)) == date(2026, 11, 9)
    assert default_run_date(settings.landing_root, date(2026, 1, 1)) is None


# --- limits as settings ------------------------------------------------------------------------------------


def test_given_limits_as_settings_when_exceeded_then_the_record_or_file_is_refused_naming_the_limit(
    tmp_path: Path,
) -> None:
    settings = Settings(
        home=tmp_path,
        channels_file=tmp_path / "channels.yml",
        duckdb_threads=1,
        ingest_max_field_chars=50,
        ingest_max_line_chars=400,
        ingest_max_file_bytes=2_000,
    )
    land(settings, "surveys", "a.csv", SURVEY_HEADER + survey(1, "f" * 51) + survey(2, "l" * 500) + survey(3))
    land(settings, "surveys", "b.csv", SURVEY_HEADER + survey(4) * 40)
    order = (
        '{"order_id": "W1", "ordered_at": "2026-03-01T08:00:00Z", "status": "completed", "currency": "%s", '
        '"lines": [{"line_number": 1, "sku": "S", "quantity": 1, "unit_price": 2}]}\n'
    )
    land(settings, "web_orders", "o.jsonl", order % ("E" * 60) + order.replace("W1", "W2") % "EUR")
    at = pa.array([pa.scalar(1_772_352_000_000_000, pa.timestamp("us", "UTC"))] * 2)
    pq.write_table(
        pa.table(
            {
                "event_id": ["E1", "E2"],
                "event_at": at,
                "event_type": ["open", "open"],
                "url": ["u" * 80, "ok"],
            }
        ),
        land(settings, "marketing_events", "m.parquet", b""),
    )
    surveys = load_channel(settings, "surveys", DAY, RUN)
    orders = load_channel(settings, "web_orders", DAY, RUN).files[0]
    events = load_channel(settings, "marketing_events", DAY, RUN).files[0]
    a, b = surveys.files
    assert (a.rows_read, a.rows_loaded, a.rows_quarantined) == (3, 1, 2)
    assert b.status == "failed" and "ingest_max_file_bytes (2000)" in b.message
    assert (orders.rows_loaded, orders.rows_quarantined, events.rows_loaded, events.rows_quarantined) == (
        1,
        1,
        1,
        1,
    )
    reasons = [r[3] for r in quarantine(settings)]
    assert sum("ingest_max_field_chars (50)" in r for r in reasons) == 3
    assert sum("ingest_max_line_chars (400)" in r for r in reasons) == 1


def test_given_a_manifest_from_before_the_ignored_status_when_ingest_starts_then_it_is_widened_in_place(
    settings: Settings,
) -> None:
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema audit")
        con.execute(
            "create table audit.file_manifest (channel varchar not null, load_date date not null, "
            "source_file varchar not null, file_sha256 varchar, file_bytes bigint, "
            "rows_read bigint not null, rows_loaded bigint not null, rows_quarantined bigint not null, "
            "status varchar not null check "
            "(status in ('loaded', 'unchanged', 'skipped_duplicate', 'failed')), message varchar, "
            "run_id varchar not null, ingested_at timestamp not null)"
        )
        con.execute(
            "insert into audit.file_manifest values ('surveys', '2026-02-28', 'surveys/2026-02-28/old.csv', "
            "'abc', 1, 1, 1, 0, 'loaded', '', 'old-run', '2026-02-28 01:00:00')"
        )
        ensure_tables(con, CHANNELS["surveys"])
        con.execute(
            "insert into audit.file_manifest values ('surveys', '2026-03-01', 'x.txt', null, 0, 0, 0, 0, "
            "'ignored', '', 'new-run', '2026-03-01 01:00:00')"
        )
        assert con.execute("select source_file from audit.file_manifest_current").fetchall() == [
            ("surveys/2026-02-28/old.csv",)
        ]


def test_given_a_gzipped_csv_cut_short_when_loaded_then_it_is_refused_and_the_others_load(
    settings: Settings,
) -> None:
    packed = gzip.compress((SURVEY_HEADER + survey(1) * 50).encode())
    land(settings, "surveys", "cut.csv.gz", packed[: len(packed) // 2])
    land(settings, "surveys", "ok.csv", SURVEY_HEADER + survey(2))
    result = load_channel(settings, "surveys", DAY, RUN)
    assert [f.status for f in result.files] == ["failed", "loaded"]


def test_given_only_ignored_files_for_a_day_when_freshness_is_checked_then_the_channel_still_has_no_file(
    settings: Settings,
) -> None:
    from customer360.quality.alerting import freshness_sql

    assert settings.landing_root is not None
    stray = settings.landing_root / "surveys" / "20260301" / "late.csv"
    stray.parent.mkdir(parents=True)
    stray.write_text(SURVEY_HEADER + survey(1), encoding="utf-8")
    load_channel(settings, "surveys", DAY, RUN)
    assert query(settings, "select status, load_date from audit.file_manifest") == [("ignored", DAY)]
    assert query(settings, freshness_sql(DAY, ("surveys",), "audit.file_manifest")) == [
        ("surveys", "no file for surveys on 2026-03-01 by the run")
    ]


def test_given_a_parquet_binary_value_that_is_not_utf8_when_loaded_then_only_its_row_is_quarantined(
    settings: Settings,
) -> None:
    at = pa.array([pa.scalar(1_772_352_000_000_000, pa.timestamp("us", "UTC"))] * 3)
    urls = pa.array([b"https://a.example", b"\xff\xfe broken", None], pa.binary())
    table = pa.table(
        {"event_id": ["E1", "E2", "E3"], "event_at": at, "event_type": ["open"] * 3, "url": urls}
    )
    pq.write_table(table, land(settings, "marketing_events", "m.parquet", b""))
    file = load_channel(settings, "marketing_events", DAY, RUN).files[0]
    assert (file.status, file.rows_read, file.rows_loaded, file.rows_quarantined) == ("loaded", 3, 2, 1)
    assert [(r[1], r[2], r[3]) for r in quarantine(settings)] == [
        (2, "url", "column url: bytes that are not UTF-8 text")
    ]
