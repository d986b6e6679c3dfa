"""Daily runs build the staging layer, resolve identities and build the core layer incrementally, and the
result equals a full run.

``backfill_run`` ran END-2 (first build: full), END-1 and END (incremental: only the keys with new raw rows
are recomputed, only the records the new rows can reach are re-resolved, only the customers whose golden
record inputs changed are recomputed); ``single_run`` ran END once (a full build and resolution over the
same files). Their marts are compared in ``test_reruns``; here the staging, identity and core tables
themselves, and the logs that say how each was built. Customer ids depend on the order in which records
were first seen, so the core layer is compared with a full rebuild of the same home instead.
"""

from __future__ import annotations

import pytest

from customer360.settings import Settings
from customer360.warehouse import WAREHOUSE_CATALOGS_SQL, WAREHOUSE_SCHEMA_SQL
from tests.support.shared_runs import BACKFILL_DAYS, clone_home
from tests.support.warehouse_files import open_warehouse

pytestmark = pytest.mark.slow

# Which ingest run loaded a raw row differs between two homes by construction (run ids name the run).
RUN_SPECIFIC_COLUMNS = ("_ingest_run_id",)


# Identity output tables whose rows do not depend on which day a record was first resolved (the id registry
# and merge history do: a record first seen on END-2 gets its id on END-2 in a day-by-day run).
IDENTITY_OUTPUTS = ("customer_source_xref", "contact_points", "record_components", "record_rows")


def _checksums(settings, schema: str, only: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
    con = open_warehouse(settings.warehouse_path)  # the marts file attached as marts
    try:
        tables = [
            r[0]
            for r in con.execute(
                f"select table_name from information_schema.tables where {WAREHOUSE_CATALOGS_SQL} "
                f"and {WAREHOUSE_SCHEMA_SQL} = ? order by 1",
                [schema],
            ).fetchall()
            if not only or r[0] in only
        ]
        result = {}
        for table in tables:
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? "
                    "and table_name = ?",
                    [schema, table],
                ).fetchall()
            ]
            exclude = [c for c in RUN_SPECIFIC_COLUMNS if c in columns]
            projection = f"* exclude ({', '.join(exclude)})" if exclude else "*"
            result[table] = con.execute(
                f"""select count(*), coalesce(md5(string_agg(h, ',' order by h)), '')
                from (select md5(cast(r as varchar)) as h
                      from (select {projection} from {schema}.{table}) as r)"""
            ).fetchall()[0]
        return result
    finally:
        con.close()


