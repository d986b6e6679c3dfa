"""Helpers the test modules share, imported as ``tests.support.<module>``; fixtures live in conftest.py.

- ``raw_warehouse``: a small raw layer (five people across six channels) for the dbt tests;
- ``dbt_runner``: dbt in-process on dbt_project/ with target and log paths in tmp;
- ``published_snapshot``: a published marts snapshot and a run's artefacts, for the report and analyst tests;
- ``quality_warehouse``: a small warehouse that passes every Great Expectations suite;
- ``privacy_warehouse``: two people in every layer, for erasure and leak-scan tests;
- ``pipeline_run``: one daily run stage by stage in DAG order (``stage_server``/``stage_runner`` processes);
- ``shared_runs``: the data and the once-per-session pipeline runs several test modules read;
- ``airflow_scheduler``: a real Airflow scheduler and API server on a home, for catchup;
- ``postgres_databases``: throwaway PostgreSQL databases.
"""
