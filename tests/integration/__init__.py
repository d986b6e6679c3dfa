"""End to end: generated data through the real DAG on the embedded Airflow (slow)."""
