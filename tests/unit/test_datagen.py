"""Tests for the data generator (``customer360 generate``).

Small universes (a few hundred persons, a few weeks) keep each run to seconds. The landing files are read
back with the standard library and pyarrow and checked against the landing contract independently of the
generator's own bookkeeping.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from customer360.landing.contract import CHANNELS, Channel, Column
from customer360_dev.datagen.behaviour import build_schedule
from customer360_dev.datagen.generate import STATS_FILE, generate
from customer360_dev.datagen.people import build_persons

END = date(2025, 3, 31)
BOOLS = {"true", "false", "1", "0", "yes", "no", "y", "n"}


# Reading landing files back ---------------------------------------------------------------------


def _flatten(obj: dict, prefix: str = "") -> dict:
    flat: dict = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def read_records(path: Path, channel: Channel) -> list[dict | None]:
    """One dict per file record (web: the order with its ``lines``); None for an unparsable JSON line."""
    if channel.format == "csv":
        text = path.read_text(encoding="utf-8")
        return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=channel.delimiter))
    if channel.format == "parquet":
        return pq.read_table(path).to_pylist()
    records: list[dict | None] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(_flatten(json.loads(line)))
        except json.JSONDecodeError:
            records.append(None)
    return records


def raw_rows(record: dict | None, channel: Channel) -> list[dict | None]:
    """Records as ingest unnests them: one row per web order line."""
    if record is None or not channel.unnest:
        return [record]
    lines = record.get(channel.unnest) or []
    order = {k: v for k, v in record.items() if k != channel.unnest}
    return [{**order, **line} for line in lines]


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def value_ok(column: Column, raw: object) -> bool:
    """The landing contract's type checks, written out independently of the generator."""
    value = _text(raw)
    if value is None or value == "":
        return not column.required
    number: float | None = None
    if column.type == "int":
        if not re.fullmatch(r"-?\d+", value):
            return False
        number = float(value)
    elif column.type == "decimal":
        if not re.fullmatch(r"-?\d+(\.\d+)?", value):
            return False
        number = float(value)
    elif column.type == "bool":
        return value.lower() in BOOLS
    elif column.type == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return len(value) == 10
    elif column.type == "timestamp":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    elif column.type == "enum":
        return value.lower() in column.allowed
    if number is not None:
        if column.min_value is not None and number < column.min_value:
            return False
        if column.max_value is not None and number > column.max_value:
            return False
    return True


def row_ok(row: dict | None, channel: Channel) -> bool:
    return row is not None and all(value_ok(c, row.get(c.name)) for c in channel.all_columns)


def channel_files(out: Path, channel: Channel) -> list[Path]:
    return sorted((out / channel.name).glob("*/*"))


# Fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """GIVEN 1000 persons over 21 days with the default dirt."""
    root = tmp_path_factory.mktemp("datagen")
    out = root / "landing"
    stats = generate(out, customers=1000, days=21, seed=11, end_date=END)
    return out, root / "ground_truth", stats


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """GIVEN a run with a high dirt rate (8%) so the rate can be measured on a small sample."""
    root = tmp_path_factory.mktemp("dirty")
    stats = generate(root / "landing", customers=300, days=14, seed=5, end_date=END, dirt=0.08)
    return root / "landing", stats


# Tests ------------------------------------------------------------------------------------------


