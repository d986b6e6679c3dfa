"""Faults: a run killed in the middle of ingest, of a dbt build or of publishing leaves a warehouse that
opens, the last published snapshot intact, and a next run that completes; disk and permission errors are
reported.

Kills are real SIGKILLs of a stage process: at a fault point (``customer360.faults``, env
``CUSTOMER360_FAULT_POINT``) for ingest and publish, and a few seconds into ``dbt build`` (timed from the
stage's start event) for dbt. Disk-full and permission errors are injected with monkeypatch: the tests run
as root in CI containers, where ``chmod 000`` does not deny anything and no small filesystem can be mounted.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import time

import duckdb
import pytest

from customer360 import pipeline
from customer360.faults import FAULT_POINT_ENV
from customer360.progress import read_events
from customer360.publish import current_database, current_snapshot
from customer360.publish.snapshot import table_checksums
from tests.support.pipeline_run import PROJECT, run_day, stage_command, stage_env
from tests.support.shared_runs import END, assert_ok, clone_home, data_file

pytestmark = pytest.mark.slow

DBT_KILL_AFTER_SECONDS = 4.0  # dbt build of the core layer takes 10+ s on this data


@pytest.fixture(scope="module")
def killed(single_run, tmp_path_factory):
    """One home that lives through three kills (ingest, dbt, publish), with what each kill left behind."""
    settings = clone_home(single_run[0], tmp_path_factory.mktemp("faults") / "home")
    snapshot = current_snapshot(settings)
    checksums = table_checksums(current_database(settings))
    # A new landing file for END (one order changed), so ingest has something to load when it is killed.
    folder = settings.landing_root / "web_orders" / END.isoformat()
    line = json.loads(data_file(settings.landing_root, "web_orders", END).read_text().splitlines()[0])
    folder.mkdir(exist_ok=True)
    line["order_id"] = "FAULT-0001"
    (folder / "web_orders_extra.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    observed = {}
    for stage, how in (
        ("ingest:web_orders", "ingest.before_commit"),
        ("dbt:core", None),
        ("publish", "publish.before_swap"),
    ):
        observed[stage] = _kill(settings, stage, how)
    return settings, snapshot, checksums, observed


def _kill(settings, stage: str, fault_point: str | None) -> dict:
    run_id = f"killed__{stage}"
    env = stage_env(settings, **({FAULT_POINT_ENV: fault_point} if fault_point else {}))
    process = subprocess.Popen(
        stage_command(END, run_id, (stage,)),
        env=env,
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    if fault_point is None:  # kill a few seconds after the stage said it started
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            started = [
                e for e in read_events(settings.run_dir(END.isoformat()), run_id) if e["event"] == "start"
            ]
            if started:
                time.sleep(DBT_KILL_AFTER_SECONDS)
                os.killpg(process.pid, signal.SIGKILL)
                break
            time.sleep(0.2)
    process.wait(timeout=300)
    with duckdb.connect(str(settings.warehouse_path)) as con:  # opens read-write: replays or drops the WAL
        extra_rows = con.execute(
            "select count(*) from raw.web_orders where order_id = 'FAULT-0001'"
        ).fetchone()[0]
    return {
        "returncode": process.returncode,
        "current": current_snapshot(settings),
        "checksums": table_checksums(current_database(settings)),
        "extra_rows": extra_rows,
    }


@pytest.mark.parametrize("stage", ["ingest:web_orders", "dbt:core", "publish"])
def test_given_a_stage_killed_midway_then_the_warehouse_opens_and_the_published_snapshot_is_intact(
    killed, stage
):
    _, snapshot, checksums, observed = killed
    # GIVEN the stage was killed with SIGKILL while it worked (not after it finished)
    assert observed[stage]["returncode"] == -signal.SIGKILL
    # THEN the warehouse opened after it (in the fixture) and BI still reads the snapshot from before
    assert observed[stage]["current"] == snapshot
    assert observed[stage]["checksums"] == checksums


def test_given_ingest_killed_before_commit_then_nothing_of_the_file_was_kept(killed):
    # GIVEN ingest was killed inside the file's transaction THEN none of its rows are in raw
    assert killed[3]["ingest:web_orders"]["extra_rows"] == 0


def test_given_the_kills_when_the_next_full_run_starts_then_it_completes_and_loads_the_file_once(killed):
    settings = killed[0]
    # WHEN the next run of END starts after the three kills
    run = run_day(settings, END, f"recovered__{END}")
    # THEN it completes, publishes a new snapshot, leaves no half-written one, and loaded the file once
    assert_ok(run)
    assert current_snapshot(settings) != killed[1]
    assert not list((settings.published_dir / "snapshots").glob(".tmp-*"))
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        lines = con.execute(
            "select count(distinct _source_line) from raw.web_orders where order_id = 'FAULT-0001'"
        ).fetchone()[0]
    assert lines == 1


def test_given_a_full_disk_during_ingest_then_the_error_is_reported_and_the_raw_gate_stops(
    single_run, tmp_path, monkeypatch
):
    # GIVEN a home whose disk is full when ingest reads a new file
    settings = clone_home(single_run[0], tmp_path / "home")
    folder = settings.landing_root / "crm_contacts" / END.isoformat()
    source = data_file(settings.landing_root, "crm_contacts", END)
    folder.mkdir(exist_ok=True)
    (folder / ("again_" + source.name)).write_text(
        source.read_text(encoding="utf-8") + "\n", encoding="utf-8"
    )

    def disk_full(path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("customer360.ingest.loader.file_checksum", disk_full)
    # WHEN the channel's ingest runs THEN the OSError propagates (not swallowed as a bad file)
    with pytest.raises(OSError) as raised:
        pipeline.ingest("crm_contacts", END, "disk_full", settings)
    assert raised.value.errno == errno.ENOSPC
    # and, the disk freed for the other channels, the raw gate refuses to validate, saying why
    monkeypatch.undo()
    for channel in ("web_orders", "pos_transactions", "support_tickets", "marketing_events", "surveys"):
        pipeline.ingest(channel, END, "disk_full", settings)
    with pytest.raises(pipeline.QualityGateError, match="No space left on device"):
        pipeline.validate("raw", END, "disk_full", settings)


def test_given_a_permission_error_while_publishing_then_it_is_raised_and_the_current_snapshot_stays(
    single_run, tmp_path, monkeypatch
):
    # GIVEN a home whose published folder refuses writes when the new snapshot is flushed
    settings = clone_home(single_run[0], tmp_path / "home")
    before = current_snapshot(settings)

    def denied(root):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(root))

    monkeypatch.setattr("customer360.publish.snapshot._fsync_tree", denied)
    # WHEN publish runs THEN the error surfaces and BI still reads the previous snapshot
    with pytest.raises(PermissionError):
        pipeline.publish(END, "denied", settings)
    assert current_snapshot(settings) == before
    events = read_events(settings.run_dir(END.isoformat()), "denied")
    assert events[-1]["event"] == "error" and "Permission denied" in events[-1]["error"]
