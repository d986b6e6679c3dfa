"""The CLV stage of the daily run: purchase days in the warehouse to ``analytics.customer_clv_predictions``.

The parameters of a run for date D are those of D's refit date R (``customer360.model_artifacts``: every
``Settings.model_refit_days`` days on a fixed calendar): Pareto/NBD and Gamma-Gamma fitted by maximum
likelihood on ``intermediate.int_customer_purchase_days`` up to R (the training window: every purchase day
on or before R), saved as R's artefact with the data fingerprint, the fit diagnostics and the holdout
validation (``customer360.clv.validation``), and reused unchanged by every later run until the next refit
date (refitted earlier only when the purchase days up to R changed: late data). The
customers' own histories up to D (never the clock) then give the predictions. In one transaction the stage
replaces D's predictions, model-run rows and validation rows, so a retry or a backfill of the same date
leaves the same tables, whatever ran before.
"""

from __future__ import annotations

import json
import math
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from customer360 import model_artifacts
from customer360.clv import gamma_gamma, pareto_nbd
from customer360.clv.fit import MIN_REPEAT_CUSTOMERS, ClvModels, fit_models
from customer360.clv.mle import ModelFit
from customer360.clv.predict import predict
from customer360.clv.summary import CustomerSummary, summarize
from customer360.model_runs import MODEL_RUNS_TABLE
from customer360.model_runs import record as record_model_runs
from customer360.model_tables import replace_as_of_date_rows
from customer360.settings import Settings

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

ANALYTICS_SCHEMA = "analytics"
SOURCE_TABLE = "intermediate.int_customer_purchase_days"
PREDICTIONS_TABLE = f"{ANALYTICS_SCHEMA}.customer_clv_predictions"
RUNS_TABLE = f"{ANALYTICS_SCHEMA}.clv_model_runs"
VALIDATION_TABLE = f"{ANALYTICS_SCHEMA}.clv_validation"
ARTEFACT_MODEL = "clv"
# The model specification an artefact must match to be reused.
SPEC = f"pareto_nbd+gamma_gamma;mle=L-BFGS-B;min_repeat_customers={MIN_REPEAT_CUSTOMERS};unit=days"

VALIDATION_DDL = f"""
create table if not exists {VALIDATION_TABLE} (
    as_of_date date not null,
    model_version varchar not null,
    refit_date date not null,
    calibration_end date not null,
    holdout_end date not null,
    curve varchar not null,
    x_label varchar not null,
    x_value integer not null,
    n_customers bigint,
    actual double,
    predicted double,
    relative_error double
)
"""

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
    con: duckdb.DuckDBPyConnection,
    as_of_date: date,
    predictions: pa.Table,
    runs: list[tuple[Any, ...]],
    validation: pa.Table | None = None,
) -> None:
    """Replace ``as_of_date``'s predictions, model runs and validation rows in one transaction."""
    replace_as_of_date_rows(
        con,
        as_of_date,
        (PREDICTIONS_DDL, RUNS_DDL, VALIDATION_DDL),
        PREDICTIONS_TABLE,
        predictions,
        RUNS_TABLE,
        runs,
        {VALIDATION_TABLE: validation if validation is not None else validation_table(as_of_date, None, [])},
    )


def load_summary(con: duckdb.DuckDBPyConnection, as_of_date: date, settings: Settings) -> CustomerSummary:
    if not table_exists(con, SOURCE_TABLE):
        raise LookupError(
            f"{SOURCE_TABLE} is missing from the warehouse {settings.warehouse_path}: build the dbt marts "
            "(customer360.dbt.build('marts')) for this date before the CLV stage"
        )
    return summarize(con, SOURCE_TABLE, as_of_date)


def summary_fingerprint(summary: CustomerSummary) -> str:
    """The training data's fingerprint: every customer's (x, t_x, T, spend, margin share), without ids."""
    import pandas as pd

    return model_artifacts.data_fingerprint(
        pd.DataFrame(
            {
                "frequency": summary.frequency,
                "recency_days": summary.recency_days,
                "tenure_days": summary.tenure_days,
                "repeat_avg_spend": summary.repeat_avg_spend,
                "avg_purchase_day_spend": summary.avg_purchase_day_spend,
            }
        )
    )


