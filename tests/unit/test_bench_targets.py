"""The bench's targets and growth check (customer360_dev.bench.targets): each target beside the measured
figure, met or not, projected to 1M customers at smaller scales; seconds per million records per stage; a
stage whose cost per record grows with the scale is flagged."""

from __future__ import annotations

from customer360_dev.bench.targets import check_targets, growth_flags, growth_rows, per_million, target_lines


def _result(customers: int, first: dict[str, float], daily_total: float, peak_mib: float = 2048.0) -> dict:
    rows = [{"stage": s, "min_s": v, "median_s": v, "peak_rss_mib": peak_mib} for s, v in first.items()]
    rows.append({"stage": "total", "min_s": 0, "median_s": sum(first.values()), "peak_rss_mib": peak_mib})
    return {
        "parameters": {"customers": customers},
        "first_run": rows,
        "daily_run": [{"stage": "total", "min_s": daily_total, "median_s": daily_total, "peak_rss_mib": 1}],
        "pandas_peer": {"sql_seconds_median": 0.1, "polars_seconds_median": 0.2},
    }


def test_given_a_large_result_when_checked_then_each_target_is_met_or_not_on_its_own_figure():
    # GIVEN a 1M-customer first run of 250 s (over 240), a 7 GiB peak (over 6) and a 50 s daily run
    result = _result(1_000_000, {"identity": 200.0, "publish": 50.0}, 50.0, peak_mib=7 * 1024)
    checks = {c.target.name: c for c in check_targets(result)}
    # THEN the first run and the peak miss, the daily run and both RFM targets are met, none projected
    assert checks["first run, total"].met is False
    assert checks["first run, total"].at_target_scale == 250.0
    assert checks["first run, peak memory"].met is False
    assert checks["daily run, total"].met is True
    assert checks["RFM + historical value in DuckDB"].met is True
    assert checks["RFM + historical value: DuckDB no slower than polars"].met is True
    assert all(c.note in ("", "polars 0.20 s") for c in checks.values())


def test_given_a_100k_result_when_checked_then_scaling_figures_are_projected_and_memory_not_judged():
    # GIVEN 100k customers: a 30 s first run and a 7 s daily run
    result = _result(100_000, {"identity": 30.0}, 7.0)
    checks = {c.target.name: c for c in check_targets(result)}
    # THEN they are projected ten-fold (300 s misses 240 s, 70 s misses 60 s); peak memory, which does not
    # grow in proportion, is shown but left for the 1M scale to decide
    assert checks["first run, total"].at_target_scale == 300.0
    assert checks["first run, total"].met is False
    assert checks["daily run, total"].at_target_scale == 70.0
    peak = checks["first run, peak memory"]
    assert (peak.measured, peak.at_target_scale, peak.met) == (2.0, None, None)
    lines = target_lines(list(checks.values()))
    assert lines[0].startswith("| target (1M customers) |")
    assert any("projected x10" in line and "**no**" in line for line in lines)


def test_given_the_small_scale_when_checked_then_nothing_is_projected_from_it():
    # GIVEN 5,000 customers, where fixed costs (start-up, dbt parsing) outweigh the data
    checks = check_targets(_result(5_000, {"identity": 30.0}, 7.0))
    first = next(c for c in checks if c.target.name == "first run, total")
    # THEN no projection and no verdict: a x200 projection of fixed costs would say nothing
    assert (first.at_target_scale, first.met) == (None, None)
    assert first.note == "measured at 5,000 customers; not projected below 100,000"


def test_given_a_result_without_a_figure_when_checked_then_the_target_says_not_measured():
    result = _result(1_000_000, {"identity": 1.0}, 1.0)
    result["pandas_peer"] = {}
    check = next(c for c in check_targets(result) if c.target.name == "RFM + historical value in DuckDB")
    assert (check.met, check.note) == (None, "not measured")


