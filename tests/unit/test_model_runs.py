"""The models stage: same data and date give the same scores whatever ran before; a model that cannot fit
never fails the run (tiny data, no purchases, a missing table, a feature nobody has)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from customer360.churn import model, stage
from customer360.churn.features import (
    labels_from_features,
    purchase_features,
    validate_features,
)
from customer360.churn.simulate import simulate_features
from customer360.model_artifacts import refit_date
from customer360.model_runs import run_models
from customer360.settings import Settings
from customer360.warehouse import connect

REFIT = date(2025, 6, 30)  # a Monday: a refit date of the weekly calendar
LATER = REFIT + timedelta(days=3)  # scored with REFIT's model
HORIZON = 90


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    """1,500 simulated customers as of REFIT - 90 days and REFIT, plus LATER (REFIT's rows, re-dated)."""
    rows = validate_features(
        simulate_features(1_500, REFIT, HORIZON, np.random.default_rng(5), complaint_effect=2.0)
    )
    later = rows.loc[rows["feature_date"] == REFIT].assign(feature_date=LATER)
    return pd.concat([rows, later], ignore_index=True)


def _renumbered(features: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The same customers under other ids, rows shuffled (what another run history gives)."""
    ids = features["customer_id"].unique()
    new = dict(zip(ids, [f"z{i:05d}" for i in np.random.default_rng(9).permutation(len(ids))], strict=True))
    frame = features.assign(customer_id=features["customer_id"].map(new))
    return frame.sample(frac=1.0, random_state=4).reset_index(drop=True), new


def test_given_two_run_histories_when_the_same_date_is_scored_then_the_scores_are_the_same(
    tmp_path: Path, features: pd.DataFrame
) -> None:
    # GIVEN history A: a run on the refit date, then a run three days later (reuses the artefact)
    home_a = Settings(home=tmp_path / "a", churn_horizon_days=HORIZON)
    first = stage.run(home_a, REFIT, "a-1", features.loc[features["feature_date"] != LATER])
    second = stage.run(home_a, LATER, "a-2", features)
    # AND history B: only the later run, on a home without artefacts, with customers numbered differently
    renumbered, new_ids = _renumbered(features)
    home_b = Settings(home=tmp_path / "b", churn_horizon_days=HORIZON)
    only = stage.run(home_b, LATER, "b-1", renumbered)
    # THEN A fitted once and reused; B fitted the same model (same version: window and data fingerprint)
    assert (first["artefact_status"], second["artefact_status"], only["artefact_status"]) == (
        "fitted",
        "reused",
        "fitted",
    )
    assert second["version"] == only["version"] == first["version"]
    assert only["model"] == second["model"]
    # AND every customer gets the same score, band and reasons on LATER
    with connect(home_a, read_only=True) as con:
        a = con.execute("select * from analytics.churn_predictions where as_of_date = ?", [LATER]).df()
    with connect(home_b, read_only=True) as con:
        b = con.execute("select * from analytics.churn_predictions where as_of_date = ?", [LATER]).df()
    a["customer_id"] = a["customer_id"].map(new_ids)
    columns = ["churn_score", "churn_band", "top_reason_1", "top_reason_2", "top_reason_3", "model_status"]
    pd.testing.assert_frame_equal(
        a.set_index("customer_id").sort_index()[columns], b.set_index("customer_id").sort_index()[columns]
    )


def test_given_the_backtest_when_the_model_does_not_beat_every_baseline_then_the_best_baseline_scores(
    features: pd.DataFrame,
) -> None:
    # GIVEN the refit date's window WHEN fitted
    artefact, scorer = stage.fit(features, REFIT, HORIZON)
    metrics = artefact.metrics
    aucs = {name: m["auc"] for name, m in metrics["baselines"].items()}
    assert set(aucs) == {"recency", "pareto_nbd_no_purchase", "rfm_score"}
    # THEN the model scores only when it beat all three baselines; otherwise the best one, calibrated
    if all(metrics["auc"] > auc for auc in aucs.values()):
        assert scorer.kind == stage.MODEL_NAME and artefact.reason == ""
    else:
        best = max(aucs, key=aucs.get)
        assert scorer.kind == best and scorer.calibration is not None
        assert f"published the {best} baseline" in artefact.reason
    # AND the window is documented: features of REFIT - 90 days, labels up to REFIT
    assert (artefact.training_window_start, artefact.training_window_end) == (
        REFIT - timedelta(HORIZON),
        REFIT,
    )


def test_given_no_survey_answer_at_all_when_the_model_trains_then_it_leaves_those_features_out(
    features: pd.DataFrame,
) -> None:
    # GIVEN training data where a model input is never known (no purchase model probability): scikit-learn's
    # binning raised "window shape cannot be larger than input array shape" on such a column
    then = features.loc[features["feature_date"] == REFIT - timedelta(days=HORIZON)]
    training = labels_from_features(then, features.loc[features["feature_date"] == REFIT], HORIZON)
    training = training.assign(p_no_purchase_horizon=np.nan)
    # WHEN the model trains THEN it fits on the other features and scores every row
    fitted = model.train(training, training["churned"].to_numpy())
    assert "p_no_purchase_horizon" not in fitted.feature_columns
    assert len(fitted.feature_columns) == len(model.MODEL_FEATURES) - 1
    scores = model.score(fitted, training.head(50))
    assert scores["churn_score"].between(0, 1).all()


def _warehouse(settings: Settings, purchases: pd.DataFrame, as_of: date) -> None:
    """intermediate.int_customer_purchase_days and int_churn_features (the dbt models' shape) by hand."""
    from customer360.churn.warehouse_features import feature_dates

    refit = refit_date(as_of, settings.model_refit_days)
    customers = pd.DataFrame({"customer_id": sorted(set(purchases["customer_id"]) | {"never-bought"})})
    frames = []
    for day in feature_dates(as_of, settings.churn_horizon_days, refit):
        frame = customers.merge(purchase_features(purchases, day), on="customer_id", how="left")
        frames.append(
            frame.assign(
                feature_date=day,
                complaints_90d=0.0,
                sla_breaches_90d=0.0,
                complaints_since_last_purchase=0.0,
                sla_breaches_since_last_purchase=0.0,
                last_csat=np.nan,
                last_nps=np.nan,
            )
        )
    rows = pd.concat(frames, ignore_index=True)
    with connect(settings) as con:
        con.execute("create schema if not exists intermediate")
        con.register("days", purchases)
        con.execute(
            "create table intermediate.int_customer_purchase_days as select customer_id, "
            "cast(purchase_date as date) as purchase_date, 1 as order_count, "
            "cast(net_amount as decimal(18, 2)) as net_amount, cast(null as decimal(18, 2)) as margin_amount "
            "from days"
        )
        con.register("rows", rows)
        con.execute(
            "create table intermediate.int_churn_features as select customer_id, "
            "cast(feature_date as date) as feature_date, recency_days, frequency, monetary, trend_ratio, "
            "tenure_days, complaints_90d, sla_breaches_90d, complaints_since_last_purchase, "
            "sla_breaches_since_last_purchase, last_csat, last_nps from rows"
        )


def _model_runs(settings: Settings, as_of: date) -> dict[str, tuple[str, str]]:
    with connect(settings, read_only=True) as con:
        rows = con.execute(
            "select model, status, reason from analytics.model_runs where as_of_date = ?", [as_of]
        ).fetchall()
    return {model_name: (status, reason) for model_name, status, reason in rows}


def test_given_five_customers_when_the_models_stage_runs_then_every_model_is_skipped_with_its_reason(
    tmp_path: Path,
) -> None:
    # GIVEN five customers with a handful of purchase days
    settings = Settings(home=tmp_path, churn_horizon_days=HORIZON)
    as_of = date(2025, 7, 2)
    purchases = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c", "c", "d", "e"],
            "purchase_date": [
                date(2025, 1, 5),
                date(2025, 5, 1),
                date(2025, 2, 1),
                date(2025, 3, 3),
                date(2025, 4, 4),
                date(2025, 6, 20),
                date(2025, 6, 1),
                date(2025, 6, 30),
            ],
            "net_amount": [20.0, 30.0, 15.0, 50.0, 45.0, 60.0, 10.0, 80.0],
        }
    )
    _warehouse(settings, purchases, as_of)
    # WHEN the models stage runs THEN it does not raise; each model is skipped and says why
    result = run_models(settings, as_of, "tiny")
    runs = _model_runs(settings, as_of)
    assert {name: status for name, (status, _) in runs.items()} == {
        "pareto_nbd": "skipped",
        "gamma_gamma": "skipped",
        "churn": "skipped",
    }
    assert "at least 50 needed" in runs["pareto_nbd"][1] and "customers to train on" in runs["churn"][1]
    assert result["churn"]["status"] == "fallback"
    # AND the five buyers are scored by the documented fallbacks
    with connect(settings, read_only=True) as con:
        scored = con.execute(
            "select count(*) from analytics.churn_predictions where churn_score is not null"
        ).fetchone()
        clv = con.execute("select count(*) from analytics.customer_clv_predictions").fetchone()
    assert scored == (5,) and clv == (5,)


def test_given_no_purchase_at_all_when_the_models_stage_runs_then_nothing_is_scored_and_nothing_fails(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path, churn_horizon_days=HORIZON)
    as_of = date(2025, 7, 2)
    empty = pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=str),
            "purchase_date": pd.Series([], dtype="datetime64[s]"),
            "net_amount": pd.Series([], dtype=float),
        }
    )
    _warehouse(settings, empty, as_of)
    run_models(settings, as_of, "empty")
    runs = _model_runs(settings, as_of)
    assert {status for status, _ in runs.values()} == {"skipped"}, runs


