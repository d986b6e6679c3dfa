"""What each task of the daily DAG pays before it does any work: the CPU seconds of a fresh interpreter
importing what the task's stage imports, times the tasks of that kind in one daily run.

    python -m customer360_dev.bench.fixed_costs [--rounds N]

``customer360 bench`` runs every stage in one process, so it pays each import once; under Airflow every
task is a process of its own and pays its imports again (the DAG file imports none of them: CONVENTIONS.md,
"heavy imports ... happen inside the task"). The counts come from the DAG's shape: one ingest task per
channel, one dbt build per build (``customer360.builds.BUILDS``: one ``dbtRunner`` invocation each, dbt's
parse shared), one Great Expectations context per validated layer, one task each for identity, the
models and publish (activation and the summary import little). Compare CPU seconds: on a shared
machine the wall clock follows the load.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys

# The modules each kind of task imports to run its stage: the project's stage module and the libraries it
# loads (the heavy ones load inside the stage's functions, so the stage module alone would not pull them).
TASK_IMPORTS: dict[str, tuple[str, ...]] = {
    "ingest": ("customer360.pipeline", "customer360.ingest.loader", "duckdb", "pyarrow"),
    "validate": ("customer360.pipeline", "customer360.quality.runner", "great_expectations"),
    "build": ("customer360.pipeline", "customer360.dbt_runner", "dbt.cli.main"),
    "identity": ("customer360.pipeline", "customer360.identity.resolution", "splink"),
    "models": (
        "customer360.pipeline",
        "customer360.clv.stage",
        "customer360.churn.stage",
        "sklearn.ensemble",
    ),
    "publish": ("customer360.pipeline", "customer360.publish.snapshot", "customer360.report.build", "plotly"),
}


def tasks_per_run() -> dict[str, int]:
    """Tasks of each kind in one daily run of the DAG."""
    from customer360.builds import BUILDS
    from customer360.landing.contract import CHANNELS
    from customer360.report.run_quality import QUALITY_STAGES

    return {
        "ingest": len(CHANNELS),
        "validate": len(QUALITY_STAGES),
        "build": len(BUILDS),
        "identity": 1,
        "models": 1,
        "publish": 1,
    }


def import_cpu_seconds(modules: tuple[str, ...]) -> float:
    """User + system CPU seconds of a fresh interpreter that imports ``modules`` and exits."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    code = f"import importlib\nfor m in {list(modules)!r}:\n    importlib.import_module(m)\n"
    subprocess.run([sys.executable, "-c", code], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="fresh interpreters per task kind (median)")
    args = parser.parse_args(argv)
    counts = tasks_per_run()
    baseline = statistics.median(import_cpu_seconds(()) for _ in range(args.rounds))
    print(f"a bare interpreter: {baseline:.2f} CPU s")
    total = 0.0
    rows = []
    for kind, modules in TASK_IMPORTS.items():
        seconds = statistics.median(import_cpu_seconds(modules) for _ in range(args.rounds))
        total += seconds * counts[kind]
        rows.append((seconds * counts[kind], kind, seconds, counts[kind], ", ".join(modules[1:])))
    for per_run, kind, seconds, count, modules in sorted(rows, reverse=True):
        print(f"{kind:9s} {seconds:5.2f} CPU s per task x {count} per daily run = {per_run:5.2f} ({modules})")
    print(f"imports of one daily run's tasks: {total:.2f} CPU s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
