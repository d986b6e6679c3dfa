"""The region a phone number without a country code is read in.

A number written with ``+`` or ``00`` carries its country. Any other number is read in the first region known,
in this order:

1. the record's own country (``country_code``: a CRM contact, a web order's shipping country, a POS
   transaction's store);
2. the country of the person's other records: the most frequent country among the records sharing the
   record's account id, loyalty id or email (for a POS receipt with a loyalty card, the card holder's CRM
   contact); else the country of the one number on file, written with its country (or on a record that has
   one), whose national number these digits are (``0474 80 97 66`` at the till, ``+32 474 80 97 66`` in the
   CRM: the receipt is read as Belgian). Two such numbers in different countries tell nothing;
3. the channel's ``phone_region`` in ``config/channels.yml``;
4. ``settings.default_phone_region``.

Rows are normalised once, when first seen, with 1, 3 and 4 (``records.prepare_records``); at resolution the
rows whose region from 2 differs are normalised again with it (``apply_person_regions``). A number that is
valid in no region it was read in is kept as its digits, prefixed ``#``, in ``phone_key``: two records with
the same digits still match exactly, nothing else (no suffix or fuzzy level treats it as a number).

Incremental runs: step 2 looks only at records sharing an account id, loyalty id or email, or the last 8
digits of the phone, and every holder of a key a changed row holds, and of the same last 8 digits, is
resolved again (``identity.incremental``), so a record's region is the same as in a run over every record.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360.identity.blocklist import Blocklist
from customer360.identity.normalize_phone import normalize_phones
from customer360.settings import Settings

UNPARSED_PREFIX = "#"
MIN_UNPARSED_DIGITS = 6
# identity's channel names (dbt) -> landing contract names (channels.yml)
CONTRACT_CHANNELS = {
    "crm": "crm_contacts",
    "web": "web_orders",
    "pos": "pos_transactions",
    "tickets": "support_tickets",
    "marketing": "marketing_events",
    "surveys": "surveys",
}


@lru_cache(maxsize=8)
def _channel_regions_cached(path: str, mtime: float) -> tuple[tuple[str, str], ...]:
    from customer360.landing.mapping import load_channel_configs
    from customer360.settings import Settings

    configs = load_channel_configs(Settings(channels_file=Path(path)))
    return tuple((name, c.phone_region) for name, c in configs.items() if c.phone_region)


def channel_regions(settings: Settings) -> dict[str, str]:
    """``phone_region`` per channel from ``settings.channels_file``, under both channel spellings."""
    path = settings.channels_file
    if path is None or not path.exists():
        return {}
    regions = dict(_channel_regions_cached(str(path), path.stat().st_mtime))
    for short, contract in CONTRACT_CHANNELS.items():
        if contract in regions:
            regions[short] = regions[contract]
    return regions


def row_regions(channels: pa.Array, countries: pa.Array, regions: dict[str, str]) -> pa.Array:
    """Per row: its own country, else its channel's ``phone_region`` (null when neither: the default)."""
    if not regions:
        return countries
    names = pa.array(sorted(regions), pa.string())
    position = pc.index_in(channels, value_set=names)
    channel_region = pa.array([regions[n] for n in names.to_pylist()], pa.string()).take(position)
    return pc.coalesce(countries, channel_region)


def apply_person_regions(
    records: pa.Table,
    settings: Settings,
    blocklist: Blocklist,
    channel_region: dict[str, str],
    numbers_on_file: pa.Array | None = None,
) -> pa.Table:
    """Re-read the phones of rows without a country in the country of the person's other records, and keep a
    number no region parses as ``#<digits>`` for exact matching. ``numbers_on_file``: the E.164 numbers of
    known country of the whole input, when ``records`` is only part of it (an incremental run)."""
    country = pc.utf8_upper(records.column("country_code").combine_chunks())
    inferred = pc.coalesce(
        _key_group_countries(records, country), _same_number_countries(records, country, numbers_on_file)
    )
    own = pc.is_valid(country)
    national = pc.invert(pc.fill_null(records.column("phone_international").combine_chunks(), False))
    phone_rows = pc.and_(
        pc.and_(pc.invert(own), national), pc.is_valid(records.column("phone_digits").combine_chunks())
    )
    region_used = row_regions(records.column("source_channel").combine_chunks(), country, channel_region)
    region_used = pc.fill_null(region_used, settings.default_phone_region.upper())
    changed = pc.fill_null(pc.and_(phone_rows, pc.not_equal(inferred, region_used)), False)
    positions = pc.indices_nonzero(changed)
    columns = {name: records.column(name).combine_chunks() for name in records.column_names}
    if len(positions):
        phones = normalize_phones(
            records.column("phone_digits").take(positions),
            inferred.take(positions),
            settings.default_phone_region,
            blocklist,
        )
        parsed = pc.is_valid(phones.column("phone_e164"))
        target = np.flatnonzero(changed.to_numpy(zero_copy_only=False))
        keep = parsed.to_numpy(zero_copy_only=False)
        for name, source in (("phone_e164", "phone_e164"), ("phone_is_valid", "phone_is_valid")):
            columns[name] = _scatter(columns[name], target[keep], phones.column(source).filter(parsed))
        key = pc.if_else(
            phones.column("phone_is_matchable"), phones.column("phone_e164"), pa.scalar(None, pa.string())
        )
        columns["phone_key"] = _scatter(columns["phone_key"], target[keep], key.filter(parsed))
    digits = columns["phone_digits"]
    long_enough = pc.fill_null(pc.greater_equal(pc.utf8_length(digits), MIN_UNPARSED_DIGITS), False)
    unparsed = pc.and_(
        pc.and_(pc.is_null(columns["phone_e164"]), long_enough),
        pc.invert(pc.fill_null(columns["phone_is_placeholder"], False)),
    )
    columns["phone_key"] = pc.if_else(
        unparsed, pc.binary_join_element_wise(pa.scalar(UNPARSED_PREFIX), digits, ""), columns["phone_key"]
    )
    return pa.table(columns)


