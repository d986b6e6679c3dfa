"""The data-quality figures of one run: rows per channel from the progress events, expectations per stage.

Both sources are written by other stages while the run goes on; either may be missing (a run that stopped
early) or hold more keys than read here, so every field is optional.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from customer360.progress import read_events

QUALITY_STAGES = ("raw", "staging", "marts")
QUALITY_FOLDER = "quality"
MAX_MESSAGES_PER_STAGE = 25  # failure and warning sentences listed per stage; the JSON holds them all


@dataclass(frozen=True)
class ChannelRows:
    channel: str
    status: str
    rows_read: int | None
    rows_loaded: int | None
    rows_quarantined: int | None

    @property
    def balanced(self) -> bool | None:
        """rows read = loaded + quarantined (design invariant 2), or None when a figure is missing."""
        if None in (self.rows_read, self.rows_loaded, self.rows_quarantined):
            return None
        return self.rows_read == self.rows_loaded + self.rows_quarantined


@dataclass(frozen=True)
class StageChecks:
    stage: str
    status: str  # "passed", "red" or "not run"
    passed: int | None = None
    failed: int | None = None
    warnings: int | None = None
    errors: int | None = None
    messages: list[tuple[str, str]] = field(default_factory=list)  # (kind, sentence)
    hidden_messages: int = 0


@dataclass(frozen=True)
class RunQuality:
    channels: list[ChannelRows]
    stages: list[StageChecks]
    progress_path: Path
    quality_dir: Path


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def channel_rows(run_dir: Path, run_id: str | None, channels: list[str]) -> list[ChannelRows]:
    """The last ingest event of each channel (of ``run_id`` when given) and its row counts."""
    events = read_events(run_dir, run_id) if run_id else read_events(run_dir)
    last: dict[str, dict[str, Any]] = {}
    for event in events:
        name = str(event.get("stage", ""))
        if name.startswith("ingest:"):
            last[name.split(":", 1)[1]] = event
    extra = sorted(set(last) - set(channels))
    rows = []
    for channel in [*channels, *extra]:
        event = last.get(channel)
        if event is None:
            rows.append(ChannelRows(channel, "not run", None, None, None))
            continue
        detail = event.get("detail") or {}
        status = {"end": "loaded", "error": "failed", "start": "running or killed"}.get(
            str(event.get("event")), str(event.get("event"))
        )
        if event.get("event") == "end" and detail.get("failures"):
            status = "partly failed"
        rows.append(
            ChannelRows(
                channel,
                status,
                _int(detail.get("rows_read")),
                _int(detail.get("rows_loaded")),
                _int(detail.get("rows_quarantined")),
            )
        )
    return rows


def _messages(payload: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for key, kind in (
        ("critical_failures", "failed"),
        ("error_messages", "error"),
        ("warning_messages", "warning"),
    ):
        values = payload.get(key) or []
        if isinstance(values, list):
            found.extend((kind, str(v)) for v in values)
    return found


def stage_checks(quality_dir: Path) -> list[StageChecks]:
    """Each stage's ``quality/<stage>.json``: counts, verdict and its failure and warning sentences."""
    results = []
    for stage in QUALITY_STAGES:
        path = quality_dir / f"{stage}.json"
        if not path.is_file():
            results.append(StageChecks(stage, "not run"))
            continue
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            results.append(StageChecks(stage, "unreadable", messages=[("error", f"{path}: {exc}")]))
            continue
        failed, errors = _int(payload.get("failed")), _int(payload.get("errors"))
        red = bool(failed) or bool(errors) or payload.get("ok") is False
        messages = _messages(payload)
        results.append(
            StageChecks(
                stage,
                "red" if red else "passed",
                _int(payload.get("passed")),
                failed,
                _int(payload.get("warnings")),
                errors,
                messages[:MAX_MESSAGES_PER_STAGE],
                max(0, len(messages) - MAX_MESSAGES_PER_STAGE),
            )
        )
    return results


def run_quality(run_dir: Path, run_id: str | None) -> RunQuality:
    from customer360.landing.contract import CHANNELS
    from customer360.progress import PROGRESS_FILE

    quality_dir = run_dir / QUALITY_FOLDER
    return RunQuality(
        channels=channel_rows(run_dir, run_id, list(CHANNELS)),
        stages=stage_checks(quality_dir),
        progress_path=run_dir / PROGRESS_FILE,
        quality_dir=quality_dir,
    )