def _fit_record(fit: ModelFit) -> dict[str, Any]:
    return {
        "status": fit.status,
        "params": fit.params,
        "log_likelihood": fit.log_likelihood,
        "n_customers": fit.n_customers,
        "fit_seconds": fit.fit_seconds,
        "converged": fit.converged,
        "iterations": fit.iterations,
        "message": fit.message,
    }


def _fit_from_record(model: str, record: dict[str, Any]) -> ModelFit:
    def number(value: Any) -> float:
        return float("nan") if value is None else float(value)

    return ModelFit(
        model=model,
        params={name: float(value) for name, value in (record.get("params") or {}).items()},
        log_likelihood=number(record.get("log_likelihood")),
        n_customers=int(record.get("n_customers") or 0),
        fit_seconds=0.0,
        converged=bool(record.get("converged")),
        iterations=int(record.get("iterations") or 0),
        status=str(record.get("status")),
        message=str(record.get("message") or ""),
    )


def validation_table(
    as_of_date: date, artefact: model_artifacts.Artefact | None, rows: list[dict]
) -> pa.Table:
    """The validation rows of an artefact as ``analytics.clv_validation`` rows for ``as_of_date``."""
    import pyarrow as pa

    note = artefact.metrics.get("validation", {}) if artefact is not None else {}
    n = len(rows)

    def repeat(value: Any, kind: pa.DataType) -> pa.Array:
        return pa.array([value] * n, kind)

    def column(name: str, kind: pa.DataType) -> pa.Array:
        return pa.array([row[name] for row in rows], kind)

    def day(text: str | None) -> date | None:
        return date.fromisoformat(text) if text else None

    return pa.table(
        {
            "as_of_date": repeat(as_of_date, pa.date32()),
            "model_version": repeat(artefact.version if artefact else None, pa.string()),
            "refit_date": repeat(artefact.refit_date if artefact else None, pa.date32()),
            "calibration_end": repeat(day(note.get("calibration_end")), pa.date32()),
            "holdout_end": repeat(day(note.get("holdout_end")), pa.date32()),
            "curve": column("curve", pa.string()),
            "x_label": column("x_label", pa.string()),
            "x_value": column("x_value", pa.int32()),
            "n_customers": column("n_customers", pa.int64()),
            "actual": column("actual", pa.float64()),
            "predicted": column("predicted", pa.float64()),
            "relative_error": column("relative_error", pa.float64()),
        }
    )


