"""Great Expectations Data Docs that open offline: every script, style, font and image is a file of the site,
and no page carries the data context's id to anyone."""

from __future__ import annotations

import base64
import hashlib
import re
import textwrap
from datetime import date
from pathlib import Path
from urllib.parse import urljoin

import duckdb
import pytest

pytest.importorskip("great_expectations")

from customer360.quality import run_checkpoint  # noqa: E402
from customer360.quality.data_docs import ASSETS_DIR, CDN_ASSETS, localize_page  # noqa: E402
from customer360.settings import Settings  # noqa: E402

AS_OF = date(2026, 11, 24)
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
# Where a page loads something from: script/img src, link href, CSS url(...).
RESOURCE = re.compile(
    r"""(?:<script[^>]*\bsrc|<img[^>]*\bsrc|<link[^>]*\bhref)\s*=\s*["']([^"']+)["']""", re.I
)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")
TEMPLATES = Path(__import__("great_expectations").__file__).parent / "render" / "view" / "templates"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The Data Docs site of one real checkpoint (the runner's own site configuration)."""
    tmp = tmp_path_factory.mktemp("docs")
    project = tmp / "project"
    (project / "expectations").mkdir(parents=True)
    (project / "expectations" / "raw.py").write_text(textwrap.dedent(SUITES))
    settings = Settings(home=tmp / "home", project_dir=project)
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("create schema raw; create table raw.things as select range as id, 'c' as kind from range(5)")
    con.close()
    result = run_checkpoint(settings, "raw", AS_OF, "manual__offline")
    return Path(result.docs_path).parent


def _pages(site: Path) -> list[Path]:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 3, "expected the index, a suite page and a validation page"
    return pages


def test_given_a_built_site_then_the_index_lists_the_run_and_references_no_http_host(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "raw.things" in index
    assert not re.search(r"""(?:src|href)\s*=\s*["']https?://""", index), "the index loads from a host"
    assert "amazonaws" not in index and "cdn" not in index.lower()


def test_given_a_built_site_then_every_page_loads_only_files_that_exist_in_the_site(site):
    for page in _pages(site):
        html = page.read_text(encoding="utf-8")
        for reference in RESOURCE.findall(html):
            assert not reference.startswith(("http://", "https://", "//")), f"{page}: loads {reference}"
            target = (page.parent / reference.split("?")[0]).resolve()
            assert target.is_file(), f"{page.relative_to(site)}: {reference} is not in the site"
        assert "crossorigin" not in html  # a page opened from disk has no origin to share


def test_given_a_built_site_then_no_page_carries_the_data_context_id_or_leaves_the_site(site):
    for page in _pages(site):
        html = page.read_text(encoding="utf-8")
        assert "great-expectations-web-assets" not in html and "?d=" not in html
        assert not re.search(r"""href\s*=\s*["']https?://""", html), f"{page}: links out of the site"
        assert "utm_source" not in html


def test_given_the_vendored_stylesheets_then_their_fonts_and_images_are_vendored_too(site):
    vendor = site / "static" / "vendor"
    for css in vendor.rglob("*.css"):
        for reference in CSS_URL.findall(css.read_text(encoding="utf-8")):
            if reference.startswith("data:") or reference.endswith(".ttf"):
                continue  # inline images; .ttf is the fallback of the .woff2 every current browser reads
            assert not reference.startswith(("http://", "https://")), f"{css.name} loads {reference}"
            target = Path(
                urljoin(css.as_uri(), reference.split("?")[0].split("#")[0]).removeprefix("file://")
            )
            assert target.is_file(), f"{css.relative_to(vendor)}: {reference} missing"


def test_given_gx_templates_then_every_cdn_address_they_use_has_a_vendored_file():
    used = set()
    for template in TEMPLATES.glob("*.j2"):
        used |= set(re.findall(r"""(?:src|href)=["'](https://[^"']+)["']""", template.read_text()))
    loads = {u for u in used if not u.startswith("https://greatexpectations.io")}
    assert loads <= set(CDN_ASSETS), (
        f"GX loads addresses with no vendored file: {sorted(loads - set(CDN_ASSETS))}"
    )
    for name in CDN_ASSETS.values():
        assert (ASSETS_DIR / name).is_file(), name


@pytest.mark.parametrize(
    ("template", "url"),
    [
        ("js_script_imports.j2", "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js"),
        ("js_script_imports.j2", "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js"),
    ],
)
def test_given_a_cdn_file_pinned_by_hash_then_the_vendored_file_is_byte_identical(template, url):
    text = (TEMPLATES / template).read_text()
    pinned = re.search(re.escape(url) + r'"\s+integrity="(sha384-[^"]+)"', text).group(1)
    digest = hashlib.sha384((ASSETS_DIR / CDN_ASSETS[url]).read_bytes()).digest()
    assert "sha384-" + base64.b64encode(digest).decode() == pinned


def test_given_a_page_two_levels_down_then_addresses_point_back_to_the_site_root():
    html = (
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=abc-123">'
    )
    assert localize_page(html, "../../") == (
        '<script src="../../static/vendor/jquery-3.7.1.min.js"></script>'
        '<img src="../../static/images/logo-long.png">'
    )