def test_given_records_when_rows_are_summarised_then_each_stage_gets_seconds_per_million_records():
    rows = [{"stage": "ingest:web_orders", "median_s": 3.0}, {"stage": "total", "median_s": 12.0}]
    assert [r["s_per_m_records"] for r in per_million(rows, 1_500_000)] == [2.0, 8.0]
    assert per_million(rows, 0) == rows  # an older result without records is left as it was


def test_given_a_stage_whose_cost_per_record_doubles_with_the_scale_then_only_it_is_flagged():
    # GIVEN 100k and 1M customers; identity's seconds per million records doubles, publish stays linear,
    # and a stage under a second at both scales (fixed cost) is not compared
    small = _result(100_000, {"identity": 10.0, "publish": 4.0, "gx:raw": 0.1}, 1.0)
    large = _result(1_000_000, {"identity": 200.0, "publish": 40.0, "gx:raw": 0.5}, 1.0)
    small["first_run"] = per_million(small["first_run"], 1_000_000)
    large["first_run"] = per_million(large["first_run"], 10_000_000)
    flags = growth_flags(large, [small, large])
    assert [f.split(":")[0] for f in flags] == ["first_run identity", "first_run total"]  # total follows it
    assert flags[0].startswith("first_run identity: 20.00 s per million records at 1,000,000 customers")
    assert "(2.0x)" in flags[0]
    # AND a result is never compared with itself or with a larger scale
    assert growth_flags(small, [large, small]) == []


def test_given_cpu_seconds_when_growth_is_checked_then_cpu_per_million_records_decides():
    # GIVEN two scales measured under different loads: identity's wall clock per record tripled (the
    # machine was busier), its CPU seconds per record stayed the same; publish's CPU per record doubled
    small = {
        "parameters": {"customers": 100_000},
        "first_run": [
            {"stage": "identity", "median_s": 10.0, "cpu_s": 5.0},
            {"stage": "publish", "median_s": 4.0, "cpu_s": 2.0},
        ],
    }
    large = {
        "parameters": {"customers": 300_000},
        "first_run": [
            {"stage": "identity", "median_s": 90.0, "cpu_s": 15.0},
            {"stage": "publish", "median_s": 12.0, "cpu_s": 12.0},
        ],
    }
    small["first_run"] = per_million(small["first_run"], 1_000_000)
    large["first_run"] = per_million(large["first_run"], 3_000_000)
    assert [r["cpu_s_per_m_records"] for r in large["first_run"]] == [5.0, 4.0]
    # WHEN compared THEN only publish is flagged, in CPU seconds
    assert growth_flags(large, [small]) == [
        "first_run publish: 4.00 CPU s per million records at 300,000 customers vs 2.00 at 100,000 "
        "(2.0x): grows faster than linearly"
    ]


def test_given_smaller_results_of_two_machines_when_growth_is_printed_then_only_this_machine_is_compared(
    tmp_path, capsys
):
    import json

    from customer360_dev.bench.commands import _print_growth

    here = {"cpu": "Intel(R) Xeon(R) Processor", "cores": 2, "memory_gib": 23.5}
    other = {"cpu": "AMD EPYC", "cores": 2, "memory_gib": 23.5}

    def result(customers: int, machine: dict, identity_s: float, records: int) -> dict:
        rows = per_million([{"stage": "identity", "median_s": identity_s, "cpu_s": identity_s}], records)
        return {
            "scale": f"s{customers}",
            "measured_at": "2026-12-07T12:00:00+00:00",
            "parameters": {"customers": customers},
            "machine": machine,
            "first_run": rows,
            "daily_run": [],
        }

    # GIVEN a 100k result of another machine that makes identity look 4x worse per record at 300k, and none
    # of this machine
    (tmp_path / "other.json").write_text(json.dumps(result(100_000, other, 2.0, 1_000_000)))
    large = result(300_000, here, 24.0, 3_000_000)
    # WHEN growth is printed THEN nothing is compared, and the output says this machine has no smaller result
    _print_growth(large, [tmp_path])
    out = capsys.readouterr().out
    assert "FASTER THAN LINEAR" not in out
    assert "no smaller scale's result of this machine (intel-r-xeon-r-processor-2c-24g)" in out
    # AND once this machine has one, it is compared with it
    (tmp_path / "here.json").write_text(json.dumps(result(100_000, here, 2.0, 1_000_000)))
    _print_growth(large, [tmp_path])
    out = capsys.readouterr().out
    assert "FASTER THAN LINEAR: first_run identity: 8.00 CPU s per million records" in out
    # AND the table beside the flag gives the stage's cost per million records at both scales
    assert "first run: seconds per million records by scale" in out
    row = next(line for line in out.splitlines() if "identity" in line and "FASTER THAN LINEAR:" not in line)
    assert [cell.strip() for cell in row.split("│")[1:7]] == [
        "identity",
        "2.00",
        "8.00",
        "CPU s",
        "4.00x",
        "FASTER THAN LINEAR",
    ]


