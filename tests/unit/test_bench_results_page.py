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
from customer360_dev.bench.spark_run import newest_duckdb_result, side_by_side


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


def _spark_result(measured_at: str) -> dict:
    rows = [
        {"stage": "spark:session", "min_s": 9.0, "median_s": 9.0, "cpu_s": 12.0, "peak_rss_mib": 700.0},
        {"stage": "dbt:core", "min_s": 300.0, "median_s": 300.0, "cpu_s": 400.0, "peak_rss_mib": 3072.0},
        {"stage": "models:clv+churn", "min_s": 20.0, "median_s": 20.0, "cpu_s": 10.0, "peak_rss_mib": 900.0},
        {"stage": "total", "min_s": 329.0, "median_s": 329.0, "cpu_s": 422.0, "peak_rss_mib": 3072.0},
    ]
    return {
        **_result("small", measured_at, 1.0, 1.0),
        "target": "spark",
        "machine": {"cpu": "Test CPU", "cores": 2, "memory_gib": 8.0, "spark_master": "local[2]"},
        "first_run": rows,
        "daily_run": [],
        "first_run_records": 123456,
        "not_measured": {"daily_run": "identity stops on a second run"},
        "handed_over_stages": {"models:clv+churn": "DuckDB, handed over"},
    }


def test_given_a_spark_and_a_duckdb_result_when_rendered_then_sparks_stages_stand_beside_duckdbs(tmp_path):
    # GIVEN a DuckDB result of the small scale (CPU seconds per stage) and a newer Spark result of that scale
    duck = _result("small", "2026-11-25T10:00:00+00:00", 100.0, 2048.0)
    for run in ("first_run", "daily_run"):
        for row in duck[run]:
            row["cpu_s"] = 40.0 if row["stage"] == "dbt:core" else 50.0
    _write(tmp_path, "small-duckdb.json", duck)
    _write(tmp_path, "small-spark.json", _spark_result("2026-11-26T10:00:00+00:00"))

    # WHEN the page is written
    page = write_results_page(tmp_path).read_text(encoding="utf-8")

    # THEN the DuckDB section is still the DuckDB result's (the newer Spark result does not replace it)
    assert "## small: 5,000 customers, 120 days" in page
    assert "From `small-duckdb.json`" in page
    # AND the Spark section follows, each stage beside DuckDB's: wall, CPU, peak GiB, and the CPU ratio
    assert page.index("## small: ") < page.index("## small on Spark: 5,000 customers, 120 days")
    assert "From `small-spark.json`" in page and "beside DuckDB's first run from `small-duckdb.json`" in page
    assert "| `dbt:core` | 300.0 | 400.0 | 3.0 | 100.0 | 40.0 | 10.0x |" in page
    assert "| **total** | 329.0 | 422.0 | 3.0 | 100.0 | 50.0 | 8.4x |" in page
    # a stage DuckDB has no row for is left empty there
    assert "| `spark:session` | 9.0 | 12.0 | 0.7 |  |  |  |" in page
    # AND the stage not computed on Spark is marked and explained, and what was not measured is said
    assert "| `models:clv+churn` * | 20.0 | 10.0 | 0.9 |  |  |  |" in page
    assert "`models:clv+churn` does not run on Spark yet: DuckDB, handed over." in page
    assert "Not measured: the daily run: identity stops on a second run." in page
    assert "Records read: 123,456 by the first run." in page
    assert "Stopped at" not in page


def test_given_a_spark_run_that_stopped_when_rendered_then_the_page_says_where(tmp_path):
    # GIVEN a Spark result whose run stopped at the core build (the rows are the stages before it)
    _write(
        tmp_path,
        "small-spark.json",
        {
            **_spark_result("2026-11-26T10:00:00+00:00"),
            "stopped_at": {"stage": "dbt:core", "error": "KeyboardInterrupt: signal 15"},
        },
    )
    # WHEN the page is written THEN it names the stage and the error beside the rows it has
    page = write_results_page(tmp_path).read_text(encoding="utf-8")
    assert "**Stopped at `dbt:core`** (KeyboardInterrupt: signal 15)" in page
    # AND its partial total is not set against DuckDB's whole run
    assert "| **total** | 329.0 | 422.0 | 3.0 |  |  |  |" in page


def test_given_results_of_both_targets_then_the_newest_duckdb_result_of_the_scale_is_compared(tmp_path):
    # GIVEN two DuckDB results of the small scale, one of the large scale, and a newer Spark small result
    _write(tmp_path, "small-old.json", _result("small", "2026-11-20T10:00:00+00:00", 10.0, 1.0))
    _write(tmp_path, "small-new.json", _result("small", "2026-11-21T10:00:00+00:00", 20.0, 1.0))
    _write(tmp_path, "large.json", _result("large", "2026-11-22T10:00:00+00:00", 30.0, 1.0))
    spark = _spark_result("2026-11-23T10:00:00+00:00")
    _write(tmp_path, "small-spark.json", spark)
    # WHEN the DuckDB result to compare with is looked up
    found = newest_duckdb_result([tmp_path / "missing", tmp_path], "small")
    # THEN it is the newest DuckDB one of that scale, never the Spark result
    assert found is not None and found[0].name == "small-new.json"
    assert [p.name for p, _d in newest_by_scale(read_results(tmp_path))] == ["small-new.json", "large.json"]
    assert [p.name for p, _d in newest_by_scale(read_results(tmp_path), "spark")] == ["small-spark.json"]
    # AND without a DuckDB result Spark's rows stand alone
    alone = side_by_side(spark, None)
    assert [r["stage"] for r in alone] == ["spark:session", "dbt:core", "models:clv+churn", "total"]
    assert all(r["duckdb_s"] is None and r["cpu_ratio"] is None for r in alone)
    assert [r["handed_over"] for r in alone] == [False, False, True, False]


def test_given_target_spark_when_the_command_runs_then_it_prints_and_writes_beside_duckdb(
    tmp_path, capsys, monkeypatch
):
    # GIVEN a home whose results folder holds a DuckDB small result, and a Spark benchmark (not run here:
    # its result is given)
    results = tmp_path / "bench" / "results"
    results.mkdir(parents=True)
    # (newer than the committed small results in bench/, which the command also looks at)
    duck = _result("small", "2099-11-25T10:00:00+00:00", 100.0, 2048.0)
    duck["first_run"][0]["cpu_s"] = 40.0
    _write(results, "small-duckdb.json", duck)
    monkeypatch.setenv("CUSTOMER360_HOME", str(tmp_path))
    calls = []

    def fake_benchmark_spark(settings, scale):
        calls.append(scale)
        return {**_spark_result("2026-11-26T10:00:00+00:00"), "generate_seconds": None}

    monkeypatch.setattr("customer360_dev.bench.spark_run.benchmark_spark", fake_benchmark_spark)
    # WHEN `customer360 bench --target spark` runs
    assert main(["bench", "--target", "spark", "--scale", "small"]) == 0
    # THEN it ran the Spark benchmark, printed Spark's stages beside DuckDB's (CPU ratio), and wrote the
    # result and the page beside DuckDB's
    out = capsys.readouterr().out
    assert calls == ["small"]
    assert "DuckDB: small-duckdb.json" in out and "10.00" in out
    assert "not measured: daily_run: identity stops on a second run" in out
    written = sorted(p.name for p in results.glob("small-spark-*.json"))
    assert len(written) == 1
    assert "## small on Spark" in (results / PAGE_NAME).read_text(encoding="utf-8")
