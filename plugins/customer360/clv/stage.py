"""The CLV stage of the daily run: purchase days in the warehouse to ``analytics.customer_clv_predictions``.

Reads ``intermediate.int_customer_purchase_days`` up to ``as_of_date`` (never the clock), fits BG/NBD and
Gamma-Gamma, and in one transaction replaces that date's predictions and model-run rows, so a retry or a
backfill of the same date leaves the same tables.
"""

from __future__ import annotations

import json
import math
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from customer360.clv.fit import ClvModels, fit_models
from customer360.clv.mle import ModelFit
from customer360.clv.predict import predict
from customer360.clv.summary import CustomerSummary, summarize
from customer360.model_tables import replace_as_of_date_rows
from customer360.settings import Settings

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

ANALYTICS_SCHEMA = "analytics"
SOURCE_TABLE = "intermediate.int_customer_purchase_days"
PREDICTIONS_TABLE = f"{ANALYTICS_SCHEMA}.customer_clv_predictions"
RUNS_TABLE = f"{ANALYTICS_SCHEMA}.clv_model_runs"

PREDICTIONS_DDL = f"""
create table if not exists {PREDICTIONS_TABLE} (
    customer_id varchar not null,
    as_of_date date not null,
    frequency bigint,
    recency_days bigint,
    tenure_days bigint,
    avg_order_value double,
    p_alive double,
    expected_purchases_90d double,
    expected_purchases_365d double,
    expected_avg_spend double,
    predicted_clv_12m double,
    model_status varchar
)
"""

RUNS_DDL = f"""
create table if not exists {RUNS_TABLE} (
    run_id varchar not null,
    as_of_date date not null,
    model varchar not null,
    parameters json,
    log_likelihood double,
    n_customers bigint,
    fit_seconds double,
    status varchar,
    message varchar,
    converged boolean
)
"""


def parse_as_of_date(value: date | str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"as_of_date {value!r} is not an ISO date (YYYY-MM-DD)") from exc


def table_exists(con: duckdb.DuckDBPyConnection, qualified_name: str) -> bool:
    schema, name = qualified_name.split(".", 1)
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    return bool(found[0][0])


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def run_rows(run_id: str, as_of_date: date, models: ClvModels) -> list[tuple[Any, ...]]:
    """One ``clv_model_runs`` row per model: parameters as JSON (with iterations), diagnostics, status."""

    def row(fit: ModelFit) -> tuple[Any, ...]:
        parameters = {name: _json_number(value) for name, value in fit.params.items()}
        parameters["iterations"] = fit.iterations
        return (
            run_id,
            as_of_date,
            fit.model,
            json.dumps(parameters),
            _json_number(fit.log_likelihood),
            fit.n_customers,
            fit.fit_seconds,
            fit.status,
            fit.message,
            fit.converged,
        )

    return [row(fit) for fit in models.fits]


def write_results(
    con: duckdb.DuckDBPyConnection, as_of_date: date, predictions: pa.Table, runs: list[tuple[Any, ...]]
) -> None:
    """Replace ``as_of_date``'s predictions and model runs in one transaction."""
    replace_as_of_date_rows(
        con, as_of_date, (PREDICTIONS_DDL, RUNS_DDL), PREDICTIONS_TABLE, predictions, RUNS_TABLE, runs
    )


def load_summary(con: duckdb.DuckDBPyConnection, as_of_date: date, settings: Settings) -> CustomerSummary:
    if not table_exists(con, SOURCE_TABLE):
        raise LookupError(
            f"{SOURCE_TABLE} is missing from the warehouse {settings.warehouse_path}: build the dbt marts "
            "(customer360.dbt.build('marts')) for this date before the CLV stage"
        )
    return summarize(con, SOURCE_TABLE, as_of_date)


def run(settings: Settings, as_of_date: date | str, run_id: str) -> dict[str, Any]:
    """Fit the CLV models on purchases up to ``as_of_date`` and write that date's predictions and runs."""
    from customer360.warehouse import stage_connection

    started = time.perf_counter()
    as_of = parse_as_of_date(as_of_date)
    # On PostgreSQL: a scratch DuckDB with the purchase days; the date's analytics rows are written back.
    with stage_connection(
        settings, pull=(SOURCE_TABLE,), push=(ANALYTICS_SCHEMA,), push_key="as_of_date"
    ) as con:
        summary = load_summary(con, as_of, settings)
        models = fit_models(summary)
        predictions = predict(summary, models, settings.clv_discount_rate)
        write_results(con, as_of, predictions, run_rows(run_id, as_of, models))
    return {
        "as_of_date": as_of.isoformat(),
        "run_id": run_id,
        "n_customers": summary.n_customers,
        "n_repeat_customers": summary.n_repeat_customers,
        "model_status": models.status,
        "message": models.message,
        "models": {
            fit.model: {
                "status": fit.status,
                "params": fit.params,
                "log_likelihood": _json_number(fit.log_likelihood),
                "fit_seconds": round(fit.fit_seconds, 3),
            }
            for fit in models.fits
        },
        "rows_written": predictions.num_rows,
        "seconds": round(time.perf_counter() - started, 3),
    }
