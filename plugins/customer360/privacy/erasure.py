"""Erasure ("right to be forgotten"): remove one person from everything the pipeline writes.

A request names the person by email and/or phone number. Requests queue as JSON files in
``<home>/erasure_requests/`` (``customer360 erase --queue-only`` or any system that can write a file); the
``customer360_erasure`` DAG, or ``customer360 erase``, processes them. A file, not a table, because the
warehouse has one writer at a time and a request must be accepted while the daily run holds it; the file is
deleted once the request is done, so the identifiers do not outlive the request.

What :func:`erase` does, in this order:

1. **Find the person**: source records whose email or phone matches (``identity.contact_points`` and the raw
   tables, by normalised value), every ``customer_id`` they resolved to (with aliases), then every source
   record of those customers, and every email, phone, account id and loyalty id on them (two rounds, so an
   address seen only on a record found in the first round counts).
2. **Warehouse, one transaction**: delete the person's rows from ``raw.*`` (each erased line is counted as
   quarantined in ``audit.file_manifest`` with a content-free ``audit.quarantine`` row, so every loaded file
   still reconciles); blank ``raw_record`` of quarantined records that mention the person; delete from every
   table of every other schema (staging, intermediate, identity, marts, restricted, snapshots, analytics)
   the rows whose customer id, customer key, source record id or email/phone column points at the person;
   redact columns about them on other people's rows (a referral's ``referred_email``); add the identifiers'
   salted hashes to the suppression list ingest consults (``privacy.suppression``); append to
   ``audit.erasure_log`` (request id, identifier hashes, counts per location; no personal data).
3. **Compact** the warehouse file (``COPY FROM DATABASE`` into a new file, swapped in with one rename), so
   deleted rows do not survive in free blocks.
4. **Every kept published snapshot** is rewritten without the person (DuckDB file and Parquet, written aside
   and swapped in with renames; ``current`` is repointed atomically).
5. **Run folders and logs** (quality results, Data Docs, summaries, reports, Airflow and dbt logs): the
   person's values are replaced by ``[erased]``.

Aggregates without personal data (``service_quality_daily``, ...) still count the person until the next
daily run rebuilds them. The landing zone is the source systems' delivery area, not a copy the pipeline
keeps: the pipeline keeps no landing copies, and the suppression list stops a re-delivered record.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer360.identity.records import MEMBERS_TABLE
from customer360.landing.contract import CHANNELS, Channel, raw_column_name
from customer360.privacy.pseudonym import customer_key, identifier_hash, normalize_identifier
from customer360.privacy.suppression import (
    ERASED_REASON_PREFIX,
    OTHER_PERSON_COLUMNS,
    RECORD_KEYS,
    SUPPRESSION_TABLE,
    ensure_table,
    identifier_columns,
)
from customer360.publish.snapshot import fsync_path
from customer360.settings import Settings
from customer360.sql_strings import sql_string
from customer360.warehouse import AUDIT_SCHEMA, IDENTITY_SCHEMA, RAW_SCHEMA, connect, duckdb_config

if TYPE_CHECKING:
    import duckdb

REQUESTS_FOLDER = "erasure_requests"
ERASURE_LOG_TABLE = f"{AUDIT_SCHEMA}.erasure_log"
ERASURE_LOG_DDL = f"""create table if not exists {ERASURE_LOG_TABLE} (
    request_id varchar not null, requested_at timestamp, processed_at timestamp not null,
    identifier_hashes json not null, customers bigint not null, source_records bigint not null,
    removed json not null, published_snapshots bigint, files_redacted bigint, status varchar not null)"""
ERASED_TEXT = "[erased]"
# Values shorter than this are not redacted from files (a first name alone identifies nobody; "Jan" would
# blank every January in the logs). Emails, phone numbers, full names and streets are longer.
MIN_REDACT_LENGTH = 6
# Schemas the person is deleted from column by column (raw and audit have their own rules).
SKIPPED_SCHEMAS = (RAW_SCHEMA, AUDIT_SCHEMA, "information_schema", "pg_catalog")
# Column names that hold a customer id, a record id or an account id (matched case-insensitively).
CUSTOMER_ID_COLUMNS = ("customer_id", "merged_into")
RECORD_ID_COLUMNS = tuple(column for _, column in RECORD_KEYS.values()) + ("source_record_id",)
ACCOUNT_COLUMNS = ("account_id", "loyalty_id")
# Parts of a column name that say it holds no raw value (a mask, a flag, a hash): never matched by value.
NOT_A_VALUE = (
    "mask",
    "hash",
    "valid",
    "matchable",
    "opt_in",
    "domain",
    "is_",
    "has_",
    "can_",
    "count",
    "script",
)
# Contract columns whose values are redacted from files: the person's personal data as delivered.
_ID_SAFE = re.compile(r"^[A-Za-z0-9_\-]+$")


class ErasureRequestError(ValueError):
    """An erasure request file cannot be read; it stays in the queue until fixed."""


@dataclass(frozen=True)
class ErasureRequest:
    request_id: str
    email: str | None = None
    phone: str | None = None
    requested_at: str = ""

    def __post_init__(self) -> None:
        if not (self.email or self.phone):
            raise ErasureRequestError(
                f"erasure request {self.request_id}: give an email, a phone number or both"
            )
        if not _ID_SAFE.match(self.request_id):
            raise ErasureRequestError(
                f"erasure request id {self.request_id!r}: use letters, digits, '-' and '_'"
            )

    @classmethod
    def new(cls, email: str | None = None, phone: str | None = None) -> ErasureRequest:
        now = datetime.now(UTC)
        return cls(f"er-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}", email, phone, now.isoformat())


@dataclass
class Person:
    """Everything the warehouse knows that points at the person of one request."""

    customer_ids: set[str] = field(default_factory=set)
    records: set[tuple[str, str]] = field(default_factory=set)  # (source_channel, source_record_id)
    emails: set[str] = field(default_factory=set)  # trimmed, lower case; delivered and normalised forms
    phone_keys: set[str] = field(default_factory=set)  # the last digits (pseudonym.normalize_identifier)
    account_ids: set[str] = field(default_factory=set)  # account and loyalty ids
    texts: set[str] = field(default_factory=set)  # values as delivered, to redact from files

    @property
    def record_ids(self) -> set[str]:
        return {record_id for _, record_id in self.records}


@dataclass
class ErasureResult:
    request_id: str
    customers: int
    source_records: int
    removed: dict[str, int] = field(default_factory=dict)
    published_snapshots: int = 0
    files_redacted: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 2)
        return out


# --- the queue ------------------------------------------------------------------------------------------


def queue_dir(settings: Settings) -> Path:
    return settings.home / REQUESTS_FOLDER


def submit(settings: Settings, request: ErasureRequest) -> Path:
    """Queue a request: ``<home>/erasure_requests/<request id>.json``, written atomically, owner-only."""
    folder = queue_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{request.request_id}.json"
    tmp = folder / f".{request.request_id}.json.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(asdict(request), fh)
    os.replace(tmp, path)
    return path


def pending(settings: Settings) -> list[tuple[Path, ErasureRequest]]:
    """Queued requests, oldest first (names start with their time)."""
    folder = queue_dir(settings)
    if not folder.exists():
        return []
    requests = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            request = ErasureRequest(
                request_id=str(data.get("request_id") or path.stem),
                email=data.get("email"),
                phone=data.get("phone"),
                requested_at=str(data.get("requested_at") or ""),
            )
        except (json.JSONDecodeError, AttributeError) as exc:
            raise ErasureRequestError(
                f'{path}: not an erasure request ({exc}); expected {{"email": ..., "phone": ...}}'
            ) from exc
        requests.append((path, request))
    return requests


# --- finding the person ---------------------------------------------------------------------------------


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def _register(con: duckdb.DuckDBPyConnection, name: str, values: Iterable[str]) -> None:
    """A one-column temp table ``name(v)`` of ``values`` (replaced if present)."""
    con.execute(
        f"create or replace temp table {name} as select unnest(?::varchar[]) as v", [sorted(set(values))]
    )


def _register_person(con: duckdb.DuckDBPyConnection, person: Person, salt: str) -> None:
    _register(con, "_erase_customer_ids", person.customer_ids)
    _register(con, "_erase_customer_keys", (customer_key(c, salt) for c in person.customer_ids))
    _register(con, "_erase_record_ids", person.record_ids)
    _register(con, "_erase_record_keys", (f"{c}|{r}" for c, r in person.records))
    _register(con, "_erase_emails", person.emails)
    _register(con, "_erase_phone_keys", person.phone_keys)
    _register(con, "_erase_account_ids", person.account_ids)


def _email_sql(expression: str) -> str:
    return f"nullif(lower(trim({expression})), '')"


def _phone_key_sql(expression: str) -> str:
    from customer360.privacy.pseudonym import normalize_identifier_sql

    return normalize_identifier_sql("phone", expression)


def _raw_predicate(channel: Channel) -> str:
    """Rows of ``raw.<channel>`` that belong to the person (temp tables from ``_register_person``)."""
    parts = []
    for kind, column in identifier_columns(channel):
        col = _quoted(column)
        if kind == "email":
            parts.append(f"{_email_sql(col)} in (select v from _erase_emails)")
        elif kind == "phone":
            parts.append(f"{_phone_key_sql(col)} in (select v from _erase_phone_keys)")
        else:
            parts.append(f"trim({col}) in (select v from _erase_account_ids)")
    if channel.name in RECORD_KEYS:
        label, column = RECORD_KEYS[channel.name]
        parts.append(f"'{label}|' || {_quoted(column)} in (select v from _erase_record_keys)")
    return "(" + " or ".join(parts) + ")" if parts else "false"


def _normalised_request(settings: Settings, request: ErasureRequest) -> tuple[set[str], set[str], set[str]]:
    """(emails, phone keys, E.164 numbers) of the request, in every form the warehouse may hold."""
    from customer360.identity.blocklist import load_blocklist
    from customer360.identity.normalize_email import normalize_email
    from customer360.identity.normalize_phone import normalize_phone

    blocklist = load_blocklist()
    emails: set[str] = set()
    phone_keys: set[str] = set()
    e164: set[str] = set()
    if request.email:
        emails.add(request.email.strip().lower())
        normalized, _, _ = normalize_email(request.email, blocklist)
        if normalized:
            emails.add(normalized)
    if request.phone:
        key = normalize_identifier("phone", request.phone)
        if key:
            phone_keys.add(key)
        number, _, _ = normalize_phone(request.phone, None, settings.default_phone_region, blocklist)
        if number:
            e164.add(number)
            phone_keys.add(normalize_identifier("phone", number) or "")
    phone_keys.discard("")
    return emails, phone_keys, e164


def _raw_channels(con: duckdb.DuckDBPyConnection) -> list[Channel]:
    return [c for c in CHANNELS.values() if _table_exists(con, RAW_SCHEMA, c.name)]


def _records_from_raw(con: duckdb.DuckDBPyConnection, person: Person) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for channel in _raw_channels(con):
        if channel.name not in RECORD_KEYS:
            continue
        label, column = RECORD_KEYS[channel.name]
        rows = con.execute(
            f"select distinct {_quoted(column)} from {RAW_SCHEMA}.{_quoted(channel.name)} "
            f"where {_raw_predicate(channel)} and {_quoted(column)} is not null"
        ).fetchall()
        found |= {(label, r) for (r,) in rows}
    return found


def _expand_identifiers(con: duckdb.DuckDBPyConnection, person: Person) -> None:
    """Add every identifier and delivered personal value on the person's raw rows and contact points."""
    for channel in _raw_channels(con):
        table = f"{RAW_SCHEMA}.{_quoted(channel.name)}"
        predicate = _raw_predicate(channel)
        for kind, column in identifier_columns(channel):
            values = [
                v
                for (v,) in con.execute(
                    f"select distinct {_quoted(column)} from {table} where {predicate}"
                ).fetchall()
                if v
            ]
            for value in values:
                person.texts.add(value.strip())
                if kind == "email":
                    person.emails.add(value.strip().lower())
                elif kind == "phone":
                    key = normalize_identifier("phone", value)
                    if key:
                        person.phone_keys.add(key)
                else:
                    person.account_ids.add(value.strip())
        pii = [raw_column_name(c.name) for c in channel.all_columns if c.pii]
        if pii:
            rows = con.execute(
                f"select {', '.join(_quoted(c) for c in pii)} from {table} where {predicate}"
            ).fetchall()
            for row in rows:
                values = dict(zip(pii, row, strict=True))
                person.texts |= {str(v).strip() for v in values.values() if v}
                first = values.get("first_name") or values.get("customer__first_name")
                last = values.get("last_name") or values.get("customer__last_name")
                if first and last:
                    person.texts.add(f"{first.strip()} {last.strip()}")
    if _table_exists(con, IDENTITY_SCHEMA, "contact_points"):
        rows = con.execute(
            f"select distinct email_normalized, phone_e164 from {IDENTITY_SCHEMA}.contact_points "
            "where source_channel || '|' || source_record_id in (select v from _erase_record_keys)"
        ).fetchall()
        for email, phone in rows:
            if email:
                person.emails.add(email)
                person.texts.add(email)
            if phone:
                person.texts.add(phone)
                key = normalize_identifier("phone", phone)
                if key:
                    person.phone_keys.add(key)


