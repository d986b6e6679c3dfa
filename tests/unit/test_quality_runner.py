"""The runner's handling of what is not bad data: broken checks, missing tables, a missing warehouse.

Each test points Settings.project_dir at a temporary project whose expectations/raw.py holds a small suite
written for the case, so the real suites stay untouched.
"""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import duckdb
import pytest

pytest.importorskip("great_expectations")

from customer360.quality import run_checkpoint  # noqa: E402
from customer360.quality import runner as runner_module  # noqa: E402
from customer360.quality.runner import QualitySetupError, load_suites  # noqa: E402
from customer360.settings import Settings  # noqa: E402

AS_OF = date(2026, 11, 24)

SUITES = """
import great_expectations.expectations as gxe

from customer360.quality.query_check import ExpectQueryToReturnNoRows
from customer360.quality.specs import SuiteSpec, critical, warning


def build_suites(as_of_date, run_id=None):
    return [
        SuiteSpec(
            name="raw.things",
            schema="raw",
            table="things",
            expectations=[
                gxe.ExpectColumnValuesToNotBeNull(column="id", **critical()),
                gxe.ExpectColumnValuesToNotBeNull(column="no_such_column", **critical()),
                ExpectQueryToReturnNoRows(
                    unexpected_rows_query="select nope from {batch}", description="a typo", **warning()
                ),
            ],
        ),
        SuiteSpec("raw.not_built_yet", "raw", "not_built_yet", [gxe.ExpectTableRowCountToBeBetween(
            min_value=1, **critical())]),
        SuiteSpec("raw.optional_feed", "raw", "optional_feed", [gxe.ExpectTableRowCountToBeBetween(
            min_value=1, **warning())]),
    ]
"""


def _project(tmp_path: Path, suites: str) -> Settings:
    project = tmp_path / "project"
    (project / "expectations").mkdir(parents=True)
    (project / "expectations" / "raw.py").write_text(textwrap.dedent(suites))
    return Settings(home=tmp_path / "home", project_dir=project)


def _warehouse(settings: Settings) -> None:
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("create schema raw; create table raw.things as select range as id from range(5)")
    con.close()


def test_broken_checks_are_errors_and_missing_tables_fail_by_severity(tmp_path: Path) -> None:
    """GIVEN a suite with a check on a nonexistent column, a query with a typo, and suites on tables that do
    not exist (one critical, one warning-only) WHEN the checkpoint runs
    THEN the two broken checks are errors (not data failures), the missing critical table is a failure, the
    missing optional one a warning, the valid check passes, and the run does not crash."""
    settings = _project(tmp_path, SUITES)
    _warehouse(settings)
    result = run_checkpoint(settings, "raw", AS_OF, "manual__test")
    assert (result.passed, result.failed, result.warnings, result.errors) == (1, 1, 1, 2)
    assert not result.ok
    broken = {c.column or c.description: c for c in result.checks if c.status == "error"}
    assert set(broken) == {"no_such_column", "a typo"}
    assert all("broken, not the data" in m for m in result.error_messages)
    assert "raw.things, column no_such_column" in broken["no_such_column"].message
    assert "nope" in broken["a typo"].message
    assert result.critical_failures == [
        next(c.message for c in result.checks if c.table == "raw.not_built_yet")
    ]
    assert "raw.not_built_yet does not exist in the warehouse" in result.critical_failures[0]
    assert "raw.optional_feed does not exist" in result.warning_messages[0]
    assert "2 broken check(s)" in result.failure_message()


def test_given_the_spark_target_when_the_raw_stage_is_validated_then_the_ingest_duckdb_file_is_read(
    tmp_path: Path, monkeypatch
) -> None:
    """GIVEN the Spark target, whose ingest keeps the raw layer and its audit tables in the local DuckDB file
    (Spark sees ``raw.<channel>`` only once the staging build declares it) WHEN the raw checkpoint runs
    THEN it validates that file, with the outcomes a DuckDB-target run gives, and never asks for Spark."""
    import dataclasses

    settings = dataclasses.replace(_project(tmp_path, SUITES), target="spark")
    _warehouse(settings)

    def no_spark(*args, **kwargs):
        raise AssertionError("the raw stage asked for a Spark session")

    monkeypatch.setattr("customer360.quality.gx_spark.spark_for_quality", no_spark)
    result = run_checkpoint(settings, "raw", AS_OF, "manual__test")
    assert (result.passed, result.failed, result.warnings, result.errors) == (1, 1, 1, 2)


