"""docker-compose.yml's ``spark`` profile: a standalone Spark cluster (master, worker) and its Thrift/JDBC
server, of the Spark version of the project's pyspark (uv.lock), which the pipeline's settings point dbt at
when .env chooses the Spark target (docs/spark.md). Checked by structure: no Docker engine here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from customer360.settings import Settings
from tests.deploy.test_compose_settings import DOTENV, _interpolate

PROJECT = Path(__file__).resolve().parents[2]
SPARK_SERVICES = ("spark-master", "spark-worker", "spark-thrift")


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((PROJECT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]


def _locked_pyspark() -> str:
    lock = tomllib.loads((PROJECT / "uv.lock").read_text(encoding="utf-8"))
    (version,) = [p["version"] for p in lock["package"] if p["name"] == "pyspark"]
    return version


def _conf(command: str) -> dict[str, str]:
    """The ``--conf key=value`` and ``--hiveconf key=value`` pairs of a Spark command line."""
    return dict(re.findall(r"--(?:hive)?conf (\S+?)=(\S+)", command))


def test_given_the_spark_profile_then_it_is_a_cluster_and_thrift_server_of_the_locked_spark(services):
    # GIVEN the services of the spark profile
    profiled = {name for name, s in services.items() if "spark" in (s.get("profiles") or [])}
    # THEN they are the master, the worker and the Thrift server, and nothing else starts only with Spark
    assert profiled == set(SPARK_SERVICES)
    # AND the Airflow services and the PostgreSQL warehouse start without the profile
    assert not services["airflow-scheduler"].get("profiles") and not services["postgres"].get("profiles")
    # AND each runs Apache Spark's image of the version uv.lock installs as pyspark (one Spark on both sides)
    assert {services[name]["image"] for name in SPARK_SERVICES} == {f"apache/spark:{_locked_pyspark()}"}


def test_given_the_spark_profile_then_the_worker_and_thrift_server_join_the_master(services):
    master = services["spark-master"]["command"]
    assert "org.apache.spark.deploy.master.Master" in master and "--port 7077" in master
    worker = services["spark-worker"]["command"]
    assert "org.apache.spark.deploy.worker.Worker spark://spark-master:7077" in worker
    thrift = services["spark-thrift"]
    assert thrift["command"].split()[0] == "/opt/spark/sbin/start-thriftserver.sh"
    assert "--master spark://spark-master:7077" in thrift["command"]
    # a container's process stays in the foreground (start-thriftserver.sh daemonizes otherwise)
    assert thrift["environment"]["SPARK_NO_DAEMONIZE"] == "true"
    assert thrift["depends_on"]["spark-master"]["condition"] == "service_healthy"
    assert "10000:10000" in thrift["ports"]


@pytest.fixture
def spark_settings(monkeypatch) -> Settings:
    """Settings as the scheduler's container sees them when .env chooses the Spark target."""
    import os

    for key in list(os.environ):
        if key.startswith("CUSTOMER360_"):
            monkeypatch.delenv(key)
    compose = yaml.safe_load((PROJECT / "docker-compose.yml").read_text(encoding="utf-8"))
    dotenv = {**DOTENV, "CUSTOMER360_TARGET": "spark"}
    for key, value in compose["services"]["airflow-scheduler"]["environment"].items():
        if key.startswith("CUSTOMER360_"):
            monkeypatch.setenv(key, _interpolate(str(value), dotenv))
    return Settings()


def test_given_env_choosing_spark_then_dbt_reaches_the_profiles_thrift_server(services, spark_settings):
    # GIVEN the scheduler's environment with CUSTOMER360_TARGET=spark in .env
    s = spark_settings
    # THEN dbt builds through the Thrift server of the spark profile (dbt profile output spark_thrift)
    assert (s.target, s.spark_method, s.dbt_target) == ("spark", "thrift", "spark_thrift")
    thrift_conf = _conf(services["spark-thrift"]["command"])
    assert s.spark_host == "spark-thrift"
    assert s.spark_port == int(thrift_conf["hive.server2.thrift.port"])
    assert thrift_conf["hive.server2.thrift.bind.host"] == "0.0.0.0"
    # AND the files the pipeline hands over and reads back (raw, stage outputs, the marts' Parquet) are where
    # the Spark containers see them: the same volume at the same path, tables under spark_dir/warehouse
    volume = "customer360-var:/opt/customer360/var"
    for name in (*SPARK_SERVICES, "airflow-worker"):
        assert volume in services[name]["volumes"], name
    assert s.spark_dir == Path("/opt/customer360/var/spark")
    assert thrift_conf["spark.sql.warehouse.dir"] == f"{s.spark_dir}/warehouse"
    assert thrift_conf["spark.sql.session.timeZone"] == "UTC"  # as the session target's profile


def test_given_an_env_without_a_target_then_the_warehouse_stays_postgres(services):
    target = services["airflow-scheduler"]["environment"]["CUSTOMER360_TARGET"]
    assert _interpolate(target, DOTENV) == "postgres"
    assert _interpolate(target, {**DOTENV, "CUSTOMER360_TARGET": "spark"}) == "spark"
