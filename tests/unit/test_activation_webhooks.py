"""Webhook delivery against a local server that fails on purpose: retries, Retry-After, backoff, no retry on
a client error, the rate limit."""

from __future__ import annotations

import json

from customer360.activation.webhooks import RateLimiter, RetryPolicy, post_batch, retry_after_seconds
from tests.support.webhook_server import WebhookServer

POLICY = RetryPolicy(max_attempts=4, backoff_seconds=0.5, max_backoff_seconds=30.0, timeout_seconds=5.0)
BODY = json.dumps({"events": [{"type": "entered", "customer_key": "k1"}]}).encode()


def _post(server: WebhookServer, policy: RetryPolicy = POLICY) -> tuple[object, list[float]]:
    waits: list[float] = []
    outcome = post_batch(server.url, BODY, "key-1", policy, RateLimiter(0), sleep=waits.append)
    return outcome, waits


def test_given_a_429_with_retry_after_when_posted_then_the_wait_is_the_servers():
    with WebhookServer(script=[429, 200], retry_after="3") as server:
        outcome, waits = _post(server)
    assert outcome.delivered and outcome.attempts == 2 and outcome.http_status == 200
    assert waits == [3.0]
    assert [r.headers["Idempotency-Key"] for r in server.requests] == ["key-1", "key-1"]
    assert server.requests[0].body == json.loads(BODY)


def test_given_5xx_without_retry_after_when_posted_then_the_backoff_doubles():
    with WebhookServer(script=[503, 502, 200]) as server:
        outcome, waits = _post(server)
    assert outcome.delivered and outcome.retries == 2
    assert waits == [0.5, 1.0]


def test_given_a_server_that_always_fails_when_posted_then_it_gives_up_after_the_last_attempt():
    with WebhookServer(script=[500]) as server:
        outcome, waits = _post(server)
    assert not outcome.delivered and outcome.attempts == 4 and len(server.requests) == 4
    assert outcome.http_status == 500 and "after 4 attempts" in outcome.error
    assert waits == [0.5, 1.0, 2.0]


def test_given_a_client_error_when_posted_then_it_is_not_retried():
    with WebhookServer(script=[400, 200]) as server:
        outcome, waits = _post(server)
    assert not outcome.delivered and outcome.attempts == 1 and waits == []
    assert "not retried" in outcome.error


def test_given_no_server_when_posted_then_the_connection_error_is_retried_and_reported():
    with WebhookServer() as server:
        url = server.url
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=2, backoff_seconds=0.1, max_backoff_seconds=1, timeout_seconds=2)
    outcome = post_batch(url, BODY, "k", policy, RateLimiter(0), sleep=waits.append)
    assert not outcome.delivered and outcome.http_status is None and waits == [0.1]
    assert "URLError" in outcome.error or "Connection" in outcome.error


def test_given_retry_after_as_a_date_or_too_long_then_it_is_read_and_capped():
    assert retry_after_seconds("120", cap=30) == 30
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", cap=30) == 0.0  # in the past
    assert retry_after_seconds("soon", cap=30) is None and retry_after_seconds(None, cap=30) is None


def test_given_a_rate_limit_when_requests_follow_each_other_then_they_are_spaced():
    waits: list[float] = []
    limiter = RateLimiter(rate_per_second=2, sleep=waits.append)
    for _ in range(3):
        limiter.wait()
    # The recording sleep does not pass time: the 2nd request waits half a second, the 3rd a whole one.
    assert len(waits) == 2 and 0.4 < waits[0] <= 0.5 and 0.9 < waits[1] <= 1.0
