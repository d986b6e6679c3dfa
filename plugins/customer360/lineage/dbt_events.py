"""The OpenLineage events of one dbt build, made by OpenLineage's dbt integration (openlineage-dbt).

The pipeline runs dbt in its own process (``dbtRunner``, customer360.dbt_runner), so instead of the ``dbt-ol``
wrapper, which runs dbt as a child process, it uses what ``dbt-ol`` uses after dbt has finished: the
integration's ``DbtLocalArtifactProcessor`` reads dbt's ``manifest.json`` and ``run_results.json`` and makes a
START and a COMPLETE (or FAIL) event per model and snapshot built, with its input and output tables, SQL,
column lineage and test results, and the events are wrapped, as ``dbt-ol`` does, in a START and COMPLETE (or
FAIL) of the build itself. The parent of the build is the Airflow task that ran it when there is one
(``OPENLINEAGE_PARENT_ID`` / ``OPENLINEAGE_ROOT_PARENT_ID``, ``customer360.lineage.airflow_parent``).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from customer360.scoped_environment import scoped_environment
from customer360.settings import Settings

log = logging.getLogger(__name__)


def job_name(layer: str) -> str:
    """The OpenLineage job of one build (dbt-ol's ``dbt-run-<project>``, with the build's selector)."""
    return f"dbt-run-customer360-{layer}"


def emit_build_events(
    settings: Settings, layer: str, as_of_date: date, success: bool, started: datetime
) -> int:
    """Emit the events of the dbt build that just ran; returns how many. Lineage never fails a build: an
    error is logged as a warning. Call it with dbt's environment still set (profiles.yml reads it)."""
    if not settings.lineage_enabled:
        return 0
    try:
        events = _build_events(settings, layer, success, started)
    except Exception as exc:  # noqa: BLE001 - lineage must not fail the pipeline
        log.warning("no OpenLineage events for the dbt %s build: %s: %s", layer, type(exc).__name__, exc)
        return 0
    from customer360.lineage.transport import client

    emitter = client(settings, as_of_date)
    sent = 0
    for event in events:
        try:
            emitter.emit(event)
            sent += 1
        except Exception as exc:  # noqa: BLE001
            log.warning("an OpenLineage event of the dbt %s build was not sent: %s", layer, exc)
    emitter.close(timeout=10)
    return sent


def _build_events(settings: Settings, layer: str, success: bool, started: datetime) -> list:
    from openlineage.client.event_v2 import RunState
    from openlineage.common.provider.dbt import DbtLocalArtifactProcessor, ParentRunMetadata
    from openlineage.common.provider.dbt.utils import PRODUCER, get_parent_run_metadata
    from openlineage.dbt import dbt_run_event

    from customer360.builds import get_build

    namespace = settings.openlineage_namespace
    parent = get_parent_run_metadata()
    processor = DbtLocalArtifactProcessor(
        producer=PRODUCER,
        job_namespace=namespace,
        project_dir=str(settings.dbt_project_dir),
        profile_name="customer360",
        target=settings.target,
        target_path=str(settings.home / "dbt" / "target"),
        selector=get_build(layer).selector,
        openlineage_job_name=job_name(layer),
        logger=log,
    )
    processor.dbt_command_line = ["dbt", "build", "--profiles-dir", str(settings.dbt_project_dir)]
    if processor.run_result_path and _older_than(processor.run_result_path, started):
        raise RuntimeError(f"{processor.run_result_path} was not written by this build")
    start = dbt_run_event(RunState.START, processor.job_name, namespace, parent=parent)
    start.eventTime = started.isoformat()
    # The root of the chain Airflow DAG run -> task -> dbt build -> model, as dbt-ol carries it.
    if (
        parent
        and parent.root_parent_run_id
        and parent.root_parent_job_name
        and parent.root_parent_job_namespace
    ):
        root = (parent.root_parent_run_id, parent.root_parent_job_name, parent.root_parent_job_namespace)
    elif parent:
        root = (parent.run_id, parent.job_name, parent.job_namespace)
    else:
        root = (start.run.runId, start.job.name, start.job.namespace)
    processor.dbt_run_metadata = ParentRunMetadata(
        run_id=start.run.runId,
        job_name=start.job.name,
        job_namespace=start.job.namespace,
        root_parent_run_id=root[0],
        root_parent_job_name=root[1],
        root_parent_job_namespace=root[2],
    )
    # The integration names warehouse tables from the profile's rendered path: dbt runs in the warehouse's
    # folder with the file's name alone (dbt_runner.in_warehouse_folder), so the namespace gets the full
    # path, the one ``naming.warehouse_namespace`` gives, and two homes' warehouses never share a name.
    with scoped_environment({"CUSTOMER360_WAREHOUSE_FILE": str(settings.warehouse_path)}):
        nodes = processor.parse().events()
    end = dbt_run_event(
        RunState.COMPLETE if success else RunState.FAIL,
        processor.job_name,
        namespace,
        run_id=start.run.runId,
        parent=parent,
    )
    for name in ("dbt_version", "processing_engine", "dbt_run"):
        if nodes and name in nodes[0].run.facets:
            start.run.facets[name] = end.run.facets[name] = nodes[0].run.facets[name]
    return [start, *nodes, end]


def _older_than(path: str, moment: datetime) -> bool:
    import os

    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime, UTC) < moment
    except FileNotFoundError:
        return True