def test_given_same_seed_and_arguments_when_generating_twice_then_every_file_is_byte_identical(
    tmp_path: Path,
):
    # GIVEN two output folders WHEN the same arguments are generated into each
    generate(tmp_path / "a" / "landing", customers=150, days=5, seed=3, end_date=END)
    generate(tmp_path / "b" / "landing", customers=150, days=5, seed=3, end_date=END)
    # THEN the landing files and the ground truth are the same bytes
    for part in ("landing", "ground_truth"):
        left = sorted(
            p.relative_to(tmp_path / "a") for p in (tmp_path / "a" / part).rglob("*") if p.is_file()
        )
        right = sorted(
            p.relative_to(tmp_path / "b") for p in (tmp_path / "b" / part).rglob("*") if p.is_file()
        )
        assert left == right and left
        for rel in left:
            if rel.name == STATS_FILE:
                continue  # holds the (different) output paths
            assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_given_another_seed_when_generating_then_files_differ(tmp_path: Path):
    generate(tmp_path / "a" / "landing", customers=100, days=3, seed=1, end_date=END)
    generate(tmp_path / "b" / "landing", customers=100, days=3, seed=2, end_date=END)
    rel = Path("landing/crm_contacts/2025-03-29/crm_contacts_2025-03-29.csv")
    assert (tmp_path / "a" / rel).read_bytes() != (tmp_path / "b" / rel).read_bytes()


def test_given_a_run_when_listing_files_then_each_channel_has_one_file_per_day_in_the_contract_layout(
    landing,
):
    out, _, stats = landing
    days = [date.fromordinal(END.toordinal() - i).isoformat() for i in range(21)]
    for name, channel in CHANNELS.items():
        ext = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}[channel.format]
        expected = sorted(out / name / d / f"{name}_{d}.{ext}" for d in days)
        assert channel_files(out, channel) == expected
        assert stats.channels[name].files == 21


def test_given_a_run_when_reading_headers_then_columns_are_exactly_the_contract_columns(landing):
    out, _, _ = landing
    for channel in CHANNELS.values():
        expected = [c.name for c in channel.columns]
        for path in channel_files(out, channel)[:3]:
            if channel.format == "csv":
                header = path.read_text(encoding="utf-8").split("\n", 1)[0]
                assert header.split(channel.delimiter) == expected
            elif channel.format == "parquet":
                assert pq.read_schema(path).names == expected
            else:
                for record in read_records(path, channel):
                    if record is None:
                        continue
                    assert [k for k in record if k != "lines"] == expected
                    assert [list(line) for line in record["lines"]] == [
                        [c.name for c in channel.unnest_columns]
                    ] * len(record["lines"])


def test_given_a_run_when_counting_records_then_stats_match_the_files(landing):
    out, _, stats = landing
    by_path = {f.path: f for f in stats.files}
    for channel in CHANNELS.values():
        for path in channel_files(out, channel):
            records = read_records(path, channel)
            entry = by_path[path.relative_to(out).as_posix()]
            assert entry.records == len(records)
            assert entry.rows == sum(len(raw_rows(r, channel)) for r in records)


def test_given_default_dirt_when_validating_every_row_against_the_contract_then_invalid_rows_reconcile(
    landing,
):
    # WHEN every raw row is checked against the contract's types
    out, _, stats = landing
    by_path = {f.path: f for f in stats.files}
    for channel in CHANNELS.values():
        for path in channel_files(out, channel):
            rows = [row for r in read_records(path, channel) for row in raw_rows(r, channel)]
            invalid = sum(not row_ok(row, channel) for row in rows)
            # THEN the file holds exactly the invalid rows the stats report
            assert invalid == by_path[path.relative_to(out).as_posix()].invalid_rows, path


def test_given_eight_percent_dirt_when_generating_then_invalid_records_are_near_that_rate(dirty):
    out, stats = dirty
    records = sum(c.records for c in stats.channels.values())
    invalid = sum(c.invalid_records for c in stats.channels.values())
    assert 0.065 < invalid / records < 0.095
    kinds = {k for c in stats.channels.values() for k in c.invalid_by_kind}
    assert {"bad_timestamp", "bad_enum", "bad_decimal", "empty_required"} <= kinds
    assert len(kinds) >= 7
    # the rows really are invalid: checked independently
    web = CHANNELS["web_orders"]
    broken_json = sum(r is None for p in channel_files(out, web) for r in read_records(p, web))
    assert broken_json == stats.channels["web_orders"].invalid_by_kind.get("malformed_json", 0)
    assert any(
        "," in r["unit_price"] or not r["unit_price"][:1].isdigit()
        for p in channel_files(out, CHANNELS["pos_transactions"])
        for r in read_records(p, CHANNELS["pos_transactions"])
        if r["unit_price"]
    )


