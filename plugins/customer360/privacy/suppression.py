"""The suppression list: salted hashes of erased persons' identifiers, consulted by ingest on every load.

An erased person's records may be delivered again: a changed file re-read, a late file, a source system
that has not processed the request yet. ``audit.erasure_suppression`` keeps, per erasure request, the
salted hash (``pseudonym.identifier_hash``) of every email, phone number, account id, loyalty id and source
record key found for the person; it never holds the values themselves.

Ingest calls :meth:`Suppression.apply` for each file with a suppressed record, inside the transaction that
writes the file's group, after the rows went into ``raw.<channel>``: rows matching the list are removed
again and counted as quarantined, with the reason ``suppressed: ...`` and no record text, so
``rows_read = rows_loaded + rows_quarantined`` still holds and the line stays accounted for without its
content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from customer360.landing.contract import Channel, raw_column_name
from customer360.privacy.pseudonym import IdentifierKind, identifier_hash_sql
from customer360.warehouse import AUDIT_SCHEMA, RAW_SCHEMA

if TYPE_CHECKING:
    import duckdb

    from customer360.ingest.discovery import LandingFileRef
    from customer360.ingest.results import FileLoadResult

SUPPRESSION_TABLE = f"{AUDIT_SCHEMA}.erasure_suppression"
SUPPRESSION_DDL = f"""create table if not exists {SUPPRESSION_TABLE} (
    kind varchar not null, identifier_hash varchar not null, request_id varchar not null,
    added_at timestamp not null)"""
# The quarantine reason of rows erased after they loaded (customer360.privacy.erasure) starts with this; the
# raw gate leaves both kinds of privacy quarantine out of its quarantine share (expectations/raw.py).
ERASED_REASON_PREFIX = "erased under erasure request"
SUPPRESSED_REASON = "suppressed: the record matches an erasure request (audit.erasure_log); content not kept"

# How the identity input names each channel's records (int_contact_records_unioned: source_channel and the
# column that becomes source_record_id). Keep in step with that model.
RECORD_KEYS: dict[str, tuple[str, str]] = {
    "crm_contacts": ("crm", "contact_id"),
    "web_orders": ("web", "order_id"),
    "pos_transactions": ("pos", "transaction_id"),
    "support_tickets": ("tickets", "ticket_id"),
    "marketing_events": ("marketing", "event_id"),
    "surveys": ("surveys", "response_id"),
}
# Columns about *another* person (a referral's invitee): redacted on erasure, never a reason to drop a row.
OTHER_PERSON_COLUMNS = ("referred_email",)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def identifier_columns(channel: Channel) -> list[tuple[IdentifierKind, str]]:
    """``(kind, raw column)`` pairs of a channel that identify the person a record belongs to."""
    pairs: list[tuple[IdentifierKind, str]] = []
    for column in channel.all_columns:
        leaf = column.name.split(".")[-1]
        if leaf in OTHER_PERSON_COLUMNS:
            continue
        if leaf.endswith("email"):
            pairs.append(("email", raw_column_name(column.name)))
        elif leaf.endswith("phone"):
            pairs.append(("phone", raw_column_name(column.name)))
        elif leaf in ("account_id", "loyalty_id"):
            pairs.append((leaf, raw_column_name(column.name)))  # type: ignore[arg-type]
    return pairs


def record_key_sql(channel: Channel) -> str | None:
    """``<source_channel>|<record id>`` of a raw row, as the suppression list's 'record' kind hashes it."""
    if channel.name not in RECORD_KEYS:
        return None
    label, column = RECORD_KEYS[channel.name]
    return f"'{label}|' || {_quoted(column)}"


def match_predicate_sql(channel: Channel, hashes_relation: str) -> str:
    """A predicate over ``raw.<channel>`` rows: true when any identifier's hash is in ``hashes_relation``.

    ``hashes_relation`` has columns ``kind, identifier_hash``; the salt is the ``$salt`` parameter.
    """
    parts = []
    checks: list[tuple[IdentifierKind, str]] = [
        (kind, _quoted(col)) for kind, col in identifier_columns(channel)
    ]
    key = record_key_sql(channel)
    if key is not None:
        checks.append(("record", key))
    for kind, expression in checks:
        parts.append(
            f"{identifier_hash_sql(kind, expression)} in "
            f"(select identifier_hash from {hashes_relation} where kind = '{kind}')"
        )
    return "(" + " or ".join(parts) + ")" if parts else "false"


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
    con.execute(SUPPRESSION_DDL)


@dataclass(frozen=True)
class Suppression:
    """The suppression list as ingest sees it (loaded once per channel load)."""

    salt: str
    entries: int

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, salt: str) -> Suppression | None:
        """The list, or None when there is nothing to suppress (no erasure yet): ingest then pays nothing."""
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [AUDIT_SCHEMA, SUPPRESSION_TABLE.split(".")[1]],
        ).fetchone()[0]
        if not exists:
            return None
        entries = con.execute(f"select count(*) from {SUPPRESSION_TABLE}").fetchone()[0]
        return cls(salt, entries) if entries else None

    def apply(
        self,
        con: duckdb.DuckDBPyConnection,
        channel: Channel,
        ref: LandingFileRef,
        result: FileLoadResult,
        run_id: str,
    ) -> int:
        """Move this file's rows that match the list from raw to quarantine (no content); returns records."""
        table = f"{RAW_SCHEMA}.{_quoted(channel.name)}"
        predicate = match_predicate_sql(channel, SUPPRESSION_TABLE)
        params = {"salt": self.salt, "file": ref.source_file}
        where = f"where _source_file = $file and {predicate}"
        (suppressed,) = con.execute(
            f"select count(distinct _source_line) from {table} {where}", params
        ).fetchone()
        if not suppressed:
            return 0
        con.execute(
            "insert into audit.quarantine (run_id, channel, load_date, source_file, line_number, "
            "column_name, reason, raw_record, quarantined_at) "
            "select distinct $run_id, $channel, cast($load_date as date), $file, _source_line, null, "
            f"$reason, "
            f"null, cast($now as timestamp) from {table} {where}",
            {
                **params,
                "run_id": run_id,
                "channel": channel.name,
                "load_date": ref.load_date.isoformat(),
                "reason": SUPPRESSED_REASON,
                "now": datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" "),
            },
        )
        con.execute(f"delete from {table} {where}", params)
        result.rows_loaded -= suppressed
        result.rows_quarantined += suppressed
        result.message = f"{result.message}; {suppressed} record(s) suppressed (erasure requests)"
        return suppressed
