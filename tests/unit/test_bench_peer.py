"""The pandas peer of the bench (customer360_dev.bench.peer, customer360_dev.bench.pandas_models): it
computes what the dbt models compute, to the cent and the quintile, on a tiny warehouse whose amounts tie
exactly in decimal while their float sums differ in the last bit.

The SQL side is the models' own SQL: the module compiles int_customer_purchase_days, customer_rfm and
customer_clv with dbt (in-process, tests/support/dbt_runner.py) for a warehouse holding only what they read.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from customer360.model_runs import MODEL_RUNS_DDL
from customer360.settings import Settings
from customer360.warehouse import MARTS_FILE, connect
from customer360_dev.bench import peer
from customer360_dev.bench.pandas_models import (
    PeerInputs,
    customer_rfm,
    pandas_models,
    purchase_days,
    scores_by_value,
)
from customer360_dev.bench.polars_models import polars_models
from tests.support import dbt_runner

SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "rfm_segment_map.csv"
AS_OF = date(2026, 11, 24)
WINDOW_DAYS = 365

# (source_channel, order_id, line_number, customer_id, ordered_date, is_revenue, net_amount, margin_amount)
ORDER_LINES = [
    # A's two lines of one order sum to 0.30 exactly; as floats 0.10 + 0.20 = 0.30000000000000004 > 0.30
    ("web", "W-1", 1, "C-A", "2026-11-01", True, "0.10", "0.05"),
    ("web", "W-1", 2, "C-A", "2026-11-01", True, "0.20", None),
    # B: one line of 0.30, the same day: ties with A on recency, frequency and money
    ("pos", "W-1", 1, "C-B", "2026-11-01", True, "0.30", "0.10"),
    ("web", "W-2", 1, "C-C", "2026-10-01", True, "1.00", "0.40"),
    # D: a web and a store order with the same id on one day are two orders; a cancelled one is no revenue
    ("web", "X-9", 1, "C-D", "2026-06-01", True, "1.50", "0.50"),
    ("pos", "X-9", 1, "C-D", "2026-06-01", True, "0.50", "0.20"),
    ("web", "W-4", 1, "C-D", "2026-07-01", False, "9.00", "3.00"),
    ("web", "W-5", 1, "C-E", "2025-11-25", True, "5.00", "1.00"),  # first day of the window
    ("web", "W-6", 1, "C-F", "2025-11-24", True, "7.00", "2.00"),  # one day before it: history, not RFM
    ("pos", "T-7", 1, None, "2026-11-02", True, "3.00", "1.00"),  # no resolved customer
]
CUSTOMERS = ["C-A", "C-B", "C-C", "C-D", "C-E", "C-F", "C-G"]  # C-G never ordered


def _write_inputs(path: Path) -> None:
    """The relations the three models read: order lines, their order roll-up, customers, predictions, seed."""
    with duckdb.connect(str(path)) as con:
        for schema in ("intermediate", "analytics", "seeds"):
            con.execute(f"create schema {schema}")
        # The DuckDB target's marts: in their own file beside the warehouse, attached as marts, in the
        # snapshot's storage version (dbt's profile attaches it so)
        version = Settings().snapshot_storage_version
        con.execute(f"attach '{path.parent / MARTS_FILE}' as marts (storage_version '{version}')")
        con.execute(
            "create table intermediate.int_order_lines_unioned (source_channel varchar, order_id varchar, "
            "line_number integer, customer_id varchar, ordered_date date, is_revenue boolean, "
            "net_amount decimal(18, 2), margin_amount decimal(18, 2))"
        )
        con.executemany(
            "insert into intermediate.int_order_lines_unioned values (?, ?, ?, ?, ?, ?, ?, ?)", ORDER_LINES
        )
        con.execute(
            "create table marts.fct_orders as select source_channel, order_id, "
            "max(customer_id) as customer_id, min(ordered_date) as ordered_date, "
            "bool_or(is_revenue) as is_revenue, "
            "cast(sum(net_amount) as decimal(18, 2)) as net_amount, cast(case when count(margin_amount) = "
            "count(*) then sum(margin_amount) end as decimal(18, 2)) as margin_amount "
            "from intermediate.int_order_lines_unioned group by all"
        )
        con.execute("create table marts.dim_customers (customer_id varchar)")
        con.executemany("insert into marts.dim_customers values (?)", [(c,) for c in CUSTOMERS])
        con.execute(
            "create table analytics.customer_clv_predictions as select customer_id, "
            "cast(? as date) as as_of_date, 0.5 as p_alive, 1.0 as expected_purchases_90d, "
            "2.0 as expected_purchases_365d, 10.0 as expected_avg_spend, 20.0 + len(customer_id) as "
            "predicted_clv_12m, 'fitted' as model_status from marts.dim_customers where customer_id < 'C-F'",
            [AS_OF],
        )
        con.execute(
            "insert into analytics.customer_clv_predictions select customer_id, date '2026-11-23', 0.1, 0.1, "
            "0.1, 0.1, 0.1, 'fitted' from marts.dim_customers"  # another date: not read
        )
        con.execute(f"create table seeds.rfm_segment_map as select * from read_csv('{SEED}')")
        con.execute(MODEL_RUNS_DDL)  # customer_clv reads the CLV model's version of the date


@pytest.fixture(scope="module")
def compiled_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home whose warehouse holds the inputs and whose dbt target folder holds the models compiled for
    AS_OF (as a pipeline run leaves them)."""
    home = tmp_path_factory.mktemp("peer")
    settings = Settings(home=home, warehouse_path=home / "warehouse" / "customer360.duckdb", duckdb_threads=2)
    settings.warehouse_path.parent.mkdir(parents=True)
    _write_inputs(settings.warehouse_path)
    env = {"CUSTOMER360_TARGET": "duckdb", "CUSTOMER360_WAREHOUSE_PATH": str(settings.warehouse_path)}
    selected = ["--select", *peer.PEER_MODELS]
    call = dbt_runner.run_dbt(
        ["compile", *selected, *dbt_runner.dbt_vars(AS_OF.isoformat())], home / "dbt", env
    )
    assert call.success, call.report()
    return settings


