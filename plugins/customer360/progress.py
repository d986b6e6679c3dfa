"""Progress events of one run, one JSON line per stage start and end, in ``<run dir>/progress.jsonl``.

Each stage records itself, so ``customer360 run`` can show a live progress display while Airflow runs the
DAG in another process, and the summary can say how long each stage took.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROGRESS_FILE = "progress.jsonl"


def _append(run_dir: Path, record: dict[str, Any]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / PROGRESS_FILE).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str) + "\n")


@contextmanager
def stage(run_dir: Path, name: str, run_id: str) -> Iterator[dict[str, Any]]:
    """Record the start and end of a stage; the yielded dict becomes the end event's ``detail``."""
    detail: dict[str, Any] = {}
    started = time.perf_counter()
    _append(run_dir, {"stage": name, "event": "start", "run_id": run_id, "at": datetime.now(UTC).isoformat()})
    try:
        yield detail
    except BaseException as exc:
        _append(
            run_dir,
            {
                "stage": name,
                "event": "error",
                "run_id": run_id,
                "at": datetime.now(UTC).isoformat(),
                "seconds": round(time.perf_counter() - started, 3),
                "error": f"{type(exc).__name__}: {exc}",
            },
        )
        raise
    _append(
        run_dir,
        {
            "stage": name,
            "event": "end",
            "run_id": run_id,
            "at": datetime.now(UTC).isoformat(),
            "seconds": round(time.perf_counter() - started, 3),
            "detail": detail,
        },
    )


def read_events(run_dir: Path, run_id: str | None = None) -> list[dict[str, Any]]:
    path = run_dir / PROGRESS_FILE
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a killed process
        if run_id is None or event.get("run_id") == run_id:
            events.append(event)
    return events