def test_given_no_dirt_when_validating_every_row_then_all_rows_are_valid(tmp_path: Path):
    stats = generate(tmp_path / "landing", customers=200, days=7, seed=9, end_date=END, dirt=0.0)
    assert all(c.invalid_records == 0 for c in stats.channels.values())
    for channel in CHANNELS.values():
        for path in channel_files(tmp_path / "landing", channel):
            for record in read_records(path, channel):
                for row in raw_rows(record, channel):
                    assert row_ok(row, channel), (path, row)


def _truth(landing) -> dict[tuple[str, str], str]:
    _, truth_dir, _ = landing
    table = pq.read_table(truth_dir / "source_records.parquet").to_pylist()
    pairs = {(r["source_channel"], r["source_record_id"]): r["person_id"] for r in table}
    assert len(pairs) == len(table), "a source record is listed twice in the ground truth"
    return pairs


IDENTIFYING = {
    "crm_contacts": ("contact_id", ()),
    "web_orders": ("order_id", ()),
    "pos_transactions": ("transaction_id", ("loyalty_id", "customer_email", "customer_phone")),
    "support_tickets": ("ticket_id", ()),
    "marketing_events": ("event_id", ("email", "account_id")),
    "surveys": ("response_id", ("email", "account_id", "ticket_id")),
}


def test_given_a_run_when_reading_all_records_then_ground_truth_covers_every_identifying_record(landing):
    out, truth_dir, stats = landing
    truth = _truth(landing)
    persons = {r["person_id"] for r in pq.read_table(truth_dir / "persons.parquet").to_pylist()}
    assert set(truth.values()) <= persons
    for name, channel in CHANNELS.items():
        id_column, needs_one_of = IDENTIFYING[name]
        seen: set[str] = set()
        for path in channel_files(out, channel):
            for record in read_records(path, channel):
                if record is None:
                    continue
                if needs_one_of and not any(record.get(c) for c in needs_one_of):
                    continue
                seen.add(record[id_column])
        missing = {i for i in seen if (name, i) not in truth}
        assert not missing, f"{name}: {len(missing)} identifying records without ground truth"
        assert stats.channels[name].truth_records == sum(1 for c, _ in truth if c == name)


def _records_by_person(landing, column_by_channel: dict[str, str]) -> dict[str, set[str]]:
    out, _, _ = landing
    truth = _truth(landing)
    found: dict[str, set[str]] = defaultdict(set)
    for name, column in column_by_channel.items():
        channel = CHANNELS[name]
        id_column = IDENTIFYING[name][0]
        for path in channel_files(out, channel):
            for record in read_records(path, channel):
                if record is None or not record.get(column):
                    continue
                person = truth.get((name, record[id_column]))
                if person:
                    found[person].add(record[column])
    return found


def test_given_a_run_when_grouping_raw_emails_by_true_person_then_variants_occur(landing):
    emails = _records_by_person(
        landing,
        {
            "crm_contacts": "email",
            "web_orders": "customer.email",
            "support_tickets": "customer_email",
            "marketing_events": "email",
            "pos_transactions": "customer_email",
        },
    )
    variants = [v for v in emails.values() if len(v) >= 2]
    assert len(variants) >= 5
    flat = {e for v in emails.values() for e in v}
    assert any("+" in e.split("@")[0] for e in flat), "gmail plus tags"
    assert any(e.endswith("@googlemail.com") for e in flat) or any(e != e.lower() for e in flat)


