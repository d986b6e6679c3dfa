"""The lineage settings as OpenLineage configuration, and where a run's events are.

No OpenLineage import here, so that configuring Airflow (``customer360.airflow_setup``) stays light."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from customer360.settings import Settings

EVENTS_FOLDER = "openlineage"
EVENTS_FILE = "events.jsonl"
# Marquez's (and the OpenLineage HTTP spec's) endpoint; the timeout keeps a run from waiting on a dead server.
HTTP_ENDPOINT = "api/v1/lineage"
HTTP_TIMEOUT_SECONDS = 5.0
RUN_FOLDER_TRANSPORT = "customer360.lineage.transport.RunFolderTransport"


def events_path(settings: Settings, logical_date: date | str) -> Path:
    """The file holding the OpenLineage events of one logical date's run."""
    day = logical_date if isinstance(logical_date, str) else logical_date.isoformat()
    return settings.run_dir(day) / EVENTS_FOLDER / EVENTS_FILE


def transport_config(settings: Settings, run_date: date | None = None) -> dict[str, Any]:
    """The OpenLineage client's ``transport`` setting: the run folder, and the HTTP endpoint when a URL is
    set (``customer360.lineage.transport.RunFolderTransport`` forwards each event to it)."""
    folder: dict[str, Any] = {"type": RUN_FOLDER_TRANSPORT, "runs_dir": str(settings.runs_dir)}
    if run_date is not None:
        folder["run_date"] = run_date.isoformat()
    if settings.openlineage_url:
        folder["http"] = {
            "type": "http",
            "url": settings.openlineage_url,
            "endpoint": HTTP_ENDPOINT,
            "timeout": HTTP_TIMEOUT_SECONDS,
            # Two more tries on a refused connection or a 429/5xx, not the client's default five: a run
            # that emits hundreds of events must not wait minutes for a server that is down.
            "retry": {
                "total": 2,
                "connect": 2,
                "read": 2,
                "backoff_factor": 0.3,
                "status_forcelist": [429, 500, 502, 503, 504],
                "allowed_methods": ["POST"],
            },
        }
    return folder


def read_events(settings: Settings, logical_date: date | str) -> list[dict[str, Any]]:
    """The OpenLineage events written for one logical date, oldest first (a line cut short is skipped)."""
    path = events_path(settings, logical_date)
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events
