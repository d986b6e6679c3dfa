"""The report's trend, revenue-at-risk, satisfaction, weekly-service and since-the-previous-run sections:
their data from tiny hand-made marts (expectations computed by hand), and how the page shows money and
changes."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from customer360.report import charts, queries
from customer360.report.html import PageInfo, _changes_section, _headline
from customer360.settings import Settings


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """Tiny marts: three KPI dates, four churn bands, two weeks of three channels, five satisfaction rows."""
    db = duckdb.connect()
    db.execute(
        """
        create table kpi_daily as select * from (values
            (date '2026-11-22', 'EUR', 10, 8, 2, 100.00::decimal(18, 2), 3, 4, null::double, 0, null::double,
                0),
            (date '2026-11-23', 'EUR', 11, 8, 3, 120.00::decimal(18, 2), 4, 5, -25.0, 4, 1.5, 2),
            (date '2026-11-24', 'EUR', 12, 9, 3, 140.50::decimal(18, 2), 5, 4, 25.0, 4, 3.5, 2)
        ) as t(kpi_date, currency, customers, active_customers, customers_at_risk, net_revenue_30d,
               orders_30d, complaints_30d, nps_90d, nps_responses_90d, avg_csat_90d, csat_responses_90d)
        """
    )
    db.execute(
        """
        create table revenue_at_risk as select * from (values
            ('unscored', 'EUR', 1, null::double, 30.00::decimal(18, 2), null::decimal(18, 2)),
            ('high', 'EUR', 2, 0.5, 150.00, 87.50),
            ('low', 'EUR', 1, 0.125, 200.00, 25.00),
            ('medium', 'EUR', 1, 0.5, 0.00, 0.00)
        ) as t(churn_band, currency, customers, avg_churn_score, net_revenue_12m, revenue_at_risk)
        """
    )
    db.execute(
        """
        create table service_quality_weekly as select * from (values
            (date '2026-11-16', 'all', 3, 25, 12, 0.5, 14, 0.5),
            (date '2026-11-16', 'email', 2, 15, 10, 0.4, 8, 0.625),
            (date '2026-11-16', 'chat', 1, 10, 2, 1.0, 6, 2.0 / 6),
            (date '2026-11-23', 'all', 0, 4, 15, 0.4, 17, 10.0 / 17),
            (date '2026-12-21', 'all', 1, 2, 1, 1.0, 1, 1.0)
        ) as t(week_start, channel, complaints, tickets_opened, fcr_tickets_4w, fcr_rate_4w, sla_tickets_4w,
               sla_rate_4w)
        """
    )
    db.execute(
        """
        create table customer_satisfaction as select * from (values
            ('a', 'detractor'), ('b', 'promoter'), ('c', 'promoter'), ('d', 'passive'), ('e', null)
        ) as t(customer_id, nps_category)
        """
    )
    return db


def test_given_three_kpi_dates_when_changes_are_read_then_the_latest_is_compared_with_the_one_before(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """GIVEN kpi_daily for 11-22, 11-23 and 11-24 WHEN the changes are read THEN 11-24 is compared with 11-23:
    customers 12 vs 11 (+1), revenue 140.50 vs 120.00 (+20.50), complaints 4 vs 5 (-1), NPS 25 vs -25 (+50),
    CSAT 3.5 vs 1.5 (+2), in EUR."""
    changes = queries.kpi_changes(con)
    assert changes is not None
    assert (changes["date"], changes["previous_date"], changes["currency"]) == (
        date(2026, 11, 24),
        date(2026, 11, 23),
        "EUR",
    )
    by_label = {
        label: (kind, value, before, change) for label, kind, value, before, change in changes["rows"]
    }
    assert by_label["customers"] == ("count", 12.0, 11.0, 1.0)
    assert by_label["net revenue, last 30 days"] == ("money", 140.5, 120.0, 20.5)
    assert by_label["complaints, last 30 days"] == ("count", 4.0, 5.0, -1.0)
    assert by_label["NPS, last 90 days"] == ("score", 25.0, -25.0, 50.0)
    assert by_label["average CSAT (1-5), last 90 days"] == ("score", 3.5, 1.5, 2.0)
    assert [label for label, *_ in changes["rows"]] == [label for _c, label, _k in queries.CHANGE_FIGURES]


def test_given_a_figure_missing_on_the_previous_date_when_changes_are_read_then_its_change_is_none(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """GIVEN kpi_daily cut to 11-22 (no NPS) and 11-23 WHEN the changes are read THEN NPS has no change
    while customers has +1; GIVEN a single date THEN there is no previous date; GIVEN none THEN no changes."""
    con.execute("delete from kpi_daily where kpi_date = date '2026-11-24'")
    rows = {label: change for label, _kind, _v, _b, change in queries.kpi_changes(con)["rows"]}
    assert rows["NPS, last 90 days"] is None
    assert rows["customers"] == 1.0
    con.execute("delete from kpi_daily where kpi_date = date '2026-11-22'")
    single = queries.kpi_changes(con)
    assert single["previous_date"] is None
    assert all(change is None for *_rest, change in single["rows"])
    con.execute("delete from kpi_daily")
    assert queries.kpi_changes(con) is None


def test_given_changes_when_the_section_is_rendered_then_money_carries_its_currency_and_signs_show(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """GIVEN the 11-24 vs 11-23 changes WHEN rendered THEN revenue reads EUR 140.50 and EUR 120.00 with a
    change of +EUR 20.50 (+17.1%: 20.50 / 120.00), complaints −1 (−20.0%), NPS +50.00 (no percentage for
    scores)."""
    info = PageInfo("2026-11-24", "run", "now", None, None, None, {}, "EUR", queries.kpi_changes(con))
    page = _changes_section(info)
    assert '<section id="changes"' in page
    assert re.search(
        r"net revenue, last 30 days</td><td>EUR 140.50</td><td>EUR 120.00</td>"
        r'<td class="change up">\+EUR 20.50 \(\+17.1%\)</td>',
        page,
    )
    assert re.search(
        r'complaints, last 30 days</td><td>4</td><td>5</td><td class="change down">−1 \(−20.0%\)', page
    )
    assert re.search(
        r'NPS, last 90 days</td><td>25.00</td><td>-25.00</td><td class="change up">\+50.00</td>', page
    )


def test_given_no_kpi_mart_when_the_section_is_rendered_then_it_says_why() -> None:
    info = PageInfo(
        "2026-11-24",
        "run",
        "now",
        None,
        None,
        None,
        {},
        None,
        "no data: mart kpi_daily is not in the snapshot",
    )
    assert '<div class="no-data">no data: mart kpi_daily is not in the snapshot</div>' in _changes_section(
        info
    )


def test_given_money_figures_when_the_headline_is_rendered_then_they_carry_the_currency() -> None:
    """GIVEN predicted CLV 1234.4 and revenue at risk 87.5 in EUR WHEN the headline renders THEN the cards
    read EUR 1,234 and EUR 88, and counts stay bare numbers."""
    info = PageInfo(
        "2026-11-24",
        "run",
        "now",
        None,
        None,
        None,
        {"customers": 60, "predicted_clv_12m": 1234.4, "revenue_at_risk": 87.5},
        "EUR",
    )
    cards = _headline(info)
    assert "<b>60</b>" in cards
    assert "<b>EUR 1,234</b>" in cards
    assert "<b>EUR 88</b>" in cards


def test_given_bands_when_revenue_at_risk_is_read_then_they_come_in_risk_order_with_their_sums(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """GIVEN four bands in any order WHEN read THEN low, medium, high, unscored; high holds 150.00 with 87.50
    at risk; the chart's y axis names the currency and the at-risk bars carry their values."""
    rows = queries.revenue_at_risk(con)
    assert rows["churn_band"].tolist() == ["low", "medium", "high", "unscored"]
    high = rows.set_index("churn_band").loc["high"]
    assert (high["customers"], high["net_revenue_12m"], high["revenue_at_risk"]) == (2, 150.0, 87.5)
    figure = charts.revenue_at_risk(rows)
    assert figure.layout.yaxis.title.text == "net revenue (EUR)"
    assert list(figure.data[1].y) == [25.0, 0.0, 87.5, None]


