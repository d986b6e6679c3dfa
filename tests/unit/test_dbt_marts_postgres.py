"""The Differentiate, Interact and Customize marts, unchanged, on PostgreSQL: all three layers build (with
their dbt unit tests) and the marts hold what the DuckDB build holds for the fixture.

Needs a server: set CUSTOMER360_TEST_POSTGRES to a libpq connection string of a role that may create
databases (as for test_dbt_project_postgres.py), else the server tests/conftest.py finds. The analytics
tables the CLV and churn stages would write are stood in for by SQL (every purchaser alive, CLV =
historical net revenue, churn and baseline score 0.5, every model run 'skipped', no CLV validation
rows), which is all the analytics layer needs to run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import dbt_runner, raw_warehouse

pytestmark = pytest.mark.postgres

AS_OF_DATE = "2026-11-24"

ANALYTICS_SQL = f"""
create schema if not exists analytics;
create table analytics.customer_clv_predictions as
select customer_id, date '{AS_OF_DATE}' as as_of_date, cast(1.0 as double precision) as p_alive,
    cast(0.5 as double precision) as expected_purchases_90d,
    cast(2.0 as double precision) as expected_purchases_365d,
    cast(avg(net_amount) as double precision) as expected_avg_spend,
    cast(sum(net_amount) as double precision) as predicted_clv_12m, 'fallback' as model_status
from intermediate.int_customer_purchase_days group by customer_id;
create table analytics.churn_predictions as
select customer_id, as_of_date, cast(0.5 as double precision) as churn_score, 'medium' as churn_band,
    cast(null as text) as top_reason_1, cast(null as text) as top_reason_2,
    cast(null as text) as top_reason_3,
    'fallback' as model_status, cast(0.5 as double precision) as baseline_score
from analytics.customer_clv_predictions;
create table analytics.clv_model_runs (run_id text, as_of_date date, model text);
create table analytics.churn_model_runs (run_id text, as_of_date date, model text);
create table analytics.model_runs (
    run_id text not null, as_of_date date not null, model text not null, version text, status text not null,
    reason text, refit_date date, training_window_start date, training_window_end date,
    data_fingerprint text, metrics json
);
insert into analytics.model_runs (run_id, as_of_date, model, status, reason, metrics)
select 'stand-in', date '{AS_OF_DATE}', model, 'skipped', 'stood in by the test', '{{}}'::json
from (values ('pareto_nbd'), ('gamma_gamma'), ('churn')) as models (model);
create table analytics.clv_validation (
    as_of_date date not null, model_version text not null, refit_date date not null,
    calibration_end date not null, holdout_end date not null, curve text not null, x_label text not null,
    x_value integer not null, n_customers bigint, actual double precision, predicted double precision,
    relative_error double precision
);
"""


def test_given_postgres_target_when_all_three_layers_build_then_the_marts_match_the_duckdb_definitions(
    postgres_database: dict[str, str], tmp_path: Path
) -> None:
    import psycopg2

    conninfo = " ".join(f"{key}={value}" for key, value in postgres_database.items())
    env = {
        "CUSTOMER360_TARGET": "postgres",
        "CUSTOMER360_PG_HOST": postgres_database.get("host", "127.0.0.1"),
        "CUSTOMER360_PG_PORT": postgres_database.get("port", "5432"),
        "CUSTOMER360_PG_USER": postgres_database.get("user", "postgres"),
        "CUSTOMER360_PG_PASSWORD": postgres_database.get("password", ""),
        "CUSTOMER360_PG_DBNAME": postgres_database["dbname"],
    }
    dbt_vars = dbt_runner.dbt_vars(AS_OF_DATE, pseudonym_salt="test-salt")
    raw_warehouse.build_raw_postgres(conninfo, with_interactions=True)
    staging_args = [
        "build",
        "--selector",
        "staging",
        "--resource-type",
        "seed",
        "--resource-type",
        "model",
    ]
    staging = dbt_runner.run_dbt([*staging_args, *dbt_vars], tmp_path, env)
    assert staging.success, staging.report()
    raw_warehouse.build_identity_tables_postgres(conninfo)
    marts = dbt_runner.run_dbt(["build", "--selector", "core", *dbt_vars], tmp_path, env)
    assert marts.success, marts.report()
    with psycopg2.connect(conninfo) as con, con.cursor() as cur:
        cur.execute(ANALYTICS_SQL)
    analytics = dbt_runner.run_dbt(["build", "--selector", "analytics", *dbt_vars], tmp_path, env)
    assert analytics.success, analytics.report()
    assert any("customer_next_best_action_precedence_and_consent" in uid for uid in analytics.statuses)
    kpi_unit_test = "unit_test.customer360.kpi_daily.kpi_daily_figures_per_date_from_facts"
    assert marts.statuses.get(kpi_unit_test) == "pass"
    assert (
        analytics.statuses.get(
            "unit_test.customer360.revenue_at_risk.revenue_at_risk_weights_revenue_by_churn_score_per_band"
        )
        == "pass"
    )

    with psycopg2.connect(conninfo) as con, con.cursor() as cur:
        cur.execute(
            "select ticket_id, hours_to_resolve, is_first_contact_resolution, is_sla_met "
            "from marts.fct_support_tickets order by ticket_id"
        )
        assert cur.fetchall() == [
            ("TK-1", 48.0, False, True),
            ("TK-2", None, False, False),
            ("TK-3", 48.0, True, False),
            ("TK-4", 23.0, False, True),
            ("TK-5", None, False, False),
        ]
        cur.execute(
            "select p.email, a.action_code, a.contact_channel, a.reason "
            "from marts.customer_next_best_action as a "
            "join restricted.dim_customer_pii as p using (customer_id) order by p.email"
        )
        rows = {r[0]: r[1:] for r in cur.fetchall()}
        assert rows["anna.devries@example.com"] == (
            "service_recovery",
            "phone",
            "SLA breached on ticket TK-3 on 2026-11-11; CSAT 2 on 2026-11-13",
        )
        assert rows["carla@example.org"][:2] == ("engage_advocate", "none")
        assert rows["dirk@example.nl"] == ("no_action", "none", "no rule matched")
        cur.execute("select nps from marts.satisfaction_by_segment where rfm_segment = 'Lost'")
        assert cur.fetchall() == [(-100.0,)]
        cur.execute("select influence_score, is_hidden_gem from marts.customer_influence where is_hidden_gem")
        assert cur.fetchall() == [(87.6, True)]
        # the run report's marts: 28 KPI dates up to the as-of date; every stand-in score is 0.5 (medium), so
        # revenue at risk is half the band's revenue
        cur.execute("select count(*), max(kpi_date)::text, min(currency) from marts.kpi_daily")
        assert cur.fetchall() == [(28, AS_OF_DATE, "EUR")]
        cur.execute(
            "select churn_band, customers > 0, abs(revenue_at_risk - net_revenue_12m * 0.5) <= 0.01 "
            "from marts.revenue_at_risk"
        )
        assert cur.fetchall() == [("medium", True, True)]
