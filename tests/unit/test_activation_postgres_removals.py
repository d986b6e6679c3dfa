"""Audiences taken out of the audience file leave the PostgreSQL list: their rows are deleted (a dry run only
counts them), the removal is recorded in the state, and rows of audiences still sent there are never touched.

No pipeline run: the state is an in-memory DuckDB with the activation DDL and the syncs a previous run would
have recorded; the list is a real table in a throwaway PostgreSQL database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from customer360.activation.audiences import Audience, AudienceFile, Destination
from customer360.activation.postgres_removals import remove, retired
from customer360.activation.postgres_table import ensure_table
from customer360.activation.state import attach_state
from customer360.settings import Settings
from tests.support.postgres_databases import url_from_params

pytestmark = pytest.mark.postgres

DAY1, DAY2 = date(2026, 12, 6), date(2026, 12, 7)
CRM = Destination("crm", "postgres", options={"table": "audience_list", "schema": "public"})
ADS = Destination("ads", "postgres", options={"table": "ads_list", "schema": "public"})
MEMBERS = {"tier_a": ["a1", "a2", "a3"], "churn": ["c1", "c2"], "vip": ["v1"]}


def _audience(name: str, *destinations: str) -> Audience:
    return Audience(name, f"{name} test audience", (), ("value_tier",), (), "none", destinations)


def _file(*audiences: Audience, destinations: tuple[Destination, ...] = (CRM, ADS)) -> AudienceFile:
    return AudienceFile(Path("audiences.yml"), 2, {d.name: d for d in destinations}, audiences)


@pytest.fixture
def url(postgres_database) -> str:
    return url_from_params(postgres_database)


@pytest.fixture
def lists(url) -> str:
    """``audience_list`` holding tier_a, churn and vip, and ``ads_list`` holding churn, as a run left them."""
    import psycopg2

    with psycopg2.connect(url) as connection, connection.cursor() as cur:
        for table, audiences in (("audience_list", ("tier_a", "churn", "vip")), ("ads_list", ("churn",))):
            ensure_table(cur, "public", table)
            cur.execute(f"truncate public.{table}")
            for audience in audiences:
                for key in MEMBERS[audience]:
                    cur.execute(
                        f"insert into public.{table} values (%s, %s, '{{}}'::jsonb, 'h', 'run-1', now())",
                        [audience, key],
                    )
    return url


@pytest.fixture
def state(tmp_path) -> duckdb.DuckDBPyConnection:
    """The activation state after run-1 synced every audience to the lists above."""
    con = duckdb.connect()
    # No state file in this home: a read-only attach gives the in-memory state with the current DDL.
    attach_state(con, Settings(home=tmp_path), read_only=True)
    synced = datetime(2026, 12, 6, 3, 0)
    for destination, audience, table in (
        ("crm", "tier_a", "public.audience_list"),
        ("crm", "churn", "public.audience_list"),
        ("crm", "vip", "public.audience_list"),
        ("ads", "churn", "public.ads_list"),
    ):
        rows = len(MEMBERS[audience])
        con.execute(
            "insert into state.postgres_syncs values (?, ?, ?, 'run-1', ?, ?, ?, 0, ?)",
            [destination, audience, DAY1, table, rows, rows, synced],
        )
    yield con
    con.close()


def _table(url: str, table: str = "audience_list") -> dict[str, list[str]]:
    import psycopg2

    with psycopg2.connect(url) as connection, connection.cursor() as cur:
        cur.execute(f"select audience, customer_key from public.{table} order by 1, 2")
        result: dict[str, list[str]] = {}
        for audience, key in cur.fetchall():
            result.setdefault(audience, []).append(key)
        return result


def test_given_an_audience_removed_from_the_file_when_activated_then_only_its_rows_leave_the_list(
    state, lists
):
    audiences = _file(_audience("tier_a", "crm"), _audience("churn", "crm", "ads"))  # vip removed

    dry = remove(state, lists, audiences, DAY2, "run-2-dry", dry_run=True)
    assert [(r["audience"], r["destination"], r["status"], r["removed"]) for r in dry] == [
        ("vip", "crm", "would remove", 1)
    ]
    assert _table(lists)["vip"] == ["v1"]
    assert state.execute("select count(*) from state.postgres_removals").fetchone() == (0,)

    done = remove(state, lists, audiences, DAY2, "run-2", dry_run=False)
    assert [(r["audience"], r["table"], r["status"], r["removed"]) for r in done] == [
        ("vip", "public.audience_list", "removed", 1)
    ]
    assert _table(lists) == {"churn": ["c1", "c2"], "tier_a": ["a1", "a2", "a3"]}
    assert _table(lists, "ads_list") == {"churn": ["c1", "c2"]}
    assert state.execute(
        "select destination, audience, target_table, run_date, run_id, deleted from state.postgres_removals"
    ).fetchall() == [("crm", "vip", "public.audience_list", DAY2, "run-2", 1)]
    assert remove(state, lists, audiences, DAY2, "run-2-retry", dry_run=False) == []


def test_given_a_destination_removed_from_an_audience_when_activated_then_that_list_loses_it(state, lists):
    audiences = _file(_audience("tier_a", "crm"), _audience("churn", "crm"), _audience("vip", "crm"))

    done = remove(state, lists, audiences, DAY2, "run-2", dry_run=False)

    assert [(r["audience"], r["destination"], r["removed"]) for r in done] == [("churn", "ads", 2)]
    assert _table(lists, "ads_list") == {}
    assert _table(lists)["churn"] == ["c1", "c2"]  # still sent to crm: untouched


def test_given_a_destination_renamed_to_the_same_table_when_activated_then_nothing_is_removed(state, lists):
    renamed = Destination("crm_v2", "postgres", options={"table": "audience_list", "schema": "public"})
    audiences = _file(
        _audience("tier_a", "crm_v2"),
        _audience("churn", "crm_v2", "ads"),
        _audience("vip", "crm_v2"),
        destinations=(renamed, ADS),
    )

    done = remove(state, lists, audiences, DAY2, "run-2", dry_run=False)

    assert {r["audience"] for r in done} == {"tier_a", "churn", "vip"}
    assert {r["status"] for r in done} == {"kept: the audience is still delivered to this table"}
    assert sum(r["removed"] for r in done) == 0
    assert _table(lists) == {"churn": ["c1", "c2"], "tier_a": ["a1", "a2", "a3"], "vip": ["v1"]}
    assert retired(state, audiences) == []  # recorded: not reported again


def test_given_an_audience_added_back_and_synced_when_removed_again_then_it_is_removed_again(state, lists):
    without_vip = _file(_audience("tier_a", "crm"), _audience("churn", "crm", "ads"))
    remove(state, lists, without_vip, DAY2, "run-2", dry_run=False)
    state.execute(
        "insert into state.postgres_syncs "
        "values ('crm', 'vip', ?, 'run-3', 'public.audience_list', 1, 1, 0, ?)",
        [DAY2 + timedelta(days=1), datetime.now() + timedelta(minutes=1)],
    )
    assert retired(state, without_vip) == [("crm", "vip", "public.audience_list")]


def test_given_no_connection_when_activated_then_the_removal_is_skipped_and_kept_for_later(state, lists):
    audiences = _file(_audience("tier_a", "crm"), _audience("churn", "crm", "ads"))

    done = remove(state, "", audiences, DAY2, "run-2", dry_run=False)

    assert [(r["audience"], r["status"]) for r in done] == [
        ("vip", "skipped: no connection (CUSTOMER360_ACTIVATION_POSTGRES_URL)")
    ]
    assert _table(lists)["vip"] == ["v1"]
    assert retired(state, audiences) == [("crm", "vip", "public.audience_list")]
