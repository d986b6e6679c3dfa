"""``customer360 bench``: time and peak memory of every stage of a full first run and of the following
daily run, at a given scale, repeated; printed as a table and written as JSON for comparison.

The data are generated once per scale and cached under ``<home>/bench/<scale>/landing``. The history
holds ``days`` days ending at ``END_DATE``: the first run is for the day before (all history but one day),
the daily run for ``END_DATE`` (one new day), so the daily figure shows what one more day costs.
Stages run in this process through ``customer360.pipeline`` (no Airflow overhead: that is measured by the
end-to-end test, not here).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from customer360.incremental import INCREMENTAL_LAYERS
from customer360.settings import Settings

END_DATE = date(2026, 6, 30)
SCALES: dict[str, dict[str, int]] = {
    "small": {"customers": 5_000, "days": 120, "seed": 11},
    "medium": {"customers": 100_000, "days": 365, "seed": 11},
    "300k": {"customers": 300_000, "days": 365, "seed": 11},
    "large": {"customers": 1_000_000, "days": 365, "seed": 11},
}
SLOWER_THAN_BASELINE = 1.5


class PeakMemory:
    """Samples this process's resident memory while a stage runs (DuckDB allocates in-process too); with
    ``process_tree``, the sum of this process's and its live descendants' (Spark's driver JVM, its Python
    workers)."""

    def __init__(self, interval: float = 0.05, process_tree: bool = False) -> None:
        self.interval = interval
        self.peak = 0
        self.process_tree = process_tree
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def rss_bytes() -> int:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        return tree_rss_bytes() if self.process_tree else self.rss_bytes()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


@dataclass
class StageTiming:
    stage: str
    seconds: float
    peak_rss_mib: float
    records_read: int = 0  # landing records an ingest stage read (0 for the other stages)
    cpu_seconds: float = 0.0  # CPU time of this process (every thread) and its children while it ran


def cpu_seconds() -> float:
    """User + system CPU time of this process's threads and of its waited-for children so far: on a shared
    machine a stage's wall clock follows the load, its CPU time much less."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _descendants() -> list[Any]:
    import psutil

    return psutil.Process().children(recursive=True)


def process_tree_cpu_seconds() -> float:
    """``cpu_seconds`` plus the CPU time of this process's live descendants and of the children they waited
    for. Spark's driver JVM is a child PySpark never waits for, so ``getrusage`` never counts it; a
    descendant waited for later moves from this sum into ``cpu_seconds``'s children, counted once."""
    import psutil

    total = cpu_seconds()
    for child in _descendants():
        try:
            times = child.cpu_times()
        except psutil.Error:  # ended since it was listed: its parent's children times have it
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def tree_rss_bytes() -> int:
    """The resident memory of this process and its live descendants together."""
    import psutil

    total = PeakMemory.rss_bytes()
    for child in _descendants():
        try:
            total += child.memory_info().rss
        except psutil.Error:
            continue
    return total


def machine_info(settings: Settings) -> dict[str, Any]:
    from importlib.metadata import version

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    packages = ("duckdb", "dbt-core", "dbt-duckdb", "apache-airflow", "great-expectations", "pandas", "numpy")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {p: version(p) for p in packages},
        "duckdb_threads": settings.duckdb_threads,
        "duckdb_memory_limit": settings.duckdb_memory_limit,
    }


def machine_key(machine: dict[str, Any]) -> str:
    """The name a machine's baselines are kept under: CPU model, cores and memory (whole GiB), e.g.
    ``amd-epyc-2c-24g``. Results of machines with the same key are compared; others are not."""
    cpu = re.sub(r"[^a-z0-9]+", "-", str(machine.get("cpu") or "unknown").lower()).strip("-") or "unknown"
    memory = round(float(machine.get("memory_gib") or 0))
    return f"{cpu}-{machine.get('cores') or 0}c-{memory}g"


