"""The Differentiate, Interact and Customize marts end to end on the fixture warehouse with interactions.

One module-scoped build in the pipeline's order: raw fixture (``with_interactions=True``) -> `dbt build
--selector staging` (seeds and models; its tests run in test_dbt_project.py) -> fixture identity
tables -> `dbt build --selector core` -> the real CLV stage, ``load_features`` and the real churn
stage (both fall back cleanly on five customers) -> `dbt build --selector analytics`. The marts and
analytics builds run the data tests and dbt unit tests of what they select; the tests below read the
warehouse. dbt runs in-process with target and log paths in tmp.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from customer360.churn.features import PURCHASE_FEATURE_COLUMNS, REQUIRED_COLUMNS, purchase_features
from customer360.churn.warehouse_features import load_features
from customer360.model_artifacts import refit_date
from customer360.model_runs import run_models
from customer360.settings import Settings
from tests.support import dbt_runner, raw_warehouse
from tests.support.warehouse_files import open_warehouse

AS_OF_DATE = "2026-11-24"
AS_OF = date(2026, 11, 24)
REFIT = refit_date(AS_OF, Settings().model_refit_days)  # the models' refit date (a Monday: 2026-11-23)
TRAINING = REFIT - timedelta(days=90)  # the churn model's feature date (horizon 90 days)
HORIZON_DAYS = 90


def _vars(as_of_date: str | None) -> list[str]:
    return dbt_runner.dbt_vars(as_of_date, pseudonym_salt="test-salt")


@dataclass
class Built:
    path: Path
    work_dir: Path
    env: dict[str, str]
    settings: Settings
    marts: object
    analytics: object
    features: pd.DataFrame

    def dbt(self, args: list[str]) -> object:
        return dbt_runner.run_dbt(args, self.work_dir, self.env)

    def query(self, sql: str) -> list[tuple]:
        with open_warehouse(self.path) as con:
            return con.execute(sql).fetchall()

    def frame(self, sql: str) -> pd.DataFrame:
        with open_warehouse(self.path) as con:
            return con.execute(sql).df()

    def customer(self, email: str) -> str:
        rows = self.query(f"select customer_id from restricted.dim_customer_pii where email = '{email}'")
        assert len(rows) == 1, f"expected one customer with email {email}, got {rows}"
        return rows[0][0]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    work_dir = tmp_path_factory.mktemp("dbt_marts")
    path = work_dir / "wh.duckdb"
    env = {
        "CUSTOMER360_TARGET": "duckdb",
        "CUSTOMER360_WAREHOUSE_PATH": str(path),
        "CUSTOMER360_DUCKDB_THREADS": "2",
        "CUSTOMER360_DUCKDB_MEMORY_LIMIT": "1GB",
    }
    raw_warehouse.build_raw_warehouse(path, with_interactions=True)
    # The staging layer's own tests run in test_dbt_project.py; here it only needs building.
    staging_args = [
        "build",
        "--selector",
        "staging",
        "--resource-type",
        "seed",
        "--resource-type",
        "model",
    ]
    staging = dbt_runner.run_dbt([*staging_args, *_vars(AS_OF_DATE)], work_dir, env)
    assert staging.success, staging.report()
    raw_warehouse.build_identity_tables(path)
    marts = dbt_runner.run_dbt(["build", "--selector", "core", *_vars(AS_OF_DATE)], work_dir, env)
    assert marts.success, marts.report()

    settings = Settings(home=work_dir, warehouse_path=path, churn_horizon_days=HORIZON_DAYS, duckdb_threads=2)
    # the pipeline's models stage (CLV, then churn with the refit date's window), then the features it read
    run_models(settings, AS_OF, "test-run")
    features = load_features(settings, AS_OF, REFIT)

    analytics = dbt_runner.run_dbt(["build", "--selector", "analytics", *_vars(AS_OF_DATE)], work_dir, env)
    assert analytics.success, analytics.report()
    return Built(path, work_dir, env, settings, marts, analytics, features)


def _names(statuses: dict[str, str], prefix: str) -> set[str]:
    return {uid.split(".")[-1] for uid in statuses if uid.startswith(prefix)}


def test_given_the_layers_when_built_in_order_then_marts_wait_for_analytics_only_where_they_read_it(
    built: Built,
) -> None:
    marts_models = _names(built.marts.statuses, "model.")
    analytics_models = _names(built.analytics.statuses, "model.")
    assert {
        "int_support_ticket_versions",
        "int_survey_responses_linked",
        "int_marketing_events_linked",
        "int_churn_features",
        "fct_support_tickets",
        "fct_interactions",
        "service_quality_daily",
        "service_quality_weekly",
        "product_return_rates",
        "customer_category_breadth",
        "customer_profile_completeness",
        "customer_service_summary",
        "customer_satisfaction",
        "satisfaction_by_segment",
        "customer_contact_profile",
        "customer_influence",
        "customer_lifecycle",
        "customer_lifecycle_transitions",
        "kpi_daily",
        "fct_survey_responses",
        "customer_lifecycle_history",
    } <= marts_models
    assert analytics_models == {
        "customer_clv",
        "customer_value_tiers",
        "customer_churn_risk",
        "customer_next_best_action",
        "customer_audience_attributes",
        "model_runs",
        "clv_holdout_validation",
        "revenue_at_risk",
        # the semantic layer's time spine (models/analytics/semantic): a calendar, published with the marts
        "metricflow_time_spine",
    }
    assert not marts_models & analytics_models
    unit_tests = " ".join(
        _names(built.marts.statuses, "unit_test.") | _names(built.analytics.statuses, "unit_test.")
    )
    for name in (
        "int_support_ticket_versions_first_contact_resolution",
        "fct_support_tickets_latest_version_and_sla",
        "service_quality_daily_fcr_and_sla_adherence",
        "satisfaction_by_segment_nps_standard_way",
        "customer_influence_score_and_hidden_gem",
        "customer_next_best_action_precedence_and_consent",
        "customer_value_tiers_realised_value_contribution_and_warnings",
        "customer_lifecycle_stages",
        "service_quality_weekly_percentiles_per_week_and_channel",
        "product_return_rates_per_product_and_category",
        "customer_category_breadth_cross_sell_candidates",
        "customer_profile_completeness_facts_and_growth",
        "customer_next_best_action_contact_cap",
        "customer_service_summary_complaint_windows",
        "kpi_daily_figures_per_date_from_facts",
        "revenue_at_risk_weights_revenue_by_churn_score_per_band",
        "int_customer_lifecycle_checkpoints_changes_dated_by_the_facts",
        "customer_lifecycle_history_periods_from_daily_stages",
    ):
        assert name in unit_tests
    # the history marts end in the current marts (dbt_project/tests/assert_*_history_*.sql), every core build
    history_checks = {
        uid.split(".")[2]: status
        for uid, status in built.marts.statuses.items()
        if uid.startswith("test.") and "_history_of_the_as_of_date_" in uid
    }
    assert history_checks == {
        "assert_rfm_history_of_the_as_of_date_is_customer_rfm": "pass",
        "assert_lifecycle_history_of_the_as_of_date_is_customer_lifecycle": "pass",
    }


def test_given_every_customer_when_next_best_action_runs_then_each_gets_exactly_one_action(
    built: Built,
) -> None:
    rows, distinct, customers = built.query(
        """
        select
            (select count(*) from marts.customer_next_best_action),
            (select count(distinct customer_id) from marts.customer_next_best_action),
            (select count(*) from marts.dim_customers)
        """
    )[0]
    assert rows == distinct == customers == 5


def test_given_a_gold_tier_a_customer_with_an_sla_breach_when_actions_are_chosen_then_service_recovery_wins(
    built: Built,
) -> None:
    anna = built.customer("anna.devries@example.com")
    tier, gold = built.query(
        f"select value_tier, is_gold from marts.customer_value_tiers where customer_id = '{anna}'"
    )[0]
    assert (tier, gold) == ("A", True)  # she would qualify for VIP care ...
    action = built.query(
        "select action_code, priority, contact_channel, rule_id, reason from marts.customer_next_best_action "
        f"where customer_id = '{anna}'"
    )[0]
    # ... but the breach of TK-3 (due 2026-11-11) and her CSAT 2 come first, and the service desk may call
    assert action == (
        "service_recovery",
        1,
        "phone",
        "NBA-01",
        "SLA breached on ticket TK-3 on 2026-11-11; CSAT 2 on 2026-11-13",
    )


def test_given_a_hidden_gem_without_consent_when_actions_are_chosen_then_no_channel_and_the_reason_says_so(
    built: Built,
) -> None:
    carla = built.customer("carla@example.org")
    dirk = built.customer("dirk@example.nl")
    rows = dict(
        (r[0], r[1:])
        for r in built.query(
            "select customer_id, action_code, contact_channel, reason from marts.customer_next_best_action"
        )
    )
    code, channel, reason = rows[carla]
    assert (code, channel) == ("engage_advocate", "none")
    assert reason.startswith(
        "influence score 87.6 (percentile 1.00) at spend percentile 0.00: 3 converted referrals, 3 reviews"
    )
    assert reason.endswith("not contacted: no channel with consent and a valid address")
    assert rows[dirk] == ("no_action", "none", "no rule matched")


def test_given_known_tickets_when_facts_are_built_then_fcr_and_sla_follow_the_definitions(
    built: Built,
) -> None:
    rows = {
        r[0]: r[1:]
        for r in built.query(
            "select ticket_id, sla_hours, hours_to_resolve, is_first_contact_resolution, is_sla_met, "
            "options_offered_count, is_closed_with_alternative, status from marts.fct_support_tickets"
        )
    }
    # resolved in 48 h at the first contact, against 24 h: FCR, but a breach; three options, voucher taken
    assert rows["TK-3"] == (24, 48.0, True, False, 3, True, "resolved")
    # default 24 h SLA, reopened and closed 23 h after opening: SLA met, not FCR; the latest version is shown
    assert rows["TK-4"] == (24, 23.0, False, True, 0, False, "closed")
    # resolved exactly at its 48-hour due time: met
    assert rows["TK-1"][:4] == (48, 48.0, False, True)
    # still open after its SLA ran out: a breach while open
    assert rows["TK-5"][3] is False and rows["TK-2"][3] is False

    quality = built.query(
        "select cast(service_date as varchar), channel, fcr_rate, sla_adherence_rate, "
        "alternative_close_share from marts.service_quality_daily where tickets_resolved > 0 order by 1"
    )
    assert quality == [
        ("2026-06-10", "email", 0.0, 1.0, 0.0),
        ("2026-11-10", "chat", 1.0, 0.0, 1.0),
        ("2026-11-15", "email", 0.0, 1.0, None),
    ]


def test_given_survey_answers_when_satisfaction_is_aggregated_then_nps_matches_a_count_by_hand(
    built: Built,
) -> None:
    answers = built.frame(
        """
        select coalesce(r.rfm_segment, 'Not segmented') as rfm_segment,
            coalesce(s.touchpoint, 'unknown') as touchpoint, s.nps_score
        from intermediate.int_survey_responses_linked as s
        left join marts.customer_rfm as r using (customer_id)
        """
    )
    expected = {}
    for (segment, touchpoint), group in answers.groupby(["rfm_segment", "touchpoint"]):
        scores = group["nps_score"].dropna()
        promoters, detractors = int((scores >= 9).sum()), int((scores <= 6).sum())
        expected[(segment, touchpoint)] = (
            100.0 * (promoters - detractors) / len(scores) if len(scores) else None
        )
    actual = {
        (r[0], r[1]): r[2]
        for r in built.query("select rfm_segment, touchpoint, nps from marts.satisfaction_by_segment")
    }
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert (actual[key] is None) if value is None else math.isclose(actual[key], value), key
    # Bob's NPS 3 makes his (Lost, delivery) cell -100; Carla's 10 and Anna's 9 are promoters
    assert actual[("Lost", "delivery")] == -100.0

    bob = built.customer("bob.smith@gmail.com")
    carla = built.customer("carla@example.org")
    satisfaction = {
        r[0]: r[1:]
        for r in built.query(
            "select customer_id, latest_nps, nps_category, csat_trend, avg_expectation_gap "
            "from marts.customer_satisfaction"
        )
    }
    assert satisfaction[bob] == (3, "detractor", None, 1.0)
    assert satisfaction[carla][:3] == (10, "promoter", "declining")  # CSAT 5 in July, 4 in November


def test_given_window_revenue_when_tiers_are_cut_then_a_holds_the_first_80_percent_of_value(
    built: Built,
) -> None:
    tiers = built.frame(
        "select customer_id, value_amount, value_tier, cumulative_value_share, is_gold "
        "from marts.customer_value_tiers order by value_amount desc, customer_id"
    )
    values = tiers["value_amount"].astype(float)
    total = values[values > 0].sum()
    before = (values.cumsum() - values) / total
    expected_tiers = ["A" if b < 0.80 else "B" if b < 0.95 else "C" for b in before]
    expected_tiers = [t if v > 0 else "C" for t, v in zip(expected_tiers, values, strict=True)]
    assert tiers["value_tier"].tolist() == expected_tiers
    a_share = values[tiers["value_tier"] == "A"].sum() / total
    assert a_share >= 0.80
    # Anna 132.50, Bob 110.00 -> A (together 81.5%); Wang 55.00 -> B; Carla and Dirk without revenue -> C
    assert tiers["value_tier"].tolist() == ["A", "A", "B", "C", "C"]
    assert [round(s, 4) for s in tiers["cumulative_value_share"][:3]] == [0.4454, 0.8151, 1.0]
    # gold: ceil(5% of the 3 buyers) = 1, the highest realised value (Anna), whatever the predicted CLV
    gold = built.query("select customer_id from marts.customer_value_tiers where is_gold")
    assert gold == [(built.customer("anna.devries@example.com"),)]


def test_given_the_fixture_when_lifecycle_and_contact_profile_build_then_stages_and_consent_are_right(
    built: Built,
) -> None:
    stages = dict(built.query("select customer_id, lifecycle_stage from marts.customer_lifecycle"))
    wang = built.customer("wang.xm@qq.com")
    assert stages[built.customer("anna.devries@example.com")] == "repeat"
    assert stages[wang] == "at_risk"  # last order 76 days ago
    assert stages[built.customer("bob.smith@gmail.com")] == "lapsed"
    # Carla never bought but referred, reviewed and shared: a first contact, not a mere potential
    assert stages[built.customer("carla@example.org")] == "first_contact"
    # Wang opted in to SMS in CRM (2026-03-03) and unsubscribed on 2026-11-15: no SMS, but the desk may call
    assert built.query(
        "select sms_opt_in, is_unsubscribed, can_contact_sms, can_contact_phone_for_service "
        f"from marts.customer_contact_profile where customer_id = '{wang}'"
    ) == [(True, True, False, True)]


def test_given_influence_events_when_scored_then_the_non_buying_advocate_is_a_hidden_gem(
    built: Built,
) -> None:
    rows = built.query(
        "select customer_id, referrals_made, referrals_converted, reviews, followers, influence_score, "
        "influence_percentile, spend_percentile, is_hidden_gem "
        "from marts.customer_influence where is_hidden_gem"
    )
    assert rows == [(built.customer("carla@example.org"), 4, 3, 3, 6000, 87.6, 1.0, 0.0, True)]
    # referral_converted is an outcome, not a contact: it is not an interaction
    assert built.query("select count(*) from marts.fct_interactions where interaction_type = 'referral'") == [
        (4,)
    ]


def test_given_the_dbt_feature_table_when_compared_with_python_purchase_features_then_they_agree(
    built: Built,
) -> None:
    purchase_days = built.frame("select * from intermediate.int_customer_purchase_days")
    for feature_date in (TRAINING, AS_OF):
        reference = purchase_features(purchase_days, feature_date).set_index("customer_id")
        ours = built.frame(
            f"select * from intermediate.int_churn_features where feature_date = date '{feature_date}' "
            "and recency_days is not null"
        ).set_index("customer_id")
        assert sorted(ours.index) == sorted(reference.index)
        pd.testing.assert_frame_equal(
            ours.loc[reference.index, list(PURCHASE_FEATURE_COLUMNS)],
            reference.loc[:, list(PURCHASE_FEATURE_COLUMNS)],
            check_dtype=False,
        )


def test_given_the_run_when_features_load_then_bgnbd_columns_match_the_clv_predictions_of_the_date(
    built: Built,
) -> None:
    features = built.features
    assert list(features.columns) == list(REQUIRED_COLUMNS)
    assert set(features["feature_date"]) == {TRAINING, REFIT, AS_OF}
    now = features.loc[features["feature_date"] == AS_OF].set_index("customer_id")
    predictions = built.frame(
        f"select customer_id, p_alive, expected_purchases_90d from analytics.customer_clv_predictions "
        f"where as_of_date = date '{AS_OF_DATE}'"
    ).set_index("customer_id")
    pd.testing.assert_frame_equal(
        now.loc[predictions.index, ["p_alive", "expected_purchases_90d"]], predictions, check_exact=False
    )
    wang = built.customer("wang.xm@qq.com")
    assert now.loc[wang, ["complaints_90d", "sla_breaches_90d"]].tolist() == [1.0, 2.0]
    # Anna's first purchase is after T: not in T's churn population
    anna = built.customer("anna.devries@example.com")
    then = features.loc[features["feature_date"] == TRAINING].set_index("customer_id")
    assert math.isnan(then.loc[anna, "recency_days"]) and math.isnan(then.loc[anna, "p_alive"])
    risk = built.query(
        "select churn_score, baseline_score, model_status from marts.customer_churn_risk "
        f"where customer_id = '{wang}'"
    )
    assert risk[0][2] == "fallback" and math.isclose(risk[0][0], risk[0][1])


def test_given_the_marts_when_kpi_daily_is_built_then_its_as_of_row_agrees_with_the_marts_of_that_date(
    built: Built,
) -> None:
    """GIVEN the built fixture WHEN kpi_daily is read THEN it holds the 28 dates up to the as-of date, and the
    as-of date's row counts what the other marts of that date count: active customers = lifecycle customers
    who bought less than the horizon ago, at risk = those of them at half the horizon or more, net revenue of
    the 30 days = fct_orders' revenue orders of (D-30, D], complaints = fct_support_tickets' of those days,
    NPS = (promoters - detractors) / answers of (D-90, D]."""
    dates = built.query("select count(*), min(kpi_date), max(kpi_date) from marts.kpi_daily")
    assert dates == [(28, AS_OF - timedelta(days=27), AS_OF)]
    kpi = built.frame(f"select * from marts.kpi_daily where kpi_date = date '{AS_OF_DATE}'").iloc[0]
    lifecycle = built.query(
        f"""select count(*) filter (where days_since_last_order < {HORIZON_DAYS}),
                   count(*) filter (where days_since_last_order < {HORIZON_DAYS}
                                    and days_since_last_order * 2 >= {HORIZON_DAYS})
            from marts.customer_lifecycle"""
    )[0]
    assert (kpi["active_customers"], kpi["customers_at_risk"]) == lifecycle
    revenue = built.query(
        f"""select count(*), coalesce(sum(net_amount), 0) from marts.fct_orders
            where is_revenue and currency = 'EUR' and ordered_date > date '{AS_OF_DATE}' - 30
                and ordered_date <= date '{AS_OF_DATE}'"""
    )[0]
    assert (kpi["orders_30d"], kpi["net_revenue_30d"]) == revenue
    complaints = built.query(
        f"""select count(*) from marts.fct_support_tickets where is_complaint
            and cast(opened_at as date) > date '{AS_OF_DATE}' - 30
            and cast(opened_at as date) <= date '{AS_OF_DATE}'"""
    )[0][0]
    assert kpi["complaints_30d"] == complaints
    promoters, detractors, answers = built.query(
        f"""select count(*) filter (where nps_score >= 9), count(*) filter (where nps_score <= 6),
                   count(nps_score)
            from intermediate.int_survey_responses_linked
            where submitted_date > date '{AS_OF_DATE}' - 90 and submitted_date <= date '{AS_OF_DATE}'"""
    )[0]
    assert kpi["nps_responses_90d"] == answers
    if answers:
        assert kpi["nps_90d"] == pytest.approx(100.0 * (promoters - detractors) / answers)
    assert (
        kpi["customers"]
        == built.query(
            f"select count(*) from marts.dim_customers where not is_deleted "
            f"and cast(first_seen_at as date) <= date '{AS_OF_DATE}'"
        )[0][0]
    )


def test_given_the_churn_scores_when_revenue_at_risk_is_built_then_bands_add_up_to_the_scored_customers(
    built: Built,
) -> None:
    """GIVEN the built fixture's churn scores WHEN revenue_at_risk is read THEN its bands hold every customer
    of customer_churn_risk once, their RFM-window revenue in total, and the score-weighted revenue."""
    bands = built.query(
        "select sum(customers), sum(net_revenue_12m), sum(revenue_at_risk) from marts.revenue_at_risk"
    )[0]
    expected = built.query(
        """select count(*), sum(coalesce(r.monetary, 0)), sum(c.churn_score * coalesce(r.monetary, 0))
           from marts.customer_churn_risk as c left join marts.customer_rfm as r using (customer_id)"""
    )[0]
    assert expected[0] > 0
    assert (bands[0], bands[1]) == (expected[0], expected[1])
    # each band's sum is rounded to cents once: at most half a cent per band (four bands) apart
    assert float(bands[2] or 0) == pytest.approx(float(expected[2] or 0), abs=0.02)


LIFECYCLE_HISTORY = (
    "int_customer_lifecycle_checkpoints customer_lifecycle customer_lifecycle_history "
    "customer_lifecycle_transitions"
)


def _lifecycle_history(built: Built) -> list[tuple]:
    return sorted(built.query("select * from marts.customer_lifecycle_history"), key=repr)


def test_given_the_lifecycle_history_when_a_later_date_runs_then_a_backfill_of_the_earlier_date_restores_it(
    built: Built,
) -> None:
    # GIVEN the lifecycle history built for AS_OF_DATE
    before = _lifecycle_history(built)
    # WHEN a later date builds it
    later = built.dbt(["build", "--select", LIFECYCLE_HISTORY, *_vars("2026-12-20")])
    assert later.success, later.report()
    # THEN by 2026-12-20 Wang's last order (2026-09-09) is 102 days old: at_risk -> lapsed, dated by the
    # facts (90 days after that order), not by the run; every current period is customer_lifecycle's stage
    wang = built.customer("wang.xm@qq.com")
    assert built.query(
        "select cast(changed_on as varchar), from_stage, to_stage from marts.customer_lifecycle_transitions "
        f"where customer_id = '{wang}' order by changed_on desc limit 1"
    ) == [("2026-12-08", "at_risk", "lapsed")]
    current = (
        "select customer_id, lifecycle_stage from marts.customer_lifecycle_history where valid_to is null"
    )
    stages = "select customer_id, lifecycle_stage from marts.customer_lifecycle"
    assert built.query(f"({current} except {stages}) union all ({stages} except {current})") == []
    # WHEN the earlier date runs again (a backfill after a later run) THEN its history is what it was: no
    # period of the later run is left, none ends on or before its start
    again = built.dbt(["build", "--select", LIFECYCLE_HISTORY, *_vars(AS_OF_DATE)])
    assert again.success, again.report()
    assert _lifecycle_history(built) == before
    assert built.query(
        "select count(*) from marts.customer_lifecycle_history where valid_to <= valid_from"
    ) == [(0,)]


def test_given_a_customer_id_merged_away_when_the_next_date_runs_then_it_has_no_lifecycle_history_left(
    built: Built,
) -> None:
    # GIVEN Dirk's id merged away before 2026-12-21 (his row leaves dim_customers, as when identity
    # resolution merges him into another customer)
    dirk = built.customer("dirk@example.nl")
    with open_warehouse(built.path, read_only=False) as con:
        con.execute(
            "create table main.dirk_backup as select * from marts.dim_customers where customer_id = ?", [dirk]
        )
        con.execute("delete from marts.dim_customers where customer_id = ?", [dirk])
    try:
        # WHEN the lifecycle history builds for 2026-12-21
        later = built.dbt(["build", "--select", LIFECYCLE_HISTORY, *_vars("2026-12-21")])
        assert later.success, later.report()
        # THEN the history is today's customers': none of his periods is left, and the current periods are
        # exactly the customers of customer_lifecycle
        assert built.query(
            f"select count(*) from marts.customer_lifecycle_history where customer_id = '{dirk}'"
        ) == [(0,)]
        current, customers = built.query(
            "select (select count(*) from marts.customer_lifecycle_history where valid_to is null), "
            "(select count(*) from marts.customer_lifecycle)"
        )[0]
        assert current == customers == 4
    finally:
        with open_warehouse(built.path, read_only=False) as con:
            con.execute("insert into marts.dim_customers select * from main.dirk_backup")
            con.execute("drop table main.dirk_backup")
        restored = built.dbt(["build", "--select", LIFECYCLE_HISTORY, *_vars(AS_OF_DATE)])
        assert restored.success, restored.report()


# The marts that average or sum values that are neither integers nor decimals (exact_avg / exact_sum), and
# the marts they read (revenue_at_risk: the churn scores, RFM revenue and CLV per customer).
EXACT_AGGREGATE_MARTS = (
    "revenue_at_risk",
    "customer_satisfaction",
    "satisfaction_by_segment",
    "customer_influence",
    "customer_service_summary",
    "kpi_daily",
)
REORDERED_INPUTS = ("customer_churn_risk", "customer_rfm", "customer_clv")


def _mart_rows(built: Built, mart: str) -> list[tuple]:
    return sorted(built.query(f"select * from marts.{mart}"), key=repr)


def test_given_inputs_written_in_reverse_order_when_the_aggregating_marts_rebuild_then_values_are_identical(
    built: Built,
) -> None:
    """GIVEN the built marts WHEN revenue_at_risk's inputs are rewritten in the reverse physical order (the
    same rows) and the marts that sum or average non-decimal values are rebuilt THEN every value is
    byte-identical: exact_sum / exact_avg do not depend on the order rows arrive in (docs/analyst-guide.md,
    "Order-independent aggregates"); a plain double average differed in its last bits across layouts."""
    before = {mart: _mart_rows(built, mart) for mart in EXACT_AGGREGATE_MARTS}
    assert all(before.values()), {m: len(r) for m, r in before.items()}
    with open_warehouse(built.path, read_only=False) as con:
        for table in REORDERED_INPUTS:
            con.execute(f"create temp table reordered as select * from marts.{table}")
            con.execute(f"delete from marts.{table}")
            # descending ids and a hash: a layout unlike the one dbt wrote
            con.execute(f"insert into marts.{table} select * from reordered order by hash(customer_id) desc")
            con.execute("drop table reordered")
    rebuilt = built.dbt(["run", "--select", " ".join(EXACT_AGGREGATE_MARTS), *_vars(AS_OF_DATE)])
    assert rebuilt.success, rebuilt.report()
    after = {mart: _mart_rows(built, mart) for mart in EXACT_AGGREGATE_MARTS}
    for mart in EXACT_AGGREGATE_MARTS:
        assert [repr(row) for row in after[mart]] == [repr(row) for row in before[mart]], mart


def test_given_the_models_then_no_average_bypasses_exact_avg() -> None:
    """GIVEN every dbt model THEN none averages with a bare avg(): an average goes through exact_avg, whose
    result does not depend on row order (a sum of doubles does; a rerun must publish the same values)."""
    models = Path(dbt_runner.PROJECT_DIR, "models")
    bare_avg = re.compile(r"(?<![\w])avg\s*\(", re.IGNORECASE)
    bare = [str(p.relative_to(models)) for p in models.rglob("*.sql") if bare_avg.search(p.read_text())]
    assert bare == []