def fit_artefact(
    con: duckdb.DuckDBPyConnection, settings: Settings, summary: CustomerSummary, run_id: str
) -> tuple[model_artifacts.Artefact, ClvModels]:
    """Fit R's models on ``summary`` (the purchase days up to R = its observation end), validate them on a
    holdout, describe them as R's artefact (the validation rows are kept in its metrics)."""
    from customer360.clv.validation import validate

    refit = summary.observation_end
    models = fit_models(summary)
    try:
        rows, note = validate(con, SOURCE_TABLE, refit, settings.clv_holdout_days)
    except Exception as exc:  # noqa: BLE001 - a validation that cannot run is recorded, never fatal
        rows, note = [], {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    fitted = [fit for fit in models.fits if fit.fitted]
    artefact = model_artifacts.Artefact(
        model=ARTEFACT_MODEL,
        spec=SPEC,
        refit_date=refit,
        training_window_start=None,
        training_window_end=refit,
        data_fingerprint=summary_fingerprint(summary),
        seed=None,  # maximum likelihood from a fixed start: deterministic without a seed
        metrics={
            "n_customers": summary.n_customers,
            "n_repeat_customers": summary.n_repeat_customers,
            "log_likelihood": {fit.model: fit.log_likelihood for fit in models.fits},
            "validation": note,
            "validation_rows": [row.as_dict() for row in rows],
        },
        parameters={fit.model: _fit_record(fit) for fit in models.fits},
        status=model_artifacts.STATUS_FITTED if fitted else model_artifacts.STATUS_SKIPPED,
        reason=models.message if len(fitted) < len(models.fits) else "",
        fitted_by_run=run_id,
    )
    return artefact, models


def load_artefact(
    settings: Settings, refit: date, fingerprint: str
) -> tuple[model_artifacts.Artefact, ClvModels] | None:
    found = model_artifacts.load(settings, ARTEFACT_MODEL, refit, fingerprint, SPEC)
    if found is None:
        return None
    artefact, _ = found
    try:
        models = ClvModels(
            purchases=_fit_from_record(pareto_nbd.MODEL_NAME, artefact.parameters[pareto_nbd.MODEL_NAME]),
            gamma_gamma=_fit_from_record(gamma_gamma.MODEL_NAME, artefact.parameters[gamma_gamma.MODEL_NAME]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return artefact, models


def model_run_rows(
    artefact: model_artifacts.Artefact, models: ClvModels, reused: bool
) -> list[dict[str, Any]]:
    """One ``analytics.model_runs`` row per CLV model (``customer360.model_runs``)."""
    validation = artefact.metrics.get("validation", {})
    rows = []
    for fit in models.fits:
        if fit.fitted:
            status = model_artifacts.STATUS_REUSED if reused else model_artifacts.STATUS_FITTED
            reason = ""
        else:
            status, reason = model_artifacts.STATUS_SKIPPED, fit.message
        metrics: dict[str, Any] = {
            "log_likelihood": fit.log_likelihood,
            "n_customers": fit.n_customers,
            "iterations": fit.iterations,
            "params": fit.params,
        }
        if fit.model == pareto_nbd.MODEL_NAME:
            metrics["holdout_relative_error"] = validation.get("relative_error")
            metrics["holdout_days"] = validation.get("holdout_days")
        rows.append(
            {
                "model": fit.model,
                "version": artefact.version,
                "status": status,
                "reason": reason,
                "refit_date": artefact.refit_date,
                "training_window_start": artefact.training_window_start,
                "training_window_end": artefact.training_window_end,
                "data_fingerprint": artefact.data_fingerprint,
                "metrics": metrics,
            }
        )
    return rows


def run(settings: Settings, as_of_date: date | str, run_id: str) -> dict[str, Any]:
    """Predict CLV for ``as_of_date`` with its refit date's models (fitted and saved when missing); write
    that date's predictions, runs and validation rows."""
    from customer360.warehouse import stage_connection

    started = time.perf_counter()
    as_of = parse_as_of_date(as_of_date)
    refit = model_artifacts.refit_date(as_of, settings.model_refit_days)
    # On PostgreSQL: a scratch DuckDB with the purchase days; the date's analytics rows are written back.
    with stage_connection(
        settings,
        pull=(SOURCE_TABLE, MODEL_RUNS_TABLE),
        push=(ANALYTICS_SCHEMA,),
        push_key="as_of_date",
        push_key_values=(as_of,),
    ) as con:
        summary = load_summary(con, as_of, settings)
        training = summary if refit == as_of else load_summary(con, refit, settings)
        stored = load_artefact(settings, refit, summary_fingerprint(training))
        if stored is None:
            artefact, models = fit_artefact(con, settings, training, run_id)
            model_artifacts.save(settings, artefact)
        else:
            artefact, models = stored
        predictions = predict(summary, models, settings.clv_discount_rate)
        validation = validation_table(as_of, artefact, artefact.metrics.get("validation_rows", []))
        write_results(con, as_of, predictions, run_rows(run_id, as_of, models), validation)
        model_run_log = model_run_rows(artefact, models, reused=stored is not None)
        record_model_runs(con, as_of, run_id, model_run_log)
    validation_note = artefact.metrics.get("validation", {})
    return {
        "as_of_date": as_of.isoformat(),
        "run_id": run_id,
        "n_customers": summary.n_customers,
        "n_repeat_customers": summary.n_repeat_customers,
        "model_status": models.status,
        "message": models.message,
        "version": artefact.version,
        "refit_date": refit.isoformat(),
        "artefact_status": "reused" if stored is not None else "fitted",
        "models": {
            fit.model: {
                "status": fit.status,
                "params": fit.params,
                "log_likelihood": _json_number(fit.log_likelihood),
                "fit_seconds": round(fit.fit_seconds, 3),
            }
            for fit in models.fits
        },
        "holdout": {
            k: validation_note.get(k) for k in ("status", "reason", "relative_error", "holdout_days")
        },
        "rows_written": predictions.num_rows,
        "model_runs": model_run_log,
        "seconds": round(time.perf_counter() - started, 3),
    }
