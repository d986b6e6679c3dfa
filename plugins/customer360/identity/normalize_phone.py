"""Phone numbers to E.164 with ``phonenumbers``, computed once per distinct number.

Rules:

1. The raw text is NFKC-normalised; an extension (``ext``, ``x``, ``#`` and what follows) and a ``(0)``
written
   after an international prefix are dropped; what remains is reduced to its digits. ``+`` or ``00`` in front
   makes the number international; otherwise it is read in the record's region: its ``country_code`` when that
   is a region ``phonenumbers`` knows, else ``settings.default_phone_region``.
2. The number must be *valid* for its region (``phonenumbers.is_valid_number``: right length and number
   range). Valid numbers become E.164 (``+31612345678``); anything else is null with ``phone_is_valid`` false.
3. Placeholders never link records (they are still stored): one digit repeated (``0000000000``), seven or more
   equal digits at the end (``06-00000000``), an ascending or descending run of seven digits (``1234567``) and
   the numbers listed in ``blocklist.yml``.

Speed: the same number arrives in many spellings (``06-12345678``, ``+31 6 1234 5678``, ``0031612345678``).
They are reduced to one key per number before anything is parsed. For regions whose trunk prefix is a plain
``0`` (NL, DE, BE, FR, GB for numbers starting with 0, ...) the national form is turned into the international
one by dropping the ``0`` and adding the country code; international keys are validated directly from
``phonenumbers`` metadata. Only keys this fast path cannot decide (other trunk rules, leading zeros after the
country code, invalid numbers) go through ``phonenumbers.parse``; a fast-path result is accepted only when
valid, and the full parser is the fallback, so the result equals parsing every value.
"""

from __future__ import annotations

from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

from customer360.identity.blocklist import Blocklist
from customer360.identity.distinct import apply_by_distinct, as_string_array

PHONE_COLUMNS = ("phone_e164", "phone_is_valid", "phone_is_matchable", "phone_is_placeholder", "phone_digits")

# Part of the identity rule-set hash: change it when the rules above change.
PHONE_RULES_VERSION = "phone-v1: e164 valid, placeholders repeated/run/listed"

_REPEATED_DIGIT = "|".join(f"{d}+" for d in "0123456789")
_TRAILING_REPEAT = "|".join(f"{d}{{7,}}" for d in "0123456789")
_RUNS = "0123456|1234567|2345678|3456789|9876543|8765432|7654321|6543210"
PLACEHOLDER_PATTERN = rf"^({_REPEATED_DIGIT})$|^\d{{0,4}}({_TRAILING_REPEAT})$|{_RUNS}"
_REGION_ALIASES = {"UK": "GB"}
_NULL = pa.scalar(None, pa.string())


def normalize_phones(values: object, regions: object, default_region: str, blocklist: Blocklist) -> pa.Table:
    """Normalise phones: one output row per input row with ``phone_e164``, ``phone_is_valid``,
    ``phone_is_matchable`` (valid and not a placeholder), ``phone_is_placeholder`` and ``phone_digits``
    (the raw digits, for
    suffix comparisons even when the number is invalid).

    ``regions`` holds each row's ISO-2 country (or null); ``default_region`` is used where it is missing or
    unknown to ``phonenumbers``."""
    raw = as_string_array(values)
    region = _effective_regions(as_string_array(regions), default_region, len(raw))
    text = pc.utf8_normalize(raw, "NFKC")
    text = pc.replace_substring_regex(text, r"(?i)\s*(ext\.?|extension|x|#)\s*\d*\s*$", "")
    text = pc.utf8_trim_whitespace(text)
    plus = pc.fill_null(pc.starts_with(text, "+"), False)
    text = pc.if_else(plus, pc.replace_substring(text, "(0)", ""), text)
    digits = pc.replace_substring_regex(text, r"\D", "")
    digits = pc.if_else(pc.equal(digits, ""), pa.scalar(None, pa.string()), digits)
    idd = pc.and_(pc.invert(plus), pc.fill_null(pc.starts_with(digits, "00"), False))
    international = pc.or_(plus, idd)
    intl_digits = pc.if_else(idd, pc.utf8_slice_codeunits(digits, 2), digits)
    national_candidate = _national_candidates(digits, region)
    fast_key = pc.if_else(international, intl_digits, national_candidate)
    fast = apply_by_distinct(fast_key, _fast_keys).column("phone_e164")
    # What the fast path cannot decide goes to the full parser, once per "+<digits>" or "<region>|<digits>".
    full_key = pc.if_else(
        international,
        pc.binary_join_element_wise("+", intl_digits, ""),
        pc.binary_join_element_wise(region, digits, "|"),
    )
    undecided = pc.and_(pc.is_null(fast), pc.is_valid(digits))
    full_key = pc.if_else(undecided, full_key, pa.scalar(None, pa.string()))
    parsed = apply_by_distinct(full_key, _parse_keys)
    e164 = pc.coalesce(fast, parsed.column("phone_e164"))
    valid = pc.is_valid(e164)
    placeholder = pc.or_(
        pc.fill_null(_is_placeholder(digits, blocklist), False),
        pc.fill_null(_is_placeholder(pc.utf8_slice_codeunits(e164, 1), blocklist), False),
    )
    return pa.table(
        {
            "phone_e164": e164,
            "phone_is_valid": valid,
            "phone_is_matchable": pc.and_(valid, pc.invert(placeholder)),
            "phone_is_placeholder": placeholder,
            "phone_digits": digits,
        }
    )


