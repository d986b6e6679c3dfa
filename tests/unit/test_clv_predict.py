"""CLV summary (same-day collapse, x / t_x / T), sparse-data fallback, discounting and predictions."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from customer360.clv import predict, simulate
from customer360.clv.bgnbd import BgNbdParams
from customer360.clv.fit import MIN_REPEAT_CUSTOMERS, fit_models
from customer360.clv.summary import CustomerSummary, summarize


def summary_of(rows: list[tuple], observation_end: date) -> CustomerSummary:
    frame = pd.DataFrame(
        rows, columns=["customer_id", "purchase_date", "order_count", "net_amount", "margin_amount"]
    )
    frame["purchase_date"] = pd.to_datetime(frame["purchase_date"]).dt.date
    con = duckdb.connect()
    con.register("days", frame)
    return summarize(con, "days", observation_end)


def simulated_summary(n: int, seed: int) -> CustomerSummary:
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    T = np.floor(rng.uniform(100, 700, n))
    x, t_x = simulate.simulate_summary(BgNbdParams(0.5, 40.0, 0.8, 2.5), T, rng)
    t_x = np.floor(t_x)
    spend = np.where(x > 0, rng.gamma(5.0, 6.0, n), np.nan)
    return CustomerSummary(
        customer_id=pa.array([f"c{i}" for i in range(n)]),
        frequency=x,
        recency_days=t_x,
        tenure_days=T,
        repeat_avg_spend=spend,
        avg_purchase_day_spend=np.where(x > 0, spend, 25.0),
        avg_order_value=np.where(x > 0, spend, 25.0),
        margin_share=np.full(n, np.nan),
        observation_end=date(2025, 6, 30),
    )


def test_given_purchase_rows_when_summarised_then_same_day_collapsed_and_days_to_observation_end() -> None:
    # GIVEN c1 with two rows on 1 Jan (one day), purchases on 10 Jan and 1 Feb, and one after the observation
    # end; c2 with a single purchase and no margin
    rows = [
        ("c1", "2024-01-01", 1, 10.0, 3.0),
        ("c1", "2024-01-01", 1, 5.0, 1.5),
        ("c1", "2024-01-10", 2, 20.0, 6.0),
        ("c1", "2024-02-01", 1, 30.0, 9.0),
        ("c1", "2024-03-05", 1, 99.0, 50.0),
        ("c2", "2024-02-20", 1, 40.0, None),
    ]
    # WHEN summarised up to 1 March 2024
    s = summary_of(rows, date(2024, 3, 1))
    # THEN frequency counts repeat purchase days, recency and tenure are days from the first purchase
    assert s.customer_id.to_pylist() == ["c1", "c2"]
    assert s.frequency.tolist() == [2.0, 0.0]
    assert s.recency_days.tolist() == [31.0, 0.0]
    assert s.tenure_days.tolist() == [60.0, 10.0]  # 2024 is a leap year
    # AND spend: repeat days only for Gamma-Gamma, all days per purchase day, per order for avg_order_value
    assert s.repeat_avg_spend[0] == pytest.approx(25.0) and np.isnan(s.repeat_avg_spend[1])
    assert s.avg_purchase_day_spend.tolist() == pytest.approx([65.0 / 3, 40.0])
    assert s.avg_order_value.tolist() == pytest.approx([65.0 / 5, 40.0])
    assert s.margin_share[0] == pytest.approx(19.5 / 65.0) and np.isnan(s.margin_share[1])


def test_given_linear_purchases_when_discounted_then_matches_monthly_formula() -> None:
    # GIVEN 0.01 purchases per day, spend 50, margin 30% and a 10% annual discount rate
    rate, spend, margin, d = 0.01, np.array([50.0]), np.array([0.3]), 0.10
    value = predict.discounted_clv(lambda t: np.array([rate * t]), spend, margin, d)
    # THEN CLV = sum over 12 months of (purchases in month) x spend x margin / (1 + d)^(m/12)
    month = 365 / 12
    expected = sum(rate * month * 50.0 * 0.3 / (1 + d) ** (m / 12) for m in range(1, 13))
    assert value[0] == pytest.approx(expected)
    # AND without discounting it is the 365-day expectation times spend times margin
    undiscounted = predict.discounted_clv(lambda t: np.array([rate * t]), spend, margin, 0.0)
    assert undiscounted[0] == pytest.approx(rate * 365 * 50.0 * 0.3)


def test_given_unknown_margins_when_shares_resolved_then_median_of_known_else_revenue() -> None:
    s = simulated_summary(5, 1)
    partly = CustomerSummary(**{**s.__dict__, "margin_share": np.array([0.2, np.nan, 0.4, 0.3, np.nan])})
    assert predict.margin_shares(partly).tolist() == pytest.approx([0.2, 0.3, 0.4, 0.3, 0.3])
    assert predict.margin_shares(s).tolist() == [1.0] * 5


def test_given_too_few_repeat_buyers_when_fitted_then_both_models_fall_back_with_reason() -> None:
    # GIVEN 30 customers of whom fewer than MIN_REPEAT_CUSTOMERS have a repeat purchase
    s = simulated_summary(30, 4)
    assert s.n_repeat_customers < MIN_REPEAT_CUSTOMERS
    # WHEN the models are fitted and customers predicted
    models = fit_models(s)
    table = predict.predict(s, models, 0.1).to_pandas()
    # THEN both fall back, the message says why, and predictions use the documented historical estimates
    assert models.status == "fallback"
    assert not models.purchases.fitted and not models.gamma_gamma.fitted
    assert f"only {s.n_repeat_customers} of 30 customers have a repeat purchase" in models.purchases.message
    assert "historical rate" in models.purchases.message
    assert set(table["model_status"]) == {"fallback"}
    pooled = s.frequency.sum() / s.tenure_days.sum()
    rate = (s.frequency + pooled * predict.FALLBACK_PRIOR_DAYS) / (
        s.tenure_days + predict.FALLBACK_PRIOR_DAYS
    )
    assert table["expected_purchases_90d"].to_numpy() == pytest.approx(rate * 90)
    expected_alive = np.where(s.frequency > 0, np.exp(-rate * (s.tenure_days - s.recency_days)), 1.0)
    assert table["p_alive"].to_numpy() == pytest.approx(expected_alive)
    assert table["expected_avg_spend"].to_numpy() == pytest.approx(s.avg_purchase_day_spend)


def test_given_enough_customers_when_predicted_then_every_column_is_consistent() -> None:
    # GIVEN 3,000 simulated customers
    s = simulated_summary(3_000, 9)
    # WHEN fitted and predicted with a 10% discount rate
    models = fit_models(s)
    table = predict.predict(s, models, 0.10).to_pandas()
    # THEN the models are fitted and each prediction column is sane
    assert models.status == "fitted", models.message
    assert list(table.columns) == list(predict.PREDICTION_COLUMNS)
    assert len(table) == 3_000 and set(table["model_status"]) == {"fitted"}
    # one-time buyers can have left too (Pareto/NBD): the longer ago their only purchase, the likelier
    one_time = table.loc[table["frequency"] == 0].sort_values("tenure_days")
    assert (one_time["p_alive"] < 1.0).all() and (np.diff(one_time["p_alive"].to_numpy()) <= 1e-12).all()
    assert table["p_alive"].between(0, 1).all()
    assert (table["expected_purchases_365d"] >= table["expected_purchases_90d"]).all()
    assert (table["expected_purchases_90d"] >= 0).all()
    assert np.isfinite(table["predicted_clv_12m"]).all() and (table["predicted_clv_12m"] >= 0).all()
    # AND discounting makes the CLV smaller than undiscounted purchases x spend (margin unknown: share 1)
    undiscounted = table["expected_purchases_365d"] * table["expected_avg_spend"]
    assert (table["predicted_clv_12m"] <= undiscounted + 1e-9).all()
    assert table["predicted_clv_12m"].sum() == pytest.approx(undiscounted.sum(), rel=0.06)
