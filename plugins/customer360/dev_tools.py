"""Reaching the developer tooling (``customer360_dev``) from the production package.

The data generator, the benchmarks and the synthetic identity records live in the ``customer360_dev``
package beside ``customer360``: a development install (a checkout and ``make setup``) has both, the
production image copies ``customer360`` only. Commands that need the tooling import it through
``import_dev_module``; without it they stop with ``DevToolsMissing``, whose message says what is missing and
how to get it, instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

DEV_PACKAGE = "customer360_dev"
HOW_TO_GET = (
    "Developer tooling comes with a development install: clone the repository and run `make setup` "
    f"(it installs the {DEV_PACKAGE} package beside customer360); the production image leaves it out."
)


class DevToolsMissing(RuntimeError):
    """Developer tooling was asked for in an install without the ``customer360_dev`` package."""


def dev_only_message(what: str) -> str:
    """Why ``what`` cannot run in this install, and how to get it."""
    return (
        f"{what} is a development command: it needs the {DEV_PACKAGE} package, which this install does not "
        f"have. {HOW_TO_GET}"
    )


def import_dev_module(name: str, what: str) -> ModuleType:
    """Import ``name`` from the dev package; ``DevToolsMissing`` (naming ``what``) when the package is absent.

    Only the absence of the package itself is translated: an import error inside it is a bug and is raised
    as it is.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != DEV_PACKAGE:
            raise
        raise DevToolsMissing(dev_only_message(what)) from None
