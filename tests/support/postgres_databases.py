"""Throwaway PostgreSQL databases for tests: create one with a unique name, drop it (even when in use)."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit


def database_url(server_url: str, database: str) -> str:
    """``server_url`` pointing at another database."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def url_from_params(params: dict[str, str]) -> str:
    """The ``postgresql://`` URL of libpq parameters (as the ``postgres_database`` fixture yields them)."""
    user, host = params.get("user", "postgres"), params.get("host", "127.0.0.1")
    port = params.get("port", 5432)
    password = f":{params['password']}" if params.get("password") else ""
    return f"postgresql://{user}{password}@{host}:{port}/{params['dbname']}"


def create_database(server_url: str, prefix: str) -> str:
    """Create ``<prefix>_<xdist worker>_<random>`` on the server; returns its name."""
    import psycopg2

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{prefix}_{worker}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'create database "{name}"')
    finally:
        admin.close()
    return name


def drop_database(server_url: str, name: str) -> None:
    import psycopg2

    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
    finally:
        admin.close()
