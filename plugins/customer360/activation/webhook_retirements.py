"""Webhooks of audiences that left the audience file: the receiver is told every member exited.

A webhook receiver keeps the members it was sent (entries minus exits). An audience taken out of
``config/audiences.yml``, or a webhook destination taken out of an audience's ``destinations``, is no
longer delivered, so without this the receiver would keep targeting its last members forever. Each run
looks in ``state.webhook_batches`` for the (destination, audience) pairs delivered before and not retired
since (``state.webhook_retirements``); for each pair the file no longer sends, it posts an ``exited`` event
for every member of the audience's last run (``state.audience_members``), in batches marked
``"audience_retired": true``, with the same retries, rate limit and idempotency keys as a delivery.

Once every batch is delivered the retirement is recorded and never sent again (until the audience is
delivered there again). A batch that still fails is a warning, nothing is recorded, and the next run sends
the batches again with the same keys (a receiver drops the repeats). A destination that is no longer in the
file has no known URL (a destination's own ``url`` is not kept in the state), so its receiver cannot be
told: that is recorded as ``not told`` with a warning naming the audience. A dry run counts the events it
would send and writes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from customer360.activation import webhooks
from customer360.activation.audiences import AudienceFile
from customer360.activation.state import has_table
from customer360.settings import Settings

if TYPE_CHECKING:
    import duckdb

RETIRED = "audience_retired"


def retired(con: duckdb.DuckDBPyConnection, audiences: AudienceFile) -> list[tuple[str, str]]:
    """(destination, audience) delivered to a webhook, not retired since, and no longer in the file."""
    if not has_table(con, "webhook_batches"):
        return []
    retirements = (
        "select destination, audience, max(retired_at) as at from state.webhook_retirements group by all"
        if has_table(con, "webhook_retirements")
        else "select null::varchar as destination, null::varchar as audience, null::timestamp as at "
        "where false"
    )
    delivered = con.execute(
        f"""select b.destination, b.audience
        from (select destination, audience, max(updated_at) as at from state.webhook_batches
              where status = 'delivered' group by all) as b
        left join ({retirements}) as r using (destination, audience)
        where r.at is null or r.at < b.at
        order by b.audience, b.destination"""
    ).fetchall()
    defined = {
        (name, audience.name)
        for audience in audiences.audiences
        for name in audience.destinations
        if audiences.destinations[name].type == "webhook"
    }
    return [pair for pair in delivered if pair not in defined]


def _last_members(con: duckdb.DuckDBPyConnection, audience: str) -> tuple[date | None, list[str]]:
    """The audience's last run date in the state and its members then, in key order."""
    last = con.execute(
        "select max(run_date) from state.audience_runs where audience = ?", [audience]
    ).fetchone()[0]
    keys = con.execute(
        "select customer_key from state.audience_members where audience = ? and run_date = ? "
        "order by customer_key",
        [audience, last],
    ).fetchall()
    return last, [key for (key,) in keys]


def _url(settings: Settings, audiences: AudienceFile, destination: str) -> str | None:
    """The destination's URL while it is still in the file; None once it is gone (its URL is unknown)."""
    if destination not in audiences.destinations:
        return None
    return webhooks.url_of(settings, audiences.destinations[destination])


def _record(
    con: duckdb.DuckDBPyConnection,
    pair: tuple[str, str],
    run_date: date,
    run_id: str,
    events: int,
    status: str,
) -> None:
    con.execute(
        "insert into state.webhook_retirements values (?, ?, ?, ?, ?, ?, ?)",
        [*pair, run_date, run_id, events, status, datetime.now(UTC).replace(tzinfo=None)],
    )


def tell(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    audiences: AudienceFile,
    run_date: date,
    run_id: str,
    dry_run: bool,
    limiter: webhooks.RateLimiter,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Send the exits of every retired (destination, audience) pair; one entry per pair, and warnings."""
    entries: list[dict[str, Any]] = []
    warnings: list[str] = []
    policy = webhooks.RetryPolicy.from_settings(settings)
    for destination, audience in retired(con, audiences):
        last_run, keys = _last_members(con, audience)
        events = [{"type": "exited", "customer_key": key} for key in keys]
        entry: dict[str, Any] = {
            "audience": audience,
            "destination": destination,
            "type": "webhook",
            "removed": len(events),
        }
        entries.append(entry)
        url = _url(settings, audiences, destination)
        if url is None:
            entry["status"] = (
                "not told: the destination is no longer in the audience file (its URL is unknown)"
            )
            warnings.append(
                f"activation: the webhook receiver of {destination} still holds the {len(events)} "
                f"member(s) of audience {audience}: the destination left the audience file, so it could "
                "not be told they exited"
            )
            if not dry_run:
                _record(con, (destination, audience), run_date, run_id, 0, "not told")
            continue
        if not url:
            entry["status"] = "skipped: no URL (CUSTOMER360_ACTIVATION_WEBHOOK_URL or the destination's url)"
            continue
        size = webhooks.batch_size_of(settings, audiences.destinations[destination])
        # An audience whose last run had no members still gets one (empty) batch: the retirement is told.
        batches = webhooks.batches(events, size) or [[]]
        if dry_run:
            entry["status"] = f"would send {len(batches)} batch(es)"
            continue
        failed = None
        for number, batch in enumerate(batches, 1):
            payload = {
                "destination": destination,
                "audience": audience,
                "run_date": run_date.isoformat(),
                "run_id": run_id,
                "audience_file_version": audiences.version,
                RETIRED: True,
                "last_run_date": last_run.isoformat() if last_run else None,
                "batch_number": number,
                "batches": len(batches),
                "events": batch,
            }
            key = webhooks.idempotency_key(f"{destination}#retired", audience, last_run or run_date, batch)
            body = json.dumps(payload, separators=(",", ":")).encode()
            outcome = webhooks.post_batch(url, body, key, policy, limiter, sleep)
            if not outcome.delivered:
                failed = outcome.error
                break
        if failed:
            entry["status"] = f"failed: {failed}; the next run sends the exits again"
            entry["removed"] = 0
            warnings.append(
                f"activation: telling {destination} that audience {audience} was removed failed ({failed}); "
                "the next run sends its exits again"
            )
            continue
        entry["status"] = "removed"
        _record(con, (destination, audience), run_date, run_id, len(events), "told")
    return entries, warnings
