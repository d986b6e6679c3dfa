"""Run dbt for one layer of the pipeline: one ``dbt build`` per layer, never one per model.

dbt pays its start-up on every call, so the DAG calls it once per layer with a selector from
``dbt_project/selectors.yml``. The settings dbt needs go in as ``--vars`` and environment variables
(profiles.yml reads only ``env_var()``); the values that change with every run (the as-of date and the
incremental planner's window) go in as environment variables the models read only while they run
(``run_context`` in dbt_project/macros/run_context.sql). So ``--vars`` stay the same from one run and one
layer to the next, and dbt re-reads only the project files that changed instead of parsing the whole project
again (a full parse costs several times a partial one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from customer360.builds import get_build
from customer360.lineage.dbt_events import emit_build_events as lineage_events
from customer360.scoped_environment import scoped_environment
from customer360.settings import Settings

# How many of a layer's slowest nodes a build reports (progress log, benchmark details).
SLOWEST_NODES = 8
# Vars that change with every run: passed as CUSTOMER360_RUN_<NAME> (JSON), read by the run_context macro.
RUN_CONTEXT_VARS = (
    "as_of_date",
    "incremental_since_as_of",
    "incremental_files",
    "incremental_files_from",
    "incremental_identity_since",
    "incremental_staging_builds",
)


class DbtBuildError(RuntimeError):
    """dbt finished with failed models or tests; the message lists them and where the log is."""


@dataclass
class DbtLayerResult:
    layer: str
    success: bool
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log_path: Path | None = None
    # The nodes that took longest (name, seconds), slowest first: where a layer's time goes.
    slowest: list[tuple[str, float]] = field(default_factory=list)
    # Node time summed by resource type (model, test, unit_test, snapshot, seed); with several threads the
    # sums exceed the wall time, and what is left of ``seconds`` is dbt's start, parse and scheduling.
    seconds_by_type: dict[str, float] = field(default_factory=dict)
    # The OpenLineage events the build emitted and the time they took (included in ``seconds``).
    lineage: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "layer": self.layer,
            "success": self.success,
            "counts": self.counts,
            "failures": self.failures,
            "seconds": round(self.seconds, 2),
            "slowest_nodes": [{"node": name, "seconds": round(sec, 2)} for name, sec in self.slowest],
            "node_seconds_by_type": {kind: round(sec, 2) for kind, sec in self.seconds_by_type.items()},
            "log_path": str(self.log_path) if self.log_path else None,
            "lineage": self.lineage,
        }


def release_connections() -> None:
    """dbt-duckdb keeps its DuckDB connection open after a command; close it so the next stage in the
    same process (Airflow's in-process test runs, the benchmark) can open the warehouse file itself."""
    import gc

    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # the PostgreSQL target without dbt-duckdb
        return
    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()
    gc.collect()


def dbt_vars(settings: Settings, as_of_date: date) -> dict[str, object]:
    from customer360.landing.mapping import load_channel_configs

    # One source for the channels' time zones: config/channels.yml (over the contract's defaults), so
    # ingest's checks and staging's UTC conversion never disagree.
    zones = {name: config.timezone for name, config in load_channel_configs(settings).items()}
    return {
        "source_timezones": zones,
        "as_of_date": as_of_date.isoformat(),
        "rfm_window_days": settings.rfm_window_days,
        "tier_a_share": settings.tier_a_share,
        "tier_b_share": settings.tier_b_share,
        "gold_share": settings.gold_share,
        "churn_horizon_days": settings.churn_horizon_days,
        "model_refit_days": settings.model_refit_days,
        "default_sla_hours": settings.default_sla_hours,
        "pseudonym_salt": settings.pseudonym_salt,
    }


def run_context_environment(run_vars: dict[str, object]) -> dict[str, str]:
    """``CUSTOMER360_RUN_<NAME>`` for each of ``RUN_CONTEXT_VARS``: its value as JSON, or empty when this run
    has none (so that a value from an earlier call, or exported by hand, is never read by mistake)."""
    return {
        f"CUSTOMER360_RUN_{name.upper()}": "" if run_vars.get(name) is None else json.dumps(run_vars[name])
        for name in RUN_CONTEXT_VARS
    }


def split_run_context(all_vars: dict[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """``(vars, run context)``: the vars that stay the same from run to run, for ``--vars``, and those that
    change with every run, for ``run_context_environment``. ``marts_full_rebuild`` is always set (false
    unless the core plan says otherwise), so that the three layers of a run pass the same ``--vars``."""
    stable = {name: value for name, value in all_vars.items() if name not in RUN_CONTEXT_VARS}
    stable.setdefault("marts_full_rebuild", False)
    return stable, {name: all_vars.get(name) for name in RUN_CONTEXT_VARS}


def dbt_environment(settings: Settings, run_vars: dict[str, object] | None = None) -> dict[str, str]:
    """The variables dbt needs for ``settings`` (profiles.yml reads only these) and for this run's
    ``run_vars`` (see ``run_context_environment``)."""
    return {
        **run_context_environment(run_vars or {}),
        **settings.dbt_env(),
        # dbt writes its logs and artefacts beside the project unless told otherwise; keep them per home.
        "DBT_LOG_PATH": str(settings.home / "dbt" / "logs"),
        "DBT_TARGET_PATH": str(settings.home / "dbt" / "target"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }


@contextmanager
def in_warehouse_folder(warehouse_path: Path) -> Iterator[None]:
    """Run the block in the DuckDB warehouse's folder, where profiles.yml opens the warehouse by its file
    name (``CUSTOMER360_WAREHOUSE_FILE``).

    dbt reuses its saved parse only while every connection value of the profile is unchanged. With the
    warehouse's full path among them, each home (and each copy or move of one) parsed the whole project
    again at its first build; the file name is the same in every home, so one saved parse serves them all.
    """
    from contextlib import chdir

    folder = warehouse_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    with chdir(folder):
        yield


@contextmanager
def _environment(settings: Settings, run_vars: dict[str, object] | None = None) -> Iterator[None]:
    """Set dbt's variables for one in-process call, in the warehouse's folder (``in_warehouse_folder``), and
    restore the caller's environment and folder afterwards, so a ``Settings()`` built later in the same
    process does not inherit this run's paths."""
    with scoped_environment(dbt_environment(settings, run_vars)):
        with in_warehouse_folder(settings.warehouse_path):
            yield


PARTIAL_PARSE_FILE = "partial_parse.msgpack"


@contextmanager
def parse_kept_per_vars(target: Path, stable_vars: dict[str, object]) -> Iterator[None]:
    """Keep dbt's saved parse once per set of ``--vars``, not only the last one.

    dbt saves its parse in ``target/partial_parse.msgpack`` and reuses it only with the same ``--vars``. The
    core layer's full rebuild passes other ones (``marts_full_rebuild``), so without this a run that rebuilds
    it (every home's first run) parsed the whole project three times: for staging, for core, and for
    analytics again. Before the call the parse saved for these vars (``partial_parse.<vars hash>.msgpack``)
    becomes dbt's file; after it, dbt's file is saved under that name.
    """
    import hashlib
    import shutil

    key = hashlib.sha256(json.dumps(stable_vars, sort_keys=True).encode()).hexdigest()[:16]
    current, kept = target / PARTIAL_PARSE_FILE, target / f"partial_parse.{key}.msgpack"
    if kept.is_file():
        shutil.copyfile(kept, current)
    try:
        yield
    finally:
        if current.is_file():
            shutil.copyfile(current, kept)


def _prepare_environment(settings: Settings) -> None:
    """For callers that run dbt in a process of its own (``customer360 docs``): set dbt's variables."""
    os.environ.update(dbt_environment(settings))


def parse(settings: Settings, as_of_date: date, *, extra_vars: dict[str, object] | None = None) -> None:
    """``dbt parse`` with the ``--vars`` a build with these ``extra_vars`` passes, its parse saved for them
    (``parse_kept_per_vars``), so that such a build starts from it. ``DbtBuildError`` when dbt fails."""
    from dbt.cli.main import dbtRunner

    stable_vars, run_vars = split_run_context({**dbt_vars(settings, as_of_date), **(extra_vars or {})})
    project = str(settings.dbt_project_dir)
    args = ["parse", "--project-dir", project, "--profiles-dir", project, "--target", settings.dbt_target]
    args += ["--vars", json.dumps(stable_vars, sort_keys=True), "--quiet"]
    with _environment(settings, run_vars), parse_kept_per_vars(settings.home / "dbt" / "target", stable_vars):
        result = dbtRunner().invoke(args)
    if not result.success:
        raise DbtBuildError(f"dbt could not parse the project: {result.exception or 'see its log'}")


def build(
    settings: Settings,
    layer: str,
    as_of_date: date,
    extra_args: list[str] | None = None,
    *,
    extra_vars: dict[str, object] | None = None,
    full_refresh: bool = False,
    selector: str | None = None,
) -> DbtLayerResult:
    """``dbt build`` of one layer. Raises ``DbtBuildError`` naming each failed node.

    ``extra_vars`` go in beside the settings' vars (the incremental plan's); ``full_refresh`` rebuilds the
    layer's incremental models from scratch; ``selector`` replaces the layer's own (the incremental plan's
    daily selector, without the whole-table tests). dbt's unit tests run only with ``settings.dbt_unit_tests``
    (their fixed inputs test the SQL, not the day's data: the test suite runs them)."""
    import time

    from dbt.cli.main import dbtRunner

    selector = selector or get_build(layer).selector
    if settings.target == "spark":
        # Parquet tables on Spark cannot delete rows, so the incremental models' delete+insert and
        # replace_keys strategies have nothing to run on: every build on Spark is a full one (docs/spark.md).
        full_refresh = True
        from customer360.spark_handover import before_build

        before_build(settings, layer)
    stable_vars, run_vars = split_run_context({**dbt_vars(settings, as_of_date), **(extra_vars or {})})
    args = [
        "build",
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target",
        settings.dbt_target,
        "--selector",
        selector,
        "--vars",
        json.dumps(stable_vars, sort_keys=True),
        "--quiet",
        *(["--full-refresh"] if full_refresh else []),
        *([] if settings.dbt_unit_tests else ["--exclude-resource-type", "unit_test"]),
        *(extra_args or []),
    ]
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    with _environment(settings, run_vars), parse_kept_per_vars(settings.home / "dbt" / "target", stable_vars):
        try:
            result = dbtRunner().invoke(args)
        finally:
            release_connections()
        # OpenLineage events of the build and of each model (docs/lineage.md); never fails the build.
        lineage_started = time.perf_counter()
        lineage_sent = lineage_events(settings, layer, as_of_date, bool(result.success), started_at)
        lineage_seconds = time.perf_counter() - lineage_started
    seconds = time.perf_counter() - started
    log_path = settings.home / "dbt" / "logs" / "dbt.log"
    outcome = DbtLayerResult(layer=layer, success=bool(result.success), seconds=seconds, log_path=log_path)
    outcome.lineage = {"events": lineage_sent, "seconds": round(lineage_seconds, 2)}
    if result.exception is not None:
        raise DbtBuildError(f"dbt could not run the {layer} layer: {result.exception} (log: {log_path})")
    timings = []
    for node_result in result.result or []:
        node_seconds = float(node_result.execution_time or 0.0)
        timings.append((node_result.node.name, node_seconds))
        kind = str(node_result.node.resource_type)
        outcome.seconds_by_type[kind] = outcome.seconds_by_type.get(kind, 0.0) + node_seconds
        status = str(node_result.status)
        outcome.counts[status] = outcome.counts.get(status, 0) + 1
        if status in ("error", "fail"):
            node = node_result.node
            message = (node_result.message or "").strip().splitlines()
            outcome.failures.append(
                f"{node.resource_type} {node.name} ({node.original_file_path}): "
                f"{status}: {message[0] if message else 'no message'}"
            )
    outcome.slowest = sorted(timings, key=lambda t: -t[1])[:SLOWEST_NODES]
    if not outcome.success:
        listed = "\n  - ".join(outcome.failures) or "see the log"
        raise DbtBuildError(f"dbt build of the {layer} layer failed:\n  - {listed}\n(log: {log_path})")
    return outcome
