"""The data and the pipeline runs that several test modules share, and the helpers that read them.

The data is small on purpose (60 customers, 8 days, or 5 more than the backfills run): every full run the
tests make is a session fixture (tests/conftest.py), and tests that change a home work on a copy of it
(``clone_home``); nothing writes into the fixtures' homes.

Under pytest-xdist (``make test``) each run still happens once per session: the first worker that needs it
runs it in the session's shared temporary folder, under a file lock, and the other workers wait for it and
read the same home (``once_per_session``).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from customer360.settings import Settings
from tests.support.pipeline_run import DayRun

END = date(2026, 11, 20)
# How many dates the backfills run (``backfill_run`` one by one, ``test_catchup.py`` through the scheduler's
# catchup). CI runs 3: each date costs a daily run, one by one or through the scheduler (whose tasks each
# import their libraries). Three dates prove the same property as thirty (each run adds its own day's files,
# in order, whatever started it); ``make test-backfill`` proves it over 30 (``make test-backfill DAYS=N``
# over N).
BACKFILL_DAYS = int(os.environ.get("CUSTOMER360_TEST_BACKFILL_DAYS", "3"))
# The backfill's dates in another order: the newest first, then the others from the oldest (END, END-2,
# END-1 for three), so that an earlier date runs after a later one, and then a date between two that ran.
SHUFFLED_DATES = (END, *(END - timedelta(days=offset) for offset in range(BACKFILL_DAYS - 1, 0, -1)))
# Marts that log runs rather than describe customers: ``model_runs`` has one row per model per run, naming
# the run (run_id) and whether it fitted or reused its model, so it differs between runs by design. Every
# other mart must be identical whatever the run history.
RUN_LOG_MARTS = ("model_runs",)


def without_run_logs(checksums: dict) -> dict:
    """Table checksums (``publish.snapshot.table_checksums``) without the run-log marts."""
    return {table: value for table, value in checksums.items() if table not in RUN_LOG_MARTS}


DATA = {"customers": 60, "days": max(8, BACKFILL_DAYS + 5), "seed": 11}


def clone_home(settings: Settings, target: Path) -> Settings:
    """A copy of a home (warehouse, published snapshots with their relative ``current`` link, runs)."""
    shutil.copytree(settings.home, target, symlinks=True)
    return Settings(home=target)


def data_file(landing_root: Path, channel: str, on_or_before: date) -> Path:
    """The latest landing file of a text channel dated on or before a date that holds at least one record."""
    header = 0 if channel == "web_orders" else 1
    for folder in sorted((landing_root / channel).iterdir(), reverse=True):
        if date.fromisoformat(folder.name) > on_or_before:
            continue
        for path in sorted(folder.iterdir()):
            if len([ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]) > header:
                return path
    raise AssertionError(f"no {channel} file with records on or before {on_or_before} in {landing_root}")


def assert_ok(run: DayRun) -> None:
    assert run.ok, "the run failed:\n" + "\n".join(run.errors())


def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder every xdist worker of this session shares (the parent of each worker's own)."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


def once_per_session(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], list[DayRun]]
) -> tuple[Path, list[DayRun]]:
    """``make(home)`` once per test session, whichever xdist worker asks first; the others wait and reuse it.

    The home lives in the folder every worker of the session shares, beside a record of the runs; a failed
    attempt is recorded too, so the other workers fail with its message instead of running it again.
    """
    root = session_root(tmp_path_factory)
    record = root / f"{name}.json"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            home = root / name
            try:
                runs = make(home)
            except BaseException as exc:
                record.write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), encoding="utf-8")
                raise
            saved = [{**asdict(r), "logical_date": r.logical_date.isoformat()} for r in runs]
            record.write_text(json.dumps({"home": str(home), "runs": saved}), encoding="utf-8")
    done = json.loads(record.read_text(encoding="utf-8"))
    if "error" in done:
        pytest.fail(f"{name} failed on another xdist worker: {done['error']}")
    runs = [DayRun(**{**r, "logical_date": date.fromisoformat(r["logical_date"])}) for r in done["runs"]]
    return Path(done["home"]), runs
