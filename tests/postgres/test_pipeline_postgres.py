"""The whole pipeline on PostgreSQL publishes the same marts as on DuckDB, from the same landing files.

GIVEN 45 days of generated landing data for 300 customers, WHEN every stage runs in DAG order in-process once
with the DuckDB target and once with the PostgreSQL target (separate homes, same landing root and salt), THEN
both publish the same marts with the same rows (floats within 1e-6, relative or absolute; model_runs'
metrics without the wall-clock fit_seconds, which differ between any two runs).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from customer360 import pipeline
from customer360.landing.contract import CHANNELS
from customer360.settings import Settings
from tests.support.value_equality import same_value

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

AS_OF = date(2026, 11, 20)
RUN_ID = "parity"
FLOAT_TOLERANCE = 1e-6
SALT = "parity-test-salt"


def run_pipeline(settings: Settings) -> dict[str, float]:
    """Every stage of one daily run, in the DAG's order; returns seconds per stage."""
    seconds: dict[str, float] = {}

    def timed(name: str, call, *args) -> None:
        started = time.perf_counter()
        call(*args, settings=settings)
        seconds[name] = round(time.perf_counter() - started, 2)

    for channel in CHANNELS:
        timed(f"ingest:{channel}", pipeline.ingest, channel, AS_OF, RUN_ID)
    timed("validate:raw", pipeline.validate, "raw", AS_OF, RUN_ID)
    timed("dbt:staging", pipeline.build_layer, "staging", AS_OF, RUN_ID)
    timed("validate:staging", pipeline.validate, "staging", AS_OF, RUN_ID)
    timed("identity", pipeline.resolve_identity, AS_OF, RUN_ID)
    timed("dbt:core", pipeline.build_layer, "core", AS_OF, RUN_ID)
    timed("models", pipeline.fit_models, AS_OF, RUN_ID)
    timed("dbt:analytics", pipeline.build_layer, "analytics", AS_OF, RUN_ID)
    timed("validate:marts", pipeline.validate, "marts", AS_OF, RUN_ID)
    timed("publish", pipeline.publish, AS_OF, RUN_ID)
    return seconds


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from customer360_dev.datagen.generate import generate

    root = tmp_path_factory.mktemp("parity") / "landing"
    generate(root, customers=300, days=45, seed=5, end_date=AS_OF)
    return root


@pytest.fixture(scope="module")
def published(
    landing: Path, postgres_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Path]]:
    """Run the pipeline on both targets; yields each target's published marts database."""
    databases: dict[str, Path] = {}
    timings: dict[str, dict[str, float]] = {}
    for target in ("duckdb", "postgres"):
        home = tmp_path_factory.mktemp(f"home_{target}")
        # Every path explicit: dbt_runner exports CUSTOMER360_WAREHOUSE_PATH into this process's environment,
        # and a Settings built after it would otherwise share the first run's DuckDB file.
        settings = Settings(
            home=home,
            warehouse_path=home / "warehouse" / "customer360.duckdb",
            published_dir=home / "published",
            runs_dir=home / "runs",
            landing_root=landing,
            target=target,
            postgres_url=postgres_database_url,
            pseudonym_salt=SALT,
        )
        timings[target] = run_pipeline(settings)
        databases[target] = settings.published_dir / "current" / "marts.duckdb"
    for target, seconds in timings.items():
        print(f"\n{target}: {sum(seconds.values()):.1f}s in total; {seconds}")
    yield databases


def _tables(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()]
        return {name: con.execute(f'select count(*) from "{name}"').fetchone()[0] for name in names}


def _plain(value: Any) -> Any:
    """One value in a form both engines' results compare in (decimals and floats as float, times as text)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(tz=None).replace(tzinfo=None).isoformat()
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)  # an array arrives from PostgreSQL as its text form
    return value


def _sort_key(row: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("~" if v is None else (f"{v:.5e}" if isinstance(v, float) else str(v)) for v in row)


# Wall-clock timings a run logs in model_runs.metrics: they differ between any two runs, whatever the target.
TIMING_METRICS = ("fit_seconds",)


def _without_timings(metrics: Any) -> Any:
    """model_runs.metrics (JSON text) without the wall-clock timings; every other metric is compared."""
    if not isinstance(metrics, str):
        return metrics
    values = json.loads(metrics)
    if isinstance(values, dict):
        values = {key: value for key, value in values.items() if key not in TIMING_METRICS}
    return json.dumps(values, sort_keys=True)


def _rows(path: Path, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute("set timezone = 'UTC'")
        result = con.execute(f'select * from "{table}"')
        columns = [d[0] for d in result.description]
        rows = [tuple(_plain(v) for v in row) for row in result.fetchall()]
    if table == "model_runs" and "metrics" in columns:
        at = columns.index("metrics")
        rows = [(*row[:at], _without_timings(row[at]), *row[at + 1 :]) for row in rows]
    return columns, sorted(rows, key=_sort_key)


def _same(a: Any, b: Any) -> bool:
    return same_value(a, b, FLOAT_TOLERANCE)


def test_given_the_same_landing_files_when_run_on_duckdb_and_on_postgres_then_every_published_mart_matches(
    published: dict[str, Path],
) -> None:
    on_duckdb, on_postgres = _tables(published["duckdb"]), _tables(published["postgres"])
    assert on_duckdb, "the DuckDB run published no marts"
    assert on_postgres == on_duckdb, "published marts or their row counts differ between the targets"
    differences: list[str] = []
    for table in sorted(on_duckdb):
        columns_d, rows_d = _rows(published["duckdb"], table)
        columns_p, rows_p = _rows(published["postgres"], table)
        assert columns_p == columns_d, f"{table}: columns differ"
        for row_d, row_p in zip(rows_d, rows_p, strict=True):
            unequal = [
                f"{c}: duckdb={a!r} postgres={b!r}"
                for c, a, b in zip(columns_d, row_d, row_p, strict=True)
                if not _same(a, b)
            ]
            if unequal:
                differences.append(f"{table} row {dict(zip(columns_d, row_d, strict=True))}: {unequal}")
                break  # one row per table is enough to see the cause
    assert not differences, "marts differ between DuckDB and PostgreSQL:\n" + "\n".join(differences)


def test_given_the_postgres_run_then_its_published_snapshot_holds_rows_in_every_core_mart(
    published: dict[str, Path],
) -> None:
    tables = _tables(published["postgres"])
    for mart in ("dim_customers", "fct_orders", "customer_rfm"):
        assert tables.get(mart, 0) > 0, f"marts.{mart} is missing or empty in the PostgreSQL run's snapshot"
