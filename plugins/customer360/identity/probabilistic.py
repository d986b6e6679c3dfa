"""Probabilistic edges for records the deterministic rules leave in different clusters.

Blocking (who is compared): two records are compared only when they share a block key and belong to
different clusters after the deterministic pass. Keys:

=================  ==========================================================================
``bd_surname``     birth date + first letter of the surname
``bd_given``       birth date + first letter of the given name (catches swapped name order)
``postal_name``    postal code + each name token of two or more letters (households, moves within a street)
``phone_suffix``   the last 6 digits of the phone as written (numbers that failed to parse in one record)
``email_local``    the email's local part without dots and +tags (domain typos: ``gmial.com``)
=================  ==========================================================================

A block larger than ``max_block_size`` records is skipped (and counted): it is a common value (a popular
surname in a large postal area), and comparing it would cost quadratic time for little evidence. The cost is
therefore bounded by ``records * keys * max_block_size``.

Scoring (Fellegi-Sunter): each comparison falls in one level; a level adds ``log2(m / u)`` where ``m`` is the
probability of that level for two records of the same person and ``u`` for two different persons. The total
plus the prior log-odds gives the match probability ``1 / (1 + 2 ** -(prior + sum))``; an edge is made when it
reaches ``settings.match_threshold``. A comparison with a value missing on either side adds nothing. Two
different birth dates are a veto: such records are never linked probabilistically.

The m/u values below are set by hand from the generator's error rates and checked against its ground truth
(``customer360 evaluate identity``); :data:`LEVELS` is the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360.identity.edges import PROBABILISTIC_RULE, EdgeSet

DEFAULT_MAX_BLOCK_SIZE = 40
SCORE_BATCH_PAIRS = 1_000_000  # candidate pairs scored at a time
PRIOR_LOG2_ODDS = -8.0

NAME_CLOSE_SIMILARITY = 0.92  # Jaro-Winkler on the folded name (either token order)
GIVEN_NAME_SIMILARITY = 0.85  # Jaro-Winkler on the given name
SURNAME_SIMILARITY = 0.92
STREET_SIMILARITY = 85.0  # rapidfuzz token_set_ratio (0-100)
EMAIL_DOMAIN_TYPO_MAX_EDITS = 1  # Damerau-Levenshtein: one swapped, missing, extra or wrong character
EMAIL_DOMAIN_TYPO_MIN_LOCAL_LENGTH = 5  # short local parts ("jli") are shared by too many people
# Real mail domains one edit apart ("mail.com" / "gmail.com") are different mailboxes, not a typo.
KNOWN_EMAIL_DOMAINS = frozenset(
    "gmail.com googlemail.com mail.com gmx.com gmx.de gmx.net gmx.at web.de hotmail.com hotmail.nl "
    "hotmail.de hotmail.fr hotmail.be hotmail.co.uk outlook.com outlook.de outlook.fr live.com live.nl "
    "live.de live.fr live.be live.co.uk msn.com yahoo.com yahoo.de yahoo.fr yahoo.co.uk ymail.com icloud.com "
    "me.com aol.com proton.me protonmail.com ziggo.nl kpnmail.nl kpnplanet.nl planet.nl home.nl xs4all.nl "
    "telenet.be skynet.be orange.fr free.fr laposte.net t-online.de freenet.de qq.com 163.com 126.com "
    "foxmail.com sina.com "
    "btinternet.com sky.com".split()
)
EMAIL_LOCAL_TYPO_SIMILARITY = 0.93
EMAIL_LOCAL_TYPO_MIN_LENGTH = 6
PHONE_SUFFIX_DIGITS = 8
PHONE_BLOCK_DIGITS = 6


@dataclass(frozen=True)
class Level:
    m: float
    u: float

    @property
    def weight(self) -> float:
        return math.log2(self.m / self.u)


# comparison -> level -> (m, u). Weights: name exact +9, close +6, surname only -2, different -6; birth date
# equal +9; address street+postal +8, postal +5, city +1, different -3; email equal or domain typo +12, same
# local part +1.5, local typo +5, different -1; phone equal +12, same last 8 digits +10, different -1.
LEVELS: dict[str, dict[str, Level]] = {
    "name": {
        "exact": Level(0.80, 0.0016),
        "close": Level(0.15, 0.0023),
        "surname_only": Level(0.04, 0.16),
        "different": Level(0.01, 0.64),
    },
    "birth_date": {"equal": Level(0.98, 0.002)},
    "address": {
        "street_postal": Level(0.60, 0.0023),
        "postal": Level(0.15, 0.0047),
        "city": Level(0.15, 0.075),
        "different": Level(0.10, 0.80),
    },
    "email": {
        "equal": Level(0.50, 0.00012),
        "domain_typo": Level(0.02, 0.0000049),
        "local_equal": Level(0.08, 0.028),
        "local_typo": Level(0.03, 0.00094),
        "different": Level(0.40, 0.80),
    },
    "phone": {
        "equal": Level(0.50, 0.00012),
        "suffix": Level(0.05, 0.000049),
        "different": Level(0.40, 0.80),
    },
}

# Part of the identity rule-set hash.
PROBABILISTIC_RULES_VERSION = "prob-v2"


def scoring_fingerprint() -> dict[str, object]:
    """Everything that decides a probabilistic match, for the rule-set hash."""
    return {
        "version": PROBABILISTIC_RULES_VERSION,
        "prior": PRIOR_LOG2_ODDS,
        "levels": {c: {n: [lv.m, lv.u] for n, lv in levels.items()} for c, levels in LEVELS.items()},
        "thresholds": [
            NAME_CLOSE_SIMILARITY,
            GIVEN_NAME_SIMILARITY,
            SURNAME_SIMILARITY,
            STREET_SIMILARITY,
            EMAIL_DOMAIN_TYPO_MAX_EDITS,
            EMAIL_DOMAIN_TYPO_MIN_LOCAL_LENGTH,
            sorted(KNOWN_EMAIL_DOMAINS),
            EMAIL_LOCAL_TYPO_SIMILARITY,
            EMAIL_LOCAL_TYPO_MIN_LENGTH,
            PHONE_SUFFIX_DIGITS,
            PHONE_BLOCK_DIGITS,
        ],
    }


@dataclass
class BlockingStats:
    blocks: int = 0
    blocks_skipped: int = 0
    records_in_skipped_blocks: int = 0
    candidate_pairs: int = 0
    skipped_by_key: dict[str, int] = field(default_factory=dict)


def block_keys_sql(relation: str, carry: tuple[str, ...] = ("idx",)) -> str:
    """``select <carry>, blocking, block_key`` for every block key of every row of ``relation``.

    ``relation`` has the normalised record columns (``records.prepare_records``); the email's local part
    (without dots and +tags) is derived here, so the same SQL serves one run's records and the identity
    stage's row cache (``identity.incremental``)."""
    cols = ", ".join(carry)
    return f"""
with
rec as (
    select *, replace(regexp_extract(email_key, '^([^+@]*)', 1), '.', '') as email_local
    from {relation}
)
select {cols}, 'bd_surname' as blocking, birth_date::varchar || '|' || left(surname, 1) as block_key
from rec where birth_date is not null and name_is_matchable and surname is not null
union all
select {cols}, 'bd_given', birth_date::varchar || '|' || left(given_name, 1)
from rec where birth_date is not null and name_is_matchable and given_name is not null
union all
select distinct {cols}, 'postal_name', postal_key || '|' || token
from (
    select {cols}, postal_key, unnest(string_split(name_sorted, ' ')) as token
    from rec where postal_key is not null and name_is_matchable
)
where length(token) >= 2 or regexp_matches(token, '\\p{{Han}}')
union all
select {cols}, 'phone_suffix', right(phone_digits, {PHONE_BLOCK_DIGITS})
from rec where length(phone_digits) >= {PHONE_BLOCK_DIGITS} and not phone_is_placeholder
union all
select {cols}, 'email_local', email_local
from rec where email_local is not null and length(email_local) >= 3
"""


