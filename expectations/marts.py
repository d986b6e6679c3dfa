"""Marts stage: cross-model reconciliations dbt's per-model tests do not express.

- identity: every source record of ``intermediate.int_contact_records_unioned`` is mapped exactly once in
  ``identity.customer_source_xref`` (no record lost, none mapped twice); mappings without a source record
  are reported (warning);
- customers: ``marts.dim_customers`` has one row per distinct ``customer_id`` of the xref;
- revenue: completed-order revenue in ``marts.fct_orders`` equals staging within a cent, per channel;
- RFM: r/f/m scores between 1 and 5, a segment on every row, every row as of the run's date;
- profiles: every resolved source record's customer has exactly one row in ``marts.dim_customers``;
- history: every dbt snapshot in schema ``snapshots`` (read from ``dbt_project/snapshots/*.yml``) has at most
  one current row per unique key and no overlapping validity ranges;
- CLV: the holdout check of the CLV models (``marts.clv_holdout_validation``) over- or under-predicts the
  repeat purchases of the holdout by at most ``CLV_HOLDOUT_TOLERANCE`` (warning: the model is still the best
  estimate there is, but its numbers deserve less trust).

Failures of checks on a ``marts`` table, or of checks with ``meta={"marts": [...]}``, hold those marts back
from publishing instead of stopping the run (``customer360.quality.alerting``).

How an order line's net amount is computed from staging is in ``LINE_NET_AMOUNT_SQL``; keep it equal to the
dbt definition of ``fct_orders.net_amount`` for completed orders (no returns, shipping excluded).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import great_expectations.expectations as gxe

from customer360.quality.query_check import ExpectQueryToReturnNoRows
from customer360.quality.specs import SuiteSpec, critical, sql_literal, warning
from customer360.warehouse import IDENTITY_SCHEMA

MARTS_SCHEMA = "marts"
XREF_TABLE = "customer_source_xref"
IDENTITY_INPUT = "intermediate.int_contact_records_unioned"
WEB_ORDER_LINES = "staging.stg_web_orders__order_lines"
POS_TRANSACTION_LINES = "staging.stg_pos_transactions__transaction_lines"

LINE_NET_AMOUNT_SQL = "quantity * unit_price - coalesce(discount_amount, 0)"
REVENUE_TOLERANCE = 0.01  # a cent
RFM_SCORE_COLUMNS = ("r_score", "f_score", "m_score")


def xref_suite() -> SuiteSpec:
    key = "source_channel, source_record_id"
    return SuiteSpec(
        name=f"{IDENTITY_SCHEMA}.{XREF_TABLE}",
        schema=IDENTITY_SCHEMA,
        table=XREF_TABLE,
        expectations=[
            ExpectQueryToReturnNoRows(
                unexpected_rows_query=(
                    "with checked as (select * from {batch}) "
                    f"select u.source_channel, u.source_record_id, count(x.customer_id) as mappings "
                    "from (select distinct source_channel, source_record_id "
                    f"from {IDENTITY_INPUT}) as u left join checked as x using ({key}) "
                    "group by u.source_channel, u.source_record_id having count(x.customer_id) <> 1"
                ),
                description=f"every record of {IDENTITY_INPUT} is mapped to exactly one customer_id",
                **critical("stable identity: no record lost or mapped twice"),
            ),
            ExpectQueryToReturnNoRows(
                unexpected_rows_query=(
                    "with checked as (select * from {batch}) "
                    f"select x.source_channel, x.source_record_id, x.customer_id from checked as x "
                    f"where not exists (select 1 from {IDENTITY_INPUT} as u "
                    "where u.source_channel = x.source_channel and u.source_record_id = x.source_record_id)"
                ),
                description=f"every mapping belongs to a record of {IDENTITY_INPUT}",
                **warning("mappings of records that are no longer delivered"),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="match_score",
                min_value=0,
                max_value=1,
                **warning("a score is a probability-like value"),
            ),
        ],
    )


def dim_customers_suite() -> SuiteSpec:
    return SuiteSpec(
        name=f"{MARTS_SCHEMA}.dim_customers",
        schema=MARTS_SCHEMA,
        table="dim_customers",
        expectations=[
            gxe.ExpectTableRowCountToBeBetween(min_value=1, **critical("volume")),
            ExpectQueryToReturnNoRows(
                unexpected_rows_query=(
                    "select dim_rows, xref_customers from (select "
                    "(select count(*) from {batch}) as dim_rows, "
                    f"(select count(distinct customer_id) from {IDENTITY_SCHEMA}.{XREF_TABLE}) "
                    "as xref_customers) as counts where dim_rows <> xref_customers"
                ),
                description="one row per distinct customer_id of identity.customer_source_xref",
                **critical("reconciliation identity to marts"),
            ),
        ],
    )


def fct_orders_suite() -> SuiteSpec:
    query = f"""
