"""PostgreSQL tests: one throwaway database per test module, on the server ``postgres_server_url`` finds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres_databases import create_database, database_url, drop_database


@pytest.fixture(scope="module")
def postgres_database_url(postgres_server_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for this test module (dropped afterwards); yields its URL."""
    prefix = "c360_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:30]
    name = create_database(postgres_server_url, prefix)
    try:
        yield database_url(postgres_server_url, name)
    finally:
        drop_database(postgres_server_url, name)
