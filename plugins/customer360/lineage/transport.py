"""Where OpenLineage events go: the run folder always, an HTTP endpoint (Marquez) when one is set.

``RunFolderTransport`` is an OpenLineage client transport (the client builds it from its ``type``, this
class's dotted path): it appends each event as one JSON line to ``<runs dir>/<D>/openlineage/events.jsonl``,
``D`` being the logical date of the DAG run the event belongs to, so one file holds one daily run's lineage
whatever process or scheduler emitted it; it sends the event on to an HTTP endpoint (Marquez) when one is
set. Airflow's OpenLineage provider and the dbt events (``customer360.lineage.dbt_events``) both use it,
configured by ``customer360.lineage.config.transport_config``.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import attr
from openlineage.client.transport.transport import Config, Transport

from customer360.lineage.config import EVENTS_FILE, EVENTS_FOLDER, events_path, read_events, transport_config
from customer360.settings import Settings

# Events that name no date at all (none of the pipeline's do): kept beside the dated run folders.
UNDATED = "undated"
# After the HTTP endpoint fails, how long this process sends events to the run folder only.
HTTP_PAUSE_SECONDS = 60
_http_paused_until = 0.0
log = logging.getLogger(__name__)
__all__ = ["RunFolderTransport", "client", "event_date", "events_path", "read_events", "transport_config"]


@attr.define
class RunFolderConfig(Config):
    runs_dir: str
    # A fixed logical date for every event (the dbt events of one build); else read from each event.
    run_date: str | None = None
    # An OpenLineage ``http`` transport's settings (Marquez): each event is sent there too.
    http: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> RunFolderConfig:
        if "runs_dir" not in params:
            raise RuntimeError("`runs_dir` key not passed to RunFolderConfig")
        return cls(runs_dir=str(params["runs_dir"]), run_date=params.get("run_date"), http=params.get("http"))


class RunFolderTransport(Transport):
    """Writes every event to its run's folder; with ``http``, sends it to that endpoint as well.

    An endpoint that fails (after the HTTP transport's own retries) is not asked again for
    ``HTTP_PAUSE_SECONDS`` in this process: its events go to the run folder only, and a warning says so.
    The run folder is the record; a task or a build never waits long on a lineage server that is down.
    """

    kind = "customer360_run_folder"
    config_class = RunFolderConfig

    def __init__(self, config: RunFolderConfig) -> None:
        self.config = config
        self._http = None
        if config.http:
            from openlineage.client.transport.http import HttpConfig, HttpTransport

            self._http = HttpTransport(
                HttpConfig.from_dict({k: v for k, v in config.http.items() if k != "type"})
            )

    def emit(self, event: Any) -> None:
        from openlineage.client.serde import Serde

        path = Path(self.config.runs_dir) / (self.config.run_date or event_date(event)) / EVENTS_FOLDER
        path.mkdir(parents=True, exist_ok=True)
        line = (Serde.to_json(event) + "\n").encode("utf-8")
        # One write on an O_APPEND descriptor: lines from several processes never interleave.
        fd = os.open(path / EVENTS_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        self._forward(event)

    def _forward(self, event: Any) -> None:
        global _http_paused_until
        if self._http is None or time.monotonic() < _http_paused_until:
            return
        try:
            self._http.emit(event)
        except Exception as exc:  # noqa: BLE001 - the event is in the run folder; lineage never fails a run
            _http_paused_until = time.monotonic() + HTTP_PAUSE_SECONDS
            log.warning(
                "the OpenLineage endpoint %s did not take an event (%s: %s); for the next %d s events go to "
                "the run folder only",
                self.config.http.get("url"),
                type(exc).__name__,
                exc,
                HTTP_PAUSE_SECONDS,
            )


def event_date(event: Any) -> str:
    """The logical date (YYYY-MM-DD) an event belongs to: the logical date of its Airflow DAG run (the date
    the DAG's tasks run the pipeline for), else its run's nominal start time, else the day the event
    happened; ``UNDATED`` for an event without a run."""
    run = getattr(event, "run", None)
    facets = getattr(run, "facets", None) or {}
    for name in ("airflow", "airflowDagRun"):
        dag_run = getattr(facets.get(name), "dagRun", None)
        logical = dag_run.get("logical_date") if isinstance(dag_run, dict) else None
        if logical:
            return _day(str(logical))
    nominal = facets.get("nominalTime")
    if nominal is not None and getattr(nominal, "nominalStartTime", None):
        return _day(nominal.nominalStartTime)
    when = getattr(event, "eventTime", None)
    return _day(when) if run is not None and when else UNDATED


def _day(moment: str) -> str:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).date().isoformat()


def client(settings: Settings, run_date: date | None = None):
    """An OpenLineage client on ``transport_config``: no configuration file or environment is read."""
    from openlineage.client import OpenLineageClient

    return OpenLineageClient(config={"transport": transport_config(settings, run_date)})
