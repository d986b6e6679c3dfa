"""Run one stage's Great Expectations checkpoint on the DuckDB warehouse, in-database.

``run_checkpoint(settings, stage, as_of_date, run_id)``:

1. builds the stage's suites from ``expectations/<stage>.py`` (``build_suites(as_of_date, run_id=...)``);
2. opens a file-based GX context rooted in the run folder (``<runs>/<D>/gx/``: suites, validation
   definitions, results and Data Docs are generated state, never in git), with Data Docs at
   ``<runs>/<D>/gx/data_docs/local_site/index.html``;
3. adds a read-only DuckDB datasource (``customer360.quality.gx_duckdb``), one table asset per table that
   exists (a query asset for a suite that checks selected rows, ``SuiteSpec.rows``), one validation
   definition per suite, runs one checkpoint and adds its results to Data Docs in one build;
4. turns every result into a :class:`~customer360.quality.results.CheckOutcome`, writes
   ``<runs>/<D>/quality/<stage>.json`` and returns a :class:`~customer360.quality.results.StageResult`.

A table that does not exist yet fails its suite (critical suites) instead of crashing the run; a check that
cannot run (GX exception, SQL error) is an *error*, counted apart from data failures.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import re
import sys
import time
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, get_args

from customer360.quality.results import (
    SAMPLE_VALUES,
    CheckOutcome,
    StageResult,
    missing_table_outcome,
    outcome_from_result,
    stage_result,
)
from customer360.quality.specs import SuiteSpec, severity_of
from customer360.settings import Settings

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext

Stage = Literal["raw", "staging", "marts"]
STAGES: tuple[str, ...] = get_args(Stage)

DATASOURCE_NAME = "warehouse"
DOCS_SITE_NAME = "local_site"  # customer360.quality.data_docs.SITE_NAME (that module imports GX)
DOCS_BASE_DIRECTORY = "data_docs/local_site/"
BATCH_DEFINITION_NAME = "whole_table"  # of a table asset: the table; of a query asset: the query's rows
GX_FOLDER = "gx"
RESULTS_FOLDER = "quality"


class QualitySetupError(RuntimeError):
    """The stage's suites could not be built (a bug in ``expectations/<stage>.py``)."""


# --- where things go ------------------------------------------------------------------------------------


def gx_root(settings: Settings, as_of_date: date) -> Path:
    return settings.run_dir(as_of_date.isoformat()) / GX_FOLDER


def docs_index(settings: Settings, as_of_date: date) -> Path:
    return gx_root(settings, as_of_date) / DOCS_BASE_DIRECTORY / "index.html"


def results_file(settings: Settings, as_of_date: date, stage: str) -> Path:
    return settings.run_dir(as_of_date.isoformat()) / RESULTS_FOLDER / f"{stage}.json"


# --- suites ---------------------------------------------------------------------------------------------


def _load_suite_module(path: Path, stage: str) -> ModuleType:
    if not path.is_file():
        raise QualitySetupError(f"no suite module for stage {stage!r}: {path} does not exist")
    module_name = f"customer360_expectations_{stage}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise QualitySetupError(f"cannot load suite module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load_suites(
    settings: Settings, stage: str, as_of_date: date, run_id: str | None = None
) -> list[SuiteSpec]:
    """The stage's suites, built for this run from ``<expectations_dir>/<stage>.py``."""
    if stage not in STAGES:
        raise ValueError(f"unknown quality stage {stage!r}; choose one of {', '.join(STAGES)}")
    path = settings.expectations_dir / f"{stage}.py"
    module = _load_suite_module(path, stage)
    suites = module.build_suites(as_of_date, run_id=run_id)
    names = [s.name for s in suites]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise QualitySetupError(f"{path}: suite names must be unique, repeated: {', '.join(duplicates)}")
    for suite in suites:
        for expectation in suite.expectations:
            severity_of(expectation)  # raises on an unknown severity, naming it
    return suites


# --- warehouse ------------------------------------------------------------------------------------------


def existing_tables(settings: Settings) -> set[str]:
    """``schema.table`` names present in the warehouse (empty when the file does not exist yet)."""
    from customer360.warehouse import engine, table_names

    if engine(settings) == "spark":
        from customer360.quality.gx_spark import existing_spark_tables, spark_for_quality

        return existing_spark_tables(spark_for_quality(settings))
    return table_names(settings)


