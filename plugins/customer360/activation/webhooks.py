"""Webhook destination: the day's changes of an audience as batched HTTP POSTs.

Each batch is a JSON document (destination, audience, run date, run id, batch number, events) sent with an
``Idempotency-Key`` header: the SHA-256 of the destination, audience, run date and the batch's events, so
the same batch always carries the same key and a receiver can drop a repeat. ``state.webhook_batches``
records every batch; a rerun skips the batches already delivered and sends the others again.

Delivery: a 2xx answer delivers the batch. 429 and 5xx answers, timeouts and connection errors are retried
up to ``activation_webhook_max_attempts`` attempts in all, after ``Retry-After`` when the server sends one
(seconds or an HTTP date), else after an exponential backoff (``activation_webhook_backoff_seconds`` x
2^(attempt-1), at most ``activation_webhook_max_backoff_seconds``). Other 4xx answers are not retried. A
batch that still fails goes to ``state.webhook_dead_letters`` with its payload (contact values left out)
and the last error; the run goes on and says so in its warnings, and the next run of that date retries it
(the dead letter is then marked resolved). Requests are spaced to at most
``activation_webhook_rate_per_second`` per second.

Only the standard library (``urllib.request``): see DECISIONLOG.md, "Webhook delivery with urllib".
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from customer360.activation.audiences import Audience, Destination
from customer360.activation.outgoing import changes_sql, sends_contact_fields
from customer360.settings import Settings

if TYPE_CHECKING:
    import duckdb

USER_AGENT = "customer360-activation"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_seconds: float
    max_backoff_seconds: float
    timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            settings.activation_webhook_max_attempts,
            settings.activation_webhook_backoff_seconds,
            settings.activation_webhook_max_backoff_seconds,
            settings.activation_webhook_timeout_seconds,
        )

    def backoff(self, attempt: int) -> float:
        return min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))


class RateLimiter:
    """Spaces request starts at least ``1 / rate`` seconds apart (rate 0: no limit)."""

    def __init__(self, rate_per_second: float, sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self.sleep = sleep
        self.next_at = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            self.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


@dataclass
class Outcome:
    delivered: bool
    attempts: int
    http_status: int | None
    error: str | None
    waits: list[float] = field(default_factory=list)

    @property
    def retries(self) -> int:
        return self.attempts - 1


def retry_after_seconds(value: str | None, cap: float) -> float | None:
    """The wait a ``Retry-After`` header asks for (delta seconds or an HTTP date), at most ``cap``."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(0.0, min(cap, seconds))


def post_batch(
    url: str,
    body: bytes,
    idempotency_key: str,
    policy: RetryPolicy,
    limiter: RateLimiter,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """POST one batch with retries; never raises for an HTTP or network failure (the outcome says)."""
    status: int | None = None
    error: str | None = None
    waits: list[float] = []
    for attempt in range(1, policy.max_attempts + 1):
        limiter.wait()
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key,
                "User-Agent": USER_AGENT,
            },
        )
        retry_after = None
        try:
            with urllib.request.urlopen(request, timeout=policy.timeout_seconds) as response:
                status = response.status
            return Outcome(True, attempt, status, None, waits)
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
            retry_after = retry_after_seconds(exc.headers.get("Retry-After"), policy.max_backoff_seconds)
            exc.close()
            if status != 429 and status < 500:
                return Outcome(False, attempt, status, f"{error} (not retried: a client error)", waits)
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            status, error = None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        if attempt < policy.max_attempts:
            wait = retry_after if retry_after is not None else policy.backoff(attempt)
            waits.append(wait)
            sleep(wait)
    return Outcome(False, policy.max_attempts, status, f"{error} after {policy.max_attempts} attempts", waits)


