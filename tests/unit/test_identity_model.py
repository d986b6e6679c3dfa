"""The identity match model and the guards around it: each comparison level, the versioned model file,
households, shared values, role mailboxes, phone regions, swapped names, reruns and retrains."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from customer360.identity import resolve
from customer360.identity.blocklist import DEFAULT_BLOCKLIST_PATH
from customer360.identity.match_model import comparisons
from customer360.identity.model_store import load_model, model_path, versions
from customer360.settings import PROJECT_DIR, Settings
from customer360.warehouse import connect
from customer360_dev.identity_synthetic import write_input_table
from tests.support.identity_input import contact_record as rec
from tests.support.identity_input import load_records as load
from tests.support.identity_model import install_model, train_model_file

DAY1, DAY2 = date(2026, 3, 1), date(2026, 3, 2)


def customers(settings: Settings) -> dict[str, str]:
    with connect(settings, read_only=True) as con:
        return dict(
            con.execute("select source_record_id, customer_id from identity.customer_source_xref").fetchall()
        )


def query(settings: Settings, sql: str) -> list[tuple]:
    with connect(settings, read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory) -> Path:
    return train_model_file(Settings(home=tmp_path_factory.mktemp("identity-model")))


@pytest.fixture
def settings(tmp_path, trained_model) -> Settings:
    settings = Settings(home=tmp_path)
    install_model(settings, trained_model)
    return settings


# --- comparison levels ---------------------------------------------------------------------------------

PAIR_COLUMNS = (
    "given_name", "surname", "birth_date", "email_key", "email_local", "email_domain", "email_local_is_name",
    "phone_key", "phone_digits", "street_fold", "postal_key", "city_fold",
)  # fmt: skip


def level_of(comparison: str, left: dict[str, object], right: dict[str, object]) -> str:
    """The label of the first level of ``comparison`` whose condition holds for the pair (as Splink does)."""
    spec = next(c for c in comparisons() if c["output_column_name"] == comparison)
    values = {}
    for side, record in (("l", left), ("r", right)):
        for column in PAIR_COLUMNS:
            value = record.get(column)
            if column == "email_key" and value is not None:
                local, domain = str(value).split("@")
                values.setdefault(f"email_local_{side}", local.replace(".", ""))
                values.setdefault(f"email_domain_{side}", domain)
            values.setdefault(f"{column}_{side}", value)
    for side in ("l", "r"):
        if values.get(f"email_local_is_name_{side}") is None:
            values[f"email_local_is_name_{side}"] = False
    types = {"birth_date": "date", "email_local_is_name": "boolean"}
    select = ", ".join(
        f'cast(? as {types.get(name.rsplit("_", 1)[0], "varchar")}) as "{name}"' for name in values
    )
    con = duckdb.connect()
    try:
        con.execute(
            f"create table pair as select {select}", [None if v is None else str(v) for v in values.values()]
        )
        for level in spec["comparison_levels"]:
            condition = level["sql_condition"]
            if (
                condition == "ELSE"
                or con.execute(f"select coalesce(({condition}), false) from pair").fetchall()[0][0]
            ):
                return level["label_for_charts"]
    finally:
        con.close()
    raise AssertionError("no level")


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ({"given_name": "jan"}, {"given_name": "jan"}, "exact"),
        (
            {"given_name": "jan", "surname": "smit"},
            {"given_name": "smit", "surname": "jan"},
            "swapped with family name",
        ),
        (
            {"given_name": "rednond", "surname": "melissa"},
            {"given_name": "melissa", "surname": "redmond"},
            "swapped with family name",
        ),
        (
            {"given_name": "tippins", "surname": "hacry"},
            {"given_name": "harry", "surname": "tippins"},
            "swapped with family name",
        ),
        (
            {"given_name": "bullock", "surname": "holly"},
            {"given_name": "adele", "surname": "bullock"},
            "different",
        ),
        ({"given_name": "johannes"}, {"given_name": "johanes"}, "Jaro-Winkler >= 0.92"),
        ({"given_name": "mikhayla"}, {"given_name": "mikhvyla"}, "Jaro-Winkler >= 0.92"),
        ({"given_name": "jakib"}, {"given_name": "jakob"}, "one edit apart"),
        ({"given_name": "graxe"}, {"given_name": "grace"}, "one edit apart"),
        ({"given_name": "jan"}, {"given_name": "jon"}, "different"),
        ({"given_name": "kathryn"}, {"given_name": "katherine"}, "Jaro-Winkler >= 0.80"),
        ({"given_name": "j"}, {"given_name": "jan"}, "initial"),
        ({"given_name": "anna"}, {"given_name": "piet"}, "different"),
        ({"given_name": None}, {"given_name": "piet"}, "null"),
        ({"given_name": "les", "surname": "les"}, {"given_name": "lily", "surname": "les"}, "null"),
    ],
)
def test_given_two_given_names_then_the_pair_falls_in_the_designed_level(left, right, expected):
    """GIVEN two records' given (and family) names WHEN compared THEN the first matching level is the one
    the model documents: exact, swapped order, two Jaro-Winkler bands with one edit apart between them (a
    name of four letters or more), an initial, different, or null (also for a given name that is its own
    record's family name typed twice)."""
    assert level_of("given_name", left, right) == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1980-04-05", "1980-04-05", "exact"),
        ("1980-04-05", "1980-05-04", "day and month transposed"),
        ("1980-04-05", "1981-04-05", "one part different"),
        ("1980-04-05", "1980-04-15", "one part different"),
        ("1980-04-05", "1979-11-23", "within a year"),
        ("1980-04-05", "1975-11-23", "within ten years"),
        ("1980-04-05", "1955-11-23", "different"),
    ],
)
def test_given_two_birth_dates_then_a_typo_is_not_a_different_date(left, right, expected):
    """GIVEN two birth dates WHEN compared THEN transposed day/month and one differing part are levels of
    their own (weighed by the model), not a veto."""
    assert level_of("birth_date", {"birth_date": left}, {"birth_date": right}) == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("jurrien71@ziggo.nl", "jurrien71@ziggo.nl", "exact"),
        ("jurrien71@ziggo.nl", "jurrein71@ziggo.nl", "same domain, local part one edit apart"),
        ("wangxiaoming@gmail.com", "wangxiaoming@gmial.com", "same local part, domain one edit apart"),
        ("jurrien71@ziggo.nl", "jurrien71@kpnmail.nl", "different"),
        ("tweber55@gmail.com", "tweber56@gmail.com", "different"),
        ("h.peeters71@telenet.be", "hpeeters71@telenet.be", "same domain, local part one edit apart"),
        ("piet@ziggo.nl", "klaas@ziggo.nl", "different"),
    ],
)
def test_given_two_emails_then_typos_in_the_local_part_or_domain_have_their_levels(left, right, expected):
    """GIVEN two emails WHEN compared THEN a one-edit typo on the same domain, and a domain typo with the same
    local part, are levels of their own; the same local part at another provider is not."""
    assert level_of("email", {"email_key": left}, {"email_key": right}) == expected


