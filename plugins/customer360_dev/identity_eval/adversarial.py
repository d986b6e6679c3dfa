"""An adversarial multi-channel set: the traps identity resolution meets in real customer data.

Written for the evaluation, apart from ``customer360.datagen`` (its own code and vocabularies in
``adversarial_vocab``). Persons live in six countries; each has a CRM contact (most), web orders, till
transactions, service tickets, marketing events and survey answers, written in each channel's landing
format. The traps:

* ``household``: two or three persons with one family name, one address and one fixed-line phone, which
  they all give; different given names, birth dates and e-mails. Must stay apart.
* ``role_mailbox``: colleagues who order and write to the service desk from one ``info@``/``sales@``
  address of their small company. Must stay apart.
* ``namesake``: two persons with the same given and family name in different cities. Must stay apart.
* ``nickname``: Bob on a web order, Robert in the CRM.
* ``chinese_script``: 王小明 in the CRM, Xiaoming Wang on an order.
* ``swapped_order``: family name first (Wang Xiaoming; Jansen Pieter), or the parts in the wrong fields.
* ``email_typo``, ``name_typo``: one letter dropped, doubled, replaced or two letters swapped.
* ``foreign_phone_without_country``: a non-Dutch number written nationally (``0151 ...``) at the till or
  to the service desk, as it is in the CRM with ``+49``.

Seeded and deterministic: the same seed and size give the same files. ``build_adversarial_set`` writes the
landing files, the truth, the trap groups and the labelled trap pairs, and the ceiling recall
(``customer360_dev.identity_eval.ceiling``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from customer360_dev.identity_eval import adversarial_vocab as vocab
from customer360_dev.identity_eval.ceiling import ceiling_recall
from customer360_dev.identity_eval.landing import write_landing
from customer360_dev.identity_eval.sets import EvalSet, write_truth

DEFAULT_PERSONS = 2000
DEFAULT_SEED = 20
WINDOW_DAYS = 90
CHANNELS = (
    "crm_contacts",
    "web_orders",
    "pos_transactions",
    "support_tickets",
    "marketing_events",
    "surveys",
)
APART_TRAPS = ("household", "role_mailbox", "namesake")
VARIANT_TRAPS = (
    "nickname",
    "chinese_script",
    "swapped_order",
    "email_typo",
    "name_typo",
    "foreign_phone_without_country",
)
TRAP_CLASSES = APART_TRAPS + VARIANT_TRAPS
ID_PREFIX = {
    "crm_contacts": "AC",
    "web_orders": "AW",
    "pos_transactions": "AP",
    "support_tickets": "AT",
    "marketing_events": "AM",
    "surveys": "AS",
}


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss")).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _digits(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    low, high = 10 ** (width - 1), 10**width
    if n == 0:
        return np.array([], dtype=str)
    return np.char.zfill(rng.integers(low, high, n).astype(str), width)


def _typo(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    """One edit per value, in its first part (before any @): drop, double, replace or swap a letter."""
    kinds = rng.integers(0, 4, len(values))
    spots = rng.random(len(values))
    letters = rng.choice(list("aeioubcdklmnrst"), len(values))

    def edit(text: str, kind: int, spot: float, letter: str) -> str:
        head, at, tail = text.partition("@")
        if len(head) < 3:
            return head + "x" + at + tail
        i = 1 + int(spot * (len(head) - 2))  # never the first letter
        if kind == 0:
            head = head[:i] + head[i + 1 :]
        elif kind == 1:
            head = head[:i] + head[i] + head[i:]
        elif kind == 2:
            head = head[:i] + (letter if head[i] != letter else "y") + head[i + 1 :]
        else:
            head = (
                head[: i - 1] + head[i] + head[i - 1] + head[i + 1 :]
                if head[i] != head[i - 1]
                else head + "e"
            )
        return head + at + tail

    return np.array([edit(*args) for args in zip(values, kinds, spots, letters, strict=True)], dtype=object)


@dataclass
class Persons:
    n: int
    person_id: np.ndarray
    chinese: np.ndarray
    given: np.ndarray  # index into the culture's given names
    family: np.ndarray
    country: np.ndarray
    city: np.ndarray
    street: np.ndarray
    postal: np.ndarray
    birth: np.ndarray
    mobile_nsn: np.ndarray
    landline_nsn: np.ndarray  # households only, else ""
    email: np.ndarray
    account: np.ndarray  # "" when none
    loyalty: np.ndarray
    household: np.ndarray  # group number or -1
    role_group: np.ndarray
    role_email: np.ndarray
    namesake: np.ndarray


def _groups(
    rng: np.random.Generator, free: np.ndarray, share: float, sizes: tuple[int, ...]
) -> list[np.ndarray]:
    """Disjoint groups of persons drawn from ``free`` (marked taken in place), about ``share`` of all."""
    order = rng.permutation(np.flatnonzero(free))
    wanted = int(share * len(free))
    groups, start = [], 0
    while start < len(order) and sum(len(g) for g in groups) < wanted:
        size = int(rng.choice(sizes))
        group = order[start : start + size]
        if len(group) < 2:
            break
        groups.append(np.sort(group))
        start += size
    for group in groups:
        free[group] = False
    return groups


def build_persons(rng: np.random.Generator, n: int) -> Persons:
    chinese = rng.random(n) < 0.25
    country = np.where(
        chinese,
        rng.choice(["NL", "CN"], n),
        rng.choice(["NL", "DE", "BE", "GB", "FR"], n, p=[0.45, 0.2, 0.15, 0.1, 0.1]),
    ).astype(object)
    given = np.where(
        chinese, rng.integers(0, len(vocab.CHINESE_GIVEN), n), rng.integers(0, len(vocab.WESTERN_GIVEN), n)
    )
    family = np.where(
        chinese, rng.integers(0, len(vocab.CHINESE_FAMILY), n), rng.integers(0, len(vocab.WESTERN_FAMILY), n)
    )
    city = _per_country(rng, country, vocab.CITIES)
    street_name = _per_country(rng, country, vocab.STREETS)
    street = street_name + " " + rng.integers(1, 200, n).astype(str).astype(object)
    postal = _postal(rng, country)
    birth = np.datetime64("1945-01-01") + rng.integers(0, 60 * 365, n).astype("timedelta64[D]")
    person = Persons(
        n=n,
        person_id=np.array([f"P{i:06d}" for i in range(n)], dtype=object),
        chinese=chinese,
        given=given,
        family=family,
        country=country,
        city=city,
        street=street,
        postal=postal,
        birth=birth,
        mobile_nsn=np.full(n, "", dtype=object),
        landline_nsn=np.full(n, "", dtype=object),
        email=np.full(n, "", dtype=object),
        account=np.where(rng.random(n) < 0.6, "ACC" + _digits(rng, n, 7).astype(object), ""),
        loyalty=np.where(rng.random(n) < 0.5, "LOY" + _digits(rng, n, 8).astype(object), ""),
        household=np.full(n, -1),
        role_group=np.full(n, -1),
        role_email=np.full(n, "", dtype=object),
        namesake=np.full(n, -1),
    )
    _plant_traps(rng, person)
    # contact details after the traps, which move some persons to another country
    person.mobile_nsn = _numbers(rng, person.country, vocab.MOBILE_PREFIX)
    person.email = _personal_emails(rng, person)
    return person


def _per_country(
    rng: np.random.Generator, country: np.ndarray, table: dict[str, tuple[str, ...]]
) -> np.ndarray:
    """One value per row from the row's country's list, drawn uniformly."""
    out = np.empty(len(country), dtype=object)
    for code, values in table.items():
        rows = np.flatnonzero(country == code)
        out[rows] = np.array(values, dtype=object)[rng.integers(0, len(values), len(rows))]
    return out


def _numbers(rng: np.random.Generator, country: np.ndarray, table: dict[str, tuple[str, int]]) -> np.ndarray:
    """National significant numbers: the country's leading digits and random digits after them."""
    out = np.empty(len(country), dtype=object)
    for code, (prefix, width) in table.items():
        rows = np.flatnonzero(country == code)
        out[rows] = prefix + _digits(rng, len(rows), width).astype(object)
    return out


