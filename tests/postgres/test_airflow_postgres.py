"""Airflow on PostgreSQL metadata: the real DAG runs natively, and a Celery worker comes up against Redis.

GIVEN a fresh metadata database ``airflow_<random>`` on the PostgreSQL server, WHEN ``customer360 run`` runs
the DAG (``airflow db migrate`` + ``airflow dags test customer360_daily <date>``) with
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` pointing at it, THEN the run succeeds and its DAG run and task
instances are recorded in PostgreSQL. The Celery test then starts ``airflow celery worker`` on that metadata
database with Redis as the broker and checks that the worker answers a Celery ping (bounded, cleaned up).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from tests.support.postgres_databases import create_database, database_url, drop_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

AS_OF = date(2026, 11, 20)
DAG_ID = "customer360_daily"
RUN_TIMEOUT_SECONDS = 900
WORKER_TIMEOUT_SECONDS = 120
REDIS = ("127.0.0.1", 6379)
# apache-airflow-providers-celery 3.26 imports `retry` from celery.backends.database; celery 5.7 removed it.
KNOWN_CELERY_INCOMPATIBILITY = "cannot import name 'retry' from 'celery.backends.database'"
BIN = Path(sys.executable).parent


def _sqlalchemy_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql+psycopg2", parts.netloc, parts.path, parts.query, parts.fragment))


@pytest.fixture(scope="module")
def metadata_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh ``airflow_<random>`` database (dropped afterwards); yields its psycopg2 URL."""
    name = create_database(postgres_server_url, "airflow")
    try:
        yield database_url(postgres_server_url, name)
    finally:
        drop_database(postgres_server_url, name)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from customer360_dev.datagen.generate import generate

    root = tmp_path_factory.mktemp("airflow_pg")
    # Small, but longer than the churn horizon (90 days): the churn stage has customers to train on.
    generate(root / "landing", customers=100, days=100, seed=7, end_date=AS_OF)
    return root


def _env(home: Path, metadata_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CUSTOMER360_", "AIRFLOW", "DBT_"))}
    env.update(
        CUSTOMER360_HOME=str(home),
        CUSTOMER360_TARGET="duckdb",
        CUSTOMER360_RETRY_DELAY_SECONDS="1",
        CUSTOMER360_PSEUDONYM_SALT="airflow-test-salt",
        CUSTOMER360_DUCKDB_THREADS="1",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=_sqlalchemy_url(metadata_url),
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def dag_run(home: Path, metadata_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "customer360"), "run", "--date", AS_OF.isoformat(), "--no-generate"],
        env=_env(home, metadata_url),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )


def test_given_postgres_metadata_when_the_dag_runs_natively_then_it_succeeds_and_postgres_records_it(
    dag_run: subprocess.CompletedProcess[str], home: Path, metadata_url: str
) -> None:
    log = home / "runs" / AS_OF.isoformat() / "airflow.log"
    tail = log.read_text(encoding="utf-8")[-4000:] if log.exists() else dag_run.stdout[-4000:]
    assert dag_run.returncode == 0, (
        f"customer360 run failed:\n{dag_run.stderr[-2000:]}\n--- airflow.log:\n{tail}"
    )
    summary = json.loads((home / "runs" / AS_OF.isoformat() / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "success", summary.get("problems")
    with psycopg2.connect(metadata_url) as pg, pg.cursor() as cur:
        cur.execute("select state from dag_run where dag_id = %s", [DAG_ID])
        assert [r[0] for r in cur.fetchall()] == ["success"]
        cur.execute(
            "select task_id, state from task_instance where dag_id = %s and state <> 'success' order by 1",
            [DAG_ID],
        )
        assert cur.fetchall() == []
        cur.execute("select count(*) from task_instance where dag_id = %s", [DAG_ID])
        assert cur.fetchone()[0] >= 15  # six ingests, three gates, three dbt layers, identity, models, ...
    assert (home / "published" / "current" / "marts.duckdb").exists()


def _redis_up() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(REDIS) == 0


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)  # the worker's own process group: it and its pool children
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_given_postgres_metadata_and_redis_when_a_celery_worker_starts_then_it_answers_a_ping(
    dag_run: subprocess.CompletedProcess[str], home: Path, metadata_url: str, tmp_path: Path
) -> None:
    if not _redis_up():
        message = "no Redis on 127.0.0.1:6379 for the Celery broker"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: this test never skips in CI)")
        pytest.skip(message)
    from celery import Celery

    broker = f"redis://{REDIS[0]}:{REDIS[1]}/0"
    name = f"customer360-test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    queue = f"customer360_test_{uuid.uuid4().hex[:8]}"  # a queue of its own: it takes nobody else's tasks
    env = _env(
        home,
        metadata_url,
        AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
        AIRFLOW__CELERY__BROKER_URL=broker,
        AIRFLOW__CELERY__RESULT_BACKEND="db+" + metadata_url,
        AIRFLOW__CELERY__WORKER_CONCURRENCY="1",
        AIRFLOW_HOME=str(home / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(Path(__file__).resolve().parents[2] / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                str(BIN / "airflow"),
                "celery",
                "worker",
                "--celery-hostname",
                name,
                "--queues",
                queue,
                "--concurrency",
                "1",
                "--skip-serve-logs",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    app = Celery(broker=broker)
    replies: list[dict] = []
    try:
        deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
        while time.monotonic() < deadline and worker.poll() is None and not replies:
            replies = app.control.ping(destination=[name], timeout=2.0) or []
        queues = app.control.inspect(destination=[name], timeout=5.0).active_queues() or {}
    finally:
        _stop(worker)
        app.close()
    output = log.read_text(encoding="utf-8", errors="replace")[-3000:]
    if not replies and KNOWN_CELERY_INCOMPATIBILITY in output:
        pytest.xfail(
            "the installed apache-airflow-providers-celery cannot import celery.backends.database.retry "
            "(removed in celery 5.7): pin celery<5.7 or upgrade the provider"
        )
    assert replies, (
        f"the Celery worker {name} did not answer a ping within {WORKER_TIMEOUT_SECONDS}s:\n{output}"
    )
    assert replies[0][name] == {"ok": "pong"}
    assert [q["name"] for q in queues.get(name, [])] == [queue]
