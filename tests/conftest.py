"""Shared test fixtures: a PostgreSQL server found through a setting, and quiet third-party logging.

PostgreSQL is found, in order: ``CUSTOMER360_TEST_POSTGRES_URL``; a server on 127.0.0.1:5432 (trust auth,
user postgres); a throwaway cluster started with ``pg_ctl`` when PostgreSQL is installed. When none is
available, PostgreSQL tests are skipped with a loud reason — except under CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("CUSTOMER360_RETRY_DELAY_SECONDS", "1")
UNDER_CI = os.environ.get("CI", "").lower() == "true"
# The xdist worker this process is ("gw0", "gw1", ...), or "main" without xdist: names per-worker resources.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

# Test modules go to xdist workers whole (`make test`: -n 2 --dist loadfile), longest first. These units
# start the session, in this order: the catchup module (the longest: Airflow's scheduler runs the backfill's
# dates) and, beside it on the other worker, test_incremental.py, whose first test makes ``backfill_run``,
# which catchup's last test compares with: it is ready when catchup asks, instead of one worker waiting
# while the other makes it. The Spark folder (long, and it reads no shared run) is next: whichever worker is
# first to ask for more work takes it, rather than a module that would wait for a run the other is making.
LEADING_UNITS = ("tests/reliability/test_catchup.py", "tests/reliability/test_incremental.py", "tests/spark/")
# Modules using these session fixtures run the pipeline (each once per session, on whichever worker asks
# first: tests/support/shared_runs.py): they start next, so the runs are made early.
PIPELINE_RUN_FIXTURES = frozenset({"single_run", "backfill_run", "shuffled_run"})
# Unit modules that build a warehouse once for all their tests (the longest unit modules): they start
# before the other unit modules, so that the last modules to run are short ones.
BUILD_ONCE_MODULES = frozenset(
    {
        "tests/unit/test_dbt_project.py",
        "tests/unit/test_dbt_marts.py",
        "tests/unit/test_quality_stages.py",
        "tests/unit/test_publish.py",
        "tests/unit/test_bench_peer.py",
    }
)


# Folders whose modules share a session fixture that is made once per process (tests/spark/conftest.py's
# Spark session and the runs on it): under xdist each folder is one unit of work, so its modules run on one
# worker, one after the other, and the fixture is made once, not once on each worker.
ONE_WORKER_FOLDERS = ("tests/spark/",)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile`` with the modules of each of ``ONE_WORKER_FOLDERS`` sent to one worker together."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class FolderScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return next((folder for folder in ONE_WORKER_FOLDERS if module.startswith(folder)), module)

    return FolderScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order modules for ``pytest -n 2 --dist loadfile --no-loadscope-reorder`` (``make test``).

    Each module keeps its tests together and in order (its module fixtures are made once); the
    ``LEADING_UNITS`` go first, then the modules that use a pipeline run, then modules with ``slow`` or
    ``postgres`` tests (those of ``ONE_WORKER_FOLDERS`` first), then the unit modules that build a warehouse
    once, then the rest, so that no worker starts a long module while the other is idle. Without xdist the
    order changes nothing but the sequence.
    """
    first_seen: dict[str, int] = {}
    rank: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        first_seen.setdefault(module, len(first_seen))
        if PIPELINE_RUN_FIXTURES & set(getattr(item, "fixturenames", ())):
            weight = 0
        elif item.get_closest_marker("slow") or item.get_closest_marker("postgres"):
            weight = 1
        else:
            weight = 2 if module in BUILD_ONCE_MODULES else 3
        rank[module] = min(rank.get(module, weight), weight)

    def key(item: pytest.Item) -> tuple[int, int, bool, int]:
        module = item.nodeid.split("::", 1)[0]
        leading = next((i for i, unit in enumerate(LEADING_UNITS) if module.startswith(unit)), None)
        if leading is not None:
            return 0, leading, False, 0
        # a folder that runs whole on one worker is the longest unit of its rank: it starts first
        return 1 + rank[module], 0, not module.startswith(ONE_WORKER_FOLDERS), first_seen[module]

    items.sort(key=key)


@pytest.fixture(scope="session", autouse=True)
def _dbt_parse_cache(tmp_path_factory) -> None:
    """One folder of saved dbt parses for the whole session, every xdist worker included: the test homes
    and dbt work folders start from it instead of each parsing the project (support/shared_dbt_parse.py)."""
    from tests.support import dbt_runner, pipeline_run
    from tests.support.shared_runs import session_root

    dbt_runner.PARSE_CACHE = pipeline_run.PARSE_CACHE = session_root(tmp_path_factory) / "dbt_parse_cache"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def _can_connect(url: str) -> bool:
    try:
        import psycopg2

        psycopg2.connect(url, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL tests cannot run: {reason}"
    if UNDER_CI:
        pytest.fail(message + " (CI=true: PostgreSQL tests never skip in CI)")
    print(f"\n*** SKIPPING: {message} ***", file=sys.stderr)
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory) -> Iterator[str]:
    """A URL to a PostgreSQL server's ``postgres`` database, usable to create test databases."""
    url = os.environ.get("CUSTOMER360_TEST_POSTGRES_URL")
    if url:
        if not _can_connect(url):
            _unavailable(f"CUSTOMER360_TEST_POSTGRES_URL={url} does not answer")
        yield url
        return
    default = "postgresql://postgres@127.0.0.1:5432/postgres"
    if _port_open("127.0.0.1", 5432) and _can_connect(default):
        yield default
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        _unavailable(
            "no server on 127.0.0.1:5432 and no pg_ctl/initdb installed (apt-get install postgresql)"
        )
    data = tmp_path_factory.mktemp("pgdata")
    port = _free_port()
    run_as = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    if run_as:
        shutil.chown(data, user="postgres")
    subprocess.run(
        [*run_as, initdb, "-D", str(data), "-U", "postgres", "--auth=trust"], check=True, capture_output=True
    )
    subprocess.run(
        [
            *run_as,
            pg_ctl,
            "-D",
            str(data),
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
            "-l",
            str(data / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True)


@pytest.fixture(scope="module")
def postgres_database(postgres_server_url: str) -> Iterator[dict[str, str]]:
    """A fresh database for one test module, dropped afterwards; yields its libpq parameters.

    The server is ``CUSTOMER360_TEST_POSTGRES`` (a libpq connection string) when set, else the one
    ``postgres_server_url`` finds (never skipped under CI).
    """
    import uuid

    import psycopg2
    from psycopg2.extensions import parse_dsn

    server = os.environ.get("CUSTOMER360_TEST_POSTGRES") or postgres_server_url
    params = parse_dsn(server)
    database = f"customer360_test_{WORKER}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{database}"')
    try:
        yield {**params, "dbname": database}
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{database}" with (force)')
        admin.close()
