"""The churn stage: a versioned model fitted at the refit date scores as of as_of_date, into ``analytics``.

The model of a run for date D is the one of D's refit date R (``customer360.model_artifacts``: every
``Settings.model_refit_days`` days on a fixed calendar, weekly by default). Its documented window: features as
of T = R - horizon (data up to T), labels from (T, R] (churned = no purchase day in it); the purchasers of T
in a canonical order (by their feature values and label, never by customer id, so another numbering of the
same customers gives the same model), at most ``churn_max_training_customers`` of them (stratified sample,
fixed seed). Input is the feature table (``customer360.churn.features``) with rows for T, R and D.

At a refit the stage:

1. labels the purchasers of T;
2. backtests the model on a held-out share of them against three baselines (``customer360.churn.baselines``:
   recency, the Pareto/NBD probability of no purchase in the horizon, the RFM score);
3. keeps the model only when its AUC beats all three; otherwise it keeps the best baseline, calibrated to a
   probability on T's labels (the reason is recorded); with too little data to fit (fewer than
   MIN_TRAIN_CUSTOMERS, or fewer than MIN_CUSTOMERS_PER_CLASS of an outcome) it keeps nothing and scores
   with the uncalibrated Pareto/NBD probability;
4. saves that choice as R's artefact (version, window, data fingerprint, seed, metrics); a later run whose
   training data for R are the same reuses it, one whose data changed (late data) refits.

Every run then scores the purchasers of D with R's artefact: score, band and, under the model, the top three
reasons (``model_status = 'fitted'``; 'fallback' under a baseline), and replaces D's rows of
``analytics.churn_predictions`` and ``analytics.churn_model_runs`` in one transaction.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from customer360 import model_artifacts
from customer360.churn.backtest import BacktestResult, backtest, baseline_metrics
from customer360.churn.baselines import BASELINES, NO_PURCHASE_PROBABILITY, Calibration, baseline_score
from customer360.churn.features import (
    FEATURE_COLUMNS,
    FeatureTableError,
    labels_from_features,
    purchasers,
    validate_features,
)
from customer360.churn.model import MODEL_FEATURES, RANDOM_SEED, ChurnModel, bands, make_estimator, score
from customer360.clv.commands import json_ready
from customer360.clv.stage import ANALYTICS_SCHEMA, parse_as_of_date
from customer360.model_runs import MODEL_RUNS_TABLE
from customer360.model_runs import record as record_model_runs
from customer360.model_tables import replace_as_of_date_rows
from customer360.settings import Settings

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

# Smallest training population, and smallest count of each outcome, for a model fit (candidates for Settings).
MIN_TRAIN_CUSTOMERS = 200
MIN_CUSTOMERS_PER_CLASS = 20

ARTEFACT_MODEL = "churn"
MODEL_NAME = "logistic_regression"
BASELINE_NAME = f"baseline_{NO_PURCHASE_PROBABILITY}"
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
    model_status varchar,
    baseline_score double
)
"""
# Tables written before the Pareto/NBD baseline column existed get it (null for their earlier dates).
PREDICTIONS_MIGRATION = f"alter table {PREDICTIONS_TABLE} add column if not exists baseline_score double"

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


def spec() -> str:
    """The model specification an artefact must match to be reused: features, estimator, baselines, seed."""
    params = {
        k: v
        for k, v in sorted(make_estimator().get_params().items())
        if isinstance(v, int | float | str | bool) or v is None
    }
    return json.dumps(
        {
            "features": list(FEATURE_COLUMNS),
            "model_features": list(MODEL_FEATURES),
            "estimator": params,
            "baselines": list(BASELINES),
            "min_train": [MIN_TRAIN_CUSTOMERS, MIN_CUSTOMERS_PER_CLASS],
            "seed": RANDOM_SEED,
        },
        sort_keys=True,
    )


def libraries() -> dict[str, str]:
    import sklearn

    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__}


@dataclass
class ChurnScorer:
    """What R's artefact publishes with: the model, a calibrated baseline, or (too little data) the raw
    Pareto/NBD baseline."""

    kind: str  # MODEL_NAME, a baseline name, or BASELINE_NAME (uncalibrated, nothing fitted)
    model: ChurnModel | None = None
    calibration: Calibration | None = None


