"""What one ingest run did, per file and per channel (returned to the DAG and printed by the CLI)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Literal

FileStatus = Literal["loaded", "unchanged", "skipped_duplicate", "failed", "ignored"]
LOADED: FileStatus = "loaded"
UNCHANGED: FileStatus = "unchanged"
SKIPPED_DUPLICATE: FileStatus = "skipped_duplicate"
FAILED: FileStatus = "failed"  # refused: the file could not be read; the message names the reason
IGNORED: FileStatus = "ignored"  # not a landing file of the channel (folder, name, suffix, link): never read
STATUSES: tuple[FileStatus, ...] = (LOADED, UNCHANGED, SKIPPED_DUPLICATE, FAILED, IGNORED)


@dataclass
class FileLoadResult:
    """One landing file: what happened to it in this run.

    For every loaded file ``rows_read == rows_loaded + rows_quarantined``; a "row" is a record (CSV row,
    Parquet row) or, for channels with a nested array (web_orders), one JSON line (an order).
    """

    file: str  # path relative to the landing root
    load_date: date
    status: FileStatus
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    message: str = ""
    file_sha256: str | None = None
    file_bytes: int = 0
    seconds: float = 0.0

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined


@dataclass
class ChannelLoadResult:
    """Every file of one channel considered by ``load_channel`` for one ``as_of_date``."""

    channel: str
    as_of_date: date
    run_id: str
    files: list[FileLoadResult] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)  # schema-drift notes (extra/missing optional columns)
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def failures(self) -> list[FileLoadResult]:
        """Files that could not be loaded at all (unreadable, undecodable, required column missing)."""
        return [f for f in self.files if f.status == FAILED]

    @property
    def ignored(self) -> list[FileLoadResult]:
        """Files under the landing root that are not landing files of the channel (each with its reason)."""
        return [f for f in self.files if f.status == IGNORED]

    def count(self, status: FileStatus) -> int:
        return sum(1 for f in self.files if f.status == status)

    def summary(self) -> str:
        parts = ", ".join(f"{self.count(s)} {s}" for s in STATUSES if self.count(s))
        return (
            f"{self.channel}: {len(self.files)} file(s) ({parts or 'none found'}); "
            f"rows read {self.rows_read}, "
            f"loaded {self.rows_loaded}, quarantined {self.rows_quarantined}; {self.seconds:.1f}s"
        )

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["as_of_date"] = self.as_of_date.isoformat()
        for f in out["files"]:  # type: ignore[union-attr]
            f["load_date"] = f["load_date"].isoformat()
        out.update(
            rows_read=self.rows_read, rows_loaded=self.rows_loaded, rows_quarantined=self.rows_quarantined
        )
        return out