def _customers_of(con: duckdb.DuckDBPyConnection, records: set[tuple[str, str]]) -> set[str]:
    xref = f"{IDENTITY_SCHEMA}.customer_source_xref"
    if not records or not _table_exists(con, IDENTITY_SCHEMA, "customer_source_xref"):
        return set()
    _register(con, "_erase_seed_keys", (f"{c}|{r}" for c, r in records))
    seeds = "select v from _erase_seed_keys"
    if _table_exists(con, *MEMBERS_TABLE.split(".")):  # a source record's identity record (a signature)
        seeds += (
            f" union select source_channel || '|' || identity_record_id from {MEMBERS_TABLE} "
            "where source_channel || '|' || source_record_id in (select v from _erase_seed_keys)"
        )
    ids = {
        r[0]
        for r in con.execute(
            f"select distinct customer_id from {xref} "
            f"where source_channel || '|' || source_record_id in ({seeds})"
        ).fetchall()
    }
    if ids and _table_exists(con, IDENTITY_SCHEMA, "customer_id_aliases"):
        _register(con, "_erase_seed_ids", ids)
        rows = con.execute(
            f"select alias_customer_id, customer_id from {IDENTITY_SCHEMA}.customer_id_aliases "
            "where customer_id in (select v from _erase_seed_ids) "
            "or alias_customer_id in (select v from _erase_seed_ids)"
        ).fetchall()
        ids |= {v for row in rows for v in row if v}
    return ids


