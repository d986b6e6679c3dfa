"""Analyst access to the published marts: read-only DuckDB connections, the ``customer360 sql`` command and
the SQLAlchemy URL BI tools use."""

from customer360.analyst.sql import (
    SnapshotNotFoundError,
    connect_snapshot,
    snapshot_database,
    sqlalchemy_url,
)

__all__ = ["SnapshotNotFoundError", "connect_snapshot", "snapshot_database", "sqlalchemy_url"]
