"""The adversarial identity set: deterministic, every trap planted, all six channels, an honest ceiling."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import phonenumbers
import pytest

from customer360.landing.contract import CHANNELS, get_channel
from customer360_dev.identity_eval import adversarial
from customer360_dev.identity_eval.ceiling import ceiling_recall
from customer360_dev.identity_eval.landing import check_frame

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    home = tmp_path_factory.mktemp("adversarial")
    return adversarial.build_adversarial_set(home, AS_OF, persons=400, seed=3)


def test_given_one_seed_when_generated_twice_then_every_channel_is_identical_and_another_seed_differs():
    _, records_a, frames_a = adversarial.generate(300, 11, AS_OF)
    _, records_b, frames_b = adversarial.generate(300, 11, AS_OF)
    _, _, frames_c = adversarial.generate(300, 12, AS_OF)

    pd.testing.assert_frame_equal(records_a, records_b)
    for channel in frames_a:
        pd.testing.assert_frame_equal(frames_a[channel], frames_b[channel])
    assert not frames_a["crm_contacts"].equals(frames_c["crm_contacts"])


def test_given_the_set_when_written_then_all_six_channels_land_in_their_contract_formats(small_set):
    written = {path.parent.parent.name: path for path in small_set.landing_root.glob("*/*/*")}

    assert set(written) == set(CHANNELS)
    for channel, path in written.items():
        assert (
            path.suffix
            == "." + {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}[CHANNELS[channel].format]
        )
    truth = pd.read_parquet(small_set.truth_path)
    assert set(truth["source_channel"]) == set(CHANNELS)
    assert not truth.duplicated(["source_channel", "source_record_id"]).any()


def test_given_the_generated_frames_when_checked_then_they_fit_the_landing_contract():
    _, _, frames = adversarial.generate(200, 5, AS_OF)

    for channel, frame in frames.items():
        check_frame(frame, get_channel(channel))


def test_given_the_set_when_labelled_then_every_trap_class_is_present(small_set):
    groups = pd.read_parquet(small_set.trap_groups_path)
    pairs = pd.read_parquet(small_set.trap_pairs_path)

    assert set(groups["trap_class"]) == set(adversarial.APART_TRAPS)
    assert set(pairs["trap_class"]) == set(adversarial.TRAP_CLASSES)
    # pairs of a trap that must stay apart join different persons; the variants join one person's records
    apart = pairs["trap_class"].isin(adversarial.APART_TRAPS)
    assert (~pairs.loc[apart, "same_person"]).all() and pairs.loc[~apart, "same_person"].all()


def test_given_a_household_when_written_then_its_members_share_one_phone_but_not_their_names(small_set):
    crm = pd.read_csv(next(small_set.landing_root.glob("crm_contacts/*/*.csv")), dtype=str)
    pairs = pd.read_parquet(small_set.trap_pairs_path)
    household = pairs[pairs["trap_class"] == "household"]
    left = crm.set_index("contact_id").loc[household["source_record_id_l"]]
    right = crm.set_index("contact_id").loc[household["source_record_id_r"]]

    assert (left["phone"].to_numpy() == right["phone"].to_numpy()).all()
    assert (left["street"].to_numpy() == right["street"].to_numpy()).all()
    names_l = left["first_name"].fillna(left["full_name"]).to_numpy()
    names_r = right["first_name"].fillna(right["full_name"]).to_numpy()
    assert (names_l != names_r).all()


def test_given_the_crm_phones_when_parsed_then_they_are_valid_numbers_of_their_country():
    _, _, frames = adversarial.generate(400, 8, AS_OF)
    crm = frames["crm_contacts"].dropna(subset=["phone"])

    parsed = crm["phone"].map(lambda text: phonenumbers.parse(text, None))
    valid = parsed.map(phonenumbers.is_valid_number)
    regions = parsed.map(phonenumbers.region_code_for_number)
    assert valid.mean() > 0.99
    assert (regions[valid] == crm["country"][valid]).all()


def test_given_records_and_their_keys_when_the_ceiling_is_computed_then_only_shared_evidence_counts():
    # person A: a1-a2 share an e-mail, a3 shares nothing with them (but a key with c1, another person);
    # person B: b1-b2 share a phone, b2-b3 a name variant, so b1-b3 are linked through b2.
    records = pd.DataFrame(
        {"record": ["a1", "a2", "a3", "b1", "b2", "b3", "c1"], "person": ["A", "A", "A", "B", "B", "B", "C"]}
    )
    keys = pd.DataFrame(
        {
            "record": ["a1", "a2", "a3", "c1", "b1", "b2", "b2", "b3"],
            "key": ["email:x", "email:x", "phone:9", "phone:9", "phone:1", "phone:1", "name:bob", "name:bob"],
        }
    )

    # A: 1 of 3 pairs; B: 3 of 3; C: none
    assert ceiling_recall(records, keys) == pytest.approx(4 / 6)


def test_given_the_set_when_built_then_its_ceiling_lies_between_zero_and_one(small_set):
    assert 0.9 < small_set.ceiling_recall < 1.0


def test_given_many_persons_when_their_emails_are_drawn_then_no_two_share_a_gmail_mailbox():
    # GIVEN enough persons that names and address styles clash (Gmail ignores dots in the local part, so
    # a.b@gmail.com and ab@gmail.com are one mailbox: one person's)
    persons = adversarial.build_persons(np.random.default_rng(7), 5000)
    emails = pd.Series(persons.email)
    local, _, domain = emails.str.partition("@").T.to_numpy()
    undotted = pd.Series(local).str.replace(".", "", regex=False)
    mailbox = pd.Series(local).where(domain != "gmail.com", undotted)
    # THEN every address, and every Gmail mailbox, belongs to one person
    assert not emails.duplicated().any()
    assert not (mailbox + "@" + pd.Series(domain)).duplicated().any()