def _records_of(con: duckdb.DuckDBPyConnection, customer_ids: set[str]) -> set[tuple[str, str]]:
    if not customer_ids or not _table_exists(con, IDENTITY_SCHEMA, "customer_source_xref"):
        return set()
    _register(con, "_erase_seed_ids", customer_ids)
    resolved = (
        f"select source_channel, source_record_id from {IDENTITY_SCHEMA}.customer_source_xref "
        "where customer_id in (select v from _erase_seed_ids)"
    )
    if _table_exists(con, *MEMBERS_TABLE.split(".")):  # and every source record behind a signature
        resolved += (
            f" union select m.source_channel, m.source_record_id from {MEMBERS_TABLE} as m "
            f"join ({resolved}) as r on r.source_channel = m.source_channel "
            "and r.source_record_id = m.identity_record_id"
        )
    return set(con.execute(resolved).fetchall())


def find_person(con: duckdb.DuckDBPyConnection, settings: Settings, request: ErasureRequest) -> Person:
    """Resolve a request's email/phone to the person's customers, records and identifiers."""
    emails, phone_keys, e164 = _normalised_request(settings, request)
    person = Person(emails=set(emails), phone_keys=set(phone_keys))
    person.texts |= {v for v in (request.email, request.phone) if v} | e164
    for _round in range(2):
        _register_person(con, person, settings.pseudonym_salt)
        seeds = _records_from_raw(con, person) | person.records
        if _table_exists(con, IDENTITY_SCHEMA, "contact_points"):
            seeds |= set(
                con.execute(
                    f"select source_channel, source_record_id from {IDENTITY_SCHEMA}.contact_points "
                    "where lower(email_normalized) in (select v from _erase_emails) "
                    f"or {_phone_key_sql('phone_e164')} in (select v from _erase_phone_keys)"
                ).fetchall()
            )
        person.customer_ids |= _customers_of(con, seeds)
        person.records |= seeds | _records_of(con, person.customer_ids)
        _register_person(con, person, settings.pseudonym_salt)
        _expand_identifiers(con, person)
    _register_person(con, person, settings.pseudonym_salt)
    return person