def _inputs(settings: Settings) -> PeerInputs:
    with connect(settings, read_only=True) as con:  # the marts file attached as marts
        return peer.load_inputs(con)


def test_given_values_with_ties_when_scored_by_value_then_equal_values_share_a_score():
    # GIVEN seven values, two pairs of them equal, and a missing one
    values = pd.Series([10.0, 20.0, 20.0, 30.0, 40.0, 40.0, None])
    # WHEN scored as customer_rfm scores them: 1 + floor(5 x (rank - 1) / (n - 1)), capped at 5
    scores = scores_by_value(values).tolist()
    # THEN ranks 1, 2, 2, 4, 5, 5, 7 give 1, 1, 1, 3, 4, 4, 5: ties share a score, the null ranks last
    assert scores == [1, 1, 1, 3, 4, 4, 5]
    assert scores_by_value(pd.Series([7.0])).tolist() == [1]


def test_given_sums_tied_in_decimal_but_not_as_floats_when_scored_then_both_get_the_same_scores(
    compiled_home: Settings,
):
    # GIVEN A's 0.10 + 0.20 and B's 0.30: equal in decimal, not as floats
    assert 0.10 + 0.20 != 0.30
    # WHEN pandas scores the customers
    rfm = pandas_models(_inputs(compiled_home), AS_OF, WINDOW_DAYS)["customer_rfm"].set_index("customer_id")
    # THEN both have 30 cents and, equal on every measure, the same scores (no id breaks the tie)
    assert rfm.loc["C-A", "monetary_cents"] == rfm.loc["C-B", "monetary_cents"] == 30
    a, b = rfm.loc[["C-A", "C-B"], ["r_score", "f_score", "m_score"]].to_numpy().tolist()
    assert a == b


