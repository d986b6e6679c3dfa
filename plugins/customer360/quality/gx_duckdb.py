"""Great Expectations 1.x on DuckDB, in-database: the one place that owns the compatibility.

GX 1.24 has no DuckDB dialect. Its generic SQLAlchemy path (``duckdb-engine``, ``duckdb:///file``) breaks
in three places, each fixed here and nowhere else:

1. **Empty metrics.** ``SqlAlchemyExecutionEngine.execute_query`` runs a query inside ``with connect()`` and
   returns the live cursor result; the caller fetches *after* the connection went back to the pool. The pool
   resets the connection (a rollback on duckdb-engine's single cursor), so every fetch returns no rows and
   each metric fails with ``IndexError: list index out of range``. :class:`DuckDBExecutionEngine` buffers row
   results (``Result.freeze()``) while the connection is still open. Because rows are buffered, the
   queries that may return many rows get their limit in SQL: the ``unexpected_rows_query.table`` /
   ``query.table`` metrics (which GX reads with ``fetchmany``) are registered for DuckDB with ``LIMIT``;
   the first also waits for the check's row count and runs no query when it is zero (a passing check).
2. **No columns.** SQLAlchemy 2.1's PostgreSQL reflection (which duckdb-engine inherits) queries
   ``pg_catalog.pg_collation``, which DuckDB does not have; GX then falls back to ``SELECT * FROM <table>``
   without the schema and fails. :class:`DuckDBInspector` answers ``get_columns`` and
   ``get_pk_constraint`` from DuckDB's ``information_schema`` / ``duckdb_constraints()``.
3. **No regex.** ``get_dialect_regex_expression`` knows no DuckDB mapping (and DuckDB's ``~`` operator is a
   *full* match, unlike PostgreSQL's search). The ``column_values.match_regex`` / ``not_match_regex``
   conditions are registered for the DuckDB engine with ``regexp_matches``: search semantics, as GX's pandas
   and Spark engines use, so ``^...$`` anchors mean what they say.

The datasource type ``duckdb`` (:class:`DuckDBDatasource`) ties it together, following GX's own pattern for
backend-specific datasources (see ``SqliteDatasource``): ``context.data_sources.add_or_update_duckdb(...)``.
Importing this module registers the type and the metrics; :func:`add_duckdb_datasource` is the entry point.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import sqlalchemy as sa
from great_expectations.compatibility.typing_extensions import override
from great_expectations.constants import MAX_RESULT_RECORDS
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.datasource.fluent.sql_datasource import SQLDatasource
from great_expectations.execution_engine.sqlalchemy_execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.query_metric_provider import QueryMetricProvider
from great_expectations.validator.metric_configuration import MetricConfiguration

from customer360.warehouse import ALLOCATOR_CONFIG

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext

DATASOURCE_TYPE = "duckdb"
UNEXPECTED_ROW_COUNT = "unexpected_rows_query.row_count"

# GX announces many steps at INFO; our runs report through StageResult instead.
GX_LOGGER = "great_expectations"


def quiet_gx_logging(level: int = logging.WARNING) -> None:
    """Keep GX's INFO chatter and deprecation warnings out of pipeline logs (our results say what matters).

    Only GX's own stdlib loggers and warnings are touched: the host's logging (Airflow's structlog setup, the
    CLI's) stays as it is.
    """
    logging.getLogger(GX_LOGGER).setLevel(level)
    warnings.filterwarnings("ignore", module=r"great_expectations(\..*)?")


# --- 2. column reflection -------------------------------------------------------------------------------


class DuckDBInspector:
    """An SQLAlchemy ``Inspector`` stand-in: DuckDB answers column and key questions itself.

    Everything not overridden is delegated to the regular inspector (``has_table``, ``get_schema_names``...).
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._inner = sa.inspect(engine)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _type_for(self, data_type: str) -> sa.types.TypeEngine:
        """A SQLAlchemy type for a DuckDB type name (``VARCHAR``, ``DECIMAL(18,2)``, ``TIMESTAMP``...)."""
        names = self._engine.dialect.ischema_names
        lowered = data_type.lower()
        base = lowered.split("(", 1)[0].strip()
        if lowered.endswith("[]") or base in ("struct", "map", "list", "union"):
            return sa.types.NullType()
        if base == "decimal":
            base = "numeric"
        type_class = names.get(base) or names.get(lowered)
        if type_class is None:
            return sa.types.NullType()
        if base == "numeric" and "(" in lowered:
            precision, _, scale = lowered.split("(", 1)[1].rstrip(")").partition(",")
            return sa.types.Numeric(int(precision), int(scale or 0))
        return type_class() if isinstance(type_class, type) else type_class

    def get_columns(self, table_name: str, schema: str | None = None, **_: Any) -> list[dict[str, Any]]:
        query = sa.text(
            "select column_name, data_type, is_nullable from information_schema.columns "
            f"where table_name = :table and {_IN_SCHEMA} order by ordinal_position"
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query, {"table": str(table_name), "schema": schema}).fetchall()
        if not rows:
            where = f"{schema}.{table_name}" if schema else str(table_name)
            raise sa.exc.NoSuchTableError(where)
        return [
            {"name": name, "type": self._type_for(data_type), "nullable": nullable == "YES", "default": None}
            for name, data_type, nullable in rows
        ]

    def get_pk_constraint(self, table_name: str, schema: str | None = None, **_: Any) -> dict[str, Any]:
        query = sa.text(
            "select constraint_column_names from duckdb_constraints() where constraint_type = 'PRIMARY KEY' "
            "and table_name = :table and "
            + _IN_SCHEMA.replace("table_catalog", "database_name").replace("table_schema", "schema_name")
        )
        with self._engine.connect() as connection:
            row = connection.execute(query, {"table": str(table_name), "schema": schema}).first()
        return {"constrained_columns": list(row[0]) if row else [], "name": None}

    def has_table(self, table_name: str, schema: str | None = None, **_: Any) -> bool:
        query = sa.text(
            f"select count(*) from information_schema.tables where table_name = :table and {_IN_SCHEMA}"
        )
        with self._engine.connect() as connection:
            return bool(connection.execute(query, {"table": str(table_name), "schema": schema}).scalar())


# A table GX names ``<schema>.<table>``: in that schema of the warehouse, or, for ``marts``, in the ``main``
# schema of the attached marts file (where DuckDB resolves ``marts.<table>``, customer360.warehouse).
_IN_SCHEMA = (
    "((table_catalog = current_database() and table_schema = coalesce(:schema, current_schema())) "
    "or (table_catalog = :schema and table_schema = 'main'))"
)


# --- 1. buffered results --------------------------------------------------------------------------------


def _buffered(result: sa.CursorResult) -> sa.Result:
    """Fetch every row while the connection is open; statements without rows pass through unchanged."""
    if not result.returns_rows:
        return result
    return result.freeze()()


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """GX's SQLAlchemy engine: results fetched before the connection is released; DuckDB reflection."""

    @override
    def execute_query(self, query: sa.Selectable | sa.TextClause) -> Any:
        with self.get_connection() as connection:
            return _buffered(self._execute_query_with_recovery(connection, query))

    @override
    def execute_query_in_transaction(self, query: sa.Selectable) -> Any:
        with self.get_connection() as connection:
            result = _buffered(self._execute_query_with_recovery(connection, query))
            if connection.in_transaction():
                connection.commit()
            return result

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _attach_marts_on_connect(self.engine)

    @override
    def get_inspector(self) -> Any:
        if self._inspector is None:
            self._inspector = DuckDBInspector(self.engine)
        return self._inspector


def _attach_marts_on_connect(engine: sa.Engine) -> sa.Engine:
    """The marts' own file, beside the warehouse, attached read-only to each of ``engine``'s connections as
    ``marts`` (``customer360.warehouse.attach_marts``), so the suites' ``marts.<table>`` resolve as in the
    pipeline. Connections pooled before are closed."""
    database = engine.url.database
    if database and engine.url.get_backend_name() == "duckdb":
        sa.event.listen(engine, "connect", _marts_attacher(Path(database)))
        engine.dispose()
    return engine


def _marts_attacher(warehouse: Path) -> Any:
    """A ``connect`` listener applying the pipeline's own rule (``warehouse.attach_marts_beside``, read-only)
    to each new DBAPI connection: duckdb_engine's wrapper hands ``execute`` to the DuckDB connection."""
    from customer360.warehouse import attach_marts_beside

    def attach(dbapi_connection: Any, _record: Any) -> None:
        attach_marts_beside(dbapi_connection, warehouse, read_only=True)

    return attach


class DuckDBDatasource(SQLDatasource):
    """A SQL datasource on a DuckDB database file (``duckdb:///<path>``), validated in-database."""

    type: Literal["duckdb"] = "duckdb"  # type: ignore[assignment]  # narrows SQLDatasource.type

    @override
    def _create_engine(self) -> sa.Engine:
        return _attach_marts_on_connect(super()._create_engine())

    @property
    @override
    def execution_engine_type(self) -> type[SqlAlchemyExecutionEngine]:
        return DuckDBExecutionEngine


class _DuckDBQueryTable(QueryMetricProvider):
    """Rows of a user query over the batch, at most ``MAX_RESULT_RECORDS`` unless ``fetch_all``."""

    @classmethod
    def _rows(
        cls, execution_engine: Any, metric_domain_kwargs: dict, metric_value_kwargs: dict
    ) -> list[dict]:
        batch_selectable, _, _ = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
        )
        query = cls._get_substituted_batch_subquery_from_query_and_batch_selectable(
            query=cls._get_query_from_metric_value_kwargs(metric_value_kwargs),
            batch_selectable=batch_selectable,
            execution_engine=execution_engine,
        )
        if not metric_value_kwargs.get("fetch_all", False):
            query = f"select * from (\n{query}\n) as limited_rows limit {MAX_RESULT_RECORDS}"
        result = execution_engine.execute_query(sa.text(query))
        return [row._asdict() for row in result.fetchall()]


