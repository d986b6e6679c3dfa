"""``customer360 summary``: which run it shows without ``--date``, and what it says when there is none."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from customer360.cli import main
from customer360.settings import get_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CUSTOMER360_HOME", str(tmp_path))
    for name in ("RUNS_DIR", "PUBLISHED_DIR", "WAREHOUSE_PATH", "LANDING_ROOT"):
        monkeypatch.delenv(f"CUSTOMER360_{name}", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _write_summary(home: Path, day: str, mtime: float, status: str = "success") -> None:
    run_dir = home / "runs" / day
    run_dir.mkdir(parents=True)
    summary = {
        "logical_date": day,
        "run_id": f"manual__{day}",
        "status": status,
        "problems": [] if status == "success" else ["quality gate marts: a check failed"],
        "warnings": [],
        "channels": {"web_orders": {"status": "ok", "files_loaded": 1, "rows_read": 3, "rows_loaded": 3}},
        "quality": {"raw": {"status": "ok", "passed": 5, "failed": 0}},
        "marts": {},
        "paths": {
            "warehouse": str(home / "warehouse.duckdb"),
            "quality_report": str(run_dir / "gx"),
            "run_report": str(run_dir / "report.html"),
            "run_dir": str(run_dir),
        },
    }
    path = run_dir / "summary.json"
    path.write_text(json.dumps(summary), encoding="utf-8")
    os.utime(path, (mtime, mtime))


def test_given_no_run_when_summary_without_date_then_it_says_no_run_finished_and_exits_2(home, capsys):
    code = main(["summary"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no run has finished" in err and "customer360 run" in err
    assert "isoformat" not in err


def test_given_an_older_date_run_last_when_summary_without_date_then_it_shows_that_latest_run(home, capsys):
    # GIVEN 2026-12-06 ran first, then a backfill of 2026-12-01 (a run that failed) finished after it
    _write_summary(home, "2026-12-06", mtime=1_000_000)
    _write_summary(home, "2026-12-01", mtime=2_000_000, status="failed")
    (home / "runs" / "not-a-date").mkdir()
    # WHEN the summary is asked for without --date
    code = main(["summary"])
    out = capsys.readouterr().out
    # THEN it shows the run that finished last, says which, and exits with that run's status
    assert "The latest run: 2026-12-01" in out
    assert "customer360 run for 2026-12-01" in out
    assert "2026-12-06" not in out
    assert code == 1


def test_given_a_date_without_a_run_when_summary_with_that_date_then_it_names_the_missing_file(home, capsys):
    _write_summary(home, "2026-12-06", mtime=1_000_000)
    code = main(["summary", "--date", "2026-12-05"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no run summary for 2026-12-05" in err and "summary.json" in err


def test_given_a_date_with_a_run_when_summary_with_that_date_then_it_shows_it(home, capsys):
    _write_summary(home, "2026-12-06", mtime=1_000_000)
    _write_summary(home, "2026-12-07", mtime=2_000_000)
    assert main(["summary", "--date", "2026-12-06"]) == 0
    out = capsys.readouterr().out
    assert "customer360 run for 2026-12-06" in out and "The latest run" not in out
