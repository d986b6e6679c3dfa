"""The models stage of a daily run (CLV, then churn) and its overview table ``analytics.model_runs``.

A model that cannot fit never fails the run. Each model runs on its own; when it raises, the stage records
it as 'failed' with the error as the reason, deletes the date's rows of that model's output tables (so the
marts publish with the model's columns null, never yesterday's numbers under today's date), and goes on:
the churn model after a CLV failure, the marts and the report after either.

``analytics.model_runs`` has one row per model per run (per as-of date: a rerun replaces the date's rows):
model (pareto_nbd, gamma_gamma, churn), version (``customer360.model_artifacts``), status ('fitted': fitted in
this run at its refit date; 'reused': the refit date's artefact was used unchanged; 'skipped': too little
data to fit, the documented fallback scores; 'failed': the model raised, its columns are null), reason,
training window, data fingerprint and metrics (JSON). The run summary and the run report show it.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from customer360 import model_artifacts
from customer360.model_tables import replace_tables
from customer360.settings import Settings

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

ANALYTICS_SCHEMA = "analytics"
MODEL_RUNS_TABLE = f"{ANALYTICS_SCHEMA}.model_runs"
CLV_MODELS = ("pareto_nbd", "gamma_gamma")
CHURN_MODEL = "churn"

MODEL_RUNS_DDL = f"""
create table if not exists {MODEL_RUNS_TABLE} (
    run_id varchar not null,
    as_of_date date not null,
    model varchar not null,
    version varchar,
    status varchar not null,
    reason varchar,
    refit_date date,
    training_window_start date,
    training_window_end date,
    data_fingerprint varchar,
    metrics json
)
"""


def failed_row(model: str, exc: BaseException, refit: date | None) -> dict[str, Any]:
    return {
        "model": model,
        "version": None,
        "status": model_artifacts.STATUS_FAILED,
        "reason": f"{type(exc).__name__}: {exc}",
        "refit_date": refit,
        "training_window_start": None,
        "training_window_end": None,
        "data_fingerprint": None,
        "metrics": {},
    }


def model_runs_table(run_id: str, as_of_date: date, rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    def column(name: str, kind: pa.DataType) -> pa.Array:
        return pa.array([row.get(name) for row in rows], kind)

    return pa.table(
        {
            "run_id": pa.array([run_id] * len(rows), pa.string()),
            "as_of_date": pa.array([as_of_date] * len(rows), pa.date32()),
            "model": column("model", pa.string()),
            "version": column("version", pa.string()),
            "status": column("status", pa.string()),
            "reason": pa.array([row.get("reason") or None for row in rows], pa.string()),
            "refit_date": column("refit_date", pa.date32()),
            "training_window_start": column("training_window_start", pa.date32()),
            "training_window_end": column("training_window_end", pa.date32()),
            "data_fingerprint": column("data_fingerprint", pa.string()),
            "metrics": pa.array(
                [
                    json.dumps(model_artifacts.json_safe(row.get("metrics") or {}), sort_keys=True)
                    for row in rows
                ],
                pa.string(),
            ),
        }
    )


def _clear(
    con: duckdb.DuckDBPyConnection, as_of_date: date, ddl: tuple[str, ...], tables: tuple[str, ...]
) -> None:
    replace_tables(con, as_of_date, ddl, dict.fromkeys(tables))


def clear_clv(settings: Settings, as_of_date: date) -> None:
    """Delete the date's CLV predictions, runs and validation rows (the tables exist afterwards)."""
    from customer360.clv import stage as clv_stage
    from customer360.warehouse import stage_connection

    with stage_connection(
        settings, push=(ANALYTICS_SCHEMA,), push_key="as_of_date", push_key_values=(as_of_date,)
    ) as con:
        _clear(
            con,
            as_of_date,
            (clv_stage.PREDICTIONS_DDL, clv_stage.RUNS_DDL, clv_stage.VALIDATION_DDL),
            (clv_stage.PREDICTIONS_TABLE, clv_stage.RUNS_TABLE, clv_stage.VALIDATION_TABLE),
        )