def test_given_namesakes_with_name_only_local_parts_then_a_one_edit_difference_is_not_a_typo():
    """GIVEN maria.deboer@ and maria_deboer@ on one domain, each just the holder's name WHEN compared THEN
    it is 'different' (two namesakes as often as one person), but with digits it is a typo."""
    name_only = {"email_local_is_name": True}
    assert (
        level_of("email", {"email_key": "mariadeboer@hotmail.com", **name_only},
                 {"email_key": "maria_deboer@hotmail.com", **name_only})
        == "different"
    )  # fmt: skip
    assert (
        level_of(
            "email", {"email_key": "mariadeboer7@hotmail.com"}, {"email_key": "mariadeober7@hotmail.com"}
        )
        == "same domain, local part one edit apart"
    )


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ({"phone_key": "+31612398765", "phone_digits": "0612398765"},
         {"phone_key": "+31612398765", "phone_digits": "31612398765"}, "exact"),
        ({"phone_key": "+31612398765", "phone_digits": "0612398765"},
         {"phone_key": None, "phone_digits": "0032612398765"}, "same last 8 digits"),
        ({"phone_key": "+31612398765", "phone_digits": "0612398765"},
         {"phone_key": "+31687654321", "phone_digits": "0687654321"}, "different"),
    ],
)  # fmt: skip
def test_given_two_phones_then_exact_and_suffix_levels(left, right, expected):
    assert level_of("phone", left, right) == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ({"street_fold": "kerkstraat 1", "postal_key": "1234AB", "city_fold": "amsterdam"},
         {"street_fold": "kerkstraat 1", "postal_key": "1234AB", "city_fold": "amsterdam"},
         "same street and postal code"),
        ({"street_fold": "kerkstraat 1", "postal_key": "1234AB"},
         {"street_fold": "kerkstr 1", "postal_key": "1234AB"}, "similar street, same postal code"),
        ({"street_fold": "kerkstraat 1", "postal_key": "3101"},
         {"street_fold": "kerkstraat 1", "postal_key": "3011"},
         "similar street, postal code one edit apart or similar city"),
        ({"street_fold": "kerkstraat 1", "postal_key": "1234AB"},
         {"street_fold": "dorpsweg 9", "postal_key": "1234AB"}, "same postal code"),
        ({"street_fold": "kerkstraat 1", "city_fold": "utrecht"},
         {"street_fold": "kerkstraat 1", "city_fold": "delft"}, "same street elsewhere"),
        ({"street_fold": "1 hopegoodplace", "postal_key": "2550", "city_fold": "bonython"},
         {"street_fold": "1 hopegood place", "postal_key": "3175", "city_fold": "mill park"},
         "same street elsewhere"),
        ({"street_fold": "1 hopegoodplace", "postal_key": "2550"},
         {"street_fold": "1 hopegood place", "postal_key": "2550"}, "same street and postal code"),
        ({"postal_key": "1234AB"}, {"postal_key": "1235AB"}, "postal code one edit apart"),
        ({"city_fold": "utrecht", "postal_key": "3511AA"}, {"city_fold": "utrecht", "postal_key": "9999ZZ"},
         "same city"),
        ({"city_fold": "mill park"}, {"city_fold": "mill prak"}, "similar city"),
        ({"city_fold": "utrecht"}, {"city_fold": "delft"}, "different"),
    ],
)  # fmt: skip
def test_given_two_addresses_then_one_comparison_counts_street_postal_code_and_city_once(
    left, right, expected
):
    """GIVEN two addresses WHEN compared THEN street, postal code and city fall in one comparison's level
    (they are not independent: a shared address must not outweigh different names, emails and phones)."""
    assert level_of("address", left, right) == expected


