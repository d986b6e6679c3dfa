"""The bench's single-stage tools: the publish stage on a saved bench state (snapshot and report timed
apart, in CPU seconds) and the fixed costs of the daily DAG's tasks (imports per task, tasks per run)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from customer360.builds import BUILDS
from customer360.landing.contract import CHANNELS
from customer360_dev.bench import fixed_costs, publish_stage


def test_given_a_saved_bench_state_when_the_publish_stage_runs_then_each_round_times_snapshot_and_report(
    tmp_path: Path, capsys
):
    # GIVEN the state a small bench run left: a warehouse with two marts and a restricted table
    state = tmp_path / "bench" / "small" / "run"
    (state / "warehouse").mkdir(parents=True)
    with duckdb.connect(str(state / "warehouse" / "customer360.duckdb")) as con:
        con.execute("create schema marts")
        con.execute("create schema restricted")
        con.execute("create table marts.dim_customers as select range as customer_key from range(300)")
        con.execute("create table marts.fct_orders as select range as order_id from range(1200)")
        con.execute("create table restricted.pii as select 'a@b.c' as email")
    # WHEN the publish stage runs twice on a copy of it
    assert publish_stage.main(["--scale", "small", "--rounds", "2", "--home", str(tmp_path)]) == 0
    # THEN each round prints the snapshot's and the report's CPU and wall seconds and the rows published
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("round")]
    assert len(lines) == 2
    pattern = (
        r"round \d \(small\): snapshot \d+\.\d\d CPU s \(\d+\.\d\d s wall\), "
        r"report \d+\.\d\d CPU s \(\d+\.\d\d s wall\); 1,500 rows in 2 marts"
    )
    assert all(re.fullmatch(pattern, line) for line in lines), lines
    # AND the saved state is left as it was (the rounds publish into a scratch copy)
    assert not (state / "published").exists()


def test_given_the_daily_dag_then_fixed_costs_count_its_tasks_and_time_a_fresh_import():
    # GIVEN the DAG's shape: a task per channel, a dbt build per build, a GX context per validated layer
    counts = fixed_costs.tasks_per_run()
    assert counts["ingest"] == len(CHANNELS)
    assert counts["build"] == len(BUILDS) == 3
    assert counts["validate"] == 3
    assert set(counts) == set(fixed_costs.TASK_IMPORTS)
    # WHEN a fresh interpreter imports a module THEN its CPU seconds are measured (a child process's)
    assert 0 < fixed_costs.import_cpu_seconds(("json",)) < 30
