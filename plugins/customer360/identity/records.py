"""The identity stage's input: source records read from the warehouse and normalised once.

Rows are read from ``intermediate.int_contact_records_unioned`` and numbered in a fixed order
(``RECORD_ORDER``: earliest ``observed_at`` first, then channel, record id and the row's hash). Every later
step refers to a row by this number.
Match keys (``*_key``) are null where a value must not link records (invalid, role email, placeholder phone).

A source record may arrive as several rows (versions: a CRM contact whose email changed). All versions are
evidence (the old email still identifies the person in older marketing events); they are tied together by
the ``same_record`` rule, and the outputs hold one row per record, from its latest version.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360.identity.blocklist import Blocklist
from customer360.identity.normalize_email import normalize_emails
from customer360.identity.normalize_name import fold_text, normalize_names
from customer360.identity.normalize_phone import normalize_phones
from customer360.identity.phone_regions import row_regions

INPUT_TABLE = "intermediate.int_contact_records_unioned"
# Source record -> identity record: a contact signature stands for many source records (dbt builds it).
MEMBERS_TABLE = "intermediate.int_contact_record_members"
INPUT_COLUMNS = (
    "source_channel",
    "source_record_id",
    "observed_at",
    "account_id",
    "loyalty_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "full_name",
    "birth_date",
    "street",
    "postal_code",
    "city",
    "country_code",
)

# One row per input row, with a hash of everything identity reads from it (``row_hash``): a row whose hash is
# unchanged since the last run says nothing new (``identity.incremental``). ``read_select_sql`` gives the same
# select over another relation (the Spark target runs it on each batch of its input: customer360.spark).
READ_SELECT = f"""
select
    source_channel::varchar as source_channel,
    source_record_id::varchar as source_record_id,
    observed_at::timestamp as observed_at,
    nullif(trim(account_id::varchar), '') as account_key,
    nullif(upper(trim(loyalty_id::varchar)), '') as loyalty_key,
    email::varchar as email,
    phone::varchar as phone,
    first_name::varchar as first_name,
    last_name::varchar as last_name,
    full_name::varchar as full_name,
    try_cast(birth_date as date) as birth_date,
    street::varchar as street,
    nullif(regexp_replace(upper(postal_code::varchar), '[^0-9A-Z]', '', 'g'), '') as postal_key,
    city::varchar as city,
    nullif(upper(trim(country_code::varchar)), '') as country_code,
    md5(to_json([
        source_channel::varchar, source_record_id::varchar, observed_at::timestamp::varchar,
        account_id::varchar, loyalty_id::varchar, email::varchar, phone::varchar, first_name::varchar,
        last_name::varchar, full_name::varchar, birth_date::varchar, street::varchar,
        postal_code::varchar, city::varchar, country_code::varchar
    ])) as row_hash