# --- the model file -------------------------------------------------------------------------------------


def test_given_no_model_when_identity_first_runs_then_it_trains_version_1_and_says_so(tmp_path):
    """GIVEN an empty model folder WHEN identity resolves THEN it trains and saves version 1 with its
    training window and record count, the result says the run trained it, and the next run uses it as is."""
    settings = Settings(home=tmp_path)
    load(
        settings, [rec("crm_contacts", f"c{i}", 1, first_name=f"P{i}", last_name="Jansen") for i in range(3)]
    )
    first = resolve(settings, DAY1, "r1")
    assert (first.model_version, first.model_trained) == (1, True)
    assert "trained by this run" in first.model_note
    saved = json.loads(model_path(settings, 1).read_text())
    assert saved["version"] == 1 and saved["training_records"] == 3 and saved["created_at"]
    assert saved["training_window"]["to"] == DAY1.isoformat() and "comparisons" in saved["splink"]
    second = resolve(settings, DAY2, "r2")
    assert (second.model_version, second.model_trained) == (1, False) and versions(settings) == [1]


def test_given_a_pinned_version_that_does_not_exist_then_the_error_names_the_folder(settings):
    pinned = settings.with_overrides(identity_model_version=7)
    with pytest.raises(FileNotFoundError, match="version 7 not found"):
        load_model(pinned)


