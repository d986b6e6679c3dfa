"""Data Docs for our runs: GX's site, rendered with compiled templates reused across pages, that works
offline and tells no one it was opened.

GX builds every Data Docs page with a fresh Jinja environment, so each page recompiles the same ~20
templates; for one stage that is most of the checkpoint's time. The views below are GX's own page views with
a process-wide in-memory Jinja bytecode cache: same HTML, templates compiled once. They are plugged in
through the documented ``site_section_builders`` / ``site_index_builder`` ``view`` settings of the site.

GX's pages load jQuery, Bootstrap, bootstrap-table, Font Awesome and Vega from six public CDNs, and their
logo from an S3 bucket with the data context's id in the address: offline the index is empty and the pass/fail
icons blank, and online every page view reports the context id. ``OfflineSiteBuilder`` (the site's
``class_name``) builds GX's site as usual, then copies the vendored files of ``data_docs_assets/`` into
``static/vendor/`` and points every page at them and at the logo GX already copies into ``static/images/``.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from great_expectations.render.renderer.site_builder import SiteBuilder
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

SITE_NAME = "local_site"
BASE_DIRECTORY = "data_docs/local_site/"  # relative to the GX root <runs>/<D>/gx/

ASSETS_DIR = Path(__file__).with_name("data_docs_assets")
VENDOR_DIR = "static/vendor"  # in the site (localize_page writes the same path)
# Every CDN address GX 1.x's templates load, and the vendored file (under ASSETS_DIR) that replaces it.
CDN_ASSETS = {
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome/css/all.min.css"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper-1.12.9.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table-1.19.1.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table-1.19.1.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": "bootstrap-table-filter-control-1.19.1.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": "bootstrap-table-filter-control-1.19.1.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": "bootstrap-table-filter-control-1.19.1.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker-1.9.0.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker-1.9.0.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-prefers-dark-1.1.0.min.css"
    ),
}
# GX's logo, with ``?d=<data context id>`` appended: served from the site's own static/images instead.
_S3_IMAGE = re.compile(
    r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/([\w.-]+)(\?[^\"'\s]*)?"
)
# Integrity and CORS attributes of the CDN tags: a page opened from disk has no origin, so a crossorigin
# request for a local file is refused; the vendored files are checked against those hashes by the tests.
_CDN_ATTRIBUTES = re.compile(r"\s+(?:integrity=\"[^\"]*\"|crossorigin=\"[^\"]*\")")
# GX's newsletter footer (a tracking link) goes; links to other sites keep their text, not the address.
_NEWSLETTER_FOOTER = re.compile(r"<footer>\s*<p>Stay current on everything GX.*?</footer>", re.S)
_EXTERNAL_LINK = re.compile(r"<a\s[^>]*href=\"https?://[^\"]*\"[^>]*>(.*?)</a>", re.S)
# GX counts a page's depth from the suite name, which misses for validation pages (their favicon points one
# level short): every reference to the site's static folder is made relative to the page's real depth.
_STATIC_REFERENCE = re.compile(r"\b(src|href)=\"(?:\./|(?:\.\./)+)?static/")


def localize_page(html: str, site_prefix: str) -> str:
    """One Data Docs page with every CDN address and the S3 logo replaced by files of the site, and no link
    that leaves it.

    ``site_prefix`` is the page's way back to the site root ("" for the index, "../../" two levels down)."""
    for url, name in CDN_ASSETS.items():
        html = html.replace(f'"{url}"', f'"static/vendor/{name}"')
    html = _S3_IMAGE.sub(lambda m: f"static/images/{m.group(1)}", html)
    html = _STATIC_REFERENCE.sub(lambda m: f'{m.group(1)}="{site_prefix}static/', html)
    html = _NEWSLETTER_FOOTER.sub("", html)
    html = _EXTERNAL_LINK.sub(lambda m: m.group(1), html)
    return _CDN_ATTRIBUTES.sub("", html)


def localize_site(site_dir: Path) -> int:
    """Copy the vendored assets into ``site_dir`` and rewrite its pages to use them; returns the pages
    rewritten (a page already rewritten is left alone, so an incremental build touches only new pages)."""
    shutil.copytree(ASSETS_DIR, site_dir / VENDOR_DIR, dirs_exist_ok=True)
    rewritten = 0
    for page in site_dir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        if "https://" not in html and "http://" not in html:
            continue
        prefix = "../" * (len(page.relative_to(site_dir).parts) - 1)
        localized = localize_page(html, prefix)
        if localized != html:
            tmp = page.with_name(f".{page.name}.tmp")
            tmp.write_text(localized, encoding="utf-8")
            os.replace(tmp, page)
            rewritten += 1
    return rewritten


class OfflineSiteBuilder(SiteBuilder):
    """GX's ``SiteBuilder``, whose site then loads nothing from the network (``localize_site``)."""

    def build(self, resource_identifiers: Any = None, build_index: bool = True) -> Any:
        result = super().build(resource_identifiers=resource_identifiers, build_index=build_index)
        backend = self.store_backend
        localize_site(Path(backend["root_directory"]) / backend["base_directory"])
        return result


class _MemoryBytecodeCache(BytecodeCache):
    """Compiled templates kept in memory for the life of the process (keyed by name and source checksum)."""

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        data = self._store.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()


_CACHE = _MemoryBytecodeCache()


class CachedJinjaPageView(DefaultJinjaPageView):
    """GX's page view (suite and validation pages) with shared compiled templates."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _CACHE


class CachedJinjaIndexPageView(DefaultJinjaIndexPageView):
    """GX's index page view with shared compiled templates."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _CACHE


def site_config(root: Path) -> dict[str, Any]:
    """The ``local_site`` configuration: files under ``<root>/data_docs/local_site``, no profiling section."""
    page_view = {"module_name": __name__, "class_name": CachedJinjaPageView.__name__}
    return {
        "module_name": __name__,
        "class_name": OfflineSiteBuilder.__name__,
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "root_directory": str(root),
            "base_directory": BASE_DIRECTORY,
        },
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {"module_name": __name__, "class_name": CachedJinjaIndexPageView.__name__},
        },
        "site_section_builders": {
            "expectations": {"view": page_view},
            "validations": {"view": page_view},
            "profiling": "False",
        },
    }
