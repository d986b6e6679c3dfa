"""Blocking keys (identity.blocking) and the name-conflict guard on model links (identity.households)."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from customer360.identity.blocking import BLOCK_COLUMNS, block_columns_sql, blocking_rules
from customer360.identity.households import household_edge_mask

RECORD_COLUMNS = {
    "name_is_matchable": pa.bool_(),
    "name_fold": pa.string(),
    "name_sorted": pa.string(),
    "given_name": pa.string(),
    "surname": pa.string(),
    "name_script": pa.string(),
    "birth_date": pa.date32(),
    "email_key": pa.string(),
    "phone_key": pa.string(),
    "phone_digits": pa.string(),
    "phone_is_placeholder": pa.bool_(),
    "street_fold": pa.string(),
    "postal_key": pa.string(),
    "city_fold": pa.string(),
}


def records(*rows: dict[str, object]) -> pa.Table:
    """Normalised records as ``records.prepare_records`` leaves them (only the columns blocking reads)."""
    filled = []
    for row in rows:
        given, surname = row.get("given_name"), row.get("surname")
        names = [n for n in (given, surname) if n]
        full = {
            "name_is_matchable": bool(names),
            "name_fold": " ".join(names) or None,
            "name_sorted": " ".join(sorted(" ".join(names).split())) or None,
            "name_script": "latin",
            "phone_is_placeholder": False,
        }
        row = {**row, "birth_date": date.fromisoformat(row["birth_date"]) if row.get("birth_date") else None}
        filled.append({**{c: None for c in RECORD_COLUMNS}, **full, **row})
    table = pa.table({c: pa.array([r[c] for r in filled], t) for c, t in RECORD_COLUMNS.items()})
    return table.append_column("idx", pa.array(np.arange(len(filled), dtype=np.int64)))


def keys(table: pa.Table) -> list[dict[str, object]]:
    con = duckdb.connect()
    try:
        con.register("recs", table)
        keyed = con.sql(f"select * from ({block_columns_sql('recs')}) order by idx")
        return keyed.to_arrow_table().to_pylist()
    finally:
        con.close()


def shared_keys(left: dict[str, object], right: dict[str, object]) -> set[str]:
    return {c for c in BLOCK_COLUMNS if left[c] is not None and left[c] == right[c]}


def test_given_a_person_whose_names_and_postal_code_changed_then_the_street_with_its_number_blocks_them():
    """GIVEN two records of one person at '22 fisken crescent' whose given name and postal code (2270/2207)
    both differ, with no birth date WHEN keyed THEN they share the street key (and only the street with its
    house number: a bare street name is a whole street and no key)."""
    left, right, bare = keys(
        records(
            {"given_name": "olivef", "surname": "green", "street_fold": "22 fisken crescent",
             "postal_key": "2270", "city_fold": "camp hill"},
            {"given_name": "oliver", "surname": "greene", "street_fold": "22 fisken crescent",
             "postal_key": "2207", "city_fold": "camp hill"},
            {"given_name": "mia", "surname": "ho", "street_fold": "fisken crescent", "postal_key": "2270"},
        )
    )  # fmt: skip
    assert "bk_street" in shared_keys(left, right)
    assert left["bk_street"] == "22fiskencrescent" and bare["bk_street"] is None


def test_given_a_street_written_with_and_without_a_space_then_the_street_key_is_shared():
    """GIVEN two records of one person at '11 rollston street', once typed '11 rollstonstreet', whose names
    are both mistyped WHEN keyed THEN they share the street key (spaces are left out of it), and a record at
    another house number of that street does not."""
    left, right, neighbour = keys(
        records(
            {"given_name": "miaq", "surname": "tamasasukas", "street_fold": "11 rollstonstreet",
             "postal_key": "6147"},
            {"given_name": "mia", "surname": "tamasauskas", "street_fold": "11 rollston street",
             "postal_key": "6147"},
            {"given_name": "mia", "surname": "tamasauskas", "street_fold": "13 rollston street",
             "postal_key": "6147"},
        )
    )  # fmt: skip
    assert "bk_street" in shared_keys(left, right)
    assert "bk_street" not in shared_keys(right, neighbour)


def test_given_a_one_token_name_then_it_keeps_the_birth_date_key_of_its_last_token():
    """GIVEN 'Prise' (the given name missing: the one token is given and family name) and 'Nathan Priest',
    born the same day, postal codes mistyped WHEN keyed THEN they share birth date + last token initial: a
    one-token name's last token is its first."""
    prise, priest = keys(
        records(
            {"given_name": "prise", "surname": "prise", "name_sorted": "prise", "name_fold": "prise",
             "birth_date": "1916-05-03", "postal_key": "4579"},
            {"given_name": "nathan", "surname": "priest", "birth_date": "1916-05-03", "postal_key": "4570"},
        )
    )  # fmt: skip
    assert "bk_bd_last" in shared_keys(prise, priest)
    assert prise["bk_bd_last"] == prise["bk_bd_first"] == "1916-05-03|p"
    assert prise["bk_postal_last"] == "4579|prise"


