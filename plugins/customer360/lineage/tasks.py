"""What each task of ``customer360_daily`` reads and writes, as OpenLineage datasets.

The dbt builds' tables come from dbt's manifest (the models, seeds and snapshots of the build's folders, and
what they read from outside them); the tables the Python stages write are their modules' constants, named
here so that computing a task's lineage never imports a stage's libraries (tests check both agree). A task's
COMPLETE event adds what only the finished run knows: the landing files an ingest loaded and the marts
publish copied (from the run's progress log).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer360.builds import BUILD_NAMES, get_build
from customer360.landing.contract import CHANNELS
from customer360.lineage import naming
from customer360.settings import Settings

if TYPE_CHECKING:
    from openlineage.client.event_v2 import Dataset

DAG_ID = "customer360_daily"
# Written by every ingest (customer360.ingest.schema).
INGEST_AUDIT_TABLES = ("audit.file_manifest", "audit.quarantine")
# What resolve_identity reads (customer360.identity.records) and writes (identity.* constants).
IDENTITY_INPUTS = ("intermediate.int_contact_records_unioned", "intermediate.int_contact_record_members")
IDENTITY_OUTPUTS = (
    "identity.contact_points",
    "identity.match_edges",
    "identity.household_keys",
    "identity.record_changes",
    "identity.customer_ids",
    "identity.customer_source_xref",
    "identity.customer_merge_history",
    "identity.customer_id_aliases",
    "identity.resolution_runs",
)
# What fit_models reads (customer360.clv.stage, customer360.churn.warehouse_features) and writes.
MODEL_INPUTS = ("intermediate.int_customer_purchase_days", "intermediate.int_churn_features")
MODEL_OUTPUTS = (
    "analytics.customer_clv_predictions",
    "analytics.clv_model_runs",
    "analytics.clv_validation",
    "analytics.churn_predictions",
    "analytics.churn_model_runs",
    "analytics.model_runs",
)
# What activate reads from the published snapshot (customer360.activation.audiences.ATTRIBUTES_MART) and the
# state tables it writes in its own file (customer360.activation.state).
ACTIVATION_INPUT_MART = "customer_audience_attributes"
ACTIVATION_STATE_TABLES = ("audience_runs", "audience_members", "audience_changes")
# The folders (dbt project paths) whose models each quality gate reads.
VALIDATED_FOLDERS = {"staging": ("models/staging",), "marts": ("models/core/marts", "models/analytics")}
# Besides ``models/<name>``, what each build's selector takes in (dbt_project/selectors.yml).
BUILD_EXTRA_TYPES = {"staging": ("seed",), "core": ("snapshot",)}
BUILT_TYPES = ("model", "seed", "snapshot")


@dataclass
class TaskLineage:
    inputs: list[Dataset] = field(default_factory=list)
    outputs: list[Dataset] = field(default_factory=list)


def task_lineage(
    settings: Settings, task_id: str, logical_date: date | None = None, run_id: str | None = None
) -> TaskLineage | None:
    """The datasets of one task; None for a task this module does not know. With the run's date and id (the
    task has finished), the run's own files and marts are added."""
    tables = lambda relations: [naming.warehouse_table(settings, r) for r in relations]  # noqa: E731
    if task_id.startswith("ingest_") and task_id.removeprefix("ingest_") in CHANNELS:
        channel = task_id.removeprefix("ingest_")
        files = _ingested_files(settings, channel, logical_date, run_id)
        return TaskLineage(
            [naming.local_file(p) for p in files], tables((f"raw.{channel}", *INGEST_AUDIT_TABLES))
        )
    if task_id == "validate_raw":
        return TaskLineage(tables([f"raw.{c}" for c in CHANNELS] + ["audit.file_manifest"]))
    dbt_tables = lambda names: [naming.dbt_table(settings, n) for n in names]  # noqa: E731
    if task_id.startswith("validate_") and task_id.removeprefix("validate_") in VALIDATED_FOLDERS:
        relations = _dbt_relations(settings, VALIDATED_FOLDERS[task_id.removeprefix("validate_")], ())
        return TaskLineage(dbt_tables(sorted(relations)))
    if task_id.startswith("dbt_") and task_id.removeprefix("dbt_") in BUILD_NAMES:
        inputs, outputs = _build_relations(settings, task_id.removeprefix("dbt_"))
        return TaskLineage(dbt_tables(sorted(inputs)), dbt_tables(sorted(outputs)))
    if task_id == "resolve_identity":
        return TaskLineage(tables(IDENTITY_INPUTS), tables(IDENTITY_OUTPUTS))
    if task_id == "fit_models":
        return TaskLineage(tables(MODEL_INPUTS), tables(MODEL_OUTPUTS))
    if task_id == "publish":
        marts = _published_marts(settings, logical_date, run_id)
        return TaskLineage(
            tables([f"marts.{m}" for m in marts]), [naming.published_table(settings, m) for m in marts]
        )
    if task_id == "activate":
        return _activation_lineage(settings, logical_date, run_id)
    if task_id == "summarize":
        if logical_date is None:
            return TaskLineage()
        run_dir = settings.run_dir(logical_date.isoformat())
        from customer360.progress import PROGRESS_FILE

        return TaskLineage(
            [naming.local_file(run_dir / PROGRESS_FILE)], [naming.local_file(run_dir / "summary.json")]
        )
    return None