def test_given_weekly_rates_when_read_then_only_rates_from_ten_tickets_are_drawn(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """GIVEN service_quality_weekly's 4-week rates (the mart pools them: its dbt unit test) for all
    channels' weeks of 11-16 (6 of 12 resolved at first contact, 7 of 14 within SLA), 11-23 (6 of 15, 10 of
    17) and 12-21 (1 of 1, 1 of 1), email's 11-16 (4 of 10, 5 of 8) and chat's (2 of 2, 2 of 6) WHEN read
    THEN 'all' comes first in each week and a rate is drawn only from 10 tickets: 12-21's single ticket is
    not drawn, email's FCR (10 tickets) is, its SLA (8) and chat's rates are not."""
    weeks = queries.service_weekly(con)
    assert weeks["channel"].tolist() == ["all", "chat", "email", "all", "all"]
    rows = {
        (str(w)[:10], c): (float(fr), int(ft), float(sr), int(st), fe, se)
        for w, c, fr, ft, sr, st, fe, se in weeks[
            [
                "week_start",
                "channel",
                "fcr_rate_4w",
                "fcr_tickets_4w",
                "sla_rate_4w",
                "sla_tickets_4w",
                "fcr_enough",
                "sla_enough",
            ]
        ].itertuples(index=False)
    }
    assert rows[("2026-11-16", "all")] == (0.5, 12, 0.5, 14, True, True)
    assert rows[("2026-11-16", "email")] == (0.4, 10, 0.625, 8, True, False)
    assert rows[("2026-11-16", "chat")] == (1.0, 2, 2 / 6, 6, False, False)
    assert rows[("2026-11-23", "all")] == (0.4, 15, 10 / 17, 17, True, True)
    assert rows[("2026-12-21", "all")] == (1.0, 1, 1.0, 1, False, False)
    figure = charts.service_weekly(weeks)
    lines = {(t.name, t.yaxis): list(t.y) for t in figure.data if t.type == "scatter"}
    assert lines[("all channels", "y2")] == [0.5, 0.4, None]
    assert lines[("all channels", "y3")] == [0.5, 10 / 17, None]
    assert lines[("email", "y2")] == [0.4]
    assert lines[("email", "y3")] == [None]
    assert lines[("chat", "y2")] == [None]
    bars = {t.name: list(t.y) for t in figure.data if t.type == "bar"}
    assert bars == {"chat": [1], "email": [2]}  # stacked per channel: the all-channels row is not added


def test_given_kpi_dates_and_answers_when_satisfaction_is_read_then_trend_and_mix_are_both_there(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """GIVEN NPS on 11-23 and 11-24 only (11-22 has no answer) and five customers, one without an NPS answer
    WHEN read THEN the trend has the two dated rows and the mix reads promoter 2, passive 1, detractor 1."""
    rows = queries.satisfaction(con)
    trend = rows.loc[rows["part"] == "trend"]
    mix = rows.loc[rows["part"] == "mix"]
    assert [str(d)[:10] for d in trend["kpi_date"]] == ["2026-11-23", "2026-11-24"]
    assert trend["nps_90d"].tolist() == [-25.0, 25.0]
    assert list(zip(mix["nps_category"], mix["customers"].astype(int), strict=True)) == [
        ("promoter", 2),
        ("passive", 1),
        ("detractor", 1),
    ]
    figure = charts.satisfaction(rows)
    assert [t.name for t in figure.data] == ["NPS (-100 to 100)", "average CSAT (1-5)", "customers"]


def test_given_kpi_dates_when_trends_are_drawn_then_six_panels_follow_the_dates_and_revenue_has_currency(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """GIVEN three KPI dates WHEN the trends are drawn THEN six panels, each with three points in date order;
    revenue's title says EUR and its points are 100, 120, 140.5; NPS starts with a gap."""
    rows = queries.kpi_trends(con)
    figure = charts.kpi_trends(rows)
    titles = [a.text for a in figure.layout.annotations]
    assert "net revenue, last 30 days (EUR)" in titles and len(figure.data) == 6
    revenue = figure.data[titles.index("net revenue, last 30 days (EUR)")]
    assert list(revenue.x) == ["2026-11-22", "2026-11-23", "2026-11-24"]
    assert list(revenue.y) == [100.0, 120.0, 140.5]
    assert list(figure.data[5].y) == [None, -25.0, 25.0]


def test_given_the_report_of_a_full_snapshot_when_built_then_the_changes_table_compares_two_dates(
    tmp_path: Path,
) -> None:
    """GIVEN the fixture snapshot (kpi_daily computed from its facts) WHEN the report is built THEN the page
    has the changes table for 2026-11-24 against 2026-11-23 and the nav links to it."""
    from customer360.report import build_report
    from customer360.settings import Settings
    from tests.support import published_snapshot

    settings = Settings(home=tmp_path)
    published_snapshot.publish_fixture_snapshot(settings)
    page = build_report(settings, published_snapshot.AS_OF_DATE, published_snapshot.RUN_ID).read_text("utf-8")
    assert '<a href="#changes">Since the previous run</a>' in page
    assert "<th>2026-11-24</th><th>2026-11-23</th><th>change</th>" in page
    assert re.search(r"net revenue, last 30 days</td><td>EUR [\d,]+\.\d\d</td>", page)


def test_given_a_snapshot_without_kpi_daily_when_the_report_is_built_then_the_changes_say_why(
    tmp_path: Path,
) -> None:
    """GIVEN a snapshot whose kpi_daily was left out WHEN the report is built THEN the changes section and the
    trends section both say the mart is not in the snapshot, and the other sections still draw."""
    from customer360.report import build_report
    from customer360.settings import Settings
    from tests.support import published_snapshot

    settings = Settings(home=tmp_path)
    published_snapshot.publish_fixture_snapshot(settings, omit=["kpi_daily"])
    page = build_report(settings, published_snapshot.AS_OF_DATE, published_snapshot.RUN_ID).read_text("utf-8")
    changes = page[page.index('<section id="changes"') :]
    assert changes[: changes.index("</section>")].count("no data: mart kpi_daily is not in the snapshot") == 1
    assert "no data: mart kpi_daily is not in snapshot" in page  # the trends and satisfaction sections
    assert 'id="chart-revenue-at-risk"' in page and 'id="chart-service-quality"' in page


def test_given_the_dbt_project_then_the_report_names_the_weeks_the_mart_pools():
    # the chart's caption says over how many weeks service_quality_weekly pools its rates (dbt var)
    project = yaml.safe_load((Settings().dbt_project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["vars"]["service_rate_weeks"] == queries.RATE_WEEKS
