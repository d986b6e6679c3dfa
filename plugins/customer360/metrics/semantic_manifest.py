"""The semantic manifest MetricFlow reads, from ``dbt parse`` of the project for the database to query.

dbt writes ``semantic_manifest.json`` when it parses the project; the relation each semantic model reads
(``"<database>"."<schema>"."<table>"``) comes from the target it parses for. The ``published`` target of
dbt_project/profiles.yml names the published snapshot (every mart in ``main``); the ``duckdb`` target names
the warehouse (marts in ``marts``). Each source parses into its own folder under ``work_dir``, so dbt's
partial parsing keeps a repeated parse short.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from customer360.dbt_runner import dbt_environment, release_connections
from customer360.scoped_environment import scoped_environment
from customer360.settings import Settings

SOURCES = ("published", "warehouse")
PUBLISHED_TARGET = "published"
SEMANTIC_MANIFEST = "semantic_manifest.json"


class SemanticManifestError(RuntimeError):
    """dbt could not parse the project, or the semantic models and metrics are not valid."""


def dbt_target(settings: Settings, source: str) -> str:
    """The dbt target whose relations ``source`` holds."""
    if source not in SOURCES:
        raise ValueError(f"unknown metrics source {source!r}; use one of: {', '.join(SOURCES)}")
    if source == "published":
        return PUBLISHED_TARGET
    if settings.target != "duckdb":
        raise ValueError(
            f"the warehouse source reads the DuckDB warehouse, but the target is {settings.target!r}: "
            "query the published snapshot (--source published) instead"
        )
    return settings.target


def parse_environment(settings: Settings, source: str, database: Path, work_dir: Path) -> dict[str, str]:
    """The environment of ``dbt parse`` (and of ``mf``) for ``source`` read from ``database``."""
    folder = work_dir / source
    return {
        **dbt_environment(settings),
        "CUSTOMER360_TARGET": dbt_target(settings, source),
        "CUSTOMER360_PUBLISHED_DATABASE": str(database),
        "DBT_TARGET_PATH": str(folder / "target"),
        "DBT_LOG_PATH": str(folder / "logs"),
    }


def parse_semantic_manifest(settings: Settings, source: str, database: Path, work_dir: Path) -> Path:
    """``dbt parse`` for ``source``; the path of the semantic manifest it wrote. dbt validates the semantic
    models and metrics while it parses: an invalid definition raises ``SemanticManifestError``."""
    from dbt.cli.main import dbtRunner

    env = parse_environment(settings, source, database, work_dir)
    project = str(settings.dbt_project_dir)
    with scoped_environment(env):
        try:
            args = ["parse", "--project-dir", project, "--profiles-dir", project, "--quiet"]
            result = dbtRunner().invoke(args)
        finally:
            release_connections()
    manifest = Path(env["DBT_TARGET_PATH"]) / SEMANTIC_MANIFEST
    if not result.success or not manifest.is_file():
        raise SemanticManifestError(
            f"dbt could not parse the project's semantic layer: {result.exception or 'see the log'} "
            f"(log: {Path(env['DBT_LOG_PATH']) / 'dbt.log'})"
        )
    return manifest


def load_semantic_manifest(path: Path) -> Any:
    """MetricFlow's semantic manifest from dbt's ``semantic_manifest.json``."""
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest

    return parse_manifest_from_dbt_generated_manifest(manifest_json_string=path.read_text(encoding="utf-8"))
