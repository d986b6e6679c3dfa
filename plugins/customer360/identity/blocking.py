"""Blocking keys: which records the match model compares.

Two records are compared when they share one of the keys below and the deterministic pass left them in
different clusters. Every key is one value per row (or null), so each key is one Splink blocking rule
(``l.bk_x = r.bk_x``) and also a block whose size can be counted, for skipping and for the incremental scope.

===================  ========================================================================================
``bk_bd_first``      birth date + initial of the first name token in sorted order (swapped names share it)
``bk_bd_last``       birth date + initial of the last name token in sorted order (a typo in the other token; a
                     one-token name's only token is its first and its last: ``Prise`` meets ``Nathan Priest``)
``bk_bd_given``      birth date + the given name (the family name replaced by one that sorts before it:
                     ``Maliah Rickett`` / ``Maliah de Teliga``)
``bk_postal_first``  postal code + first sorted name token
``bk_postal_last``   postal code + last sorted name token (also of a one-token name)
``bk_name``          the sorted name tokens (birth date and postal code both mistyped or missing)
``bk_bd_postal``     birth date + postal code (both name tokens mistyped)
``bk_phone_suffix``  the last 6 digits of the phone as written (numbers that failed to parse in one record)
``bk_email_local``   the email's local part without dots and +tags (domain typos: ``gmial.com``)
``bk_email_head``    domain + first 4 letters of the local part (a typo at the end of the local part)
``bk_email_tail``    domain + last 4 letters of the local part (a typo at the start)
``bk_street``        the street with its house number, spaces left out (names and postal code both mistyped or
                     changed; a space dropped or added: ``11 rollstonstreet`` / ``11 rollston street``)
``bk_bd_city``       birth date + city (postal code mistyped and a name token changed)
``bk_city_given``    city + given name (postal code mistyped or missing; the family name changed)
``bk_city_family``   city + family name (postal code mistyped or missing; the given name changed)
===================  ========================================================================================

Name tokens are sorted (``normalize_name``), so ``Jan Smit`` and ``Smit Jan`` have the same keys. A block
holding more than ``max_block_size`` rows is skipped (its key is nulled) and counted: a common value (a
popular name in a large postal area) would cost quadratic time for little evidence. Block sizes count the
rows of the whole input, also when only part of it is resolved (``identity.incremental``).
"""

from __future__ import annotations

DEFAULT_MAX_BLOCK_SIZE = 40
PHONE_BLOCK_DIGITS = 6
EMAIL_AFFIX_LETTERS = 4

BLOCK_COLUMNS = (
    "bk_bd_first",
    "bk_bd_last",
    "bk_bd_given",
    "bk_postal_first",
    "bk_postal_last",
    "bk_name",
    "bk_bd_postal",
    "bk_phone_suffix",
    "bk_email_local",
    "bk_email_head",
    "bk_email_tail",
    "bk_street",
    "bk_bd_city",
    "bk_city_given",
    "bk_city_family",
)

# The columns the match model compares, derived from a normalised record (records.prepare_records).
COMPARISON_COLUMNS_SQL = """
    case when name_is_matchable then name_fold end as name_fold,
    case when name_is_matchable then name_sorted end as name_sorted,
    case when name_is_matchable then given_name end as given_name,
    case when name_is_matchable then surname end as surname,
    birth_date,
    email_key,
    nullif(replace(regexp_extract(email_key, '^([^+@]*)', 1), '.', ''), '') as email_local,
    nullif(regexp_extract(email_key, '@(.*)$', 1), '') as email_domain,
    -- the local part says no more than the name when it is the name (jan.jansen@, j_jansen@, jansenjan@)
    case when name_is_matchable and email_key is not null
        then regexp_replace(regexp_extract(email_key, '^([^+@]*)', 1), '[^[:alpha:]]', '', 'g') in (
            replace(given_name || surname, ' ', ''), replace(surname || given_name, ' ', ''),
            replace(left(given_name, 1) || surname, ' ', ''),
            replace(surname || left(given_name, 1), ' ', ''),
            replace(given_name || left(surname, 1), ' ', ''))
            and not regexp_matches(regexp_extract(email_key, '^([^+@]*)', 1), '[0-9]')
        else false end as email_local_is_name,
    phone_key,
    case when not coalesce(phone_is_placeholder, false) then phone_digits end as phone_digits,
    street_fold,
    postal_key,
    city_fold"""


