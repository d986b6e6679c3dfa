"""Airflow's OpenLineage provider, told what the daily DAG's tasks read and write.

The tasks are TaskFlow ``@task`` functions, for which the provider finds no datasets by itself. A custom
extractor is the provider's way to add them (``[openlineage] extractors``, set by
``customer360.airflow_setup.airflow_env``): the provider still builds and sends the START and COMPLETE (or
FAIL) events of every task, with its own run, job and parent facets; this extractor fills in their inputs
and outputs from ``customer360.lineage.tasks``. A task of another DAG gets the provider's default.
"""

from __future__ import annotations

from datetime import date

from airflow.providers.openlineage.extractors.base import BaseExtractor, OperatorLineage

from customer360.lineage.tasks import DAG_ID, task_lineage


class DailyTaskExtractor(BaseExtractor):
    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        # The operator class of every TaskFlow @task (airflow.providers.standard.decorators.python).
        return ["_PythonDecoratedOperator"]

    def _lineage(self, logical_date: date | None = None, run_id: str | None = None) -> OperatorLineage:
        found = None
        if self.operator.dag_id == DAG_ID:
            from customer360.settings import get_settings

            found = task_lineage(get_settings(), self.operator.task_id, logical_date, run_id)
        if found is None:
            return OperatorLineage()  # no datasets: the provider falls back to the task's inlets and outlets
        return OperatorLineage(inputs=found.inputs, outputs=found.outputs)

    def _execute_extraction(self) -> OperatorLineage:
        return self._lineage()

    def extract_on_complete(self, task_instance) -> OperatorLineage:
        return self._lineage(*_run_of(task_instance))

    def extract_on_failure(self, task_instance) -> OperatorLineage:
        return self._lineage(*_run_of(task_instance))


def _run_of(task_instance) -> tuple[date | None, str | None]:
    """The logical date the pipeline ran for (as the DAG's tasks compute it) and the DAG run's id."""
    from airflow.providers.openlineage.utils.utils import get_dag_run_dag_and_task_from_ti

    dag_run, _, _ = get_dag_run_dag_and_task_from_ti(task_instance)
    moment = getattr(dag_run, "logical_date", None) or getattr(dag_run, "data_interval_start", None)
    return (moment.date() if moment is not None else None), getattr(dag_run, "run_id", None)