def clear_churn(settings: Settings, as_of_date: date) -> None:
    """Delete the date's churn predictions and runs (the tables exist afterwards)."""
    from customer360.churn import stage as churn_stage
    from customer360.warehouse import stage_connection

    with stage_connection(
        settings, push=(ANALYTICS_SCHEMA,), push_key="as_of_date", push_key_values=(as_of_date,)
    ) as con:
        _clear(
            con,
            as_of_date,
            (churn_stage.PREDICTIONS_DDL, churn_stage.PREDICTIONS_MIGRATION, churn_stage.RUNS_DDL),
            (churn_stage.PREDICTIONS_TABLE, churn_stage.RUNS_TABLE),
        )


def record(con: duckdb.DuckDBPyConnection, as_of_date: date, run_id: str, rows: list[dict[str, Any]]) -> None:
    """Replace the date's ``analytics.model_runs`` rows of the models in ``rows`` (other models keep theirs:
    the CLV and churn stages each record their own)."""
    con.execute(f"create schema if not exists {ANALYTICS_SCHEMA}")
    con.execute(MODEL_RUNS_DDL)
    models = sorted({row["model"] for row in rows})
    if not models:
        return
    batch = model_runs_table(run_id, as_of_date, rows)
    con.register("model_runs_batch", batch)
    try:
        con.execute("begin transaction")
        con.execute(
            f"delete from {MODEL_RUNS_TABLE} where as_of_date = ? "
            f"and model in ({', '.join('?' * len(models))})",
            [as_of_date, *models],
        )
        con.execute(f"insert into {MODEL_RUNS_TABLE} by name select * from model_runs_batch")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("model_runs_batch")


def write_model_runs(settings: Settings, as_of_date: date, run_id: str, rows: list[dict[str, Any]]) -> None:
    from customer360.warehouse import stage_connection

    # on PostgreSQL the other models' rows of the date come along, or the push (by date) would drop them
    with stage_connection(
        settings,
        pull=(MODEL_RUNS_TABLE,),
        push=(ANALYTICS_SCHEMA,),
        push_key="as_of_date",
        push_key_values=(as_of_date,),
    ) as con:
        record(con, as_of_date, run_id, rows)


def run_models(settings: Settings, as_of_date: date, run_id: str) -> dict[str, Any]:
    """The models stage: CLV, then churn, each recorded in the run folder's progress as ``models:clv`` and
    ``models:churn``; returns both stages' details and the model_runs rows."""
    from customer360.churn import stage as churn_stage
    from customer360.churn.warehouse_features import load_features
    from customer360.clv import stage as clv_stage
    from customer360.progress import stage

    run_dir = settings.run_dir(as_of_date.isoformat())
    refit = model_artifacts.refit_date(as_of_date, settings.model_refit_days)
    rows: list[dict[str, Any]] = []
    with stage(run_dir, "models:clv", run_id) as clv_detail:
        try:
            clv_detail.update(clv_stage.run(settings, as_of_date, run_id))
            rows += clv_detail["model_runs"]
        except Exception as exc:  # noqa: BLE001 - a model that cannot fit never fails the run
            log.exception("the CLV models failed for %s; their columns are null in the marts", as_of_date)
            clear_clv(settings, as_of_date)
            failed = [failed_row(model, exc, refit) for model in CLV_MODELS]
            write_model_runs(settings, as_of_date, run_id, failed)
            clv_detail.update(
                {"model_status": "failed", "message": failed[0]["reason"], "model_runs": failed}
            )
            rows += failed
    with stage(run_dir, "models:churn", run_id) as churn_detail:
        try:
            features = load_features(settings, as_of_date, refit)
            churn_detail.update(churn_stage.run(settings, as_of_date, run_id, features, refit))
            rows += churn_detail["model_runs"]
        except Exception as exc:  # noqa: BLE001 - a model that cannot fit never fails the run
            log.exception("the churn model failed for %s; its columns are null in the marts", as_of_date)
            clear_churn(settings, as_of_date)
            failed = [failed_row(CHURN_MODEL, exc, refit)]
            write_model_runs(settings, as_of_date, run_id, failed)
            churn_detail.update({"status": "failed", "message": failed[0]["reason"], "model_runs": failed})
            rows += failed
    return {"clv": clv_detail, "churn": churn_detail, "model_runs": rows}