def add_warehouse_datasource(context: AbstractDataContext, settings: Settings) -> Any:
    """The warehouse as a GX datasource: GX's native PostgreSQL one, or the read-only DuckDB one."""
    from customer360.warehouse import engine

    if engine(settings) == "postgres":
        return context.data_sources.add_postgres(DATASOURCE_NAME, connection_string=settings.postgres_url)
    from customer360.quality.gx_duckdb import add_duckdb_datasource

    return add_duckdb_datasource(
        context,
        DATASOURCE_NAME,
        settings.warehouse_path,
        threads=settings.duckdb_threads,
        memory_limit=settings.duckdb_memory_limit,
    )


# --- GX context -----------------------------------------------------------------------------------------


def open_context(root: Path) -> AbstractDataContext:
    """A GX context whose stores live in ``root`` (``<runs>/<D>/gx``).

    The context itself is ephemeral (no ``great_expectations.yml`` to keep in sync, datasources added per
    run), but suites, validation definitions, checkpoints, validation results and Data Docs are files under
    ``root``, so the run's Data Docs show every stage validated so far.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        FilesystemStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from customer360.quality.data_docs import SITE_NAME, site_config

    root.mkdir(parents=True, exist_ok=True)
    config = DataContextConfig(
        store_backend_defaults=FilesystemStoreBackendDefaults(root_directory=root),
        data_docs_sites={SITE_NAME: site_config(root)},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _batch_definition(datasource: Any, spec: SuiteSpec) -> Any:
    """The whole table (a table asset named after the table, shared by its suites), or the rows the suite
    selects (``SuiteSpec.rows``: a query asset named after the suite, so the database filters them).

    Names stay what they were for the suites that had a whole-table asset before: the run folder keeps
    validation definitions of earlier runs of the date, and GX resolves their asset by name."""
    query = spec.batch_query
    name = spec.qualified_table if query is None else spec.name
    try:
        asset = datasource.get_asset(name)
    except LookupError:
        if query is None:
            asset = datasource.add_table_asset(name=name, table_name=spec.table, schema_name=spec.schema)
        else:
            asset = datasource.add_query_asset(name=name, query=query)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION_NAME)
    except KeyError:
        return asset.add_batch_definition_whole_table(BATCH_DEFINITION_NAME)


def for_engine(expectation: Any, settings: Settings) -> Any:
    """The expectation as the warehouse's engine runs it.

    GX puts ``{batch}`` into a query with a join as a bare ``(select ...)``; PostgreSQL before 16 wants an
    alias on every subquery in FROM, so on PostgreSQL such a ``{batch}`` gets one. Everything else in the
    suites is portable SQL (see docs/postgres.md).
    """
    from great_expectations.expectations.metrics.query_metric_provider import _query_has_join_clause

    from customer360.warehouse import engine

    query = getattr(expectation, "unexpected_rows_query", None)
    if engine(settings) != "postgres" or not query or not _query_has_join_clause(query):
        return expectation
    aliased = _UNALIASED_BATCH.sub("{batch} as batch_rows", query)
    return expectation.copy(update={"unexpected_rows_query": aliased}, deep=True)


_UNALIASED_BATCH = re.compile(r"\{batch\}(?!\s+as\s)", re.IGNORECASE)


def _dispose(datasource: Any) -> None:
    """Close every DuckDB connection GX opened, so a writer in this process can open the file next."""
    for engine in (getattr(datasource, "_engine", None), getattr(datasource, "_execution_engine", None)):
        if engine is None:
            continue
        inner = getattr(engine, "engine", engine)
        close = getattr(engine, "close", None)
        if callable(close) and inner is not engine:
            close()
        inner.dispose()


def _run_suites(
    context: AbstractDataContext,
    settings: Settings,
    stage: str,
    specs: list[SuiteSpec],
    run_id: str,
    docs_path: Path,
) -> list[CheckOutcome]:
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    from customer360.warehouse import engine

    if engine(settings) == "spark":
        from customer360.quality.gx_spark import run_suites_on_spark, spark_for_quality

        spark = spark_for_quality(settings)
        outcomes, results = run_suites_on_spark(context, spark, stage, specs, run_id, docs_path)
        _update_data_docs(context, *results)
        return outcomes
    datasource = add_warehouse_datasource(context, settings)
    by_suite = {spec.name: spec for spec in specs}
    try:
        definitions = []
        for spec in specs:
            expectations = [for_engine(e, settings) for e in spec.expectations]
            suite = context.suites.add_or_update(
                gx.ExpectationSuite(name=spec.name, expectations=expectations)
            )
            definitions.append(
                context.validation_definitions.add_or_update(
                    gx.ValidationDefinition(
                        name=spec.name, data=_batch_definition(datasource, spec), suite=suite
                    )
                )
            )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"customer360_{stage}",
                validation_definitions=definitions,
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_VALUES * 4},
            )
        )
        result = checkpoint.run(run_id=RunIdentifier(run_name=f"{stage}__{run_id}"))
        _update_data_docs(context, result)
    finally:
        _dispose(datasource)
    outcomes: list[CheckOutcome] = []
    for suite_result in result.run_results.values():
        spec = by_suite[suite_result.suite_name]
        for expectation_result in suite_result.results:
            outcomes.append(outcome_from_result(spec, expectation_result.to_json_dict(), docs_path, stage))
    return outcomes


def _update_data_docs(context: AbstractDataContext, *results: Any) -> None:
    """Add this checkpoint's validation pages and suites to the run's Data Docs, and its index, once.

    GX's ``UpdateDataDocsAction`` rebuilds the site, index included, once per validation result (nine times
    for the raw stage, each pass reading every result stored for the run); one build of the same pages is
    the same site for a fraction of the time."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    identifiers: list[Any] = []
    for result in results:
        for identifier, suite_result in result.run_results.items():
            identifiers += [identifier, ExpectationSuiteIdentifier(name=suite_result.suite_name)]
    context.build_data_docs(site_names=[DOCS_SITE_NAME], resource_identifiers=identifiers)


