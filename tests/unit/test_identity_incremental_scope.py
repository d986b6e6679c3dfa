"""An incremental run's scope is as narrow as the day's new rows can reach, and gives a full run's answer.

A new row compared with a block's rows that it does not match leaves them out of the scope (only the pairs a
new row adds can be new edges), and a phone written without its country in the scope is read against every
number of the input, also those of records outside the scope (``identity.incremental``).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from customer360.identity import resolve
from customer360.settings import Settings
from customer360.warehouse import connect
from tests.support.identity_input import contact_record as rec
from tests.support.identity_input import load_records as load
from tests.support.identity_model import install_model, train_model_file

DAY1, DAY2 = date(2026, 3, 1), date(2026, 3, 2)

COMPARED = {
    "identity.customer_source_xref": "*",
    "identity.contact_points": "*",
    "identity.customer_ids": "*",
    "identity.match_edges": "* exclude (run_id)",
    "identity.record_components": "*",
    "identity.household_keys": "*",
}


def snapshot(settings: Settings) -> dict[str, list[tuple]]:
    with connect(settings, read_only=True) as con:
        return {
            table: sorted(con.execute(f"select {columns} from {table}").fetchall(), key=repr)
            for table, columns in COMPARED.items()
        }


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory) -> Path:
    return train_model_file(Settings(home=tmp_path_factory.mktemp("identity-model")))


def incremental_and_full(
    tmp_path: Path, model: Path, day1: list, day2: list
) -> tuple[object, Settings, Settings]:
    """Resolve ``day1``, then ``day1 + day2`` incrementally; and ``day1 + day2`` fully from the same first
    run. Returns the incremental run's result and both homes."""
    incremental = Settings(home=tmp_path / "incremental")
    install_model(incremental, model)
    load(incremental, day1)
    assert resolve(incremental, DAY1, "day1").mode == "full"
    full_home = tmp_path / "full"
    shutil.copytree(incremental.home, full_home)
    full = replace(Settings(home=full_home), full_refresh=True)
    load(incremental, day1 + day2)
    load(full, day1 + day2)
    result = resolve(incremental, DAY2, "day2")
    assert resolve(full, DAY2, "day2").mode == "full"
    return result, incremental, full


def test_given_a_new_record_in_a_block_it_matches_nobody_of_then_the_block_stays_out_of_the_scope(
    tmp_path, trained_model
):
    # GIVEN five Jansens of Amsterdam (one block: city + family name), five different people
    people = [
        ("Anna", "1970-01-05", "Keizersgracht 1", "1015AA"),
        ("Bram", "1982-03-17", "Prinsengracht 20", "1016BB"),
        ("Carla", "1991-07-23", "Herengracht 300", "1017CC"),
        ("Daan", "1965-11-02", "Singel 45", "1012DD"),
        ("Eva", "2000-04-30", "Damrak 7", "1012EE"),
    ]
    day1 = [
        rec("crm_contacts", f"c{i}", first_name=given, last_name="Jansen", birth_date=born, street=street,
            postal_code=postal, city="Amsterdam", country_code="NL", email=f"{given.lower()}.j{i}@gmail.com")
        for i, (given, born, street, postal) in enumerate(people)
    ]  # fmt: skip
    # WHEN a sixth Jansen of Amsterdam arrives, matching none of them
    day2 = [
        rec("crm_contacts", "c9", day=20, first_name="Sander", last_name="Jansen", birth_date="1978-09-14",
            street="Rokin 90", postal_code="1012KT", city="Amsterdam", country_code="NL",
            email="s.jansen.78@gmail.com")
    ]  # fmt: skip
    result, incremental, full = incremental_and_full(tmp_path, trained_model, day1, day2)
    # THEN only the new record is resolved again, and every identity table is a full run's
    assert result.mode == "incremental"
    assert result.records_resolved == 1
    assert snapshot(incremental) == snapshot(full)


def test_given_a_national_phone_in_the_scope_then_it_is_read_against_a_number_outside_the_scope(
    tmp_path, trained_model
):
    # GIVEN a British number written with its country on one record, and the same number written without a
    # country on another person's record (an ascending run: a placeholder, so no phone edge joins them)
    day1 = [
        rec("crm_contacts", "gb", first_name="Oliver", last_name="Smith", birth_date="1980-02-03",
            phone="+44 1234 567890", country_code="GB", email="oliver.smith80@gmail.com", city="London"),
        rec("pos_transactions", "pos1", first_name="Iris", last_name="Muller", birth_date="1975-06-07",
            phone="1234567890", email="iris.muller75@ziggo.nl", city="Utrecht"),
    ]  # fmt: skip
    # WHEN a new record of the second person (same email) arrives: her record is in the scope, his is not
    day2 = [
        rec("web_orders", "w1", day=20, first_name="Iris", last_name="Muller", birth_date="1975-06-07",
            email="iris.muller75@ziggo.nl", city="Utrecht")
    ]  # fmt: skip
    result, incremental, full = incremental_and_full(tmp_path, trained_model, day1, day2)
    # THEN her phone is read in the number's country as in the full run, and every table is the full run's
    assert result.mode == "incremental"
    assert result.records_resolved == 2
    with connect(incremental, read_only=True) as con:
        (phone,) = con.execute(
            "select phone_e164 from identity.contact_points where source_record_id = 'pos1'"
        ).fetchall()[0]
    assert phone == "+441234567890"
    assert snapshot(incremental) == snapshot(full)


def test_given_the_bench_with_a_day_when_resolved_again_in_full_then_its_customers_are_the_days(tmp_path):
    # GIVEN the identity bench on 1,500 persons with one more day resolved incrementally (``--daily``)
    from customer360_dev.identity_synthetic import run_benchmark

    daily = run_benchmark(1500, seed=4, directory=tmp_path, daily=True)
    # WHEN the same warehouse is resolved again in full with the model it has (``--full-only``)
    full = run_benchmark(1500, seed=4, directory=tmp_path, full_only=True)
    # THEN that run is full, trains nothing, and finds the daily run's customers and accuracy
    assert daily["daily_mode"] == "incremental"
    assert full["full_mode"] == "full"
    assert full["model_trained"] is False
    assert full["records"] == daily["records"] + daily["daily_records"]
    assert full["customers"] == daily["customers"]
    assert (full["precision"], full["recall"]) == (daily["precision"], daily["recall"])