class DuckDBQueryTable(_DuckDBQueryTable):
    metric_name = "query.table"
    value_keys = ("query", "fetch_all")

    @metric_value(engine=DuckDBExecutionEngine)
    def _duckdb(cls, execution_engine: Any, metric_domain_kwargs: dict, metric_value_kwargs: dict, **_: Any):
        return cls._rows(execution_engine, metric_domain_kwargs, metric_value_kwargs)


class DuckDBUnexpectedRowsQueryTable(_DuckDBQueryTable):
    """The sample of unexpected rows, read only when the check's row count says there are any.

    GX resolves ``unexpected_rows_query.table`` and ``.row_count`` independently, so every SQL check ran its
    query twice, and a passing check (no rows) spent the second run for nothing: most checks pass, so that
    was about half of a validation's query time. Here the rows depend on the count (GX computes
    the count once and hands it over) and are fetched only when it is not zero."""

    metric_name = "unexpected_rows_query.table"
    value_keys = ("unexpected_rows_query",)
    query_param_name: ClassVar[str] = "unexpected_rows_query"

    @classmethod
    @override
    def _get_evaluation_dependencies(
        cls,
        metric: MetricConfiguration,
        configuration: Any = None,
        execution_engine: Any = None,
        runtime_configuration: dict | None = None,
    ) -> dict[str, MetricConfiguration]:
        dependencies = super()._get_evaluation_dependencies(
            metric, configuration, execution_engine, runtime_configuration
        )
        dependencies[UNEXPECTED_ROW_COUNT] = MetricConfiguration(
            metric_name=UNEXPECTED_ROW_COUNT,
            metric_domain_kwargs=metric.metric_domain_kwargs,
            metric_value_kwargs=metric.metric_value_kwargs,
        )
        return dependencies

    @metric_value(engine=DuckDBExecutionEngine)
    def _duckdb(
        cls,
        execution_engine: Any,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict[str, Any],
        **_: Any,
    ):
        if metrics.get(UNEXPECTED_ROW_COUNT) == 0:
            return []
        return cls._rows(execution_engine, metric_domain_kwargs, metric_value_kwargs)