def test_given_a_retrained_model_then_unchanged_customers_keep_their_ids(settings, tmp_path_factory):
    """GIVEN customers resolved with model v1 WHEN a model trained on other records becomes v2 THEN the run
    is a full run under a new rule set, and every customer whose records stay together keeps its id."""
    rows = [
        rec("crm_contacts", "a", 1, email="anna@ziggo.nl", first_name="Anna", last_name="Bakker",
            birth_date="1980-01-02", postal_code="1234AB", city="Utrecht"),
        rec("web_orders", "a2", 2, email="anna@ziggo.nl"),
        rec("crm_contacts", "b", 3, first_name="Piet", last_name="Smit", birth_date="1970-05-06",
            postal_code="3511AA", city="Utrecht", phone="0623987651"),
        rec("pos_transactions", "b2", 4, phone="06-23987651"),
        rec("crm_contacts", "c", 5, first_name="Xiaoming", last_name="Wang", birth_date="1990-03-04",
            street="Main Street 5", postal_code="100000", city="Beijing", country_code="CN"),
        rec("web_orders", "c2", 6, full_name="Wang Xiaoming", street="Main St 5", postal_code="100000",
            city="Beijing", country_code="CN", birth_date="1990-03-04"),
    ]  # fmt: skip
    load(settings, rows)
    before = resolve(settings, DAY1, "r1")
    ids = customers(settings)
    other = train_model_file(Settings(home=tmp_path_factory.mktemp("other-model")), persons=800, seed=23)
    target = model_path(settings, 2)
    target.write_bytes(other.read_bytes())
    data = json.loads(target.read_text())
    data["version"] = 2
    target.write_text(json.dumps(data))
    after = resolve(settings, DAY2, "r2")
    assert after.model_version == 2 and after.ruleset_hash != before.ruleset_hash and after.mode == "full"
    assert customers(settings) == ids
    assert ids["a"] == ids["a2"] and ids["b"] == ids["b2"] and ids["c"] == ids["c2"]


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ({"given_name": "eva", "surname": "smit"}, {"given_name": "anna", "surname": "smit"}, "exact"),
        (
            {"given_name": "rednond", "surname": "melissa"},
            {"given_name": "melissa", "surname": "redmond"},
            "swapped with given name",
        ),
        ({"surname": "schumann"}, {"surname": "schuman"}, "Jaro-Winkler >= 0.92"),
        (
            {"given_name": "bullock", "surname": "holly"},
            {"given_name": "adele", "surname": "bullock"},
            "in the other's given name",
        ),
        (
            {"given_name": "holly", "surname": "bullock"},
            {"given_name": "adele", "surname": "ward"},
            "different",
        ),
    ],
)
def test_given_two_family_names_then_the_pair_falls_in_the_designed_level(left, right, expected):
    """GIVEN two records' family (and given) names WHEN compared THEN a swap with a typo is still a swap, and
    a family name written in the other record's given-name field (the other name changed as well) has a
    level of its own rather than 'different'."""
    assert level_of("family_name", left, right) == expected


# --- guards and households ------------------------------------------------------------------------------


def test_given_a_family_sharing_a_phone_then_it_is_a_household_not_one_customer(settings):
    """GIVEN two CRM contacts with different names and birth dates sharing a landline, a web order from one
    of them with that phone, and a till receipt with only the phone WHEN resolved THEN the two people stay
    two customers, the order joins the person it names, the nameless receipt joins nobody, and the phone is
    recorded as a household identifier of all of them."""
    load(
        settings,
        [
            rec("crm_contacts", "anna", 1, first_name="Anna", last_name="Bakker", birth_date="1975-02-03",
                phone="030 2716493", email="anna.b@ziggo.nl", country_code="NL"),
            rec("crm_contacts", "piet", 2, first_name="Piet", last_name="Bakker", birth_date="1972-09-10",
                phone="030-2716493", email="pietbakker@kpnmail.nl", country_code="NL"),
            rec("web_orders", "o1", 3, first_name="Piet", last_name="Bakker", phone="+31 30 271 6493",
                email="pietbakker@kpnmail.nl", country_code="NL"),
            rec("pos_transactions", "t1", 4, phone="0302716493"),
        ],
    )  # fmt: skip
    result = resolve(settings, DAY1, "r1")
    ids = customers(settings)
    assert ids["anna"] != ids["piet"] and ids["o1"] == ids["piet"]
    assert ids["t1"] not in (ids["anna"], ids["piet"])
    assert result.households == 1
    held = query(settings, "select source_record_id, identifier from identity.household_keys order by 1")
    assert held == [(r, "+31302716493") for r in ("anna", "o1", "piet", "t1")]


