"""MetricFlow's ``SqlClient`` over one open DuckDB connection.

dbt-metricflow's own client (``AdapterBackedSqlClient``) goes through a dbt adapter, which dbt-duckdb opens
read-write unless the profile says otherwise; the semantic layer reads the published snapshot (or the
warehouse) through the connections the project already guards (``customer360.analyst.connect_snapshot``:
read-only, no file access), so it hands MetricFlow that connection. The SQL is MetricFlow's DuckDB dialect.
"""

from __future__ import annotations

from typing import Any

from metricflow.data_table.mf_table import MetricFlowDataTable
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow.sql.render.sql_plan_renderer import SqlPlanRenderer
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet


class DuckDbSqlClient:
    """Runs MetricFlow's statements on ``con``; closing the client closes the connection."""

    def __init__(self, con: Any) -> None:
        self._con = con
        self._renderer = DuckDbSqlPlanRenderer()

    @property
    def sql_engine_type(self) -> SqlEngine:
        return SqlEngine.DUCKDB

    @property
    def sql_plan_renderer(self) -> SqlPlanRenderer:
        return self._renderer

    @staticmethod
    def _parameters(bind_parameters: SqlBindParameterSet | None) -> dict[str, Any] | None:
        """DuckDB's named parameters (``$name``), or None without any."""
        if bind_parameters is None or not bind_parameters.param_dict:
            return None
        return dict(bind_parameters.param_dict)

    def query(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet | None = None
    ) -> MetricFlowDataTable:
        cursor = self._con.execute(stmt, self._parameters(sql_bind_parameter_set))
        names = [column[0] for column in cursor.description]
        return MetricFlowDataTable.create_from_rows(column_names=names, rows=cursor.fetchall())

    def execute(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet | None = None) -> None:
        self._con.execute(stmt, self._parameters(sql_bind_parameter_set))

    def dry_run(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet | None = None) -> None:
        self._con.execute(f"explain {stmt}", self._parameters(sql_bind_parameter_set))

    def close(self) -> None:
        self._con.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"
