"""The churn stage: backtest, train on T = as_of_date - horizon, score as of as_of_date, write ``analytics``.

Input is the feature table (``customer360.churn.features``) with rows for two feature dates: T (training,
labels from the rows of as_of_date) and as_of_date (scoring). The stage:

1. labels the purchasers of T: churned = no purchase in (T, as_of_date];
2. backtests the model on a held-out share of them next to the baseline 1 - P(alive);
3. if there is enough data and the backtested model beats the baseline's AUC, scores the purchasers of
   as_of_date with that model: score, band and top three reasons (``model_status = 'fitted'``);
   otherwise scores them with the baseline 1 - P(alive), without reasons (``model_status = 'fallback'``, the
   run's message says why);
4. replaces as_of_date's rows of ``analytics.churn_predictions`` and ``analytics.churn_model_runs`` in one
   transaction (idempotent per as_of_date).
"""

from __future__ import annotations

import json
import math
import time
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from customer360.churn.backtest import BacktestResult, backtest, evaluate
from customer360.churn.features import (
    FeatureTableError,
    labels_from_features,
    purchasers,
    validate_features,
)
from customer360.churn.model import RANDOM_SEED, bands, baseline_scores, score
from customer360.clv.commands import json_ready
from customer360.clv.stage import ANALYTICS_SCHEMA, parse_as_of_date
from customer360.model_tables import replace_as_of_date_rows
from customer360.settings import Settings

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

# Smallest training population, and smallest count of each outcome, for a model fit (candidates for Settings).
MIN_TRAIN_CUSTOMERS = 200
MIN_CUSTOMERS_PER_CLASS = 20

MODEL_NAME = "hist_gradient_boosting"
BASELINE_NAME = "baseline_1_minus_p_alive"
PREDICTIONS_TABLE = f"{ANALYTICS_SCHEMA}.churn_predictions"
RUNS_TABLE = f"{ANALYTICS_SCHEMA}.churn_model_runs"

PREDICTIONS_DDL = f"""
create table if not exists {PREDICTIONS_TABLE} (
    customer_id varchar not null,
    as_of_date date not null,
    churn_score double,
    churn_band varchar,
    top_reason_1 varchar,
    top_reason_2 varchar,
    top_reason_3 varchar,
    model_status varchar
)
"""

RUNS_DDL = f"""
create table if not exists {RUNS_TABLE} (
    run_id varchar not null,
    as_of_date date not null,
    training_date date,
    horizon_days integer,
    model varchar,
    auc double,
    precision_top_decile double,
    baseline_auc double,
    baseline_precision_top_decile double,
    n_train bigint,
    n_test bigint,
    positives_share double,
    n_scored bigint,
    fit_seconds double,
    parameters json,
    status varchar,
    message varchar
)
"""


def _finite(value: float) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _why_not_fit(y: np.ndarray) -> str | None:
    positives = int(y.sum())
    negatives = int(y.shape[0] - positives)
    if y.shape[0] < MIN_TRAIN_CUSTOMERS:
        return f"only {y.shape[0]} customers to train on (at least {MIN_TRAIN_CUSTOMERS} needed)"
    if min(positives, negatives) < MIN_CUSTOMERS_PER_CLASS:
        return (
            f"{positives} churned and {negatives} retained customers in the training data "
            f"(at least {MIN_CUSTOMERS_PER_CLASS} of each needed)"
        )
    return None