def test_given_a_phone_held_by_more_people_than_the_limit_then_it_links_nobody(settings):
    """GIVEN a shop's own number typed in for seven different loyalty card holders (limit 6) WHEN resolved
    THEN no two of them are merged through it."""
    load(
        settings,
        [rec("pos_transactions", f"t{i}", i, loyalty_id=f"L{i}", phone="020 555 1234") for i in range(1, 8)],
    )
    result = resolve(settings, DAY1, "r1")
    assert result.customers == 7 and result.edges_by_rule["phone"] == 0


STAFF = (
    "Anna de Vries", "Piet Smit", "Fatima El Amrani", "Kees Visser", "Sanne Mulder", "Wei Zhang",
    "Lotte Peeters", "Jan Bakker", "Eva de Boer",
)  # fmt: skip


def test_given_nine_people_writing_from_a_role_mailbox_then_none_are_collapsed(settings):
    """GIVEN nine tickets from info@bakkerij.nl signed by different people WHEN resolved THEN they are nine
    customers (the role mailbox links no one)."""
    load(
        settings,
        [
            rec("support_tickets", f"k{i}", i + 1, email="info@bakkerij.nl", full_name=name)
            for i, name in enumerate(STAFF)
        ],
    )
    assert resolve(settings, DAY1, "r1").customers == 9


def test_given_dbt_blocklist_macro_then_it_lists_what_the_identity_blocklist_lists():
    """GIVEN the dbt macro that keeps role mailboxes and placeholders from being collapsed WHEN read THEN its
    lists equal plugins/customer360/identity/blocklist.yml, and its phone pattern the Python one."""
    from customer360.identity.normalize_phone import PLACEHOLDER_PATTERN

    text = (PROJECT_DIR / "dbt_project" / "macros" / "identity_records.sql").read_text()
    block = re.search(r"\{%- set lists -%\}(.*?)\{%- endset -%\}", text, re.S).group(1)
    macro = yaml.safe_load(block)
    python = yaml.safe_load(DEFAULT_BLOCKLIST_PATH.read_text())
    for key in ("role_email_local_parts", "blocked_email_domains", "placeholder_phone_digits"):
        assert sorted(map(str, macro[key])) == sorted(map(str, python[key])), key
    assert macro["placeholder_phone_pattern"] == PLACEHOLDER_PATTERN.replace(r"\d", "[0-9]")


# --- phones, names --------------------------------------------------------------------------------------


def test_given_a_receipt_phone_without_country_then_it_is_read_in_the_card_holders_country(settings):
    """GIVEN a Belgian CRM contact with a loyalty card and a till receipt with that card and a national
    Belgian mobile (no country on the receipt; the default region is NL) WHEN resolved THEN the receipt's
    phone is read as Belgian (+32...) and links the contact's web order that has only that phone."""
    load(
        settings,
        [
            rec("crm_contacts", "c1", 1, loyalty_id="L77", first_name="Lotte", last_name="Peeters",
                country_code="BE"),
            rec("pos_transactions", "t1", 2, loyalty_id="L77", phone="0470 58 21 94"),
            rec("web_orders", "o1", 3, phone="+32 470 58 21 94", full_name="L Peeters"),
        ],
    )  # fmt: skip
    resolve(settings, DAY1, "r1")
    ids = customers(settings)
    assert ids["c1"] == ids["t1"] == ids["o1"]
    assert query(
        settings, "select phone_e164 from identity.contact_points where source_record_id = 't1'"
    ) == [("+32470582194",)]


