"""Identity normalisers: email, phone and name rules, one test per rule."""

from __future__ import annotations

import pytest

from customer360.identity.blocklist import load_blocklist
from customer360.identity.normalize_email import normalize_email, normalize_emails
from customer360.identity.normalize_name import normalize_names
from customer360.identity.normalize_phone import normalize_phone, normalize_phones

BLOCKLIST = load_blocklist()


# Email ---------------------------------------------------------------------------------------------------


def test_gmail_dots_and_plus_tags_are_ignored():
    """GIVEN gmail addresses that differ in dots and +tags WHEN normalised THEN they are one address."""
    a = normalize_email("john.smith+shop@gmail.com", BLOCKLIST)
    b = normalize_email("johnsmith@gmail.com", BLOCKLIST)
    assert a == b == ("johnsmith@gmail.com", True, True)


def test_googlemail_is_gmail():
    """GIVEN a googlemail.com address WHEN normalised THEN it becomes the gmail.com address without dots."""
    assert normalize_email("j.smith@googlemail.com", BLOCKLIST)[0] == "jsmith@gmail.com"


def test_outlook_plus_tag_dropped_but_dots_kept():
    """GIVEN outlook/hotmail addresses with +tags WHEN normalised THEN the tag goes, the dots stay."""
    assert normalize_email("jan.de.vries+news@outlook.com", BLOCKLIST)[0] == "jan.de.vries@outlook.com"
    assert normalize_email("a.b+x@hotmail.co.uk", BLOCKLIST)[0] == "a.b@hotmail.co.uk"


def test_other_providers_keep_dots_and_plus():
    """GIVEN an address at a provider without documented aliasing WHEN normalised THEN dots and + are kept."""
    assert normalize_email("a.b+x@web.de", BLOCKLIST)[0] == "a.b+x@web.de"


def test_uppercase_and_whitespace_are_normalised():
    """GIVEN an address in upper case with spaces WHEN normalised THEN it is lower case and trimmed."""
    assert normalize_email("  Jan.DeVries@Ziggo.NL ", BLOCKLIST) == ("jan.devries@ziggo.nl", True, True)


@pytest.mark.parametrize(
    "raw", ["bad@@x.nl", "no-at-sign.nl", "a..b@x.nl", "a@b.c", "x@y", "", None, ".a@x.nl"]
)
def test_invalid_syntax_gives_null_and_not_valid(raw):
    """GIVEN a malformed or missing email WHEN normalised THEN normalized is null and it is not valid."""
    assert normalize_email(raw, BLOCKLIST) == (None, False, False)


@pytest.mark.parametrize(
    "raw", ["info@bakkerij.nl", "Sales@firma.nl", "noreply+x@shop.nl", "user@example.com"]
)
def test_role_and_example_emails_are_stored_but_not_matchable(raw):
    """GIVEN a role mailbox or example domain WHEN normalised THEN it is valid and stored but never links."""
    normalized, valid, matchable = normalize_email(raw, BLOCKLIST)
    assert normalized == raw.lower() and valid and not matchable


def test_email_normaliser_runs_once_per_distinct_value_and_keeps_row_order():
    """GIVEN repeated values WHEN normalised in bulk THEN every row gets its own value's result, in order."""
    table = normalize_emails(["B@x.nl", None, "a@x.nl", "B@x.nl"], BLOCKLIST)
    assert table.column("email_normalized").to_pylist() == ["b@x.nl", None, "a@x.nl", "b@x.nl"]


# Phone ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("06-12398765", "NL", "+31612398765"),
        ("+31 6 1239 8765", None, "+31612398765"),
        ("0031612398765", None, "+31612398765"),
        ("(020) 555 1234", "NL", "+31205551234"),
        ("+31 (0)6 1239 8765", None, "+31612398765"),
        ("138 0013 8000", "CN", "+8613800138000"),
        ("+86 138 0013 8000", None, "+8613800138000"),
        ("030 901820", "DE", "+4930901820"),
        ("0151 23981765", "DE", "+4915123981765"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", "NL", "+442079460958"),
        ("0612398765 ext 12", "NL", "+31612398765"),
    ],
)
def test_phone_formats_become_e164(raw, region, expected):
    """GIVEN a phone in a national or international format WHEN normalised THEN it is E.164 and valid."""
    assert normalize_phone(raw, region, "NL", BLOCKLIST)[:2] == (expected, True)


def test_missing_country_uses_default_region():
    """GIVEN a national number without country WHEN the default region is DE THEN it is read as German."""
    assert normalize_phone("030 901820", None, "DE", BLOCKLIST)[0] == "+4930901820"