def _activation_lineage(settings: Settings, logical_date: date | None, run_id: str | None) -> TaskLineage:
    """The audience file and the published audience mart in; the activation state tables and, once the run
    ended, the outbox folders the day's file deliveries wrote out."""
    from openlineage.client.event_v2 import Dataset

    from customer360.activation.state import STATE, STATE_DB

    state_db = settings.activation_dir / STATE_DB
    state = [
        Dataset(namespace=f"duckdb://{state_db}", name=f"{state_db.stem}.{STATE}.{t}")
        for t in ACTIVATION_STATE_TABLES
    ]
    inputs = [
        naming.local_file(settings.activation_file),
        naming.published_table(settings, ACTIVATION_INPUT_MART),
    ]
    deliveries = _stage_detail(settings, "activate", logical_date, run_id).get("deliveries") or []
    folders = sorted({d["folder"] for d in deliveries if d.get("type") == "file" and d.get("folder")})
    return TaskLineage(inputs, state + [naming.local_file(Path(f)) for f in folders])


def _stage_detail(
    settings: Settings, stage: str, logical_date: date | None, run_id: str | None
) -> dict[str, Any]:
    """The detail of the last end event of ``stage`` in this run's progress log ({} before the run ends)."""
    if logical_date is None or run_id is None:
        return {}
    from customer360.progress import read_events

    ends = [
        e
        for e in read_events(settings.run_dir(logical_date.isoformat()), run_id)
        if e.get("stage") == stage and e.get("event") == "end"
    ]
    return ends[-1].get("detail") or {} if ends else {}


def _ingested_files(settings: Settings, channel: str, logical_date: date | None, run_id: str | None) -> list:
    loaded = _stage_detail(settings, f"ingest:{channel}", logical_date, run_id).get("loaded") or []
    return [settings.landing_root / name for name in loaded]


def _published_marts(settings: Settings, logical_date: date | None, run_id: str | None) -> list[str]:
    """The marts this run published; before it has, the models of the marts folders."""
    tables = _stage_detail(settings, "publish", logical_date, run_id).get("tables")
    if tables:
        return sorted(tables)
    nodes = _manifest_nodes(settings)
    return sorted(
        n["alias"]
        for n in nodes.values()
        if n["resource_type"] in BUILT_TYPES and "marts" in (n["schema"], n["database"])
    )


def _manifest(settings: Settings) -> dict[str, Any]:
    """dbt's manifest of the last parse in this home ({} before dbt has run here)."""
    path = settings.home / "dbt" / "target" / "manifest.json"
    try:
        return _read_manifest(str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return {}


@lru_cache(maxsize=2)
def _read_manifest(path: str, mtime_ns: int) -> dict[str, Any]:
    """Read once per version of the file: a DAG run's tasks share a process under ``airflow dags test``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _manifest_nodes(settings: Settings, manifest: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    manifest = _manifest(settings) if manifest is None else manifest
    return {**manifest.get("nodes", {}), **manifest.get("sources", {})}


def _relation(settings: Settings, node: dict[str, Any]) -> str:
    """A node's table as ``<database>.<schema>.<table>``, from the node's own database and schema, as
    OpenLineage's dbt integration names it: on the DuckDB target the marts are ``marts.main.<mart>`` (their
    own file), the other tables ``<warehouse>.<schema>.<table>``. A target whose nodes have no database
    (Spark) gets the warehouse's, as before."""
    name = node.get("alias") or node.get("identifier") or node["name"]
    return f"{node.get('database') or naming.warehouse_database(settings)}.{node['schema']}.{name}"


def _in_folders(node: dict[str, Any], folders: tuple[str, ...], types: tuple[str, ...]) -> bool:
    if node.get("resource_type") not in BUILT_TYPES:
        return False
    path = node.get("original_file_path", "")
    return node["resource_type"] in types or any(path.startswith(f"{folder}/") for folder in folders)


def _dbt_relations(settings: Settings, folders: tuple[str, ...], types: tuple[str, ...]) -> set[str]:
    nodes = _manifest_nodes(settings)
    return {_relation(settings, n) for n in nodes.values() if _in_folders(n, folders, types)}


def _build_relations(settings: Settings, build_name: str) -> tuple[set[str], set[str]]:
    """(inputs, outputs) of one dbt build: the tables it builds and those they read from outside it, each
    named as ``_relation`` does."""
    manifest = _manifest(settings)
    nodes = _manifest_nodes(settings, manifest)
    build = get_build(build_name)
    extra_types = BUILD_EXTRA_TYPES.get(build_name, ())
    built = {uid for uid, n in nodes.items() if _in_folders(n, (build.folder,), extra_types)}
    read = {
        parent
        for uid in built
        for parent in manifest.get("parent_map", {}).get(uid, [])
        if parent not in built
        and parent in nodes
        and nodes[parent].get("resource_type") in (*BUILT_TYPES, "source")
    }
    return {_relation(settings, nodes[u]) for u in read}, {_relation(settings, nodes[u]) for u in built}
