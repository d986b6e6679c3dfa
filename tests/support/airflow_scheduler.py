"""A real Airflow deployment for tests: API server, DAG processor and scheduler with the LocalExecutor, on the
embedded SQLite metadata of one home, driven through Airflow's public REST API.

``customer360 run`` executes a DAG run with ``airflow dags test`` (no scheduler). What only the scheduler
does - creating the runs catchup owes, ordering them, honouring ``max_active_runs`` and the pool, running
each task in its own supervised process - needs these three components, as ``airflow standalone`` starts
them. The simple auth manager runs with every user an admin, so the test fetches a token without a password.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from customer360.airflow_setup import airflow_bin, airflow_env, ensure_airflow
from customer360.settings import Settings

COMPONENTS = ("api-server", "dag-processor", "scheduler")
# The scheduler starts with the pipeline's libraries imported, so its task processes inherit them.
PRELOADED_AIRFLOW = Path(__file__).with_name("preloaded_airflow.py")
START_TIMEOUT_SECONDS = 180
FINISHED = ("success", "failed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scheduler_env(settings: Settings, port: int, **extra: str) -> dict[str, str]:
    """The embedded Airflow's environment of ``settings``'s home, nothing from the caller's AIRFLOW_*."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    base.update(extra)
    env = airflow_env(settings, base=base)
    env.update(
        {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            # The scheduler signs the tokens its tasks present to the API server: one secret for both.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            # Task log server: a free port, not 8793 (a Celery worker in another test may hold it).
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # The DAG files do not change while a test runs: the DAG processor parses each once, not again
            # every 30 s (Airflow's default) for as long as the scheduler runs.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        }
    )
    return env


@dataclass
class Airflow:
    """A running deployment: its REST API and the folder its component logs go to."""

    base_url: str
    logs: Path
    token: str = ""

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", **self._auth()},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def wait_until_up(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.token = self._request("GET", "/auth/token")["access_token"]
                return
            except OSError as exc:
                if time.monotonic() > deadline:
                    message = f"the API server did not answer in {timeout:.0f} s; see {self.logs}"
                    raise TimeoutError(message) from exc
                time.sleep(1)

    def unpause(self, dag_id: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Unpause ``dag_id`` once the DAG processor has registered it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
                return
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
                if time.monotonic() > deadline:
                    log = self.logs / "dag-processor.log"
                    message = f"{dag_id} was not registered in {timeout:.0f} s; see {log}"
                    raise TimeoutError(message) from exc
                time.sleep(1)

    def dag_runs(self, dag_id: str) -> list[dict]:
        found = self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns?order_by=logical_date&limit=1000")
        return found["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances?limit=1000"
        return self._request("GET", path)["task_instances"]

    def wait_for_runs(self, dag_id: str, count: int, timeout: float) -> list[dict]:
        """Block until ``count`` runs of ``dag_id`` exist and have all finished, or one has failed; return
        the runs."""
        deadline = time.monotonic() + timeout
        while True:
            runs = self.dag_runs(dag_id)
            if len(runs) >= count and all(r["state"] in FINISHED for r in runs):
                return runs
            if any(r["state"] == "failed" for r in runs):
                return runs  # max_active_runs=1: nothing after a failed run would tell us more
            if time.monotonic() > deadline:
                states = [(r["logical_date"], r["state"]) for r in runs]
                raise TimeoutError(f"{dag_id}: {states} after {timeout:.0f} s; see {self.logs}")
            time.sleep(5)


@contextmanager
def running_airflow(settings: Settings, **extra_env: str) -> Iterator[Airflow]:
    """Start the API server, the DAG processor and the scheduler for ``settings``'s home; stop them after."""
    port = _free_port()
    env = scheduler_env(settings, port, **extra_env)
    logs = settings.home / "airflow-components"
    logs.mkdir(parents=True, exist_ok=True)
    ensure_airflow(settings, logs / "setup.log", base=env)
    processes = []
    try:
        for component in COMPONENTS:
            with (logs / f"{component}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        _command(component),
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        airflow = Airflow(f"http://127.0.0.1:{port}", logs)
        airflow.wait_until_up()
        yield airflow
    finally:
        for process in processes:
            _stop(process)


def _command(component: str) -> list[str]:
    if component == "scheduler":
        return [sys.executable, str(PRELOADED_AIRFLOW), component]
    return [airflow_bin(), component]


def _stop(process: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM the component's process group (its workers and task processes too), then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    except ProcessLookupError:
        pass
