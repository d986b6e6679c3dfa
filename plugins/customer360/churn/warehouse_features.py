"""The churn feature table from the warehouse: dbt's ``intermediate.int_churn_features`` plus Pareto/NBD's.

dbt builds ``intermediate.int_churn_features`` in its core build: one row per customer for each feature date
the churn stage needs (``feature_dates``: T = R - churn_horizon_days and R for the model of the refit date R,
and as_of_date for scoring), with every column of ``customer360.churn.features`` except the purchase
model's columns (``PURCHASE_MODEL_COLUMNS``). Those come from the Pareto/NBD parameters the CLV stage used in
the same run, so this module runs after the CLV stage:

1. read the run's ``pareto_nbd`` row of ``analytics.clv_model_runs`` for as_of_date (status and parameters);
2. for each feature date D, summarise ``intermediate.int_customer_purchase_days`` up to D into x, t_x and T
   per customer (``customer360.clv.summary``), and compute P(alive) at D, the expected purchase days in
   (D, D + 90] and the probability of no purchase day in (D, D + churn horizon] with
   ``customer360.clv.predict``: the fitted Pareto/NBD when the stage fitted it, else the stage's own fallback
   (historical rate shrunk toward the pooled rate of that date's summary).

At D = as_of_date the values equal ``analytics.customer_clv_predictions``. At T the same parameters are
applied to the history up to T only: the parameters describe the population, the inputs the customer's
history, so nothing after T reaches T's features.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from customer360.churn.features import REQUIRED_COLUMNS
from customer360.clv import pareto_nbd
from customer360.clv.fit import ClvModels
from customer360.clv.mle import ModelFit, not_fitted
from customer360.clv.predict import SHORT_HORIZON_DAYS, no_purchase_probability, purchase_model
from customer360.clv.stage import RUNS_TABLE, SOURCE_TABLE, parse_as_of_date, table_exists
from customer360.clv.summary import summarize
from customer360.settings import Settings

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

FEATURES_TABLE = "intermediate.int_churn_features"
PURCHASE_MODEL_COLUMNS = ("p_alive", "expected_purchases_90d", "p_no_purchase_horizon")


class ChurnFeaturesError(LookupError):
    """The warehouse lacks what the feature table needs; the message says which stage to run first."""


def feature_dates(as_of_date: date, horizon_days: int, training_end: date | None = None) -> tuple[date, ...]:
    """The feature dates the churn stage reads, in order: the training date T = training_end - horizon, the
    label date training_end, and the scoring date as_of_date (once each). ``training_end`` is the model's
    refit date (``customer360.model_artifacts.refit_date``); None: as_of_date itself."""
    end = as_of_date if training_end is None else training_end
    if end > as_of_date:
        raise ValueError(f"the training window ends on {end}, after the as-of date {as_of_date}")
    return tuple(sorted({end - timedelta(days=horizon_days), end, as_of_date}))


def _model_fit(row: tuple[Any, ...] | None, as_of_date: date) -> ModelFit:
    """The Pareto/NBD ``ModelFit`` rebuilt from its ``clv_model_runs`` row (status, parameters, message)."""
    model = pareto_nbd.MODEL_NAME
    if row is None:
        raise ChurnFeaturesError(
            f"{RUNS_TABLE} has no {model} row for {as_of_date}: run the CLV stage for this date "
            "(customer360.clv.stage.run) before building the churn features"
        )
    status, parameters, message, n_customers = row
    params = {
        name: float(value)
        for name, value in json.loads(parameters or "{}").items()
        if name != "iterations" and value is not None
    }
    if status == "fitted" and not set(pareto_nbd.PARAM_NAMES) <= set(params):
        raise ChurnFeaturesError(
            f"{RUNS_TABLE} row for {model} on {as_of_date} is 'fitted' but its parameters {sorted(params)} "
            f"lack {', '.join(pareto_nbd.PARAM_NAMES)}: rerun the CLV stage for this date"
        )
    return ModelFit(
        model=model,
        params=params,
        log_likelihood=float("nan"),
        n_customers=int(n_customers or 0),
        fit_seconds=0.0,
        converged=status == "fitted",
        iterations=0,
        status=str(status),
        message=str(message or ""),
    )


def load_clv_models(con: duckdb.DuckDBPyConnection, as_of_date: date) -> ClvModels:
    """The run's Pareto/NBD fit for ``as_of_date`` from ``analytics.clv_model_runs`` (the spend model is not
    needed for purchase features and is marked not fitted here)."""
    if not table_exists(con, RUNS_TABLE):
        raise ChurnFeaturesError(
            f"{RUNS_TABLE} does not exist: run the CLV stage for {as_of_date} before the churn features"
        )
    rows = con.execute(
        f"select model, status, cast(parameters as varchar), message, n_customers from {RUNS_TABLE} "
        "where as_of_date = ?",
        [as_of_date],
    ).fetchall()
    by_model = {row[0]: tuple(row[1:]) for row in rows}
    return ClvModels(
        purchases=_model_fit(by_model.get(pareto_nbd.MODEL_NAME), as_of_date),
        gamma_gamma=not_fitted("gamma_gamma", 0, "not needed for the churn features"),
    )


def purchase_model_features(
    con: duckdb.DuckDBPyConnection,
    models: ClvModels,
    feature_date: date,
    horizon_days: int,
    source: str = SOURCE_TABLE,
) -> pa.Table:
    """customer_id, feature_date and PURCHASE_MODEL_COLUMNS of every customer of ``source`` (purchase days)
    who bought by then."""
    import pyarrow as pa

    summary = summarize(con, source, feature_date)
    alive, expected = purchase_model(summary, models)
    return pa.table(
        {
            "customer_id": summary.customer_id,
            "feature_date": pa.repeat(pa.scalar(feature_date, pa.date32()), summary.n_customers),
            "p_alive": alive,
            "expected_purchases_90d": expected(SHORT_HORIZON_DAYS),
            "p_no_purchase_horizon": no_purchase_probability(summary, models, float(horizon_days)),
        }
    )


def _read_feature_rows(
    con: duckdb.DuckDBPyConnection, dates: tuple[date, ...], purchase_model_rows: pa.Table
) -> pd.DataFrame:
    """dbt's rows for both dates joined with the Pareto/NBD columns in DuckDB (a join of two rows per customer
    is faster there than in pandas), sorted by customer and date."""
    dbt_columns = [c for c in REQUIRED_COLUMNS if c not in PURCHASE_MODEL_COLUMNS]
    con.register("churn_purchase_model_rows", purchase_model_rows)
    try:
        frame = con.execute(
            f"""
            select {", ".join(f"features.{c}" for c in dbt_columns)},
                {", ".join(f"purchases.{c}" for c in PURCHASE_MODEL_COLUMNS)}
            from {FEATURES_TABLE} as features
            left join churn_purchase_model_rows as purchases
                on features.customer_id = purchases.customer_id
                and features.feature_date = purchases.feature_date
            where features.feature_date in ({", ".join("?" * len(dates))})
            order by features.customer_id, features.feature_date
            """,
            list(dates),
        ).df()
    finally:
        con.unregister("churn_purchase_model_rows")
    found = set(frame["feature_date"].dt.date) if not frame.empty else set()
    missing = [d.isoformat() for d in dates if d not in found]
    if missing:
        raise ChurnFeaturesError(
            f"{FEATURES_TABLE} has no rows for feature date(s) {', '.join(missing)}: it was built for "
            "another as_of_date or churn horizon; rebuild the dbt core build with this run's vars"
        )
    frame["feature_date"] = frame["feature_date"].dt.date
    return frame


def load_features(
    settings: Settings, as_of_date: date | str, training_end: date | None = None
) -> pd.DataFrame:
    """The churn feature table for ``as_of_date``: dbt's rows for the ``feature_dates`` plus the Pareto/NBD
    columns (``training_end``: the model's refit date, None for as_of_date).

    Returns one row per customer per feature date with ``customer360.churn.features.REQUIRED_COLUMNS``;
    ``p_alive`` and ``expected_purchases_90d`` are null for customers without a purchase by that date.
    """
    import pyarrow as pa

    from customer360.warehouse import stage_connection

    as_of = parse_as_of_date(as_of_date)
    dates = feature_dates(as_of, settings.churn_horizon_days, training_end)
    # On PostgreSQL: a scratch DuckDB with the tables read here (nothing is written back).
    with stage_connection(settings, pull=(FEATURES_TABLE, SOURCE_TABLE, RUNS_TABLE), read_only=True) as con:
        if not table_exists(con, FEATURES_TABLE):
            raise ChurnFeaturesError(
                f"{FEATURES_TABLE} does not exist: run the dbt core build (customer360.dbt_runner.build "
                "'core') for this date before the churn stage"
            )
        if not table_exists(con, SOURCE_TABLE):
            raise ChurnFeaturesError(
                f"{SOURCE_TABLE} does not exist: run the dbt core build for {as_of} first"
            )
        models = load_clv_models(con, as_of)
        # One row per customer and date on both sides: the summary groups by customer, and dbt tests
        # int_churn_features unique on (customer_id, feature_date); validate_features checks it again.
        purchase_model_rows = pa.concat_tables(
            [purchase_model_features(con, models, d, settings.churn_horizon_days) for d in dates]
        )
        features = _read_feature_rows(con, dates, purchase_model_rows)
    return features.loc[:, list(REQUIRED_COLUMNS)].reset_index(drop=True)