def _postal(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    n = len(country)
    four, five, six = _digits(rng, n, 4), _digits(rng, n, 5), _digits(rng, n, 6)
    letters = rng.choice(list("ABCDEFGHJKLMNPRSTVWXZ"), (n, 4))
    nl = four.astype(object) + " " + letters[:, 0] + letters[:, 1]
    gb = (
        "SW"
        + rng.integers(1, 20, n).astype(str).astype(object)
        + " "
        + rng.integers(1, 9, n).astype(str)
        + letters[:, 2]
        + letters[:, 3]
    )
    by_country = {
        "NL": nl,
        "DE": five.astype(object),
        "BE": four.astype(object),
        "GB": gb,
        "FR": five.astype(object),
        "CN": six.astype(object),
    }
    out = np.empty(n, dtype=object)
    for code, values in by_country.items():
        out[country == code] = values[country == code]
    return out


def _plant_traps(rng: np.random.Generator, p: Persons) -> None:
    free = np.ones(p.n, dtype=bool)
    for number, members in enumerate(_groups(rng, free, 0.12, (2, 3))):
        head = members[0]
        p.household[members] = number
        p.family[members] = p.family[head]
        p.chinese[members] = p.chinese[head]
        p.country[members] = p.country[head]
        for field in (p.city, p.street, p.postal):
            field[members] = field[head]
        code = p.country[head]
        p.landline_nsn[members] = _numbers(rng, np.array([code]), vocab.LANDLINE_PREFIX)[0]
        # members keep distinct given names (the head's neighbours in the list)
        names = len(vocab.CHINESE_GIVEN) if p.chinese[head] else len(vocab.WESTERN_GIVEN)
        p.given[members] = (p.given[head] + np.arange(len(members)) * 7) % names
    for number, members in enumerate(_groups(rng, free, 0.08, (3, 4))):
        head = members[0]
        company = _ascii(
            vocab.CHINESE_FAMILY[p.family[head]][1]
            if p.chinese[head]
            else vocab.WESTERN_FAMILY[p.family[head]]
        )
        word = vocab.COMPANY_WORDS[number % len(vocab.COMPANY_WORDS)]
        tld = {"GB": "co.uk", "CN": "cn"}.get(p.country[head], p.country[head].lower())
        mailbox = vocab.ROLE_MAILBOXES[number % len(vocab.ROLE_MAILBOXES)]
        p.role_group[members] = number
        p.role_email[members] = f"{mailbox}@{company}-{word}{number}.{tld}"
    for number, members in enumerate(_groups(rng, free, 0.06, (2,))):
        first, second = members
        p.namesake[members] = number
        p.chinese[second] = p.chinese[first]
        p.given[second] = p.given[first]
        p.family[second] = p.family[first]
        code = p.country[second]
        if p.chinese[first] and code not in ("NL", "CN"):
            p.country[second] = code = "NL"
        cities = vocab.CITIES[code]
        if p.city[second] == p.city[first] or p.city[second] not in cities:
            others = [c for c in cities if c != p.city[first]]
            p.city[second] = others[number % len(others)]


def _personal_emails(rng: np.random.Generator, p: Persons) -> np.ndarray:
    given = _fold(_given_latin(p))
    family = _fold(_family_latin(p))
    style = rng.integers(0, 4, p.n)
    number = rng.integers(1, 99, p.n).astype(str).astype(object)
    local = np.select(
        [style == 0, style == 1, style == 2],
        [given + "." + family, given + family, given + "." + family + number],
        default=family + "." + given + number,
    )
    domain = _per_country(rng, p.country, vocab.PERSONAL_DOMAINS)
    # one mailbox per person: a clash (same name, same style) gets the person's row number. Gmail ignores dots
    # in the local part (a.b@gmail.com is ab@gmail.com), so two people cannot hold addresses that differ only
    # by dots there: the clash is looked for on the mailbox, not on the address as written.
    email = local + "@" + domain
    undotted = pd.Series(local).str.replace(".", "", regex=False)
    mailbox = pd.Series(local).where(domain != "gmail.com", undotted)
    duplicated = (mailbox + "@" + pd.Series(domain)).duplicated(keep="first").to_numpy()
    email[duplicated] = (
        local[duplicated] + np.arange(p.n)[duplicated].astype(str).astype(object) + "@" + domain[duplicated]
    )
    return email


def _fold(names: np.ndarray) -> np.ndarray:
    """ASCII e-mail parts of names: each distinct name folded once."""
    distinct, inverse = np.unique(names.astype(str), return_inverse=True)
    return np.array([_ascii(name) for name in distinct], dtype=object)[inverse]


def _given_latin(p: Persons) -> np.ndarray:
    western = np.array(vocab.WESTERN_GIVEN, dtype=object)
    pinyin = np.array([g[1] for g in vocab.CHINESE_GIVEN], dtype=object)
    return np.where(p.chinese, pinyin[p.given % len(pinyin)], western[p.given % len(western)])


def _family_latin(p: Persons) -> np.ndarray:
    western = np.array(vocab.WESTERN_FAMILY, dtype=object)
    pinyin = np.array([f[1] for f in vocab.CHINESE_FAMILY], dtype=object)
    return np.where(p.chinese, pinyin[p.family % len(pinyin)], western[p.family % len(western)])


def _hanzi(p: Persons, rows: np.ndarray) -> np.ndarray:
    family = np.array([f[0] for f in vocab.CHINESE_FAMILY], dtype=object)
    given = np.array([g[0] for g in vocab.CHINESE_GIVEN], dtype=object)
    return family[p.family[rows] % len(family)] + given[p.given[rows] % len(given)]


def _nickname(rng: np.random.Generator, given: np.ndarray) -> np.ndarray:
    """A nickname for each given name that has one, else the name itself."""
    names = pd.Index(list(vocab.NICKNAMES))
    # one row per name with nicknames, its short forms repeated to a common width
    width = max(len(v) for v in vocab.NICKNAMES.values())
    table = np.array([[v[k % len(v)] for k in range(width)] for v in vocab.NICKNAMES.values()], dtype=object)
    index = names.get_indexer(given)
    choice = rng.integers(0, width, len(given))
    found = index >= 0
    out = np.asarray(given, dtype=object).copy()
    out[found] = table[index[found], choice[found] % width]
    return out


def _phone(
    p: Persons, rows: np.ndarray, nsn: np.ndarray, national: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(written, key)``: the number as written (international or national) and its E.164 form."""
    code = pd.Series(p.country[rows]).map(vocab.COUNTRY_CODES).to_numpy(dtype=object)
    key = "+" + code + nsn
    text = nsn.astype(str).astype(object)
    # Chinese mobiles are dialled without the trunk 0; every other number here with one
    trunk = np.where(
        np.isin(p.country[rows], vocab.NO_TRUNK_PREFIX) & np.char.startswith(nsn.astype(str), "13"), "", "0"
    )
    written = np.where(national, trunk + text, "+" + code + " " + text)
    empty = nsn.astype(str) == ""
    return np.where(empty, None, written), np.where(empty, None, key)


class _Records:
    """All records of all channels in one layout, with what the ceiling and the trap labels need."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, channel: str, rows: np.ndarray, **columns: object) -> None:
        frame = pd.DataFrame({"person": rows, **{k: v for k, v in columns.items()}})
        frame.insert(0, "channel", channel)
        self.parts.append(frame)

    def frame(self) -> pd.DataFrame:
        out = pd.concat(self.parts, ignore_index=True)
        numbers = out.groupby("channel", sort=False).cumcount() + 1
        out.insert(1, "record_id", out["channel"].map(ID_PREFIX) + numbers.map("{:07d}".format))
        return out


def _names(
    rng: np.random.Generator,
    p: Persons,
    rows: np.ndarray,
    nickname_share: float,
    swap_share: float,
    typo_share: float,
    hanzi_share: float,
) -> dict[str, np.ndarray]:
    """First, last and full names as one channel writes them, with the variant each record carries."""
    n = len(rows)
    chinese = p.chinese[rows]
    given = _given_latin(p)[rows]
    family = _family_latin(p)[rows]
    nick = (~chinese) & (rng.random(n) < nickname_share) & np.isin(given, list(vocab.NICKNAMES))
    given = np.where(nick, _nickname(rng, given), given)
    hanzi = chinese & (rng.random(n) < hanzi_share)
    swapped = (~hanzi) & (rng.random(n) < swap_share)
    typo = (~hanzi) & (rng.random(n) < typo_share)
    typo_given = typo & (rng.random(n) < 0.5)
    given = np.where(typo_given, _typo(rng, given), given)
    family = np.where(typo & ~typo_given, _typo(rng, family), family)
    first = np.where(swapped, family, given)
    last = np.where(swapped, given, family)
    full = np.where(hanzi, _hanzi(p, rows), first + " " + last)
    return {
        "first_name": np.where(hanzi, None, first),
        "last_name": np.where(hanzi, None, last),
        "full_name": full,
        "nickname": nick,
        "hanzi": hanzi,
        "swapped": swapped,
        "name_typo": typo,
    }


def _timestamps(rng: np.random.Generator, n: int, as_of: date) -> np.ndarray:
    start = np.datetime64(datetime.combine(as_of - timedelta(days=WINDOW_DAYS), time(8, 0)), "s")
    return start + rng.integers(0, (WINDOW_DAYS - 1) * 86400, n).astype("timedelta64[s]")


def build_records(rng: np.random.Generator, p: Persons, as_of: date) -> pd.DataFrame:
    records = _Records()
    everyone = np.arange(p.n)
    household = p.household >= 0
    role = p.role_group >= 0

    # CRM: one contact for 90% of persons (every member of a trap group has one)
    crm = everyone[(rng.random(p.n) < 0.9) | household | role | (p.namesake >= 0)]
    names = _names(rng, p, crm, 0.0, 0.0, 0.0, 0.7)
    nsn = np.where(household[crm], p.landline_nsn[crm], p.mobile_nsn[crm])
    written, key = _phone(p, crm, nsn, np.zeros(len(crm), dtype=bool))
    records.add(
        "crm_contacts",
        crm,
        at=_timestamps(rng, len(crm), as_of),
        email=p.email[crm],
        phone=written,
        phone_key=key,
        account=p.account[crm],
        loyalty=p.loyalty[crm],
        birth=p.birth[crm],
        **names,
    )

    # web orders: persons with an account or an e-mail, about 1.4 orders each
    web = np.repeat(everyone, rng.poisson(1.4, p.n))
    names = _names(rng, p, web, 0.4, 0.12, 0.07, 0.0)
    email = np.where(role[web] & (rng.random(len(web)) < 0.7), p.role_email[web], p.email[web])
    typo = (email != p.role_email[web]) & (rng.random(len(web)) < 0.06)
    email = np.where(typo, _typo(rng, email), email)
    national = rng.random(len(web)) < 0.5
    has_phone = rng.random(len(web)) < 0.6
    written, key = _phone(p, web, np.where(has_phone, p.mobile_nsn[web], ""), national)
    records.add(
        "web_orders",
        web,
        at=_timestamps(rng, len(web), as_of),
        email=email,
        email_typo=typo,
        phone=written,
        phone_key=key,
        phone_national=national & has_phone,
        account=p.account[web],
        **names,
    )

    # till transactions: the loyalty card, else an e-mail or a phone for the receipt (written nationally)
    pos = np.repeat(everyone, rng.poisson(1.0, p.n))
    card = (p.loyalty[pos] != "") & (rng.random(len(pos)) < 0.8)
    by_mail = (~card) & (rng.random(len(pos)) < 0.5)
    nsn = np.where(household[pos], p.landline_nsn[pos], p.mobile_nsn[pos])
    written, key = _phone(p, pos, np.where(card | by_mail, "", nsn), np.ones(len(pos), dtype=bool))
    records.add(
        "pos_transactions",
        pos,
        at=_timestamps(rng, len(pos), as_of),
        email=np.where(by_mail, p.email[pos], None),
        phone=written,
        phone_key=key,
        phone_national=~(card | by_mail),
        loyalty=np.where(card, p.loyalty[pos], ""),
    )

    # service tickets: a name as the agent typed it, an e-mail (the role mailbox for colleagues), a phone
    tickets = everyone[rng.random(p.n) < 0.45]
    names = _names(rng, p, tickets, 0.3, 0.3, 0.07, 0.3)
    email = np.where(
        role[tickets] & (rng.random(len(tickets)) < 0.7), p.role_email[tickets], p.email[tickets]
    )
    typo = (email != p.role_email[tickets]) & (rng.random(len(tickets)) < 0.06)
    email = np.where(typo, _typo(rng, email), email)
    has_phone = rng.random(len(tickets)) < 0.6
    nsn = np.where(household[tickets], p.landline_nsn[tickets], p.mobile_nsn[tickets])
    written, key = _phone(p, tickets, np.where(has_phone, nsn, ""), np.ones(len(tickets), dtype=bool))
    records.add(
        "support_tickets",
        tickets,
        at=_timestamps(rng, len(tickets), as_of),
        email=email,
        email_typo=typo,
        phone=written,
        phone_key=key,
        phone_national=has_phone,
        account=np.where(rng.random(len(tickets)) < 0.4, p.account[tickets], ""),
        **names,
    )

    # marketing events: the address the newsletter went to, the account for logged-in clicks
    marketing = np.repeat(everyone, rng.poisson(1.2, p.n))
    records.add(
        "marketing_events",
        marketing,
        at=_timestamps(rng, len(marketing), as_of),
        email=p.email[marketing],
        account=np.where(rng.random(len(marketing)) < 0.3, p.account[marketing], ""),
    )

    # surveys: an e-mail typed by the respondent (sometimes wrong), the account when logged in
    surveys = everyone[rng.random(p.n) < 0.35]
    typo = rng.random(len(surveys)) < 0.05
    records.add(
        "surveys",
        surveys,
        at=_timestamps(rng, len(surveys), as_of),
        email=np.where(typo, _typo(rng, p.email[surveys]), p.email[surveys]),
        email_typo=typo,
        account=np.where(rng.random(len(surveys)) < 0.4, p.account[surveys], ""),
    )
    out = records.frame()
    for flag in ("email_typo", "phone_national", "nickname", "hanzi", "swapped", "name_typo"):
        out[flag] = out[flag].fillna(False).astype(bool) if flag in out else False
    for column in ("account", "loyalty"):
        out[column] = out[column].replace("", None)
    # a record the pipeline can identify carries an account, a card, an e-mail or a phone
    identified = out[["account", "loyalty", "email", "phone"]].notna().any(axis=1)
    return out[identified].reset_index(drop=True)


def _iso(values: pd.Series, offset: str = "") -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m-%dT%H:%M:%S") + offset


def channel_frames(records: pd.DataFrame, p: Persons, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Each channel's landing rows (contract column names) from the records of ``build_records``."""
    frames: dict[str, pd.DataFrame] = {}
    by_channel = {name: part.reset_index(drop=True) for name, part in records.groupby("channel", sort=False)}
    r = by_channel["crm_contacts"]
    who = r["person"].to_numpy()
    frames["crm_contacts"] = pd.DataFrame(
        {
            "contact_id": r["record_id"],
            "updated_at": _iso(r["at"]),
            "account_id": r["account"],
            "loyalty_id": r["loyalty"],
            "first_name": r["first_name"],
            "last_name": r["last_name"],
            "full_name": r["full_name"].where(r["first_name"].isna()),
            "email": r["email"],
            "phone": r["phone"],
            "birth_date": pd.Series(p.birth[who]).astype(str),
            "street": p.street[who],
            "postal_code": p.postal[who],
            "city": p.city[who],
            "country": p.country[who],
        }
    )
    r = by_channel["web_orders"]
    who = r["person"].to_numpy()
    frames["web_orders"] = pd.DataFrame(
        {
            "order_id": r["record_id"],
            "ordered_at": _iso(r["at"], "+00:00"),
            "status": "completed",
            "currency": "EUR",
            "customer.account_id": r["account"],
            "customer.email": r["email"],
            "customer.phone": r["phone"],
            "customer.first_name": r["first_name"],
            "customer.last_name": r["last_name"],
            "shipping.street": p.street[who],
            "shipping.postal_code": p.postal[who],
            "shipping.city": p.city[who],
            "shipping.country": p.country[who],
            "line_number": 1,
            "sku": "SKU-" + pd.Series(rng.integers(100, 999, len(r))).astype(str),
            "quantity": 1,
            "unit_price": pd.Series(rng.integers(500, 20000, len(r)) / 100).map("{:.2f}".format),
        }
    )
    r = by_channel["pos_transactions"]
    frames["pos_transactions"] = pd.DataFrame(
        {
            "transaction_id": r["record_id"],
            "line_number": 1,
            "store_id": "S" + pd.Series(rng.integers(1, 30, len(r))).astype(str),
            "transacted_at": _iso(r["at"]),
            "transaction_type": "sale",
            "sku": "SKU-" + pd.Series(rng.integers(100, 999, len(r))).astype(str),
            "quantity": 1,
            "unit_price": pd.Series(rng.integers(100, 9000, len(r)) / 100).map("{:.2f}".format),
            "loyalty_id": r["loyalty"],
            "customer_email": r["email"],
            "customer_phone": r["phone"],
            "payment_method": "card",
        }
    )
    r = by_channel["support_tickets"]
    frames["support_tickets"] = pd.DataFrame(
        {
            "ticket_id": r["record_id"],
            "updated_at": _iso(r["at"]),
            "opened_at": _iso(r["at"]),
            "channel": np.where(r["phone"].notna(), "phone", "email"),
            "category": "delivery",
            "is_complaint": "false",
            "status": "open",
            "account_id": r["account"],
            "customer_email": r["email"],
            "customer_phone": r["phone"],
            "customer_name": r["full_name"],
        }
    )
    r = by_channel["marketing_events"]
    frames["marketing_events"] = pd.DataFrame(
        {
            "event_id": r["record_id"],
            "event_at": _iso(r["at"]),
            "event_type": np.where(rng.random(len(r)) < 0.5, "open", "click"),
            "channel": "email",
            "campaign_id": "CMP-" + pd.Series(rng.integers(1, 12, len(r))).astype(str),
            "account_id": r["account"],
            "email": r["email"],
        }
    )
    r = by_channel["surveys"]
    frames["surveys"] = pd.DataFrame(
        {
            "response_id": r["record_id"],
            "submitted_at": _iso(r["at"]),
            "survey_type": "csat",
            "touchpoint": "web",
            "account_id": r["account"],
            "email": r["email"],
            "csat_score": rng.integers(1, 6, len(r)).astype(str),
        }
    )
    return frames


def evidence_keys(records: pd.DataFrame, p: Persons) -> pd.DataFrame:
    """``record, key``: the identifiers and the name (any faithful written form) each record carries."""
    who = records["person"].to_numpy()
    canonical = pd.Series(
        np.where(p.chinese[who], "zh", "w") + p.given[who].astype(str) + "|" + p.family[who].astype(str)
    )
    named = records["full_name"].notna() & ~records["name_typo"]
    parts = [
        "email:" + records["email"].str.lower(),
        "phone:" + records["phone_key"],
        "account:" + records["account"],
        "loyalty:" + records["loyalty"],
        ("name:" + canonical).where(named),
    ]
    keys = pd.concat(
        [pd.DataFrame({"record": records["channel"] + "/" + records["record_id"], "key": k}) for k in parts],
        ignore_index=True,
    )
    return keys.dropna(subset=["key"])


def trap_labels(records: pd.DataFrame, p: Persons) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(trap groups, trap pairs)``: who must stay apart, and every labelled pair."""
    who = records["person"].to_numpy()
    groups = []
    for trap, column in (
        ("household", p.household),
        ("role_mailbox", p.role_group),
        ("namesake", p.namesake),
    ):
        members = np.flatnonzero(column >= 0)
        groups.append(
            pd.DataFrame(
                {
                    "trap_class": trap,
                    "group_id": [f"{trap}-{g}" for g in column[members]],
                    "person_id": p.person_id[members],
                }
            )
        )
    trap_groups = pd.concat(groups, ignore_index=True)

    crm = records[records["channel"] == "crm_contacts"].drop_duplicates("person").set_index("person")
    pairs = []
    # records of one person written differently from the person's CRM contact
    crm_hanzi = crm["hanzi"].reindex(who).to_numpy()
    named = records["full_name"].notna().to_numpy()
    foreign = p.country[who] != "NL"
    flags = {
        "nickname": records["nickname"].to_numpy(),
        "chinese_script": p.chinese[who] & named & (records["hanzi"].to_numpy() != crm_hanzi),
        "swapped_order": records["swapped"].to_numpy(),
        "email_typo": records["email_typo"].to_numpy(),
        "name_typo": records["name_typo"].to_numpy(),
        "foreign_phone_without_country": records["phone_national"].to_numpy()
        & foreign
        & records["phone"].notna().to_numpy(),
    }
    has_crm = np.isin(who, crm.index.to_numpy()) & (records["channel"] != "crm_contacts").to_numpy()
    for trap, flag in flags.items():
        rows = records[flag & has_crm]
        ref = crm.loc[rows["person"].to_numpy()]
        pairs.append(
            pd.DataFrame(
                {
                    "trap_class": trap,
                    "group_id": trap + "-" + p.person_id[rows["person"].to_numpy()],
                    "source_channel_l": "crm_contacts",
                    "source_record_id_l": ref["record_id"].to_numpy(),
                    "source_channel_r": rows["channel"].to_numpy(),
                    "source_record_id_r": rows["record_id"].to_numpy(),
                    "same_person": True,
                }
            )
        )
    # records of different persons of one group that share the trap's identifier or name
    role_records = records[records["email"].isin(p.role_email[p.role_group >= 0])].drop_duplicates("person")
    sources = {
        "household": (crm.reset_index(), p.household),
        "namesake": (crm.reset_index(), p.namesake),
        "role_mailbox": (role_records, p.role_group),
    }
    for trap, (recs, column) in sources.items():
        recs = recs.assign(group=column[recs["person"].to_numpy()])
        recs = recs[recs["group"] >= 0]
        joined = recs.merge(recs, on="group", suffixes=("_l", "_r"))
        joined = joined[joined["person_l"] < joined["person_r"]]
        pairs.append(
            pd.DataFrame(
                {
                    "trap_class": trap,
                    "group_id": trap + "-" + joined["group"].astype(str),
                    "source_channel_l": joined["channel_l"],
                    "source_record_id_l": joined["record_id_l"],
                    "source_channel_r": joined["channel_r"],
                    "source_record_id_r": joined["record_id_r"],
                    "same_person": False,
                }
            )
        )
    return trap_groups, pd.concat(pairs, ignore_index=True)


def generate(persons: int, seed: int, as_of: date) -> tuple[Persons, pd.DataFrame, dict[str, pd.DataFrame]]:
    """``(persons, records, channel frames)`` for ``persons`` persons; deterministic in ``seed``."""
    if persons < 10:
        raise ValueError(f"the adversarial set needs at least 10 persons to plant its traps, got {persons}")
    p = build_persons(np.random.default_rng([seed, 1]), persons)
    records = build_records(np.random.default_rng([seed, 2]), p, as_of)
    return p, records, channel_frames(records, p, np.random.default_rng([seed, 3]))


def build_adversarial_set(
    home: Path, as_of: date, persons: int = DEFAULT_PERSONS, seed: int = DEFAULT_SEED
) -> EvalSet:
    """Write the adversarial set under ``home``: landing files, truth, trap labels and the ceiling."""
    p, records, frames = generate(persons, seed, as_of)
    eval_set = EvalSet(
        name="adversarial",
        home=home,
        as_of_date=as_of,
        description=f"adversarial multi-channel generator ({persons:,} persons, seed {seed})",
    )
    for channel, frame in frames.items():
        write_landing(frame, channel, eval_set.landing_root, as_of, f"{channel}_adversarial")
    truth = pd.DataFrame(
        {
            "source_channel": records["channel"],
            "source_record_id": records["record_id"],
            "person_id": p.person_id[records["person"].to_numpy()],
        }
    )
    trap_groups, trap_pairs = trap_labels(records, p)
    eval_set.ceiling_recall = ceiling_recall(
        pd.DataFrame(
            {"record": records["channel"] + "/" + records["record_id"], "person": records["person"]}
        ),
        evidence_keys(records, p),
    )
    eval_set.notes = {
        "seed": seed,
        "records_by_channel": records["channel"].value_counts().sort_index().to_dict(),
        "trap_groups": trap_groups.groupby("trap_class")["group_id"].nunique().to_dict(),
        "trap_pairs": trap_pairs.groupby("trap_class").size().to_dict(),
    }
    write_truth(eval_set, truth, trap_groups, trap_pairs)
    return eval_set
