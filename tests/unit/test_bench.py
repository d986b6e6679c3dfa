"""The benchmark's bookkeeping: min/median per stage, the baseline comparison, memory sampling."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import date

from customer360.settings import Settings
from customer360_dev.bench.run import (
    PeakMemory,
    StageTiming,
    _summarise,
    compare_with_baseline,
    cpu_seconds,
    process_tree_cpu_seconds,
    run_pipeline_timed,
    stage_details,
)


def _run(*seconds: float) -> list[StageTiming]:
    return [StageTiming(f"s{i}", s, 100.0 + i, cpu_seconds=s / 2) for i, s in enumerate(seconds)]


def test_summary_gives_min_median_and_peak_per_stage_and_in_total():
    rows = _summarise([_run(1.0, 10.0), _run(3.0, 20.0), _run(2.0, 30.0)])
    assert rows[0] == {"stage": "s0", "min_s": 1.0, "median_s": 2.0, "cpu_s": 1.0, "peak_rss_mib": 100.0}
    assert rows[1] == {"stage": "s1", "min_s": 10.0, "median_s": 20.0, "cpu_s": 10.0, "peak_rss_mib": 101.0}
    assert rows[-1] == {
        "stage": "total",
        "min_s": 11.0,
        "median_s": 23.0,
        "cpu_s": 11.5,
        "peak_rss_mib": 101.0,
    }


def test_given_a_stage_that_computes_in_a_thread_and_a_child_when_timed_then_both_cpu_times_count():
    # GIVEN a stage that burns 0.2 s of CPU in a thread of this process and 0.3 s in a child process (dbt
    # and DuckDB work in threads; some tools run as children)
    def burn(cpu_s: float) -> None:
        started = time.thread_time()
        while time.thread_time() - started < cpu_s:
            sum(range(1000))

    before = cpu_seconds()
    worker = threading.Thread(target=burn, args=(0.2,))
    worker.start()
    worker.join()
    child = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3:\n    pass\n"
    subprocess.run([sys.executable, "-c", child], check=True)
    # WHEN its CPU time is taken THEN both count, however long the busy machine made it last
    assert cpu_seconds() - before >= 0.5


def test_given_a_child_that_is_never_waited_for_when_timed_then_only_the_process_tree_counts_its_cpu():
    # GIVEN a child process that burns 0.4 s of CPU and stays alive, as Spark's driver JVM does (PySpark never
    # waits for it, so getrusage's children never include it)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nt = time.process_time()\nwhile time.process_time() - t < 0.4:\n    pass\n"
            "print('done', flush=True)\ntime.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        tree_before, own_before = process_tree_cpu_seconds(), cpu_seconds()
        assert child.stdout.readline().strip() == "done"
        # WHEN the stage's CPU time is taken while the child still runs
        tree, own = process_tree_cpu_seconds() - tree_before, cpu_seconds() - own_before
        # THEN the process tree's figure has the child's CPU, getrusage's does not
        assert tree >= 0.3
        assert own < 0.3
        # AND once the child is waited for, its CPU moves to getrusage's children and is not counted twice
        child.kill()
        child.wait()
        assert process_tree_cpu_seconds() - tree_before >= 0.3
        assert process_tree_cpu_seconds() - tree_before < tree + 0.3
    finally:
        child.kill()
        child.wait()


def test_peak_memory_of_the_process_tree_sees_a_childs_allocation():
    # GIVEN a child that allocates 200 MiB and waits, as the JVM holds Spark's memory out of this process
    code = "b = bytearray(200 * 2**20)\nb[::4096] = b'x' * len(b[::4096])\nprint('ok', flush=True)\ninput()\n"
    with PeakMemory(interval=0.01, process_tree=True) as tree, PeakMemory(interval=0.01) as own:
        child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            assert child.stdout.readline().strip() == b"ok"
            time.sleep(0.1)
        finally:
            child.communicate(b"\n")
    # THEN the tree's peak has it, this process's own does not
    assert tree.peak >= own.peak + 150 * 2**20


def test_given_a_stage_that_raises_when_timed_then_the_stages_before_it_are_kept(tmp_path):
    # GIVEN three stages, the second of which raises (as a long Spark run stopped at a stage)
    calls = []

    def stages(logical_date, run_id, settings):
        def fail():
            raise RuntimeError("stopped")

        return [("one", lambda: calls.append("one")), ("two", fail), ("three", lambda: calls.append("three"))]

    timings: list[StageTiming] = []
    # WHEN they are timed into a list the caller holds
    try:
        run_pipeline_timed(Settings(home=tmp_path), date(2026, 6, 30), "first", stages, timings=timings)
    except RuntimeError as exc:
        assert str(exc) == "stopped"
    else:
        raise AssertionError("the failing stage did not raise")
    # THEN the first stage's timing is there, and nothing after the failing stage ran
    assert [t.stage for t in timings] == ["one"] and calls == ["one"]


def test_a_stage_more_than_one_and_a_half_times_slower_than_the_baseline_is_flagged():
    baseline = {
        "first_run": [{"stage": "dbt:staging", "median_s": 10.0}, {"stage": "publish", "median_s": 0.2}]
    }
    result = {
        "first_run": [{"stage": "dbt:staging", "median_s": 16.0}, {"stage": "publish", "median_s": 0.9}],
        "daily_run": [],
    }
    slower = compare_with_baseline(result, baseline)
    # staging is 1.6x slower; publish is 4.5x slower but under half a second before (noise), so not flagged
    assert slower == ["first_run dbt:staging: 16.00 s vs baseline 10.00 s (1.6x)"]
    unchanged = {"first_run": [{"stage": "dbt:staging", "median_s": 14.0}], "daily_run": []}
    assert compare_with_baseline(unchanged, baseline) == []


def test_peak_memory_sees_an_allocation_made_while_it_samples():
    with PeakMemory(interval=0.01) as mem:
        before = PeakMemory.rss_bytes()
        block = bytearray(200 * 2**20)
        block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
    assert mem.peak >= before + 150 * 2**20
    del block


def test_stage_details_come_from_the_runs_progress_log(tmp_path):
    settings = Settings(home=tmp_path)
    run_dir = settings.run_dir("2026-06-30")
    run_dir.mkdir(parents=True)
    events = [
        {
            "stage": "dbt:staging",
            "event": "end",
            "detail": {
                "build": {"mode": "incremental", "reason": "r"},
                "slowest_nodes": [{"node": "stg_web__orders", "seconds": 1.5}],
                "node_seconds_by_type": {"model": 2.0, "test": 3.5},
            },
        },
        {
            "stage": "dbt:core",
            "event": "end",
            "detail": {"build": {"mode": "full refresh", "reason": "first"}},
        },
        {"stage": "identity", "event": "end", "detail": {"records": 10, "customers": 4, "seconds": 0.5}},
        {
            "stage": "models:clv",
            "event": "end",
            "detail": {
                "n_customers": 4,
                "model_status": "fitted",
                "models": {"bgnbd": {"fit_seconds": 0.1}},
                "seconds": 0.3,
            },
        },
        {"stage": "identity", "event": "start"},
        {"stage": "publish", "event": "end", "seconds": 4.2, "detail": {"tables": {"a": 3, "b": 4}}},
        {"stage": "report", "event": "end", "seconds": 1.5, "detail": {"report": "report.html"}},
    ]
    (run_dir / "progress.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    details = stage_details(settings, date(2026, 6, 30))
    assert details["staging_build"] == {"mode": "incremental", "reason": "r"}
    assert details["core_build"] == {"mode": "full refresh", "reason": "first"}
    assert details["dbt_slowest_nodes"] == {
        "staging": [{"node": "stg_web__orders", "seconds": 1.5}],
        "core": None,  # an end event without them (an older run's log)
    }
    assert details["dbt_node_seconds_by_type"] == {"staging": {"model": 2.0, "test": 3.5}, "core": None}
    assert details["identity"]["records"] == 10 and details["identity"]["customers"] == 4
    assert details["clv"] == {
        "customers": 4,
        "status": "fitted",
        "fit_seconds": {"bgnbd": 0.1},
        "seconds": 0.3,
    }
    # the bench's publish stage split into the snapshot and the report read from it
    assert details["publish"] == {"publish_seconds": 4.2, "rows": 7, "report_seconds": 1.5}


def test_a_machine_key_names_cpu_model_cores_and_memory_and_names_its_baseline():
    from customer360_dev.bench.run import baseline_name, machine_key

    machine = {"cpu": "Intel(R) Xeon(R) Processor", "cores": 2, "memory_gib": 23.5}
    assert machine_key(machine) == "intel-r-xeon-r-processor-2c-24g"
    assert baseline_name("medium", machine) == "baseline-medium-intel-r-xeon-r-processor-2c-24g.json"
    # a machine with other cores or memory is another machine, with its own baseline
    assert machine_key({**machine, "cores": 4}) != machine_key(machine)
    assert machine_key({**machine, "memory_gib": 15.6}) != machine_key(machine)


def test_given_cpu_seconds_in_both_results_then_the_baseline_comparison_uses_them():
    # GIVEN a baseline and a run whose staging wall clock doubled under load, its CPU seconds not; publish's
    # CPU seconds grew 2x
    baseline = {
        "first_run": [
            {"stage": "dbt:staging", "median_s": 10.0, "cpu_s": 4.0},
            {"stage": "publish", "median_s": 5.0, "cpu_s": 2.0},
        ]
    }
    result = {
        "first_run": [
            {"stage": "dbt:staging", "median_s": 20.0, "cpu_s": 4.2},
            {"stage": "publish", "median_s": 6.0, "cpu_s": 4.0},
        ],
        "daily_run": [],
    }
    # WHEN compared THEN publish is flagged in CPU seconds and staging is not
    assert compare_with_baseline(result, baseline) == [
        "first_run publish: 4.00 CPU s vs baseline 2.00 CPU s (2.0x)"
    ]