def block_columns_sql(relation: str, carry: tuple[str, ...] = ("idx",)) -> str:
    """``select <carry>, <comparison columns>, bk_*`` for every row of ``relation`` (normalised records)."""
    cols = ", ".join(carry)
    d, a = PHONE_BLOCK_DIGITS, EMAIL_AFFIX_LETTERS
    return f"""
with
rec as (select {cols}, {COMPARISON_COLUMNS_SQL} from {relation}),
tok as (
    select *, string_split(name_sorted, ' ') as toks,
        case when len(string_split(name_sorted, ' ')) >= 2 then true else false end as two_tokens
    from rec
)
select * exclude (toks, two_tokens),
    case when birth_date is not null and name_sorted is not null
        then birth_date::varchar || '|' || left(toks[1], 1) end as bk_bd_first,
    -- a one-token name's last token is its first: ``prise`` (the given name missing) keeps the key that
    -- ``nathan priest`` has, birth date + ``p``
    case when birth_date is not null and name_sorted is not null
        then birth_date::varchar || '|' || left(toks[-1], 1) end as bk_bd_last,
    case when birth_date is not null and given_name is not null
        then birth_date::varchar || '|' || given_name end as bk_bd_given,
    case when postal_key is not null and name_sorted is not null
        then postal_key || '|' || toks[1] end as bk_postal_first,
    case when postal_key is not null and name_sorted is not null
        then postal_key || '|' || toks[-1] end as bk_postal_last,
    case when two_tokens then name_sorted end as bk_name,
    case when birth_date is not null and postal_key is not null
        then birth_date::varchar || '|' || postal_key end as bk_bd_postal,
    case when length(phone_digits) >= {d} then right(phone_digits, {d}) end as bk_phone_suffix,
    case when length(email_local) >= 3 then email_local end as bk_email_local,
    case when length(email_local) >= 6
        then email_domain || '|' || left(email_local, {a}) end as bk_email_head,
    case when length(email_local) >= 6
        then email_domain || '|' || right(email_local, {a}) end as bk_email_tail,
    -- a street without a house number is a whole street: too wide to say anything; spaces are left out
    -- (a typist drops or adds one: ``11 rollstonstreet``)
    case when regexp_matches(street_fold, '[0-9]') and regexp_matches(street_fold, '[^0-9 ]')
        then replace(street_fold, ' ', '') end as bk_street,
    case when birth_date is not null and city_fold is not null
        then birth_date::varchar || '|' || city_fold end as bk_bd_city,
    case when city_fold is not null and given_name is not null
        then city_fold || '|' || given_name end as bk_city_given,
    case when city_fold is not null and surname is not null
        then city_fold || '|' || surname end as bk_city_family
from tok
"""


def block_keys_sql(relation: str, carry: tuple[str, ...] = ("idx",)) -> str:
    """``select <carry>, blocking, block_key``: one row per non-null key of every row of ``relation``."""
    cols = ", ".join(carry)
    columns = ", ".join(BLOCK_COLUMNS)
    return f"""
select {cols}, blocking, block_key
from (unpivot (select {cols}, {columns} from ({block_columns_sql(relation, carry)}))
    on {columns} into name blocking value block_key)
"""


def blocking_rules() -> list[str]:
    """One Splink blocking rule per key; pairs already in one deterministic cluster are not compared."""
    return [f"l.{c} = r.{c} and l.det_label <> r.det_label" for c in BLOCK_COLUMNS]
