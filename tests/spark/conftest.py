"""Spark tests: they need Java (17, Debian's openjdk-17-jre-headless; scripts/test-setup.sh installs it) and
the ``spark`` extra (dbt-spark[session], pyspark), which ``make setup`` installs."""

from __future__ import annotations

import shutil
import sys
import warnings

import pytest

from tests.conftest import UNDER_CI


@pytest.fixture(scope="session")
def spark_available() -> None:
    """Fail (in CI) or skip loudly (elsewhere) when a local Spark session cannot start."""
    missing = []
    if shutil.which("java") is None:
        missing.append("java (apt-get install openjdk-17-jre-headless, or scripts/test-setup.sh)")
    try:
        import pyspark  # noqa: F401
        from dbt.adapters import spark  # noqa: F401
    except ImportError:
        missing.append("the spark extra (make setup: uv sync --extra spark)")
    if not missing:
        return
    message = f"Spark tests cannot run: missing {', '.join(missing)}"
    if UNDER_CI:
        pytest.fail(message + " (CI=true: Spark tests never skip in CI)")
    print(f"\n*** SKIPPING: {message} ***", file=sys.stderr)
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)