def baseline_name(scale: str, machine: dict[str, Any]) -> str:
    """File name of ``scale``'s baseline for ``machine`` under ``bench/``."""
    return f"baseline-{scale}-{machine_key(machine)}.json"


Stages = list[tuple[str, Callable[[], Any]]]


def _stages(logical_date: date, run_id: str, settings: Settings) -> Stages:
    from customer360 import pipeline
    from customer360.landing.contract import CHANNELS

    stages: list[tuple[str, Callable[[], Any]]] = [
        (f"ingest:{c}", lambda c=c: pipeline.ingest(c, logical_date, run_id, settings)) for c in CHANNELS
    ]
    stages += [
        ("gx:raw", lambda: pipeline.validate("raw", logical_date, run_id, settings)),
        ("dbt:staging", lambda: pipeline.build_layer("staging", logical_date, run_id, settings)),
        ("gx:staging", lambda: pipeline.validate("staging", logical_date, run_id, settings)),
        ("identity", lambda: pipeline.resolve_identity(logical_date, run_id, settings)),
        ("dbt:core", lambda: pipeline.build_layer("core", logical_date, run_id, settings)),
        ("models:clv+churn", lambda: pipeline.fit_models(logical_date, run_id, settings)),
        ("dbt:analytics", lambda: pipeline.build_layer("analytics", logical_date, run_id, settings)),
        ("gx:marts", lambda: pipeline.validate("marts", logical_date, run_id, settings)),
        ("publish", lambda: pipeline.publish(logical_date, run_id, settings)),
    ]
    return stages


def run_pipeline_timed(
    settings: Settings,
    logical_date: date,
    label: str,
    stages: Callable[[date, str, Settings], Stages] = _stages,
    process_tree: bool = False,
    timings: list[StageTiming] | None = None,
) -> list[StageTiming]:
    """Every stage once, in DAG order: its wall and CPU seconds and peak memory. ``stages``: the stages and
    their calls (the pipeline's, ``_stages``); ``process_tree``: count the CPU and memory of this process's
    live descendants too (Spark's JVM); ``timings``: the list each stage's timing is appended to as it ends,
    so a caller still has the stages timed before one that raised."""
    run_id = f"bench__{label}__{datetime.now(UTC).isoformat()}"
    timings = [] if timings is None else timings
    cpu_now = process_tree_cpu_seconds if process_tree else cpu_seconds
    for name, call in stages(logical_date, run_id, settings):
        with PeakMemory(interval=0.25 if process_tree else 0.05, process_tree=process_tree) as mem:
            started, cpu_started = time.perf_counter(), cpu_now()
            outcome = call()
            seconds, cpu = time.perf_counter() - started, cpu_now() - cpu_started
        records = int(outcome.get("rows_read") or 0) if isinstance(outcome, dict) else 0
        timings.append(StageTiming(name, seconds, mem.peak / 2**20, records, cpu))
    return timings


def records_read(runs: list[list[StageTiming]]) -> int:
    """Landing records one run read (every run of a list reads the same)."""
    return sum(t.records_read for t in runs[-1]) if runs else 0


def ensure_data(base: Path, scale: str) -> tuple[Path, float | None]:
    """Generate the scale's landing data once; return its folder and the generation time (None if cached)."""
    from customer360_dev.datagen.generate import generate

    params = SCALES[scale]
    landing = base / scale / "landing"
    marker = base / scale / "generated.json"
    wanted = {**params, "end_date": END_DATE.isoformat()}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return landing, None
    shutil.rmtree(base / scale, ignore_errors=True)
    started = time.perf_counter()
    generate(
        out=landing,
        customers=params["customers"],
        days=params["days"],
        seed=params["seed"],
        end_date=END_DATE,
    )
    seconds = time.perf_counter() - started
    marker.write_text(json.dumps(wanted))
    return landing, seconds


def settle_disk() -> None:
    """Write the copied state to disk before the next run is timed: at the large scale a copy leaves
    gigabytes of dirty pages, and their write-back slowed whichever of the next run's stages it overlapped
    (ingest most), so the timing depended on when the kernel flushed them."""
    os.sync()