# --- 3. regex -------------------------------------------------------------------------------------------


class DuckDBColumnValuesMatchRegex(ColumnMapMetricProvider):
    """``column_values.match_regex`` on DuckDB: ``regexp_matches`` (search, RE2 syntax)."""

    condition_metric_name = "column_values.match_regex"
    condition_value_keys: ClassVar[tuple[str, ...]] = ("regex",)

    @column_condition_partial(engine=DuckDBExecutionEngine)
    def _duckdb(cls, column: Any, regex: str, **kwargs: Any) -> Any:
        return sa.func.regexp_matches(column, sa.literal(regex))


class DuckDBColumnValuesNotMatchRegex(ColumnMapMetricProvider):
    """``column_values.not_match_regex`` on DuckDB."""

    condition_metric_name = "column_values.not_match_regex"
    condition_value_keys: ClassVar[tuple[str, ...]] = ("regex",)

    @column_condition_partial(engine=DuckDBExecutionEngine)
    def _duckdb(cls, column: Any, regex: str, **kwargs: Any) -> Any:
        return sa.not_(sa.func.regexp_matches(column, sa.literal(regex)))


# --- entry point ----------------------------------------------------------------------------------------


def connection_string(path: Path) -> str:
    return f"duckdb:///{Path(path).resolve()}"


def add_duckdb_datasource(
    context: AbstractDataContext,
    name: str,
    database: Path,
    *,
    read_only: bool = True,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> DuckDBDatasource:
    """Add (or replace) a DuckDB datasource on ``database``; read-only by default (GX only reads)."""
    if not Path(database).exists():
        raise FileNotFoundError(
            f"DuckDB database {database} does not exist: nothing to validate yet (run the ingest stage first)"
        )
    config: dict[str, Any] = dict(ALLOCATOR_CONFIG)
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    return context.data_sources.add_or_update_duckdb(  # type: ignore[attr-defined]  # generated per type
        name=name,
        connection_string=connection_string(database),
        kwargs={"connect_args": {"read_only": read_only, "config": config}},
    )