def test_given_three_scales_when_growth_rows_are_made_then_each_stage_shows_its_cost_at_every_scale():
    # GIVEN 100k, 300k and 1M customers (1, 3 and 10 million records): identity's CPU seconds per million
    # records go 5, 6, 12 (faster than linear from 300k to 1M); publish stays at 2 per million
    def result(customers: int, records: int, identity: float, publish: float) -> dict:
        rows = [
            {"stage": "identity", "median_s": identity * 2, "cpu_s": identity},
            {"stage": "publish", "median_s": publish * 2, "cpu_s": publish},
        ]
        return {"parameters": {"customers": customers}, "first_run": per_million(rows, records)}

    scales = [result(100_000, 1_000_000, 5.0, 2.0), result(300_000, 3_000_000, 18.0, 6.0)]
    large = result(1_000_000, 10_000_000, 120.0, 20.0)
    # WHEN the rows are made for the 1M result
    rows = {row["stage"]: row for row in growth_rows(large, scales, "first_run")}
    # THEN each stage has its CPU seconds per million at the three scales, smallest first, its growth from
    # 100k, and only identity is flagged
    assert rows["identity"]["per_m"] == {100_000: 5.0, 300_000: 6.0, 1_000_000: 12.0}
    assert (rows["identity"]["unit"], rows["identity"]["growth"]) == ("CPU s", 2.4)
    assert rows["identity"]["faster_than_linear"] is True
    assert rows["publish"]["per_m"] == {100_000: 2.0, 300_000: 2.0, 1_000_000: 2.0}
    assert (rows["publish"]["growth"], rows["publish"]["faster_than_linear"]) == (1.0, False)
    # AND a smaller result is never shown for a larger scale
    assert growth_rows(scales[0], [large], "first_run")[0]["per_m"] == {100_000: 5.0}


def test_given_a_duckdb_and_a_spark_result_when_the_header_prints_then_each_names_its_engine_and_machine(
    capsys,
):
    from customer360_dev.bench.commands import _print_header

    machine = {"cpu": "Test CPU", "cores": 2, "memory_gib": 8.0}
    # GIVEN a result that generated its data set and one that found it generated
    generated = {"generate_seconds": 12.34, "machine": machine, "load_average": [1.5, 1.25, 1.0]}
    found = {**generated, "generate_seconds": None}
    # WHEN each header prints with its engine
    _print_header(generated, "small", "DuckDB threads 2")
    _print_header(found, "medium", "Spark local[2]")
    lines = capsys.readouterr().out.splitlines()
    # THEN the generation time prints only for the run that generated, and each machine line names its engine
    assert lines == [
        "generated the small data set in 12.3 s",
        "Test CPU · 2 cores · 8.0 GiB · DuckDB threads 2 · load average 1.50, 1.25, 1.00",
        "Test CPU · 2 cores · 8.0 GiB · Spark local[2] · load average 1.50, 1.25, 1.00",
    ]
