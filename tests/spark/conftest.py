"""Spark tests: they need Java (17, Debian's openjdk-17-jre-headless; scripts/test-setup.sh installs it) and
the ``spark`` extra (dbt-spark[session], pyspark), which ``make setup`` installs.

Every Spark test shares one Spark session (one JVM) and one Spark home (warehouse folder and metastore) for
the whole test session (``spark``). The tests live in one module (``test_on_spark.py``): ``make test``
hands modules to its two xdist workers whole (``--dist loadfile``), so one module means one worker starts
one JVM; a session fixture alone would start one per worker that runs a Spark module.

The claims run in this order on that one warehouse (``parity_runs`` asks for the other two first): Great
Expectations on one small table, identity on generated identity records, then the pipeline for one date.
The first two drop what they wrote once they have read it, so the pipeline starts from an empty warehouse.
"""

from __future__ import annotations

import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from customer360 import dbt_runner, pipeline
from customer360.landing.contract import CHANNELS
from customer360.settings import Settings
from tests.conftest import UNDER_CI
from tests.support import pipeline_run
from tests.support.shared_dbt_parse import seed_home

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


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


def spark_settings(home: Path, spark_dir: Path, **overrides: Any) -> Settings:
    """Settings of a Spark-target home whose Spark files are the shared ``spark_dir`` (the session's
    warehouse folder and metastore are fixed when it starts, so every home of the test session uses them)."""
    return Settings(home=home, spark_dir=spark_dir, target="spark", spark_master="local[2]", **overrides)


@pytest.fixture(scope="session")
def spark_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Spark files of the test session: ``warehouse/``, ``metastore_db/``, the hand-over folders."""
    return tmp_path_factory.mktemp("spark")


# The test session's Spark, sized for its few thousand rows (docs/guarantees.md, "How the suite runs"):
# - one shuffle partition (the profile's CUSTOMER360_SPARK_SHUFFLE_PARTITIONS, read by dbt's statements and
#   by the stages' session alike): each partition of each shuffle is a task to schedule, and AQE's
#   coalescing only merges them after the shuffle has written them;
# - the JVM's client compiler only (C1) and the serial collector: the session lives for a few minutes of
#   small queries, where the optimising compiler's and the parallel collector's threads cost more CPU than
#   their faster code gives back.
SPARK_TEST_ENVIRONMENT = {"CUSTOMER360_SPARK_SHUFFLE_PARTITIONS": "1"}
SPARK_TEST_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


@pytest.fixture(scope="session")
def spark(
    spark_available: None, spark_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SparkSession]:
    """The one local[2] Spark session of the test session (dbt-spark's session method finds it running and
    uses it too), with ``SPARK_TEST_ENVIRONMENT`` and ``SPARK_TEST_JVM_OPTIONS``; stopped at its end so the
    JVM's memory goes back."""
    from customer360.spark.session import spark_session

    with pytest.MonkeyPatch.context() as patch:
        for name, value in SPARK_TEST_ENVIRONMENT.items():
            patch.setenv(name, value)
        with pytest.MonkeyPatch.context() as jvm_start:  # read once, when the JVM starts
            jvm_start.setenv("JAVA_TOOL_OPTIONS", SPARK_TEST_JVM_OPTIONS)
            session = spark_session(spark_settings(tmp_path_factory.mktemp("spark_session"), spark_dir))
        yield session
        session.stop()


# The data both targets run on: small, so the Spark run (most of its time is Spark planning each query, not
# the rows) stays a few minutes; large enough that every staging model and every mart the comparison reads
# has rows.
AS_OF = date(2026, 11, 20)
RUN_ID = "spark-parity"
PARITY_DATA = {"customers": 100, "days": 21, "seed": 7}
# The Spark builds run their models without dbt's data tests: the tests hold on the DuckDB run's tables, which
# the comparison finds equal to Spark's, and on a local session each of the ~330 tests is a Spark job of its
# own (three quarters of a build's queries).
SPARK_BUILD_ARGS = ["--exclude-resource-type", "test"]


def parity_settings(home: Path, landing: Path, target: str, spark_dir: Path | None = None) -> Settings:
    """One target's settings, every path explicit (dbt_runner exports CUSTOMER360_* into this process). The
    salt is the settings' own, the same in both homes (made one after the other) and in the session's saved
    dbt parses, which the DuckDB home starts from: the salt is one of the project's ``--vars``."""
    return Settings(
        home=home,
        warehouse_path=home / "warehouse" / "customer360.duckdb",
        published_dir=home / "published",
        runs_dir=home / "runs",
        spark_dir=spark_dir or home / "spark",
        landing_root=landing,
        target=target,
        spark_master="local[2]",
    )


def _timed(seconds: dict[str, float], stage: str, call: Callable[[], object]) -> None:
    started = time.perf_counter()
    call()
    seconds[stage] = round(time.perf_counter() - started, 1)