# --- deleting -------------------------------------------------------------------------------------------


def column_predicate(name: str, data_type: str) -> str | None:
    """How a column of a derived table points at the person (temp tables of ``_register_person``)."""
    if not data_type.upper().startswith("VARCHAR"):
        return None
    n = name.lower()
    col = _quoted(name)
    if n == "customer_key" or n.endswith("_customer_key"):
        return f"{col} in (select v from _erase_customer_keys)"
    if n in CUSTOMER_ID_COLUMNS or n.endswith("_customer_id"):
        return f"{col} in (select v from _erase_customer_ids)"
    if n in RECORD_ID_COLUMNS or n.endswith("_record_id"):
        return f"{col} in (select v from _erase_record_ids)"
    if n in ACCOUNT_COLUMNS or n.endswith(tuple(f"_{c}" for c in ACCOUNT_COLUMNS)):
        return f"trim({col}) in (select v from _erase_account_ids)"
    if any(part in n for part in NOT_A_VALUE):
        return None
    if "email" in n:
        return f"{_email_sql(col)} in (select v from _erase_emails)"
    if "phone" in n:
        return f"{_phone_key_sql(col)} in (select v from _erase_phone_keys)"
    return None


def _is_other_person_column(name: str) -> bool:
    return name.lower().split("__")[-1] in OTHER_PERSON_COLUMNS