def _checkpoint_error(specs: list[SuiteSpec], stage: str, exc: Exception) -> list[CheckOutcome]:
    """The whole checkpoint could not run: one error per suite, saying why."""
    reason = " ".join(str(exc).split())[:400] or type(exc).__name__
    return [
        CheckOutcome(
            suite=spec.name,
            table=spec.qualified_table,
            expectation="checkpoint",
            column=None,
            severity="critical" if spec.has_critical else "warning",
            status="error",
            message=(
                f"{spec.qualified_table}: the {stage} checkpoint could not run, so its checks are broken, "
                f"not the data: {type(exc).__name__}: {reason}"
            ),
        )
        for spec in specs
    ]


def _validated_warehouse(settings: Settings, stage: Stage) -> Settings:
    """The settings whose warehouse holds ``stage``'s tables. On Spark, ingest loads the raw layer and its
    audit tables (manifest, quarantine) into the local DuckDB file and hands only ``raw.<channel>`` to Spark,
    declared there by the staging build: the raw checks read that DuckDB file (docs/spark.md)."""
    from customer360.warehouse import engine

    if stage == "raw" and engine(settings) == "spark":
        return dataclasses.replace(settings, target="duckdb")
    return settings


# Schemas the Spark target does not build: dbt's snapshots are disabled there (dbt_project.yml; dbt-spark's
# snapshots need a table format with MERGE, docs/spark.md), so their suites do not apply on Spark.
NOT_BUILT_ON_SPARK = ("snapshots",)


def applicable_suites(settings: Settings, specs: list[SuiteSpec]) -> list[SuiteSpec]:
    """The suites whose tables ``settings``' target builds: on Spark, not the snapshots' history suites (a
    missing table would otherwise turn the gate red on every run)."""
    from customer360.warehouse import engine

    if engine(settings) != "spark":
        return specs
    skipped = [s.name for s in specs if s.schema in NOT_BUILT_ON_SPARK]
    if skipped:
        log.info("not validated on Spark (not built there, docs/spark.md): %s", ", ".join(skipped))
    return [s for s in specs if s.schema not in NOT_BUILT_ON_SPARK]


def run_checkpoint(settings: Settings, stage: Stage, as_of_date: date, run_id: str) -> StageResult:
    """Validate one stage of the warehouse for ``as_of_date``; never raises for bad data."""
    from customer360.quality.gx_duckdb import quiet_gx_logging

    started = time.perf_counter()
    quiet_gx_logging()
    settings = _validated_warehouse(settings, stage)
    specs = applicable_suites(settings, load_suites(settings, stage, as_of_date, run_id))
    root = gx_root(settings, as_of_date)
    docs_path = docs_index(settings, as_of_date)
    present = existing_tables(settings)
    runnable = [s for s in specs if s.qualified_table in present]
    outcomes = [missing_table_outcome(s, settings.warehouse_path, stage) for s in specs if s not in runnable]

    context = open_context(root)
    if runnable:
        try:
            outcomes += _run_suites(context, settings, stage, runnable, run_id, docs_path)
        except Exception as exc:  # reported as broken checks: the gate turns red, the run does not crash
            outcomes += _checkpoint_error(runnable, stage, exc)
            context.build_data_docs(site_names=[DOCS_SITE_NAME])
    else:
        context.build_data_docs(site_names=[DOCS_SITE_NAME])

    order = {spec.name: i for i, spec in enumerate(specs)}
    outcomes.sort(key=lambda c: order.get(c.suite, len(order)))
    result = stage_result(
        stage, outcomes, results_file(settings, as_of_date, stage), docs_path, time.perf_counter() - started
    )
    result.write()
    return result
