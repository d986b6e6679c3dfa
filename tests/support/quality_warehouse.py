"""A small warehouse that passes every Great Expectations suite, for the quality tests.

``build_good_warehouse(path)`` writes the tables the raw, staging and marts suites read, with SQL only:

- ``raw.<channel>`` from the landing contract (every column VARCHAR, plus lineage): three records per
  channel delivered on ``AS_OF_DATE`` by ``RUN_ID``; enum values in mixed case (raw text is as delivered);
  ``web_orders`` has two lines per order (a record is an order); ``pos_transactions`` also holds one exact
  duplicate and one record of an older file whose other record was quarantined;
- ``audit.file_manifest`` / ``audit.quarantine`` reconciling with raw;
- ``staging.stg_*`` with the columns the staging suite reads, exact duplicates removed and counted;
- ``intermediate.int_contact_records_unioned``, ``identity.customer_source_xref`` and the marts
  ``dim_customers``, ``fct_orders``, ``customer_rfm``, consistent with staging.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import duckdb

from customer360.landing.contract import CHANNELS, Channel, Column, raw_column_name

AS_OF_DATE = date(2026, 11, 24)
RUN_ID = "scheduled__2026-11-24T00:00:00+00:00"
OLDER_RUN_ID = "scheduled__2026-11-23T00:00:00+00:00"
RECORDS_PER_CHANNEL = 3
LINEAGE_DDL = (
    "_load_date date, _source_file varchar, _source_line bigint, _file_sha256 varchar, "
    "_record_hash varchar, _ingest_run_id varchar"
)


def _value(channel: Channel, col: Column, i: int) -> str | None:
    """A contract-valid text value for record ``i`` of ``channel``."""
    leaf = col.name.split(".")[-1]
    if leaf.endswith("email"):
        return f"person{i}.{channel.name}@example.com"
    if col.type == "enum":
        value = col.allowed[i % len(col.allowed)]
        return value.upper() if i == 1 else value  # raw text keeps the delivered case
    if col.type == "int":
        return str(
            int(col.min_value if col.min_value is not None else 0) + 1 + (i if col.max_value is None else 0)
        )
    if col.type == "decimal":
        return f"{10 + i}.50"
    if col.type == "bool":
        return "true"
    if col.type == "date":
        return f"1990-01-0{i + 1}"
    if col.type == "timestamp":
        return f"{(AS_OF_DATE - timedelta(days=i)).isoformat()}T10:00:00"
    return f"{leaf}-{i}"


def _file(channel: str, day: date) -> str:
    return f"{channel}/{day.isoformat()}/{channel}-{day.isoformat()}.data"


def _raw_rows(channel: Channel) -> list[dict]:
    rows = []
    for i in range(RECORDS_PER_CHANNEL):
        lines = 2 if channel.unnest else 1
        for line in range(lines):
            values = {raw_column_name(c.name): _value(channel, c, i) for c in channel.columns}
            for c in channel.unnest_columns:
                values[raw_column_name(c.name)] = _value(channel, c, i)
            if channel.unnest:
                values["line_number"] = str(line + 1)
            key = next(iter(channel.key))
            values[raw_column_name(key)] = f"{channel.name[:3].upper()}-{i}"
            rows.append(
                {
                    **values,
                    "_load_date": AS_OF_DATE,
                    "_source_file": _file(channel.name, AS_OF_DATE),
                    "_source_line": i + 2,
                    "_ingest_run_id": RUN_ID,
                }
            )
    return rows


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    con.executemany(
        f"insert into {table} ({names}) values ({marks})", [[r[c] for c in columns] for r in rows]
    )


def _record_hash(channel: Channel, row: dict) -> str:
    text = "|".join(str(row.get(raw_column_name(c.name))) for c in channel.all_columns)
    return hashlib.md5(text.encode()).hexdigest()


def build_raw(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw; create schema if not exists audit")
    manifest = []
    for channel in CHANNELS.values():
        columns = ", ".join(f'"{raw_column_name(c.name)}" varchar' for c in channel.all_columns)
        con.execute(f"create table raw.{channel.name} ({columns}, {LINEAGE_DDL})")
        rows = _raw_rows(channel)
        if channel.name == "pos_transactions":
            older = _file(channel.name, AS_OF_DATE - timedelta(days=1))
            rows.append(
                {
                    **rows[0],
                    "_load_date": AS_OF_DATE - timedelta(days=1),
                    "_source_file": older,
                    "_source_line": 2,
                    "_ingest_run_id": OLDER_RUN_ID,
                    raw_column_name("transaction_id"): "POS-OLD",
                }
            )
            rows.append({**rows[1], "_source_line": 9})  # an exact duplicate of record 1, delivered again
            manifest.append((channel.name, AS_OF_DATE - timedelta(days=1), older, 1, 1, OLDER_RUN_ID))
        for row in rows:
            row["_file_sha256"] = f"sha-{row['_source_file']}"
            row["_record_hash"] = _record_hash(channel, row)
        _insert(con, f"raw.{channel.name}", rows)
        records = len({r["_source_line"] for r in rows if r["_load_date"] == AS_OF_DATE})
        manifest.append((channel.name, AS_OF_DATE, _file(channel.name, AS_OF_DATE), records, 0, RUN_ID))
    con.execute(
        "create table audit.file_manifest (channel varchar, load_date date, source_file varchar, "
        "file_sha256 varchar, file_bytes bigint, rows_read bigint, rows_loaded bigint, "
        "rows_quarantined bigint, "
        "status varchar, message varchar, run_id varchar, ingested_at timestamp)"
    )
    con.executemany(
        "insert into audit.file_manifest values "
        "($1, $2, $3, 'sha-' || $3, 100, $4 + $5, $4, $5, 'loaded', null, "
        "$6, timestamp '2026-11-25 01:00:00')",
        manifest,
    )
    con.execute(
        "create table audit.quarantine (run_id varchar, channel varchar, load_date date, "
        "source_file varchar, line_number bigint, column_name varchar, reason varchar, raw_record varchar, "
        "quarantined_at timestamp)"
    )
    older = _file("pos_transactions", AS_OF_DATE - timedelta(days=1))
    con.execute(
        "insert into audit.quarantine values (?, 'pos_transactions', ?, ?, 3, 'quantity', "
        "'column quantity: ''-3'' is below the minimum 1', '{}', timestamp '2026-11-24 01:00:00')",
        [OLDER_RUN_ID, AS_OF_DATE - timedelta(days=1), older],
    )


STAGING_SQL = {
    "stg_crm_contacts__contacts": """
        select nullif(lower(trim(email)), '') as email, cast(updated_at as timestamp) as updated_at,
            cast(created_at as timestamp) as created_at, contact_id""",
    "stg_web_orders__order_lines": """
        select order_id, cast(line_number as int) as line_number, lower(status) as order_status,
            lower(customer__email) as customer_email, cast(ordered_at as timestamp) as ordered_at,
            cast(updated_at as timestamp) as updated_at, cast(quantity as int) as quantity,
            cast(unit_price as decimal(18, 2)) as unit_price, cast(unit_cost as decimal(18, 2)) as unit_cost,
            cast(discount_amount as decimal(18, 2)) as discount_amount,
            cast(shipping_amount as decimal(18, 2)) as shipping_amount""",
    "stg_pos_transactions__transaction_lines": """
        select transaction_id, lower(transaction_type) as transaction_type,
            lower(customer_email) as customer_email,
            cast(transacted_at as timestamp) as transacted_at, cast(quantity as int) as quantity,
            cast(unit_price as decimal(18, 2)) as unit_price, cast(unit_cost as decimal(18, 2)) as unit_cost,
            cast(discount_amount as decimal(18, 2)) as discount_amount""",
    "stg_support_tickets__tickets": """
        select ticket_id, lower(customer_email) as customer_email,
            cast(updated_at as timestamp) as updated_at, cast(opened_at as timestamp) as opened_at,
            cast(first_response_at as timestamp) as first_response_at,
            cast(resolved_at as timestamp) as resolved_at""",
    "stg_marketing_events__events": """
        select event_id, lower(email) as email, lower(referred_email) as referred_email,
            cast(event_at as timestamp) as event_at""",
    "stg_surveys__responses": """
        select response_id, lower(email) as email, cast(submitted_at as timestamp) as submitted_at""",
}
STAGING_SOURCES = {
    "stg_crm_contacts__contacts": "crm_contacts",
    "stg_web_orders__order_lines": "web_orders",
    "stg_pos_transactions__transaction_lines": "pos_transactions",
    "stg_support_tickets__tickets": "support_tickets",
    "stg_marketing_events__events": "marketing_events",
    "stg_surveys__responses": "surveys",
}


def build_staging(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists staging")
    for model, select in STAGING_SQL.items():
        con.execute(
            f"""create table staging.{model} as
            with ranked as (
                select *,
                    row_number() over (
                        partition by _record_hash order by _load_date, _source_file, _source_line
                    ) as duplicate_rank,
                    count(*) over (partition by _record_hash) - 1 as duplicate_count
                from raw.{STAGING_SOURCES[model]}
            )
            {select}, _load_date, _source_file, _source_line, _file_sha256, _record_hash, _ingest_run_id,
                duplicate_count, 0 as superseded_count
            from ranked where duplicate_rank = 1"""
        )


def build_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "create schema if not exists intermediate; create schema if not exists identity; "
        "create schema if not exists marts"
    )
    con.execute(
        """create table intermediate.int_contact_records_unioned as
        select 'crm' as source_channel, contact_id as source_record_id, email
        from staging.stg_crm_contacts__contacts
        union all
        select distinct 'web', order_id, customer_email from staging.stg_web_orders__order_lines
        union all
        select distinct 'pos', transaction_id, customer_email
        from staging.stg_pos_transactions__transaction_lines"""
    )
    con.execute(
        """create table identity.customer_source_xref as
        select source_channel, source_record_id,
            'C-' || regexp_extract(email, 'person(\\d+)', 1) as customer_id,
            'email' as match_rule, 1.0 as match_score
        from intermediate.int_contact_records_unioned"""
    )
    con.execute(
        "create table marts.dim_customers as select customer_id, min(source_channel) as first_channel "
        "from identity.customer_source_xref group by customer_id"
    )
    con.execute(
        """create table marts.fct_orders as
        select order_id, 'web' as source_channel, any_value(order_status) as order_status,
            sum(quantity * unit_price - coalesce(discount_amount, 0)) as net_amount
        from staging.stg_web_orders__order_lines group by order_id
        union all
        select transaction_id, 'pos', case when bool_and(transaction_type = 'sale') then 'completed'
            else 'cancelled' end, sum(quantity * unit_price - coalesce(discount_amount, 0))
        from staging.stg_pos_transactions__transaction_lines group by transaction_id"""
    )
    con.execute(
        """create table marts.customer_rfm as
        select customer_id, ? as as_of_date, 10 as recency_days, 1 as frequency, 12.5 as monetary,
            3 as r_score, 4 as f_score, 5 as m_score, '345' as rfm_cell, 'Loyal' as rfm_segment
        from marts.dim_customers""",
        [AS_OF_DATE],
    )
    # CLV holdout check (expectations/marts.py, clv_validation_suite): a total within the tolerance
    con.execute(
        """create table marts.clv_holdout_validation as
        select * from (values
            ('by_frequency', 0, '0', 120, 40.0, 42.0, 0.05),
            ('cumulative', 90, 'day 90', 300, 200.0, 206.0, 0.03),
            ('total', 90, 'all', 300, 200.0, 206.0, 0.03)
        ) as t(curve, x_value, x_label, n_customers, actual_repeat_purchases, predicted_repeat_purchases,
            relative_error)"""
    )
    con.execute(
        "alter table marts.clv_holdout_validation add column model_version varchar default 'clv@2026-11-23'"
    )
    con.execute(
        "alter table marts.clv_holdout_validation add column calibration_end date default date '2026-08-25'"
    )
    con.execute(
        "alter table marts.clv_holdout_validation add column holdout_end date default date '2026-11-23'"
    )
    # dbt snapshot history (expectations/marts.py, history suites): for every snapshot the dbt project
    # defines, two versions of one key (one current) and a second key with one current version.
    con.execute("create schema if not exists snapshots")
    for name, key in _snapshot_definitions():
        keys = ", ".join(f"k as {column}" for column in key)
        con.execute(
            f"""create table snapshots.{name} as
            select {keys}, scd as dbt_scd_id, valid_from as dbt_valid_from, valid_to as dbt_valid_to
            from (values
                ('K1', 'scd-1', timestamp '2026-11-01 10:00', timestamp '2026-11-20 09:00'),
                ('K1', 'scd-2', timestamp '2026-11-20 09:00', null),
                ('K2', 'scd-3', timestamp '2026-11-02 10:00', null)
            ) as t(k, scd, valid_from, valid_to)"""
        )


def _snapshot_definitions() -> list[tuple[str, list[str]]]:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "expectations" / "marts.py"
    spec = importlib.util.spec_from_file_location("customer360_expectations_marts_fixture", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.snapshot_definitions()


def build_good_warehouse(path: Path, stages: tuple[str, ...] = ("raw", "staging", "marts")) -> Path:
    """A warehouse file at ``path`` whose tables pass the suites of ``stages``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        build_raw(con)
        if "staging" in stages or "marts" in stages:
            build_staging(con)
        if "marts" in stages:
            build_marts(con)
    finally:
        con.close()
    return path


def execute(path: Path, *statements: str) -> None:
    """Run ``statements`` on the warehouse (to corrupt one thing), then close the connection. The marts
    file beside it is attached as ``marts`` once publish has moved the fixture's marts there."""
    from tests.support.warehouse_files import open_warehouse

    con = open_warehouse(path, read_only=False)
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()