def _summarise(runs: list[list[StageTiming]]) -> list[dict[str, Any]]:
    rows = []
    for i, first in enumerate(runs[0]):
        seconds = [r[i].seconds for r in runs]
        rows.append(
            {
                "stage": first.stage,
                "min_s": round(min(seconds), 3),
                "median_s": round(statistics.median(seconds), 3),
                "cpu_s": round(statistics.median(r[i].cpu_seconds for r in runs), 3),
                "peak_rss_mib": round(max(r[i].peak_rss_mib for r in runs), 1),
            }
        )
    totals = [sum(t.seconds for t in r) for r in runs]
    rows.append(
        {
            "stage": "total",
            "min_s": round(min(totals), 3),
            "median_s": round(statistics.median(totals), 3),
            "cpu_s": round(statistics.median(sum(t.cpu_seconds for t in r) for r in runs), 3),
            "peak_rss_mib": round(max(t.peak_rss_mib for r in runs for t in r), 1),
        }
    )
    return rows


def benchmark(settings: Settings, scale: str, repeat: int, first_repeat: int | None = None) -> dict[str, Any]:
    """``first_repeat`` first runs (default ``repeat``), each from an empty warehouse, then ``repeat`` daily
    runs, each from a copy of the state the last first run left (so every daily run adds the same day)."""
    base = settings.home / "bench"
    landing, generate_seconds = ensure_data(base, scale)
    from customer360_dev.bench.peer import compare
    from customer360_dev.bench.targets import per_million

    first_repeat = repeat if first_repeat is None else first_repeat
    first_runs, daily_runs, peers = [], [], []
    home = base / scale / "run"
    saved = base / scale / "after-first-run"
    run_settings = Settings(
        home=home, landing_root=landing, target="duckdb", duckdb_threads=settings.duckdb_threads
    )
    for _attempt in range(max(1, first_repeat)):
        shutil.rmtree(home, ignore_errors=True)
        first_runs.append(run_pipeline_timed(run_settings, END_DATE - timedelta(days=1), "first"))
    peers.append(compare(run_settings, END_DATE - timedelta(days=1)))
    shutil.rmtree(saved, ignore_errors=True)
    shutil.copytree(home, saved, symlinks=True)
    settle_disk()
    for attempt in range(max(1, repeat)):
        if attempt:
            shutil.rmtree(home)
            shutil.copytree(saved, home, symlinks=True)
            settle_disk()
            peers.append(compare(run_settings, END_DATE - timedelta(days=1)))
        daily_runs.append(run_pipeline_timed(run_settings, END_DATE, "daily"))
    shutil.rmtree(saved, ignore_errors=True)
    return {
        "scale": scale,
        "parameters": SCALES[scale],
        "repeat": repeat,
        "first_repeat": max(1, first_repeat),
        "measured_at": datetime.now(UTC).isoformat(),
        "load_average": os.getloadavg(),
        "machine": machine_info(settings),
        "generate_seconds": generate_seconds,
        "first_run_records": records_read(first_runs),
        "daily_run_records": records_read(daily_runs),
        "first_run": per_million(_summarise(first_runs), records_read(first_runs)),
        "daily_run": per_million(_summarise(daily_runs), records_read(daily_runs)),
        "pandas_peer": _summarise_peer(peers),
        "stage_details": stage_details(run_settings, END_DATE),
    }


