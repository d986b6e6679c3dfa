"""Audiences taken out of the audience file: their webhook receivers are told every member exited, once; a
receiver that fails is told again by the next run with the same keys; a dry run only counts.

No pipeline run: the state is an in-memory DuckDB with the activation DDL and what a previous run would have
recorded (two audiences delivered to one webhook); the receiver is a local HTTP server."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from customer360.activation.audiences import Audience, AudienceFile, Destination
from customer360.activation.run import ActivationResult, totals
from customer360.activation.state import attach_state
from customer360.activation.webhook_retirements import RETIRED, retired, tell
from customer360.activation.webhooks import RateLimiter
from customer360.settings import Settings
from tests.support.webhook_server import WebhookServer

DAY1, DAY2, DAY3 = date(2026, 12, 5), date(2026, 12, 6), date(2026, 12, 7)
MEMBERS = {"tier_a": ["a1", "a2", "a3"], "churn": ["c1", "c2"]}


def _audience(name: str, *destinations: str) -> Audience:
    return Audience(name, f"{name} test audience", (), ("value_tier",), (), "none", destinations)


def _file(*audiences: Audience, hook: Destination | None) -> AudienceFile:
    destinations = {"files": Destination("files", "file")}
    if hook is not None:
        destinations[hook.name] = hook
    return AudienceFile(Path("audiences.yml"), 3, destinations, audiences)


@pytest.fixture
def state(tmp_path) -> duckdb.DuckDBPyConnection:
    """tier_a ran on DAY1 (a1, a2, a9) and DAY2 (a1, a2, a3), churn on DAY2; both delivered to ``hook``."""
    con = duckdb.connect()
    # No state file in this home: a read-only attach gives the in-memory state with the current DDL.
    attach_state(con, Settings(home=tmp_path), read_only=True)
    runs = {DAY1: {"tier_a": ["a1", "a2", "a9"]}, DAY2: MEMBERS}
    for day, audiences in runs.items():
        for audience, keys in audiences.items():
            con.execute(
                "insert into state.audience_runs values (?, ?, 'run', 3, ?, ?, 0, 0, 0, 0, 0, 0, ?)",
                [day, audience, len(keys), len(keys), datetime(2026, 12, 6)],
            )
            for key in keys:
                con.execute(
                    "insert into state.audience_members values (?, ?, ?, '{}', 'h', 'run')",
                    [day, audience, key],
                )
            con.execute(
                "insert into state.webhook_batches "
                "values ('hook', ?, ?, 1, ?, ?, 'delivered', 1, 200, null, 'run', ?)",
                [audience, day, f"key-{audience}-{day}", len(keys), datetime(2026, 12, 6, 3)],
            )
    yield con
    con.close()


def _settings(tmp_path: Path, url: str = "") -> Settings:
    return Settings(
        home=tmp_path,
        activation_webhook_url=url,
        activation_webhook_batch_size=2,
        activation_webhook_max_attempts=2,
        activation_webhook_backoff_seconds=0.0,
        activation_webhook_rate_per_second=0.0,
    )


def _tell(state, settings: Settings, audiences: AudienceFile, run_id: str, dry_run: bool = False):
    return tell(state, settings, audiences, DAY3, run_id, dry_run, RateLimiter(0), sleep=lambda _: None)


def test_given_an_audience_removed_from_the_file_when_activated_then_its_receiver_gets_every_exit_once(
    state, tmp_path
):
    hook = Destination("hook", "webhook")
    audiences = _file(_audience("churn", "hook"), hook=hook)  # tier_a removed
    with WebhookServer() as server:
        entries, warnings = _tell(state, _settings(tmp_path, server.url), audiences, "run-3")
        assert _tell(state, _settings(tmp_path, server.url), audiences, "run-4") == ([], [])

    assert warnings == []
    assert [(e["audience"], e["destination"], e["status"], e["removed"]) for e in entries] == [
        ("tier_a", "hook", "removed", 3)
    ]
    bodies = [r.body for r in server.requests]
    assert [(b["batch_number"], b["batches"]) for b in bodies] == [(1, 2), (2, 2)]  # batch_size 2
    assert all(b[RETIRED] is True and b["audience"] == "tier_a" for b in bodies)
    assert all(b["last_run_date"] == DAY2.isoformat() and b["run_date"] == DAY3.isoformat() for b in bodies)
    events = [e for b in bodies for e in b["events"]]
    assert events == [
        {"type": "exited", "customer_key": key} for key in ("a1", "a2", "a3")
    ]  # not a9: DAY1 only
    assert state.execute(
        "select destination, audience, run_date, run_id, events, status from state.webhook_retirements"
    ).fetchall() == [("hook", "tier_a", DAY3, "run-3", 3, "told")]


def test_given_a_webhook_taken_off_an_audience_when_activated_then_only_that_audience_is_retired(
    state, tmp_path
):
    hook = Destination("hook", "webhook", options={"url": "placeholder"})
    audiences = _file(_audience("tier_a", "files"), _audience("churn", "hook"), hook=hook)
    assert retired(state, audiences) == [("hook", "tier_a")]

    still_sent = _file(_audience("tier_a", "hook"), _audience("churn", "hook"), hook=hook)
    assert retired(state, still_sent) == []


def test_given_a_receiver_that_fails_when_activated_then_nothing_is_recorded_and_the_next_run_tells_it_again(
    state, tmp_path
):
    audiences = _file(_audience("churn", "hook"), hook=Destination("hook", "webhook"))
    with WebhookServer(script=[500]) as failing:
        entries, warnings = _tell(state, _settings(tmp_path, failing.url), audiences, "run-3")
    assert entries[0]["status"].startswith("failed: HTTP 500") and entries[0]["removed"] == 0
    assert len(warnings) == 1 and "tier_a" in warnings[0] and "next run" in warnings[0]
    assert state.execute("select count(*) from state.webhook_retirements").fetchone() == (0,)

    with WebhookServer() as healthy:
        entries, warnings = _tell(state, _settings(tmp_path, healthy.url), audiences, "run-4")
    assert [e["status"] for e in entries] == ["removed"] and warnings == []
    first_keys = {r.headers["Idempotency-Key"] for r in failing.requests}
    assert first_keys <= {
        r.headers["Idempotency-Key"] for r in healthy.requests
    }  # the receiver can drop repeats


def test_given_a_dry_run_when_activated_then_it_counts_the_exits_and_sends_nothing(state, tmp_path):
    audiences = _file(_audience("churn", "hook"), hook=Destination("hook", "webhook"))
    with WebhookServer() as server:
        entries, _ = _tell(state, _settings(tmp_path, server.url), audiences, "dry", dry_run=True)
    assert server.requests == []
    assert [(e["audience"], e["status"], e["removed"]) for e in entries] == [
        ("tier_a", "would send 2 batch(es)", 3)
    ]
    result = ActivationResult(DAY3, "dry", True, "audiences.yml", 3, "snapshot", removals=entries)
    assert totals(result)["webhook_exits_of_removed_audiences"] == 3
    assert state.execute("select count(*) from state.webhook_retirements").fetchone() == (0,)


def test_given_the_webhook_destination_gone_from_the_file_when_activated_then_a_warning_says_it_was_not_told(
    state, tmp_path
):
    audiences = _file(_audience("churn", "files"), hook=None)  # both audiences off the hook, hook deleted

    entries, warnings = _tell(state, _settings(tmp_path, "http://127.0.0.1:9/never"), audiences, "run-3")

    assert [(e["audience"], e["status"].split(":")[0]) for e in entries] == [
        ("churn", "not told"),
        ("tier_a", "not told"),
    ]
    assert len(warnings) == 2 and "could not be told" in warnings[0]
    assert _tell(state, _settings(tmp_path), audiences, "run-4") == ([], [])  # warned once, recorded
