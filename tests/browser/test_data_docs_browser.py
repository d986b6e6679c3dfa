"""Great Expectations Data Docs in a real browser with no network: the index lists the run's validations,
and a validation page shows its pass/fail icons (scripts, styles and icon font all come from the site).

Needs ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` like ``test_report_browser.py``; without them the
test is skipped loudly, except under CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.support.browser import headless_chromium, require_chromium

pytestmark = pytest.mark.browser

SUITES = """
import great_expectations.expectations as gxe

from customer360.quality.specs import SuiteSpec, critical, warning


def build_suites(as_of_date, run_id=None):
    return [
        SuiteSpec(
            name="raw.things",
            schema="raw",
            table="things",
            expectations=[
                gxe.ExpectColumnValuesToNotBeNull(column="id", **critical()),
                gxe.ExpectColumnDistinctValuesToBeInSet(column="kind", value_set=["a", "b"], **warning()),
            ],
        ),
    ]
"""


def test_data_docs_index_and_icons_render_offline_in_headless_chromium(tmp_path: Path) -> None:
    """GIVEN the Data Docs of a checkpoint with a failed check WHEN Chromium opens them with no host resolving
    THEN the index table lists the validation, the validation page draws its Font Awesome status icons, and
    no SEVERE console entry appears (no failed load)."""
    require_chromium()
    pytest.importorskip("great_expectations")
    from customer360.quality import run_checkpoint
    from customer360.settings import Settings

    project = tmp_path / "project"
    (project / "expectations").mkdir(parents=True)
    (project / "expectations" / "raw.py").write_text(textwrap.dedent(SUITES))
    settings = Settings(home=tmp_path / "home", project_dir=project)
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("create schema raw; create table raw.things as select range as id, 'c' as kind from range(5)")
    con.close()
    index = Path(run_checkpoint(settings, "raw", date(2026, 11, 24), "manual__browser").docs_path)
    validation_page = next((index.parent / "validations").rglob("*.html"))

    driver = headless_chromium(
        tmp_path / "chromium-profile",
        1400,
        1000,
        # no host resolves: anything the pages still loaded from the network would fail and be logged
        extra_args=("--host-resolver-rules=MAP * ~NOTFOUND",),
    )
    try:
        driver.set_page_load_timeout(60)
        driver.get(index.as_uri())
        rows = driver.execute_script(
            "return typeof jQuery === 'function' && typeof jQuery.fn.bootstrapTable === 'function'"
            " ? document.querySelectorAll('table tbody tr[data-index]').length : -1"
        )
        assert rows >= 1, f"the index table did not render (rows: {rows})"
        assert "raw.things" in driver.find_element("css selector", "body").text
        index_log = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]

        driver.get(validation_page.as_uri())
        driver.set_script_timeout(30)
        icons = driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            document.fonts.ready.then(() => {
              const icons = [...document.querySelectorAll('i.fas, i.fa-solid, span.fas')];
              const fontOk = document.fonts.check('900 16px "Font Awesome 6 Free"');
              const drawn = icons.filter(i => i.getBoundingClientRect().width > 0).length;
              done({icons: icons.length, drawn: drawn, fontOk: fontOk});
            });
            """
        )
        assert icons["icons"] >= 1 and icons["drawn"] == icons["icons"], icons
        assert icons["fontOk"], "the Font Awesome font did not load from the site"
        page_log = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()
    assert not index_log, index_log
    assert not page_log, page_log
