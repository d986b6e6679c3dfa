"""Lineage: OpenLineage events for every task of the daily DAG and every dbt model it builds.

- ``naming``: the OpenLineage names of the warehouse tables, the published marts and the landing files;
- ``config``: where events go (the run folder; an HTTP endpoint such as Marquez when one is set), as
  OpenLineage configuration, and reading a run's events back;
- ``transport``: the OpenLineage transport that writes each event to its run's folder;
- ``tasks``: what each task of ``customer360_daily`` reads and writes;
- ``airflow_extractor``: hands those datasets to Airflow's OpenLineage provider;
- ``dbt_events``: the dbt models' events, made by OpenLineage's dbt integration from dbt's artefacts.

docs/lineage.md describes what is emitted and how to point it at Marquez.
"""
