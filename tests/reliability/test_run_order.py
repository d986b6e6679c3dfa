"""Dates in any order: a run for a date gives the marts that date's data give, whatever ran before.

The same dates run forward (``backfill_run``) and newest first, then the others from the oldest
(``shuffled_run``: an earlier date after a later one, the README's `make run` then `customer360 run --date
<earlier>`). The history marts are rebuilt from the facts every run (docs/incremental.md, "History
marts"), so both orders publish identical marts; an older date never replaces the newer current snapshot
unless asked (``--publish-older``).
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from customer360.publish import current_database, current_snapshot
from customer360.publish.snapshot import SNAPSHOT_DB, table_checksums
from customer360.warehouse import connect as connect_warehouse
from tests.support.customer_ids import with_customer_ids_of
from tests.support.pipeline_run import run_stages
from tests.support.shared_runs import END, SHUFFLED_DATES, clone_home, without_run_logs

pytestmark = pytest.mark.slow


def _published_snapshot_of(settings, day: date):
    """The newest snapshot published for ``day`` in a home (kept beside the current one)."""
    found = sorted((settings.published_dir / "snapshots").glob(f"{day.isoformat()}__*"))
    assert found, f"no snapshot of {day} under {settings.published_dir}"
    return found[-1] / SNAPSHOT_DB


def _differing(database, reference, work) -> list[str]:
    translated, _ = with_customer_ids_of(database, reference, work)
    mine, theirs = without_run_logs(table_checksums(translated)), without_run_logs(table_checksums(reference))
    assert set(mine) == set(theirs)
    return sorted(t for t in theirs if mine[t] != theirs[t])


def test_given_the_same_dates_newest_first_then_shuffled_when_compared_with_forward_then_marts_are_identical(
    backfill_run, shuffled_run, tmp_path
):
    # GIVEN one home that ran the dates forward and one that ran them newest first, then from the oldest
    forward, shuffled = backfill_run[0], shuffled_run[0]
    assert [r.logical_date for r in shuffled_run[1]] == list(SHUFFLED_DATES)
    # THEN the current snapshots (END's) hold the same marts, history marts included, table by table
    assert _differing(current_database(shuffled), current_database(forward), tmp_path) == []


def test_given_an_earlier_date_run_after_a_later_one_then_the_later_snapshot_stays_current_and_says_how(
    shuffled_run,
):
    settings, runs = shuffled_run
    # GIVEN END ran first, then earlier dates
    manifest = json.loads((current_snapshot(settings) / "manifest.json").read_text(encoding="utf-8"))
    # THEN END's snapshot is still current: BI never moved back in time
    assert (manifest["logical_date"], manifest["run_id"]) == (END.isoformat(), runs[0].run_id)
    # AND each earlier run succeeded, said why it did not publish and how to, in its summary's warnings
    for run in runs[1:]:
        day = run.logical_date.isoformat()
        summary = json.loads((settings.run_dir(day) / "summary.json").read_text(encoding="utf-8"))
        assert summary["status"] == "success", summary["problems"]
        warned = [w for w in summary["warnings"] if w.startswith("publish: not published")]
        assert len(warned) == 1 and f"customer360 run --date {day} --publish-older" in warned[0], warned


def test_given_an_earlier_date_when_published_with_publish_older_then_it_is_current_and_equals_forward(
    backfill_run, shuffled_run, tmp_path
):
    # GIVEN the shuffled home, whose last run was SHUFFLED_DATES[-1] (earlier than the current snapshot's)
    settings = clone_home(shuffled_run[0], tmp_path / "home")
    day = SHUFFLED_DATES[-1]
    # WHEN its publish runs again with publish_older (`customer360 run --publish-older`)
    done = run_stages(settings, day, "publish_older", ("publish",), CUSTOMER360_PUBLISH_OLDER="true")
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"stage"')]
    assert results and all(r["ok"] for r in results), done.stdout + done.stderr[-3000:]
    # THEN that date's snapshot is current
    manifest = json.loads((current_snapshot(settings) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["logical_date"] == day.isoformat()
    # AND it holds the marts the forward run published for that date, history marts included
    forward_day = _published_snapshot_of(backfill_run[0], day)
    assert _differing(current_database(settings), forward_day, tmp_path) == []


def test_given_an_earlier_date_run_after_a_later_one_then_no_lifecycle_period_ends_before_it_starts(
    shuffled_run,
):
    # GIVEN the warehouse after the shuffled runs (its last date earlier than its first)
    settings = shuffled_run[0]
    last = SHUFFLED_DATES[-1]
    with connect_warehouse(settings, read_only=True) as con:
        # THEN no period ends on or before its start, or starts after the last run's date
        broken = con.execute(
            "select count(*) from marts.customer_lifecycle_history "
            "where valid_to <= valid_from or valid_from > ?",
            [last],
        ).fetchone()[0]
        # AND every transition changes the stage, dated up to that date, one per customer per day
        false_transitions = con.execute(
            "select count(*) from marts.customer_lifecycle_transitions "
            "where from_stage = to_stage or changed_on > ?",
            [last],
        ).fetchone()[0]
        history_dates = con.execute("select max(as_of_date) from marts.customer_rfm_history").fetchone()[0]
        periods = con.execute("select count(*) from marts.customer_lifecycle_history").fetchone()[0]
    assert (broken, false_transitions, history_dates) == (0, 0, last)
    assert periods > 0
