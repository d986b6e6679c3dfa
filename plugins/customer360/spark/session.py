"""The Spark session a Python stage computes in, configured as dbt's (``dbt_project/profiles.yml``).

The session method's settings (master, warehouse folder, Derby metastore, time zone, shuffle partitions) live
in the dbt profile, once: this module renders that profile output's ``server_side_parameters`` with the same
variables dbt reads (``Settings.dbt_env``). In one process dbt and a stage share the session (``getOrCreate``
returns the running one), so tables dbt built are visible to the stage and the other way round.

Splink's similarity functions (``jaro_winkler``, ``damerau_levenshtein``) are Scala UDFs in a jar that ships
in the splink wheel (built for Spark 4 / Scala 2.13); ``ADD JAR`` puts it on the running session, so it need
not be known when the session starts (dbt may start it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from customer360.scoped_environment import scoped_environment
from customer360.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PROFILE_OUTPUT = "spark"


def session_parameters(settings: Settings) -> dict[str, str]:
    """The ``server_side_parameters`` of the profile's ``spark`` output, rendered for ``settings``."""
    import yaml
    from jinja2 import Environment

    profile = yaml.safe_load((settings.dbt_project_dir / "profiles.yml").read_text(encoding="utf-8"))
    outputs = next(iter(profile.values()))["outputs"]
    parameters = outputs[PROFILE_OUTPUT]["server_side_parameters"]
    # The settings' variables over the process's, as dbt renders the profile when the runner calls it: a
    # variable the settings do not set (CUSTOMER360_SPARK_SHUFFLE_PARTITIONS) means the same to both.
    environment = {**os.environ, **settings.dbt_env()}

    def env_var(name: str, default: str | None = None) -> str:
        value = environment.get(name, default)
        if value is None:
            raise KeyError(f"profiles.yml reads {name}, which the settings do not set")
        return value

    jinja = Environment()
    return {
        str(key): jinja.from_string(str(value)).render(env_var=env_var) for key, value in parameters.items()
    }


def spark_session(settings: Settings) -> SparkSession:
    """The running Spark session, or a new one with the dbt profile's settings; with Splink's functions."""
    from pyspark.sql import SparkSession

    if settings.spark_method != "session":
        raise NotImplementedError(
            "the Python stages reach Spark through an in-process session "
            f"(CUSTOMER360_SPARK_METHOD=session), not {settings.spark_method!r}; on a cluster, run them with "
            "spark-submit (docs/spark.md)"
        )
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in session_parameters(settings).items():
        builder = builder.config(key, value)
    with scoped_environment(settings.dbt_env()):
        spark = builder.getOrCreate()
    add_similarity_functions(spark)
    return spark


def add_similarity_functions(spark: SparkSession) -> None:
    """Put Splink's similarity jar on the session (adding it again is a no-op); Splink's ``SparkAPI`` then
    registers its functions from it."""
    from splink.internals.spark.jar_location import similarity_jar_location

    spark.sql(f"ADD JAR '{similarity_jar_location()}'")
