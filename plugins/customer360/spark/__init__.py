"""The Python stages on the Spark target (docs/spark.md): they compute in Spark, never on the driver.

``session``: the Spark session a stage uses (the dbt profile's settings, plus Splink's similarity functions);
``splink_model``: the identity match model, trained on DuckDB, read for Splink's Spark backend;
``identity``: identity resolution over Spark tables (``components``: connected components in Spark SQL;
``identity_tables``: the identity tables it writes).
"""
