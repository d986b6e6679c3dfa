"""Environment variables set for one block of code in this process and restored after it.

dbt, MetricFlow and OpenLineage's dbt integration read their settings from ``os.environ``; the pipeline runs
them in-process, so a call sets what it needs and gives the caller its environment back, also when the call
raises, so a ``Settings()`` built later in the same process does not inherit one call's values.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def scoped_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the block; afterwards each name has its old value again, or is
    unset if it was unset before."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