from {INPUT_TABLE}
where source_channel is not null and source_record_id is not null
"""


def read_select_sql(relation: str) -> str:
    """``READ_SELECT`` over ``relation`` instead of the input table."""
    return READ_SELECT.replace(f"from {INPUT_TABLE}\n", f"from {relation}\n")


# Record order: every step numbers rows in this order (earliest observation first).
RECORD_ORDER = "observed_at nulls last, source_channel, source_record_id, row_hash"
_READ_SQL = f"{READ_SELECT}order by {RECORD_ORDER}\n"

# The guarded attributes and the record column each one counts.
GUARD_COLUMNS = {
    "emails": "email_key",
    "phones": "phone_key",
    "birth_dates": "birth_date",
    "account_ids": "account_key",
    "loyalty_ids": "loyalty_key",
}


def check_input(con: object) -> None:
    """Fail with a clear message when the input table is missing or lacks columns."""
    schema, table = INPUT_TABLE.split(".")
    found = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }
    if not found:
        raise LookupError(
            f"{INPUT_TABLE} does not exist in the warehouse: build it first (dbt build --selector "
            f"staging, "
            "or the dbt_staging task of customer360_daily)"
        )
    missing = [c for c in INPUT_COLUMNS if c not in found]
    if missing:
        raise LookupError(
            f"{INPUT_TABLE} lacks column(s) {missing}; the identity stage expects {list(INPUT_COLUMNS)}"
        )


def read_records(
    con: object,
    default_phone_region: str,
    blocklist: Blocklist,
    channel_regions: dict[str, str] | None = None,
) -> pa.Table:
    """Read, order and normalise the input rows (every version of every record)."""
    check_input(con)
    raw = con.sql(_READ_SQL).to_arrow_table()
    return prepare_records(raw, default_phone_region, blocklist, channel_regions)


def prepare_records(
    raw: pa.Table,
    default_phone_region: str,
    blocklist: Blocklist,
    channel_regions: dict[str, str] | None = None,
) -> pa.Table:
    """Add normalised contact points and comparison keys to records already in record order. A phone without
    a country code is read in the record's country, else its channel's region (``channel_regions``, from
    ``config/channels.yml``), else ``default_phone_region`` (``identity.phone_regions``)."""
    emails = normalize_emails(raw.column("email"), blocklist)
    regions = row_regions(
        combined(raw.column("source_channel")), combined(raw.column("country_code")), channel_regions or {}
    )
    phones = normalize_phones(raw.column("phone"), regions, default_phone_region, blocklist)
    international = pc.fill_null(
        pc.match_substring_regex(pc.utf8_normalize(combined(raw.column("phone")), "NFKC"), r"^\s*(\+|00)"),
        False,
    )
    names = normalize_names(
        raw.column("first_name"), raw.column("last_name"), raw.column("full_name"), blocklist
    )
    null = pa.scalar(None, pa.string())
    record_key = pc.binary_join_element_wise(
        raw.column("source_channel"), raw.column("source_record_id"), "\x1f"
    )
    columns = {
        "record_key": record_key,
        "source_channel": raw.column("source_channel"),
        "source_record_id": raw.column("source_record_id"),
        "observed_at": raw.column("observed_at"),
        "account_key": raw.column("account_key"),
        "loyalty_key": raw.column("loyalty_key"),
        "email_normalized": emails.column("email_normalized"),
        "email_is_valid": emails.column("email_is_valid"),
        "email_key": pc.if_else(emails.column("email_is_matchable"), emails.column("email_normalized"), null),
        "phone_e164": phones.column("phone_e164"),
        "phone_is_valid": phones.column("phone_is_valid"),
        "phone_key": pc.if_else(phones.column("phone_is_matchable"), phones.column("phone_e164"), null),
        "phone_digits": phones.column("phone_digits"),
        "phone_is_placeholder": phones.column("phone_is_placeholder"),
        "phone_international": international,
        **{name: names.column(name) for name in names.column_names},
        "birth_date": raw.column("birth_date"),
        "postal_key": raw.column("postal_key"),
        "street_fold": fold_text(combined(raw.column("street"))),
        "city_fold": fold_text(combined(raw.column("city"))),
        "country_code": raw.column("country_code"),
    }
    if "row_hash" in raw.column_names:
        columns["row_hash"] = raw.column("row_hash")
    return pa.table(columns)


def guard_codes(records: pa.Table) -> dict[str, np.ndarray]:
    """One integer code per record and guarded attribute (-1 where the record has no value)."""
    codes: dict[str, np.ndarray] = {}
    for guard, column in GUARD_COLUMNS.items():
        encoded = pc.dictionary_encode(combined(records.column(column)))
        indices = encoded.indices
        values = indices.to_numpy(zero_copy_only=False)
        codes[guard] = np.where(indices.is_valid().to_numpy(zero_copy_only=False), values, -1).astype(
            np.int64
        )
    return codes


def combined(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous array: a chunked column's chunks concatenated, or (no copy) its only chunk."""
    if not isinstance(column, pa.ChunkedArray):
        return column
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def contiguous(table: pa.Table) -> pa.Table:
    """``table`` with one chunk per column, so that later steps can take from and refer to its columns
    without copying them again (``combined``)."""
    return pa.table({name: combined(table.column(name)) for name in table.column_names})


def latest_versions(records: pa.Table) -> np.ndarray:
    """Row numbers (ascending) of each record's latest version: greatest ``observed_at``, then last row."""
    encoded = pc.dictionary_encode(combined(records.column("record_key")))
    group = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    observed = pc.fill_null(
        pc.cast(combined(records.column("observed_at")), pa.int64()), np.iinfo(np.int64).min
    )
    rows = np.arange(records.num_rows, dtype=np.int64)
    order = np.lexsort((rows, observed.to_numpy(zero_copy_only=False), group))
    last_of_group = np.ones(len(order), dtype=bool)
    last_of_group[:-1] = group[order][1:] != group[order][:-1]
    return np.sort(order[last_of_group])