def test_given_a_receipt_with_only_a_national_phone_then_it_is_read_in_the_country_of_that_number(settings):
    """GIVEN a Belgian CRM contact with '+32 474 80 97 66' and a till receipt with only '0474 80 97 66' (no
    country, no card; the default region is NL), and a receipt with a national number that two contacts in
    two countries hold WHEN resolved THEN the first receipt is read as Belgian and joins the contact, and the
    ambiguous one is read in the default region and joins nobody."""
    load(
        settings,
        [
            rec("crm_contacts", "c1", 1, first_name="Michael", last_name="de Vries", country_code="BE",
                phone="+32 474809766", birth_date="1980-01-02"),
            rec("pos_transactions", "t1", 2, phone="0474809766"),
            rec("crm_contacts", "c2", 3, first_name="Anne", last_name="Roux", country_code="FR",
                phone="+33 641592653", birth_date="1970-03-04"),
            rec("crm_contacts", "c3", 4, first_name="Jan", last_name="Smit", country_code="NL",
                phone="+31 641592653", birth_date="1960-05-06"),
            rec("pos_transactions", "t2", 5, phone="0641592653"),
        ],
    )  # fmt: skip
    resolve(settings, DAY1, "r1")
    ids = customers(settings)
    assert ids["t1"] == ids["c1"]
    assert query(
        settings, "select phone_e164 from identity.contact_points where source_record_id = 't1'"
    ) == [("+32474809766",)]
    assert ids["t2"] == ids["c3"] != ids["c2"]  # read as Dutch (the default), not from the two candidates


def test_given_a_family_landline_written_without_its_country_then_receipts_with_it_link_no_one(settings):
    """GIVEN two Belgian CRM contacts of one family (different names and birth dates) sharing
    '+32 2 239 48 80', and two till receipts with only '02 239 48 80' WHEN resolved THEN the line is a
    household value however it is written: the receipts join neither person nor each other."""
    load(
        settings,
        [
            rec("crm_contacts", "julia", 1, first_name="Julia", last_name="Claes", country_code="BE",
                phone="+32 22394880", birth_date="1993-09-03"),
            rec("crm_contacts", "mila", 2, first_name="Mila", last_name="Claes", country_code="BE",
                phone="+32 22394880", birth_date="1987-04-04"),
            rec("pos_transactions", "t1", 3, phone="022394880"),
            rec("pos_transactions", "t2", 4, phone="02 239 48 80"),
        ],
    )  # fmt: skip
    resolve(settings, DAY1, "r1")
    ids = customers(settings)
    assert len({ids["julia"], ids["mila"], ids["t1"], ids["t2"]}) == 4


def test_given_a_shared_phone_of_two_people_sharing_a_family_name_then_it_is_a_household(settings):
    """GIVEN 'Julia Bernard' and 'Mila Bernard' (long shared family name, different birth dates) and '吴杰'
    and 'Ping Wu' (two scripts, birth dates decades apart) each sharing a landline WHEN resolved THEN both
    phones are household values and the four stay four customers; 'Sun Yang' and 'Yang Sun' with one
    birth date are one person's names swapped and link."""
    load(
        settings,
        [
            rec("crm_contacts", "julia", 1, first_name="Julia", last_name="Bernard", country_code="GB",
                phone="+44 2072342284", birth_date="1981-05-27"),
            rec("crm_contacts", "mila", 2, first_name="Mila", last_name="Bernard", country_code="GB",
                phone="+44 2072342284", birth_date="1953-01-07"),
            rec("crm_contacts", "jie", 3, full_name="吴杰", country_code="NL", phone="+31 207990377",
                birth_date="1985-08-29"),
            rec("crm_contacts", "ping", 4, first_name="Ping", last_name="Wu", country_code="NL",
                phone="+31 207990377", birth_date="1946-03-05"),
            rec("crm_contacts", "sun1", 5, first_name="Sun", last_name="Yang", country_code="NL",
                phone="+31 612398765", birth_date="1990-02-03"),
            rec("crm_contacts", "sun2", 6, first_name="Yang", last_name="Sun", country_code="NL",
                phone="+31 612398765", birth_date="1990-02-03"),
        ],
    )  # fmt: skip
    result = resolve(settings, DAY1, "r1")
    ids = customers(settings)
    assert len({ids["julia"], ids["mila"], ids["jie"], ids["ping"]}) == 4
    assert ids["sun1"] == ids["sun2"]
    assert result.households == 2


