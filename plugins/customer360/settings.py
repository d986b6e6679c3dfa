"""One settings object for the whole pipeline, read once from ``CUSTOMER360_*`` environment variables.

Defaults serve the embedded mode: everything lives under ``<project>/var`` and the warehouse is one DuckDB
file. Nothing else in the package holds a path or a threshold as a literal: it asks ``get_settings()``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from datetime import date
from functools import lru_cache
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
ENV_PREFIX = "CUSTOMER360_"
# Ingest limits' defaults (also rendered into docs/landing-contract.md).
DEFAULT_INGEST_MAX_FIELD_CHARS = 1 << 20
DEFAULT_INGEST_MAX_LINE_CHARS = 8 << 20
DEFAULT_INGEST_MAX_FILE_BYTES = 20 << 30
DEFAULT_SNAPSHOT_STORAGE_VERSION = "v1.0.0"
_STORAGE_VERSION = re.compile(r"v\d+\.\d+\.\d+|latest")


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(ENV_PREFIX + name)
    return Path(value).expanduser().resolve() if value else default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(ENV_PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name}={raw!r} is not a number") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(ENV_PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{ENV_PREFIX}{name}={raw!r} is not true or false")


def _env_date(name: str, default: date | None) -> date | None:
    raw = os.environ.get(ENV_PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name}={raw!r} is not a date (YYYY-MM-DD)") from exc


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(ENV_PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name}={raw!r} is not a whole number") from exc


# Warehouse targets (CUSTOMER360_TARGET) and the ways dbt-spark reaches Spark (CUSTOMER360_SPARK_METHOD).
TARGETS = ("duckdb", "postgres", "spark")
SPARK_METHODS = ("session", "thrift", "http")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/customer360"
# The PostgreSQL warehouse given in parts, as docker-compose and libpq-style deployments do (and as
# ``Settings.dbt_env`` hands it to dbt's profiles.yml): used when CUSTOMER360_POSTGRES_URL is not set.
POSTGRES_URL_PARTS = ("PG_HOST", "PG_PORT", "PG_USER", "PG_PASSWORD", "PG_DBNAME")


def _postgres_url() -> str:
    """``CUSTOMER360_POSTGRES_URL`` if set; else a URL of the ``CUSTOMER360_PG_*`` parts that are set (the
    default URL's values for the others); else the default URL."""
    from urllib.parse import quote

    url = os.environ.get(ENV_PREFIX + "POSTGRES_URL", "")
    if url:
        return url
    parts = {name: os.environ.get(ENV_PREFIX + name, "") for name in POSTGRES_URL_PARTS}
    if not any(parts.values()):
        return DEFAULT_POSTGRES_URL
    port = _env_int("PG_PORT", 5432)
    user = quote(parts["PG_USER"] or "postgres", safe="")
    auth = ":" + quote(parts["PG_PASSWORD"], safe="") if parts["PG_PASSWORD"] else ""
    host = parts["PG_HOST"] or "127.0.0.1"
    dbname = quote(parts["PG_DBNAME"] or "customer360", safe="")
    return f"postgresql://{user}{auth}@{host}:{port}/{dbname}"


def environment_variables() -> frozenset[str]:
    """Every ``CUSTOMER360_*`` variable the settings read."""
    names = {f.name.upper() for f in fields(Settings) if f.name != "project_dir"}
    return frozenset(ENV_PREFIX + n for n in (*names, *POSTGRES_URL_PARTS, "AIRFLOW_HOME"))


@dataclass(frozen=True)
class Settings:
    """Every knob of the pipeline. Field names map to ``CUSTOMER360_<FIELD_NAME_UPPER>``."""

    project_dir: Path = PROJECT_DIR
    home: Path = field(default_factory=lambda: _env_path("HOME", PROJECT_DIR / "var"))
    landing_root: Path | None = None
    warehouse_path: Path | None = None
    published_dir: Path | None = None
    runs_dir: Path | None = None
    channels_file: Path | None = None

    # Warehouse target for dbt and the Python stages: "duckdb" (embedded), "postgres" (scale-out on one
    # server) or "spark" (a distributed engine; the staging build so far, docs/spark.md).
    target: str = field(default_factory=lambda: _env("TARGET", "duckdb"))
    # ``CUSTOMER360_POSTGRES_URL``, or else the URL made of ``CUSTOMER360_PG_*`` (``_postgres_url``).
    postgres_url: str = field(default_factory=lambda: _postgres_url())
    # The Spark target (docs/spark.md): how dbt reaches Spark. "session": an in-process Spark session on
    # ``spark_master`` (local[2] by default), its tables Parquet files under ``spark_dir`` (with the Hive
    # metastore and the raw tables ingest hands over); "thrift" or "http" (Databricks): a cluster at
    # ``spark_host``:``spark_port`` (the token only from CUSTOMER360_SPARK_TOKEN, read by profiles.yml).
    spark_method: str = field(default_factory=lambda: _env("SPARK_METHOD", "session"))
    spark_master: str = field(default_factory=lambda: _env("SPARK_MASTER", "local[2]"))
    spark_dir: Path | None = None
    spark_host: str = field(default_factory=lambda: _env("SPARK_HOST", "localhost"))
    spark_port: int = field(default_factory=lambda: _env_int("SPARK_PORT", 10000))
    duckdb_threads: int = field(default_factory=lambda: _env_int("DUCKDB_THREADS", os.cpu_count() or 2))
    duckdb_memory_limit: str = field(default_factory=lambda: _env("DUCKDB_MEMORY_LIMIT", "6GB"))
    # Rebuild the staging layer in full instead of incrementally (customer360.incremental explains when
    # the pipeline does so by itself).
    full_refresh: bool = field(default_factory=lambda: _env_bool("FULL_REFRESH", False))
    # Run dbt's unit tests in the pipeline's builds too. Off by default, as dbt advises for production:
    # their inputs are fixed, so they say nothing new about the day's data; ``make test`` and CI run them.
    dbt_unit_tests: bool = field(default_factory=lambda: _env_bool("DBT_UNIT_TESTS", False))

    # The daily DAG's schedule: the first and (optionally) last logical date the scheduler runs. With
    # catchup on, unpausing the DAG runs every day from the start that has not run yet, one at a time.
    schedule_start: date = field(default_factory=lambda: _env_date("SCHEDULE_START", date(2026, 1, 1)))
    schedule_end: date | None = field(default_factory=lambda: _env_date("SCHEDULE_END", None))

    # Cleansing and identity
    default_phone_region: str = field(default_factory=lambda: _env("DEFAULT_PHONE_REGION", "NL"))
    max_emails_per_customer: int = field(default_factory=lambda: _env_int("MAX_EMAILS_PER_CUSTOMER", 3))
    max_phones_per_customer: int = field(default_factory=lambda: _env_int("MAX_PHONES_PER_CUSTOMER", 3))
    match_threshold: float = field(default_factory=lambda: _env_float("MATCH_THRESHOLD", 0.8))
    # The identity match model (customer360.identity.model_store): where its versions are kept (default
    # <home>/models/identity), which version daily runs use (0: the newest), and how `identity train` fits
    # one.
    identity_model_dir: Path | None = None
    identity_model_version: int = field(default_factory=lambda: _env_int("IDENTITY_MODEL_VERSION", 0))
    identity_training_window_days: int = field(
        default_factory=lambda: _env_int("IDENTITY_TRAINING_WINDOW_DAYS", 365)
    )
    identity_training_max_records: int = field(
        default_factory=lambda: _env_int("IDENTITY_TRAINING_MAX_RECORDS", 500_000)
    )
    identity_training_seed: int = field(default_factory=lambda: _env_int("IDENTITY_TRAINING_SEED", 42))
    identity_training_max_pairs: float = field(
        default_factory=lambda: _env_float("IDENTITY_TRAINING_MAX_PAIRS", 10_000_000)
    )
    # A customer holds at most this many birth dates: 3 lets the model link records with two mistyped birth
    # dates (the model weighs each difference); 1 forbids any difference.
    identity_max_birth_dates_per_customer: int = field(
        default_factory=lambda: _env_int("IDENTITY_MAX_BIRTH_DATES_PER_CUSTOMER", 3)
    )
    # An email or phone held by more people than this links nobody (customer360.identity.households).
    identity_max_people_per_value: int = field(
        default_factory=lambda: _env_int("IDENTITY_MAX_PEOPLE_PER_VALUE", 6)
    )
    late_arrival_days: int = field(default_factory=lambda: _env_int("LATE_ARRIVAL_DAYS", 400))

    # Ingest limits (docs/landing-contract.md, "Limits"): a value longer than ``ingest_max_field_chars`` or
    # a line longer than ``ingest_max_line_chars`` quarantines its record; a file larger than
    # ``ingest_max_file_bytes`` is refused. Each message names the setting and its value.
    ingest_max_field_chars: int = field(
        default_factory=lambda: _env_int("INGEST_MAX_FIELD_CHARS", DEFAULT_INGEST_MAX_FIELD_CHARS)
    )
    ingest_max_line_chars: int = field(
        default_factory=lambda: _env_int("INGEST_MAX_LINE_CHARS", DEFAULT_INGEST_MAX_LINE_CHARS)
    )
    ingest_max_file_bytes: int = field(
        default_factory=lambda: _env_int("INGEST_MAX_FILE_BYTES", DEFAULT_INGEST_MAX_FILE_BYTES)
    )

    # Differentiate
    rfm_window_days: int = field(default_factory=lambda: _env_int("RFM_WINDOW_DAYS", 365))
    tier_a_share: float = field(default_factory=lambda: _env_float("TIER_A_SHARE", 0.80))
    tier_b_share: float = field(default_factory=lambda: _env_float("TIER_B_SHARE", 0.15))
    gold_share: float = field(default_factory=lambda: _env_float("GOLD_SHARE", 0.05))
    churn_horizon_days: int = field(default_factory=lambda: _env_int("CHURN_HORIZON_DAYS", 90))
    # 0: train on every labelled customer
    churn_max_training_customers: int = field(
        default_factory=lambda: _env_int("CHURN_MAX_TRAINING_CUSTOMERS", 200_000)
    )
    clv_discount_rate: float = field(default_factory=lambda: _env_float("CLV_DISCOUNT_RATE", 0.10))
    # Model artefacts (customer360.model_artifacts): where the fitted churn and CLV models are kept, and how
    # often they are refitted. Refit dates fall every model_refit_days days on a fixed calendar, so a date's
    # model is the same whatever ran before it.
    model_dir: Path | None = None
    model_refit_days: int = field(default_factory=lambda: _env_int("MODEL_REFIT_DAYS", 7))
    # Length of the holdout of the CLV validation run at each refit (calibration ends this many days earlier).
    clv_holdout_days: int = field(default_factory=lambda: _env_int("CLV_HOLDOUT_DAYS", 90))

    # Interact
    default_sla_hours: int = field(default_factory=lambda: _env_int("DEFAULT_SLA_HOURS", 24))

    # Publishing
    keep_snapshots: int = field(default_factory=lambda: _env_int("KEEP_SNAPSHOTS", 7))
    # A run for a date older than the current snapshot's leaves that snapshot current (BI does not move back
    # in time) unless this is set (``customer360 run --publish-older``): docs/operations.md.
    publish_older: bool = field(default_factory=lambda: _env_bool("PUBLISH_OLDER", False))
    # DuckDB storage version of the published snapshot: the oldest DuckDB release that must open it. The
    # default v1.0.0 (storage format 64) opens in every DuckDB CLI from 0.10 to 1.5 as well as 2.x, and
    # keeps every type the marts use; "latest" writes DuckDB 2.0's format, which DuckDB 1.x cannot read.
    snapshot_storage_version: str = field(
        default_factory=lambda: _env("SNAPSHOT_STORAGE_VERSION", DEFAULT_SNAPSHOT_STORAGE_VERSION)
    )
    pseudonym_salt: str = field(default_factory=lambda: _env("PSEUDONYM_SALT", "customer360-dev-salt"))

    # Activation (reverse ETL, docs/activation.md): the audience file, where the activation state and the
    # file outbox live (default <home>/activation, <home>/outbox), the webhook and PostgreSQL destinations'
    # endpoints (a destination whose endpoint is empty is skipped), and the webhook's batching, retries and
    # rate limit (requests per second; 0: no limit).
    activation_file: Path | None = None
    activation_dir: Path | None = None
    outbox_dir: Path | None = None
    activation_webhook_url: str = field(default_factory=lambda: _env("ACTIVATION_WEBHOOK_URL", ""))
    activation_postgres_url: str = field(default_factory=lambda: _env("ACTIVATION_POSTGRES_URL", ""))
    activation_webhook_batch_size: int = field(
        default_factory=lambda: _env_int("ACTIVATION_WEBHOOK_BATCH_SIZE", 500)
    )
    activation_webhook_max_attempts: int = field(
        default_factory=lambda: _env_int("ACTIVATION_WEBHOOK_MAX_ATTEMPTS", 5)
    )
    activation_webhook_backoff_seconds: float = field(
        default_factory=lambda: _env_float("ACTIVATION_WEBHOOK_BACKOFF_SECONDS", 1.0)
    )
    activation_webhook_max_backoff_seconds: float = field(
        default_factory=lambda: _env_float("ACTIVATION_WEBHOOK_MAX_BACKOFF_SECONDS", 60.0)
    )
    activation_webhook_timeout_seconds: float = field(
        default_factory=lambda: _env_float("ACTIVATION_WEBHOOK_TIMEOUT_SECONDS", 10.0)
    )
    activation_webhook_rate_per_second: float = field(
        default_factory=lambda: _env_float("ACTIVATION_WEBHOOK_RATE_PER_SECOND", 5.0)
    )
    # Lineage (docs/lineage.md): OpenLineage events of every Airflow task and dbt model, written to
    # ``<run dir>/openlineage/events.jsonl``; also sent to an OpenLineage HTTP endpoint (Marquez) when a URL
    # is set (CUSTOMER360_OPENLINEAGE_URL, else OpenLineage's own OPENLINEAGE_URL). Nothing else is contacted.
    lineage_enabled: bool = field(default_factory=lambda: _env_bool("LINEAGE_ENABLED", True))
    openlineage_url: str = field(
        default_factory=lambda: _env("OPENLINEAGE_URL", os.environ.get("OPENLINEAGE_URL", ""))
    )
    openlineage_namespace: str = field(default_factory=lambda: _env("OPENLINEAGE_NAMESPACE", "customer360"))

    def __post_init__(self) -> None:
        # Paths that default to places under ``home`` unless their own variable is set.
        derived = {
            "landing_root": ("LANDING_ROOT", self.home / "landing"),
            "warehouse_path": ("WAREHOUSE_PATH", self.home / "warehouse" / "customer360.duckdb"),
            "published_dir": ("PUBLISHED_DIR", self.home / "published"),
            "runs_dir": ("RUNS_DIR", self.home / "runs"),
            "model_dir": ("MODEL_DIR", self.home / "models"),
            "identity_model_dir": ("IDENTITY_MODEL_DIR", self.home / "models" / "identity"),
            "channels_file": ("CHANNELS_FILE", self.project_dir / "config" / "channels.yml"),
            "activation_file": ("ACTIVATION_FILE", self.project_dir / "config" / "audiences.yml"),
            "activation_dir": ("ACTIVATION_DIR", self.home / "activation"),
            "outbox_dir": ("OUTBOX_DIR", self.home / "outbox"),
            "spark_dir": ("SPARK_DIR", self.home / "spark"),
        }
        for attr, (env_name, default) in derived.items():
            if getattr(self, attr) is None:
                object.__setattr__(self, attr, _env_path(env_name, default))
        if self.target not in TARGETS:
            raise ValueError(
                f"{ENV_PREFIX}TARGET must be one of {', '.join(map(repr, TARGETS))}, not {self.target!r}"
            )
        if self.spark_method not in SPARK_METHODS:
            raise ValueError(
                f"{ENV_PREFIX}SPARK_METHOD must be one of {', '.join(map(repr, SPARK_METHODS))}, "
                f"not {self.spark_method!r}"
            )
        if self.schedule_end is not None and self.schedule_end < self.schedule_start:
            raise ValueError(
                f"{ENV_PREFIX}SCHEDULE_END ({self.schedule_end}) is before {ENV_PREFIX}SCHEDULE_START "
                f"({self.schedule_start})"
            )
        if not _STORAGE_VERSION.fullmatch(self.snapshot_storage_version):
            raise ValueError(
                f"{ENV_PREFIX}SNAPSHOT_STORAGE_VERSION={self.snapshot_storage_version!r} is not a DuckDB "
                "version such as v1.0.0 (or latest)"
            )
        for limit in ("ingest_max_field_chars", "ingest_max_line_chars", "ingest_max_file_bytes"):
            if getattr(self, limit) < 1:
                raise ValueError(f"{ENV_PREFIX}{limit.upper()} must be a positive whole number")
        if self.model_refit_days < 1:
            raise ValueError(f"{ENV_PREFIX}MODEL_REFIT_DAYS must be at least 1, not {self.model_refit_days}")
        if self.clv_holdout_days < 1:
            raise ValueError(f"{ENV_PREFIX}CLV_HOLDOUT_DAYS must be at least 1, not {self.clv_holdout_days}")
        if self.activation_webhook_batch_size < 1 or self.activation_webhook_max_attempts < 1:
            raise ValueError(
                f"{ENV_PREFIX}ACTIVATION_WEBHOOK_BATCH_SIZE and {ENV_PREFIX}ACTIVATION_WEBHOOK_MAX_ATTEMPTS "
                "must be at least 1"
            )
        if self.activation_webhook_rate_per_second < 0:
            raise ValueError(f"{ENV_PREFIX}ACTIVATION_WEBHOOK_RATE_PER_SECOND must be 0 (no limit) or more")
        if not 0 < self.tier_a_share < 1 or not 0 < self.tier_b_share < 1:
            raise ValueError("tier shares must lie between 0 and 1")
        if self.tier_a_share + self.tier_b_share >= 1:
            raise ValueError(
                f"{ENV_PREFIX}TIER_A_SHARE + {ENV_PREFIX}TIER_B_SHARE must stay below 1 (C takes the rest)"
            )

    # Well-known places -------------------------------------------------------------------------
    @property
    def dbt_project_dir(self) -> Path:
        return self.project_dir / "dbt_project"

    @property
    def expectations_dir(self) -> Path:
        return self.project_dir / "expectations"

    @property
    def dags_dir(self) -> Path:
        return self.project_dir / "dags"

    @property
    def airflow_home(self) -> Path:
        return _env_path("AIRFLOW_HOME", self.home / "airflow")

    @property
    def dbt_target(self) -> str:
        """The output of dbt_project/profiles.yml to build with: the target's name, and on Spark the
        connection method's (``spark`` for the in-process session, ``spark_thrift``, ``spark_http``)."""
        if self.target == "spark" and self.spark_method != "session":
            return f"spark_{self.spark_method}"
        return self.target

    def run_dir(self, logical_date: str) -> Path:
        """Where one logical date's quality results, summary and report go."""
        return self.runs_dir / logical_date

    def dbt_env(self) -> dict[str, str]:
        """Environment for dbt: profiles.yml reads only these variables."""
        from urllib.parse import unquote, urlsplit

        pg = urlsplit(self.postgres_url)
        return {
            "CUSTOMER360_TARGET": self.target,
            "CUSTOMER360_WAREHOUSE_PATH": str(self.warehouse_path),
            # What profiles.yml opens: the file's name, in its folder (dbt_runner.in_warehouse_folder).
            "CUSTOMER360_WAREHOUSE_FILE": self.warehouse_path.name,
            "CUSTOMER360_DUCKDB_THREADS": str(self.duckdb_threads),
            "CUSTOMER360_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
            # The storage version of the marts' own file (profiles.yml's attach), copied as the snapshot.
            "CUSTOMER360_SNAPSHOT_STORAGE_VERSION": self.snapshot_storage_version,
            "CUSTOMER360_PG_HOST": pg.hostname or "127.0.0.1",
            "CUSTOMER360_PG_PORT": str(pg.port or 5432),
            "CUSTOMER360_PG_USER": unquote(pg.username or "postgres"),
            "CUSTOMER360_PG_PASSWORD": unquote(pg.password or ""),
            "CUSTOMER360_PG_DBNAME": (pg.path or "/customer360").lstrip("/") or "customer360",
            "CUSTOMER360_SPARK_MASTER": self.spark_master,
            "CUSTOMER360_SPARK_DIR": str(self.spark_dir),
            "CUSTOMER360_SPARK_HOST": self.spark_host,
            "CUSTOMER360_SPARK_PORT": str(self.spark_port),
        }

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "pseudonym_salt"}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests build their own ``Settings(...)`` instead."""
    return Settings()
