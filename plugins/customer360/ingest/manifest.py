"""``audit.file_manifest``: one row per file per run, and what has been loaded so far.

The manifest is an append-only log: every run writes one row for every file it considered ('loaded',
'unchanged', 'skipped_duplicate', 'failed' or 'ignored'). The rows in ``raw.<channel>`` for a file come from
its latest 'loaded' row (view ``audit.file_manifest_current``).

Duplicates are decided by content and delivery order, never by file name: a file whose content (SHA-256)
was ever loaded under another name is a duplicate of the first delivery of that content, even after that
file was corrected (a stale copy never comes back); a new content under a name already loaded is a
correction that replaces that name's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from customer360.ingest.results import FileLoadResult
from customer360.ingest.schema import MANIFEST_CURRENT_VIEW, MANIFEST_TABLE

if TYPE_CHECKING:
    import duckdb


@dataclass
class ManifestState:
    """The current load of every file of one channel: source_file -> (sha256, rows_read)."""

    channel: str
    current: dict[str, tuple[str, int]] = field(default_factory=dict)
    # Every content ever loaded with records: sha256 -> the files that delivered it, first delivery first.
    delivered: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, channel: str) -> ManifestState:
        rows = con.execute(
            f"select source_file, file_sha256, rows_read from {MANIFEST_CURRENT_VIEW} where channel = ?",
            [channel],
        ).fetchall()
        state = cls(channel, {source_file: (sha, rows_read) for source_file, sha, rows_read in rows})
        history = con.execute(
            f"select file_sha256, source_file from {MANIFEST_TABLE} "
            "where channel = ? and status = 'loaded' and rows_read > 0 and file_sha256 is not null "
            "group by file_sha256, source_file order by min(ingested_at), source_file",
            [channel],
        ).fetchall()
        for sha, source_file in history:
            state.delivered.setdefault(sha, []).append(source_file)
        return state

    def sha_of(self, source_file: str) -> str | None:
        entry = self.current.get(source_file)
        return entry[0] if entry else None

    def duplicate_of(self, sha: str, source_file: str) -> str | None:
        """The first other file that delivered this content with records (empty files are not duplicates),
        whether or not that file has been corrected since."""
        others = [other for other in self.delivered.get(sha, []) if other != source_file]
        return others[0] if others else None

    def mark_loaded(self, source_file: str, sha: str, rows_read: int) -> None:
        self.current[source_file] = (sha, rows_read)
        if rows_read > 0 and source_file not in self.delivered.setdefault(sha, []):
            self.delivered[sha].append(source_file)


MANIFEST_ROWS = "_ingest_manifest_rows"


def record_files(
    con: duckdb.DuckDBPyConnection, channel: str, run_id: str, results: Sequence[FileLoadResult]
) -> None:
    """Append one manifest row per file, in one statement (inside the caller's transaction, if any)."""
    if not results:
        return
    import pyarrow as pa

    ingested_at = datetime.now(UTC).replace(tzinfo=None)
    rows = pa.table(
        {
            "load_date": pa.array([r.load_date for r in results], pa.date32()),
            "source_file": pa.array([r.file for r in results], pa.string()),
            "file_sha256": pa.array([r.file_sha256 for r in results], pa.string()),
            "file_bytes": pa.array([r.file_bytes for r in results], pa.int64()),
            "rows_read": pa.array([r.rows_read for r in results], pa.int64()),
            "rows_loaded": pa.array([r.rows_loaded for r in results], pa.int64()),
            "rows_quarantined": pa.array([r.rows_quarantined for r in results], pa.int64()),
            "status": pa.array([r.status for r in results], pa.string()),
            "message": pa.array([r.message for r in results], pa.string()),
        }
    )
    con.register(MANIFEST_ROWS, rows)
    con.execute(
        f"insert into {MANIFEST_TABLE} (channel, load_date, source_file, file_sha256, file_bytes, rows_read, "
        "rows_loaded, rows_quarantined, status, message, run_id, ingested_at) "
        "select $channel, load_date, source_file, file_sha256, file_bytes, rows_read, rows_loaded, "
        f"rows_quarantined, status, message, $run_id, cast($ingested_at as timestamp) from {MANIFEST_ROWS}",
        {"channel": channel, "run_id": run_id, "ingested_at": ingested_at.isoformat(sep=" ")},
    )
    con.unregister(MANIFEST_ROWS)