# Block sizes count the rows of the whole input: over this run's records, or (``block_sizes``) over the
# identity stage's row cache when only part of the records is resolved.
BLOCK_SIZES_SQL = "select blocking, block_key, count(*) as block_size from prob_key_rows group by all"

BLOCK_STATS_SQL = """
select blocking, count(distinct block_key) as blocks,
    count(distinct block_key) filter (where block_size > $max_block_size) as skipped,
    count(*) filter (where block_size > $max_block_size) as skipped_records
from prob_keys group by all order by blocking
"""

CANDIDATE_PAIRS_SQL = """
with
kept as (select idx, blocking, block_key from prob_keys where block_size between 2 and $max_block_size),
pairs as (
    select distinct a.idx as left_idx, b.idx as right_idx
    from kept as a
    join kept as b on a.blocking = b.blocking and a.block_key = b.block_key and a.idx < b.idx
)
select pairs.left_idx, pairs.right_idx
from pairs
join prob_records as l on l.idx = pairs.left_idx
join prob_records as r on r.idx = pairs.right_idx
where l.label <> r.label
order by 1, 2
"""

_PROB_COLUMNS = (
    "name_sorted",
    "name_fold",
    "given_name",
    "surname",
    "name_script",
    "name_is_matchable",
    "birth_date",
    "postal_key",
    "street_fold",
    "city_fold",
    "email_key",
    "phone_key",
    "phone_digits",
    "phone_is_placeholder",
)


