"""Churn model, backtest and stage on simulated customers whose complaints raise their chance to leave."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from customer360.churn import backtest, model, stage
from customer360.churn.features import labels_from_features, validate_features
from customer360.churn.simulate import simulate_features
from customer360.settings import Settings
from customer360.warehouse import connect

AS_OF = date(2025, 6, 30)
HORIZON = 90


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    """8,000 simulated customers, validated features as of T = AS_OF - 90 days and as of AS_OF."""
    return validate_features(simulate_features(8_000, AS_OF, HORIZON, np.random.default_rng(31)))


@pytest.fixture(scope="module")
def training(features: pd.DataFrame) -> pd.DataFrame:
    then = features[features["feature_date"] == AS_OF - timedelta(days=HORIZON)]
    return labels_from_features(then, features[features["feature_date"] == AS_OF], HORIZON)


def test_given_scores_when_precision_at_top_then_share_of_positives_in_top_decile() -> None:
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    score = np.linspace(1, 0, 20)  # rows 0 and 1 are the top 10%
    assert backtest.precision_at_top(y, score) == 0.5
    assert backtest.evaluate(y, score)[0] == pytest.approx(
        np.mean([s_pos > s_neg for s_pos in score[y] for s_neg in score[~y]])
    )


def test_given_complaints_signal_when_backtested_then_model_beats_one_minus_p_alive(
    training: pd.DataFrame,
) -> None:
    # GIVEN labelled customers of T (complaints raise dropout; P(alive) does not know about complaints)
    # WHEN the time-split backtest is run
    y = training["churned"].to_numpy()
    result, fitted = backtest.backtest(training, y)
    # THEN the model's AUC beats the plain 1 - P(alive), which cannot see complaints
    assert result.n_train + result.n_test == len(training)
    assert 0.5 < result.positives_share < 0.95
    plain_auc, _ = backtest.evaluate(y, 1 - training["p_alive"].to_numpy())
    assert result.auc > plain_auc, (result.auc, plain_auc)
    # AND the three baselines are measured on the same held-out customers, with calibration
    assert set(result.baselines) == {"recency", "pareto_nbd_no_purchase", "rfm_score"}
    assert result.baseline_auc == result.baselines["pareto_nbd_no_purchase"].auc
    for metrics in (*result.baselines.values(), result):
        assert 0.5 < metrics.auc < 1 and 0 <= metrics.brier <= 1 and 0 <= metrics.calibration_error <= 1
    # AND the model is used only when it beats every one of them
    assert result.beats_baseline == all(result.auc > m.auc for m in result.baselines.values())
    # AND the model it returns is the one it evaluated: fitted on the training part only
    assert fitted.n_train == result.n_train


def test_given_trained_model_when_scoring_then_bands_and_reasons_follow_the_signal(
    features: pd.DataFrame, training: pd.DataFrame
) -> None:
    churn_model = model.train(training, training["churned"])
    now = features[(features["feature_date"] == AS_OF) & features["recency_days"].notna()].reset_index(
        drop=True
    )
    scored = model.score(churn_model, now)
    # THEN one row per customer with a probability, the band it implies and up to three distinct reasons
    assert list(scored.columns) == [
        "customer_id",
        "churn_score",
        "churn_band",
        "top_reason_1",
        "top_reason_2",
        "top_reason_3",
    ]
    assert scored["customer_id"].tolist() == now["customer_id"].tolist()
    assert scored["churn_score"].between(0, 1).all()
    expected_band = np.where(
        scored["churn_score"] >= model.HIGH_BAND_MIN_SCORE,
        "high",
        np.where(scored["churn_score"] >= model.MEDIUM_BAND_MIN_SCORE, "medium", "low"),
    )
    assert (scored["churn_band"] == expected_band).all()
    reasons = scored[["top_reason_1", "top_reason_2", "top_reason_3"]]
    assert reasons.stack().dropna().isin(model.MODEL_FEATURES).all()
    assert (reasons.nunique(axis=1) == reasons.notna().sum(axis=1)).all()
    # AND customers with complaints since their last purchase score higher and name them among their reasons
    many = now["complaints_since_last_purchase"] >= 2
    assert many.sum() > 30
    quiet = now["complaints_since_last_purchase"] == 0
    assert scored.loc[many, "churn_score"].mean() > scored.loc[quiet, "churn_score"].mean()
    named = reasons[many.to_numpy()].isin(["complaints_since_last_purchase"]).any(axis=1).mean()
    assert named > 0.5


def test_given_contributions_when_feature_at_reference_then_it_contributes_nothing(
    training: pd.DataFrame,
) -> None:
    churn_model = model.train(training, training["churned"])
    X = model.feature_matrix(training.head(50))
    j = model.MODEL_FEATURES.index("complaints_since_last_purchase")
    X[:, j] = churn_model.reference_values["complaints_since_last_purchase"]
    assert np.allclose(model.contributions(churn_model, X)[:, j], 0.0)


def test_given_rows_at_and_off_the_reference_when_contributions_then_they_equal_one_full_pass_per_feature(
    training: pd.DataFrame,
) -> None:
    # GIVEN a model and customers of whom some sit at the reference value of a feature (also a missing one)
    churn_model = model.train(training, training["churned"])
    X = model.feature_matrix(training.head(400))
    for j, column in enumerate(model.MODEL_FEATURES):
        X[j::7, j] = churn_model.reference_values[column]
    X[::5, model.MODEL_FEATURES.index("p_no_purchase_horizon")] = np.nan
    # WHEN contributions skip the rows at the reference
    fast = model.contributions(churn_model, X)
    # THEN they equal the definition: log-odds now minus log-odds with the feature at its reference, every row
    base = model._log_odds(churn_model.estimator.predict_proba(X)[:, 1])
    for j, column in enumerate(model.MODEL_FEATURES):
        replaced = X.copy()
        replaced[:, j] = churn_model.reference_values[column]
        expected = base - model._log_odds(churn_model.estimator.predict_proba(replaced)[:, 1])
        np.testing.assert_allclose(fast[:, j], expected, rtol=0, atol=1e-12, err_msg=column)
    assert (fast != 0).any(axis=0).sum() >= len(model.MODEL_FEATURES) // 2


def test_given_one_outcome_only_when_training_then_error_says_both_are_needed(training: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="needs both outcomes"):
        model.train(training.head(100), np.ones(100, dtype=bool))


def test_given_features_when_stage_runs_twice_then_tables_replaced_for_the_date(
    tmp_path: Path, features: pd.DataFrame
) -> None:
    settings = Settings(home=tmp_path)
    # WHEN the churn stage runs twice for AS_OF
    first = stage.run(settings, AS_OF, "run-1", features)
    stage.run(settings, AS_OF.isoformat(), "run-2", features)
    with connect(settings, read_only=True) as con:
        predictions = con.execute("select * from analytics.churn_predictions").df()
        runs = con.execute("select * from analytics.churn_model_runs").df()
    # THEN the model or the best baseline scores (whichever won the backtest), every purchaser of AS_OF is
    # scored once, one run row; the second run reuses the first run's artefact
    assert first["artefact_status"] == "fitted", first["message"]
    purchasers = features[(features["feature_date"] == AS_OF) & features["recency_days"].notna()]
    assert len(predictions) == len(purchasers) and predictions["customer_id"].is_unique
    assert set(predictions["model_status"]) == {first["status"]}
    assert set(predictions["churn_band"]) <= {"low", "medium", "high"}
    assert len(runs) == 1 and runs["run_id"].iloc[0] == "run-2"
    run = runs.iloc[0]
    assert run["auc"] > 0.5 and run["baseline_auc"] > 0.5
    assert run["n_train"] == first["n_train"] > 0 and 0 < run["positives_share"] < 1
    assert str(run["training_date"])[:10] == "2025-04-01" and run["horizon_days"] == HORIZON


def test_given_too_few_customers_when_stage_runs_then_baseline_fallback_with_reason(
    tmp_path: Path, features: pd.DataFrame
) -> None:
    small = features[features["customer_id"].isin(features["customer_id"].unique()[:120])]
    result = stage.run(Settings(home=tmp_path), AS_OF, "run-s", small)
    with connect(Settings(home=tmp_path), read_only=True) as con:
        predictions = con.execute("select * from analytics.churn_predictions").df()
    assert result["status"] == "fallback" and result["model"] == stage.BASELINE_NAME
    assert "customers to train on" in result["message"]
    assert set(predictions["model_status"]) == {"fallback"}
    assert predictions["top_reason_1"].isna().all()
    alive = small[(small["feature_date"] == AS_OF) & small["recency_days"].notna()].set_index("customer_id")
    # the BG/NBD baseline: P(no purchase in the horizon), not 1 - P(alive) (see churn.baselines)
    expected = alive.loc[predictions["customer_id"], "p_no_purchase_horizon"].to_numpy()
    assert predictions["churn_score"].to_numpy() == pytest.approx(expected)


def test_given_no_rows_for_as_of_date_when_stage_runs_then_error_says_what_to_build(
    tmp_path: Path, features: pd.DataFrame
) -> None:
    with pytest.raises(ValueError, match="no customer with a purchase has feature_date 2025-07-31"):
        stage.run(Settings(home=tmp_path), date(2025, 7, 31), "run-x", features)


def test_given_more_customers_than_the_training_cap_then_a_stratified_sample_trains_and_the_run_says_so(
    features: pd.DataFrame, training: pd.DataFrame
) -> None:
    # GIVEN T's labelled customers and a cap of half of them
    cap = len(training) // 2
    sample = stage.training_sample(training, cap)
    # THEN the sample has the cap's size, keeps the churn share within a row, and is the same every time
    assert len(sample) == cap and sample.index.is_monotonic_increasing
    assert abs(sample["churned"].sum() - training["churned"].mean() * cap) <= 1
    assert sample.index.equals(stage.training_sample(training, cap).index)
    assert stage.training_sample(training, 0) is training
    # WHEN the stage builds with that cap THEN it trains on the sample, still beats the baseline, scores all
    predictions, run = stage.build(features, AS_OF, HORIZON, max_training_customers=cap)
    assert run["artefact_status"] == "fitted", run["message"]
    assert run["n_train"] == cap and 0 < run["n_test"] < cap
    assert f"trained on a sample of {cap:,} of {len(training):,} customers" in run["message"]
    full_predictions, _ = stage.build(features, AS_OF, HORIZON)
    assert len(predictions) == len(full_predictions)