def _run_pipeline(settings: Settings, duckdb_home: Settings | None) -> dict[str, float]:
    """Ingest, staging, identity, core, models, analytics and publish for one date, in DAG order.

    On Spark (``duckdb_home`` given) the dbt builds run as the runner runs them (``dbt_runner.build``, every
    one a full build) without data tests (``SPARK_BUILD_ARGS``), and identity runs on Spark
    (``pipeline.resolve_identity`` chooses ``customer360.spark.identity.resolve_on_spark``) with the match
    model the DuckDB run trained, as docs/spark.md says to deploy it. The models stage does not run on the
    engine yet: its outputs are those of the DuckDB run over the same landing files, handed to Spark as
    Parquet before the analytics build (``customer360.spark_handover.hand_over_duckdb_stage_outputs``)."""
    from customer360.identity.model_store import model_dir
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
    if duckdb_home is not None:
        shutil.copytree(model_dir(duckdb_home), model_dir(settings), dirs_exist_ok=True)
    _timed(seconds, "identity", lambda: pipeline.resolve_identity(AS_OF, RUN_ID, settings=settings))
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
    spark: SparkSession,
    spark_dir: Path,
    validation_outcomes: dict[str, list],
    identity_resolved: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Settings]:
    """The pipeline for one date on DuckDB and on the Spark session, from the same landing files (separate
    homes, same salt); returns each target's settings. The other claims' fixtures come first: they share the
    warehouse and leave it empty."""
    from customer360_dev.datagen.generate import generate

    landing = tmp_path_factory.mktemp("spark_parity") / "landing"
    generate(landing, end_date=AS_OF, **PARITY_DATA)
    duck = parity_settings(tmp_path_factory.mktemp("home_duckdb"), landing, "duckdb")
    # the session's dbt parses, as run_day's homes start from them (the Spark home's profile is its own)
    seed_home(duck.home, pipeline_run.PARSE_CACHE)
    on_spark = parity_settings(tmp_path_factory.mktemp("home_spark"), landing, "spark", spark_dir)
    for settings, duckdb_home in ((duck, None), (on_spark, duck)):
        seconds = _run_pipeline(settings, duckdb_home)
        print(f"\n{settings.target}: {sum(seconds.values()):.1f}s {seconds}", file=sys.stderr)
    return {"duckdb": duck, "spark": on_spark}


# Identity: generated identity records (customer360_dev.identity_synthetic). 100 persons of this seed are the
# fewest found that still link records by email, probabilistically (Splink's scoring) and leave singletons.
IDENTITY_PERSONS = 100
IDENTITY_SEED = 7
IDENTITY_RUN_ID = "spark-identity"


@pytest.fixture(scope="session")
def identity_resolved(
    spark: SparkSession, spark_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The same identity records resolved on DuckDB and on Spark with one trained model file: DuckDB's
    warehouse file, Spark's answer, and the rows of each identity table Spark wrote (read, then dropped)."""
    from customer360.identity.resolution import resolve
    from customer360.spark.identity import resolve_on_spark
    from customer360.warehouse import connect
    from customer360_dev.identity_synthetic import synthetic_records, write_input_table
    from tests.spark.compare import IDENTITY_TABLES
    from tests.support.identity_model import install_model, train_model_file

    model = train_model_file(Settings(home=tmp_path_factory.mktemp("identity_model")))
    records, _ = synthetic_records(IDENTITY_PERSONS, seed=IDENTITY_SEED)

    on_duckdb = Settings(home=tmp_path_factory.mktemp("identity_duckdb"))
    install_model(on_duckdb, model)
    with connect(on_duckdb) as con:
        write_input_table(con, records)
    resolve(on_duckdb, AS_OF, IDENTITY_RUN_ID)

    on_spark = spark_settings(tmp_path_factory.mktemp("identity_spark"), spark_dir)
    install_model(on_spark, model)
    spark.sql("create database if not exists intermediate")
    spark.createDataFrame(records).write.mode("overwrite").format("parquet").saveAsTable(
        "intermediate.int_contact_records_unioned"
    )
    result = resolve_on_spark(on_spark, AS_OF, IDENTITY_RUN_ID, spark)
    print(f"\nspark identity: {result.as_dict()}", file=sys.stderr)
    tables = {
        table: (spark.table(table).columns, [tuple(row) for row in spark.table(table).collect()])
        for table in IDENTITY_TABLES
    }
    for database in ("identity", "intermediate"):
        spark.sql(f"drop database {database} cascade")
    return {"duckdb": on_duckdb.warehouse_path, "result": result, "tables": tables}


@pytest.fixture(scope="session")
def validation_outcomes(
    spark: SparkSession, spark_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list]:
    """One table with a null key, a duplicate key and a late row (``tests.spark.validation_case``),
    validated with the same suites on DuckDB and on Spark: each target's outcomes. The Spark table is
    dropped once validated."""
    import duckdb

    from customer360.quality.runner import _run_suites, open_context
    from tests.spark.validation_case import ROWS, SCHEMA, TABLE, suites

    on_duckdb = Settings(home=tmp_path_factory.mktemp("gx_duckdb"))
    on_duckdb.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(on_duckdb.warehouse_path)) as con:
        con.execute(f"create schema {SCHEMA}")
        con.execute(f"create table {SCHEMA}.{TABLE} (customer_key integer, email varchar, loaded_on date)")
        con.executemany(f"insert into {SCHEMA}.{TABLE} values (?, ?, ?)", ROWS)

    on_spark = spark_settings(tmp_path_factory.mktemp("gx_spark"), spark_dir)
    spark.sql(f"create database if not exists {SCHEMA}")
    spark.createDataFrame(ROWS, "customer_key int, email string, loaded_on date").write.mode(
        "overwrite"
    ).format("parquet").saveAsTable(f"{SCHEMA}.{TABLE}")

    found = {}
    for name, settings in (("duckdb", on_duckdb), ("spark", on_spark)):
        root = settings.home / "gx"
        found[name] = _run_suites(
            open_context(root), settings, "staging", suites(), "gx-parity", root / "docs"
        )
    spark.sql(f"drop database {SCHEMA} cascade")
    return found