def test_given_a_run_when_grouping_raw_phones_by_true_person_then_formats_differ(landing):
    phones = _records_by_person(
        landing,
        {"crm_contacts": "phone", "web_orders": "customer.phone", "support_tickets": "customer_phone"},
    )
    assert sum(len(v) >= 2 for v in phones.values()) >= 5
    flat = {p for v in phones.values() for p in v}
    assert any(p.startswith("+31 6") for p in flat) and any(re.fullmatch(r"06-\d{8}", p) for p in flat)


def test_given_a_run_when_reading_names_then_hanzi_pinyin_and_western_names_appear(landing):
    out, truth_dir, _ = landing
    persons = pq.read_table(truth_dir / "persons.parquet").to_pylist()
    chinese = sum(p["name_script"] == "han" for p in persons) / len(persons)
    assert 0.10 < chinese < 0.25
    crm = CHANNELS["crm_contacts"]
    full_names = {r["full_name"] for p in channel_files(out, crm) for r in read_records(p, crm)}
    assert any(n and re.fullmatch(r"[\u4e00-\u9fff]{2,4}", n) for n in full_names), "hanzi full names"


def test_given_the_universe_when_checking_over_merge_traps_then_shared_identifiers_are_distinct_persons():
    # GIVEN enough persons that households, generic mailboxes and namesakes occur
    persons = build_persons(np.random.default_rng([4, 1]), 3000, 20000, 365)
    generic = [e for e in persons.generic_email.to_pylist() if e]
    assert len(generic) > len(set(generic)), "a generic mailbox is used by several persons"
    households = persons.household_id[persons.household_id >= 0]
    assert (np.bincount(households) >= 2).any(), "several persons share one address"
    streets = persons.street.to_pylist()
    members = np.flatnonzero((persons.household_id >= 0) & (persons.household_id != np.arange(persons.n)))
    head = persons.household_id[members[0]]
    assert streets[members[0]] == streets[head] and persons.person_id[members[0]] != persons.person_id[head]
    names = list(zip(persons.first_name.to_pylist(), persons.last_name.to_pylist(), strict=True))
    seen: dict[tuple[str, str], int] = {}
    namesakes = 0
    for i, name in enumerate(names):
        if name in seen and persons.birth_day[seen[name]] != persons.birth_day[i]:
            namesakes += 1
        seen.setdefault(name, i)
    assert namesakes > 10
    placeholders = [p for p in persons.placeholder_phone.to_pylist() if p]
    assert len(placeholders) > len(set(placeholders))


def test_given_the_schedule_when_comparing_persons_then_bad_service_goes_with_more_dropout():
    # GIVEN a year for 6000 persons WHEN the purchase process runs with service feedback
    persons = build_persons(np.random.default_rng([8, 1]), 6000, 20000, 365)
    schedule = build_schedule(np.random.default_rng([8, 2]), persons, 20000, 365)
    buyers = ~persons.is_prospect
    bad = np.zeros(persons.n, bool)
    bad[schedule.tickets.person[schedule.tickets.is_bad]] = True
    dropped = schedule.dropout_day < np.iinfo(np.int32).max
    # THEN persons who got bad service drop out more often, prospects never buy, and buyers differ a lot
    assert dropped[bad & buyers].mean() > dropped[~bad & buyers].mean() + 0.1
    orders = np.bincount(schedule.orders.person, minlength=persons.n)
    assert orders[persons.is_prospect].sum() == 0
    assert orders[buyers].std() > orders[buyers].mean() * 0.8
    assert schedule.reactivated.any()
    lines_per_person = len(schedule.orders) * 2.3 / persons.n
    assert 7 < lines_per_person < 13, "about 10 order lines per person per year"


