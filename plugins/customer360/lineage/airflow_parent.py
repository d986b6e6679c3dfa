"""The Airflow task as the OpenLineage parent of the dbt build it runs.

Airflow's OpenLineage provider documents handing a task's run to dbt through ``OPENLINEAGE_PARENT_ID`` and
``OPENLINEAGE_ROOT_PARENT_ID`` (its ``lineage_parent_id`` and ``lineage_root_parent_id`` macros); the dbt
integration reads them (``customer360.lineage.dbt_events``). The build runs in the task's own process, so the
variables are set around the call and restored after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from customer360.scoped_environment import scoped_environment

VARIABLES = ("OPENLINEAGE_PARENT_ID", "OPENLINEAGE_ROOT_PARENT_ID")


@contextmanager
def task_as_parent() -> Iterator[None]:
    """Within a running Airflow task: dbt's events name it as their parent."""
    from airflow.providers.openlineage.plugins.macros import lineage_parent_id, lineage_root_parent_id
    from airflow.sdk import get_current_context

    task_instance = get_current_context()["ti"]
    values = dict(
        zip(VARIABLES, (lineage_parent_id(task_instance), lineage_root_parent_id(task_instance)), strict=True)
    )
    with scoped_environment(values):
        yield