def test_given_a_missing_input_table_when_the_models_stage_runs_then_both_fail_and_their_rows_are_empty(
    tmp_path: Path,
) -> None:
    # GIVEN a warehouse whose purchase days were never built, and yesterday's rows of a previous run
    settings = Settings(home=tmp_path, churn_horizon_days=HORIZON)
    as_of = date(2025, 7, 2)
    with connect(settings) as con:
        con.execute("create schema analytics")
        con.execute(
            "create table analytics.churn_predictions as select 'old' as customer_id, "
            f"date '{as_of}' as as_of_date, 0.5 as churn_score"
        )
    # WHEN the models stage runs THEN it returns, records both failures with the error, and leaves no stale
    # rows for the date (the marts show the models' columns null)
    result = run_models(settings, as_of, "broken")
    runs = _model_runs(settings, as_of)
    assert runs["pareto_nbd"][0] == runs["gamma_gamma"][0] == runs["churn"][0] == "failed"
    assert "int_customer_purchase_days is missing" in runs["pareto_nbd"][1]
    assert result["churn"]["status"] == "failed"
    with connect(settings, read_only=True) as con:
        for table in ("churn_predictions", "customer_clv_predictions", "clv_validation"):
            assert con.execute(f"select count(*) from analytics.{table}").fetchone() == (0,), table


def test_given_late_data_in_the_window_when_the_next_run_scores_then_it_refits_and_keeps_the_old_version(
    tmp_path: Path, features: pd.DataFrame
) -> None:
    # GIVEN a run on the refit date, then a late delivery: a complaint opened before T arrives afterwards
    settings = Settings(home=tmp_path, churn_horizon_days=HORIZON)
    first = stage.run(settings, REFIT, "r-1", features.loc[features["feature_date"] != LATER])
    then = REFIT - timedelta(days=HORIZON)
    late = features.copy()
    row = late.index[late["feature_date"] == then][0]
    late.loc[row, "complaints_90d"] += 1
    # WHEN the next run scores LATER THEN it refits on the data as they are now (a new version) ...
    second = stage.run(settings, LATER, "r-2", late)
    assert second["artefact_status"] == "fitted" and second["version"] != first["version"]
    # ... and the same data again reuse it; both versions stay on disk
    assert stage.run(settings, LATER, "r-3", late)["artefact_status"] == "reused"
    assert len(list((tmp_path / "models" / "churn").glob(f"{REFIT.isoformat()}+*.json"))) == 2
