"""docker-compose.yml's ``CUSTOMER360_*`` variables are settings the code reads, and together they point the
pipeline at the compose file's own PostgreSQL warehouse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from customer360.settings import Settings, environment_variables

PROJECT = Path(__file__).resolve().parents[2]
# What an operator's .env holds (a password with characters a URL must escape).
DOTENV = {
    "POSTGRES_USER": "airflow",
    "POSTGRES_PASSWORD": "change-me:p@ss/w",
    "AIRFLOW_JWT_SECRET": "change-me-jwt",
    "CUSTOMER360_PSEUDONYM_SALT": "salt-from-env",
}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def _interpolate(value: str, dotenv: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` over the .env values."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if dotenv.get(name):
            return dotenv[name]
        if op == ":?":
            raise AssertionError(f"compose needs {name} in .env: {arg}")
        return arg if op == ":-" else ""

    return INTERPOLATION.sub(replace, value)


def _service_environments() -> dict[str, dict[str, str]]:
    compose = yaml.safe_load((PROJECT / "docker-compose.yml").read_text(encoding="utf-8"))
    return {
        name: {k: _interpolate(str(v), DOTENV) for k, v in (service.get("environment") or {}).items()}
        for name, service in compose["services"].items()
    }


def test_given_the_compose_file_then_every_customer360_variable_it_sets_is_a_setting():
    # GIVEN every CUSTOMER360_* variable any service of the compose file sets
    seen = {k for env in _service_environments().values() for k in env if k.startswith("CUSTOMER360_")}
    assert "CUSTOMER360_TARGET" in seen, "the compose file sets no CUSTOMER360_* variable"
    # THEN each one is read by the settings (a variable nothing reads is a silent misconfiguration)
    unknown = sorted(seen - environment_variables())
    assert not unknown, f"docker-compose.yml sets variables no setting reads: {unknown}"


@pytest.fixture
def compose_settings(monkeypatch) -> Settings:
    """Settings as the scheduler's container sees them (compose environment over a sample .env)."""
    import os

    for key in list(os.environ):
        if key.startswith("CUSTOMER360_"):
            monkeypatch.delenv(key)
    for key, value in _service_environments()["airflow-scheduler"].items():
        if key.startswith("CUSTOMER360_"):
            monkeypatch.setenv(key, value)
    return Settings()


def test_given_the_compose_environment_then_the_warehouse_is_the_compose_postgres(compose_settings):
    # GIVEN the scheduler container's environment WHEN the settings are read
    s = compose_settings
    # THEN the warehouse is the compose file's PostgreSQL service, database customer360 (made by
    # scripts/postgres-init.sql), with the .env credentials, the password escaped in the URL
    assert s.target == "postgres"
    assert s.postgres_url == "postgresql://airflow:change-me%3Ap%40ss%2Fw@postgres:5432/customer360"
    assert "create database customer360" in (PROJECT / "scripts" / "postgres-init.sql").read_text()
    # AND dbt's profiles.yml gets the same server and the password as written in .env
    dbt = s.dbt_env()
    assert (dbt["CUSTOMER360_PG_HOST"], dbt["CUSTOMER360_PG_PORT"]) == ("postgres", "5432")
    assert (dbt["CUSTOMER360_PG_USER"], dbt["CUSTOMER360_PG_PASSWORD"]) == ("airflow", "change-me:p@ss/w")
    assert dbt["CUSTOMER360_PG_DBNAME"] == "customer360"
    # AND the other settings are the compose file's
    assert s.home == Path("/opt/customer360/var")
    assert s.landing_root == Path("/data/landing")
    assert s.pseudonym_salt == "salt-from-env"
    assert s.schedule_end is None


def test_given_a_postgres_url_and_parts_then_the_url_wins(monkeypatch):
    monkeypatch.setenv("CUSTOMER360_POSTGRES_URL", "postgresql://u@db.example:6432/wh")
    monkeypatch.setenv("CUSTOMER360_PG_HOST", "postgres")
    assert Settings().postgres_url == "postgresql://u@db.example:6432/wh"


def test_given_a_port_that_is_not_a_number_then_the_settings_name_it(monkeypatch):
    monkeypatch.delenv("CUSTOMER360_POSTGRES_URL", raising=False)
    monkeypatch.setenv("CUSTOMER360_PG_PORT", "five")
    with pytest.raises(ValueError, match="CUSTOMER360_PG_PORT='five' is not a whole number"):
        Settings()