def probabilistic_edges(
    con: object,
    records: pa.Table,
    labels: np.ndarray,
    threshold: float,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    block_sizes: str | None = None,
) -> tuple[EdgeSet, BlockingStats]:
    """Score candidate pairs from blocking and return the pairs at or above ``threshold`` as edges.

    ``block_sizes``: a relation ``(blocking, block_key, block_size)`` counted over the whole input, when
    ``records`` is only part of it (an incremental run): a block is skipped by its size in the whole input,
    as a run over every record would skip it."""
    keyed = records.select(list(_PROB_COLUMNS))
    keyed = keyed.append_column("idx", pa.array(np.arange(records.num_rows, dtype=np.int64)))
    keyed = keyed.append_column("label", pa.array(labels.astype(np.int64)))
    # For scoring, the local part without dots and +tags, as block_keys_sql derives it for blocking.
    local = pc.struct_field(pc.extract_regex(keyed.column("email_key"), r"^(?P<l>[^+@]*)"), "l")
    table = keyed.append_column("email_local", pc.replace_substring(local, ".", ""))
    con.register("prob_records", keyed)
    params = {"max_block_size": max_block_size}
    try:
        con.execute(f"create or replace temp table prob_key_rows as {block_keys_sql('prob_records')}")
        sizes = block_sizes or f"({BLOCK_SIZES_SQL})"
        con.execute(
            f"""create or replace temp table prob_keys as
            select k.idx, k.blocking, k.block_key, s.block_size
            from prob_key_rows as k join {sizes} as s using (blocking, block_key)"""
        )
        stats = _blocking_stats(con.sql(_bind(BLOCK_STATS_SQL, params)).to_arrow_table().to_pylist())
        pairs = con.sql(_bind(CANDIDATE_PAIRS_SQL, params)).to_arrow_table()
    finally:
        con.execute("drop table if exists prob_keys")
        con.execute("drop table if exists prob_key_rows")
        con.unregister("prob_records")
    left = pairs.column("left_idx").to_numpy()
    right = pairs.column("right_idx").to_numpy()
    stats.candidate_pairs = len(left)
    # Scored in slices: each slice gathers both sides' columns, so memory follows the slice, not every pair.
    probability = np.concatenate(
        [np.empty(0)]
        + [
            score_pairs(
                table, left[start : start + SCORE_BATCH_PAIRS], right[start : start + SCORE_BATCH_PAIRS]
            )
            for start in range(0, len(left), SCORE_BATCH_PAIRS)
        ]
    )
    keep = probability >= threshold
    edges = EdgeSet(
        left=left[keep].astype(np.int64),
        right=right[keep].astype(np.int64),
        priority=np.full(int(keep.sum()), PROBABILISTIC_RULE.priority, dtype=np.int16),
        score=probability[keep],
        key=pa.array([f"p={p:.4f}" for p in probability[keep]], pa.string()),
    )
    return edges, stats


def _bind(sql: str, params: dict[str, int]) -> str:
    """Inline integer parameters (DuckDB cannot bind them inside ``create table as``)."""
    for name, value in params.items():
        sql = sql.replace(f"${name}", str(int(value)))
    return sql


def _blocking_stats(rows: list[dict[str, object]]) -> BlockingStats:
    stats = BlockingStats()
    for row in rows:
        stats.blocks += int(row["blocks"])
        stats.blocks_skipped += int(row["skipped"])
        stats.records_in_skipped_blocks += int(row["skipped_records"])
        stats.skipped_by_key[str(row["blocking"])] = int(row["skipped"])
    return stats


