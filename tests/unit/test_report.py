"""The run report: every chart section on a full snapshot, "no data" notes for missing or empty marts,
HTML-escaped text, the data-quality table, and which snapshot a run's report reads."""

from __future__ import annotations

import argparse
import html
import json
import re
from pathlib import Path

import pytest

from customer360.report import build_report
from customer360.report.sections import SECTIONS
from customer360.settings import Settings
from tests.support import published_snapshot

SECTION_KEYS = [s.key for s in SECTIONS]


def _sections(page: str) -> dict[str, str]:
    """Each chart section's HTML by its key."""
    found = re.findall(r'<section id="([^"]+)" class="chart-section[^"]*"[^>]*>(.*?)</section>', page, re.S)
    return dict(found)


@pytest.fixture(scope="module")
def full_report(tmp_path_factory) -> tuple[Settings, str]:
    settings = Settings(home=tmp_path_factory.mktemp("full"))
    published_snapshot.publish_fixture_snapshot(settings)
    published_snapshot.write_run_artifacts(settings)
    path = build_report(settings, published_snapshot.AS_OF_DATE, published_snapshot.RUN_ID)
    return settings, path.read_text(encoding="utf-8")


def test_full_snapshot_gives_a_chart_in_every_section_and_no_note(full_report) -> None:
    """GIVEN a snapshot with every mart WHEN the report is built THEN each of the eight chart sections holds a
    plotly chart div (chart-<key>) and the page has no "no data" note."""
    settings, page = full_report
    sections = _sections(page)
    assert list(sections) == SECTION_KEYS
    for key, body in sections.items():
        assert f'id="chart-{key}" class="plotly-graph-div' in body, key
        assert "no data" not in body, key
    assert 'class="no-data"' not in page
    assert (settings.run_dir(published_snapshot.AS_OF_DATE) / "report.html").is_file()


def test_report_is_self_contained_and_carries_run_identity(full_report) -> None:
    """GIVEN the built report WHEN its HTML is read THEN plotly.js is inline (no external script or style),
    and the title, run date, run id and generation time are on the page."""
    _settings, page = full_report
    assert re.search(r"<script[^>]+src=", page) is None
    assert re.search(r"<link[^>]+href=", page) is None
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # plotly.js itself is inline
    assert "<title>customer360 report for 2026-11-24</title>" in page
    assert html.escape(published_snapshot.RUN_ID) in page
    assert re.search(r"generated at</dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", page)


def test_data_quality_table_shows_rows_per_channel_and_expectations_per_stage(full_report) -> None:
    """GIVEN progress events with row counts and quality JSON for three stages WHEN the report is built THEN
    the quality tables list every channel's rows in/loaded/quarantined and every stage's counts, with the
    warning sentence."""
    _settings, page = full_report
    quality = page[page.index('id="data-quality"') :]
    # fixture: channel n reads 100 + 10 n rows and quarantines n % 3 of them
    assert re.search(r"web_orders</td>.*?<td>110</td><td>109</td><td>1</td>", quality, re.S)
    assert re.search(r"surveys</td>.*?<td>150</td><td>148</td><td>2</td>", quality, re.S)
    assert re.search(r">raw</td>.*?<td>41</td><td>0</td><td>1</td><td>0</td>", quality, re.S)
    assert re.search(r">marts</td>.*?<td>52</td>", quality, re.S)
    assert "raw.web_orders: 2 rows with a future ordered_at" in quality


def test_missing_mart_turns_only_its_section_into_a_note(tmp_path: Path) -> None:
    """GIVEN a snapshot without service_quality_weekly WHEN the report is built THEN only the service section
    shows "no data" naming the mart, and every other section still has its chart."""
    settings = Settings(home=tmp_path)
    published_snapshot.publish_fixture_snapshot(settings, omit=["service_quality_weekly"])
    page = build_report(settings, published_snapshot.AS_OF_DATE, published_snapshot.RUN_ID).read_text(
        encoding="utf-8"
    )
    sections = _sections(page)
    assert "no data: mart service_quality_weekly is not in snapshot" in sections["service-quality"]
    assert "plotly-graph-div" not in sections["service-quality"]
    for key in SECTION_KEYS:
        if key != "service-quality":
            assert 'class="plotly-graph-div' in sections[key], key
            assert "no data" not in sections[key], key


def test_empty_mart_and_held_back_mart_say_why(tmp_path: Path) -> None:
    """GIVEN a snapshot where customer_clv has no rows and the manifest lists customer_rfm as held back (and
    it is absent) WHEN the report is built THEN the CLV section says the mart has no rows, and the RFM grid
    and churn sections say customer_rfm was held back by the quality gate."""
    settings = Settings(home=tmp_path)
    db = published_snapshot.publish_fixture_snapshot(settings, omit=["customer_rfm"], empty=["customer_clv"])
    manifest = db.parent / "manifest.json"
    payload = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**payload, "held_back": ["customer_rfm"]}))
    sections = _sections(
        build_report(settings, published_snapshot.AS_OF_DATE, published_snapshot.RUN_ID).read_text(
            encoding="utf-8"
        )
    )
    assert "no data: mart customer_clv has no rows in snapshot" in sections["clv-distribution"]
    for key in ("rfm-grid", "churn-by-segment"):
        assert "no data: mart customer_rfm was held back" in sections[key]
    assert 'class="plotly-graph-div' in sections["value-pareto"]


