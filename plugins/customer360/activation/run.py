"""One activation run: audiences from the published snapshot, then every destination, state kept.

Order: read and validate the audience file; attach the current published snapshot (read-only) and the
state; compute each audience's members and the day's changes (``members``); save them; then, for each
audience and each of its destinations, re-read the snapshot current at send time and deliver
(``files``, ``webhooks``, ``postgres_table``). A dry run does everything but write: the state is opened
read-only, nothing is sent, and the result says what would be.

A destination that cannot be reached (PostgreSQL down) is recorded as failed and the other destinations
still deliver; the run then fails with every failure listed, and its rerun sends only what is missing.
Webhook batches that end in the dead-letter table are warnings, not failures.

Last, PostgreSQL lists of audiences no longer sent to them (an audience or a destination taken out of the
file) are emptied of those audiences' rows (``postgres_removals``), and webhook receivers of such audiences
are told that every member exited (``webhook_retirements``); the result lists both in ``removals``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from customer360.activation import (
    files,
    members,
    postgres_removals,
    postgres_table,
    webhook_retirements,
    webhooks,
)
from customer360.activation.audiences import ATTRIBUTES_MART, AudienceFile, load_audiences
from customer360.activation.outgoing import PII, SEND_SNAPSHOT, sends_contact_fields
from customer360.activation.state import attach_state
from customer360.settings import Settings
from customer360.sql_strings import sql_string


class ActivationError(RuntimeError):
    """Activation could not start (no snapshot, wrong date) or a destination failed."""


@dataclass
class ActivationResult:
    run_date: date
    run_id: str
    dry_run: bool
    audience_file: str
    audience_file_version: int
    snapshot: str
    audiences: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    removals: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_date": self.run_date.isoformat(),
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "audience_file": self.audience_file,
            "audience_file_version": self.audience_file_version,
            "snapshot": self.snapshot,
            "audiences": self.audiences,
            "deliveries": self.deliveries,
            "removals": self.removals,
            "warnings": self.warnings,
            "failures": self.failures,
        }


def _snapshot(settings: Settings, run_date: date | None) -> tuple[Path, date]:
    """The current snapshot's folder and logical date; the run date must be the snapshot's."""
    from customer360.publish.snapshot import SNAPSHOT_DB, current_snapshot

    folder = current_snapshot(settings)
    if folder is None or not (folder / SNAPSHOT_DB).exists():
        raise ActivationError(
            f"nothing is published under {settings.published_dir}: run the pipeline first (customer360 run)"
        )
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    published = date.fromisoformat(manifest["logical_date"])
    if ATTRIBUTES_MART not in manifest.get("tables", {}):
        raise ActivationError(
            f"the published snapshot {folder} has no {ATTRIBUTES_MART}: rerun the analytics build and publish"
        )
    if run_date is not None and run_date != published:
        raise ActivationError(
            f"the current snapshot is for {published}, not {run_date}: activation sends what is published "
            "now, "
            f"so run it for {published} (or publish {run_date} first)"
        )
    return folder, published


def activate(
    settings: Settings,
    run_date: date | None,
    run_id: str,
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> ActivationResult:
    """Materialise the audiences for the current snapshot and deliver them (or, dry, say what would go)."""
    import duckdb

    from customer360.publish.snapshot import SNAPSHOT_DB, current_snapshot
    from customer360.warehouse import duckdb_config

    audiences = load_audiences(settings.activation_file, settings.dbt_project_dir)
    folder, run_date = _snapshot(settings, run_date)
    result = ActivationResult(
        run_date, run_id, dry_run, str(settings.activation_file), audiences.version, str(folder)
    )
    con = duckdb.connect(config=duckdb_config(settings))
    try:
        con.execute(f"attach {sql_string(folder / SNAPSHOT_DB)} as {members.SNAPSHOT} (read_only)")
        attach_state(con, settings, read_only=dry_run)
        counts = members.compute(con, audiences, run_date)
        if not dry_run:
            members.save(con, audiences, counts, run_date, run_id)
        result.audiences = {name: c.as_dict() for name, c in counts.items()}
        # Send time: the snapshot current now (an erasure may have rewritten it since the members were read).
        send_folder = current_snapshot(settings) or folder
        con.execute(f"attach {sql_string(send_folder / SNAPSHOT_DB)} as {SEND_SNAPSHOT} (read_only)")
        with ExitStack() as stack:
            if _needs_contact_fields(audiences):
                from customer360.warehouse import readable_copy

                pii_db = stack.enter_context(readable_copy(settings, ("restricted",)))
                con.execute(f"attach {sql_string(pii_db)} as {PII} (read_only)")
            _deliver_all(con, settings, audiences, counts, result, sleep)
        _remove_retired(con, settings, audiences, result)
        _tell_retired_webhooks(con, settings, audiences, result, sleep)
    finally:
        con.close()
    return result


def _needs_contact_fields(audiences: AudienceFile) -> bool:
    return any(
        sends_contact_fields(a, audiences.destinations[d])
        for a in audiences.audiences
        for d in a.destinations
    )


def _deliver_all(
    con,
    settings: Settings,
    audiences: AudienceFile,
    counts: dict[str, members.AudienceCounts],
    result: ActivationResult,
    sleep: Callable[[float], None],
) -> None:
    limiter = webhooks.RateLimiter(settings.activation_webhook_rate_per_second, sleep)
    for audience in audiences.audiences:
        for name in audience.destinations:
            destination = audiences.destinations[name]
            entry: dict[str, Any] = {"audience": audience.name, "destination": name, "type": destination.type}
            try:
                if destination.type == "file":
                    done = files.deliver(
                        con,
                        settings.outbox_dir,
                        destination,
                        audience,
                        counts[audience.name],
                        result.run_date,
                        result.run_id,
                        audiences.version,
                        result.dry_run,
                    )
                elif destination.type == "webhook":
                    done = webhooks.deliver(
                        con,
                        settings,
                        destination,
                        audience,
                        result.run_date,
                        result.run_id,
                        audiences.version,
                        result.dry_run,
                        limiter,
                        sleep,
                    )
                    if done.get("batches_dead_lettered"):
                        result.warnings.append(
                            f"activation: {done['batches_dead_lettered']} batch(es) of audience "
                            f"{audience.name} to {name} ended in the dead-letter table "
                            "(state.webhook_dead_letters); the next "
                            "run of this date retries them"
                        )
                else:
                    done = postgres_table.deliver(
                        con,
                        settings.activation_postgres_url,
                        destination,
                        audience,
                        result.run_date,
                        result.run_id,
                        result.dry_run,
                    )
            except Exception as exc:  # noqa: BLE001 - one destination's failure must not stop the others
                done = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                result.failures.append(
                    f"audience {audience.name} to {name} ({destination.type}): {done['error']}"
                )
            entry.update(done)
            result.deliveries.append(entry)


def _remove_retired(con, settings: Settings, audiences: AudienceFile, result: ActivationResult) -> None:
    """Empty the PostgreSQL lists of audiences the file no longer sends there; a failure fails the run."""
    try:
        result.removals = postgres_removals.remove(
            con,
            settings.activation_postgres_url,
            audiences,
            result.run_date,
            result.run_id,
            result.dry_run,
        )
    except Exception as exc:  # noqa: BLE001 - reported with the other failures; the next run retries
        result.failures.append(
            f"removing audiences no longer in {settings.activation_file} from PostgreSQL: "
            f"{type(exc).__name__}: {exc}"
        )


def _tell_retired_webhooks(
    con, settings: Settings, audiences: AudienceFile, result: ActivationResult, sleep: Callable[[float], None]
) -> None:
    """Tell webhook receivers of audiences the file no longer sends them that every member exited; a
    receiver that cannot be reached is a warning (the next run tells it again), like a dead letter."""
    limiter = webhooks.RateLimiter(settings.activation_webhook_rate_per_second, sleep)
    entries, warnings = webhook_retirements.tell(
        con, settings, audiences, result.run_date, result.run_id, result.dry_run, limiter, sleep
    )
    result.removals.extend(entries)
    result.warnings.extend(warnings)


def totals(result: ActivationResult) -> dict[str, int]:
    """Sums for the run summary: members, changes, rows and events sent, retries, dead letters."""
    sums = {"members": 0, "entered": 0, "exited": 0, "changed": 0}
    for counts in result.audiences.values():
        for key in sums:
            sums[key] += counts[key]
    sums["file_rows_written"] = sum(
        d.get("rows", 0)
        for d in result.deliveries
        if d["type"] == "file" and d.get("status") in ("written", "replaced")
    )
    sums["webhook_events_sent"] = sum(
        d.get("events_sent", 0) for d in result.deliveries if d["type"] == "webhook"
    )
    sums["webhook_batches_sent"] = sum(
        d.get("batches_sent", 0) for d in result.deliveries if d["type"] == "webhook"
    )
    sums["webhook_retries"] = sum(d.get("retries", 0) for d in result.deliveries if d["type"] == "webhook")
    sums["webhook_dead_letters"] = sum(
        d.get("batches_dead_lettered", 0) for d in result.deliveries if d["type"] == "webhook"
    )
    sums["postgres_upserted"] = sum(
        d.get("upserted", 0) for d in result.deliveries if d["type"] == "postgres"
    )
    sums["postgres_deleted"] = sum(d.get("deleted", 0) for d in result.deliveries if d["type"] == "postgres")
    # A dry run counts what it would remove or send, like its other totals.
    sums["postgres_removed"] = sum(r.get("removed", 0) for r in result.removals if r["type"] == "postgres")
    sums["webhook_exits_of_removed_audiences"] = sum(
        r.get("removed", 0)
        for r in result.removals
        if r["type"] == "webhook" and (r["status"] == "removed" or r["status"].startswith("would send"))
    )
    return sums