def test_given_a_number_valid_in_no_region_then_it_still_matches_exactly_as_digits(settings):
    """GIVEN two receipts with the same number that no region parses WHEN resolved THEN they are linked by
    the phone rule on its digits, and a different unparsed number links neither."""
    load(
        settings,
        [
            rec("pos_transactions", "t1", 1, phone="99 1357 2468"),
            rec("support_tickets", "k1", 2, phone="991357-2468"),
            rec("pos_transactions", "t2", 3, phone="99 1357 2469"),
        ],
    )
    resolve(settings, DAY1, "r1")
    ids = customers(settings)
    assert ids["t1"] == ids["k1"] != ids["t2"]


def test_given_a_street_typed_without_its_space_then_the_person_links_and_the_household_stays_apart(
    settings,
):
    """GIVEN 'Grace George' twice without a birth date, at '1 Hopegoodplace' in Bonython and '1 Hopegood
    Place' in Mill Park, and 'Sophie' and 'Emma Pulford', born 27 years apart, at '7 Summerville Crescent'
    and '7 Summervillecrescent' WHEN resolved THEN the two Graces are one customer (the same street, a space
    aside, elsewhere: more than the names) and Sophie and Emma stay two (one address, two people)."""
    load(
        settings,
        [
            rec("crm_contacts", "g1", 1, first_name="Grace", last_name="George", street="1 Hopegoodplace",
                postal_code="2550", city="Bonython", country_code="AU"),
            rec("crm_contacts", "g2", 2, first_name="Grace", last_name="George", street="1 Hopegood Place",
                postal_code="3175", city="Mill Park", country_code="AU"),
            rec("crm_contacts", "s1", 3, first_name="Sophie", last_name="Pulford", birth_date="1948-03-02",
                street="7 Summerville Crescent", postal_code="2315", city="Black Rock", country_code="AU"),
            rec("crm_contacts", "e1", 4, first_name="Emma", last_name="Pulford", birth_date="1975-11-20",
                street="7 Summervillecrescent", postal_code="2315", city="Black Rock", country_code="AU"),
        ],
    )  # fmt: skip
    resolve(settings, DAY1, "r1")
    ids = customers(settings)
    assert ids["g1"] == ids["g2"]
    assert len({ids["g1"], ids["s1"], ids["e1"]}) == 3


def test_given_a_given_name_one_edit_apart_then_the_person_links_and_a_short_other_name_stays_apart(settings):
    """GIVEN 'Jakib Clarke' without a birth date and 'Jakob Clarke' at one address and postal code, and at
    another address 'Jan' and 'Jon Bakker' with one landline and birth dates 30 years apart WHEN resolved
    THEN Jakib and Jakob are one customer (one letter typed wrong), and Jan and Jon stay two (three-letter
    names one edit apart are two names: the level needs four letters, and the household rule keeps them
    apart)."""
    load(
        settings,
        [
            rec("crm_contacts", "k1", 1, first_name="Jakib", last_name="Clarke", street="Leven Street 47",
                postal_code="5062", city="Primbee", country_code="AU"),
            rec("crm_contacts", "k2", 2, first_name="Jakob", last_name="Clarke", birth_date="1961-02-03",
                street="Leven Street 47", postal_code="5062", city="Primbee", country_code="AU"),
            rec("crm_contacts", "j1", 3, first_name="Jan", last_name="Bakker", birth_date="1950-06-01",
                phone="030 2716493", street="Dorpsweg 9", postal_code="3511 AA", city="Utrecht",
                country_code="NL"),
            rec("crm_contacts", "j2", 4, first_name="Jon", last_name="Bakker", birth_date="1980-01-17",
                phone="030-2716493", street="Dorpsweg 9", postal_code="3511AA", city="Utrecht",
                country_code="NL"),
        ],
    )  # fmt: skip
    resolve(settings, DAY1, "r1")
    ids = customers(settings)
    assert ids["k1"] == ids["k2"]
    assert ids["j1"] != ids["j2"]


