"""The CLV stage against a DuckDB warehouse in tmp_path: reads purchase days, writes analytics, idempotent."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from customer360.clv import simulate, stage
from customer360.clv.bgnbd import BgNbdParams
from customer360.clv.gamma_gamma import GammaGammaParams
from customer360.settings import Settings
from customer360.warehouse import connect

AS_OF = date(2025, 6, 30)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A warehouse with intermediate.int_customer_purchase_days for 2,000 simulated customers, plus one
    customer whose only purchase is after AS_OF."""
    settings = Settings(home=tmp_path)
    rng = np.random.default_rng(12)
    n = 2_000
    customers = simulate.draw_customers(n, BgNbdParams(0.5, 40.0, 0.8, 2.5), GammaGammaParams(6, 4, 15), rng)
    events = simulate.simulate_purchase_days(
        customers, 6.0, np.floor(rng.uniform(0, 500, n)), date(2025, 9, 30), date(2024, 1, 1), rng
    )
    batch = pa.table(
        {
            "customer_id": pa.array(np.char.add("c", events["customer_index"].astype(str))),
            "purchase_date": pa.array(events["purchase_date"]),
            "net_amount": events["net_amount"],
        }
    )
    with connect(settings) as con:
        con.execute("create schema intermediate")
        con.register("events", batch)
        con.execute(
            """
            create table intermediate.int_customer_purchase_days as
            select customer_id, purchase_date, count(*) as order_count, sum(net_amount) as net_amount,
                   0.25 * sum(net_amount) as margin_amount
            from events group by all
            union all
            select 'late-joiner', date '2025-07-15', 1, 80.0, 20.0
            """
        )
    return settings


def test_given_purchase_days_when_stage_runs_twice_then_same_predictions_and_one_run_per_model(
    settings: Settings,
) -> None:
    # WHEN the stage runs, and runs again for the same date (a retry)
    first = stage.run(settings, AS_OF, "run-1")
    second = stage.run(settings, AS_OF.isoformat(), "run-2")
    with connect(settings, read_only=True) as con:
        expected_customers = con.execute(
            "select count(distinct customer_id) from intermediate.int_customer_purchase_days "
            "where purchase_date <= ?",
            [AS_OF],
        ).fetchall()[0][0]
        predictions = con.execute(
            "select * from analytics.customer_clv_predictions order by customer_id"
        ).df()
        runs = con.execute("select * from analytics.clv_model_runs order by model").df()
    # THEN both models are fitted on the customers seen up to AS_OF, and nothing after AS_OF is used
    assert first["model_status"] == "fitted", first["message"]
    assert first["n_customers"] == second["n_customers"] == expected_customers
    assert len(predictions) == expected_customers and predictions["customer_id"].is_unique
    assert "late-joiner" not in set(predictions["customer_id"])
    assert set(predictions["as_of_date"].astype(str)) == {"2025-06-30"}
    assert (predictions["tenure_days"] <= (AS_OF - date(2024, 1, 1)).days).all()
    # AND the retry replaced rather than appended: one run row per model, from the latest run
    assert runs["model"].tolist() == ["gamma_gamma", "pareto_nbd"]
    assert set(runs["run_id"]) == {"run-2"}
    assert runs["converged"].all() and set(runs["status"]) == {"fitted"}
    assert runs.set_index("model").loc["pareto_nbd", "n_customers"] == expected_customers
    assert first["models"]["pareto_nbd"]["params"] == pytest.approx(second["models"]["pareto_nbd"]["params"])
    # AND the margin share (25%) flows into CLV: CLV <= 25% of undiscounted expected revenue
    revenue = predictions["expected_purchases_365d"] * predictions["expected_avg_spend"]
    assert (predictions["predicted_clv_12m"] <= 0.25 * revenue + 1e-9).all()
    assert predictions["predicted_clv_12m"].sum() > 0.2 * revenue.sum()


def test_given_two_dates_when_stage_runs_then_each_date_keeps_its_own_rows(settings: Settings) -> None:
    stage.run(settings, AS_OF, "run-a")
    stage.run(settings, date(2025, 3, 31), "run-b")
    with connect(settings, read_only=True) as con:
        per_date = dict(
            con.execute(
                "select cast(as_of_date as varchar), count(*) from analytics.clv_model_runs group by 1"
            ).fetchall()
        )
        earlier = con.execute(
            "select count(*) from analytics.customer_clv_predictions where as_of_date = date '2025-03-31'"
        ).fetchall()[0][0]
        later = con.execute(
            "select count(*) from analytics.customer_clv_predictions where as_of_date = date '2025-06-30'"
        ).fetchall()[0][0]
    assert per_date == {"2025-06-30": 2, "2025-03-31": 2}
    assert 0 < earlier < later


def test_given_warehouse_without_purchase_days_when_stage_runs_then_error_names_table_and_fix(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(LookupError, match=r"intermediate\.int_customer_purchase_days is missing.*dbt"):
        stage.run(settings, AS_OF, "run-x")


def test_given_bad_as_of_date_when_stage_runs_then_error_says_expected_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an ISO date"):
        stage.run(Settings(home=tmp_path), "30/06/2025", "run-x")
