"""``run_day``: one daily run of the pipeline for one logical date, stage by stage, in DAG order.

Each group of stages runs in a process of its own, as Airflow runs each task in its own process: a stage
cannot lean on state another stage left in memory, and dbt's in-process DuckDB connection ends with its
process. A group ends after each dbt build.

The processes are forked from a warm parent (``stage_server.py``) that has imported Great Expectations, dbt
and scikit-learn but never run a stage, as Airflow 3's task supervisor and Celery's prefork pool start
tasks: each group still starts without pipeline state, without paying those imports again per process.
``stage_command`` gives a plain interpreter instead, for tests that need the process itself (to kill it).
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from customer360.landing.contract import CHANNELS
from customer360.settings import Settings
from tests.support.shared_dbt_parse import keep_seed, seed_home

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "stage_runner.py"
SERVER = HERE / "stage_server.py"
PROJECT = HERE.parents[1]
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
SERVER_START_TIMEOUT_SECONDS = 300
# The session's saved dbt parses, that each home starts from and adds to (``shared_dbt_parse``); set by
# tests/conftest.py.
PARSE_CACHE: Path | None = None


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


@dataclass
class StageProcess:
    """How a stage process ended: like ``subprocess.CompletedProcess``."""

    returncode: int
    stdout: str
    stderr: str


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
    """A plain interpreter running ``stages`` (for tests that need the process itself, e.g. to kill it)."""
    return [sys.executable, str(RUNNER), *stage_args(logical_date, run_id, stages)]


def stage_args(logical_date: date, run_id: str, stages: tuple[str, ...]) -> list[str]:
    return ["--date", logical_date.isoformat(), "--run-id", run_id, *stages]


class StageServer:
    """The client of one ``stage_server.py`` process (started on first use, ended with this process)."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CUSTOMER360_", "DBT_"))}
        self._log = tempfile.NamedTemporaryFile(prefix="stage-server-", suffix=".log", delete=False)
        self._process = subprocess.Popen(
            [sys.executable, str(SERVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=PROJECT,
        )
        self._pending = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._process.stdout, selectors.EVENT_READ)
        if self._read(SERVER_START_TIMEOUT_SECONDS) is None:  # {"ready": true}: the libraries are imported
            self._process.kill()
            raise RuntimeError(f"the stage server did not start within {SERVER_START_TIMEOUT_SECONDS} s")

    def _read(self, timeout: float) -> dict | None:
        """The server's next reply, or None if none came within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(remaining):
                return None
            chunk = os.read(self._process.stdout.fileno(), 65536)
            if not chunk:
                log = Path(self._log.name).read_text(encoding="utf-8", errors="replace")[-3000:]
                raise RuntimeError(f"the stage server ended (exit {self._process.wait()}):\n{log}")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return json.loads(line)

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def run(self, argv: list[str], env: dict[str, str], timeout: float) -> StageProcess:
        with tempfile.TemporaryDirectory(prefix="stages-") as tmp:
            out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
            request = {"argv": argv, "env": env, "cwd": str(PROJECT), "stdout": str(out), "stderr": str(err)}
            self._process.stdin.write(json.dumps(request).encode() + b"\n")
            self._process.stdin.flush()
            started = self._read(SERVER_START_TIMEOUT_SECONDS)
            if started is None:
                raise RuntimeError(f"no fork of {argv} within {SERVER_START_TIMEOUT_SECONDS} s")
            ended = self._read(timeout)
            if ended is None:
                os.kill(started["pid"], signal.SIGKILL)
                self._read(SERVER_START_TIMEOUT_SECONDS)
                raise TimeoutError(f"stage process {argv} did not end within {timeout} s")
            read = lambda path: path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""  # noqa: E731
            return StageProcess(ended["returncode"], read(out), read(err))

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._selector.close()
        Path(self._log.name).unlink(missing_ok=True)


_server: StageServer | None = None


def run_stages(
    settings: Settings,
    logical_date: date,
    run_id: str,
    stages: tuple[str, ...],
    timeout: float = RUN_TIMEOUT_SECONDS,
    **extra_env: str,
) -> StageProcess:
    """Run ``stages`` in one new process forked from the warm stage server; wait for it to end."""
    global _server
    if _server is None or not _server.alive:
        _server = StageServer()
        atexit.register(_server.close)
    return _server.run(stage_args(logical_date, run_id, stages), stage_env(settings, **extra_env), timeout)


def run_day(settings: Settings, logical_date: date, run_id: str, validate: bool = True) -> DayRun:
    """Run every stage for ``logical_date``; ``validate=False`` leaves the read-only GX gates out."""
    seed_home(settings.home, PARSE_CACHE)
    run = DayRun(logical_date, run_id)
    failed = False
    for group in STAGE_GROUPS:
        stages = tuple(s for s in group if validate or s not in VALIDATIONS)
        if failed:
            stages = tuple(s for s in stages if s == "summarize")
            if not stages:
                continue
        done = run_stages(settings, logical_date, run_id, stages)
        run.output += done.stdout + done.stderr[-4000:]
        results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"stage"')]
        if not results:
            results = [
                {"stage": stages[0], "ok": False, "error": f"exit {done.returncode}: {done.stderr[-2000:]}"}
            ]
        run.stages += results
        failed = failed or any(not r["ok"] and not r["stage"].startswith("ingest:") for r in results)
    if run.ok:
        keep_seed(settings.home, PARSE_CACHE)
    return run
