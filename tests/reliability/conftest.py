"""Shared state of the reliability tests: one small generated landing set, and pipeline runs on it.

- ``single_run``: a home whose pipeline ran once for ``END`` (loads the whole history at once);
- ``backfill_run``: a home that ran ``BACKFILL_DAYS`` dates one by one, ending with ``END``; the days before
  ``END`` run without the read-only GX gates (they change nothing and cost half a run each);
- ``shuffled_run``: a home that ran the same dates newest first, then the others from the oldest
  (``SHUFFLED_DATES``): an earlier date after a later one, as `make run` then `customer360 run --date
  <earlier>` does; the GX gates run on its last date. Its first run, END on the fresh landing data, is
  ``single_run``'s: it continues on a copy of that home.

Each is made once per session (``tests.support.shared_runs.once_per_session``), on whichever xdist worker
asks first; the data, the dates and the helpers that read the homes are in ``tests.support.shared_runs``.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from customer360.settings import Settings
from tests.support.pipeline_run import DayRun, run_day
from tests.support.shared_runs import (
    BACKFILL_DAYS,
    DATA,
    END,
    SHUFFLED_DATES,
    assert_ok,
    clone_home,
    once_per_session,
)


@pytest.fixture(scope="session")
def landing(tmp_path_factory) -> Path:
    from customer360_dev.datagen.generate import generate

    out = tmp_path_factory.mktemp("landing_source") / "landing"
    generate(out, customers=DATA["customers"], days=DATA["days"], seed=DATA["seed"], end_date=END)
    return out


@pytest.fixture(scope="session")
def single_run(tmp_path_factory, landing) -> tuple[Settings, DayRun]:
    def make(home: Path) -> list[DayRun]:
        shutil.copytree(landing, home / "landing")
        run = run_day(Settings(home=home), END, f"single__{END}")
        assert_ok(run)
        return [run]

    home, runs = once_per_session(tmp_path_factory, "single_run", make)
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

    home, runs = once_per_session(tmp_path_factory, "backfill_run", make)
    return Settings(home=home), runs


@pytest.fixture(scope="session")
def shuffled_run(tmp_path_factory, single_run) -> tuple[Settings, list[DayRun]]:
    def make(home: Path) -> list[DayRun]:
        # SHUFFLED_DATES starts with END on the fresh landing data: that first run is ``single_run``'s
        # (a copy of its home), so only the earlier dates run here, after it.
        first_home, first_run = single_run
        assert SHUFFLED_DATES[0] == first_run.logical_date
        clone_home(first_home, home)
        runs = [first_run]
        for day in SHUFFLED_DATES[1:]:
            run = run_day(Settings(home=home), day, f"shuffled__{day}", validate=day == SHUFFLED_DATES[-1])
            assert_ok(run)
            runs.append(run)
        return runs

    home, runs = once_per_session(tmp_path_factory, "shuffled_run", make)
    return Settings(home=home), runs
