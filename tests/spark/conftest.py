"""Spark tests: they need Java (17, Debian's openjdk-17-jre-headless; scripts/test-setup.sh installs it) and
the ``spark`` extra (dbt-spark[session], pyspark), which ``make setup`` installs."""

from __future__ import annotations

import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from customer360 import dbt_runner, pipeline
from customer360.landing.contract import CHANNELS
from customer360.settings import Settings
from tests.conftest import UNDER_CI


@pytest.fixture(scope="session")
def spark_available() -> None:
    """Fail (in CI) or skip loudly (elsewhere) when a local Spark session cannot start."""
    missing = []
    if shutil.which("java") is None:
        missing.append("java (apt-get install openjdk-17-jre-headless, or scripts/test-setup.sh)")
    try:
        import pyspark  # noqa: F401
        from dbt.adapters import spark  # noqa: F401
    except ImportError:
        missing.append("the spark extra (make setup: uv sync --extra spark)")
    if not missing:
        return
    message = f"Spark tests cannot run: missing {', '.join(missing)}"
    if UNDER_CI:
        pytest.fail(message + " (CI=true: Spark tests never skip in CI)")
    print(f"\n*** SKIPPING: {message} ***", file=sys.stderr)
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


# The data both targets run on: small, so the Spark run (most of its time is Spark planning each query, not
# the rows) stays a few minutes; large enough that every staging model and every mart the comparison reads
# has rows.
AS_OF = date(2026, 11, 20)
RUN_ID = "spark-parity"
SALT = "spark-parity-salt"
PARITY_DATA = {"customers": 100, "days": 21, "seed": 7}
# The Spark builds run their models without dbt's data tests: the tests hold on the DuckDB run's tables, which
# the comparison finds equal to Spark's, and on a local session each of the ~330 tests is a Spark job of its
# own (three quarters of a build's queries).
SPARK_BUILD_ARGS = ["--exclude-resource-type", "test"]


def parity_settings(home: Path, landing: Path, target: str) -> Settings:
    """One target's settings, every path explicit (dbt_runner exports CUSTOMER360_* into this process)."""
    return Settings(
        home=home,
        warehouse_path=home / "warehouse" / "customer360.duckdb",
        published_dir=home / "published",
        runs_dir=home / "runs",
        spark_dir=home / "spark",
        landing_root=landing,
        target=target,
        spark_master="local[2]",
        pseudonym_salt=SALT,
    )


def _timed(seconds: dict[str, float], stage: str, call: Callable[[], object]) -> None:
    started = time.perf_counter()
    call()
    seconds[stage] = round(time.perf_counter() - started, 1)


def _run_pipeline(settings: Settings, duckdb_home: Settings | None) -> dict[str, float]:
    """Ingest, staging, identity, core, models, analytics and publish for one date, in DAG order.

    On Spark (``duckdb_home`` given) the dbt builds run as the runner runs them (``dbt_runner.build``, every
    one a full build) without data tests (``SPARK_BUILD_ARGS``). Identity and the models stage do not run on
    the engine yet: their
    outputs are those of the DuckDB run over the same landing files (its staging tables equal Spark's, which
    ``test_..._staging_..._equal_duckdbs`` checks), handed to Spark as Parquet before the build that reads
    them, as ``customer360.spark_handover.hand_over_duckdb_stage_outputs`` documents."""
    from customer360.spark_handover import hand_over_duckdb_stage_outputs

    def build(layer: str) -> Callable[[], object]:
        if duckdb_home is None:
            return lambda: pipeline.build_layer(layer, AS_OF, RUN_ID, settings=settings)
        return lambda: dbt_runner.build(settings, layer, AS_OF, extra_args=SPARK_BUILD_ARGS)

    seconds: dict[str, float] = {}
    _timed(
        seconds, "ingest", lambda: [pipeline.ingest(c, AS_OF, RUN_ID, settings=settings) for c in CHANNELS]
    )
    _timed(seconds, "staging", build("staging"))
    if duckdb_home is None:
        _timed(seconds, "identity", lambda: pipeline.resolve_identity(AS_OF, RUN_ID, settings=settings))
    else:
        hand_over_duckdb_stage_outputs(settings, duckdb_home.warehouse_path, "identity")
    _timed(seconds, "core", build("core"))
    if duckdb_home is None:
        _timed(seconds, "models", lambda: pipeline.fit_models(AS_OF, RUN_ID, settings=settings))
    else:
        hand_over_duckdb_stage_outputs(settings, duckdb_home.warehouse_path, "analytics")
    _timed(seconds, "analytics", build("analytics"))
    _timed(seconds, "publish", lambda: pipeline.publish(AS_OF, RUN_ID, settings=settings))
    return seconds


@pytest.fixture(scope="session")
def parity_runs(
    spark_available: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Settings]]:
    """The pipeline for one date on DuckDB and on a local[2] Spark session, from the same landing files
    (separate homes, same salt); yields each target's settings. One Spark session for the test session,
    stopped at its end."""
    from customer360_dev.datagen.generate import generate

    landing = tmp_path_factory.mktemp("spark_parity") / "landing"
    generate(landing, end_date=AS_OF, **PARITY_DATA)
    duck = parity_settings(tmp_path_factory.mktemp("home_duckdb"), landing, "duckdb")
    spark = parity_settings(tmp_path_factory.mktemp("home_spark"), landing, "spark")
    for settings, duckdb_home in ((duck, None), (spark, duck)):
        seconds = _run_pipeline(settings, duckdb_home)
        print(f"\n{settings.target}: {sum(seconds.values()):.1f}s {seconds}", file=sys.stderr)
    yield {"duckdb": duck, "spark": spark}
    from pyspark.sql import SparkSession

    # dbt-spark's session outlives the builds; stop it so the rest of this worker's tests get its memory back.
    SparkSession.builder.getOrCreate().stop()