def _query(settings, sql: str, params: tuple = ()) -> list[tuple]:
    con = open_warehouse(settings.warehouse_path)  # the marts file attached as marts
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _compare(backfill_run, single_run, schema: str, only: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    """The one-run home's checksums of ``schema`` and the tables whose day-by-day checksums differ."""
    incremental = _checksums(backfill_run[0], schema, only)
    full = _checksums(single_run[0], schema, only)
    assert set(incremental) == set(full)
    return full, sorted(t for t in full if incremental[t] != full[t])


def _builds(settings, layer: str = "staging") -> list[tuple]:
    return _query(
        settings,
        "select as_of_date, full_refresh, reason from audit.dbt_layer_builds where layer = ? "
        "order by finished_at",
        (layer,),
    )


def test_given_daily_runs_then_the_first_staging_build_is_full_and_the_next_ones_incremental(backfill_run):
    settings, runs = backfill_run
    builds = _builds(settings)
    assert [b[0] for b in builds] == [r.logical_date for r in runs]
    assert [b[1] for b in builds] == [True] + [False] * (BACKFILL_DAYS - 1)
    assert builds[0][2] == "no earlier build recorded"
    assert all(b[2].startswith("rows delivered after ") for b in builds[1:])


def test_given_incremental_daily_builds_then_staging_equals_a_full_rebuild_over_the_same_files(
    backfill_run, single_run
):
    full, differing = _compare(backfill_run, single_run, "staging")
    assert len(full) >= 6
    assert differing == [], f"staging tables differ between incremental and full builds: {differing}"
    # the comparison is about data, not empty tables: the four busy channels always hold rows (60 customers
    # may have no survey, or no ticket, in the days a backfill runs)
    busy = (
        "stg_crm_contacts__contacts",
        "stg_web_orders__order_lines",
        "stg_pos_transactions__transaction_lines",
        "stg_marketing_events__events",
    )
    assert all(full[table][0] > 0 for table in busy), {table: full[table][0] for table in busy}


# The identity-input models built with the staging layer (models/staging/identity_input), incremental too:
# a daily build recomputes only the source records whose staging rows may have changed.
IDENTITY_INPUT_TABLES = (
    "int_crm_contacts_latest",
    "int_contact_records",
    "int_contact_record_members",
    "int_contact_records_unioned",
)


def test_given_incremental_daily_builds_then_the_identity_input_equals_a_full_build_over_the_same_files(
    backfill_run, single_run
):
    full, differing = _compare(backfill_run, single_run, "intermediate", IDENTITY_INPUT_TABLES)
    assert set(full) == set(IDENTITY_INPUT_TABLES)
    assert all(rows > 0 for rows, _ in full.values())
    assert differing == [], f"identity-input tables differ between incremental and full builds: {differing}"
    # and the last daily build did recompute some source records, not all of them
    [(recomputed,)] = _query(backfill_run[0], "select count(*) from intermediate.int_contact_records_changed")
    assert 0 < recomputed < full["int_contact_record_members"][0]


def _identity_runs(settings) -> list[tuple]:
    return _query(
        settings,
        "select as_of_date, mode, mode_reason, records, records_resolved from identity.resolution_runs "
        "order by run_sequence",
    )


def test_given_daily_runs_then_identity_resolves_every_record_first_and_then_what_the_new_rows_reach(
    backfill_run,
):
    settings, runs = backfill_run
    resolutions = _identity_runs(settings)
    assert [r[0] for r in resolutions] == [r.logical_date for r in runs]
    assert [r[1] for r in resolutions] == ["full"] + ["incremental"] * (BACKFILL_DAYS - 1)
    assert resolutions[0][2] == "no earlier incremental state"
    for _, _, reason, records, resolved in resolutions[1:]:
        assert "new or gone since the last run" in reason
        assert resolved < records


def test_given_incremental_daily_resolution_then_identity_equals_a_full_resolution_over_the_same_files(
    backfill_run, single_run
):
    full, differing = _compare(backfill_run, single_run, "identity", IDENTITY_OUTPUTS)
    assert set(full) == set(IDENTITY_OUTPUTS)
    assert all(rows > 0 for rows, _ in full.values())
    assert differing == [], f"identity tables differ between daily and single resolution: {differing}"


def test_given_daily_runs_then_the_first_core_build_is_full_and_the_next_ones_incremental(backfill_run):
    settings, runs = backfill_run
    builds = _builds(settings, "core")
    assert [b[0] for b in builds] == [r.logical_date for r in runs]
    assert [b[1] for b in builds] == [True] + [False] * (BACKFILL_DAYS - 1)
    assert builds[0][2] == "no earlier build recorded"
    assert all(b[2].startswith("rows delivered after ") for b in builds[1:])


# The incremental models of the core layer and marts read from them.
CORE_INCREMENTAL_TABLES = (
    ("intermediate", "int_customers_golden_record"),
    ("intermediate", "int_golden_record_inputs"),
    ("intermediate", "int_source_record_customers"),
    ("marts", "customer_source_xref"),
    ("intermediate", "int_marketing_events_linked"),
    ("marts", "dim_customers"),
    ("restricted", "dim_customer_pii"),
    ("intermediate", "int_order_lines_unioned"),
    ("marts", "fct_order_lines"),
    ("marts", "fct_orders"),
    ("marts", "fct_interactions"),
    ("marts", "customer_rfm"),
)


@pytest.fixture(scope="module")
def core_rebuilt_in_full(backfill_run, tmp_path_factory) -> Settings:
    """A copy of the day-by-day home whose core layer was then rebuilt in full for the same date."""
    from customer360 import dbt_runner

    settings, runs = backfill_run
    copy = clone_home(settings, tmp_path_factory.mktemp("core_full") / "home")
    dbt_runner.build(copy, "core", runs[-1].logical_date, extra_vars={"marts_full_rebuild": True})
    return copy


def test_given_incremental_daily_core_builds_then_the_golden_record_and_orders_equal_a_full_rebuild(
    backfill_run, core_rebuilt_in_full
):
    for schema, table in CORE_INCREMENTAL_TABLES:
        incremental = _checksums(backfill_run[0], schema, (table,))
        full = _checksums(core_rebuilt_in_full, schema, (table,))
        assert full[table][0] > 0
        assert incremental == full, f"{schema}.{table} differs between incremental and full builds"
    # and the last daily build recomputed some customers, orders and source records, not all of them
    [(recomputed, customers, orders_recomputed, orders, records_recomputed, records)] = _query(
        backfill_run[0],
        "select (select count(distinct customer_id) from intermediate.int_golden_record_inputs_changed), "
        "(select count(*) from intermediate.int_customers_golden_record), "
        "(select count(*) from intermediate.int_orders_changed), (select count(*) from marts.fct_orders), "
        "(select count(*) from intermediate.int_source_records_changed), "
        "(select count(*) from intermediate.int_source_record_customers)",
    )
    assert 0 < recomputed < customers
    assert 0 < orders_recomputed < orders
    assert 0 < records_recomputed < records