def table_predicates(columns: list[tuple[str, str]]) -> tuple[str | None, list[tuple[str, str]]]:
    """(rows-to-delete predicate, [(column, predicate)] to blank) for a table with these columns."""
    deletes, redacts = [], []
    for name, data_type in columns:
        predicate = column_predicate(name, data_type)
        if predicate is None:
            continue
        if _is_other_person_column(name):
            redacts.append((name, predicate))
        else:
            deletes.append(predicate)
    return ("(" + " or ".join(deletes) + ")" if deletes else None), redacts


def _base_tables(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> list[tuple[str, str]]:
    catalog_filter = "and table_catalog = ?" if catalog else "and table_catalog = current_database()"
    return con.execute(
        f"select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
        f"{catalog_filter} order by 1, 2",
        [catalog] if catalog else [],
    ).fetchall()


def _columns(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, catalog: str | None = None
) -> list[tuple[str, str]]:
    catalog_filter = "and table_catalog = ?" if catalog else "and table_catalog = current_database()"
    return con.execute(
        f"select column_name, data_type from information_schema.columns "
        f"where table_schema = ? and table_name = ? "
        f"{catalog_filter} order by ordinal_position",
        [schema, table, *([catalog] if catalog else [])],
    ).fetchall()


def _erase_raw(con: duckdb.DuckDBPyConnection, request_id: str) -> dict[str, int]:
    """Delete the person's raw rows; each erased line counts as quarantined (without content)."""
    removed: dict[str, int] = {}
    now = datetime.now(UTC).replace(tzinfo=None)
    reason = f"{ERASED_REASON_PREFIX} {request_id}; content not kept"
    for channel in _raw_channels(con):
        table = f"{RAW_SCHEMA}.{_quoted(channel.name)}"
        predicate = _raw_predicate(channel)
        for name, data_type in _columns(con, RAW_SCHEMA, channel.name):
            if _is_other_person_column(name):
                other = column_predicate(name, data_type)
                if other:
                    con.execute(f"update {table} set {_quoted(name)} = null where {other}")
        con.execute(
            "create or replace temp table _erased_lines as "
            f"select distinct _load_date, _source_file, _source_line from {table} where {predicate}"
        )
        (count,) = con.execute("select count(*) from _erased_lines").fetchone()
        if not count:
            continue
        con.execute(
            "insert into audit.quarantine (run_id, channel, load_date, source_file, line_number, "
            "column_name, reason, raw_record, quarantined_at) "
            "select ?, ?, _load_date, _source_file, _source_line, null, ?, null, ? from _erased_lines",
            [request_id, channel.name, reason, now],
        )
        con.execute(
            """
            update audit.file_manifest as m
            set rows_loaded = m.rows_loaded - e.lines, rows_quarantined = m.rows_quarantined + e.lines,
                message = coalesce(m.message, '') || '; ' || e.lines || ' record(s) erased (' || ? || ')'
            from (select _source_file, count(*) as lines from _erased_lines group by 1) as e
            where m.channel = ? and m.source_file = e._source_file and m.status = 'loaded'
              and m.ingested_at = (select max(ingested_at) from audit.file_manifest as l
                                   where l.channel = m.channel and l.source_file = m.source_file
                                     and l.status = 'loaded')
            """,
            [request_id, channel.name],
        )
        con.execute(f"delete from {table} where {predicate}")
        removed[f"{RAW_SCHEMA}.{channel.name}"] = int(count)
    return removed


def _redact_quarantine(con: duckdb.DuckDBPyConnection, request_id: str) -> dict[str, int]:
    """Blank the text of quarantined records that mention the person (their line stays accounted for)."""
    if not _table_exists(con, AUDIT_SCHEMA, "quarantine"):
        return {}
    mentions = """raw_record is not null and (
        exists (select 1 from _erase_emails as e where contains(lower(q.raw_record), e.v))
        or exists (select 1 from _erase_phone_keys as p
                   where contains(regexp_replace(q.raw_record, '[^0-9]', '', 'g'), p.v))
        or exists (select 1 from (select v from _erase_record_ids union select v from _erase_account_ids) as i
                   where regexp_matches(q.raw_record, '(^|[^A-Za-z0-9])' || i.v || '([^A-Za-z0-9]|$)')))"""
    (count,) = con.execute(f"select count(*) from audit.quarantine as q where {mentions}").fetchone()
    if count:
        con.execute(
            f"update audit.quarantine as q set raw_record = null, "
            f"reason = reason || ' [record content erased: ' || ? || ']' where {mentions}",
            [request_id],
        )
    return {"audit.quarantine (content blanked)": int(count)} if count else {}


def erase_tables(
    con: duckdb.DuckDBPyConnection,
    catalog: str | None = None,
    schemas_skipped: tuple[str, ...] = SKIPPED_SCHEMAS,
) -> dict[str, int]:
    """Delete the person's rows from every base table outside ``schemas_skipped``; counts per table."""
    removed: dict[str, int] = {}
    prefix = f"{_quoted(catalog)}." if catalog else ""
    for schema, table in _base_tables(con, catalog):
        if schema in schemas_skipped or table.startswith("_erase"):
            continue
        delete, redacts = table_predicates(_columns(con, schema, table, catalog))
        relation = f"{prefix}{_quoted(schema)}.{_quoted(table)}"
        for column, predicate in redacts:
            con.execute(f"update {relation} set {_quoted(column)} = null where {predicate}")
        if delete is None:
            continue
        (count,) = con.execute(f"select count(*) from {relation} where {delete}").fetchone()
        if count:
            con.execute(f"delete from {relation} where {delete}")
            removed[f"{schema}.{table}"] = int(count)
    return removed


def _erase_marts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """``erase_tables`` in the attached marts file (none attached: nothing), counted as ``marts.<table>``."""
    from customer360.warehouse import MARTS_DATABASE

    attached = con.execute(
        "select count(*) from duckdb_databases() where database_name = ?", [MARTS_DATABASE]
    ).fetchone()[0]
    if not attached:
        return {}
    con.begin()
    try:
        removed = erase_tables(con, MARTS_DATABASE)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return {f"{MARTS_DATABASE}.{name.split('.', 1)[1]}": count for name, count in removed.items()}


def _suppress(
    con: duckdb.DuckDBPyConnection, person: Person, request_id: str, salt: str
) -> list[dict[str, str]]:
    """Add the person's identifiers' salted hashes to the suppression list; returns them for the log."""
    ensure_table(con)
    entries = []
    for kind, values in (
        ("email", person.emails),
        ("phone", person.phone_keys),
        ("account_id", person.account_ids),
        ("loyalty_id", person.account_ids),
        ("record", {f"{c}|{r}" for c, r in person.records}),
    ):
        for value in sorted(values):
            digest = identifier_hash(kind, value, salt)  # type: ignore[arg-type]
            if digest:
                entries.append({"kind": kind, "hash": digest})
    if entries:
        now = datetime.now(UTC).replace(tzinfo=None)
        con.execute(
            f"insert into {SUPPRESSION_TABLE} (kind, identifier_hash, request_id, added_at) "
            "select kind, hash, ?, ? "
            "from (select unnest(?::varchar[]) as kind, unnest(?::varchar[]) as hash) "
            f"where hash not in (select identifier_hash from {SUPPRESSION_TABLE})",
            [request_id, now, [e["kind"] for e in entries], [e["hash"] for e in entries]],
        )
    return entries


def _request_hashes(request: ErasureRequest, salt: str) -> list[dict[str, str]]:
    hashes = []
    if request.email:
        hashes.append({"kind": "email", "hash": identifier_hash("email", request.email, salt) or ""})
    if request.phone:
        hashes.append({"kind": "phone", "hash": identifier_hash("phone", request.phone, salt) or ""})
    return hashes


# --- the warehouse file, published snapshots, files ----------------------------------------------------


def compact_warehouse(settings: Settings) -> None:
    """Rewrite the warehouse, and the marts' own file beside it, into fresh files (no free blocks with
    deleted rows) and swap them in. The marts file keeps the snapshot's storage version: publish copies it
    whole, free blocks and all, so it must hold no erased row either."""
    from customer360.warehouse import marts_path

    _compact_file(settings, settings.warehouse_path, None)
    if marts_path(settings).exists():
        _compact_file(settings, marts_path(settings), settings.snapshot_storage_version)


def _compact_file(settings: Settings, path: Path, storage_version: str | None) -> None:
    import duckdb

    tmp = path.with_name(f".{path.name}.compact.tmp")
    tmp.unlink(missing_ok=True)
    version = f" (storage_version {sql_string(storage_version)})" if storage_version else ""
    con = duckdb.connect(config=duckdb_config(settings))
    try:
        con.execute(f"attach {sql_string(path)} as erasure_source (read_only)")
        con.execute(f"attach {sql_string(tmp)} as erasure_target{version}")
        con.execute("copy from database erasure_source to erasure_target")
        con.execute("detach erasure_target")
        con.execute("detach erasure_source")
    finally:
        con.close()
    fsync_path(tmp)
    os.replace(tmp, path)


def _swap_link(link: Path, target: Path) -> None:
    tmp = link.with_name(f".{link.name}.erasure.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target.relative_to(link.parent), target_is_directory=True)
    os.replace(tmp, link)


def _rewrite_snapshot(
    snapshot: Path, person: Person, salt: str, request_id: str, storage_version: str
) -> Path | None:
    """A copy of ``snapshot`` without the person, or None when the person is not in it; written in the same
    storage format as publish writes (``snapshot_storage_version``), so analysts' DuckDB still opens it."""
    import duckdb

    from customer360.publish.snapshot import SNAPSHOT_DB

    source_db = snapshot / SNAPSHOT_DB
    if not source_db.exists():
        return None
    base = snapshot.name.split("__erased-")[0]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    staging = snapshot.parent / f".tmp-erase-{base}"
    final = snapshot.parent / f"{base}__erased-{stamp}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "parquet").mkdir(parents=True)
    con = duckdb.connect(
        str(staging / SNAPSHOT_DB), config={"storage_compatibility_version": storage_version}
    )
    try:
        con.execute(f"attach {sql_string(source_db)} as snapshot_source (read_only)")
        _register_person(con, person, salt)
        tables = [t for s, t in _base_tables(con, "snapshot_source") if s == "main"]
        matched = 0
        counts: dict[str, int] = {}
        for table in tables:
            delete, redacts = table_predicates(_columns(con, "main", table, "snapshot_source"))
            source = f"snapshot_source.main.{_quoted(table)}"
            keep = f"where not coalesce({delete}, false)" if delete else ""
            con.execute(f"create table main.{_quoted(table)} as select * from {source} {keep}")
            if delete:
                matched += con.execute(f"select count(*) from {source} where {delete}").fetchone()[0]
            for column, predicate in redacts:
                matched += con.execute(
                    f"select count(*) from main.{_quoted(table)} where {predicate}"
                ).fetchone()[0]
                con.execute(f"update main.{_quoted(table)} set {_quoted(column)} = null where {predicate}")
            counts[table] = con.execute(f"select count(*) from main.{_quoted(table)}").fetchone()[0]
        if matched:
            for table in tables:
                parquet = staging / "parquet" / f"{table}.parquet"
                con.execute(f"copy main.{_quoted(table)} to {sql_string(parquet)} (format parquet)")
        con.execute("detach snapshot_source")
        for name in (
            "_erase_customer_ids",
            "_erase_customer_keys",
            "_erase_record_ids",
            "_erase_record_keys",
            "_erase_emails",
            "_erase_phone_keys",
            "_erase_account_ids",
        ):
            con.execute(f"drop table if exists temp.{name}")
        con.execute("checkpoint")
    finally:
        con.close()
    if not matched:
        shutil.rmtree(staging, ignore_errors=True)
        return None
    manifest_path = snapshot / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    manifest["tables"] = counts
    manifest.setdefault("erasures", []).append(
        {"request_id": request_id, "at": datetime.now(UTC).isoformat()}
    )
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    for path in staging.rglob("*"):
        if path.is_file():
            fsync_path(path)
    os.rename(staging, final)
    return final


def erase_published(settings: Settings, person: Person, request_id: str) -> int:
    """Rewrite every kept published snapshot that holds the person; returns how many were rewritten."""
    from customer360.publish.snapshot import CURRENT_LINK

    snapshots = settings.published_dir / "snapshots"
    if not snapshots.exists():
        return 0
    for partial in snapshots.glob(".tmp-*"):  # half-written snapshots of killed runs hold personal data too
        shutil.rmtree(partial, ignore_errors=True)
    link = settings.published_dir / CURRENT_LINK
    current = link.resolve() if link.exists() else None
    rewritten = 0
    for snapshot in sorted(p for p in snapshots.iterdir() if p.is_dir() and not p.name.startswith(".")):
        replacement = _rewrite_snapshot(
            snapshot, person, settings.pseudonym_salt, request_id, settings.snapshot_storage_version
        )
        if replacement is None:
            continue
        if current is not None and snapshot.resolve() == current:
            _swap_link(link, replacement)
        shutil.rmtree(snapshot)
        rewritten += 1
    return rewritten


def redaction_roots(settings: Settings) -> list[Path]:
    """Folders of generated text that may quote personal data: run folders, Airflow and dbt logs."""
    return [settings.runs_dir, settings.airflow_home / "logs", settings.home / "dbt"]


def _redaction_pattern(texts: Iterable[str]) -> re.Pattern[str] | None:
    needles: set[str] = set()
    for text in texts:
        if len(text) < MIN_REDACT_LENGTH:
            continue
        needles |= {text, json.dumps(text)[1:-1], html.escape(text)}
    if not needles:
        return None
    return re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)), re.IGNORECASE)


