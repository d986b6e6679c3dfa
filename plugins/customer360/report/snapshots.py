"""Which published snapshot a run's report reads.

A run's report shows the snapshot that run published: ``snapshots/<logical date>__<stamp>/`` whose manifest
names the run id. When that snapshot was pruned (only ``keep_snapshots`` are kept) the newest snapshot of
the same logical date is used, and failing that the current one, and the page says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from customer360.publish.snapshot import SNAPSHOT_DB, current_database, current_snapshot
from customer360.settings import Settings

MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class SnapshotRef:
    """One published snapshot, and how well it matches the run the report is for."""

    database: Path
    name: str
    manifest: dict[str, Any]
    matches_run: bool
    matches_date: bool

    @property
    def held_back(self) -> list[str]:
        return [str(n) for n in self.manifest.get("held_back", [])]

    def caveat(self, logical_date: date, run_id: str | None) -> str | None:
        """A sentence for the page when the snapshot is not the one this run published, else None."""
        if self.matches_run or (self.matches_date and not run_id):
            return None
        published_for = self.manifest.get("logical_date", "an unknown date")
        by_run = self.manifest.get("run_id", "an unknown run")
        if self.matches_date:
            return (
                f"The snapshot of run {run_id} is no longer kept; this page shows snapshot {self.name} "
                f"of the same date, published by run {by_run}."
            )
        return (
            f"No snapshot of {logical_date.isoformat()} is kept; this page shows snapshot {self.name}, "
            f"published for {published_for} by run {by_run}."
        )


def _manifest(snapshot_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((snapshot_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def snapshot_from_path(path: Path) -> SnapshotRef:
    """A snapshot named on the command line: a ``marts.duckdb`` file or the folder holding one."""
    database = path / SNAPSHOT_DB if path.is_dir() else path
    if not database.is_file():
        raise FileNotFoundError(f"no snapshot database at {database}: pass a marts.duckdb file or its folder")
    folder = database.resolve().parent
    return SnapshotRef(database, folder.name, _manifest(folder), matches_run=False, matches_date=False)


def find_snapshot(settings: Settings, logical_date: date, run_id: str | None) -> SnapshotRef | None:
    """The snapshot a report for ``logical_date`` / ``run_id`` reads, or None when nothing is published."""
    snapshots_dir = settings.published_dir / "snapshots"
    day = logical_date.isoformat()
    same_date = sorted(
        (p for p in snapshots_dir.glob(f"{day}__*") if (p / SNAPSHOT_DB).is_file()),
        reverse=True,  # the stamp after "__" sorts in time order: newest first
    )
    for folder in same_date:
        manifest = _manifest(folder)
        if run_id and manifest.get("run_id") == run_id:
            return SnapshotRef(
                folder / SNAPSHOT_DB, folder.name, manifest, matches_run=True, matches_date=True
            )
    if same_date:
        folder = same_date[0]
        return SnapshotRef(
            folder / SNAPSHOT_DB, folder.name, _manifest(folder), matches_run=False, matches_date=True
        )
    current = current_snapshot(settings)
    if current is not None and current_database(settings).is_file():
        return SnapshotRef(
            current / SNAPSHOT_DB, current.name, _manifest(current), matches_run=False, matches_date=False
        )
    return None