def _scatter(column: pa.Array, positions: np.ndarray, values: pa.Array) -> pa.Array:
    if len(positions) == 0:
        return column
    mask = np.zeros(len(column), dtype=bool)
    mask[positions] = True
    # values in row order of ``positions`` (ascending): replace_with_mask fills masked slots in order
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.replace_with_mask(column, pa.array(mask), values.cast(column.type))


# National numbers this short are too often someone else's in another country.
MIN_NATIONAL_DIGITS = 8


def _same_number_countries(
    records: pa.Table, country: pa.Array, numbers_on_file: pa.Array | None = None
) -> pa.Array:
    """Per row with a phone written without its country: the region of the only number on file whose national
    significant number the row's digits are (as written, or without one trunk ``0``), among the numbers whose
    country is known (written with ``+``/``00``, or on a record with a country); null when none or several.
    ``numbers_on_file`` adds such numbers of rows outside ``records``: a record of an incremental run's scope
    reads its phone against every number of the input, as a full run does."""
    import duckdb
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

    codes = pa.table(
        {
            "cc": pa.array([str(c) for c in COUNTRY_CODE_TO_REGION_CODE], pa.string()),
            "region": pa.array([r[0] for r in COUNTRY_CODE_TO_REGION_CODE.values()], pa.string()),
        }
    )
    table = pa.table(
        {
            "row": pa.array(np.arange(records.num_rows, dtype=np.int64)),
            "known": pc.or_(
                pc.fill_null(records.column("phone_international").combine_chunks(), False),
                pc.is_valid(country),
            ),
            "e164": records.column("phone_e164").combine_chunks(),
            "digits": records.column("phone_digits").combine_chunks(),
        }
    )
    con = duckdb.connect()
    try:
        con.register("phone_rows", table)
        con.register("country_codes", codes)
        others = numbers_on_file if numbers_on_file is not None else pa.array([], pa.string())
        con.register("numbers_elsewhere", pa.table({"e164": others}))
        return (
            con.sql(
                f"""with
                numbers as (
                    select e164 from phone_rows where known and e164 is not null
                    union select e164 from numbers_elsewhere where e164 is not null
                ),
                on_file as (
                    -- country codes (1 to 3 digits) are prefix-free: one split starts with a valid code
                    select distinct n.e164, c.region, substr(n.e164, 2 + length(c.cc)) as nsn
                    from (
                        select e164, substr(e164, 2, 1) as cc from numbers
                        union all select e164, substr(e164, 2, 2) from numbers
                        union all select e164, substr(e164, 2, 3) from numbers
                    ) as n
                    join country_codes as c using (cc)
                ),
                national as (
                    select row, digits as nsn from phone_rows where not known and digits is not null
                    union
                    select row, substr(digits, 2) from phone_rows
                    where not known and starts_with(digits, '0') and not starts_with(digits, '00')
                ),
                matched as (
                    select n.row, min(f.region) as region, count(distinct f.e164) as numbers
                    from national as n join on_file as f using (nsn)
                    where length(n.nsn) >= {MIN_NATIONAL_DIGITS}
                    group by n.row
                )
                select case when m.numbers = 1 then m.region end as region
                from phone_rows as r left join matched as m using (row)
                order by r.row"""
            )
            .to_arrow_table()
            .column("region")
            .combine_chunks()
        )
    finally:
        con.close()


def _key_group_countries(records: pa.Table, country: pa.Array) -> pa.Array:
    """Per row: the most frequent country among rows sharing its account id, loyalty id or email (in that
    order of preference; ties: the alphabetically first), null when none has one."""
    import duckdb

    table = pa.table(
        {
            "row": pa.array(np.arange(records.num_rows, dtype=np.int64)),
            "country": country,
            "account_key": records.column("account_key"),
            "loyalty_key": records.column("loyalty_key"),
            "email_key": records.column("email_key"),
        }
    )
    con = duckdb.connect()
    con.register("rows", table)
    parts = []
    for key in ("account_key", "loyalty_key", "email_key"):
        parts.append(
            f"""(select r.row, g.country as c_{key} from rows as r join (
                select {key}, arg_max(country, n) as country from (
                    select {key}, country,
                        count(*) * 1000000 - rank() over (partition by {key} order by country) as n
                    from rows where {key} is not null and country is not null group by {key}, country)
                group by {key}) as g using ({key})) as g_{key}"""
        )
    sql = (
        "select rows.row, coalesce(c_account_key, c_loyalty_key, c_email_key) as country from rows "
        + " ".join(f"left join {p} using (row)" for p in parts)
        + " order by rows.row"
    )
    result = con.sql(sql).to_arrow_table().column("country").combine_chunks()
    con.close()
    return result