def test_text_from_data_and_quality_files_is_escaped(tmp_path: Path) -> None:
    """GIVEN an action name and a quality message holding HTML/script WHEN the report is built THEN neither
    appears as markup: the page holds only their escaped form (HTML table) or JSON-escaped form (chart)."""
    import duckdb

    settings = Settings(home=tmp_path)
    published_snapshot.write_warehouse(
        settings.warehouse_path,
        omit=[m for m in published_snapshot.MARTS if m != "customer_next_best_action"],
    )
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("update marts.customer_next_best_action set action_name = '<script>alert(1)</script>'")
    con.close()
    from datetime import date

    from customer360.publish import publish_marts

    publish_marts(settings, date.fromisoformat(published_snapshot.AS_OF_DATE), published_snapshot.RUN_ID)
    hostile = '<img src=x onerror="alert(2)">'
    published_snapshot.write_run_artifacts(
        settings,
        quality={
            "raw": published_snapshot.quality_result(
                "raw", passed=1, failed=1, critical_failures=[f"rule {hostile}"]
            )
        },
        channels=["web_orders", "<b>odd channel</b>"],
        run_id="run <i>1</i>",
    )
    page = build_report(settings, published_snapshot.AS_OF_DATE, "run <i>1</i>").read_text(encoding="utf-8")
    body = page[page.index("</head>") :]
    assert "<script>alert(1)" not in body
    assert hostile not in body and html.escape(hostile) in body
    assert "<b>odd channel</b>" not in body and "&lt;b&gt;odd channel&lt;/b&gt;" in body
    assert "<i>1</i>" not in body and "run &lt;i&gt;1&lt;/i&gt;" in body
    # the chart label is HTML-escaped for plotly, then JSON-escaped inside the script
    assert r"&lt;script&gt;alert(1)&lt;\u002fscript&gt;" in body
    assert 'class="plotly-graph-div' in _sections(page)["next-best-actions"]


def test_no_snapshot_yet_gives_every_section_a_note_and_still_writes_the_page(tmp_path: Path) -> None:
    """GIVEN no published snapshot and no run files WHEN the report is built THEN it is written, each chart
    section says nothing is published yet, and the quality tables say "not run"."""
    settings = Settings(home=tmp_path)
    page = build_report(settings, published_snapshot.AS_OF_DATE, None).read_text(encoding="utf-8")
    sections = _sections(page)
    assert len(sections) == len(SECTION_KEYS)
    assert all("no data: nothing is published under" in body for body in sections.values())
    assert "not run" in page[page.index('id="data-quality"') :]


def test_report_reads_the_snapshot_its_run_published_and_flags_another(tmp_path: Path) -> None:
    """GIVEN two published snapshots (run A for 2026-11-24, then run B for 2026-11-25, which is current)
    WHEN reports are built for run A and for an unknown run of 2026-11-23 THEN A's report reads A's snapshot
    without a caveat, and the other says it shows another date's snapshot."""
    settings = Settings(home=tmp_path)
    published_snapshot.publish_fixture_snapshot(settings, run_id="run-A")
    published_snapshot.publish_fixture_snapshot(settings, as_of_date="2026-11-25", run_id="run-B")
    page_a = build_report(settings, "2026-11-24", "run-A").read_text(encoding="utf-8")
    assert re.search(r"<dt>snapshot</dt><dd[^>]*>2026-11-24__", page_a)
    assert 'class="caveat"' not in page_a
    page_old = build_report(settings, "2026-11-23", "run-X").read_text(encoding="utf-8")
    assert re.search(r"<dt>snapshot</dt><dd[^>]*>2026-11-25__", page_old)
    assert "No snapshot of 2026-11-23 is kept" in page_old and "by run run-B" in page_old


def test_report_command_rebuilds_the_page_with_the_run_id_from_the_summary(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """GIVEN a published run with a summary.json WHEN `customer360 report --date D` runs THEN it writes the
    run's report.html with the summary's run id and prints its path."""
    from customer360.report import commands
    from customer360.settings import get_settings

    monkeypatch.setenv("CUSTOMER360_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        settings = get_settings()
        published_snapshot.publish_fixture_snapshot(
            settings, omit=[m for m in published_snapshot.MARTS if m != "customer_lifecycle"]
        )
        run_dir = settings.run_dir(published_snapshot.AS_OF_DATE)
        run_dir.mkdir(parents=True)
        (run_dir / "summary.json").write_text(json.dumps({"run_id": published_snapshot.RUN_ID}))
        parser = argparse.ArgumentParser()
        commands.register(parser.add_subparsers())
        args = parser.parse_args(["report", "--date", published_snapshot.AS_OF_DATE])
        assert args.func(args) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert out.strip() == f"report: {run_dir / 'report.html'}"
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert html.escape(published_snapshot.RUN_ID) in page
    assert 'id="chart-lifecycle-funnel"' in page