def redact_files(settings: Settings, person: Person) -> int:
    """Replace the person's values in every text file under the redaction roots; returns files changed."""
    pattern = _redaction_pattern(person.texts)
    if pattern is None:
        return 0
    changed = 0
    for root in redaction_roots(settings):
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            with path.open("rb") as fh:
                if b"\x00" in fh.read(8192):
                    continue  # binary
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            redacted = pattern.sub(ERASED_TEXT, text)
            if redacted != text:
                tmp = path.with_name(f".{path.name}.erasure.tmp")
                tmp.write_text(redacted, encoding="utf-8", errors="surrogateescape")
                os.replace(tmp, path)
                changed += 1
    return changed


# --- the whole request ----------------------------------------------------------------------------------


def erase(settings: Settings, request: ErasureRequest, compact: bool = True) -> ErasureResult:
    """Remove the person of ``request`` from everything the pipeline writes (see the module docstring)."""
    started = time.perf_counter()
    salt = settings.pseudonym_salt
    with connect(settings) as con:
        con.execute(ERASURE_LOG_DDL)
        ensure_table(con)
        person = find_person(con, settings, request)
        # The marts' own file first (DuckDB target, customer360.warehouse.marts_path), in a transaction of its
        # own (a DuckDB transaction writes to one database). A run killed in between finds the person again
        # in the warehouse, which it has not touched yet, and erases from both.
        marts_removed = _erase_marts(con)
        con.begin()
        try:
            removed = marts_removed
            removed.update(_erase_raw(con, request.request_id))
            removed.update(_redact_quarantine(con, request.request_id))
            removed.update(erase_tables(con))
            hashes = _suppress(con, person, request.request_id, salt)
            con.execute(
                f"insert into {ERASURE_LOG_TABLE} values (?, ?, ?, ?, ?, ?, ?, null, null, 'warehouse_done')",
                [
                    request.request_id,
                    request.requested_at or None,
                    datetime.now(UTC).replace(tzinfo=None),
                    json.dumps(_request_hashes(request, salt) + hashes),
                    len(person.customer_ids),
                    len(person.records),
                    json.dumps(removed, sort_keys=True),
                ],
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
    if compact:
        compact_warehouse(settings)
    published = erase_published(settings, person, request.request_id)
    files = redact_files(settings, person)
    with connect(settings) as con:
        con.execute(
            f"update {ERASURE_LOG_TABLE} set published_snapshots = ?, files_redacted = ?, status = 'done' "
            "where request_id = ?",
            [published, files, request.request_id],
        )
    return ErasureResult(
        request_id=request.request_id,
        customers=len(person.customer_ids),
        source_records=len(person.records),
        removed=removed,
        published_snapshots=published,
        files_redacted=files,
        seconds=time.perf_counter() - started,
    )


def process_queue(settings: Settings, compact: bool = True) -> list[ErasureResult]:
    """Process every queued request, oldest first; a done request's file is deleted.

    A request that fails stays queued (the next run retries it) and the error is raised after the others
    were processed, naming each failed request.
    """
    results, failures = [], []
    for path, request in pending(settings):
        try:
            results.append(erase(settings, request, compact=False))
        except Exception as exc:  # noqa: BLE001 - reported below, after the other requests
            failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
            continue
        path.unlink()
    if results and compact:  # once for the whole batch: the rewrite costs as much as the warehouse is big
        compact_warehouse(settings)
    if failures:
        raise RuntimeError(
            f"{len(failures)} erasure request(s) failed and stay queued in {queue_dir(settings)}:\n  - "
            + "\n  - ".join(failures)
        )
    return results
