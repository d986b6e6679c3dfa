"""The benchmark's results page: generated from the newest result of each scale, never typed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from customer360.cli import main
from customer360_dev.bench.commands import BASELINE_DIR
from customer360_dev.bench.results_page import (
    PAGE_NAME,
    newest_by_scale,
    read_results,
    render_page,
    write_results_page,
)


def _result(scale: str, measured_at: str, total_s: float, peak_mib: float) -> dict:
    stage = {"stage": "dbt:core", "min_s": total_s - 1, "median_s": total_s, "peak_rss_mib": peak_mib}
    total = {**stage, "stage": "total"}
    return {
        "scale": scale,
        "parameters": {"customers": 5000, "days": 120, "seed": 11},
        "repeat": 3,
        "first_repeat": 1,
        "measured_at": measured_at,
        "load_average": [1.5, 1.25, 1.0],
        "machine": {"cpu": "Test CPU", "cores": 2, "memory_gib": 8.0, "duckdb_threads": 2},
        "first_run": [stage, total],
        "daily_run": [
            {**stage, "median_s": total_s / 10, "min_s": total_s / 20},
            {**total, "median_s": 9.0, "min_s": 8.0},
        ],
        "pandas_peer": {
            "customers_scored": 1234,
            "order_lines": 5678,
            "sql_seconds_median": 0.5,
            "pandas_seconds_median": 2.0,
            "speedup_median": 4.0,
            "agree": True,
        },
        "stage_details": {
            "identity": {"mode": "incremental", "records": 900, "records_resolved": 40, "customers": 300}
        },
    }


def _write(folder: Path, name: str, data: dict) -> None:
    (folder / name).write_text(json.dumps(data), encoding="utf-8")


def test_given_results_of_two_dates_when_rendered_then_the_page_shows_the_newer_ones_figures(tmp_path):
    # GIVEN an older and a newer small result, a large one, and a JSON file that is not a benchmark result
    _write(tmp_path, "small-old.json", _result("small", "2026-11-20T10:00:00+00:00", 111.0, 2048.0))
    _write(tmp_path, "small-new.json", _result("small", "2026-11-25T10:00:00+00:00", 222.0, 3072.0))
    _write(tmp_path, "large-a.json", _result("large", "2026-11-21T10:00:00+00:00", 777.0, 7680.0))
    (tmp_path / "notes.json").write_text('{"comment": "not a result"}', encoding="utf-8")

    # WHEN the page is written
    page_path = write_results_page(tmp_path)

    # THEN it sits beside the results and holds the newest small result before the large one
    assert page_path == tmp_path / PAGE_NAME
    page = page_path.read_text(encoding="utf-8")
    assert "`small-new.json`" in page and "small-old.json" not in page
    assert page.index("## small: 5,000 customers, 120 days") < page.index("## large:")
    # the stage table: first-run median and peak (GiB), daily median and min
    assert "| `dbt:core` | 222.0 | 3.0 | 22.2 | 11.1 | 3.0 |" in page
    assert "| **total** | 222.0 | 3.0 | 9.0 | 8.0 | 3.0 |" in page
    assert "| `dbt:core` | 777.0 | 7.5 |" in page
    assert "SQL 0.50 s, pandas 2.00 s, 4.0x; the same scores and values" in page
    assert "900 identity records, 40 resolved again -> 300 customers" in page
    assert "Test CPU, 2 cores, 8.0 GiB" in page and "load average 1.50, 1.25, 1.00" in page


def test_given_a_file_that_is_not_json_when_read_then_the_error_names_it(tmp_path):
    # GIVEN a broken JSON file among the results
    (tmp_path / "broken.json").write_text('{"scale": "small",\n  oops}', encoding="utf-8")
    # WHEN the results are read THEN the error names the file, line and column
    with pytest.raises(ValueError, match=r"broken\.json: line 2, column 3: not JSON"):
        read_results(tmp_path)


def test_given_a_folder_without_results_when_rendered_then_it_says_so(tmp_path):
    # GIVEN an empty folder WHEN the page is written THEN it refuses, naming the folder
    with pytest.raises(FileNotFoundError, match="no benchmark result"):
        write_results_page(tmp_path)


def test_given_the_committed_results_when_rendered_then_bench_results_md_is_up_to_date():
    # GIVEN the committed benchmark JSON files WHEN rendered THEN the committed page equals the rendering
    # (run `customer360 bench --render-only` after committing a new result)
    newest = newest_by_scale(read_results(BASELINE_DIR))
    assert newest, "bench/ holds no benchmark result"
    assert (BASELINE_DIR / PAGE_NAME).read_text(encoding="utf-8") == render_page(BASELINE_DIR)


def test_given_render_only_when_the_command_runs_then_it_writes_the_page_and_benchmarks_nothing(
    tmp_path, capsys, monkeypatch
):
    # GIVEN a folder with one result, and a benchmark that must not run
    _write(tmp_path, "small.json", _result("small", "2026-11-25T10:00:00+00:00", 50.0, 1024.0))

    def no_benchmark(*args, **kwargs):
        raise AssertionError("--render-only ran the benchmark")

    monkeypatch.setattr("customer360_dev.bench.run.benchmark", no_benchmark)
    # WHEN `customer360 bench --render-only --results-dir <folder>` runs
    assert main(["bench", "--render-only", "--results-dir", str(tmp_path)]) == 0
    # THEN the page is in the folder, and the command says where
    assert "| `dbt:core` | 50.0 | 1.0 |" in (tmp_path / PAGE_NAME).read_text(encoding="utf-8")
    assert str(tmp_path / PAGE_NAME) in capsys.readouterr().out
