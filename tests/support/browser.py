"""Headless Debian Chromium for the browser tests: a clear failure in CI when it is missing, a loud skip
elsewhere, and one way to start it."""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
UNDER_CI = os.environ.get("CI", "").lower() == "true"


def require_chromium() -> None:
    """Fail under CI (browser tests never skip there), else skip loudly, when Chromium is not installed."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).exists() or shutil.which(Path(p).name))]
    if not missing:
        return
    message = (
        f"browser test cannot run: {', '.join(missing)} not installed "
        "(run scripts/test-setup.sh, or apt-get install -y chromium chromium-driver)"
    )
    if UNDER_CI:
        pytest.fail(message + " (CI=true: browser tests never skip in CI)")
    print(f"\n*** SKIPPING: {message} ***", file=sys.stderr)
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


def headless_chromium(profile_dir: Path, width: int, height: int, extra_args: Iterable[str] = ()):
    """A Selenium driver of headless Chromium with its own profile, keeping every browser console entry."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        *extra_args,
        f"--user-data-dir={profile_dir}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
