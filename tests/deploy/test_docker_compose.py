"""docker-compose.yml cannot start here (no Docker engine), so its structure is checked instead:
the services Airflow 3 needs, Celery on Redis, metadata and warehouse on PostgreSQL, no secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-apiserver": "airflow api-server",
    "airflow-scheduler": "airflow scheduler",
    "airflow-dag-processor": "airflow dag-processor",
    "airflow-triggerer": "airflow triggerer",
    "airflow-worker": "airflow celery worker",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((PROJECT / "docker-compose.yml").read_text())


def test_given_the_compose_file_then_it_has_every_airflow3_component_plus_postgres_and_redis(compose):
    services = compose["services"]
    for name, command in AIRFLOW_SERVICES.items():
        assert name in services, f"{name} missing"
        assert services[name]["command"] == command
    assert {"postgres", "redis", "airflow-init"} <= set(services)


def test_given_the_airflow_services_then_they_share_one_image_and_run_celery_on_postgres_metadata(compose):
    services = compose["services"]
    images = {services[name]["image"] for name in AIRFLOW_SERVICES}
    assert images == {"customer360:latest"}
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379")
        assert env["CUSTOMER360_TARGET"] == "${CUSTOMER360_TARGET:-postgres}"  # .env may choose spark
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["airflow-init"]["condition"] == "service_completed_successfully"


def test_given_the_compose_file_then_the_project_is_mounted_and_the_warehouse_pool_is_created(compose):
    common_volumes = compose["services"]["airflow-scheduler"]["volumes"]
    targets = {v.split(":")[1] for v in common_volumes}
    assert {
        "/opt/customer360/dags",
        "/opt/customer360/dbt_project",
        "/opt/customer360/expectations",
    } <= targets
    init = compose["services"]["airflow-init"]["command"]
    assert "airflow db migrate" in init and "customer360_warehouse 1" in init


def test_given_the_compose_file_then_secrets_come_only_from_the_uncommitted_env_file(compose):
    text = (PROJECT / "docker-compose.yml").read_text()
    for service in compose["services"].values():
        env = service.get("environment", {})
        for key, value in env.items():
            if re.search(r"PASSWORD|SECRET|FERNET|SALT", key):
                assert str(value).startswith("${"), f"{key} is written in the compose file"
    assert "env_file: .env" in text
    ignored = (PROJECT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored
    assert (PROJECT / ".env.example").exists()


def test_given_the_dockerfile_then_it_installs_from_the_lock_file():
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert "uv sync --frozen" in dockerfile
    assert "COPY pyproject.toml uv.lock" in dockerfile


def test_given_the_dockerfile_then_the_image_copies_the_production_package_and_not_the_dev_tooling():
    """GIVEN the Dockerfile and the packaging WHEN the image is built THEN all it copies from plugins/
    is plugins/customer360 (plugins/customer360_dev stays out, and no COPY takes the whole tree), while the
    wheel lists both packages so that a development install imports both."""
    import tomllib

    copies = [
        line.split()[1:]
        for line in (PROJECT / "Dockerfile").read_text().splitlines()
        if line.strip().upper().startswith(("COPY", "ADD"))
    ]
    sources = [src.rstrip("/") for *srcs, _dest in copies for src in srcs if not src.startswith("--")]
    assert "." not in sources and "plugins" not in sources
    assert [s for s in sources if s.startswith("plugins")] == ["plugins/customer360"]
    assert not any("customer360_dev" in s for s in sources)
    packages = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]
    assert packages["wheel"]["packages"] == ["plugins/customer360", "plugins/customer360_dev"]
    assert (PROJECT / "plugins" / "customer360_dev" / "__init__.py").is_file()
