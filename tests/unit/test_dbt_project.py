"""The dbt project end to end on a small fixture warehouse: both selectors build and the marts are right.

One module-scoped build: raw fixture -> `dbt build --selector staging` -> fixture identity tables ->
`dbt build --selector core`, each `dbt build` running the data tests and dbt unit tests of what it
selects. The tests then read the warehouse. dbt runs in-process (tests/support/dbt_runner.py) with target
and log paths in tmp, so nothing is written into the repository. The last tests build the same raw fixture
through the pipeline's own runner (customer360.dbt_runner) for two dates: the run context and dbt's partial
parsing.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from customer360 import dbt_runner as pipeline_dbt
from customer360.settings import Settings
from tests.support import dbt_runner, raw_warehouse, shared_dbt_parse
from tests.support.warehouse_files import open_warehouse

AS_OF_DATE = "2026-11-24"


def _vars(as_of_date: str | None) -> list[str]:
    return dbt_runner.dbt_vars(as_of_date, pseudonym_salt="test-salt")


@dataclass
class BuiltWarehouse:
    path: Path
    work_dir: Path
    env: dict[str, str]
    staging: object
    marts: object

    def dbt(self, args: list[str]) -> object:
        return dbt_runner.run_dbt(args, self.work_dir, self.env)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    work_dir = tmp_path_factory.mktemp("dbt")
    path = work_dir / "wh.duckdb"
    env = {
        "CUSTOMER360_TARGET": "duckdb",
        "CUSTOMER360_WAREHOUSE_PATH": str(path),
        "CUSTOMER360_DUCKDB_THREADS": "2",
        "CUSTOMER360_DUCKDB_MEMORY_LIMIT": "1GB",
    }
    raw_warehouse.build_raw_warehouse(path)
    staging = dbt_runner.run_dbt(["build", "--selector", "staging", *_vars(AS_OF_DATE)], work_dir, env)
    assert staging.success, staging.report()
    raw_warehouse.build_identity_tables(path)
    marts = dbt_runner.run_dbt(["build", "--selector", "core", *_vars(AS_OF_DATE)], work_dir, env)
    assert marts.success, marts.report()
    return BuiltWarehouse(path=path, work_dir=work_dir, env=env, staging=staging, marts=marts)


def _query(warehouse: BuiltWarehouse, sql: str) -> list[tuple]:
    with open_warehouse(warehouse.path) as con:
        return con.execute(sql).fetchall()


def _customer_of(warehouse: BuiltWarehouse, email: str) -> str:
    rows = _query(warehouse, f"select customer_id from restricted.dim_customer_pii where email = '{email}'")
    assert len(rows) == 1, f"expected one customer with email {email}, got {rows}"
    return rows[0][0]


def test_given_raw_fixture_when_staging_layer_builds_then_seeds_staging_identity_input_and_unit_tests_run(
    warehouse: BuiltWarehouse,
) -> None:
    statuses = warehouse.staging.statuses
    built = {uid.split(".")[-1] for uid in statuses if uid.startswith(("model.", "seed."))}
    assert built == {
        "country_codes",
        "rfm_segment_map",
        "next_best_action_rules",
        "stg_crm_contacts__contacts",
        "stg_web_orders__order_lines",
        "stg_pos_transactions__transaction_lines",
        "stg_support_tickets__tickets",
        "stg_marketing_events__events",
        "stg_surveys__responses",
        "int_crm_contacts_latest",
        "int_contact_records_changed",
        "int_contact_records",
        "int_contact_record_members",
        "int_contact_records_unioned",
    }
    unit_tests = [uid for uid in statuses if uid.startswith("unit_test.")]
    assert any("stg_pos_transactions__transaction_lines_timestamps_to_utc" in uid for uid in unit_tests)
    assert any("stg_crm_contacts__contacts_exact_duplicates" in uid for uid in unit_tests)
    assert sum(uid.startswith("test.") for uid in statuses) > 40


def test_given_staging_built_when_core_builds_then_marts_and_tests_pass_without_rebuilding_staging(
    warehouse: BuiltWarehouse,
) -> None:
    statuses = warehouse.marts.statuses
    built = {uid.split(".")[-1] for uid in statuses if uid.startswith("model.")}
    assert {
        "fct_orders",
        "fct_order_lines",
        "dim_customers",
        "customer_source_xref",
        "dim_customer_pii",
        "customer_rfm",
        "customer_rfm_history",
        "int_customer_purchase_days",
    } <= built
    assert not any(name.startswith("stg_") or name == "int_contact_records_unioned" for name in built)
    unit_tests = " ".join(uid for uid in statuses if uid.startswith("unit_test."))
    for name in (
        "golden_record_survivorship",
        "fct_orders_net_amount_with_return",
        "customer_rfm_equal_values_get_equal_scores",
        "int_source_records_changed_new_dated_and_moved",
        "int_source_records_changed_after_one_staging_build",
    ):
        assert name in unit_tests


def test_given_a_redelivered_store_sale_when_staged_then_one_copy_remains_and_the_drop_is_counted(
    warehouse: BuiltWarehouse,
) -> None:
    raw_count, staged_count, dropped = _query(
        warehouse,
        """
        select
            (select count(*) from raw.pos_transactions),
            (select count(*) from staging.stg_pos_transactions__transaction_lines),
            (select sum(duplicate_count) from staging.stg_pos_transactions__transaction_lines)
        """,
    )[0]
    assert (raw_count, staged_count, dropped) == (7, 6, 1)


@pytest.mark.parametrize(
    "raw_table, staging_model",
    [
        ("crm_contacts", "stg_crm_contacts__contacts"),
        ("web_orders", "stg_web_orders__order_lines"),
        ("pos_transactions", "stg_pos_transactions__transaction_lines"),
        ("support_tickets", "stg_support_tickets__tickets"),
        ("marketing_events", "stg_marketing_events__events"),
        ("surveys", "stg_surveys__responses"),
    ],
)
def test_given_raw_rows_when_staged_then_every_row_delivered_by_the_as_of_date_is_kept_or_counted(
    warehouse: BuiltWarehouse, raw_table: str, staging_model: str
) -> None:
    delivered, accounted = _query(
        warehouse,
        f"""
        select
            (select count(*) from raw.{raw_table} where _load_date <= date '{AS_OF_DATE}'),
            (select count(*) + sum(duplicate_count) + sum(superseded_count) from staging.{staging_model})
        """,
    )[0]
    assert delivered == accounted


def test_given_amsterdam_local_and_offset_timestamps_when_staged_then_they_are_utc(
    warehouse: BuiltWarehouse,
) -> None:
    rows = dict(
        _query(
            warehouse,
            """
            select contact_id || '@' || strftime(updated_at, '%Y-%m-%d %H:%M'), source_timezone
            from staging.stg_crm_contacts__contacts
            """,
        )
    )
    # 09:00 CET (winter), 14:30 CEST (summer) and 08:00+08:00 (explicit offset wins)
    assert "c-001@2026-01-10 08:00" in rows
    assert "c-001@2026-06-01 12:30" in rows
    assert "c-002@2026-03-03 00:00" in rows
    assert set(rows.values()) == {"Europe/Amsterdam"}


def test_given_a_store_return_when_orders_are_built_then_it_reduces_the_original_sale(
    warehouse: BuiltWarehouse,
) -> None:
    rows = _query(
        warehouse,
        """
        select order_id, order_status, is_revenue, gross_amount, returned_amount, net_amount
        from marts.fct_orders
        where order_id in ('T-5001', 'T-5002', 'W-1001', 'W-1006')
        order by order_id
        """,
    )
    assert [(r[0], r[1], r[2], float(r[3]), float(r[4]), float(r[5])) for r in rows] == [
        ("T-5001", "partially_returned", True, 60.0, 25.0, 35.0),
        ("W-1001", "partially_returned", True, 90.0, 22.5, 62.5),
        ("W-1006", "returned", False, 30.0, 30.0, 0.0),
    ]


def test_given_an_anonymous_store_sale_when_orders_are_built_then_it_has_no_customer(
    warehouse: BuiltWarehouse,
) -> None:
    assert _query(
        warehouse, "select customer_id, source_channel from marts.fct_orders where order_id = 'T-5003'"
    ) == [(None, "pos")]


def test_given_five_people_across_channels_when_dim_customers_builds_then_one_masked_row_per_person(
    warehouse: BuiltWarehouse,
) -> None:
    assert _query(warehouse, "select count(*), count(distinct customer_key) from marts.dim_customers") == [
        (5, 5)
    ]
    anna = _customer_of(warehouse, "anna.devries@example.com")
    row = _query(
        warehouse,
        f"""
        select email_masked, phone_masked, city, country_code, channels_present, email_opt_in, sms_opt_in,
            is_deleted, strftime(first_seen_at, '%Y-%m-%d %H:%M')
        from marts.dim_customers
        where customer_id = '{anna}'
        """,
    )[0]
    # Consent from the 2026-06-01 version: the 2026-12-01 version (email opt-out) is after the as-of date.
    assert row == (
        "a***@example.com",
        "+3161****678",
        "Utrecht",
        "NL",
        "crm,marketing,pos,surveys,web",
        True,
        True,
        False,
        "2026-01-10 08:00",
    )
    columns = {
        r[0]
        for r in _query(
            warehouse,
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'dim_customers'",
        )
    }
    assert not columns & {"email", "phone", "first_name", "last_name", "full_name", "street", "birth_date"}


def test_given_a_chinese_name_in_crm_when_the_golden_record_builds_then_it_is_kept_as_written(
    warehouse: BuiltWarehouse,
) -> None:
    wang = _customer_of(warehouse, "wang.xm@qq.com")
    pii = _query(
        warehouse,
        f"select full_name, first_name, phone_e164, country_code from restricted.dim_customer_pii "
        f"where customer_id = '{wang}'",
    )
    assert pii == [("王小明", None, "+8613800138000", "CN")]
    assert _query(
        warehouse,
        f"select name_script, channels_present from marts.dim_customers where customer_id = '{wang}'",
    ) == [("Han", "crm,pos,tickets,web")]


def test_given_a_deleted_crm_contact_when_dim_customers_builds_then_the_customer_is_flagged_deleted(
    warehouse: BuiltWarehouse,
) -> None:
    dirk = _customer_of(warehouse, "dirk@example.nl")
    assert _query(
        warehouse, f"select is_deleted, country_code from marts.dim_customers where customer_id = '{dirk}'"
    ) == [(True, "NL")]


def test_given_fixture_orders_when_rfm_builds_then_scores_cells_and_segments_follow_the_quintiles(
    warehouse: BuiltWarehouse,
) -> None:
    anna = _customer_of(warehouse, "anna.devries@example.com")
    bob = _customer_of(warehouse, "bob.smith@gmail.com")
    rows = {
        r[0]: r[1:]
        for r in _query(
            warehouse,
            "select customer_id, recency_days, frequency, monetary, rfm_cell, rfm_segment "
            "from marts.customer_rfm",
        )
    }
    # Anna: 3 purchase days (web 10-01, store 11-01 net of its return, web 11-20); 62.50 + 35.00 + 15.00.
    assert rows[anna][:2] == (4, 3) and float(rows[anna][2]) == 112.5
    # ... the best of the three on every measure: percent_rank 1, so 5 (customer_rfm.yml)
    assert rows[anna][3:] == ("555", "Champions")
    # Bob: one completed order; the cancelled, returned and pending ones do not count. The oldest purchase
    # (R 1), the fewest purchase days (F 1) and the middle revenue of three (percent_rank 0.5: M 3).
    assert rows[bob][:2] == (254, 1) and float(rows[bob][2]) == 110.0
    assert rows[bob][3:] == ("113", "Lost")
    assert len(rows) == 3  # Carla and Dirk never bought


def test_given_purchase_days_when_compared_with_orders_then_revenue_reconciles(
    warehouse: BuiltWarehouse,
) -> None:
    orders_revenue, days_revenue = _query(
        warehouse,
        """
        select
            (select sum(net_amount) from marts.fct_orders where is_revenue and customer_id is not null),
            (select sum(net_amount) from intermediate.int_customer_purchase_days)
        """,
    )[0]
    assert orders_revenue == days_revenue


def _history_tables(warehouse: BuiltWarehouse) -> dict[str, list[tuple]]:
    tables = {
        "customer_rfm_history": "select * from marts.customer_rfm_history",
        "customer_lifecycle_history": "select * from marts.customer_lifecycle_history",
        "customer_lifecycle_transitions": "select * from marts.customer_lifecycle_transitions",
    }
    return {name: sorted(_query(warehouse, sql), key=repr) for name, sql in tables.items()}


def test_given_built_marts_when_a_later_then_the_same_date_rebuilds_then_the_history_is_the_same_as_before(
    warehouse: BuiltWarehouse,
) -> None:
    # GIVEN the history marts built for AS_OF_DATE
    # (the history and the tables it reads; the incremental models stay as built: their backfill is the
    # planner's full rebuild, tests/reliability/test_run_order.py runs it)
    select = [
        "--select",
        "int_history_dates int_customer_purchase_days customer_rfm customer_rfm_history customer_lifecycle "
        "int_customer_lifecycle_checkpoints customer_lifecycle_history customer_lifecycle_transitions",
    ]
    before = _history_tables(warehouse)
    # WHEN a later date builds them, then AS_OF_DATE again (a backfill after a later run)
    later = warehouse.dbt(["run", *select, *_vars("2026-11-25")])
    assert later.success, later.report()
    later_dates = _query(warehouse, "select max(as_of_date) from marts.customer_rfm_history")
    again = warehouse.dbt(["run", *select, *_vars(AS_OF_DATE)])
    assert again.success, again.report()
    # THEN the later date's history reached its own date, and the backfilled date's history is exactly what
    # that date gave before: nothing of the later run is left, no period ends before it starts
    assert later_dates == [(date(2026, 11, 25),)]
    assert _history_tables(warehouse) == before
    assert _query(
        warehouse,
        "select count(*) from marts.customer_lifecycle_history where valid_to <= valid_from "
        f"or valid_from > date '{AS_OF_DATE}'",
    ) == [(0,)]


def test_given_an_as_of_date_when_the_history_builds_then_its_dates_are_weekly_back_a_year_and_it_ends_in_rfm(
    warehouse: BuiltWarehouse,
) -> None:
    # THEN the RFM history's dates are the as-of date and every 7 days before it within 365 days
    as_of = date.fromisoformat(AS_OF_DATE)
    dates = [
        d for (d,) in _query(warehouse, "select as_of_date from intermediate.int_history_dates order by 1")
    ]
    assert dates == sorted(as_of - timedelta(days=offset) for offset in range(0, 365, 7))
    # AND its rows for the as-of date are customer_rfm, and earlier dates hold the customers who had bought
    assert (
        _query(
            warehouse,
            f"select * from marts.customer_rfm_history where as_of_date = date '{AS_OF_DATE}' "
            "except select * from marts.customer_rfm",
        )
        == []
    )
    assert _query(warehouse, "select count(distinct as_of_date) > 1 from marts.customer_rfm_history") == [
        (True,)
    ]


def _relations(warehouse: BuiltWarehouse) -> list[tuple]:
    return _query(
        warehouse,
        "select table_schema, table_name, table_type from information_schema.tables order by 1, 2",
    )


def test_given_an_older_warehouse_with_the_retired_snapshot_when_dbt_runs_then_it_alone_is_dropped(
    warehouse: BuiltWarehouse,
) -> None:
    # GIVEN a warehouse from before the history marts: it still has the retired dbt snapshot's table, and
    # a table of someone else's beside it in the same schema
    before = _relations(warehouse)
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute("create table snapshots.customer_lifecycle_snapshot as select 1 as customer_id")
        con.execute("create table snapshots.analyst_scratch as select 1 as x")
    # WHEN dbt runs a model (the on-run-start hook of a build or run of the core build or the whole project)
    result = warehouse.dbt(["run", "--select", "int_history_dates", *_vars(AS_OF_DATE)])
    assert result.success, result.report()
    # THEN the retired table is gone and every other relation is still there
    assert _relations(warehouse) == sorted([*before, ("snapshots", "analyst_scratch", "BASE TABLE")])
    # AND on a warehouse without it (a new one) dropping is a no-op
    again = warehouse.dbt(["run-operation", "drop_retired_relations", *_vars(AS_OF_DATE)])
    assert again.success, again.report()
    assert _relations(warehouse) == sorted([*before, ("snapshots", "analyst_scratch", "BASE TABLE")])
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute("drop table snapshots.analyst_scratch")


def test_given_a_model_listed_as_retired_when_dropping_then_dbt_refuses_and_drops_nothing(
    warehouse: BuiltWarehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _relations(warehouse)
    retired = json.dumps({"as_of_date": AS_OF_DATE, "retired_relations": ["marts.dim_customers"]})
    result = warehouse.dbt(["run-operation", "drop_retired_relations", "--vars", retired])
    assert not result.success
    # (dbt prints a run-operation's error; its result carries none)
    assert "'marts.dim_customers' is still built by this project" in capsys.readouterr().out
    assert _relations(warehouse) == before


def test_given_no_as_of_date_when_a_dated_model_compiles_then_dbt_stops_with_a_message_saying_how_to_pass_it(
    warehouse: BuiltWarehouse,
) -> None:
    call = warehouse.dbt(["compile", "--select", "int_crm_contacts_latest", *_vars(None)])
    assert not call.success
    assert "var 'as_of_date' is not set" in call.report()


def test_given_postgres_target_env_vars_when_dbt_parses_then_the_project_parses_without_a_server(
    tmp_path: Path,
) -> None:
    env = {
        "CUSTOMER360_TARGET": "postgres",
        "CUSTOMER360_PG_HOST": "db.invalid",
        "CUSTOMER360_PG_PORT": "5433",
        "CUSTOMER360_PG_USER": "customer360",
        "CUSTOMER360_PG_PASSWORD": "",
        "CUSTOMER360_PG_DBNAME": "customer360",
    }
    call = dbt_runner.run_dbt(["parse", *_vars(AS_OF_DATE)], tmp_path, env)
    assert call.success, call.report()
    manifest = (tmp_path / "target" / "manifest.json").read_text(encoding="utf-8")
    assert '"adapter_type": "postgres"' in manifest


def test_given_a_built_staging_layer_when_the_incremental_path_unit_tests_run_then_they_pass(
    warehouse: BuiltWarehouse,
) -> None:
    # The unit tests of the incremental path read the model's own table, so they run after a build.
    result = warehouse.dbt(["test", "--select", "tag:incremental_path", *_vars(AS_OF_DATE)])
    assert result.success, result.report()
    ran = {uid.split(".")[-1] for uid in result.statuses if uid.startswith("unit_test.")}
    assert {
        "stg_marketing_events__events_incremental_recomputes_changed_keys_only",
        "int_crm_contacts_latest_incremental_changed_only",
        "int_contact_records_incremental_recomputes_changed_only",
        "int_contact_records_unioned_incremental_joined_and_left",
        "int_contact_record_members_incremental_changed_only",
        "stg_web_orders__order_lines_incremental_recomputes_whole_orders",
    } <= ran


# The pipeline's dbt runner (customer360.dbt_runner) passes the run's date and incremental window as
# environment variables, so that --vars stay the same from run to run and dbt keeps its partial parsing
# (dbt_project/macros/run_context.sql): a second daily build must not parse the whole project again, and its
# compiled SQL must carry its own date and window, not the first build's.


def _log_lines_since(log_path: Path, offset: int) -> str:
    with log_path.open(encoding="utf-8", errors="replace") as fh:
        fh.seek(offset)
        return fh.read()


FIRST_DAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def first_daily_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, object]:
    """A home whose warehouse holds the raw fixture after the pipeline's own dbt runner built the staging
    layer for ``FIRST_DAY``, and that build's result. The tests continue on copies of the home
    (``after_first_build``), so the day's first build runs once for all of them.

    Its settings are a pipeline home's (the same profile and ``--vars``), so it starts from the session's
    saved parses and adds its own to them."""
    s = Settings(home=tmp_path_factory.mktemp("pipeline_runner") / "home")
    s.warehouse_path.parent.mkdir(parents=True)
    raw_warehouse.build_raw_warehouse(s.warehouse_path)
    target = s.home / "dbt" / "target"
    shared_dbt_parse.seed_target(target, dbt_runner.PARSE_CACHE)
    first = pipeline_dbt.build(s, "staging", FIRST_DAY)
    shared_dbt_parse.keep_target(target, dbt_runner.PARSE_CACHE)
    return s, first


@pytest.fixture
def after_first_build(first_daily_build: tuple[Settings, object], tmp_path: Path) -> Settings:
    """A copy of ``first_daily_build``'s home, for a test's next build."""
    shutil.copytree(first_daily_build[0].home, tmp_path / "home")
    return Settings(home=tmp_path / "home")


def test_split_run_context_keeps_vars_stable_across_days_and_layers() -> None:
    day_one = {"as_of_date": "2026-11-23", "rfm_window_days": 365}
    day_two = {
        "as_of_date": "2026-11-24",
        "rfm_window_days": 365,
        "incremental_since_as_of": "2026-11-23",
        "incremental_files": ["crm_contacts/2026-11-20/late.csv"],
        "incremental_files_from": "2026-11-20",
    }
    stable_one, context_one = pipeline_dbt.split_run_context(day_one)
    stable_two, context_two = pipeline_dbt.split_run_context(day_two)
    assert stable_one == stable_two == {"rfm_window_days": 365, "marts_full_rebuild": False}
    assert context_two["incremental_files"] == ["crm_contacts/2026-11-20/late.csv"]
    env = pipeline_dbt.run_context_environment(context_one)
    assert env["CUSTOMER360_RUN_AS_OF_DATE"] == json.dumps("2026-11-23")
    # unset values are written as empty, so that nothing from an earlier call or the shell is read
    assert env["CUSTOMER360_RUN_INCREMENTAL_SINCE_AS_OF"] == ""
    assert pipeline_dbt.split_run_context({"marts_full_rebuild": True})[0] == {"marts_full_rebuild": True}


def test_given_two_daily_builds_when_the_second_runs_then_dbt_parses_partially_with_the_new_date(
    first_daily_build: tuple[Settings, object], after_first_build: Settings
) -> None:
    _, first = first_daily_build
    settings = after_first_build
    assert first.success
    log_path = settings.home / "dbt" / "logs" / "dbt.log"
    offset = log_path.stat().st_size

    second = pipeline_dbt.build(
        settings,
        "staging",
        date(2026, 11, 24),
        extra_vars={"incremental_since_as_of": "2026-11-23", "incremental_files": []},
    )
    assert second.success
    log = _log_lines_since(log_path, offset)
    assert "Unable to do partial parsing" not in log, log[-3000:]
    assert "Partial parsing enabled" in log, log[-3000:]

    compiled = (
        settings.home
        / "dbt"
        / "target"
        / "compiled"
        / "customer360"
        / "models"
        / "staging"
        / "pos_transactions"
        / "stg_pos_transactions__transaction_lines.sql"
    )
    sql = compiled.read_text(encoding="utf-8")
    assert "cast('2026-11-24' as date)" in sql
    assert "cast('2026-11-23' as date)" in sql  # the incremental window's start, from the run context


def test_given_the_pipeline_runner_when_a_layer_builds_then_dbt_unit_tests_run_only_when_asked(
    first_daily_build: tuple[Settings, object], after_first_build: Settings
) -> None:
    """GIVEN the pipeline's dbt runner WHEN it builds the staging layer THEN the day's build runs the models
    and data tests without dbt's unit tests (fixed inputs: this suite runs them), and with
    ``dbt_unit_tests`` (CUSTOMER360_DBT_UNIT_TESTS) it runs them too, and they pass."""
    _, daily = first_daily_build
    with_unit_tests = pipeline_dbt.build(
        replace(after_first_build, dbt_unit_tests=True), "staging", FIRST_DAY
    )

    assert daily.success and with_unit_tests.success
    assert "unit_test" not in daily.seconds_by_type
    assert daily.seconds_by_type["model"] > 0 and daily.seconds_by_type["test"] > 0
    assert with_unit_tests.seconds_by_type["unit_test"] > 0
    assert with_unit_tests.counts.get("pass", 0) > daily.counts.get("pass", 0)