def _baseline_predictions(now: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    churn_score = baseline_scores(now)
    return pd.DataFrame(
        {
            "customer_id": now["customer_id"].to_numpy(),
            "churn_score": churn_score,
            "churn_band": bands(churn_score),
            "top_reason_1": None,
            "top_reason_2": None,
            "top_reason_3": None,
        }
    )


def build(
    features: pd.DataFrame, as_of_date: date, horizon_days: int, max_training_customers: int = 0
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Predictions for as_of_date's purchasers and the run record (without run_id), from the feature table.

    ``max_training_customers`` > 0: when T has more labelled customers, the backtest and the model use a
    stratified sample of that many (same churn share, fixed seed), and the run's message says so."""
    frame = validate_features(features)
    training_date = as_of_date - timedelta(days=horizon_days)
    rows_now = frame.loc[frame["feature_date"] == as_of_date]
    now = purchasers(rows_now)
    if now.empty:
        raise FeatureTableError(
            f"churn features: no customer with a purchase has feature_date {as_of_date}: build the feature "
            "table for the run's as_of_date first"
        )
    training = labels_from_features(frame.loc[frame["feature_date"] == training_date], rows_now, horizon_days)
    available = int(training.shape[0])
    training = training_sample(training, max_training_customers)
    y = training["churned"].to_numpy(dtype=bool)
    sampled = (
        f" (trained on a sample of {y.shape[0]:,} of {available:,} customers)"
        if y.shape[0] < available
        else ""
    )
    run: dict[str, Any] = {
        "as_of_date": as_of_date,
        "training_date": training_date,
        "horizon_days": horizon_days,
        "n_train": int(y.shape[0]),
        "positives_share": float(y.mean()) if y.size else float("nan"),
        "n_scored": int(now.shape[0]),
        "n_test": 0,
        "fit_seconds": 0.0,
        "parameters": {},
    }
    started = time.perf_counter()
    reason = _why_not_fit(y)
    result: BacktestResult | None = None
    if reason is None:
        result, model = backtest(training, y)
        run.update({key: value for key, value in result.as_dict().items() if key != "n_train"})
        if not result.beats_baseline:
            reason = (
                f"the model's backtest AUC {result.auc:.3f} does not beat the baseline 1 - P(alive) "
                f"({result.baseline_auc:.3f})"
            )
    elif y.size and 0 < y.sum() < y.shape[0]:
        auc, precision = evaluate(y, baseline_scores(training))
        run.update({"baseline_auc": auc, "baseline_precision_top_decile": precision})
    if reason is None and result is not None:
        predictions = score(model, now)
        run.update(
            {
                "model": MODEL_NAME,
                "status": "fitted",
                "message": (
                    f"backtest AUC {result.auc:.3f} vs baseline {result.baseline_auc:.3f}; "
                    f"precision in the top decile {result.precision_top_decile:.1%} "
                    f"vs {result.baseline_precision_top_decile:.1%}; fitted on {result.n_train:,} "
                    f"customers, {result.n_test:,} held out{sampled}"
                ),
                "parameters": {**model.params, "reference_values": model.reference_values},
            }
        )
    else:
        predictions = _baseline_predictions(now)
        run.update(
            {"model": BASELINE_NAME, "status": "fallback", "message": f"scored with 1 - P(alive): {reason}"}
        )
    run["fit_seconds"] = time.perf_counter() - started
    predictions.insert(1, "as_of_date", as_of_date)
    predictions["model_status"] = run["status"]
    return predictions, run


def training_sample(training: pd.DataFrame, max_customers: int) -> pd.DataFrame:
    """At most ``max_customers`` rows of ``training`` (0: all), stratified by ``churned``, in their order.

    Gradient boosting gains little from the millionth customer and its cost grows with every one; a stratified
    sample keeps the churn share, and a fixed seed keeps reruns identical."""
    if max_customers <= 0 or training.shape[0] <= max_customers:
        return training
    from sklearn.model_selection import train_test_split

    y = training["churned"].to_numpy(dtype=bool)
    rows, _ = train_test_split(
        np.arange(y.shape[0]), train_size=max_customers, stratify=y, random_state=RANDOM_SEED
    )
    return training.iloc[np.sort(rows)]


def write_results(
    con: duckdb.DuckDBPyConnection, run_id: str, predictions: pd.DataFrame, run: dict[str, Any]
) -> None:
    """Replace the run's as_of_date rows in both tables in one transaction."""
    as_of_date = run["as_of_date"]
    record = (
        run_id,
        as_of_date,
        run["training_date"],
        run["horizon_days"],
        run["model"],
        _finite(run.get("auc", float("nan"))),
        _finite(run.get("precision_top_decile", float("nan"))),
        _finite(run.get("baseline_auc", float("nan"))),
        _finite(run.get("baseline_precision_top_decile", float("nan"))),
        run["n_train"],
        run["n_test"],
        _finite(run["positives_share"]),
        run["n_scored"],
        run["fit_seconds"],
        json.dumps(json_ready(run["parameters"]), default=str, allow_nan=False),
        run["status"],
        run["message"],
    )
    replace_as_of_date_rows(
        con, as_of_date, (PREDICTIONS_DDL, RUNS_DDL), PREDICTIONS_TABLE, predictions, RUNS_TABLE, [record]
    )


def run(settings: Settings, as_of_date: date | str, run_id: str, features: pd.DataFrame) -> dict[str, Any]:
    """Train, backtest and score churn for ``as_of_date`` from ``features``; write the analytics tables."""
    from customer360.warehouse import stage_connection

    as_of = parse_as_of_date(as_of_date)
    predictions, record = build(
        features, as_of, settings.churn_horizon_days, settings.churn_max_training_customers
    )
    # On PostgreSQL: written in a scratch DuckDB, then the date's rows replace theirs in PostgreSQL.
    with stage_connection(settings, push=(ANALYTICS_SCHEMA,), push_key="as_of_date") as con:
        write_results(con, run_id, predictions, record)
    return {
        "run_id": run_id,
        **{key: value.isoformat() if isinstance(value, date) else value for key, value in record.items()},
        "bands": predictions["churn_band"].value_counts().to_dict(),
    }
