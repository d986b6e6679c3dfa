"""The landing contract: what each channel delivers, in code.

Files land at ``<landing root>/<channel>/<YYYY-MM-DD>/<file>``. Each channel has one format, a set of
required and optional columns with a logical type, an encoding and a source time zone. The contract is
the single source for the reader (which columns to expect), ingest (type checks that quarantine a row),
the data generator (what to write), the raw Great Expectations suite and docs/landing-contract.md
(``customer360 contract``).

Logical types (values always arrive as text in CSV; JSON and Parquet may carry native types):

- ``string``: any text, NFKC-normalised on ingest.
- ``int`` / ``decimal``: numbers; ``decimal`` uses ``.`` as the decimal mark.
- ``bool``: true/false, 1/0, yes/no, y/n (any case).
- ``date``: ``YYYY-MM-DD``.
- ``timestamp``: ISO-8601; with an offset (``2026-11-24T10:15:00+08:00``) it is exact, without one it is
  read in the channel's ``timezone``.
- ``enum``: a string from ``allowed`` (compared in lower case).

A channel's export may name columns differently: ``config/channels.yml`` maps contract names to source
names (``columns: {email: E-mail address}``), and may override ``encoding``, ``delimiter`` and
``timezone``. Nested JSON fields are addressed with dots (``customer.email``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

LogicalType = Literal["string", "int", "decimal", "bool", "date", "timestamp", "enum"]
FileFormat = Literal["csv", "jsonl", "parquet"]

FILE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "csv": (".csv", ".csv.gz", ".txt"),
    "jsonl": (".jsonl", ".json", ".ndjson", ".jsonl.gz"),
    "parquet": (".parquet",),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: LogicalType = "string"
    required: bool = False
    allowed: tuple[str, ...] = ()
    description: str = ""
    pii: bool = False
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Channel:
    name: str
    format: FileFormat
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    event_time: str
    encoding: str = "utf-8"
    delimiter: str = ","
    timezone: str = "UTC"
    # For JSON lines with a nested array: the array field unnested into one raw row per element.
    unnest: str | None = None
    unnest_columns: tuple[Column, ...] = field(default=())

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.columns + self.unnest_columns

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.all_columns if c.required)

    def column(self, name: str) -> Column:
        for col in self.all_columns:
            if col.name == name:
                return col
        raise KeyError(f"channel {self.name!r} has no column {name!r}")


_BOOL_NOTE = "true/false, 1/0, yes/no"

CRM_CONTACTS = Channel(
    name="crm_contacts",
    format="csv",
    description="CRM contact records: one row per contact version (created or updated that day).",
    key=("contact_id", "updated_at"),
    event_time="updated_at",
    timezone="Europe/Amsterdam",
    columns=(
        Column("contact_id", required=True, description="CRM contact id, stable per CRM record"),
        Column("updated_at", "timestamp", required=True, description="when this version was written"),
        Column("created_at", "timestamp", description="when the contact was created"),
        Column("account_id", description="web shop account id, when the contact has one"),
        Column("loyalty_id", description="loyalty card number"),
        Column("first_name", pii=True),
        Column("last_name", pii=True),
        Column(
            "full_name",
            pii=True,
            description="as written by the person (e.g. 王小明); used when the parts are empty",
        ),
        Column("email", pii=True),
        Column("phone", pii=True, description="any format; parsed to E.164 in staging"),
        Column("birth_date", "date", pii=True),
        Column("gender", "enum", allowed=("f", "m", "x", "u")),
        Column("street", pii=True),
        Column("postal_code", pii=True),
        Column("city"),
        Column("country", description="ISO 3166 alpha-2 code or English country name"),
        Column("preferred_language"),
        Column("email_opt_in", "bool", description=_BOOL_NOTE),
        Column("sms_opt_in", "bool", description=_BOOL_NOTE),
        Column("is_deleted", "bool", description="the CRM marked the contact deleted"),
    ),
)

WEB_ORDERS = Channel(
    name="web_orders",
    format="jsonl",
    description="Web shop orders: one JSON object per order with a nested `lines` array.",
    key=("order_id", "line_number"),
    event_time="ordered_at",
    timezone="UTC",
    unnest="lines",
    columns=(
        Column("order_id", required=True),
        Column("ordered_at", "timestamp", required=True, description="ISO-8601 with offset"),
        Column("status", "enum", required=True, allowed=("completed", "cancelled", "returned", "pending")),
        Column("updated_at", "timestamp", description="last status change"),
        Column("currency", description="ISO 4217, default EUR"),
        Column("customer.account_id"),
        Column("customer.email", pii=True),
        Column("customer.phone", pii=True),
        Column("customer.first_name", pii=True),
        Column("customer.last_name", pii=True),
        Column("shipping.street", pii=True),
        Column("shipping.postal_code", pii=True),
        Column("shipping.city"),
        Column("shipping.country"),
        Column("shipping_amount", "decimal", min_value=0),
    ),
    unnest_columns=(
        Column("line_number", "int", required=True, min_value=1),
        Column("sku", required=True),
        Column("category"),
        Column("quantity", "int", required=True, min_value=1),
        Column("unit_price", "decimal", required=True, min_value=0),
        Column("unit_cost", "decimal", min_value=0),
        Column("discount_amount", "decimal", min_value=0),
        Column("returned_quantity", "int", min_value=0),
    ),
)

POS_TRANSACTIONS = Channel(
    name="pos_transactions",
    format="csv",
    description="Store till transactions: one row per line item; returns are rows of type `return`.",
    key=("transaction_id", "line_number"),
    event_time="transacted_at",
    timezone="Europe/Amsterdam",
    delimiter=";",
    columns=(
        Column("transaction_id", required=True),
        Column("line_number", "int", required=True, min_value=1),
        Column("store_id", required=True),
        Column("transacted_at", "timestamp", required=True, description="store local time, no offset"),
        Column("transaction_type", "enum", required=True, allowed=("sale", "return", "void")),
        Column("sku", required=True),
        Column("category"),
        Column("quantity", "int", required=True, min_value=1),
        Column("unit_price", "decimal", required=True, min_value=0),
        Column("unit_cost", "decimal", min_value=0),
        Column("discount_amount", "decimal", min_value=0),
        Column("loyalty_id"),
        Column("customer_email", pii=True),
        Column("customer_phone", pii=True),
        Column("original_transaction_id", description="for returns: the sale returned"),
        Column("payment_method", "enum", allowed=("card", "cash", "voucher", "mobile")),
    ),
)

SUPPORT_TICKETS = Channel(
    name="support_tickets",
    format="parquet",
    description=(
        "Service desk tickets and complaints: one row per ticket version (opened or changed that day)."
    ),
    key=("ticket_id", "updated_at"),
    event_time="updated_at",
    timezone="UTC",
    columns=(
        Column("ticket_id", required=True),
        Column("updated_at", "timestamp", required=True),
        Column("opened_at", "timestamp", required=True),
        Column("channel", "enum", required=True, allowed=("phone", "email", "chat", "social", "store")),
        Column("category", required=True, description="e.g. delivery, product_quality, billing, returns"),
        Column("is_complaint", "bool", required=True),
        Column("status", "enum", required=True, allowed=("open", "pending", "resolved", "closed")),
        Column("priority", "enum", allowed=("low", "normal", "high", "urgent")),
        Column("account_id"),
        Column("customer_email", pii=True),
        Column("customer_phone", pii=True),
        Column("customer_name", pii=True),
        Column("claim", description="ICON interest: what the customer asks for"),
        Column(
            "standard_applied",
            description="ICON criteria: the objective standard, e.g. 'refund within 5 days'",
        ),
        Column("sla_hours", "int", min_value=0, description="hours the standard allows to resolve"),
        Column("options_offered", description="ICON options, separated by '|'"),
        Column("alternative_accepted", description="ICON no-agreement alternative accepted, if any"),
        Column("first_response_at", "timestamp"),
        Column("resolved_at", "timestamp"),
        Column("contact_count", "int", min_value=0),
        Column("reopened", "bool"),
        Column("satisfaction_score", "int", min_value=1, max_value=5, description="CSAT after resolution"),
    ),
)

MARKETING_EVENTS = Channel(
    name="marketing_events",
    format="parquet",
    description=(
        "Marketing and social events: sends, opens, clicks, visits, social mentions, referrals, reviews."
    ),
    key=("event_id",),
    event_time="event_at",
    timezone="UTC",
    columns=(
        Column("event_id", required=True),
        Column("event_at", "timestamp", required=True),
        Column(
            "event_type",
            "enum",
            required=True,
            allowed=(
                "send",
                "open",
                "click",
                "visit",
                "social_mention",
                "share",
                "referral",
                "referral_converted",
                "review",
                "unsubscribe",
            ),
        ),
        Column("channel", "enum", allowed=("email", "sms", "social", "web", "push")),
        Column("campaign_id"),
        Column("account_id"),
        Column("email", pii=True),
        Column("social_handle", pii=True),
        Column("followers", "int", min_value=0),
        Column("rating", "int", min_value=1, max_value=5),
        Column("referred_email", pii=True),
        Column("url"),
    ),
)

SURVEYS = Channel(
    name="surveys",
    format="csv",
    description="Satisfaction survey responses: CSAT, NPS, expectation and perceived performance.",
    key=("response_id",),
    event_time="submitted_at",
    timezone="UTC",
    columns=(
        Column("response_id", required=True),
        Column("submitted_at", "timestamp", required=True),
        Column("survey_type", "enum", required=True, allowed=("csat", "nps", "relationship")),
        Column("touchpoint", "enum", allowed=("web", "store", "support", "delivery")),
        Column("account_id"),
        Column("email", pii=True),
        Column("ticket_id"),
        Column("csat_score", "int", min_value=1, max_value=5),
        Column("nps_score", "int", min_value=0, max_value=10),
        Column("expectation_score", "int", min_value=1, max_value=10),
        Column("perceived_score", "int", min_value=1, max_value=10),
        Column("comment"),
    ),
)

CHANNELS: dict[str, Channel] = {
    c.name: c
    for c in (CRM_CONTACTS, WEB_ORDERS, POS_TRANSACTIONS, SUPPORT_TICKETS, MARKETING_EVENTS, SURVEYS)
}


def raw_column_name(contract_name: str) -> str:
    """Raw tables flatten dotted JSON paths: ``customer.email`` becomes ``customer__email``."""
    return contract_name.replace(".", "__")


def get_channel(name: str) -> Channel:
    try:
        return CHANNELS[name]
    except KeyError:
        known = ", ".join(CHANNELS)
        raise KeyError(f"unknown channel {name!r}; the landing contract knows: {known}") from None
