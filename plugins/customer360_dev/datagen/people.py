"""The universe of persons: true identities, their identifier variants and their behaviour parameters.

Every person gets a true ``person_id`` and true attributes (name, birth date, address, e-mail, phone,
loyalty card, web account). Variants of the identifiers (e-mail case, gmail dots and plus tags, typos,
phone formats) are rendered once per person here, so the channels only pick a variant per record.
Behaviour parameters follow a BG/NBD-like process (purchase rate from a gamma draw, dropout probability
from a beta draw) with heterogeneous spend and category preferences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360_dev.datagen import vocab
from customer360_dev.datagen.formatting import (
    PhoneTemplate,
    ascii_fold,
    concat,
    fill_phone,
    int_text,
    replace_where,
    strings,
    take,
    with_nulls,
)

# Shares of the universe; module-level defaults so the generator's shape is tunable in one place.
CHINESE_NAME_SHARE = 0.17
PROSPECT_SHARE = 0.20
EXISTING_CUSTOMER_SHARE = 0.60
RECENT_JOIN_HORIZON_DAYS = 365
HOUSEHOLD_MEMBER_SHARE = 0.10
NAMESAKE_SHARE = 0.01
GENERIC_EMAIL_SHARE = 0.008
PLACEHOLDER_PHONE_SHARE = 0.015
NO_EMAIL_SHARE = 0.06
NO_PHONE_SHARE = 0.12
EMAIL_CHANGE_SHARE = 0.10
MOVE_SHARE = 0.05
# Hidden gems are influential by a percentile (the top 1% of customers by influence, customer_influence):
# the plant holds that share, so the top 1% are the planted gems rather than gems plus ordinary customers
# with one referral.
HIDDEN_GEM_SHARE = 0.012
# Planted cohorts with a known truth the marts must recover (written to ground_truth/planted.parquet):
# their share of buyers, and what makes each one what it is. Drawn from their own random stream, so the
# rest of the population is drawn exactly as without them.
PLANTED_COHORTS: tuple[str, ...] = ("", "gold", "costly", "declining", "complainer_who_leaves")
PLANTED_SHARES = {"gold": 0.02, "costly": 0.03, "declining": 0.03, "complainer_who_leaves": 0.02}
# Gold and hidden gems are defined by where they stand among all buyers (DOMAIN.md: gold = the top ~5% by
# value, a gem = small purchases and a large audience), so their rate and basket are set relative to the
# population's means (with PLANTED_LEVEL_SHAPE's spread) instead of multiplying a random draw: a multiple of
# a low draw is still low (a planted "gold" customer buying 1.3 times a year is not gold by any definition).
GOLD_RATE_FACTOR, GOLD_VALUE_FACTOR = 2.5, 4.0
HIDDEN_GEM_RATE_FACTOR, HIDDEN_GEM_VALUE_FACTOR = 0.35, 0.4
PLANTED_LEVEL_SHAPE = 8.0
COSTLY_VALUE_FACTOR, COSTLY_PROBLEM_PROB = 0.6, 0.5
COMPLAINER_PROBLEM_PROB = 0.5
SOCIAL_HANDLE_SHARE = 0.15
# Mean purchases per active buyer per year before dropout (calibrated to about 10 order lines per person
# per 365 days across web and stores).
MEAN_PURCHASES_PER_YEAR = 10.4
PURCHASE_RATE_SHAPE = 1.3
DROPOUT_BETA = (1.0, 16.0)
MEAN_ORDER_VALUE_EUR = 62.0

PHONE_GROUPS: tuple[str, ...] = (
    "NL_mobile",
    "NL_landline",
    "DE_mobile",
    "BE_mobile",
    "GB_mobile",
    "FR_mobile",
    "CN_mobile",
)
# Four renderings per phone group; variant 0 is the most common national format.
PHONE_TEMPLATES: dict[str, tuple[PhoneTemplate, ...]] = {
    "NL_mobile": (
        ("0", (0, None)),
        ("0", (0, 1), "-", (1, None)),
        ("+31 ", (0, 1), " ", (1, 5), " ", (5, None)),
        ("0031", (0, None)),
    ),
    "NL_landline": (
        ("0", (0, None)),
        ("(0", (0, 2), ") ", (2, 5), " ", (5, None)),
        ("+31 ", (0, 2), " ", (2, 5), " ", (5, None)),
        ("0", (0, 2), "-", (2, None)),
    ),
    "DE_mobile": (
        ("0", (0, 4), " ", (4, None)),
        ("0", (0, None)),
        ("+49 ", (0, 4), " ", (4, None)),
        ("0049", (0, None)),
    ),
    "BE_mobile": (
        ("0", (0, 3), " ", (3, 5), " ", (5, 7), " ", (7, None)),
        ("0", (0, None)),
        ("+32 ", (0, 3), " ", (3, 5), " ", (5, 7), " ", (7, None)),
        ("0032", (0, None)),
    ),
    "GB_mobile": (
        ("0", (0, 4), " ", (4, None)),
        ("0", (0, None)),
        ("+44 ", (0, 4), " ", (4, None)),
        ("+44", (0, None)),
    ),
    "FR_mobile": (
        ("0", (0, 1), " ", (1, 3), " ", (3, 5), " ", (5, 7), " ", (7, None)),
        ("0", (0, None)),
        ("+33 ", (0, 1), " ", (1, 3), " ", (3, 5), " ", (5, 7), " ", (7, None)),
        ("0033", (0, None)),
    ),
    "CN_mobile": (
        ((0, 3), " ", (3, 7), " ", (7, None)),
        ((0, None),),
        ("+86 ", (0, 3), " ", (3, 7), " ", (7, None)),
        ("+86", (0, None)),
    ),
}
COUNTRY_CALLING_CODES: dict[str, str] = {
    "NL": "31",
    "DE": "49",
    "BE": "32",
    "GB": "44",
    "FR": "33",
    "CN": "86",
}
COUNTRY_NAMES: dict[str, str] = {
    "NL": "Netherlands",
    "DE": "Germany",
    "BE": "Belgium",
    "GB": "United Kingdom",
    "FR": "France",
    "CN": "China",
}
STORES_BY_COUNTRY: dict[str, int] = {"NL": 20, "BE": 6, "DE": 6, "FR": 3, "GB": 3, "CN": 0}


@dataclass
class Persons:
    """Column-wise person attributes. Arrow arrays hold text, numpy arrays hold numbers and flags."""

    n: int
    person_id: pa.Array
    is_chinese: np.ndarray
    country: pa.Array
    country_index: np.ndarray
    gender: pa.Array
    birth_day: np.ndarray
    first_name: pa.Array
    last_name: pa.Array
    first_name_ascii: pa.Array
    last_name_ascii: pa.Array
    hanzi_surname: pa.Array
    hanzi_given: pa.Array
    nickname: pa.Array
    street: pa.Array
    house_number: pa.Array
    postal_code: pa.Array
    city: pa.Array
    street_new: pa.Array
    postal_code_new: pa.Array
    city_new: pa.Array
    move_day: np.ndarray
    household_id: np.ndarray
    email_variants: tuple[pa.Array, ...]
    email_new: pa.Array
    email_change_day: np.ndarray
    generic_email: pa.Array
    phone_e164: pa.Array
    phone_variants: tuple[pa.Array, ...]
    landline_variants: tuple[pa.Array, ...]
    placeholder_phone: pa.Array
    loyalty_id: pa.Array
    account_id: pa.Array
    social_handle: pa.Array
    followers: np.ndarray
    # behaviour
    is_prospect: np.ndarray
    join_day: np.ndarray
    purchase_rate: np.ndarray
    dropout_prob: np.ndarray
    order_value: np.ndarray
    web_share: np.ndarray
    category_cumprefs: np.ndarray
    problem_prob: np.ndarray
    is_hidden_gem: np.ndarray
    planted: np.ndarray  # index into PLANTED_COHORTS (0: none)
    has_crm: np.ndarray
    has_crm_duplicate: np.ndarray
    email_opt_in: np.ndarray
    sms_opt_in: np.ndarray
    unsubscribe_day: np.ndarray
    open_prob: np.ndarray
    click_prob: np.ndarray
    expectation: np.ndarray
    home_store: np.ndarray
    is_deleted: np.ndarray

    @property
    def email(self) -> pa.Array:
        return self.email_variants[0]


def _zipf_choice(rng: np.random.Generator, size: int, n: int, exponent: float = 0.8) -> np.ndarray:
    weights = 1.0 / np.power(np.arange(n) + 2.0, exponent)
    return rng.choice(n, size=size, p=weights / weights.sum())


def _digits(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    return int_text(rng.integers(0, 10**width, size=n), width)


def _affine_ids(n: int, modulus: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct pseudo-random numbers below ``modulus`` (a bijection i → a*i+b mod m)."""
    while True:
        a = int(rng.integers(modulus // 3, modulus - 1))
        if np.gcd(a, modulus) == 1:
            break
    b = int(rng.integers(0, modulus))
    i = np.arange(n, dtype=np.int64)
    return (a * i + b) % modulus


def _email_local(values: pa.Array) -> pa.Array:
    """Lower-case ASCII letters only: ``van den Berg`` → ``vandenberg``."""
    return pc.replace_substring_regex(pc.utf8_lower(ascii_fold(values)), pattern="[^a-z]", replacement="")


def _canonical_email(emails: pa.Array) -> pa.Array:
    """The mailbox an address reaches: lower case, plus tags dropped, gmail dots dropped."""
    parts = pc.split_pattern(pc.utf8_lower(emails), pattern="@", max_splits=1)
    local = pc.replace_substring_regex(pc.list_element(parts, 0), pattern="\\+.*$", replacement="")
    domain = pc.list_element(parts, 1)
    is_gmail = pc.is_in(domain, value_set=pa.array(["gmail.com", "googlemail.com"]))
    gmail = concat(pc.replace_substring(local, pattern=".", replacement=""), "@gmail.com")
    return pc.if_else(is_gmail, gmail, concat(local, "@", domain))


def _repeated(values: pa.Array, taken: pa.Array | None) -> np.ndarray:
    """For each of ``values``: is it in ``taken`` or an earlier row of ``values``?"""
    everything = pa.concat_arrays([taken, values]) if taken is not None else values
    codes = pc.dictionary_encode(everything).indices.to_numpy(zero_copy_only=False)
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    first_sorted = np.ones(len(codes), bool)
    first_sorted[1:] = ordered[1:] != ordered[:-1]
    first = np.empty(len(codes), bool)
    first[order] = first_sorted
    return ~first[len(everything) - len(values) :]


def _make_unique(
    rng: np.random.Generator, local: pa.Array, domain: pa.Array, taken: pa.Array | None
) -> pa.Array:
    """Append digits to local parts whose mailbox is already used (by ``taken`` or an earlier row).

    Like people do: two digits first, then three, then four; the row number as a last resort.
    """
    n = len(local)
    for attempt in range(8):
        emails = concat(local, "@", domain)
        dup = _repeated(_canonical_email(emails), taken)
        if not dup.any():
            return emails
        if attempt < 6:
            width = 2 + attempt // 2
            digits = int_text(rng.integers(10 ** (width - 1), 10**width, n))
        else:
            digits = int_text(np.arange(n) + (attempt - 6) * n)
        local = replace_where(local, dup, concat(local, digits))
    raise RuntimeError("could not make e-mail addresses unique; this is a generator bug")


def _choose_domain(rng: np.random.Generator, countries: np.ndarray) -> pa.Array:
    domain = np.empty(len(countries), dtype=object)
    for ci, country in enumerate(vocab.COUNTRIES):
        mask = countries == ci
        options = vocab.EMAIL_DOMAINS[country]
        weights = 1.0 / np.power(np.arange(len(options)) + 1.0, 1.1)
        domain[mask] = np.array(options, dtype=object)[
            rng.choice(len(options), size=int(mask.sum()), p=weights / weights.sum())
        ]
    return strings(domain)


def _email_locals(
    rng: np.random.Generator, first_l: pa.Array, last_l: pa.Array, birth_year: np.ndarray, domain: pa.Array
) -> pa.Array:
    n = len(first_l)
    initial = pc.utf8_slice_codeunits(first_l, 0, 1)
    yy = int_text(birth_year % 100, 2)
    two = _digits(rng, n, 2)
    patterns = [
        concat(first_l, ".", last_l),
        concat(first_l, last_l),
        concat(initial, ".", last_l),
        concat(first_l, "_", last_l),
        concat(first_l, yy),
        concat(last_l, ".", first_l),
        concat(first_l, ".", last_l, two),
        concat(initial, last_l, yy),
    ]
    choice = rng.choice(len(patterns), size=n, p=[0.3, 0.14, 0.12, 0.06, 0.1, 0.06, 0.12, 0.1])
    local = pc.choose(pa.array(choice, pa.int8()), *patterns)
    # QQ mail addresses are the QQ number.
    qq = pc.equal(domain, "qq.com")
    return pc.if_else(qq, int_text(rng.integers(10_000_000, 3_999_999_999, size=n)), local)


def _swap_typo(rng: np.random.Generator, emails: pa.Array) -> pa.Array:
    """One typo per address: a known domain typo, else two adjacent local characters swapped."""
    values = emails.to_pylist()
    positions = rng.random(len(values))
    out: list[str | None] = []
    for value, u in zip(values, positions, strict=True):
        if value is None:
            out.append(None)
            continue
        local, _, domain = value.partition("@")
        if domain in vocab.DOMAIN_TYPOS and u < 0.5:
            out.append(f"{local}@{vocab.DOMAIN_TYPOS[domain]}")
        elif len(local) >= 3:
            i = int(u * (len(local) - 1))
            chars = list(local)
            if chars[i] == chars[i + 1]:
                chars[i] = chars[i] if chars[i] == "x" else "x"
            else:
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
            out.append("".join(chars) + "@" + domain)
        else:
            out.append(local + local[-1:] + "@" + domain)
    return strings(out)


def _provider_variant(rng: np.random.Generator, emails: pa.Array) -> pa.Array:
    """Same mailbox, different text: gmail dots / plus tags / googlemail; elsewhere an upper-case domain."""
    n = len(emails)
    local = pc.replace_substring_regex(emails, pattern="@.*$", replacement="")
    domain = pc.replace_substring_regex(emails, pattern="^[^@]*@", replacement="")
    is_gmail = pc.equal(domain, "gmail.com")
    kind = rng.integers(0, 3, size=n)
    tags = take(strings(["shop", "webshop", "promo", "orders", "nl"]), rng.integers(0, 5, size=n))
    undotted = pc.replace_substring(local, pattern=".", replacement="")
    dotted = concat(pc.utf8_slice_codeunits(undotted, 0, 3), ".", pc.utf8_slice_codeunits(undotted, 3, 64))
    has_dot = pc.match_substring(local, ".")
    gmail_dots = pc.if_else(has_dot, concat(undotted, "@gmail.com"), concat(dotted, "@gmail.com"))
    gmail_plus = concat(local, "+", tags, "@gmail.com")
    googlemail = concat(local, "@googlemail.com")
    gmail = pc.choose(pa.array(kind, pa.int8()), gmail_dots, gmail_plus, googlemail)
    other = concat(local, "@", pc.utf8_upper(domain))
    return pc.if_else(is_gmail, gmail, other)


def _case_variant(rng: np.random.Generator, emails: pa.Array) -> pa.Array:
    kind = rng.integers(0, 3, size=len(emails))
    title = pc.utf8_title(emails)
    upper = pc.utf8_upper(emails)
    capital = pc.utf8_capitalize(emails)
    return pc.choose(pa.array(kind, pa.int8()), title, upper, capital)


def _postal_codes(rng: np.random.Generator, country: str, prefixes: pa.Array) -> pa.Array:
    n = len(prefixes)
    letters = strings(list("ABCDEGHJKLMNPRSTVWXZ"))
    two_letters = concat(take(letters, rng.integers(0, 20, n)), take(letters, rng.integers(0, 20, n)))
    if country == "NL":
        return concat(prefixes, _digits(rng, n, 2), " ", two_letters)
    if country == "DE":
        return concat(prefixes, _digits(rng, n, 3))
    if country == "BE":
        return concat(prefixes, _digits(rng, n, 2))
    if country == "GB":
        return concat(
            prefixes, int_text(rng.integers(1, 20, n)), " ", int_text(rng.integers(1, 10, n)), two_letters
        )
    if country == "FR":
        return concat(prefixes, _digits(rng, n, 3))
    return concat(prefixes, _digits(rng, n, 4))


def _addresses(
    rng: np.random.Generator, countries: np.ndarray
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    n = len(countries)
    street = np.empty(n, dtype=object)
    postal = np.empty(n, dtype=object)
    city = np.empty(n, dtype=object)
    for ci, country in enumerate(vocab.COUNTRIES):
        idx = np.flatnonzero(countries == ci)
        if not len(idx):
            continue
        cities = vocab.CITIES[country]
        city_pick = _zipf_choice(rng, len(idx), len(cities), 1.0)
        street[idx] = np.array(vocab.STREETS[country], dtype=object)[
            rng.integers(0, len(vocab.STREETS[country]), len(idx))
        ]
        city[idx] = np.array([c for c, _ in cities], dtype=object)[city_pick]
        prefixes = take(strings([p for _, p in cities]), city_pick)
        postal[idx] = np.array(_postal_codes(rng, country, prefixes).to_pylist(), dtype=object)
    house = int_text(np.minimum(rng.geometric(0.02, n), 400))
    suffix = take(strings(["", "", "", "", "", "", "", "a", "b", "-2", " II", "-1"]), rng.integers(0, 12, n))
    return strings(street), concat(house, suffix), strings(postal), strings(city)


def _phone_numbers(rng: np.random.Generator, countries: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """National significant numbers and the phone group of each person's mobile."""
    n = len(countries)
    nsn = np.empty(n, dtype=object)
    group = np.zeros(n, dtype=np.int8)
    spec = {
        "NL": ("NL_mobile", ["61", "62", "63", "64", "65"], 7),
        "DE": ("DE_mobile", ["151", "152", "157", "159", "176", "177", "178", "179"], 8),
        "BE": ("BE_mobile", ["47", "48", "49"], 7),
        "GB": ("GB_mobile", ["74", "75", "78"], 8),
        "FR": (
            "FR_mobile",
            ["60", "61", "62", "64", "65", "66", "67", "68", "73", "74", "75", "76", "77", "78"],
            7,
        ),
        "CN": (
            "CN_mobile",
            [f"1{d}" for d in (*range(30, 40), 50, 51, 52, 53, 55, 56, 57, 58, 59, *range(80, 90))],
            8,
        ),
    }
    for ci, country in enumerate(vocab.COUNTRIES):
        idx = np.flatnonzero(countries == ci)
        name, prefixes, width = spec[country]
        pre = take(strings(prefixes), rng.integers(0, len(prefixes), len(idx)))
        nsn[idx] = np.array(concat(pre, _digits(rng, len(idx), width)).to_pylist(), dtype=object)
        group[idx] = PHONE_GROUPS.index(name)
    return strings(nsn), group


def _render_phones(nsn: pa.Array, groups: np.ndarray) -> tuple[pa.Array, ...]:
    """The four renderings of each number, each group through its own templates."""
    members = [np.flatnonzero(groups == gi) for gi in range(len(PHONE_GROUPS))]
    order = np.concatenate(members)
    position = np.empty(len(nsn), np.int64)
    position[order] = np.arange(len(order))
    variants: list[pa.Array] = []
    for k in range(4):
        pieces = [
            fill_phone(take(nsn, idx), PHONE_TEMPLATES[name][k])
            for name, idx in zip(PHONE_GROUPS, members, strict=True)
        ]
        variants.append(take(pa.concat_arrays(pieces), position))
    return tuple(variants)


def plant_cohorts(rng: np.random.Generator, eligible: np.ndarray) -> np.ndarray:
    """The planted cohort of each person (an index into PLANTED_COHORTS; 0 for most), among ``eligible``.

    gold: buys 2.5x as often as the average buyer and 4x as much per order, and stays (``behaviour``: never
    drops out); costly: small baskets, most orders returned, a problem with half of them and frequent calls
    to the service desk besides (``behaviour``), so the service they cost exceeds the margin they bring;
    declining: buys a fifth as often from the middle of the window on; complainer_who_leaves: a problem with
    half of the orders, and leaves for good after the first one handled badly."""
    cut = np.cumsum([PLANTED_SHARES[name] for name in PLANTED_COHORTS[1:]])
    u = rng.random(eligible.shape[0])
    cohort = np.searchsorted(cut, u, side="right") + 1
    return np.where(eligible & (u < cut[-1]), cohort, 0).astype(np.int8)


def _planted_level(rng: np.random.Generator, level: float, n: int) -> np.ndarray:
    """``n`` gamma draws with mean ``level`` and coefficient of variation 1/sqrt(PLANTED_LEVEL_SHAPE)."""
    return rng.gamma(PLANTED_LEVEL_SHAPE, level / PLANTED_LEVEL_SHAPE, n)


def build_persons(rng: np.random.Generator, n: int, first_day: int, days: int) -> Persons:
    """Draw ``n`` persons for a window of ``days`` days starting at day number ``first_day``."""
    if n < 1:
        raise ValueError(f"customers must be at least 1, got {n}")
    end_day = first_day + days
    ids = concat("P", int_text(np.arange(1, n + 1), 8))
    is_chinese = rng.random(n) < CHINESE_NAME_SHARE
    countries = np.where(
        is_chinese,
        rng.choice(len(vocab.COUNTRIES), size=n, p=vocab.CHINESE_COUNTRY_SHARES),
        rng.choice(len(vocab.COUNTRIES), size=n, p=vocab.WESTERN_COUNTRY_SHARES),
    ).astype(np.int8)
    gender_code = rng.choice(3, size=n, p=[0.505, 0.485, 0.01])
    gender = take(strings(["f", "m", "x"]), gender_code)
    birth_day = (end_day - rng.integers(18 * 365, 86 * 365, size=n)).astype(np.int32)

    # Names ---------------------------------------------------------------------------------------
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    for ci, country in enumerate(vocab.COUNTRIES[:-1]):
        western = (~is_chinese) & (countries == ci)
        for code, table in (
            (0, vocab.FIRST_NAMES_FEMALE),
            (1, vocab.FIRST_NAMES_MALE),
            (2, vocab.FIRST_NAMES_MALE),
        ):
            mask = western & (gender_code == code)
            names = table[country]
            first[mask] = np.array(names, dtype=object)[_zipf_choice(rng, int(mask.sum()), len(names))]
        lasts = vocab.LAST_NAMES[country]
        last[western] = np.array(lasts, dtype=object)[_zipf_choice(rng, int(western.sum()), len(lasts))]
    cn = np.flatnonzero(is_chinese)
    surname_pick = _zipf_choice(rng, len(cn), len(vocab.CHINESE_SURNAMES), 1.1)
    given_pick = _zipf_choice(rng, len(cn), len(vocab.CHINESE_GIVEN_NAMES), 0.5)
    hanzi_surname = np.full(n, None, dtype=object)
    hanzi_given = np.full(n, None, dtype=object)
    hanzi_surname[cn] = np.array([h for h, _ in vocab.CHINESE_SURNAMES], dtype=object)[surname_pick]
    hanzi_given[cn] = np.array([h for h, _ in vocab.CHINESE_GIVEN_NAMES], dtype=object)[given_pick]
    last[cn] = np.array([p for _, p in vocab.CHINESE_SURNAMES], dtype=object)[surname_pick]
    first[cn] = np.array([p for _, p in vocab.CHINESE_GIVEN_NAMES], dtype=object)[given_pick]
    # Namesakes: distinct persons who carry another person's full name (different birth dates).
    namesakes = np.flatnonzero(rng.random(n) < NAMESAKE_SHARE)
    if len(namesakes) and n > 1:
        donors = rng.integers(0, n, len(namesakes))
        for arr in (first, last, hanzi_surname, hanzi_given):
            arr[namesakes] = arr[donors]
        is_chinese[namesakes] = is_chinese[donors]
    first_name, last_name = strings(first), strings(last)
    nickname = strings([vocab.NICKNAMES.get(f) for f in first])

    # Addresses and households -------------------------------------------------------------------
    street, house, postal, city = _addresses(rng, countries)
    household_id = np.full(n, -1, dtype=np.int32)
    members = np.flatnonzero(rng.random(n) < HOUSEHOLD_MEMBER_SHARE)
    if len(members) and n > 1:
        heads = rng.integers(0, n, len(members))
        keep = heads != members
        members, heads = members[keep], heads[keep]
        # A head is never itself a member (keeps households one level deep).
        heads = np.where(np.isin(heads, members), (heads + 1) % n, heads)
        keep = ~np.isin(heads, members)
        members, heads = members[keep], heads[keep]
        household_id[heads] = heads
        household_id[members] = heads
        countries[members] = countries[heads]
        take_idx = np.arange(n)
        take_idx[members] = heads
        street, house, postal, city = (take(a, take_idx) for a in (street, house, postal, city))
        same_surname = members[
            (~is_chinese[members]) & (~is_chinese[heads]) & (rng.random(len(members)) < 0.6)
        ]
        last_obj = np.array(last_name.to_pylist(), dtype=object)
        head_of = np.arange(n)
        head_of[members] = heads
        last_obj[same_surname] = last_obj[head_of[same_surname]]
        last_name = strings(last_obj)
    country_codes = take(strings(list(vocab.COUNTRIES)), countries.astype(np.int64))
    movers = (rng.random(n) < MOVE_SHARE) & (household_id < 0)
    move_day = np.where(movers, rng.integers(first_day, end_day, n), np.iinfo(np.int32).max).astype(np.int32)
    street_new, house_new, postal_new, city_new = _addresses(rng, countries)
    street_new = concat(street_new, " ", house_new)

    # E-mail ------------------------------------------------------------------------------------------
    birth_year = birth_day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    first_l, last_l = _email_local(first_name), _email_local(last_name)
    domain = _choose_domain(rng, countries)
    email = _make_unique(rng, _email_locals(rng, first_l, last_l, birth_year, domain), domain, None)
    email = with_nulls(email, rng.random(n) < NO_EMAIL_SHARE)
    new_domain = _choose_domain(rng, countries)
    email_new = _make_unique(
        rng, _email_locals(rng, first_l, last_l, birth_year, new_domain), new_domain, _canonical_email(email)
    )
    changes = (rng.random(n) < EMAIL_CHANGE_SHARE) & pc.is_valid(email).to_numpy(zero_copy_only=False)
    email_change_day = np.where(changes, rng.integers(first_day, end_day, n), np.iinfo(np.int32).max)
    email_new = with_nulls(email_new, ~changes)
    email_variants = (email, _case_variant(rng, email), _provider_variant(rng, email), _swap_typo(rng, email))
    generic = np.full(n, None, dtype=object)
    generic_users = np.flatnonzero(rng.random(n) < GENERIC_EMAIL_SHARE)
    if len(generic_users):
        business = rng.integers(0, len(vocab.BUSINESS_NAMES), len(generic_users))
        mailbox = rng.choice(["info", "contact", "admin"], size=len(generic_users))
        tld = np.where(countries[generic_users] == vocab.COUNTRIES.index("DE"), "de", "nl")
        generic[generic_users] = [
            f"{box}@{vocab.BUSINESS_NAMES[b]}.{t}" for box, b, t in zip(mailbox, business, tld, strict=True)
        ]

    # Phones -------------------------------------------------------------------------------------
    nsn, group = _phone_numbers(rng, countries)
    calling = take(strings([COUNTRY_CALLING_CODES[c] for c in vocab.COUNTRIES]), countries.astype(np.int64))
    no_phone = rng.random(n) < NO_PHONE_SHARE
    phone_e164 = with_nulls(concat("+", calling, nsn), no_phone)
    phone_variants = tuple(with_nulls(v, no_phone) for v in _render_phones(nsn, group))
    nl = countries == vocab.COUNTRIES.index("NL")
    has_landline = nl & (rng.random(n) < 0.3)
    if (household_id >= 0).any():
        members_mask = (household_id >= 0) & (household_id != np.arange(n))
        has_landline[members_mask] = has_landline[household_id[members_mask]]
    area = take(strings(["20", "10", "70", "30", "40", "50", "23", "35"]), rng.integers(0, 8, n))
    land_nsn = concat(area, int_text(rng.integers(2, 10, n)), _digits(rng, n, 6))
    if (household_id >= 0).any():
        land_nsn = take(land_nsn, np.where(household_id >= 0, household_id, np.arange(n)))
    land_groups = np.full(n, PHONE_GROUPS.index("NL_landline"), dtype=np.int8)
    landline_variants = tuple(with_nulls(v, ~has_landline) for v in _render_phones(land_nsn, land_groups))
    placeholder = np.full(n, None, dtype=object)
    ph_users = np.flatnonzero(rng.random(n) < PLACEHOLDER_PHONE_SHARE)
    placeholder[ph_users] = np.array(vocab.PLACEHOLDER_PHONES, dtype=object)[
        rng.integers(0, len(vocab.PLACEHOLDER_PHONES), len(ph_users))
    ]

    # Behaviour -------------------------------------------------------------------------------------
    is_prospect = rng.random(n) < PROSPECT_SHARE
    # Long-standing persons joined years ago; the others joined evenly over the last year (or the window).
    long_standing = rng.random(n) < EXISTING_CUSTOMER_SHARE
    horizon = max(days, RECENT_JOIN_HORIZON_DAYS)
    join_day = np.where(
        long_standing, first_day - rng.integers(30, 2000, n), end_day - rng.integers(1, horizon + 1, n)
    ).astype(np.int32)
    rate = rng.gamma(PURCHASE_RATE_SHAPE, MEAN_PURCHASES_PER_YEAR / 365.0 / PURCHASE_RATE_SHAPE, n)
    dropout = rng.beta(*DROPOUT_BETA, n)
    order_value = rng.gamma(2.5, MEAN_ORDER_VALUE_EUR / 2.5, n)
    mode = rng.choice(3, size=n, p=[0.35, 0.30, 0.35])
    web_share = np.select([mode == 0, mode == 1], [1.0, 0.0], rng.beta(2, 2, n))
    cn_resident = countries == vocab.COUNTRIES.index("CN")
    web_share = np.where(cn_resident, 1.0, web_share)
    popularity = np.array([1.2, 1.3, 1.5, 1.0, 0.8, 0.9, 0.7, 1.1])
    prefs = rng.gamma(np.tile(popularity * 0.3, (n, 1)), 1.0)
    prefs = prefs / prefs.sum(axis=1, keepdims=True)
    cumprefs = np.cumsum(prefs, axis=1).astype(np.float32)
    cumprefs[:, -1] = 1.0
    problem_persons = rng.random(n) < 0.04
    problem_prob = np.where(problem_persons, rng.beta(4, 8, n), rng.beta(1.2, 22, n))
    hidden_gem = (~is_prospect) & (rng.random(n) < HIDDEN_GEM_SHARE)
    planted_rng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
    planted = plant_cohorts(planted_rng, ~is_prospect & ~hidden_gem)
    gold = planted == PLANTED_COHORTS.index("gold")
    costly = planted == PLANTED_COHORTS.index("costly")
    leaver = planted == PLANTED_COHORTS.index("complainer_who_leaves")
    mean_rate = MEAN_PURCHASES_PER_YEAR / 365.0
    rate = np.where(gold, _planted_level(planted_rng, mean_rate * GOLD_RATE_FACTOR, n), rate)
    rate = np.where(hidden_gem, _planted_level(planted_rng, mean_rate * HIDDEN_GEM_RATE_FACTOR, n), rate)
    order_value = np.where(
        gold, _planted_level(planted_rng, MEAN_ORDER_VALUE_EUR * GOLD_VALUE_FACTOR, n), order_value
    )
    order_value = np.where(
        hidden_gem,
        _planted_level(planted_rng, MEAN_ORDER_VALUE_EUR * HIDDEN_GEM_VALUE_FACTOR, n),
        order_value,
    )
    dropout = np.where(gold, 0.0, dropout)
    order_value = np.where(costly, order_value * COSTLY_VALUE_FACTOR, order_value)
    problem_prob = np.where(
        costly, COSTLY_PROBLEM_PROB, np.where(leaver, COMPLAINER_PROBLEM_PROB, problem_prob)
    )
    has_handle = (rng.random(n) < SOCIAL_HANDLE_SHARE) | hidden_gem
    followers = np.where(
        hidden_gem, rng.lognormal(10.5, 0.8, n), np.where(has_handle, rng.lognormal(5.0, 1.4, n), 0)
    ).astype(np.int64)
    network_base = concat("@", first_l, pc.utf8_slice_codeunits(last_l, 0, 4), _digits(rng, n, 3))
    social_handle = with_nulls(network_base, ~has_handle)

    uses_web = (web_share > 0) & ~is_prospect
    uses_store = (web_share < 1) & ~is_prospect
    account = _affine_ids(n, 10**7, rng)
    has_account = np.where(uses_web, rng.random(n) < 0.95, rng.random(n) < np.where(is_prospect, 0.4, 0.1))
    account_id = with_nulls(concat("A", int_text(account, 7)), ~has_account)
    loyalty = _affine_ids(n, 10**9, rng)
    has_loyalty = np.where(uses_store, rng.random(n) < 0.8, rng.random(n) < 0.08)
    loyalty_id = with_nulls(concat("2600", int_text(loyalty, 9)), ~has_loyalty)
    has_crm = rng.random(n) < 0.8
    has_crm_duplicate = has_crm & (rng.random(n) < 0.04)
    email_valid = pc.is_valid(email).to_numpy(zero_copy_only=False)
    email_opt_in = email_valid & (rng.random(n) < 0.65)
    sms_opt_in = ~no_phone & (rng.random(n) < 0.3)
    unsub = email_opt_in & (rng.random(n) < 0.08 * days / 365.0)
    unsub_from = np.minimum(np.maximum(join_day.astype(np.int64) + 1, first_day), end_day - 1)
    unsubscribe_day = np.where(unsub, rng.integers(unsub_from, end_day), np.iinfo(np.int32).max).astype(
        np.int32
    )
    home_store = np.full(n, -1, dtype=np.int32)
    store_base = 0
    for ci, country in enumerate(vocab.COUNTRIES):
        count = STORES_BY_COUNTRY[country]
        mask = countries == ci
        if count:
            home_store[mask] = store_base + rng.integers(0, count, int(mask.sum()))
        store_base += count
    # Persons abroad without a local store shop in a Dutch one when they shop in stores.
    home_store = np.where(home_store < 0, rng.integers(0, STORES_BY_COUNTRY["NL"], n), home_store)

    return Persons(
        n=n,
        person_id=ids,
        is_chinese=is_chinese,
        country=country_codes,
        country_index=countries,
        gender=gender,
        birth_day=birth_day,
        first_name=first_name,
        last_name=last_name,
        first_name_ascii=ascii_fold(first_name),
        last_name_ascii=ascii_fold(last_name),
        hanzi_surname=strings(hanzi_surname),
        hanzi_given=strings(hanzi_given),
        nickname=nickname,
        street=concat(street, " ", house),
        house_number=house,
        postal_code=postal,
        city=city,
        street_new=street_new,
        postal_code_new=postal_new,
        city_new=city_new,
        move_day=move_day,
        household_id=household_id,
        email_variants=email_variants,
        email_new=email_new,
        email_change_day=email_change_day.astype(np.int32),
        generic_email=strings(generic),
        phone_e164=phone_e164,
        phone_variants=phone_variants,
        landline_variants=landline_variants,
        placeholder_phone=strings(placeholder),
        loyalty_id=loyalty_id,
        account_id=account_id,
        social_handle=social_handle,
        followers=followers,
        is_prospect=is_prospect,
        join_day=join_day,
        purchase_rate=rate,
        dropout_prob=dropout,
        order_value=order_value,
        web_share=web_share,
        category_cumprefs=cumprefs,
        problem_prob=problem_prob,
        is_hidden_gem=hidden_gem,
        planted=planted,
        has_crm=has_crm,
        has_crm_duplicate=has_crm_duplicate,
        email_opt_in=email_opt_in,
        sms_opt_in=sms_opt_in,
        unsubscribe_day=unsubscribe_day,
        open_prob=rng.beta(2, 5, n),
        click_prob=rng.beta(1.5, 8, n),
        expectation=np.clip(np.rint(rng.normal(7.0, 1.3, n)), 1, 10).astype(np.int8),
        home_store=home_store,
        is_deleted=has_crm & (rng.random(n) < 0.015),
    )