def test_given_the_compiled_models_when_the_peer_compares_then_sql_and_pandas_give_the_same_rows(
    compiled_home: Settings,
):
    result = peer.compare(compiled_home, AS_OF, rounds=1)
    assert result["sql_models"] == list(peer.PEER_MODELS)
    assert result["customers_scored"] == 5  # A-E; F bought one day before the window, G never
    assert result["purchase_day_mismatches"] == 0
    assert result["rfm_score_mismatches"] == 0
    assert result["historical_value_mismatches"] == 0
    assert result["polars_mismatches"] == dict.fromkeys(peer.PEER_MODELS, 0)
    assert result["polars_seconds"] > 0
    assert set(result["cpu_seconds"]) == {"pandas", "polars", "sql"}


def test_given_purchases_at_the_window_edge_when_rfm_is_computed_then_the_window_holds_window_days_days(
    compiled_home: Settings,
):
    inputs = _inputs(compiled_home)
    days = purchase_days(inputs.order_lines, AS_OF)
    rfm = customer_rfm(days, inputs.segment_map, AS_OF, WINDOW_DAYS).set_index("customer_id")
    assert rfm.loc["C-E", "recency_days"] == WINDOW_DAYS - 1  # 2025-11-25, the window's first day
    assert "C-F" not in rfm.index  # 2025-11-24: a day earlier
    assert "C-F" in set(days["customer_id"])  # still a purchase day (the CLV stage's history)


def test_given_a_web_and_a_store_order_with_one_id_when_days_are_rolled_up_then_they_count_as_two_orders(
    compiled_home: Settings,
):
    days = purchase_days(_inputs(compiled_home).order_lines, AS_OF).set_index("customer_id")
    assert days.loc["C-D", "order_count"] == 2
    assert days.loc["C-D", "net_cents"] == 200  # the cancelled order is not revenue
    assert days.loc["C-A", "order_count"] == 1
    assert days.loc["C-A", "margin_cents"] == 5  # the line without a margin is left out of the sum


def test_given_one_changed_value_and_one_missing_row_when_compared_then_both_count_and_nulls_are_equal():
    left = pd.DataFrame({"customer_id": ["a", "b", "c"], "x": [1, None, 3], "s": ["p", None, "r"]})
    right = pd.DataFrame({"customer_id": ["a", "b"], "x": [1, None], "s": ["p", None]})
    assert peer.row_mismatches(left, right, ["customer_id"]) == 1
    right = pd.DataFrame({"customer_id": ["a", "b", "c"], "x": [1, None, 4], "s": ["p", None, "r"]})
    assert peer.row_mismatches(left, right, ["customer_id"]) == 1
    assert peer.row_mismatches(left, left.copy(), ["customer_id"]) == 0


def test_given_models_compiled_for_another_date_when_compared_then_it_stops_and_says_which_date(
    compiled_home: Settings,
):
    with pytest.raises(ValueError, match="not compiled for as-of date 2026-11-25"):
        peer.compare(compiled_home, date(2026, 11, 25))


def test_given_sums_tied_in_decimal_and_a_cancelled_order_when_polars_computes_then_it_matches_pandas(
    compiled_home: Settings,
):
    # GIVEN the inputs as pandas and as polars frames (the same relations)
    with connect(compiled_home, read_only=True) as con:
        polars_inputs = peer.load_polars_inputs(con)
    # WHEN both peers compute the three models
    expected = pandas_models(_inputs(compiled_home), AS_OF, WINDOW_DAYS)
    got = peer._as_pandas(polars_models(polars_inputs, AS_OF, WINDOW_DAYS))
    # THEN every row agrees: tied sums share scores, a line without a margin is left out, a purchaser
    # without a prediction is 'failed' and a customer without purchases 'no_purchase'
    for name in peer.PEER_MODELS:
        assert (
            peer.row_mismatches(got[name][list(expected[name].columns)], expected[name], peer.KEYS[name]) == 0
        )
    rfm = got["customer_rfm"].set_index("customer_id")
    assert rfm.loc["C-A", ["r_score", "f_score", "m_score"]].tolist() == (
        rfm.loc["C-B", ["r_score", "f_score", "m_score"]].tolist()
    )
    status = got["customer_clv"].set_index("customer_id")["model_status"]
    assert status["C-G"] == "no_purchase"
