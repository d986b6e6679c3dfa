"""load_features: dbt's int_churn_features plus BG/NBD P(alive) and expected purchases for both feature dates.

Each test builds a small DuckDB warehouse by hand (no dbt): purchase days, the dbt feature rows for the two
feature dates (purchase columns from the reference ``purchase_features``), and the CLV stage's model-run row.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from customer360.churn.features import REQUIRED_COLUMNS, purchase_features
from customer360.churn.warehouse_features import ChurnFeaturesError, feature_dates, load_features
from customer360.clv import pareto_nbd
from customer360.clv.predict import fallback_rate
from customer360.clv.summary import summarize
from customer360.settings import Settings

AS_OF = date(2026, 11, 24)
TRAINING = date(2026, 8, 26)
PARAMS = {"r": 0.8, "alpha": 40.0, "s": 0.6, "beta": 50.0}

# customer, purchase day, net amount: "a" buys before and after T, "b" only before T, "c" only after T
PURCHASES = [
    ("a", "2026-03-01", 50.0),
    ("a", "2026-05-10", 70.0),
    ("a", "2026-08-20", 30.0),
    ("a", "2026-11-01", 40.0),
    ("b", "2026-01-15", 20.0),
    ("b", "2026-04-15", 25.0),
    ("c", "2026-10-05", 90.0),
]


def _build(
    path: Path, purchases_status: str | None = "fitted", dates: tuple[date, ...] = (TRAINING, AS_OF)
) -> None:
    days = pd.DataFrame(PURCHASES, columns=["customer_id", "purchase_date", "net_amount"])
    days["purchase_date"] = pd.to_datetime(days["purchase_date"]).dt.date
    days["order_count"] = 1
    days["margin_amount"] = days["net_amount"] * 0.4
    rows = []
    for feature_date in dates:
        purchase = purchase_features(days, feature_date)
        frame = pd.DataFrame({"customer_id": ["a", "b", "c", "d"]}).merge(
            purchase, on="customer_id", how="left"
        )
        frame["feature_date"] = feature_date
        frame["complaints_90d"] = 0.0
        frame["sla_breaches_90d"] = 0.0
        frame["complaints_since_last_purchase"] = 0.0
        frame["sla_breaches_since_last_purchase"] = 0.0
        frame["last_csat"] = np.nan
        frame["last_nps"] = np.nan
        rows.append(frame)
    features = pd.concat(rows, ignore_index=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema intermediate")
        con.execute("create schema analytics")
        con.register("days", days)
        con.execute(
            "create table intermediate.int_customer_purchase_days as "
            "select customer_id, cast(purchase_date as date) as purchase_date, order_count, "
            "cast(net_amount as decimal(18, 2)) as net_amount, "
            "cast(margin_amount as decimal(18, 2)) as margin_amount from days"
        )
        con.register("features", features)
        con.execute(
            "create table intermediate.int_churn_features as select customer_id, "
            "cast(feature_date as date) as feature_date, recency_days, frequency, monetary, trend_ratio, "
            "tenure_days, complaints_90d, sla_breaches_90d, complaints_since_last_purchase, "
            "sla_breaches_since_last_purchase, last_csat, last_nps from features"
        )
        con.execute(
            "create table analytics.clv_model_runs (run_id varchar, as_of_date date, model varchar, "
            "parameters json, log_likelihood double, n_customers bigint, fit_seconds double, status varchar, "
            "message varchar, converged boolean)"
        )
        if purchases_status is not None:
            params = json.dumps(
                {**PARAMS, "iterations": 17} if purchases_status == "fitted" else {"iterations": 0}
            )
            con.execute(
                "insert into analytics.clv_model_runs "
                "values ('r', ?, 'pareto_nbd', ?, -1.0, 3, 0.1, ?, 'm', true)",
                [AS_OF, params, purchases_status],
            )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path, warehouse_path=tmp_path / "wh.duckdb", churn_horizon_days=90, duckdb_threads=1
    )


def _summary(settings: Settings, feature_date: date):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return summarize(con, "intermediate.int_customer_purchase_days", feature_date)


def test_given_an_as_of_date_when_feature_dates_are_asked_then_training_is_one_horizon_earlier() -> None:
    assert feature_dates(AS_OF, 90) == (TRAINING, AS_OF)


def test_given_a_fitted_pareto_nbd_when_features_load_then_both_dates_get_p_alive_from_their_own_history(
    settings: Settings,
) -> None:
    _build(settings.warehouse_path)
    features = load_features(settings, AS_OF)
    assert list(features.columns) == list(REQUIRED_COLUMNS)
    assert len(features) == 8  # four customers x two dates
    params = pareto_nbd.ParetoNbdParams.from_dict(PARAMS)
    for feature_date in (TRAINING, AS_OF):
        summary = _summary(settings, feature_date)
        ids = summary.customer_id.to_pylist()
        rows = features.loc[features["feature_date"] == feature_date].set_index("customer_id").loc[ids]
        x, t_x, big_t = summary.frequency, summary.recency_days, summary.tenure_days
        np.testing.assert_allclose(rows["p_alive"], pareto_nbd.p_alive(params, x, t_x, big_t))
        np.testing.assert_allclose(
            rows["expected_purchases_90d"],
            pareto_nbd.conditional_expected_purchases(params, 90, x, t_x, big_t),
        )
    then = features.loc[features["feature_date"] == TRAINING].set_index("customer_id")
    # "c" first bought after T and "d" never: no purchase features and no P(alive) at T
    assert then.loc[["c", "d"], ["recency_days", "p_alive", "expected_purchases_90d"]].isna().all().all()
    # at T, "a" has 2 repeat purchase days (the later ones are not seen), so P(alive) < 1
    assert then.loc["a", "frequency"] == 2.0 and 0 < then.loc["a", "p_alive"] < 1


def test_given_a_purchase_after_t_when_features_load_then_t_values_do_not_change(settings: Settings) -> None:
    _build(settings.warehouse_path)
    before = load_features(settings, AS_OF)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(
            "insert into intermediate.int_customer_purchase_days values ('b', date '2026-11-20', 1, 5, 2)"
        )
    after = load_features(settings, AS_OF)
    at_t = before["feature_date"] == TRAINING
    pd.testing.assert_frame_equal(before.loc[at_t], after.loc[at_t])
    now = after.loc[after["feature_date"] == AS_OF].set_index("customer_id")
    assert (
        now.loc["b", "p_alive"]
        != before.loc[before["feature_date"] == AS_OF].set_index("customer_id").loc["b", "p_alive"]
    )


def test_given_a_pareto_nbd_fallback_when_features_load_then_the_clv_fallback_rate_is_used(
    settings: Settings,
) -> None:
    _build(settings.warehouse_path, purchases_status="fallback")
    features = load_features(settings, AS_OF)
    summary = _summary(settings, AS_OF)
    rate = fallback_rate(summary)
    expected_alive = np.where(
        summary.frequency > 0, np.exp(-rate * (summary.tenure_days - summary.recency_days)), 1.0
    )
    now = (
        features.loc[features["feature_date"] == AS_OF]
        .set_index("customer_id")
        .loc[summary.customer_id.to_pylist()]
    )
    np.testing.assert_allclose(now["p_alive"], expected_alive)
    np.testing.assert_allclose(now["expected_purchases_90d"], rate * 90)


def test_given_no_clv_run_for_the_date_when_features_load_then_the_error_says_to_run_the_clv_stage(
    settings: Settings,
) -> None:
    _build(settings.warehouse_path, purchases_status=None)
    with pytest.raises(ChurnFeaturesError, match="no pareto_nbd row for 2026-11-24: run the CLV stage"):
        load_features(settings, AS_OF)


def test_given_features_built_for_another_date_when_loaded_then_the_error_names_the_missing_date(
    settings: Settings,
) -> None:
    _build(settings.warehouse_path, dates=(AS_OF,))
    with pytest.raises(ChurnFeaturesError, match="no rows for feature date\\(s\\) 2026-08-26"):
        load_features(settings, AS_OF)


def test_given_no_feature_table_when_loaded_then_the_error_says_to_run_the_core_build(
    settings: Settings,
) -> None:
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema intermediate")
    with pytest.raises(ChurnFeaturesError, match="int_churn_features does not exist: run the dbt core build"):
        load_features(settings, AS_OF)