def _finite(value: float | None) -> float | None:
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


def canonical_order(training: pd.DataFrame) -> pd.DataFrame:
    """The labelled rows sorted by their feature values and label (missing last), then by nothing else.

    Customer ids depend on the run history (identity numbers customers in the order it meets them), so a
    split or a sample over rows in id order would differ between a backfill and a single run of the same
    data. Rows equal in every feature and the label are interchangeable, so this order makes the model a
    function of the data alone."""
    keys = [*FEATURE_COLUMNS, "churned"]
    return training.sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)


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


def _rows_on(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    return frame.loc[frame["feature_date"] == day]


def _metrics_dict(result: BacktestResult | None) -> dict[str, Any]:
    return {} if result is None else json_ready(result.as_dict())


def training_data(
    features: pd.DataFrame, refit: date, horizon_days: int, max_training_customers: int = 0
) -> tuple[pd.DataFrame, int, str]:
    """R's training rows (labelled purchasers of T = R - horizon, canonical order, sampled), the number of
    labelled customers before sampling, and the data fingerprint of the rows (features and label)."""
    then = _rows_on(features, refit - timedelta(days=horizon_days))
    training = labels_from_features(then, _rows_on(features, refit), horizon_days)
    available = int(training.shape[0])
    training = training_sample(canonical_order(training), max_training_customers)
    fingerprint = model_artifacts.data_fingerprint(training.loc[:, [*FEATURE_COLUMNS, "churned"]])
    return training, available, fingerprint


def fit(
    features: pd.DataFrame, refit: date, horizon_days: int, max_training_customers: int = 0, run_id: str = ""
) -> tuple[model_artifacts.Artefact, ChurnScorer]:
    """Fit R's scorer on its documented window (module docstring) and describe it as an artefact."""
    training_date = refit - timedelta(days=horizon_days)
    training, available, fingerprint = training_data(features, refit, horizon_days, max_training_customers)
    y = training["churned"].to_numpy(dtype=bool)
    metrics: dict[str, Any] = {
        "n_train": int(y.shape[0]),
        "n_available": available,
        "positives_share": float(y.mean()) if y.size else None,
    }
    started = time.perf_counter()
    reason = _why_not_fit(y)
    result: BacktestResult | None = None
    scorer = ChurnScorer(kind=BASELINE_NAME)
    status = model_artifacts.STATUS_FITTED
    if reason is None:
        result, fitted = backtest(training, y)
        metrics.update({k: v for k, v in _metrics_dict(result).items() if k != "n_train"})
        if result.beats_baseline:
            scorer = ChurnScorer(kind=MODEL_NAME, model=fitted)
        else:
            best = result.best_baseline
            scorer = ChurnScorer(kind=best, calibration=Calibration.fit(baseline_score(best, training), y))
            reason = (
                f"the model's backtest AUC {result.auc:.3f} does not beat every baseline ("
                + ", ".join(f"{name} {m.auc:.3f}" for name, m in result.baselines.items())
                + f"): published the {best} baseline, calibrated on the training labels"
            )
    else:
        status = model_artifacts.STATUS_SKIPPED
        if y.size and 0 < y.sum() < y.shape[0]:
            # Too few to split: the baselines on all of T's customers, for the record.
            metrics["baselines"] = json_ready(
                {name: vars(m) for name, m in baseline_metrics(training, y, training, y).items()}
            )
        reason = f"{reason}: scored with the Pareto/NBD probability of no purchase in the horizon"
    metrics["fit_seconds"] = time.perf_counter() - started
    sampled = (
        f" (trained on a sample of {y.shape[0]:,} of {available:,} customers)"
        if y.shape[0] < available
        else ""
    )
    parameters: dict[str, Any] = {"scorer": scorer.kind, "sampled": sampled}
    if scorer.model is not None:
        parameters.update(
            {
                **scorer.model.params,
                "feature_columns": list(scorer.model.feature_columns),
                "reference_values": scorer.model.reference_values,
            }
        )
    if scorer.calibration is not None:
        parameters["calibration"] = scorer.calibration.as_dict()
    artefact = model_artifacts.Artefact(
        model=ARTEFACT_MODEL,
        spec=spec(),
        refit_date=refit,
        training_window_start=training_date,
        training_window_end=refit,
        data_fingerprint=fingerprint,
        seed=RANDOM_SEED,
        metrics=metrics,
        parameters=parameters,
        status=status,
        reason=reason or "",
        fitted_by_run=run_id,
        libraries=libraries(),
    )
    return artefact, scorer


def _scores(scorer: ChurnScorer, now: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    if scorer.model is not None and not now.empty:
        return score(scorer.model, now)
    if scorer.calibration is not None:
        churn_score = scorer.calibration.apply(baseline_score(scorer.kind, now))
    else:
        churn_score = baseline_score(NO_PURCHASE_PROBABILITY, now)
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
    features: pd.DataFrame,
    as_of_date: date,
    horizon_days: int,
    max_training_customers: int = 0,
    refit: date | None = None,
    stored: tuple[model_artifacts.Artefact, ChurnScorer] | None = None,
    run_id: str = "",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Predictions for as_of_date's purchasers and the run record (without run_id), from the feature table.

    ``refit``: the refit date R whose window trains the model (None: as_of_date). ``stored``: R's artefact and
    scorer when one exists (then nothing is fitted). The record's ``artefact`` / ``scorer`` are what to save
    after a fit, and ``model_run`` its row of ``analytics.model_runs``."""
    frame = validate_features(features)
    refit = as_of_date if refit is None else refit
    rows_now = _rows_on(frame, as_of_date)
    if rows_now.empty:
        raise FeatureTableError(
            f"churn features: no customer with a purchase has feature_date {as_of_date}: build the feature "
            "table for the run's as_of_date first"
        )
    now = purchasers(rows_now)
    if stored is None:
        artefact, scorer = fit(frame, refit, horizon_days, max_training_customers, run_id)
        status = artefact.status
    else:
        artefact, scorer = stored
        status = model_artifacts.STATUS_REUSED
    metrics = artefact.metrics
    predictions = _scores(scorer, now)
    published_model = scorer.kind == MODEL_NAME
    stage_status = "fitted" if published_model else "fallback"
    if published_model:
        message = (
            f"backtest AUC {metrics['auc']:.3f} vs baselines "
            + ", ".join(f"{name} {m['auc']:.3f}" for name, m in metrics["baselines"].items())
            + f"; precision in the top decile {metrics['precision_top_decile']:.1%}; fitted on "
            f"{metrics['n_train']:,} customers, {metrics['n_test']:,} held out"
            + artefact.parameters.get("sampled", "")
        )
    else:
        message = f"scored with {scorer.kind}: {artefact.reason}" + artefact.parameters.get("sampled", "")
    version_note = f" (model {artefact.version}, {status})"
    run: dict[str, Any] = {
        "as_of_date": as_of_date,
        "training_date": artefact.training_window_start,
        "horizon_days": horizon_days,
        "model": scorer.kind,
        "auc": metrics.get("auc"),
        "precision_top_decile": metrics.get("precision_top_decile"),
        "baseline_auc": metrics.get("baseline_auc"),
        "baseline_precision_top_decile": metrics.get("baseline_precision_top_decile"),
        "baselines": metrics.get("baselines", {}),
        "n_train": int(metrics.get("n_train") or 0),
        "n_test": int(metrics.get("n_test") or 0),
        "positives_share": metrics.get("positives_share"),
        "n_scored": int(now.shape[0]),
        "fit_seconds": float(metrics.get("fit_seconds") or 0.0) if stored is None else 0.0,
        "parameters": artefact.parameters,
        "status": stage_status,
        "message": message + version_note,
        "version": artefact.version,
        "artefact_status": status,
    }
    if stored is None:
        run["artefact"], run["scorer"] = artefact, scorer
    predictions.insert(1, "as_of_date", as_of_date)
    predictions["model_status"] = stage_status
    predictions["baseline_score"] = baseline_score(NO_PURCHASE_PROBABILITY, now)
    return predictions, run


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
        _finite(run.get("auc")),
        _finite(run.get("precision_top_decile")),
        _finite(run.get("baseline_auc")),
        _finite(run.get("baseline_precision_top_decile")),
        run["n_train"],
        run["n_test"],
        _finite(run.get("positives_share")),
        run["n_scored"],
        run["fit_seconds"],
        json.dumps(json_ready(run["parameters"]), default=str, allow_nan=False),
        run["status"],
        run["message"],
    )
    replace_as_of_date_rows(
        con,
        as_of_date,
        (PREDICTIONS_DDL, PREDICTIONS_MIGRATION, RUNS_DDL),
        PREDICTIONS_TABLE,
        predictions,
        RUNS_TABLE,
        [record],
    )


def load_artefact(
    settings: Settings, refit: date, fingerprint: str
) -> tuple[model_artifacts.Artefact, ChurnScorer] | None:
    """The stored artefact and scorer of R and its training data, or None when there is none (or stale)."""
    found = model_artifacts.load(settings, ARTEFACT_MODEL, refit, fingerprint, spec(), libraries())
    if found is None:
        return None
    artefact, estimator = found
    kind = artefact.parameters.get("scorer", BASELINE_NAME)
    if kind == MODEL_NAME:
        if not isinstance(estimator, ChurnModel):
            return None
        return artefact, ChurnScorer(kind=kind, model=estimator)
    calibration = artefact.parameters.get("calibration")
    return artefact, ChurnScorer(
        kind=kind, calibration=Calibration.from_dict(calibration) if calibration else None
    )


def run(
    settings: Settings,
    as_of_date: date | str,
    run_id: str,
    features: pd.DataFrame,
    refit: date | None = None,
) -> dict[str, Any]:
    """Score churn for ``as_of_date`` with the refit date's artefact (fitted and saved when missing) from
    ``features``; write the analytics tables. ``refit``: the refit date (None: the settings' calendar)."""
    from customer360.warehouse import stage_connection

    as_of = parse_as_of_date(as_of_date)
    refit = refit or model_artifacts.refit_date(as_of, settings.model_refit_days)
    _, _, fingerprint = training_data(
        validate_features(features), refit, settings.churn_horizon_days, settings.churn_max_training_customers
    )
    stored = load_artefact(settings, refit, fingerprint)
    predictions, record = build(
        features,
        as_of,
        settings.churn_horizon_days,
        settings.churn_max_training_customers,
        refit=refit,
        stored=stored,
        run_id=run_id,
    )
    artefact = record.pop("artefact", None)
    scorer = record.pop("scorer", None)
    if artefact is not None:
        model_artifacts.save(settings, artefact, scorer.model if scorer is not None else None)
    # On PostgreSQL: written in a scratch DuckDB, then the date's rows replace theirs in PostgreSQL.
    stored_artefact = artefact or (stored[0] if stored else None)
    model_run_log = [model_run_row(stored_artefact, record["artefact_status"])]
    with stage_connection(
        settings,
        pull=(MODEL_RUNS_TABLE,),
        push=(ANALYTICS_SCHEMA,),
        push_key="as_of_date",
        push_key_values=(as_of,),
    ) as con:
        write_results(con, run_id, predictions, record)
        record_model_runs(con, as_of, run_id, model_run_log)
    return {
        "run_id": run_id,
        **{key: value.isoformat() if isinstance(value, date) else value for key, value in record.items()},
        "bands": predictions["churn_band"].value_counts().to_dict(),
        "model_runs": model_run_log,
    }


def model_run_row(artefact: model_artifacts.Artefact, status: str) -> dict[str, Any]:
    """The churn model's row of ``analytics.model_runs`` (``customer360.model_runs``)."""
    return {
        "model": ARTEFACT_MODEL,
        "version": artefact.version,
        "status": status,
        "reason": artefact.reason,
        "refit_date": artefact.refit_date,
        "training_window_start": artefact.training_window_start,
        "training_window_end": artefact.training_window_end,
        "data_fingerprint": artefact.data_fingerprint,
        "metrics": artefact.metrics,
    }
