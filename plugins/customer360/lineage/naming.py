"""OpenLineage dataset names (https://openlineage.io/docs/spec/naming), the same as the dbt integration's.

Warehouse tables: namespace ``duckdb://<warehouse file>`` (or ``postgres://<host>:<port>`` on the PostgreSQL
target), name ``<database>.<schema>.<table>``; the published marts: ``duckdb://<published>/current/
marts.duckdb``, ``marts.main.<table>``; local files (landing files, the run's summary): namespace ``file``,
name the absolute path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from customer360.settings import Settings

if TYPE_CHECKING:
    from openlineage.client.event_v2 import Dataset

FILE_NAMESPACE = "file"


def warehouse_namespace(settings: Settings) -> str:
    """The warehouse's namespace, as OpenLineage's dbt integration names it from the dbt profile."""
    if settings.target == "postgres":
        url = urlsplit(settings.postgres_url)
        return f"postgres://{url.hostname or '127.0.0.1'}:{url.port or 5432}"
    return f"duckdb://{settings.warehouse_path}"


def warehouse_database(settings: Settings) -> str:
    """The database part of a table's name: the DuckDB file's catalog (its stem) or the PostgreSQL
    database."""
    if settings.target == "postgres":
        return (urlsplit(settings.postgres_url).path or "/customer360").lstrip("/") or "customer360"
    return settings.warehouse_path.stem


def warehouse_table(settings: Settings, relation: str) -> Dataset:
    """A warehouse table given as ``schema.table``."""
    from openlineage.client.event_v2 import Dataset

    from customer360.warehouse import MARTS_DATABASE, engine

    schema, _, table = relation.partition(".")
    if not table:
        raise ValueError(f"a warehouse relation is schema.table, not {relation!r}")
    if schema == MARTS_DATABASE and engine(settings) == "duckdb":
        # The DuckDB target builds the marts in their own file, attached as ``marts`` (dbt names them so).
        return Dataset(namespace=warehouse_namespace(settings), name=f"{MARTS_DATABASE}.main.{table}")
    return Dataset(namespace=warehouse_namespace(settings), name=f"{warehouse_database(settings)}.{relation}")


def dbt_table(settings: Settings, name: str) -> Dataset:
    """A table of dbt's manifest, given as its full ``<database>.<schema>.<table>`` (``tasks._relation``)."""
    from openlineage.client.event_v2 import Dataset

    return Dataset(namespace=warehouse_namespace(settings), name=name)


def published_database(settings: Settings) -> Path:
    """The published snapshot BI tools open (the ``current`` link, stable from run to run)."""
    from customer360.publish.snapshot import CURRENT_LINK, SNAPSHOT_DB

    return settings.published_dir / CURRENT_LINK / SNAPSHOT_DB


def published_table(settings: Settings, table: str) -> Dataset:
    from openlineage.client.event_v2 import Dataset

    database = published_database(settings)
    return Dataset(namespace=f"duckdb://{database}", name=f"{database.stem}.main.{table}")


def local_file(path: Path) -> Dataset:
    from openlineage.client.event_v2 import Dataset

    return Dataset(namespace=FILE_NAMESPACE, name=str(Path(path).resolve()))
