"""The semantic layer's definitions (dbt_project/models/analytics/semantic): dbt parses them into a semantic
manifest MetricFlow validates without an issue, for the published snapshot and for the warehouse; reading
the warehouse while a writer holds it fails with a message that points to the snapshot.

The metrics' values against the marts are in tests/reliability/test_metrics.py (they need a run).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from customer360.metrics import SemanticLayer, WarehouseBusyError
from customer360.metrics.semantic_manifest import (
    dbt_target,
    load_semantic_manifest,
    parse_semantic_manifest,
)
from customer360.settings import Settings
from tests.support.metric_checks import KPIS

# A process that opens a DuckDB file for writing and keeps it, as a run holds the warehouse.
HOLD_FOR_WRITING = (
    "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"
)


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict[str, object]:
    """The semantic manifest parsed for each source (dbt parses once per source into its own folder)."""
    root = tmp_path_factory.mktemp("semantic")
    settings = Settings(home=root / "home")
    snapshot = root / "published" / "current" / "marts.duckdb"
    return {
        source: load_semantic_manifest(parse_semantic_manifest(settings, source, database, root / "work"))
        for source, database in (("published", snapshot), ("warehouse", settings.warehouse_path))
    }


def test_given_the_dbt_project_when_parsed_then_metricflow_validates_the_semantic_manifest_without_issues(
    parsed,
):
    from metricflow_semantic_interfaces.validations.semantic_manifest_validator import (
        SemanticManifestValidator,
    )

    # GIVEN the project's semantic models and metrics WHEN dbt parses them and MetricFlow validates the result
    for source, manifest in parsed.items():
        issues = SemanticManifestValidator().validate_semantic_manifest(manifest).all_issues
        # THEN there is no error, future error or warning
        assert [issue.as_readable_str() for issue in issues] == [], source
        # AND every KPI of the issue is a metric, with the day time spine MetricFlow joins to
        assert set(KPIS) <= {metric.name for metric in manifest.metrics}, source
        spines = manifest.project_configuration.time_spines
        assert [(s.node_relation.alias, s.primary_column.name) for s in spines] == [
            ("metricflow_time_spine", "date_day")
        ]


def test_given_the_two_sources_when_parsed_then_both_read_main_of_a_marts_file(parsed):
    # GIVEN the published target and the warehouse's target WHEN their relations are read
    published = {m.name: m.node_relation for m in parsed["published"].semantic_models}
    warehouse = {m.name: m.node_relation for m in parsed["warehouse"].semantic_models}
    # THEN the snapshot's marts are tables of main in marts.duckdb, and so are the warehouse's: the DuckDB
    # target builds them in the marts file beside the warehouse, attached as marts
    assert published["orders"].relation_name == '"marts"."main"."fct_orders"'
    assert warehouse["orders"].relation_name == '"marts"."main"."fct_orders"'
    assert {r.schema_name for r in published.values()} == {"main"}
    assert {r.schema_name for r in warehouse.values()} == {"main"}


def test_given_a_postgres_target_when_the_warehouse_source_is_asked_then_it_says_to_read_the_snapshot(
    tmp_path,
):
    settings = Settings(home=tmp_path).with_overrides(target="postgres")
    assert dbt_target(settings, "published") == "published"
    with pytest.raises(ValueError, match="query the published snapshot"):
        dbt_target(settings, "warehouse")
    with pytest.raises(ValueError, match="unknown metrics source 'lake'"):
        dbt_target(settings, "lake")


def test_given_a_process_writing_the_warehouse_when_metrics_read_it_then_the_error_points_to_the_snapshot(
    tmp_path: Path,
):
    # GIVEN a warehouse another process holds open for writing (as a run does)
    settings = Settings(home=tmp_path)
    settings.warehouse_path.parent.mkdir(parents=True)
    duckdb.connect(str(settings.warehouse_path)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLD_FOR_WRITING,
            str(settings.warehouse_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        # WHEN the semantic layer is asked to read the warehouse
        started = time.monotonic()
        with pytest.raises(WarehouseBusyError) as error:
            SemanticLayer(settings, source="warehouse", work_dir=tmp_path / "work")
        # THEN it fails at once, saying why and what to read instead
        assert time.monotonic() - started < 30
        assert "DuckDB allows one writer" in str(error.value)
        assert "published snapshot" in str(error.value)
    finally:
        holder.kill()
        holder.wait()