with mart as (
    select source_channel, order_id, net_amount from {{batch}} where order_status = 'completed'
),
web_latest_lines as (
    select order_id, order_status, net_amount from (
        select order_id, order_status, {LINE_NET_AMOUNT_SQL} as net_amount,
            rank() over (
                partition by order_id order by coalesce(updated_at, ordered_at) desc, _load_date desc
            ) as version_rank
        from {WEB_ORDER_LINES}
    ) as versions
    where version_rank = 1
),
pos_sale_lines as (
    select transaction_id as order_id, {LINE_NET_AMOUNT_SQL} as net_amount
    from {POS_TRANSACTION_LINES} where lower(transaction_type) = 'sale'
),
staged as (
    select 'web' as source_channel, coalesce(sum(net_amount), 0) as staging_revenue
    from web_latest_lines where order_status = 'completed'
    union all
    select 'pos', coalesce(sum(p.net_amount), 0)
    from pos_sale_lines as p
    where p.order_id in (select order_id from mart where source_channel = 'pos')
),
marted as (
    select source_channel, coalesce(sum(net_amount), 0) as mart_revenue from mart group by source_channel
)
select s.source_channel, coalesce(m.mart_revenue, 0) as mart_revenue, s.staging_revenue,
    coalesce(m.mart_revenue, 0) - s.staging_revenue as difference
from staged as s left join marted as m on m.source_channel = s.source_channel
where abs(coalesce(m.mart_revenue, 0) - s.staging_revenue) > {REVENUE_TOLERANCE!r}
"""
    return SuiteSpec(
        name=f"{MARTS_SCHEMA}.fct_orders",
        schema=MARTS_SCHEMA,
        table="fct_orders",
        expectations=[
            ExpectQueryToReturnNoRows(
                unexpected_rows_query=query.strip(),
                description="completed-order revenue per channel equals staging within a cent",
                **critical("reconciliation staging to marts"),
            ),
        ],
    )


def customer_rfm_suite(as_of_date: date) -> SuiteSpec:
    expectations: list = [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=1, max_value=5, **critical("quintile scores"))
        for c in RFM_SCORE_COLUMNS
    ]
    expectations += [
        gxe.ExpectColumnValuesToNotBeNull(column="rfm_segment", **critical("every cell maps to a segment")),
        ExpectQueryToReturnNoRows(
            unexpected_rows_query=(
                "select as_of_date, count(*) as customers from {batch} "
                f"where as_of_date is distinct from date {sql_literal(as_of_date.isoformat())} "
                "group by as_of_date"
            ),
            description=f"every row is as of the run's date {as_of_date.isoformat()}",
            **critical("a stale mart"),
        ),
    ]
    return SuiteSpec(
        name=f"{MARTS_SCHEMA}.customer_rfm",
        schema=MARTS_SCHEMA,
        table="customer_rfm",
        expectations=expectations,
    )


def build_suites(as_of_date: date, run_id: str | None = None) -> list[SuiteSpec]:
    """The marts stage's suites for one run (``run_id`` is not needed here)."""
    return [
        xref_suite(),
        dim_customers_suite(),
        fct_orders_suite(),
        customer_rfm_suite(as_of_date),
        xref_profiles_suite(),
        *history_suites(),
        clv_validation_suite(),
    ]


# --- reconciliation: every source record in exactly one profile (appended by the reliability work) ------

DIM_CUSTOMERS = f"{MARTS_SCHEMA}.dim_customers"


def xref_profiles_suite() -> SuiteSpec:
    """Every resolved source record's customer has a profile in ``marts.dim_customers`` (and only one)."""
    return SuiteSpec(
        name=f"{IDENTITY_SCHEMA}.{XREF_TABLE}.profiles",
        schema=IDENTITY_SCHEMA,
        table=XREF_TABLE,
        expectations=[
            ExpectQueryToReturnNoRows(
                unexpected_rows_query=(
                    "with checked as (select * from {batch}), "
                    "profiles as (select customer_id, count(*) as profile_rows "
                    f"from {DIM_CUSTOMERS} group by 1) "
                    "select x.source_channel, x.source_record_id, x.customer_id, "
                    "coalesce(p.profile_rows, 0) as profile_rows "
                    "from checked as x left join profiles as p using (customer_id) "
                    "where coalesce(p.profile_rows, 0) <> 1"
                ),
                description=f"every resolved source record belongs to exactly one profile in {DIM_CUSTOMERS}",
                meta={
                    "severity": "critical",
                    "why": "reconciliation identity to marts",
                    "marts": ["dim_customers"],
                },
                severity="critical",
            ),
        ],
    )


