"""Great Expectations 1.x on the Spark target: the same suites, validated by GX's Spark datasource.

The one place that owns what Spark needs (as ``gx_duckdb`` does for DuckDB):

1. **Dataframes, not tables.** GX's Spark datasource validates dataframes: each suite's table is read from
   Spark (``spark.table``), or the rows a suite selects (``SuiteSpec.batch_query``) with ``spark.sql``, and
   passed as the batch parameter ``dataframe``. A dataframe asset takes its frame at run time, so each suite
   runs as a checkpoint of its own (one checkpoint's batch parameters would go to every suite).
2. **Spark SQL in query checks.** The suites' SQL (``unexpected_rows_query`` and ``SuiteSpec.rows``) is
   written for DuckDB and PostgreSQL: double-quoted identifiers, ``date '...'`` literals, ``::`` casts.
   ``spark_sql`` rewrites it with sqlglot (DuckDB's dialect read, Spark's written); GX's ``{batch}``
   placeholder is kept through the rewrite.
3. **Tables present.** Which of the suites' tables exist comes from Spark's catalog.

Everything else (suites, severities, outcomes, Data Docs) is the runner's, unchanged
(``customer360.quality.runner``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer360.quality.results import SAMPLE_VALUES, CheckOutcome, outcome_from_result
from customer360.quality.specs import SuiteSpec
from customer360.settings import Settings

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext
    from pyspark.sql import DataFrame, SparkSession

BATCH_PLACEHOLDER = "{batch}"
# an identifier sqlglot parses and no suite uses, standing for {batch} during the rewrite
_BATCH_STAND_IN = "gx_batch_placeholder"
DATAFRAME_PARAMETER = "dataframe"


def spark_sql(sql: str) -> str:
    """A suite's SQL (DuckDB/PostgreSQL dialect) as Spark SQL; ``{batch}`` stays ``{batch}``."""
    import sqlglot

    text = sql.replace(BATCH_PLACEHOLDER, _BATCH_STAND_IN)
    rewritten = sqlglot.transpile(text, read="duckdb", write="spark")[0]
    return rewritten.replace(_BATCH_STAND_IN, BATCH_PLACEHOLDER)


def for_spark(expectation: Any) -> Any:
    """The expectation as Spark runs it: its query, if it has one, in Spark SQL."""
    query = getattr(expectation, "unexpected_rows_query", None)
    if not query:
        return expectation
    return expectation.copy(update={"unexpected_rows_query": spark_sql(query)}, deep=True)


def existing_spark_tables(spark: SparkSession) -> set[str]:
    """``schema.table`` of every table and view in Spark's catalog."""
    names: set[str] = set()
    for database in spark.catalog.listDatabases():
        for table in spark.catalog.listTables(database.name):
            names.add(f"{database.name}.{table.name}")
    return names


def suite_dataframe(spark: SparkSession, spec: SuiteSpec) -> DataFrame:
    """The rows a suite validates: its whole table, or the rows its condition selects."""
    query = spec.batch_query
    if query is None:
        return spark.table(spec.qualified_table)
    return spark.sql(spark_sql(query))


def run_suites_on_spark(
    context: AbstractDataContext,
    spark: SparkSession,
    stage: str,
    specs: list[SuiteSpec],
    run_id: str,
    docs_path: Path,
) -> tuple[list[CheckOutcome], list[Any]]:
    """Validate each suite's dataframe with GX's Spark datasource; the outcomes, and the checkpoint results
    (for the run's Data Docs)."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    from customer360.quality.runner import BATCH_DEFINITION_NAME, DATASOURCE_NAME

    datasource = context.data_sources.add_or_update_spark(DATASOURCE_NAME)
    outcomes: list[CheckOutcome] = []
    results = []
    for spec in specs:
        try:
            asset = datasource.get_asset(spec.name)
        except LookupError:
            asset = datasource.add_dataframe_asset(name=spec.name)
        try:
            batch = asset.get_batch_definition(BATCH_DEFINITION_NAME)
        except KeyError:
            batch = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION_NAME)
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(name=spec.name, expectations=[for_spark(e) for e in spec.expectations])
        )
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=spec.name, data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"customer360_{stage}__{spec.name}",
                validation_definitions=[definition],
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_VALUES * 4},
            )
        )
        result = checkpoint.run(
            batch_parameters={DATAFRAME_PARAMETER: suite_dataframe(spark, spec)},
            run_id=RunIdentifier(run_name=f"{stage}__{run_id}"),
        )
        results.append(result)
        for suite_result in result.run_results.values():
            for expectation_result in suite_result.results:
                outcome = outcome_from_result(spec, expectation_result.to_json_dict(), docs_path, stage)
                outcomes.append(outcome)
    return outcomes, results


def spark_for_quality(settings: Settings) -> SparkSession:
    from customer360.spark.session import spark_session

    return spark_session(settings)
