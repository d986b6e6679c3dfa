"""The run report in a real browser: headless Debian Chromium opens the page, every chart draws, no errors.

Needs ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (``scripts/test-setup.sh`` installs them with
``apt-get install -y chromium chromium-driver``). Without them the test is skipped loudly, except under CI
(``CI=true``), where it fails.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from customer360.report.queries import CHANGE_FIGURES
from customer360.report.sections import SECTIONS
from tests.support import published_snapshot
from tests.support.browser import headless_chromium, require_chromium

pytestmark = pytest.mark.browser

PROJECT_DIR = Path(__file__).resolve().parents[2]
ARTIFACT = PROJECT_DIR / "var" / "test-artifacts" / "report.png"
WINDOW_WIDTH = 1400


def test_report_renders_every_chart_in_headless_chromium_without_console_errors(tmp_path: Path) -> None:
    """GIVEN the report built from the full fixture snapshot, with a hostile name in the data
    WHEN headless Chromium opens the file
    THEN no SEVERE console entry appears, every chart section (trends, revenue at risk, satisfaction and the
    weekly service chart among them) holds a drawn plotly SVG of non-zero size, the "since the previous run"
    table shows a row per figure with money in its currency, the hostile name shows as text (no script ran),
    and a full-page screenshot is saved."""
    require_chromium()
    from customer360.publish import publish_marts
    from customer360.report import build_report
    from customer360.settings import Settings

    settings = Settings(home=tmp_path / "home")
    published_snapshot.publish_fixture_snapshot(settings)
    published_snapshot.write_run_artifacts(
        settings,
        quality={
            "raw": published_snapshot.quality_result(
                "raw",
                passed=40,
                failed=1,
                critical_failures=["rule <script>window.__pwned=1</script> failed"],
            ),
        },
    )
    from customer360.warehouse import connect as connect_warehouse

    with connect_warehouse(settings) as con:  # the marts file attached as ``marts``, as publish reads it
        con.execute(
            "update marts.customer_next_best_action set action_name = '<img src=x onerror=window.__pwned=2>'"
            " where action_code = 'newsletter'"
        )
    publish_marts(
        settings, date.fromisoformat(published_snapshot.AS_OF_DATE), published_snapshot.RUN_ID
    )  # republish the change
    report = build_report(settings, published_snapshot.AS_OF_DATE, published_snapshot.RUN_ID)

    driver = headless_chromium(tmp_path / "chromium-profile", WINDOW_WIDTH, 1200)
    try:
        driver.set_page_load_timeout(60)
        driver.get(report.as_uri())
        driver.set_script_timeout(30)
        # plotly draws asynchronously: wait until every chart div has its main SVG
        driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            const started = Date.now();
            (function poll() {
                const divs = document.querySelectorAll('.chart-section .plotly-graph-div');
                const drawn = [...divs].filter(d => d.querySelector('svg.main-svg'));
                if ((divs.length && drawn.length === divs.length) || Date.now() - started > 25000) { done(); }
                else { setTimeout(poll, 100); }
            })();
            """
        )
        sections = driver.execute_script("return document.querySelectorAll('section.chart-section').length")
        notes = driver.execute_script("return document.querySelectorAll('.no-data').length")
        sizes = driver.execute_script(
            """
            return [...document.querySelectorAll('.js-plotly-plot')].map(d => {
                const svg = d.querySelector('svg.main-svg');
                const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
                return [d.id, box.width, box.height];
            });
            """
        )
        changes = driver.execute_script(
            """
            const table = document.querySelector('#changes table.changes');
            const box = table ? table.getBoundingClientRect() : {width: 0, height: 0};
            return [table ? table.querySelectorAll('tbody tr').length : 0, box.width, box.height,
                    table ? table.innerText : ''];
            """
        )
        pwned = driver.execute_script("return window.__pwned || null")
        quality_text = driver.execute_script("return document.querySelector('#data-quality').innerText")
        actions_text = driver.execute_script(
            "return document.querySelector('#chart-next-best-actions').textContent"
        )
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(WINDOW_WIDTH, min(int(height) + 100, 16000))
        driver.save_screenshot(str(tmp_path / "report.png"))
        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    finally:
        driver.quit()

    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "report.png", ARTIFACT)
    assert severe == [], f"console errors: {severe}"
    assert notes == 0
    assert sections == len(SECTIONS)  # every section the report defines (no identity model in this home)
    assert len(sizes) == sections, sizes
    assert all(width > 100 and height > 100 for _id, width, height in sizes), sizes
    new_sections = ("kpi-trends", "revenue-at-risk", "satisfaction", "service-quality")
    assert {f"chart-{key}" for key in new_sections} <= {div_id for div_id, _width, _height in sizes}
    rows, width, height, text = changes
    assert rows == len(CHANGE_FIGURES) and width > 100 and height > 100, changes
    assert "net revenue, last 30 days\tEUR " in text, text
    assert pwned is None
    assert "<script>window.__pwned=1</script>" in quality_text
    assert "<img src=x onerror=window.__pwned=2>" in actions_text
    assert (tmp_path / "report.png").stat().st_size > 50_000