def test_given_a_family_name_that_sorts_before_the_given_name_then_birth_date_and_given_name_block_them():
    """GIVEN 'Maliah Rickett' and 'Maliah de Teliga' (the family name replaced by one whose tokens sort
    before and after the given name), born the same day at different addresses WHEN keyed THEN birth date +
    given name is a shared key, where no sorted-token key is."""
    rickett, teliga = keys(
        records(
            {"given_name": "maliah", "surname": "rickett", "birth_date": "1904-08-24",
             "street_fold": "148 sinclair street", "postal_key": "3070"},
            {"given_name": "maliah", "surname": "de teliga", "birth_date": "1904-08-24",
             "street_fold": "148 brumby s run", "postal_key": "3007"},
        )
    )  # fmt: skip
    assert shared_keys(rickett, teliga) == {"bk_bd_given"}


def test_given_a_mistyped_postal_code_then_birth_date_or_a_name_token_with_the_city_blocks_them():
    """GIVEN two records of one person in one city, postal codes mistyped (4308/4380), the given name changed
    WHEN keyed THEN birth date + city and city + family name are shared keys (the sorted name tokens
    'leslie raquel' and 'emiily leslie' share no first or last token)."""
    left, right = keys(
        records(
            {"given_name": "raquel", "surname": "leslie", "birth_date": "1990-03-28",
             "street_fold": "37 medley street", "postal_key": "4308", "city_fold": "athelstone"},
            {"given_name": "emiily", "surname": "leslie", "birth_date": "1990-03-28",
             "street_fold": "37 medly street", "postal_key": "4380", "city_fold": "athelstone"},
        )
    )  # fmt: skip
    shared = shared_keys(left, right)
    assert {"bk_bd_city", "bk_city_family"} <= shared
    assert left["bk_bd_city"] == "1990-03-28|athelstone" and left["bk_city_family"] == "athelstone|leslie"


@pytest.mark.parametrize("column", BLOCK_COLUMNS)
def test_given_every_block_key_then_it_is_one_splink_rule_that_skips_pairs_already_linked(column):
    """GIVEN the block keys WHEN turned into Splink rules THEN each key is one rule that compares only records
    the deterministic pass left apart."""
    assert f"l.{column} = r.{column} and l.det_label <> r.det_label" in blocking_rules()


def test_given_a_given_name_equal_to_its_own_family_name_then_it_conflicts_with_no_other_given_name():
    """GIVEN 'Ryan Ryan' (the family name typed in both fields) and 'Katelyn Ryan' at one address, no birth
    dates WHEN the model links them THEN the link stands: a given name equal to its own family name is no
    given name to conflict with."""
    table = records({"given_name": "ryan", "surname": "ryan"}, {"given_name": "katelyn", "surname": "ryan"})
    assert household_edge_mask(table, NO_HOUSEHOLDS, np.array([0]), np.array([1])).tolist() == [True]


@pytest.mark.parametrize(
    ("birth_dates", "household_phone", "stands"),
    [
        ((None, None), False, True),
        (("1987-10-31", None), False, True),
        (("1987-10-31", "1987-10-13"), False, True),
        (("1987-10-31", "1962-04-02"), False, False),
        ((None, None), True, False),
        (("1987-10-31", "1962-04-02"), True, False),
        (("1987-10-31", "1987-10-31"), True, True),
    ],
)
def test_given_two_different_given_names_then_a_model_link_stands_unless_they_look_like_a_household(
    birth_dates, household_phone, stands
):
    """GIVEN 'Kyle Vijiaraj' and 'Anthony Vijiaraj' (given names that are no typo, initial or part of each
    other) WHEN the model links them THEN the link is dropped when their birth dates are known and no typo of
    each other (two members of one family), or when they share a household phone and their birth dates are not
    known to be equal (without dates to tell, a different name on the family's phone is the other member);
    otherwise the model's score decides (a record whose given name a typist replaced, as in FEBRL)."""
    table = records(
        {"given_name": "kyle", "surname": "vijiaraj", "birth_date": birth_dates[0]},
        {"given_name": "anthony", "surname": "vijiaraj", "birth_date": birth_dates[1]},
    )
    households = NO_HOUSEHOLDS
    if household_phone:
        households = pa.table(
            {"identifier_type": ["phone", "phone"], "identifier": ["+31201234567"] * 2,
             "row": pa.array([0, 1], pa.int64())}
        )  # fmt: skip
    assert household_edge_mask(table, households, np.array([0]), np.array([1])).tolist() == [stands]


NO_HOUSEHOLDS = pa.table(
    {"identifier_type": pa.array([], pa.string()), "identifier": pa.array([], pa.string()),
     "row": pa.array([], pa.int64())}
)  # fmt: skip