def score_pairs(table: pa.Table, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Match probability for each pair ``(left[i], right[i])`` of rows of ``table``."""
    if len(left) == 0:
        return np.empty(0)
    a = table.take(pa.array(left, pa.int64()))
    b = table.take(pa.array(right, pa.int64()))
    total = np.full(len(left), PRIOR_LOG2_ODDS)
    total += _weights("name", name_levels(a, b))
    total += _weights("address", address_levels(a, b))
    total += _weights("email", email_levels(a, b))
    total += _weights("phone", phone_levels(a, b))
    bd_a, bd_b = a.column("birth_date"), b.column("birth_date")
    both_bd = _np(pc.and_(pc.is_valid(bd_a), pc.is_valid(bd_b)))
    same_bd = _np(pc.fill_null(pc.equal(bd_a, bd_b), False))
    total += np.where(same_bd, LEVELS["birth_date"]["equal"].weight, 0.0)
    probability = 1.0 / (1.0 + np.exp2(-total))
    return np.where(both_bd & ~same_bd, 0.0, probability)


def _weights(comparison: str, levels: np.ndarray) -> np.ndarray:
    weights = np.zeros(len(levels))
    for name, level in LEVELS[comparison].items():
        weights[levels == name] = level.weight
    return weights


def name_levels(a: pa.Table, b: pa.Table) -> np.ndarray:
    """exact / close / surname_only / different, or '' when either name is missing or scripts differ."""
    from rapidfuzz.distance import JaroWinkler

    usable = _np(pc.and_(a.column("name_is_matchable"), b.column("name_is_matchable")))
    han_a = _np(pc.fill_null(pc.equal(a.column("name_script"), "han"), False))
    han_b = _np(pc.fill_null(pc.equal(b.column("name_script"), "han"), False))
    usable &= han_a == han_b
    exact = _eq(a.column("name_sorted"), b.column("name_sorted")) | _eq(
        _no_spaces(a.column("name_fold")), _no_spaces(b.column("name_fold"))
    )
    jw = JaroWinkler.normalized_similarity
    full = np.maximum(
        _sim(a.column("name_fold"), b.column("name_fold"), jw),
        _sim(a.column("name_sorted"), b.column("name_sorted"), jw),
    )
    given_a, given_b = a.column("given_name"), b.column("given_name")
    given_ok = (_sim(given_a, given_b, jw) >= GIVEN_NAME_SIMILARITY) | _initial_match(given_a, given_b)
    surname_close = _sim(a.column("surname"), b.column("surname"), jw) >= SURNAME_SIMILARITY
    close = (full >= NAME_CLOSE_SIMILARITY) & given_ok & ~han_a
    han_surname = _eq(a.column("surname"), b.column("surname"))
    surname_only = np.where(han_a, han_surname, surname_close)
    levels = np.select(
        [~usable, exact, close, surname_only], ["", "exact", "close", "surname_only"], default="different"
    )
    return levels


def address_levels(a: pa.Table, b: pa.Table) -> np.ndarray:
    from rapidfuzz import fuzz

    postal_a, postal_b = a.column("postal_key"), b.column("postal_key")
    both_postal = _np(pc.and_(pc.is_valid(postal_a), pc.is_valid(postal_b)))
    same_postal = _eq(postal_a, postal_b)
    street_a, street_b = a.column("street_fold"), b.column("street_fold")
    both_street = _np(pc.and_(pc.is_valid(street_a), pc.is_valid(street_b)))
    same_street = both_street & (_sim(street_a, street_b, fuzz.token_set_ratio) >= STREET_SIMILARITY)
    city_a, city_b = a.column("city_fold"), b.column("city_fold")
    both_city = _np(pc.and_(pc.is_valid(city_a), pc.is_valid(city_b)))
    same_city = _eq(city_a, city_b)
    return np.select(
        [
            both_postal & same_postal & same_street,
            both_postal & same_postal,
            both_postal,
            both_city & same_city,
            both_city,
        ],
        ["street_postal", "postal", "different", "city", "different"],
        default="",
    )


def email_levels(a: pa.Table, b: pa.Table) -> np.ndarray:
    from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

    email_a, email_b = a.column("email_key"), b.column("email_key")
    both = _np(pc.and_(pc.is_valid(email_a), pc.is_valid(email_b)))
    local_a, local_b = a.column("email_local"), b.column("email_local")
    domain_a = pc.struct_field(pc.extract_regex(email_a, r"@(?P<d>.*)$"), "d")
    domain_b = pc.struct_field(pc.extract_regex(email_b, r"@(?P<d>.*)$"), "d")
    jw = JaroWinkler.normalized_similarity
    same_local = _eq(local_a, local_b)
    known = pa.array(sorted(KNOWN_EMAIL_DOMAINS))
    both_known = _np(pc.and_(pc.is_in(domain_a, value_set=known), pc.is_in(domain_b, value_set=known)))
    edits = _sim(domain_a, domain_b, DamerauLevenshtein.distance, missing=np.inf)
    domain_typo = (
        same_local
        & ~both_known
        & (edits <= EMAIL_DOMAIN_TYPO_MAX_EDITS)
        & _min_length_at_least(local_a, local_b, EMAIL_DOMAIN_TYPO_MIN_LOCAL_LENGTH)
    )
    long_local = _np(
        pc.fill_null(
            pc.greater_equal(
                pc.min_element_wise(pc.utf8_length(local_a), pc.utf8_length(local_b)),
                EMAIL_LOCAL_TYPO_MIN_LENGTH,
            ),
            False,
        )
    )
    local_typo = (
        _eq(domain_a, domain_b) & long_local & (_sim(local_a, local_b, jw) >= EMAIL_LOCAL_TYPO_SIMILARITY)
    )
    return np.select(
        [~both, _eq(email_a, email_b), domain_typo, same_local, local_typo],
        ["", "equal", "domain_typo", "local_equal", "local_typo"],
        default="different",
    )


def phone_levels(a: pa.Table, b: pa.Table) -> np.ndarray:
    key_a, key_b = a.column("phone_key"), b.column("phone_key")
    both_valid = _np(pc.and_(pc.is_valid(key_a), pc.is_valid(key_b)))
    digits_a, digits_b = a.column("phone_digits"), b.column("phone_digits")
    placeholder = _np(pc.or_kleene(a.column("phone_is_placeholder"), b.column("phone_is_placeholder")))
    long_enough = _np(
        pc.fill_null(
            pc.greater_equal(
                pc.min_element_wise(pc.utf8_length(digits_a), pc.utf8_length(digits_b)), PHONE_SUFFIX_DIGITS
            ),
            False,
        )
    )
    suffix = (
        long_enough
        & ~placeholder
        & _eq(
            pc.utf8_slice_codeunits(digits_a, -PHONE_SUFFIX_DIGITS),
            pc.utf8_slice_codeunits(digits_b, -PHONE_SUFFIX_DIGITS),
        )
    )
    return np.select(
        [both_valid & _eq(key_a, key_b), suffix, both_valid], ["equal", "suffix", "different"], default=""
    )


def _np(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return np.asarray(values.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _eq(x: pa.Array, y: pa.Array) -> np.ndarray:
    return _np(pc.fill_null(pc.equal(x, y), False))


def _no_spaces(values: pa.Array) -> pa.Array:
    return pc.replace_substring(values, " ", "")


def _initial_match(x: pa.Array, y: pa.Array) -> np.ndarray:
    """One given name is a single initial that starts the other ('j' ~ 'jan')."""
    initial_x, initial_y = pc.utf8_slice_codeunits(x, 0, 1), pc.utf8_slice_codeunits(y, 0, 1)
    single = pc.or_kleene(pc.equal(pc.utf8_length(x), 1), pc.equal(pc.utf8_length(y), 1))
    return _np(pc.fill_null(pc.and_kleene(single, pc.equal(initial_x, initial_y)), False))


def _min_length_at_least(x: pa.Array, y: pa.Array, length: int) -> np.ndarray:
    shortest = pc.min_element_wise(pc.utf8_length(x), pc.utf8_length(y))
    return _np(pc.fill_null(pc.greater_equal(shortest, length), False))


def _sim(x: pa.Array, y: pa.Array, scorer: object, missing: float = 0.0) -> np.ndarray:
    """Pairwise similarity or distance (``missing`` where either side is missing)."""
    from rapidfuzz import process

    present = _np(pc.and_(pc.is_valid(x), pc.is_valid(y)))
    result = np.full(len(present), missing)
    if present.any():
        idx = pa.array(np.flatnonzero(present), pa.int64())
        result[present] = process.cpdist(
            _to_list(x, idx), _to_list(y, idx), scorer=scorer, workers=-1, dtype=np.float64
        )
    return result


def _to_list(values: pa.Array | pa.ChunkedArray, positions: pa.Array) -> list[str]:
    return values.take(positions).to_pylist()
