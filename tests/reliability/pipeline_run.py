"""``run_day``: one daily run of the pipeline for one logical date, stage by stage, in DAG order.

Each group of stages runs in a fresh Python process (``stage_runner.py``), as Airflow runs each task in its
own process: a stage cannot lean on state another stage left in memory, and dbt's in-process DuckDB
connection ends with its process. A group ends after each dbt build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from customer360.landing.contract import CHANNELS
from customer360.settings import Settings

RUNNER = Path(__file__).with_name("stage_runner.py")
PROJECT = Path(__file__).resolve().parents[2]
INGEST = tuple(f"ingest:{c}" for c in CHANNELS)
# The DAG's order (dags/customer360_daily.py), cut where a new process starts.
STAGE_GROUPS: tuple[tuple[str, ...], ...] = (
    (*INGEST, "validate:raw", "dbt:staging"),
    ("validate:staging", "identity", "dbt:core"),
    ("models", "dbt:analytics"),
    ("validate:marts", "publish", "summarize"),
)
VALIDATIONS = ("validate:raw", "validate:staging", "validate:marts")
RUN_TIMEOUT_SECONDS = 900


@dataclass
class DayRun:
    logical_date: date
    run_id: str
    stages: list[dict] = field(default_factory=list)
    output: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.stages) and all(s["ok"] for s in self.stages)

    def errors(self) -> list[str]:
        return [f"{s['stage']}: {s['error']}" for s in self.stages if not s["ok"]]


def stage_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a stage process: this test's home, nothing from the caller's CUSTOMER360_*."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CUSTOMER360_") and not k.startswith("DBT_")
    }
    env.update(
        CUSTOMER360_HOME=str(settings.home),
        CUSTOMER360_PSEUDONYM_SALT=settings.pseudonym_salt,
        CUSTOMER360_DUCKDB_THREADS=str(settings.duckdb_threads),
        **extra,
    )
    return env


def stage_command(logical_date: date, run_id: str, stages: tuple[str, ...]) -> list[str]:
    return [sys.executable, str(RUNNER), "--date", logical_date.isoformat(), "--run-id", run_id, *stages]


def run_day(settings: Settings, logical_date: date, run_id: str, validate: bool = True) -> DayRun:
    """Run every stage for ``logical_date``; ``validate=False`` leaves the read-only GX gates out."""
    run = DayRun(logical_date, run_id)
    failed = False
    for group in STAGE_GROUPS:
        stages = tuple(s for s in group if validate or s not in VALIDATIONS)
        if failed:
            stages = tuple(s for s in stages if s == "summarize")
            if not stages:
                continue
        done = subprocess.run(
            stage_command(logical_date, run_id, stages),
            env=stage_env(settings),
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        run.output += done.stdout + done.stderr[-4000:]
        results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"stage"')]
        if not results:
            results = [
                {"stage": stages[0], "ok": False, "error": f"exit {done.returncode}: {done.stderr[-2000:]}"}
            ]
        run.stages += results
        failed = failed or any(not r["ok"] and not r["stage"].startswith("ingest:") for r in results)
    return run