# --- history (dbt snapshots, schema `snapshots`): one current row per key, no overlapping validity --------

SNAPSHOTS_SCHEMA = "snapshots"
SNAPSHOTS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "snapshots"
# Marts built from a snapshot: a broken history holds these back instead of stopping the run. A snapshot
# not listed here stops the run when its history is broken. (The lifecycle history is no longer a snapshot:
# customer_lifecycle_history is rebuilt from the facts every run, docs/incremental.md, "History marts".)
SNAPSHOT_MARTS: dict[str, list[str]] = {}


def snapshot_definitions(folder: Path = SNAPSHOTS_DIR) -> list[tuple[str, list[str]]]:
    """(snapshot name, unique key columns) of every snapshot defined in the dbt project's YAML files."""
    import yaml

    found: list[tuple[str, list[str]]] = []
    for path in sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for snapshot in document.get("snapshots") or []:
            key = (snapshot.get("config") or {}).get("unique_key")
            if not snapshot.get("name") or not key:
                continue
            found.append((snapshot["name"], [key] if isinstance(key, str) else list(key)))
    return found


def snapshot_suite(name: str, key: list[str]) -> SuiteSpec:
    """SCD type 2 sanity of one snapshot table: one current row per key, validity ranges do not overlap."""
    key_list = ", ".join(key)
    same_key = " and ".join(f"a.{k} is not distinct from b.{k}" for k in key)
    tag: dict = {"severity": "critical", "why": "history: one version valid at any time"}
    if name in SNAPSHOT_MARTS:
        tag["marts"] = SNAPSHOT_MARTS[name]
    return SuiteSpec(
        name=f"{SNAPSHOTS_SCHEMA}.{name}",
        schema=SNAPSHOTS_SCHEMA,
        table=name,
        expectations=[
            ExpectQueryToReturnNoRows(
                unexpected_rows_query=(
                    f"select {key_list}, count(*) as current_rows from {{batch}} "
                    f"where dbt_valid_to is null group by {key_list} having count(*) > 1"
                ),
                description=f"at most one current row (dbt_valid_to is null) per {key_list}",
                meta=dict(tag),
                severity="critical",
            ),
            ExpectQueryToReturnNoRows(
                unexpected_rows_query=(
                    "with checked as (select * from {batch}) "
                    f"select {', '.join(f'a.{k}' for k in key)}, a.dbt_valid_from, a.dbt_valid_to, "
                    "b.dbt_valid_from as other_valid_from, b.dbt_valid_to as other_valid_to "
                    f"from checked as a join checked as b on {same_key} and a.dbt_scd_id < b.dbt_scd_id "
                    "and a.dbt_valid_from < coalesce(b.dbt_valid_to, cast('infinity' as timestamp)) "
                    "and b.dbt_valid_from < coalesce(a.dbt_valid_to, cast('infinity' as timestamp))"
                ),
                description=f"validity ranges [dbt_valid_from, dbt_valid_to) per {key_list} do not overlap",
                meta=dict(tag),
                severity="critical",
            ),
        ],
        description=f"dbt snapshot {name}: SCD type 2 history",
    )


def history_suites() -> list[SuiteSpec]:
    return [snapshot_suite(name, key) for name, key in snapshot_definitions()]


# --- CLV holdout validation (customer360.clv.validation): the error of the repeat-purchase forecast ---------

# Largest |predicted - actual| / actual of the holdout's repeat purchases before the check warns. BG/NBD
# tracks CDNOW's holdout within a few percent (Fader, Hardie & Lee 2005); a larger error says the customers'
# purchase process differs from the model's (customer360.clv.validation, docs).
CLV_HOLDOUT_TOLERANCE = 0.10


def clv_validation_suite() -> SuiteSpec:
    return SuiteSpec(
        name=f"{MARTS_SCHEMA}.clv_holdout_validation",
        schema=MARTS_SCHEMA,
        table="clv_holdout_validation",
        expectations=[
            ExpectQueryToReturnNoRows(
                unexpected_rows_query=(
                    "select model_version, calibration_end, holdout_end, actual_repeat_purchases, "
                    "predicted_repeat_purchases, relative_error from {batch} "
                    f"where curve = 'total' and abs(relative_error) > {CLV_HOLDOUT_TOLERANCE}"
                ),
                description=(
                    "the CLV models predict the holdout's repeat purchases within "
                    f"{CLV_HOLDOUT_TOLERANCE:.0%}"
                ),
                **warning("a CLV forecast off by more than the tolerance on its own holdout"),
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="curve",
                value_set=["by_frequency", "cumulative", "total"],
                **warning("the validation mart's curves"),
            ),
        ],
    )
