"""Ask for a KPI by name: MetricFlow compiles the metric's one definition (in
dbt_project/models/analytics/semantic) into SQL and runs it on the published snapshot (default) or the
warehouse.

>>> from customer360.metrics import SemanticLayer
>>> with SemanticLayer() as layer:
...     df = layer.query(["revenue", "orders"], group_by=["metric_time__month", "order__channel"])

Which database: the **published snapshot** (``source="published"``) is what BI tools and analysts read. It is
a finished, consistent copy of the marts, opened read-only and without file access, and reading it never
blocks a run. The **warehouse** (``source="warehouse"``) is the pipeline's own DuckDB file: DuckDB lets one
process write it, so it can be read only while no run (or other writer) holds it, and it may be half-built
while a run is under way; it is for the pipeline's developers and tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from customer360.metrics.semantic_manifest import SOURCES, load_semantic_manifest, parse_semantic_manifest
from customer360.settings import Settings, get_settings


class WarehouseBusyError(RuntimeError):
    """The warehouse is held by a writer (a run): DuckDB allows one process to write a database file."""


def _connect(settings: Settings, source: str, snapshot: Path | None) -> tuple[Any, Path]:
    """A read-only connection without file access to ``source``, and the database file it opened."""
    import duckdb

    from customer360.analyst.sql import connect_snapshot, snapshot_database
    from customer360.warehouse import attach_marts, duckdb_config

    if source == "published":
        database = snapshot_database(settings, snapshot)
        return connect_snapshot(settings, database), database
    database = settings.warehouse_path
    if not database.is_file():
        raise FileNotFoundError(f"warehouse {database} does not exist yet: run the pipeline first")
    try:
        con = duckdb.connect(str(database), read_only=True, config=duckdb_config(settings))
        # The marts' own file (the DuckDB target's), attached before file access is turned off for good.
        attach_marts(con, settings, read_only=True)
        con.execute("set enable_external_access = false")
    except duckdb.IOException as exc:
        raise WarehouseBusyError(
            f"cannot read the warehouse {database} while another process writes it (a run holds it: DuckDB "
            f"allows one writer); query the published snapshot instead (source 'published'). DuckDB: {exc}"
        ) from exc
    return con, database


def _day_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min)


class SemanticLayer:
    """MetricFlow over one read-only DuckDB database: ``source`` is ``published`` or ``warehouse``.

    ``snapshot`` names another published snapshot (a ``marts.duckdb`` file or its folder). ``work_dir`` is
    where dbt parses the project (default ``<home>/dbt/semantic``)."""

    def __init__(
        self,
        settings: Settings | None = None,
        source: str = "published",
        snapshot: Path | None = None,
        work_dir: Path | None = None,
    ) -> None:
        from metricflow.engine.metricflow_engine import MetricFlowEngine
        from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

        from customer360.metrics.duckdb_client import DuckDbSqlClient

        if source not in SOURCES:
            raise ValueError(f"unknown metrics source {source!r}; use one of: {', '.join(SOURCES)}")
        self.settings = settings or get_settings()
        self.source = source
        con, self.database = _connect(self.settings, source, snapshot)
        self.connection = con
        try:
            work = work_dir or self.settings.home / "dbt" / "semantic"
            manifest_path = parse_semantic_manifest(self.settings, source, self.database, work)
            self.semantic_manifest = load_semantic_manifest(manifest_path)
            self._client = DuckDbSqlClient(con)
            self.engine = MetricFlowEngine(
                semantic_manifest_lookup=SemanticManifestLookup(self.semantic_manifest),
                sql_client=self._client,
            )
        except BaseException:
            con.close()
            raise

    def request(
        self,
        metrics: Sequence[str],
        group_by: Sequence[str] = (),
        where: Sequence[str] = (),
        order_by: Sequence[str] = (),
        limit: int | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> Any:
        """MetricFlow's request: ``group_by`` names like ``metric_time__month`` or ``customer__value_tier``;
        ``where`` filters in MetricFlow's syntax (``{{ Dimension('order__channel') }} = 'web'``);
        ``order_by`` names, ``-`` first for descending; ``start``/``end`` bound ``metric_time``."""
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        return MetricFlowQueryRequest.create(
            metric_names=list(metrics),
            group_by_names=list(group_by),
            where_constraints=list(where) or None,
            order_by_names=list(order_by) or None,
            limit=limit,
            time_constraint_start=_day_start(start),
            time_constraint_end=_day_start(end),
        )

    def sql(self, metrics: Sequence[str], **options: Any) -> str:
        """The SQL MetricFlow compiles for the request (see ``request``)."""
        return self.engine.explain(self.request(metrics, **options)).sql_statement.sql

    def relation(self, metrics: Sequence[str], **options: Any) -> Any:
        """The request as a DuckDB relation (``.df()``, ``.arrow()``, ``.pl()``, ``.fetchall()``)."""
        return self.connection.sql(self.sql(metrics, **options))

    def query(self, metrics: Sequence[str], **options: Any) -> Any:
        """The request's result as a pandas DataFrame."""
        return self.relation(metrics, **options).df()

    def metrics(self) -> list[dict[str, Any]]:
        """Every metric: name, label, type, description and the dimensions it can be grouped by (the time
        dimensions at their finest grain, ``metric_time__day``: any coarser grain works too)."""
        found = []
        for metric in sorted(self.engine.list_metrics(), key=lambda m: m.name):
            found.append(
                {
                    "name": metric.name,
                    "label": metric.label,
                    "type": metric.type.value,
                    "description": " ".join((metric.description or "").split()),
                    "dimensions": sorted({d.dunder_name for d in metric.dimensions}),
                }
            )
        return found

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SemanticLayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
