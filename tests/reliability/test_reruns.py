"""Reruns and backfills leave the same result: the pipeline's idempotence, proven on generated data.

Stages run as the DAG runs them (``pipeline_run.run_day``: the ``customer360.pipeline`` functions in DAG
order, one process per group). The history marts are compared too: they are rebuilt from the facts every
run, so a backfill and one run give the same history (tests/reliability/test_run_order.py runs the dates in
other orders). Running one date three times is proven through the real DAG in
tests/integration/test_daily_run.py (its rerun is the second run).
"""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pytest

from customer360.landing.contract import CHANNELS
from customer360.publish import current_database
from customer360.publish.snapshot import table_checksums
from tests.support.customer_ids import with_customer_ids_of
from tests.support.pipeline_run import run_day, run_stages
from tests.support.shared_runs import END, RUN_LOG_MARTS, assert_ok, clone_home, data_file

pytestmark = pytest.mark.slow


def _raw_counts(settings) -> dict[str, int]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return {c: con.execute(f'select count(*) from raw."{c}"').fetchone()[0] for c in CHANNELS}


def _ingest(settings, day, run_id) -> list[dict]:
    done = run_stages(settings, day, run_id, tuple(f"ingest:{c}" for c in CHANNELS), timeout=600)
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"stage"')]
    assert results and all(r["ok"] for r in results), done.stdout + done.stderr[-3000:]
    return results


def test_given_a_backfill_day_by_day_when_compared_with_one_run_then_the_marts_are_identical(
    single_run, backfill_run, tmp_path
):
    # GIVEN one home that ran BACKFILL_DAYS dates up to END one by one and one that ran only END
    single_db = current_database(single_run[0])
    # (a customer's stable id may differ by history; compare the backfill with the single run's ids)
    translated, ids_differing = with_customer_ids_of(current_database(backfill_run[0]), single_db, tmp_path)
    backfilled = table_checksums(translated)
    single = table_checksums(single_db)
    # THEN both published the same marts for the same customers, and all of them are identical, the history
    # marts included (rebuilt from the facts: docs/incremental.md, "History marts")
    assert set(backfilled) == set(single)
    # (scores never depend on the order of customer ids: equal values get equal scores, customer_rfm.yml)
    differing = sorted(t for t in single if backfilled[t] != single[t] and t not in RUN_LOG_MARTS)
    assert differing == [], f"{ids_differing} customer id(s) differed by history"


def test_given_a_file_delivered_again_under_another_name_then_it_is_skipped_as_a_duplicate(
    single_run, tmp_path
):
    # GIVEN a home that loaded END, and a copy of one of END's files under a new name
    settings = clone_home(single_run[0], tmp_path / "home")
    original = data_file(settings.landing_root, "web_orders", END)
    resent = settings.landing_root / "web_orders" / END.isoformat() / ("resent_" + original.name)
    resent.parent.mkdir(exist_ok=True)
    resent.write_bytes(original.read_bytes())
    before = _raw_counts(settings)
    # WHEN ingest runs again for END
    _ingest(settings, END, "redelivery")
    # THEN the copy is recorded as skipped_duplicate and raw is unchanged
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        status = con.execute(
            "select status, message from audit.file_manifest "
            "where source_file like ? and run_id = 'redelivery'",
            [f"%/{resent.name}"],
        ).fetchall()
    assert [s for s, _ in status] == ["skipped_duplicate"]
    assert original.name in status[0][1]
    assert _raw_counts(settings) == before


def test_given_a_late_file_for_an_earlier_date_when_it_reruns_then_it_loads_and_later_marts_show_it(
    backfill_run, tmp_path
):
    # GIVEN a backfilled home and a late web-orders file for END-1 with one new order
    settings = clone_home(backfill_run[0], tmp_path / "home")
    earlier = END - timedelta(days=1)
    folder = settings.landing_root / "web_orders" / earlier.isoformat()
    template = json.loads(data_file(settings.landing_root, "web_orders", earlier).read_text().splitlines()[0])
    folder.mkdir(exist_ok=True)
    template["order_id"] = "LATE-0001"
    template["status"] = "completed"
    (folder / "web_orders_late.jsonl").write_text(json.dumps(template) + "\n", encoding="utf-8")
    # WHEN END-1 is rerun (its ingest picks the file up)
    _ingest(settings, earlier, f"rerun__{earlier}")
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        loaded = con.execute(
            "select count(*), min(_load_date) from raw.web_orders where order_id = 'LATE-0001'"
        ).fetchone()
    # THEN its rows are in raw, dated END-1
    assert loaded[0] >= 1 and loaded[1] == earlier
    # WHEN END runs again THEN its marts include the late order
    assert_ok(run_day(settings, END, f"after_late__{END}", validate=False))
    with duckdb.connect(str(current_database(settings)), read_only=True) as con:
        assert con.execute("select count(*) from fct_orders where order_id = 'LATE-0001'").fetchone()[0] == 1
