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
    database = f"customer360_test_{uuid.uuid4().hex[:8]}"
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