def normalize_phone(
    value: str | None, region: str | None, default_region: str, blocklist: Blocklist
) -> tuple:
    """One phone, for tests and ad-hoc use: ``(e164, is_valid, is_matchable)``."""
    row = normalize_phones([value], [region], default_region, blocklist).to_pylist()[0]
    return row["phone_e164"], row["phone_is_valid"], row["phone_is_matchable"]


def _effective_regions(regions: pa.Array, default_region: str, length: int) -> pa.Array:
    import phonenumbers

    default = _REGION_ALIASES.get(default_region.upper(), default_region.upper())
    if default not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"default phone region {default_region!r} is not a region phonenumbers knows; "
            "set CUSTOMER360_DEFAULT_PHONE_REGION to an ISO 3166 alpha-2 code such as NL"
        )
    if len(regions) != length:
        raise ValueError(f"phones and regions differ in length ({length} and {len(regions)})")
    upper = pc.utf8_upper(pc.utf8_trim_whitespace(regions))
    for alias, region in _REGION_ALIASES.items():
        upper = pc.if_else(pc.equal(upper, alias), pa.scalar(region), upper)
    known = pc.fill_null(pc.is_in(upper, value_set=pa.array(sorted(phonenumbers.SUPPORTED_REGIONS))), False)
    return pc.if_else(known, upper, pa.scalar(default))


def _is_placeholder(digits: pa.Array, blocklist: Blocklist) -> pa.Array:
    listed = pc.is_in(digits, value_set=pa.array(sorted(blocklist.placeholder_phone_digits), pa.string()))
    return pc.or_(pc.match_substring_regex(digits, PLACEHOLDER_PATTERN), listed)


def _fast_keys(keys: pa.Array) -> pa.Table:
    """E.164 for distinct ``<country code><national number>`` digit strings the fast path can validate:
    vectorised from metadata where the country code has one region, ``phonenumbers`` per number otherwise."""
    from customer360.identity.phone_validity import metadata_validity

    validity = metadata_validity(keys)
    e164 = pc.if_else(pc.fill_null(validity, False), pc.binary_join_element_wise("+", keys, ""), _NULL)
    undecided = pc.indices_nonzero(pc.and_(pc.is_null(validity), pc.is_valid(keys)))
    if len(undecided):
        checked = [_fast_international(k) for k in keys.take(undecided).to_pylist()]
        values = e164.to_pylist()
        for position, value in zip(undecided.to_pylist(), checked, strict=True):
            values[position] = value
        e164 = pa.array(values, pa.string())
    return pa.table({"phone_e164": e164})


def _parse_keys(keys: pa.Array) -> pa.Table:
    """E.164 from the full parser for distinct ``+<digits>`` / ``<region>|<digits>`` keys (null when
    invalid)."""
    return pa.table({"phone_e164": pa.array([_parse_key(k) for k in keys.to_pylist()], pa.string())})


def _parse_key(key: str | None) -> str | None:
    if key is None:
        return None
    if key.startswith("+"):
        return _full_parse(key, None)
    region, _, digits = key.partition("|")
    return _full_parse(digits, region)


def _national_candidates(digits: pa.Array, regions: pa.Array) -> pa.Array:
    """``<country code><national number>`` for national numbers in regions with a plain ``0`` trunk prefix."""
    distinct_regions = pc.unique(regions).to_pylist()
    rules = [_trunk_rule(r) if r else None for r in distinct_regions]
    position = pc.index_in(regions, value_set=pa.array(distinct_regions, pa.string()))
    country_code = pa.array([r[0] if r else None for r in rules], pa.string()).take(position)
    plain = pa.array([r[1] if r else None for r in rules], pa.bool_()).take(position)
    trunk = pc.and_(pc.starts_with(digits, "0"), pc.invert(pc.starts_with(digits, "00")))
    without_trunk = pc.if_else(trunk, pc.utf8_slice_codeunits(digits, 1), digits)
    usable = pc.or_kleene(trunk, plain)
    candidate = pc.binary_join_element_wise(country_code, without_trunk, "")
    return pc.if_else(pc.fill_null(usable, False), candidate, pa.scalar(None, pa.string()))


@lru_cache(maxsize=512)
def _trunk_rule(region: str) -> tuple[str, bool] | None:
    """``(country code, trunk prefix '0' is plain)`` for regions the fast path handles, else None."""
    import phonenumbers

    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.national_prefix != "0" or meta.national_prefix_transform_rule:
        return None
    parsing = meta.national_prefix_for_parsing
    if parsing in (None, "0"):
        return str(meta.country_code), True
    if parsing.startswith("0|"):  # e.g. GB '0|180020': a leading 0 is still the plain trunk prefix
        return str(meta.country_code), False
    return None


@lru_cache(maxsize=1)
def _country_codes() -> frozenset[str]:
    import phonenumbers

    return frozenset(str(cc) for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _fast_international(digits: str) -> str | None:
    """Validate ``<country code><national number>`` from metadata without the full parser."""
    import phonenumbers

    codes = _country_codes()
    for length in (1, 2, 3):
        country_code = digits[:length]
        if country_code in codes:
            national = digits[length:]
            if not national or national.startswith("0") or len(national) > 17:
                return None
            number = phonenumbers.PhoneNumber(country_code=int(country_code), national_number=int(national))
            return "+" + digits if phonenumbers.is_valid_number(number) else None
    return None


def _full_parse(text: str, region: str | None) -> str | None:
    import phonenumbers

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
