"""A later version of a web order replaces all its lines, from the landing file to the marts.

A web order is delivered whole (one JSON line lists its lines): when the shop sends it again with fewer
lines, the lines it no longer lists are gone from staging and from the order marts, through the daily
incremental builds (dbt_project/macros/deduplication.sql, ``version_of``).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from customer360.warehouse import connect as connect_warehouse
from tests.support.pipeline_run import run_stages
from tests.support.shared_runs import END, clone_home

pytestmark = pytest.mark.slow


def _stage_results(done) -> list[dict]:
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"stage"')]
    assert results and all(r["ok"] for r in results), done.stdout + done.stderr[-3000:]
    return results


def test_given_a_web_order_delivered_again_with_fewer_lines_when_the_next_day_runs_then_only_new_lines_remain(
    single_run, tmp_path
):
    # GIVEN a home that loaded END, and a web order delivered by then with at least two lines
    settings = clone_home(single_run[0], tmp_path / "home")
    order = next(
        order
        for path in sorted((settings.landing_root / "web_orders").rglob("*.jsonl"), reverse=True)
        for order in map(json.loads, path.read_text(encoding="utf-8").splitlines())
        if len(order["lines"]) >= 2
    )
    # AND the shop sends it again the next day, updated then, with its first line only (status changed)
    day = END + timedelta(days=1)
    later = dict(order)
    later["lines"] = order["lines"][:1]
    later["status"] = "cancelled"
    later["updated_at"] = f"{day.isoformat()}T12:00:00+00:00"
    folder = settings.landing_root / "web_orders" / day.isoformat()
    folder.mkdir(parents=True)
    (folder / f"web_orders_{day}.jsonl").write_text(json.dumps(later) + "\n", encoding="utf-8")
    # WHEN that day's ingest, staging, identity and core builds run
    _stage_results(run_stages(settings, day, "redelivered", ("ingest:web_orders", "dbt:staging")))
    _stage_results(run_stages(settings, day, "redelivered", ("identity", "dbt:core")))
    first = order["lines"][0]["line_number"]
    with connect_warehouse(settings, read_only=True) as con:
        # THEN both builds were incremental (the daily path, not a full rebuild)
        builds = con.execute(
            "select layer, full_refresh, reason from audit.dbt_layer_builds "
            "where run_id = 'redelivered' order by 1"
        ).fetchall()
        # AND staging holds the order's first line only, from the new version, counting every raw row
        staging = con.execute(
            "select line_number, order_status, duplicate_count + superseded_count "
            "from staging.stg_web_orders__order_lines "
            "where order_id = ?",
            [order["order_id"]],
        ).fetchall()
        raw_rows = con.execute(
            "select count(*) from raw.web_orders where order_id = ?", [order["order_id"]]
        ).fetchone()
        # AND the order marts follow: one line, with the new status
        lines = con.execute(
            "select count(*) from marts.fct_order_lines where source_channel = 'web' and order_id = ?",
            [order["order_id"]],
        ).fetchone()[0]
        status = con.execute(
            "select order_status from marts.fct_orders where source_channel = 'web' and order_id = ?",
            [order["order_id"]],
        ).fetchall()
    assert [(layer, full) for layer, full, _ in builds] == [("core", False), ("staging", False)], builds
    assert [(n, s) for n, s, _ in staging] == [(first, "cancelled")]
    assert 1 + staging[0][2] == raw_rows[0] >= len(order["lines"]) + 1
    assert lines == 1 and status == [("cancelled",)]