@pytest.mark.parametrize("raw", ["12", "abc", "0612", "+999 123", None])
def test_invalid_phone_gives_null_and_not_valid(raw):
    """GIVEN an impossible number WHEN normalised THEN phone_e164 is null and phone_is_valid false."""
    assert normalize_phone(raw, "NL", "NL", BLOCKLIST) == (None, False, False)


@pytest.mark.parametrize("raw", ["0000000000", "1234567890", "06-00000000", "+31 6 11111111", "06-12345678"])
def test_placeholder_phones_never_match(raw):
    """GIVEN a placeholder number WHEN normalised THEN it is not matchable (whether or not it is valid)."""
    table = normalize_phones([raw], ["NL"], "NL", BLOCKLIST)
    assert table.column("phone_is_matchable").to_pylist() == [False]
    assert table.column("phone_is_placeholder").to_pylist() == [True]


def test_vectorised_validity_agrees_with_phonenumbers():
    """GIVEN random numbers in many country codes WHEN validated from metadata in bulk THEN every decided
    answer equals phonenumbers.is_valid_number, and shared country codes (+1, +44) are left undecided."""
    import random

    import phonenumbers
    import pyarrow as pa

    from customer360.identity.phone_validity import metadata_validity

    rng = random.Random(11)
    codes = ["31", "49", "32", "33", "86", "39", "34", "48", "352", "800", "1", "44"]
    digits = [
        rng.choice(codes)
        + rng.choice(["6", "61", "15", "13", "20", "30", "4", "7", ""])
        + str(rng.randint(10**5, 10**9))
        for _ in range(3000)
    ]
    decided = metadata_validity(pa.array(digits)).to_pylist()
    for text, answer in zip(digits, decided, strict=True):
        code = next(text[:n] for n in (1, 2, 3) if int(text[:n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
        if code in ("1", "44"):
            assert answer is None
        if answer is not None:
            number = phonenumbers.PhoneNumber(country_code=int(code), national_number=int(text[len(code) :]))
            assert answer == phonenumbers.is_valid_number(number), text
    assert sum(a is True for a in decided) > 100 and sum(a is False for a in decided) > 100


def test_unknown_default_region_is_a_clear_error():
    """GIVEN a default region phonenumbers does not know WHEN normalising THEN the error names the setting."""
    with pytest.raises(ValueError, match="DEFAULT_PHONE_REGION"):
        normalize_phones(["0612398765"], [None], "XX", BLOCKLIST)


# Names ---------------------------------------------------------------------------------------------------


def _names(first, last, full):
    return normalize_names(first, last, full, BLOCKLIST).to_pylist()


def test_hanzi_name_kept_as_written_with_surname_first():
    """GIVEN 王小明 as full name WHEN normalised THEN it is kept, script han, surname 王, given 小明."""
    (row,) = _names([None], [None], ["王小明"])
    assert (row["name_normalized"], row["name_script"], row["surname"], row["given_name"]) == (
        "王小明",
        "han",
        "王",
        "小明",
    )


def test_hanzi_compound_surname_and_parts_order():
    """GIVEN 欧阳娜娜 and the parts first=小明 last=王 WHEN normalised THEN 欧阳 is the surname and the
    parts are written surname first."""
    compound, parts = _names([None, "小明"], [None, "王"], ["欧阳娜娜", None])
    assert compound["surname"] == "欧阳" and compound["given_name"] == "娜娜"
    assert parts["name_normalized"] == "王小明" and parts["surname"] == "王"


def test_pinyin_order_swap_gives_same_sorted_key():
    """GIVEN 'Wang Xiaoming' and 'Xiaoming Wang' WHEN normalised THEN the order-insensitive key is equal."""
    a, b = _names([None, "Xiaoming"], [None, "Wang"], ["Wang Xiaoming", None])
    assert a["name_sorted"] == b["name_sorted"] == "wang xiaoming"
    assert a["name_fold"] != b["name_fold"]


def test_diacritics_folded_for_comparison_only():
    """GIVEN 'Zoë Müller-Straße' WHEN normalised THEN stored case-folded with diacritics, compared without."""
    (row,) = _names(["Zoë"], ["Müller-Straße"], [None])
    assert row["name_normalized"] == "zoë müller-straße"
    assert row["name_fold"] == "zoe muller strasse"
    assert row["name_script"] == "latin"


def test_placeholder_and_missing_names_do_not_match():
    """GIVEN 'Unknown' and no name WHEN normalised THEN neither is matchable; the missing one has no
    script."""
    unknown, missing = _names(["Unknown", None], [None, None], [None, "  "])
    assert not unknown["name_is_matchable"] and not missing["name_is_matchable"]
    assert missing["name_script"] is None and missing["name_normalized"] is None
