"""Data Docs for our runs: GX's site, rendered with compiled templates reused across pages.

GX builds every Data Docs page with a fresh Jinja environment, so each page recompiles the same ~20
templates; for one stage that is most of the checkpoint's time. The views below are GX's own page views with
a process-wide in-memory Jinja bytecode cache: same HTML, templates compiled once. They are plugged in
through the documented ``site_section_builders`` / ``site_index_builder`` ``view`` settings of the site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

SITE_NAME = "local_site"
BASE_DIRECTORY = "data_docs/local_site/"  # relative to the GX root <runs>/<D>/gx/


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
        "class_name": "SiteBuilder",
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
