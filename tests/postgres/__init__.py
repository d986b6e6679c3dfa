"""The pipeline, the warehouse sync and Airflow on a PostgreSQL server."""