def batches(events: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """The events cut into batches of at most ``size``, in order."""
    return [events[i : i + size] for i in range(0, len(events), size)]


def url_of(settings: Settings, destination: Destination) -> str:
    """The destination's own ``url``, else the project-wide webhook URL (empty when neither is set)."""
    return destination.options.get("url") or settings.activation_webhook_url


def batch_size_of(settings: Settings, destination: Destination) -> int:
    """The destination's own ``batch_size``, else the project-wide webhook batch size."""
    return destination.options.get("batch_size") or settings.activation_webhook_batch_size


def idempotency_key(destination: str, audience: str, run_date: date, events: list[dict[str, Any]]) -> str:
    content = json.dumps(
        {
            "destination": destination,
            "audience": audience,
            "run_date": run_date.isoformat(),
            "events": events,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(content.encode()).hexdigest()


def _events(con: duckdb.DuckDBPyConnection, audience: Audience, contact: bool) -> list[dict[str, Any]]:
    sql, params = changes_sql(audience, contact)
    events = []
    for key, change, fields, contact_fields in con.execute(sql, params).fetchall():
        event: dict[str, Any] = {"type": change, "customer_key": key}
        if fields is not None:
            event["fields"] = json.loads(fields)
        if contact_fields is not None:
            event["contact"] = json.loads(contact_fields)
        events.append(event)
    return events


def _without_contact(payload: dict[str, Any]) -> str:
    """The payload as the dead-letter table keeps it: contact fields named, their values not kept (personal
    data stays in the restricted model; the retry reads them again)."""
    events = [{**e, "contact": sorted(e["contact"])} if "contact" in e else e for e in payload["events"]]
    return json.dumps({**payload, "events": events, "contact_values": "not kept"})


def deliver(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    destination: Destination,
    audience: Audience,
    run_date: date,
    run_id: str,
    file_version: int,
    dry_run: bool,
    limiter: RateLimiter,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Send (or, in a dry run, count) the audience's changes of the day to one webhook."""
    url = url_of(settings, destination)
    events = _events(con, audience, sends_contact_fields(audience, destination))
    cut = batches(events, batch_size_of(settings, destination))
    keys = [idempotency_key(destination.name, audience.name, run_date, batch) for batch in cut]
    delivered = {
        row[0]
        for row in con.execute(
            "select idempotency_key from state.webhook_batches "
            "where destination = ? and status = 'delivered'",
            [destination.name],
        ).fetchall()
    }
    pending = [
        (n, batch, key)
        for n, (batch, key) in enumerate(zip(cut, keys, strict=True), 1)
        if key not in delivered
    ]
    result: dict[str, Any] = {
        "events": len(events),
        "batches": len(cut),
        "already_delivered": len(cut) - len(pending),
        "pending_events": sum(len(b) for _, b, _ in pending),
    }
    if not url:
        result["status"] = "skipped: no URL (CUSTOMER360_ACTIVATION_WEBHOOK_URL or the destination's url)"
        return result
    if dry_run:
        result["status"] = f"would send {len(pending)} batch(es)"
        return result
    policy = RetryPolicy.from_settings(settings)
    sent = dead = retries = events_sent = 0
    for number, batch, key in pending:
        payload = {
            "destination": destination.name,
            "audience": audience.name,
            "run_date": run_date.isoformat(),
            "run_id": run_id,
            "audience_file_version": file_version,
            "batch_number": number,
            "batches": len(cut),
            "events": batch,
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        outcome = post_batch(url, body, key, policy, limiter, sleep)
        retries += outcome.retries
        now = datetime.now(UTC).replace(tzinfo=None)
        status = "delivered" if outcome.delivered else "dead_letter"
        con.execute("delete from state.webhook_batches where idempotency_key = ?", [key])
        con.execute(
            "insert into state.webhook_batches values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                destination.name,
                audience.name,
                run_date,
                number,
                key,
                len(batch),
                status,
                outcome.attempts,
                outcome.http_status,
                outcome.error,
                run_id,
                now,
            ],
        )
        if outcome.delivered:
            sent += 1
            events_sent += len(batch)
            con.execute(
                "update state.webhook_dead_letters set resolved_at = ? where idempotency_key = ? "
                "and resolved_at is null",
                [now, key],
            )
        else:
            dead += 1
            con.execute("delete from state.webhook_dead_letters where idempotency_key = ?", [key])
            con.execute(
                "insert into state.webhook_dead_letters values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null)",
                [
                    key,
                    destination.name,
                    audience.name,
                    run_date,
                    number,
                    _without_contact(payload),
                    outcome.attempts,
                    outcome.http_status,
                    outcome.error,
                    now,
                ],
            )
    result.update(
        status="sent" if not dead else "dead letters",
        batches_sent=sent,
        batches_dead_lettered=dead,
        events_sent=events_sent,
        retries=retries,
    )
    return result
