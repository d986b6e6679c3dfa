"""File destination: CSV and Parquet of each audience's members per day, in an outbox, with a manifest.

Layout: ``<outbox>/<destination>/<audience>/<run date>/members.csv``, ``members.parquet`` and
``manifest.json`` (run id, run date, audience file version, rows, SHA-256 of each file, the day's entered,
exited and changed counts). The folder is written aside (``.tmp-*``) and renamed into place, so a reader
polling the outbox sees a whole delivery or none. ``state.file_deliveries`` keeps the checksum of each
delivery: a rerun whose rows are the same leaves the folder alone; one whose rows changed (a corrected
rerun) replaces it whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer360.activation.audiences import Audience, Destination
from customer360.activation.members import AudienceCounts
from customer360.activation.outgoing import members_sql, sends_contact_fields
from customer360.publish.snapshot import fsync_path
from customer360.sql_strings import sql_string

if TYPE_CHECKING:
    import duckdb

MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def delivery_folder(outbox: Path, destination: str, audience: str, run_date: date) -> Path:
    return outbox / destination / audience / run_date.isoformat()


def deliver(
    con: duckdb.DuckDBPyConnection,
    outbox: Path,
    destination: Destination,
    audience: Audience,
    counts: AudienceCounts,
    run_date: date,
    run_id: str,
    file_version: int,
    dry_run: bool,
) -> dict[str, Any]:
    """Write (or, in a dry run, count) one audience's files; returns what was done."""
    sql, params = members_sql(audience, sends_contact_fields(audience, destination))
    con.execute(f"create or replace temp table _file_rows as {sql}", params)
    rows = con.execute("select count(*) from _file_rows").fetchone()[0]
    folder = delivery_folder(outbox, destination.name, audience.name, run_date)
    previous = con.execute(
        "select checksum from state.file_deliveries where destination = ? and audience = ? and run_date = ?",
        [destination.name, audience.name, run_date],
    ).fetchone()
    result: dict[str, Any] = {"rows": rows, "folder": str(folder)}
    if dry_run:
        result["status"] = "would check against the delivered file" if previous else "would write"
        return result
    formats = destination.options.get("formats", ["csv", "parquet"])
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".tmp-{run_date.isoformat()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        files: dict[str, dict[str, Any]] = {}
        csv_path = staging / "members.csv"
        con.execute(f"copy _file_rows to {sql_string(csv_path)} (format csv, header)")
        checksum = _sha256(csv_path)
        if previous and previous[0] == checksum and (folder / MANIFEST).exists():
            result["status"] = "unchanged"  # the same rows were delivered for this date: nothing new to send
            return result
        if "csv" in formats:
            files["members.csv"] = {"sha256": checksum, "bytes": csv_path.stat().st_size}
        else:
            csv_path.unlink()
        if "parquet" in formats:
            parquet_path = staging / "members.parquet"
            con.execute(f"copy _file_rows to {sql_string(parquet_path)} (format parquet)")
            files["members.parquet"] = {"sha256": _sha256(parquet_path), "bytes": parquet_path.stat().st_size}
        manifest = {
            "destination": destination.name,
            "audience": audience.name,
            "run_date": run_date.isoformat(),
            "run_id": run_id,
            "audience_file_version": file_version,
            "rows": rows,
            "checksum": checksum,
            "columns": [d[0] for d in con.execute("select * from _file_rows limit 0").description],
            "files": files,
            "changes": {"entered": counts.entered, "exited": counts.exited, "changed": counts.changed},
            "written_at": datetime.now(UTC).isoformat(),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        for path in staging.iterdir():
            fsync_path(path)
        fsync_path(staging)
        _swap_in(staging, folder)
        result["status"] = "replaced" if previous else "written"
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    con.execute(
        "delete from state.file_deliveries where destination = ? and audience = ? and run_date = ?",
        [destination.name, audience.name, run_date],
    )
    con.execute(
        "insert into state.file_deliveries values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            destination.name,
            audience.name,
            run_date,
            run_id,
            str(folder),
            rows,
            checksum,
            datetime.now(UTC).replace(tzinfo=None),
        ],
    )
    return result


def _swap_in(staging: Path, folder: Path) -> None:
    """Rename the staged folder into place; an older delivery of the date is moved aside first and removed
    after, so the folder name always holds a whole delivery."""
    old = None
    if folder.exists():
        old = folder.parent / f".old-{folder.name}-{uuid.uuid4().hex[:8]}"
        os.rename(folder, old)
    os.rename(staging, folder)
    fsync_path(folder.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
