"""The embedded Airflow: SQLite metadata under ``<home>/airflow``, the project's DAGs, no server.

``customer360 run`` and ``make ui`` both use ``airflow_env()`` so the DAG runs the same way from the
command line, from ``airflow standalone`` and from tests.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from customer360.settings import Settings

POOL_NAME = "customer360_warehouse"
POOL_DESCRIPTION = "One slot: tasks that write the DuckDB warehouse never run at the same time"
# The ``airflow`` commands that set up a home's metadata database, run one after the other in one process
# (``main``): each ``airflow`` process imports Airflow first, which costs more than these commands do.
SETUP_COMMANDS = (("db", "migrate"), ("pools", "set", POOL_NAME, "1", POOL_DESCRIPTION))


def airflow_bin() -> str:
    """The ``airflow`` executable of this environment."""
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


def airflow_env(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for Airflow processes: the caller's environment plus the embedded defaults.

    Any ``AIRFLOW__*`` variable the user already set wins, so the same command works against an
    Airflow on PostgreSQL metadata (set ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``).
    """
    env = dict(os.environ if base is None else base)
    home = settings.airflow_home
    defaults = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "CUSTOMER360_HOME": str(settings.home),
    }
    defaults.update(openlineage_defaults(settings))
    for key, value in defaults.items():
        env.setdefault(key, value)
    env.update({k: str(v) for k, v in settings.dbt_env().items()})
    return env


def openlineage_defaults(settings: Settings) -> dict[str, str]:
    """Airflow's OpenLineage provider: on, writing to the run folders (and to Marquez when a URL is set),
    with the extractor that names the daily DAG's datasets (docs/lineage.md). Emission runs in a thread of
    the task's process instead of a fork of it. ``AIRFLOW__OPENLINEAGE__*`` set by the user win."""
    import json

    if not settings.lineage_enabled:
        return {"AIRFLOW__OPENLINEAGE__DISABLED": "True"}
    from customer360.lineage.config import transport_config

    return {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport_config(settings)),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": settings.openlineage_namespace,
        "AIRFLOW__OPENLINEAGE__EXTRACTORS": "customer360.lineage.airflow_extractor.DailyTaskExtractor",
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
    }


def _run(args: list[str], env: dict[str, str], log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(args)}\n")
        fh.flush()
        completed = subprocess.run(args, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"`{' '.join(args[1:])}` failed (exit {completed.returncode}); see {log}")


def ensure_airflow(settings: Settings, log: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Create or upgrade the metadata database and the warehouse pool; return the environment
    (``airflow_env(settings, base)``)."""
    from importlib.metadata import version

    env = airflow_env(settings, base)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    marker = Path(env["AIRFLOW_HOME"]) / ".customer360-ready"
    # Migrate again whenever Airflow's version or the metadata database changes.
    # (hashed: the connection string may hold a password)
    conn = hashlib.sha256(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].encode()).hexdigest()[:16]
    state = f"airflow {version('apache-airflow')} on metadata {conn}\n"
    if not marker.exists() or marker.read_text(encoding="utf-8") != state:
        _run([sys.executable, "-m", "customer360.airflow_setup"], env, log)
        marker.write_text(state, encoding="utf-8")
    return env


def main() -> None:
    """``python -m customer360.airflow_setup``: ``SETUP_COMMANDS``, each as the ``airflow`` command runs it,
    in this one process (the environment is ``ensure_airflow``'s)."""
    from airflow.__main__ import main as airflow

    for command in SETUP_COMMANDS:
        sys.argv = ["airflow", *command]
        airflow()


if __name__ == "__main__":
    main()
