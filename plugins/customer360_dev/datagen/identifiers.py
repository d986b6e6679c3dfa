"""Identifier variants per record: which name, e-mail, phone and address text a record carries.

A person's identifiers were rendered once (see ``people``); these helpers pick, per record, the variant a
channel writes (nicknames, initials, dropped diacritics, hanzi or pinyin, e-mail and phone variants, the
address before or after a move) as whole Arrow columns.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360_dev.datagen.formatting import concat, replace_where, take, with_nulls
from customer360_dev.datagen.people import COUNTRY_NAMES, Persons

NAME_KINDS = 5


def names(
    persons: Persons, idx: np.ndarray, kind: np.ndarray, parts_only: bool = False
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(first_name, last_name, full_name) for persons ``idx`` written in name variant ``kind`` (0-4).

    Western names: 0 as registered, 1 nickname, 2 initial, 3 diacritics dropped, 4 upper-case surname.
    Chinese names: 0 hanzi (full name only), 1 pinyin given/surname, 2 pinyin swapped (surname in the
    first-name field), 3 pinyin surname first as one full name, 4 pinyin given name first as one full name.
    With ``parts_only`` (forms with two fields) the full-name variants are split into the two fields.
    """
    first = take(persons.first_name, idx)
    last = take(persons.last_name, idx)
    k = pa.array(kind.astype(np.int8))
    nick = pc.coalesce(take(persons.nickname, idx), first)
    initial = concat(pc.utf8_slice_codeunits(first, 0, 1), ".")
    w_first = pc.choose(k, first, nick, initial, take(persons.first_name_ascii, idx), first)
    w_last = pc.choose(k, last, last, last, take(persons.last_name_ascii, idx), pc.utf8_upper(last))
    null = pa.nulls(len(idx), pa.string())
    is_cn = pa.array(persons.is_chinese[idx])
    h_sur = take(persons.hanzi_surname, idx)
    h_given = take(persons.hanzi_given, idx)
    hanzi = concat(h_sur, h_given)
    if parts_only:
        c_first = pc.choose(k, h_given, first, last, last, first)
        c_last = pc.choose(k, h_sur, last, first, first, last)
        c_full = null
    else:
        c_first = pc.choose(k, null, first, last, null, null)
        c_last = pc.choose(k, null, last, first, null, null)
        c_full = pc.choose(k, hanzi, null, null, concat(last, " ", first), concat(first, " ", last))
    return (
        pc.if_else(is_cn, c_first, w_first),
        pc.if_else(is_cn, c_last, w_last),
        pc.if_else(is_cn, c_full, null),
    )


def display_name(first: pa.Array, last: pa.Array, full: pa.Array) -> pa.Array:
    """One text field for a name: the full name, else ``first last``, else whichever part exists."""
    # (binary_join_element_wise with null_handling="skip" drops all-null rows in pyarrow 26; avoid it)
    joined = pc.utf8_trim_whitespace(concat(pc.fill_null(first, ""), " ", pc.fill_null(last, "")))
    joined = pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined)
    return pc.coalesce(full, joined)


def emails(persons: Persons, idx: np.ndarray, kind: np.ndarray, day: int | np.ndarray) -> pa.Array:
    """E-mail text in variant ``kind`` (0 as registered, 1 case, 2 provider alias, 3 typo); a person who
    changed address writes the new one from the change day on."""
    k = pa.array(kind.astype(np.int8))
    variants = [take(v, idx) for v in persons.email_variants]
    current = pc.choose(k, *variants)
    changed = np.asarray(day) >= persons.email_change_day[idx]
    return replace_where(current, changed, take(persons.email_new, idx))


def phones(persons: Persons, idx: np.ndarray, kind: np.ndarray) -> pa.Array:
    k = pa.array(kind.astype(np.int8))
    return pc.choose(k, *[take(v, idx) for v in persons.phone_variants])


def landlines(persons: Persons, idx: np.ndarray, kind: np.ndarray) -> pa.Array:
    k = pa.array(kind.astype(np.int8))
    return pc.choose(k, *[take(v, idx) for v in persons.landline_variants])


def addresses(
    persons: Persons, idx: np.ndarray, day: int | np.ndarray
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """(street with house number, postal code, city, country code) as of ``day``; after a move the new one."""
    moved = np.asarray(day) >= persons.move_day[idx]
    street = replace_where(take(persons.street, idx), moved, take(persons.street_new, idx))
    postal = replace_where(take(persons.postal_code, idx), moved, take(persons.postal_code_new, idx))
    city = replace_where(take(persons.city, idx), moved, take(persons.city_new, idx))
    return street, postal, city, take(persons.country, idx)


def postal_variant(postal: pa.Array, rng: np.random.Generator, share: float) -> pa.Array:
    """Some records write the postal code without its space or in lower case (``1012AB``, ``1012 ab``)."""
    u = rng.random(len(postal))
    squeezed = pc.replace_substring(postal, pattern=" ", replacement="")
    out = replace_where(postal, u < share / 2, squeezed)
    return replace_where(out, (u >= share / 2) & (u < share), pc.utf8_lower(postal))


def country_names(codes: pa.Array) -> pa.Array:
    keys = list(COUNTRY_NAMES)
    index = pc.index_in(codes, value_set=pa.array(keys))
    return pc.take(pa.array([COUNTRY_NAMES[k] for k in keys]), index)


def optional(values: pa.Array, rng: np.random.Generator, present_share: float) -> pa.Array:
    """Leave a field out of some records (``present_share`` of them keep it)."""
    return with_nulls(values, rng.random(len(values)) >= present_share)