def test_given_given_and_family_name_swapped_then_the_records_are_linked(settings):
    """GIVEN a CRM contact 'Jansen, Marloes' written in swapped order on another contact with the same birth
    date and postal code WHEN resolved THEN both are one customer, linked by the match model."""
    load(
        settings,
        [
            rec("crm_contacts", "c1", 1, first_name="Marloes", last_name="Jansen", birth_date="1984-06-07",
                postal_code="2511 AB", city="Den Haag"),
            rec("crm_contacts", "c2", 2, first_name="Jansen", last_name="Marloes", birth_date="1984-06-07",
                postal_code="2511AB", city="Den Haag"),
        ],
    )  # fmt: skip
    resolve(settings, DAY1, "r1")
    assert len(set(customers(settings).values())) == 1
    assert query(settings, "select distinct match_rule from identity.customer_source_xref") == [
        ("probabilistic",)
    ]


def test_given_the_same_records_when_resolved_again_from_scratch_then_the_clusters_are_the_same(
    settings, tmp_path
):
    """GIVEN generated records resolved with the trained model WHEN resolved again in a fresh warehouse with
    the same model THEN every record has the same customer id."""
    from customer360_dev.identity_synthetic import synthetic_records

    records, _ = synthetic_records(600, seed=9)
    other = Settings(home=tmp_path / "again")
    install_model(other, model_path(settings, 1))
    for target in (settings, other):
        with connect(target) as con:
            write_input_table(con, records)
        resolve(target, DAY1, "r1")
    assert customers(settings) == customers(other)


def test_given_two_model_versions_then_the_report_charts_the_weights_and_the_changes(settings):
    """GIVEN model versions 1 and 2 (2 with one weight moved) WHEN the report's identity section is built
    THEN it charts every level's weight with the previous version's as markers and names the change."""
    from customer360.report.identity_model import identity_model_sections

    data = json.loads(model_path(settings, 1).read_text())
    data["version"] = 2
    level = data["splink"]["comparisons"][0]["comparison_levels"][1]
    level["m_probability"] = level["m_probability"] / 2
    model_path(settings, 2).write_text(json.dumps(data))
    (section,) = identity_model_sections(settings)
    assert section.figure is not None and "Version 2" in section.intro
    assert "Changes since version 1" in section.intro and "given_name exact -1.00" in section.intro
    bars, previous = section.figure.data
    assert len(bars.x) == len(previous.x) > 20


def test_given_no_model_then_the_report_has_no_identity_section(tmp_path):
    from customer360.report.identity_model import identity_model_sections

    assert identity_model_sections(Settings(home=tmp_path)) == []


def test_given_a_model_when_the_train_command_runs_then_it_saves_the_next_version_beside_the_previous(
    settings,
):
    """GIVEN version 1 and generated records in the warehouse WHEN `identity train` runs THEN version 2 is
    saved with its training window and record count, version 1 is untouched, and every level's weight is
    listed with version 1's weight beside it."""
    from customer360.identity.model_store import train_in_warehouse
    from customer360_dev.identity_synthetic import synthetic_records

    records, _ = synthetic_records(400, seed=4)
    with connect(settings) as con:
        write_input_table(con, records)
    before = model_path(settings, 1).read_bytes()
    model, path, changes = train_in_warehouse(settings, date(2026, 12, 31))
    assert model.version == 2 and path == model_path(settings, 2) and versions(settings) == [1, 2]
    assert model.training_window["to"] == "2026-12-31" and model.training_records > 0
    assert model_path(settings, 1).read_bytes() == before
    assert changes and all(row["previous_weight"] is not None for row in changes)