def test_given_the_spark_target_when_the_marts_suites_are_chosen_then_the_snapshot_histories_are_left_out(
    tmp_path: Path,
) -> None:
    """GIVEN the project's marts suites, among them the dbt snapshots' history suites, and the Spark target,
    whose build disables the snapshots (dbt_project.yml) WHEN the suites to validate are chosen THEN the
    snapshot suites are left out on Spark only, and every other suite stays."""
    import dataclasses

    from customer360.quality.runner import applicable_suites

    duckdb_settings = Settings(home=tmp_path)
    specs = load_suites(duckdb_settings, "marts", AS_OF, "manual__test")
    snapshots = [s.name for s in specs if s.schema == "snapshots"]
    assert snapshots  # GIVEN: the project defines at least one snapshot suite
    spark_settings = dataclasses.replace(duckdb_settings, target="spark")
    assert applicable_suites(duckdb_settings, specs) == specs
    on_spark = applicable_suites(spark_settings, specs)
    assert [s.name for s in on_spark] == [s.name for s in specs if s.name not in snapshots]


def test_gx_connections_are_closed_so_a_writer_can_follow(tmp_path: Path) -> None:
    """GIVEN a finished checkpoint in this process WHEN a writer opens the warehouse read-write
    THEN DuckDB lets it (GX's read-only connections were disposed), as the next pipeline task needs."""
    settings = _project(tmp_path, SUITES)
    _warehouse(settings)
    run_checkpoint(settings, "raw", AS_OF, "manual__test")
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute("insert into raw.things values (99)")
    finally:
        con.close()


def test_no_warehouse_yet_fails_clearly_without_crashing(tmp_path: Path) -> None:
    """GIVEN no warehouse file at all WHEN the checkpoint runs
    THEN every suite is reported as a missing table (critical ones fail), results and Data Docs are still
    written."""
    settings = _project(tmp_path, SUITES)
    result = run_checkpoint(settings, "raw", AS_OF, "manual__test")
    assert (result.passed, result.failed, result.warnings, result.errors) == (0, 2, 1, 0)
    assert all("does not exist in the warehouse" in m for m in result.critical_failures)
    assert result.results_path.is_file()
    assert result.docs_path.is_file()


def test_a_checkpoint_that_cannot_start_is_reported_as_broken(tmp_path: Path, monkeypatch) -> None:
    """GIVEN a table that disappears between the existence check and GX (asset creation fails)
    WHEN the checkpoint runs THEN each suite is an error naming the cause, not a crash and not bad data."""
    settings = _project(tmp_path, SUITES)
    _warehouse(settings)
    monkeypatch.setattr(
        runner_module, "existing_tables", lambda s: {"raw.things", "raw.not_built_yet", "raw.optional_feed"}
    )
    result = run_checkpoint(settings, "raw", AS_OF, "manual__test")
    assert result.errors == 3 and result.failed == 0 and not result.ok
    assert all("checkpoint could not run" in m for m in result.error_messages)


def test_suite_modules_are_validated_when_loaded(tmp_path: Path) -> None:
    """GIVEN suite modules with a repeated suite name, or an unknown severity, and an unknown stage
    WHEN the suites are loaded THEN a clear error names the problem."""
    repeated = _project(tmp_path / "a", SUITES.replace('"raw.optional_feed"', '"raw.not_built_yet"'))
    with pytest.raises(QualitySetupError, match="repeated: raw.not_built_yet"):
        load_suites(repeated, "raw", AS_OF)
    unknown = _project(tmp_path / "b", SUITES.replace("**warning()", 'meta={"severity": "fatal"}'))
    with pytest.raises(ValueError, match="severity 'fatal'"):
        load_suites(unknown, "raw", AS_OF)
    with pytest.raises(ValueError, match="unknown quality stage 'gold'"):
        load_suites(unknown, "gold", AS_OF)
    with pytest.raises(QualitySetupError, match="staging.py does not exist"):
        load_suites(unknown, "staging", AS_OF)
