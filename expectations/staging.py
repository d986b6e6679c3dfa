"""Staging stage: what dbt's tests do not cover on ``staging.stg_*`` (no key uniqueness/not-null here).

- volume: a staging model is not empty when its raw table has rows;
- reconciliation: every raw row delivered by the run's date is in staging, itself, as a counted exact
  duplicate or as an older version of its key
  (``count(raw) = count(staging) + sum(duplicate_count) + sum(superseded_count)``);
- formats: emails look like addresses where present (warning, and critical when most of them do not:
  that is a shifted column, not dirty data);
- values: amounts are not negative; no timestamp of a row delivered up to the run's date lies after the end
  of that day (rows of later deliveries are legitimate when an old date is re-run).

Column names are in ``STAGING_TABLES`` below, in one place, so they are easy to align with the dbt models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import great_expectations.expectations as gxe

from customer360.quality.query_check import ExpectQueryToReturnNoRows
from customer360.quality.specs import EMAIL_REGEX, SuiteSpec, critical, sql_literal, warning
from customer360.warehouse import RAW_SCHEMA

STAGING_SCHEMA = "staging"

# Shares of non-null emails that must look like addresses: below the first a warning, below the second red.
STAGING_EMAIL_WARNING_SHARE = 0.98
STAGING_EMAIL_CRITICAL_SHARE = 0.80


@dataclass(frozen=True)
class StagingTable:
    raw_table: str
    emails: tuple[str, ...] = ()
    timestamps: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()


STAGING_TABLES: dict[str, StagingTable] = {
    "stg_crm_contacts__contacts": StagingTable(
        raw_table="crm_contacts",
        emails=("email",),
        timestamps=("updated_at", "created_at"),
    ),
    "stg_web_orders__order_lines": StagingTable(
        raw_table="web_orders",
        emails=("customer_email",),
        timestamps=("ordered_at", "updated_at"),
        amounts=("unit_price", "unit_cost", "discount_amount", "shipping_amount"),
    ),
    "stg_pos_transactions__transaction_lines": StagingTable(
        raw_table="pos_transactions",
        emails=("customer_email",),
        timestamps=("transacted_at",),
        amounts=("unit_price", "unit_cost", "discount_amount"),
    ),
    "stg_support_tickets__tickets": StagingTable(
        raw_table="support_tickets",
        emails=("customer_email",),
        timestamps=("updated_at", "opened_at", "first_response_at", "resolved_at"),
    ),
    "stg_marketing_events__events": StagingTable(
        raw_table="marketing_events",
        emails=("email", "referred_email"),
        timestamps=("event_at",),
    ),
    "stg_surveys__responses": StagingTable(
        raw_table="surveys",
        emails=("email",),
        timestamps=("submitted_at",),
    ),
}

# Lineage columns every staging model carries (dbt macro lineage_columns).
RECORD_HASH_COLUMN = "_record_hash"
DUPLICATE_COUNT_COLUMN = "duplicate_count"
SUPERSEDED_COUNT_COLUMN = "superseded_count"


# A day's file holds events of that day in the source's local time: in UTC they may run up to a day past it
# (the same slack ingest allows before it calls an event "in the future").
TIME_ZONE_SLACK = timedelta(days=1)


def end_of_run_day(as_of_date: date) -> datetime:
    """The first instant after the run's day (UTC, naive like the staging ``_at`` columns)."""
    return datetime.combine(as_of_date + timedelta(days=1), time.min)


def table_suite(model: str, table: StagingTable, as_of_date: date) -> SuiteSpec:
    raw = f"{RAW_SCHEMA}.{table.raw_table}"
    expectations: list = [
        ExpectQueryToReturnNoRows(
            unexpected_rows_query=(
                f"select raw_rows from (select (select count(*) from {raw}) as raw_rows, "
                "(select count(*) from {batch}) as staging_rows) as counts "
                "where raw_rows > 0 and staging_rows = 0"
            ),
            description=f"not empty while {raw} has rows",
            **critical("volume"),
        ),
        ExpectQueryToReturnNoRows(
            unexpected_rows_query=(
                "select raw_rows, staging_rows, duplicates_removed, versions_superseded from (select "
                f"(select count(*) from {raw} "
                f"where _load_date <= date {sql_literal(as_of_date.isoformat())}) as raw_rows, "
                "(select count(*) from {batch}) as staging_rows, "
                f"(select coalesce(sum({DUPLICATE_COUNT_COLUMN}), 0) from {{batch}}) as duplicates_removed, "
                f"(select coalesce(sum({SUPERSEDED_COUNT_COLUMN}), 0) from {{batch}}) as versions_superseded"
                ") as counts "
                "where raw_rows <> staging_rows + duplicates_removed + versions_superseded"
            ),
            description=(
                "raw rows delivered by the run's date = staging rows + exact duplicates removed "
                "+ older versions superseded"
            ),
            **critical("reconciliation raw to staging"),
        ),
    ]
    for column in table.emails:
        expectations.append(
            gxe.ExpectColumnValuesToMatchRegex(
                column=column,
                regex=EMAIL_REGEX,
                mostly=STAGING_EMAIL_WARNING_SHARE,
                **warning("email format"),
            )
        )
        expectations.append(
            gxe.ExpectColumnValuesToMatchRegex(
                column=column,
                regex=EMAIL_REGEX,
                mostly=STAGING_EMAIL_CRITICAL_SHARE,
                **critical("most values are not emails: a shifted or mis-mapped column"),
            )
        )
    for column in table.amounts:
        expectations.append(
            gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, **critical("amounts"))
        )
    cutoff = end_of_run_day(as_of_date) + TIME_ZONE_SLACK
    for column in table.timestamps:
        expectations.append(
            ExpectQueryToReturnNoRows(
                unexpected_rows_query=(
                    f'select _load_date, _source_file, _source_line, "{column}" from {{batch}} '
                    f"where _load_date <= date {sql_literal(as_of_date.isoformat())} "
                    f'and "{column}" > timestamp {sql_literal(cutoff.isoformat(sep=" "))}'
                ),
                description=(
                    f"{column} of rows delivered up to {as_of_date.isoformat()} "
                    "is not more than a day after the end of that day (UTC)"
                ),
                **critical("time comes from the run"),
            )
        )
    return SuiteSpec(
        name=f"{STAGING_SCHEMA}.{model}", schema=STAGING_SCHEMA, table=model, expectations=expectations
    )


def build_suites(as_of_date: date, run_id: str | None = None) -> list[SuiteSpec]:
    """The staging stage's suites for one run (``run_id`` is not needed here)."""
    return [table_suite(model, table, as_of_date) for model, table in STAGING_TABLES.items()]
