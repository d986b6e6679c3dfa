"""Shared state of the reliability tests: one small generated landing set, and pipeline runs on it.

The data is small on purpose (60 customers, 8 days, or 5 more than the backfills run): a daily run takes
about half a minute on two cores (GX gates and dbt builds dominate), so every full run the tests make is a
session fixture, and tests that change a home work on a copy of it (``clone_home``); nothing writes into the
fixtures' homes.

- ``single_run``: a home whose pipeline ran once for ``END`` (loads the whole history at once);
- ``backfill_run``: a home that ran ``BACKFILL_DAYS`` dates one by one, ending with ``END``; the days before
  ``END`` run without the read-only GX gates (they change nothing and cost half a run each).

Under pytest-xdist (``make test``) each run still happens once per session: the first worker that needs it
runs it in the session's shared temporary folder, under a file lock, and the other workers wait for it and
read the same home (``_once_per_session``).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pipeline_run import DayRun, run_day  # noqa: E402

from customer360.settings import Settings  # noqa: E402

END = date(2026, 11, 20)
# How many dates the backfills run (``backfill_run`` one by one, ``test_catchup.py`` through the scheduler's
# catchup). CI runs 3: each date costs a daily run (about 30 s one by one, 60-75 s through the scheduler,
# whose tasks each import their libraries); 30 dates took 38 minutes here (the two backfills side by side on
# two xdist workers). Three dates prove the same property (each run adds its own day's files, in order,
# whatever started it);
# ``make test-backfill`` proves it over 30 (``make test-backfill DAYS=N`` over N).
BACKFILL_DAYS = int(os.environ.get("CUSTOMER360_TEST_BACKFILL_DAYS", "3"))
DATA = {"customers": 60, "days": max(8, BACKFILL_DAYS + 5), "seed": 11}


@pytest.fixture(scope="session")
def landing(tmp_path_factory) -> Path:
    from customer360_dev.datagen.generate import generate

    out = tmp_path_factory.mktemp("landing_source") / "landing"
    generate(out, customers=DATA["customers"], days=DATA["days"], seed=DATA["seed"], end_date=END)
    return out


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


def _once_per_session(tmp_path_factory, name: str, make: Callable[[Path], list[DayRun]]) -> tuple[Path, list]:
    """``make(home)`` once per test session, whichever xdist worker asks first; the others wait and reuse it.

    The home lives in the folder every worker of the session shares (the parent of each worker's basetemp),
    beside a record of the runs; a failed attempt is recorded too, so the other workers fail with its message
    instead of running it again.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
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


@pytest.fixture(scope="session")
def single_run(tmp_path_factory, landing) -> tuple[Settings, DayRun]:
    def make(home: Path) -> list[DayRun]:
        shutil.copytree(landing, home / "landing")
        run = run_day(Settings(home=home), END, f"single__{END}")
        assert_ok(run)
        return [run]

    home, runs = _once_per_session(tmp_path_factory, "single_run", make)
    return Settings(home=home), runs[0]


@pytest.fixture(scope="session")
def backfill_run(tmp_path_factory, landing) -> tuple[Settings, list[DayRun]]:
    def make(home: Path) -> list[DayRun]:
        shutil.copytree(landing, home / "landing")
        runs = []
        for offset in range(BACKFILL_DAYS - 1, -1, -1):
            day = END - timedelta(days=offset)
            run = run_day(Settings(home=home), day, f"backfill__{day}", validate=day == END)
            assert_ok(run)
            runs.append(run)
        return runs

    home, runs = _once_per_session(tmp_path_factory, "backfill_run", make)
    return Settings(home=home), runs