def _summarise_peer(peers: list[dict[str, Any]]) -> dict[str, Any]:
    pandas_s = [p["pandas_seconds"] for p in peers]
    polars_s = [p["polars_seconds"] for p in peers if "polars_seconds" in p]
    sql_s = [p["sql_seconds"] for p in peers]
    polars = (
        {
            "polars_seconds_min": min(polars_s),
            "polars_seconds_median": statistics.median(polars_s),
            "polars_speedup_median": round(statistics.median(polars_s) / statistics.median(sql_s), 2),
        }
        if polars_s
        else {}
    )
    return {
        **polars,
        **peers[-1],
        "pandas_seconds_min": min(pandas_s),
        "pandas_seconds_median": statistics.median(pandas_s),
        "sql_seconds_min": min(sql_s),
        "sql_seconds_median": statistics.median(sql_s),
        "speedup_median": round(statistics.median(pandas_s) / statistics.median(sql_s), 1),
        "agree": all(
            p["rfm_score_mismatches"] == 0
            and not p["historical_value_mismatches"]
            and not p.get("purchase_day_mismatches")
            and not any((p.get("polars_mismatches") or {}).values())
            for p in peers
        ),
    }


def compare_with_baseline(result: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Stages more than 1.5 times slower than the baseline of the same scale and machine: by CPU seconds
    when both results have them (the wall clock follows the load of a shared machine), else by median
    wall clock. Stages under half a second in the baseline are noise and not compared."""
    slower = []
    for run in ("first_run", "daily_run"):
        before = {row["stage"]: row for row in baseline.get(run, [])}
        for row in result[run]:
            old = before.get(row["stage"])
            if not old:
                continue
            key, unit = ("cpu_s", "CPU s") if row.get("cpu_s") and old.get("cpu_s") else ("median_s", "s")
            if old[key] > 0.5 and row[key] > SLOWER_THAN_BASELINE * old[key]:
                slower.append(
                    f"{run} {row['stage']}: {row[key]:.2f} {unit} vs baseline {old[key]:.2f} {unit} "
                    f"({row[key] / old[key]:.1f}x)"
                )
    return slower


def stage_details(settings: Settings, logical_date: date) -> dict[str, Any]:
    """What the last run of ``logical_date`` did, from its progress log: the staging build's mode, each dbt
    layer's slowest nodes and node time by resource type, identity's records and steps, the CLV fit, the
    churn backtest, and the publish stage's wall seconds split into the snapshot and the run report (for the
    closing figures, not for timing)."""
    from customer360.progress import read_events

    details: dict[str, Any] = {}
    for event in read_events(settings.run_dir(logical_date.isoformat())):
        if event.get("event") != "end":
            continue
        detail = event.get("detail") or {}
        stage = event.get("stage")
        if str(stage).startswith("dbt:"):
            layer = stage.split(":", 1)[1]
            details.setdefault("dbt_slowest_nodes", {})[layer] = detail.get("slowest_nodes")
            details.setdefault("dbt_node_seconds_by_type", {})[layer] = detail.get("node_seconds_by_type")
        if stage in {f"dbt:{layer}" for layer in INCREMENTAL_LAYERS}:
            details[f"{layer}_build"] = detail.get("build")
        elif stage == "identity":
            keep = (
                "mode",
                "mode_reason",
                "records",
                "records_resolved",
                "rows_normalised",
                "customers",
                "candidate_pairs",
                "blocks_skipped",
                "seconds",
                "step_seconds",
            )
            details["identity"] = {k: detail.get(k) for k in keep}
        elif stage in ("publish", "report"):
            # The bench's publish stage is both: the snapshot, then the run report read from it
            rows = sum((detail.get("tables") or {}).values()) if stage == "publish" else None
            details.setdefault("publish", {})[f"{stage}_seconds"] = event.get("seconds")
            if rows is not None:
                details["publish"]["rows"] = rows
        elif stage == "models:clv":
            details["clv"] = {
                "customers": detail.get("n_customers"),
                "status": detail.get("model_status"),
                "fit_seconds": {k: m.get("fit_seconds") for k, m in (detail.get("models") or {}).items()},
                "seconds": detail.get("seconds"),
            }
        elif stage == "models:churn":
            keep = (
                "n_train",
                "n_scored",
                "fit_seconds",
                "auc",
                "baseline_auc",
                "precision_top_decile",
                "baseline_precision_top_decile",
            )
            details["churn"] = {k: detail.get(k) for k in keep}
    return details
