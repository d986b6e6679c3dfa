"""One writer at a time per home: an exclusive ``flock`` on ``<home>/run.lock`` in the embedded mode.

``customer360 run`` and the CLI commands that write the warehouse take the lock for their whole life; a
second one started meanwhile stops at once with a message naming the run that holds it (what it runs, its
date, process id, start time and command line). The kernel releases the lock when the holding process (and
every child it passed the lock to, such as the ``airflow dags test`` of a run) has ended, however it ended:
there is no stale lock to clean up after a crash, and the file itself is never deleted.

A deployment does not rely on this file: Airflow's own concurrency keeps runs apart there (the DAG's
``max_active_runs=1`` and the one-slot ``customer360_warehouse`` pool; docs/operations.md).
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from customer360.settings import Settings

LOCK_FILE = "run.lock"
EXIT_LOCKED = 75  # sysexits' EX_TEMPFAIL: another run holds the home; try again when it has ended


class RunLockedError(RuntimeError):
    """Another process holds the home's run lock; the message names it."""


@dataclass(frozen=True)
class RunLock:
    """A held lock: its file, its open descriptor (pass it to child processes that must keep it), and what
    was recorded about the holder."""

    path: Path
    fd: int
    holder: dict[str, Any]


def lock_path(settings: Settings) -> Path:
    return settings.home / LOCK_FILE


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_holder(holder: dict[str, Any] | None) -> str:
    """One sentence about the process that holds the lock, from what it recorded in the lock file."""
    if not holder:
        return "a process that has not yet recorded what it runs (it has just started)"
    what = holder.get("what", "a customer360 command")
    day = f" for {holder['logical_date']}" if holder.get("logical_date") else ""
    pid = holder.get("pid")
    alive = "" if pid is None or _pid_alive(int(pid)) else ", now ended: a process it started still runs"
    return (
        f"{what}{day} (pid {pid}{alive}, started at {holder.get('started_at', '?')}, "
        f"command `{holder.get('command', '?')}`)"
    )


def read_holder(path: Path) -> dict[str, Any] | None:
    """What the current (or last) holder recorded; None when the file is empty or unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
    except json.JSONDecodeError:
        return None
    return holder if isinstance(holder, dict) else None


def _command_line(argv: list[str]) -> str:
    program = Path(argv[0]).name if argv else "customer360"
    return " ".join([program, *argv[1:]])


def record_holder(lock: RunLock, **changes: Any) -> None:
    """Update what the lock file says about its holder (e.g. the logical date once it is known)."""
    lock.holder.update(changes)
    os.ftruncate(lock.fd, 0)
    os.pwrite(lock.fd, json.dumps(lock.holder).encode("utf-8"), 0)
    os.fsync(lock.fd)


@contextmanager
def run_lock(
    settings: Settings, what: str, logical_date: date | None = None, argv: list[str] | None = None
) -> Iterator[RunLock]:
    """Hold ``<home>/run.lock`` for the body, or raise ``RunLockedError`` naming its holder at once.

    ``what`` says what the holder does ("customer360 run", "ingest"...), recorded with ``logical_date``, the
    process id, the start time and the command line (``argv``, default ``sys.argv``).
    """
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_CREAT without O_TRUNC: opening must not wipe what the current holder wrote.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder_text = describe_holder(read_holder(path))
            raise RunLockedError(
                f"another customer360 run holds the lock on {settings.home}: {holder_text}. "
                f"One run at a time writes a home ({path}); wait for it to end, then start this one again."
            ) from None
        holder = {
            "what": what,
            "logical_date": logical_date.isoformat() if logical_date else None,
            "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": _command_line(list(sys.argv if argv is None else argv)),
        }
        lock = RunLock(path=path, fd=fd, holder={})
        record_holder(lock, **holder)
        yield lock
    finally:
        # Closing the descriptor releases this process's hold; children given the descriptor keep theirs.
        os.close(fd)
