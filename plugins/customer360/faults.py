"""Fault injection for reliability tests: kill the process at a named point, the way a crash would.

``fault_point("ingest.before_commit")`` does nothing unless the environment variable
``CUSTOMER360_FAULT_POINT`` names that point; then the process sends itself SIGKILL: no ``finally`` block,
no rollback, no atexit handler runs, exactly like a worker killed by the OOM killer or a lost node.

Points in the code (grep for ``fault_point(``):

- ``ingest.before_commit``: a group of files' rows are in ``raw`` and their manifest rows are about to be
  written, inside the group's open transaction (a group is one or more whole files, ``ingest.file_group``);
- ``publish.before_swap``: the new snapshot is written aside (``.tmp-*``) and ``current`` not yet swapped.

Production never sets the variable; reading it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

FAULT_POINT_ENV = "CUSTOMER360_FAULT_POINT"


def fault_point(name: str) -> None:
    """Kill this process with SIGKILL when ``CUSTOMER360_FAULT_POINT`` equals ``name``."""
    if os.environ.get(FAULT_POINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
