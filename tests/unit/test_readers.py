"""Landing readers, encodings and channel mapping: file in, Arrow batches (and rejects) out."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer360.landing.contract import get_channel
from customer360.landing.encoding import AUTO, EncodingError, detect_encoding
from customer360.landing.mapping import ChannelConfig, ChannelConfigError, load_channel_config
from customer360.landing.readers import (
    ITEM_INDEX,
    SOURCE_LINE,
    LandingFile,
    MissingColumnsError,
    ReadError,
    normalise_text,
    open_landing_file,
)
from customer360.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "landing"
SURVEY_HEADER = (
    "response_id,submitted_at,survey_type,touchpoint,account_id,email,ticket_id,csat_score,nps_score,"
    "expectation_score,perceived_score,comment\n"
)


def _config(channel: str) -> ChannelConfig:
    return ChannelConfig.for_contract(get_channel(channel))


def _read_all(
    path: Path, config: ChannelConfig, batch_rows: int = 1000
) -> tuple[pa.Table, list, LandingFile]:
    with open_landing_file(path, config, batch_rows=batch_rows) as landing:
        batches = list(landing.batches)
    tables = [b.table for b in batches if b.table.num_rows]
    table = pa.concat_tables(tables) if tables else pa.table({})
    rejects = [r for b in batches for r in b.rejects]
    return table, rejects, landing


# --- encodings ------------------------------------------------------------------------------------


def test_given_utf8_with_bom_when_read_then_the_first_header_is_clean_and_values_load(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(
        b"\xef\xbb\xbf" + (SURVEY_HEADER + "R1,2026-03-01T08:00:00Z,csat,web,,a@x.nl,,5,,8,9,ok\n").encode()
    )
    table, rejects, landing = _read_all(path, _config("surveys"))
    assert landing.encoding is not None and landing.encoding.encoding == "utf-8-sig"
    assert table.column("response_id").to_pylist() == ["R1"]
    assert rejects == []


def test_given_gb18030_csv_when_detected_then_chinese_names_round_trip(tmp_path: Path) -> None:
    header = "contact_id,updated_at,full_name,city\n"
    body = "C1,2026-03-01 09:00:00,王小明,上海\nC2,2026-03-01 09:05:00,李华,北京\n"
    path = tmp_path / "gb.csv"
    path.write_bytes((header + body).encode("gb18030"))
    table, rejects, landing = _read_all(path, _config("crm_contacts"))
    assert landing.encoding is not None and landing.encoding.encoding == "gb18030"
    assert table.column("full_name").to_pylist() == ["王小明", "李华"]
    assert table.column("city").to_pylist() == ["上海", "北京"]
    assert rejects == []


def test_given_latin1_csv_when_detected_then_accents_round_trip_and_gb18030_is_not_guessed(
    tmp_path: Path,
) -> None:
    header = "contact_id,updated_at,first_name,last_name,city\n"
    body = "C1,2026-03-01 09:00:00,Jürgen,Müller,Köln\nC2,2026-03-01 09:05:00,Renée,Côté,Liège\n"
    path = tmp_path / "latin1.csv"
    path.write_bytes((header + body).encode("latin-1"))
    table, _, landing = _read_all(path, _config("crm_contacts"))
    assert landing.encoding is not None and landing.encoding.encoding in ("cp1252", "latin-1", "iso8859-1")
    assert table.column("last_name").to_pylist() == ["Müller", "Côté"]
    assert table.column("city").to_pylist() == ["Köln", "Liège"]


def test_given_non_utf8_bytes_only_after_the_first_megabyte_when_detected_then_the_whole_file_is_checked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "late.csv"
    filler = "C0,2026-03-01 09:00:00,Plain\n" * 60_000  # ~1.7 MB of ASCII
    path.write_bytes(
        ("contact_id,updated_at,last_name\n" + filler + "C9,2026-03-01 09:00:00,Müller\n").encode("cp1252")
    )
    choice = detect_encoding(path)
    assert choice.encoding == "cp1252"
    assert "offset" in choice.reason


def test_given_binary_garbage_when_opened_then_read_error_says_binary(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(ReadError, match="binary"):
        _read_all(path, _config("surveys"))


def test_given_configured_utf8_and_undecodable_bytes_when_read_then_read_error_names_encoding(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(
        (SURVEY_HEADER + "R1,2026-03-01T08:00:00Z,csat,web,,a@x.nl,,5,,8,9,caf").encode() + b"\xe9\n"
    )
    config = ChannelConfig(
        channel=get_channel("surveys"), encoding="utf-8", delimiter=",", timezone="UTC", fallback_encodings=()
    )
    with pytest.raises(ReadError, match="cannot decode the file as utf-8"):
        _read_all(path, config)


def test_given_no_fallback_fits_when_detecting_then_encoding_error_asks_for_configuration(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n\xff\xfe\xfa\n")
    with pytest.raises(EncodingError, match="set `encoding:`"):
        detect_encoding(path, AUTO, fallbacks=())


# --- CSV structure --------------------------------------------------------------------------------


def test_given_quoted_newlines_when_read_then_each_record_keeps_the_line_it_starts_on() -> None:
    table, rejects, _ = _read_all(FIXTURES / "surveys_quoted_newlines.csv", _config("surveys"))
    assert table.column(SOURCE_LINE).to_pylist() == [2, 5, 6]
    assert table.column("comment").to_pylist() == [
        "line one\nline two\nline three",
        'She said "great", twice',
        "plain",
    ]
    assert rejects == []


def test_given_semicolon_channel_when_read_then_fields_split_on_semicolons() -> None:
    table, _, _ = _read_all(FIXTURES / "pos_transactions_good.csv", _config("pos_transactions"))
    assert table.num_rows == 3
    assert table.column("unit_price").to_pylist() == ["3.50", "2.25", "3.50"]
    assert table.column("customer_email").to_pylist() == [None, None, "anna.devries@example.nl"]


def test_given_bad_field_count_and_unclosed_quote_when_read_then_rejects_keep_lines_and_reading_resumes() -> (
    None
):
    table, rejects, _ = _read_all(FIXTURES / "surveys_malformed.csv", _config("surveys"))
    assert table.column("response_id").to_pylist() == ["R1", "R4"]
    assert table.column(SOURCE_LINE).to_pylist() == [2, 5]
    assert [(r.line, r.reason.split(":")[0]) for r in rejects] == [
        (3, "malformed record"),
        (4, "malformed record"),
    ]
    assert "expected 12 fields" in rejects[0].reason and "found 14" in rejects[0].reason
    assert "not closed" in rejects[1].reason
    assert rejects[1].raw_text.startswith("R3,")


def test_given_small_batches_when_read_then_line_numbers_continue_across_batches() -> None:
    table, _, _ = _read_all(FIXTURES / "surveys_quoted_newlines.csv", _config("surveys"), batch_rows=1)
    assert table.column(SOURCE_LINE).to_pylist() == [2, 5, 6]


def test_given_empty_and_header_only_files_when_read_then_no_rows_and_a_note(tmp_path: Path) -> None:
    _, _, empty = _read_all(FIXTURES / "surveys_empty.csv", _config("surveys"))
    table, _, header_only = _read_all(FIXTURES / "surveys_header_only.csv", _config("surveys"))
    assert empty.notes == ["empty file: no header and no records"]
    assert header_only.notes == ["header row only: no records"]
    assert table.num_rows == 0


def test_given_missing_required_column_when_opened_then_error_names_file_and_columns() -> None:
    with pytest.raises(MissingColumnsError, match="submitted_at") as info:
        _read_all(FIXTURES / "surveys_missing_required.csv", _config("surveys"))
    assert "surveys_missing_required.csv" in str(info.value)


def test_given_extra_column_when_read_then_it_is_drift_not_data() -> None:
    table, _, landing = _read_all(FIXTURES / "surveys_extra_column.csv", _config("surveys"))
    assert "campaign_code" not in table.column_names
    assert any("extra column 'campaign_code'" in note for note in landing.drift)


# --- normalisation --------------------------------------------------------------------------------


def test_given_fullwidth_control_and_padded_text_when_normalised_then_nfkc_clean_and_trimmed() -> None:
    values = pa.array(["ＡＢＣ１２３", "  a\x00b\tc\r\nd  ", "", "   ", None, "ﬁne\u0085"])
    assert normalise_text(values).to_pylist() == ["ABC123", "ab\tc\nd", None, None, None, "fine"]


# --- JSON lines -----------------------------------------------------------------------------------


def test_given_web_orders_when_read_then_one_row_per_line_item_with_order_fields_repeated() -> None:
    table, rejects, _ = _read_all(FIXTURES / "web_orders_good.jsonl", _config("web_orders"))
    assert rejects == []
    assert table.column("order_id").to_pylist() == ["W1", "W1", "W2"]
    assert table.column(ITEM_INDEX).to_pylist() == [1, 2, 1]
    assert table.column(SOURCE_LINE).to_pylist() == [1, 1, 2]
    assert table.column("customer__email").to_pylist()[2] == "xiaoming.wang@example.cn"
    assert table.column("customer__first_name").to_pylist()[2] == "小明"
    assert table.column("unit_price").to_pylist() == ["3.5", "2.25", "19.99"]
    assert table.column("shipping__city").to_pylist() == ["Amsterdam", "Amsterdam", None]


def test_given_malformed_json_lines_when_read_then_rejected_with_line_and_parse_message() -> None:
    table, rejects, landing = _read_all(FIXTURES / "web_orders_bad.jsonl", _config("web_orders"))
    assert [r.line for r in rejects] == [2, 6]
    assert rejects[0].reason.startswith("malformed JSON")
    assert "not an object" in rejects[1].reason
    assert sorted(set(table.column(SOURCE_LINE).to_pylist())) == [1, 3, 5, 7]
    w13 = table.filter(pa.compute.equal(table.column("order_id"), "W13"))
    assert w13.column(ITEM_INDEX).to_pylist() == [0]
    assert any("gift_wrap" in note for note in landing.drift)


# --- Parquet --------------------------------------------------------------------------------------


def test_given_parquet_with_native_types_when_read_then_values_are_iso_text(tmp_path: Path) -> None:
    path = tmp_path / "tickets.parquet"
    utc = dt.UTC
    pq.write_table(
        pa.table(
            {
                "ticket_id": pa.array(["TK1", "TK2"]),
                "updated_at": pa.array(
                    [dt.datetime(2026, 3, 1, 9, 30, tzinfo=utc), dt.datetime(2026, 3, 1, 10, 0, tzinfo=utc)],
                    pa.timestamp("us", "UTC"),
                ),
                "opened_at": pa.array([dt.datetime(2026, 2, 28, 8, 0), None], pa.timestamp("s")),
                "channel": pa.array(["email", "chat"]).dictionary_encode(),
                "category": ["billing", "delivery"],
                "is_complaint": [True, False],
                "status": ["open", "closed"],
                "sla_hours": pa.array([24, None], pa.int32()),
            }
        ),
        path,
    )
    table, _, landing = _read_all(path, _config("support_tickets"), batch_rows=1)
    assert table.column("updated_at").to_pylist() == ["2026-03-01T09:30:00Z", "2026-03-01T10:00:00Z"]
    assert table.column("opened_at").to_pylist() == ["2026-02-28T08:00:00", None]
    assert table.column("channel").to_pylist() == ["email", "chat"]
    assert table.column("is_complaint").to_pylist() == ["true", "false"]
    assert table.column("sla_hours").to_pylist() == ["24", None]
    assert table.column(SOURCE_LINE).to_pylist() == [1, 2]
    assert any("optional column 'priority' is missing" in note for note in landing.drift)


def test_given_truncated_parquet_when_opened_then_read_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.parquet"
    pq.write_table(pa.table({"event_id": ["E1"] * 100, "event_at": ["2026-03-01T00:00:00Z"] * 100}), path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ReadError, match="Parquet"):
        _read_all(path, _config("marketing_events"))


# --- mapping --------------------------------------------------------------------------------------


def test_given_yaml_mapping_when_loaded_then_other_header_names_and_delimiter_are_read(
    tmp_path: Path,
) -> None:
    channels_file = tmp_path / "channels.yml"
    channels_file.write_text(
        "channels:\n"
        "  surveys:\n"
        '    delimiter: ";"\n'
        "    columns:\n"
        "      response_id: Response ID\n"
        "      submitted_at: submitted\n"  # matched ignoring case
        "      survey_type: Type\n"
        "      email: E-mail address\n"
        "      csat_score: CSAT\n",
        encoding="utf-8",
    )
    config = load_channel_config(Settings(home=tmp_path, channels_file=channels_file), "surveys")
    shutil.copy(FIXTURES / "surveys_mapped_headers.csv", tmp_path / "mapped.csv")
    table, rejects, landing = _read_all(tmp_path / "mapped.csv", config)
    assert rejects == [] and landing.drift == []
    assert table.column("response_id").to_pylist() == ["R1"]
    assert table.column("email").to_pylist() == ["a@example.nl"]
    assert table.column("csat_score").to_pylist() == ["5"]


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("channels:\n  nope: {}\n", "unknown channel"),
        ("channels:\n  surveys:\n    columns:\n      emial: Mail\n", "not a column of the surveys contract"),
        ("channels:\n  surveys:\n    delimiter: ';;'\n", "delimiter must be one character"),
        ("channels:\n  surveys:\n    timezone: Mars/Olympus\n", "unknown time zone"),
        ("channels:\n  surveys:\n    encoding: klingon\n", "unknown text encoding"),
        ("channels:\n  surveys:\n    colums: {}\n", "unknown key"),
        ("channels:\n  surveys:\n    columns:\n      email: comment\n", "would feed both"),
    ],
)
def test_given_a_malformed_channels_file_when_loaded_then_the_error_names_file_and_key(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    channels_file = tmp_path / "channels.yml"
    channels_file.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ChannelConfigError, match=message) as info:
        load_channel_config(Settings(home=tmp_path, channels_file=channels_file), "surveys")
    assert str(channels_file) in str(info.value)


def test_given_the_shipped_channels_file_when_loaded_then_it_matches_the_contract_defaults() -> None:
    settings = Settings(home=Path("/nonexistent"))
    for name in (
        "crm_contacts",
        "pos_transactions",
        "web_orders",
        "support_tickets",
        "marketing_events",
        "surveys",
    ):
        config = load_channel_config(settings, name)
        contract = get_channel(name)
        assert config.delimiter == contract.delimiter
        assert config.timezone == contract.timezone
        assert dict(config.columns) == {}


def test_given_unquoted_csv_with_short_long_and_blank_lines_when_read_then_fast_path_rejects_them_by_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plain.csv"
    good = "R{n},2026-03-01T08:00:00Z,csat,web,,a@x.nl,,5,,8,9,ok\n"
    path.write_text(
        SURVEY_HEADER
        + good.format(n=1)
        + "R2,too,short\n"
        + "\n"
        + good.format(n=4)
        + good.format(n=5)[:-1]
        + ",x\n",
        encoding="utf-8",
    )
    table, rejects, _ = _read_all(path, _config("surveys"), batch_rows=2)
    assert table.column("response_id").to_pylist() == ["R1", "R4"]
    assert table.column(SOURCE_LINE).to_pylist() == [2, 5]
    assert [(r.line, r.reason) for r in rejects] == [
        (3, "malformed record: expected 12 fields (as in the header), found 3"),
        (6, "malformed record: expected 12 fields (as in the header), found 13"),
    ]


def test_given_a_gzipped_csv_when_read_then_it_is_decompressed_on_the_fly(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "surveys.csv.gz"
    path.write_bytes(gzip.compress((FIXTURES / "surveys_good.csv").read_bytes()))
    table, rejects, _ = _read_all(path, _config("surveys"))
    assert table.column("response_id").to_pylist() == ["R1", "R2"]
    assert rejects == []


def test_given_a_truncated_gzip_when_read_then_read_error(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "surveys.csv.gz"
    path.write_bytes(gzip.compress((FIXTURES / "surveys_good.csv").read_bytes() * 50)[:-30])
    with pytest.raises(ReadError, match="compress|truncated|corrupt"):
        _read_all(path, _config("surveys"))


def test_given_json_mapping_for_nested_paths_and_the_array_when_read_then_fields_come_from_the_source_names(
    tmp_path: Path,
) -> None:
    channels_file = tmp_path / "channels.yml"
    channels_file.write_text(
        "channels:\n  web_orders:\n    columns:\n      customer.email: buyer.mail\n      lines: items\n"
        "      sku: article.code\n",
        encoding="utf-8",
    )
    config = load_channel_config(Settings(home=tmp_path, channels_file=channels_file), "web_orders")
    path = tmp_path / "orders.jsonl"
    path.write_text(
        '{"order_id": "W1", "ordered_at": "2026-03-01T10:00:00Z", "status": "completed", '
        '"buyer": {"mail": "B@Example.nl"}, "items": [{"line_number": 1, "article": {"code": "SKU-7"}, '
        '"quantity": 2, "unit_price": 1.5}]}\n',
        encoding="utf-8",
    )
    table, rejects, landing = _read_all(path, config)
    assert rejects == [] and landing.drift == []
    assert table.column("customer__email").to_pylist() == ["B@Example.nl"]
    assert table.column("sku").to_pylist() == ["SKU-7"]
    assert table.column(ITEM_INDEX).to_pylist() == [1]