def test_given_a_run_when_reading_timestamps_then_each_channel_uses_its_time_convention(landing):
    out, _, _ = landing
    web = CHANNELS["web_orders"]
    pos = CHANNELS["pos_transactions"]
    tickets = CHANNELS["support_tickets"]
    web_times = [r["ordered_at"] for p in channel_files(out, web) for r in read_records(p, web) if r]
    with_offset = sum(
        bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", t)) for t in web_times
    )
    assert with_offset > 0.95 * len(web_times)
    assert {t[-6:] for t in web_times} >= {"+01:00", "+08:00"}, "Amsterdam and China offsets"
    pos_times = [r["transacted_at"] for p in channel_files(out, pos) for r in read_records(p, pos)]
    assert sum(bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", t)) for t in pos_times) > 0.95 * len(
        pos_times
    )
    ticket_times = [r["updated_at"] for p in channel_files(out, tickets) for r in read_records(p, tickets)]
    assert all(t.endswith("Z") for t in ticket_times)


def row_like(text: str) -> bool:
    return bool(re.match(r"\d{4}-\d\d-\d\dT", text))


def test_given_a_run_when_reading_tickets_then_resolved_tickets_appear_again_with_icon_fields(landing):
    out, _, _ = landing
    channel = CHANNELS["support_tickets"]
    versions: dict[str, list[dict]] = defaultdict(list)
    for path in channel_files(out, channel):
        for record in read_records(path, channel):
            versions[record["ticket_id"]].append(record)
    resolved = [v for v in versions.values() if any(r["status"] in ("resolved", "closed") for r in v)]
    assert resolved
    for ticket in resolved:
        assert any(r["status"] == "open" for r in ticket)
        final = next(r for r in ticket if r["status"] in ("resolved", "closed"))
        assert final["resolved_at"] and final["claim"] and final["standard_applied"] and final["sla_hours"]
        assert final["updated_at"] >= final["opened_at"] or not row_like(final["opened_at"])


def test_given_the_cli_when_registering_then_generate_parses_arguments_and_rejects_bad_ones(tmp_path: Path):
    from customer360_dev.datagen.commands import register

    parser = argparse.ArgumentParser(prog="customer360")
    register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "generate",
            "--customers",
            "50",
            "--days",
            "2",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "landing"),
            "--end-date",
            "2025-01-31",
            "--dirt",
            "0",
        ]
    )
    assert args.func(args) == 0
    assert (tmp_path / "landing" / "surveys" / "2025-01-31" / "surveys_2025-01-31.csv").exists()
    assert (tmp_path / "ground_truth" / "source_records.parquet").exists()
    for bad in (["--dirt", "0,5"], ["--dirt", "0.9"], ["--end-date", "31-01-2025"], ["--customers", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["generate", "--customers", "5", "--days", "1", *bad])


def test_given_phone_variants_when_parsed_with_the_persons_country_then_they_reach_the_true_number():
    import phonenumbers

    # GIVEN persons with phones rendered in four national and international formats
    persons = build_persons(np.random.default_rng([6, 1]), 800, 20000, 365)
    e164 = persons.phone_e164.to_pylist()
    countries = persons.country.to_pylist()
    checked = 0
    for variant in persons.phone_variants:
        for raw, true, country in zip(variant.to_pylist(), e164, countries, strict=True):
            if raw is None:
                continue
            # WHEN parsed as a phone library would with the person's country as default region
            number = phonenumbers.parse(raw, country)
            # THEN every format is a valid number and normalises to the true E.164
            assert phonenumbers.is_valid_number(number), raw
            assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == true
            checked += 1
    assert checked > 2000
    for variant in persons.landline_variants:
        for raw in variant.drop_null().to_pylist():
            assert phonenumbers.is_valid_number(phonenumbers.parse(raw, "NL")), raw


def test_given_a_run_when_reading_store_returns_then_they_reference_an_earlier_sale(landing):
    out, _, _ = landing
    channel = CHANNELS["pos_transactions"]
    sales: set[str] = set()
    returns = 0
    for path in channel_files(out, channel):
        records = read_records(path, channel)
        for r in records:
            if r["transaction_type"] == "sale":
                sales.add(r["transaction_id"])
        for r in records:
            if r["transaction_type"] == "return":
                returns += 1
                assert r["original_transaction_id"] in sales
                assert r["transaction_id"] != r["original_transaction_id"]
    assert returns > 0
