"""Activation end to end on a real published home: audiences enter and exit members across runs, a rerun
sends nothing twice, webhooks retry and dead-letter, consent and erasure are checked at send time, the
PostgreSQL list is kept in sync, and the dry run sends nothing.

No new pipeline run: each test works on a clone of the session's ``single_run`` home whose snapshot is
republished with a controlled audience (``_republish``: a copy of the current snapshot with a few rows of
``customer_audience_attributes`` changed and a new logical date, made current the way publish does).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from customer360.activation import activate, totals
from customer360.publish.snapshot import SNAPSHOT_DB, current_snapshot
from customer360.settings import Settings
from tests.support.postgres_databases import url_from_params
from tests.support.shared_runs import END, clone_home
from tests.support.webhook_server import WebhookServer

pytestmark = pytest.mark.slow

DAY1, DAY2 = END, END + timedelta(days=1)
AUDIENCES = """\
version: 7
destinations:
  files: {type: file}
  hook: {type: webhook, batch_size: 2}
  crm: {type: postgres, table: audience_list, allow_contact_fields: true}
audiences:
  - name: tier_a
    description: Value tier A customers who may be emailed.
    where:
      - {field: value_tier, op: eq, value: A}
    fields: [value_tier, lifecycle_stage]
    contact_fields: [email]
    consent: email
    destinations: [files, hook, crm]
"""
ATTRIBUTES = "customer_audience_attributes"
MEMBER = "value_tier = 'A', can_contact_email = true, is_deleted = false, is_at_contact_cap = false"


# --- helpers ---------------------------------------------------------------------------------------------


def _republish(settings: Settings, day: date, *updates: tuple[str, list], swap: bool = True) -> Path:
    """A copy of the current snapshot for ``day`` with ``updates`` (``set ... where ...``, params) applied to
    the audience mart; made current with an atomic rename of the ``current`` link unless ``swap`` is off."""
    source = current_snapshot(settings)
    target = source.parent / f"{day.isoformat()}__test{uuid.uuid4().hex[:8]}"
    shutil.copytree(source, target)
    with duckdb.connect(str(target / SNAPSHOT_DB)) as con:
        for statement, params in updates:
            con.execute(f"update {ATTRIBUTES} {statement}", params)
        con.execute(f"update {ATTRIBUTES} set as_of_date = ?", [day])
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(logical_date=day.isoformat(), run_id=f"test__{day}")
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    if swap:
        link = settings.published_dir / ".current.test"
        link.symlink_to(target.relative_to(settings.published_dir), target_is_directory=True)
        os.replace(link, settings.published_dir / "current")
    return target


def _settings(home: Path, **overrides: object) -> Settings:
    audiences = home / "test-audiences.yml"
    if not audiences.exists():
        audiences.write_text(AUDIENCES, encoding="utf-8")
    values = {
        "activation_file": audiences,
        "activation_webhook_url": "",
        "activation_postgres_url": "",
        "activation_webhook_backoff_seconds": 0.01,
        "activation_webhook_rate_per_second": 0.0,
        **overrides,
    }
    return Settings(home=home, **values)


def _state(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.activation_dir / "activation.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _events(server: WebhookServer, day: date) -> dict[str, dict]:
    """customer_key -> event of every event delivered for ``day``."""
    return {
        e["customer_key"]: e
        for r in server.delivered()
        if r.body["run_date"] == day.isoformat()
        for e in r.body["events"]
    }


def _file_keys(settings: Settings, day: date) -> list[str]:
    folder = settings.outbox_dir / "files" / "tier_a" / day.isoformat()
    with (folder / "members.csv").open(encoding="utf-8") as handle:
        return [row["customer_key"] for row in csv.DictReader(handle)]


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(single_run, tmp_path_factory) -> tuple[Path, list[str], dict[str, str]]:
    """A clone of the single run whose DAY1 snapshot has exactly six tier-A members (A1..A6) and two spare
    customers (S1, S2), all with an email in the restricted PII model; returns (home, keys, emails)."""
    settings, _ = single_run
    home = tmp_path_factory.mktemp("activation") / "prepared"
    clone = clone_home(settings, home)
    with duckdb.connect(str(clone.warehouse_path), read_only=True) as con:
        emails = dict(
            con.execute(
                "select customer_key, email from restricted.dim_customer_pii where email is not null "
                "order by customer_key limit 8"
            ).fetchall()
        )
    keys = sorted(emails)
    assert len(keys) == 8, "the single run has fewer than 8 customers with an email"
    _republish(
        clone,
        DAY1,
        ("set value_tier = 'C'", []),
        (f"set {MEMBER}, lifecycle_stage = 'repeat' where customer_key in (select unnest(?))", [keys[:6]]),
    )
    return home, keys, emails


@pytest.fixture
def home(prepared, tmp_path) -> tuple[Path, dict[str, str]]:
    """A fresh copy of the prepared home for one test, and the named keys (A1..A6, S1, S2)."""
    source, keys, _ = prepared
    target = tmp_path / "home"
    shutil.copytree(source, target, symlinks=True)
    names = {f"A{i + 1}": k for i, k in enumerate(keys[:6])} | {"S1": keys[6], "S2": keys[7]}
    return target, names


def _day2_changes(k: dict[str, str]) -> tuple[tuple[str, list], ...]:
    """A1 leaves tier A, S1 joins it, A2's lifecycle stage changes."""
    return (
        ("set value_tier = 'B' where customer_key = ?", [k["A1"]]),
        (f"set {MEMBER}, lifecycle_stage = 'repeat' where customer_key = ?", [k["S1"]]),
        ("set lifecycle_stage = 'loyal' where customer_key = ?", [k["A2"]]),
    )


# --- tests -----------------------------------------------------------------------------------------------


def test_given_two_runs_when_members_change_then_they_enter_exit_and_change_in_state_files_and_webhook(home):
    path, k = home
    with WebhookServer() as server:
        settings = _settings(path, activation_webhook_url=server.url)
        first = activate(settings, DAY1, "run-1")
        assert first.audiences["tier_a"]["members"] == 6 and first.audiences["tier_a"]["entered"] == 6
        assert set(_events(server, DAY1)) == {k[f"A{i}"] for i in range(1, 7)}

        _republish(settings, DAY2, *_day2_changes(k))
        second = activate(settings, DAY2, "run-2")

    counts = second.audiences["tier_a"]
    assert (counts["members"], counts["entered"], counts["exited"], counts["changed"]) == (6, 1, 1, 1)
    assert counts["previous_run_date"] == DAY1.isoformat()
    changes = dict(
        _state(settings, "select customer_key, change from audience_changes where run_date = ?", [DAY2])
    )
    assert changes == {k["A1"]: "exited", k["S1"]: "entered", k["A2"]: "changed"}
    events = _events(server, DAY2)
    assert {key: e["type"] for key, e in events.items()} == changes
    assert "fields" not in events[k["A1"]] and "contact" not in events[k["A1"]]  # an exit: the key alone
    assert events[k["A2"]]["fields"] == {"value_tier": "A", "lifecycle_stage": "loyal"}
    assert "contact" not in events[k["S1"]]  # the webhook is not allowed contact fields

    folder = settings.outbox_dir / "files" / "tier_a" / DAY2.isoformat()
    assert sorted(_file_keys(settings, DAY2)) == sorted(
        [k["A2"], k["A3"], k["A4"], k["A5"], k["A6"], k["S1"]]
    )
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == 6 and manifest["run_id"] == "run-2" and manifest["audience_file_version"] == 7
    assert manifest["checksum"] == hashlib.sha256((folder / "members.csv").read_bytes()).hexdigest()
    assert manifest["changes"] == {"entered": 1, "exited": 1, "changed": 1}
    assert manifest["columns"] == ["customer_key", "value_tier", "lifecycle_stage"]  # no contact field
    with duckdb.connect() as con:
        assert con.execute(
            "select count(*) from read_parquet(?)", [str(folder / "members.parquet")]
        ).fetchall() == [(6,)]
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_given_a_run_when_it_is_rerun_then_nothing_new_is_sent(home):
    path, _ = home
    with WebhookServer() as server:
        settings = _settings(path, activation_webhook_url=server.url)
        activate(settings, DAY1, "run-1")
        sent = len(server.requests)
        csv_file = settings.outbox_dir / "files" / "tier_a" / DAY1.isoformat() / "members.csv"
        written = csv_file.stat().st_mtime_ns
        again = activate(settings, DAY1, "run-1-retry")

    assert sent == 3  # six entries in batches of two
    assert len(server.requests) == sent
    assert csv_file.stat().st_mtime_ns == written
    by_type = {d["type"]: d for d in again.deliveries}
    assert by_type["file"]["status"] == "unchanged"
    assert by_type["webhook"]["already_delivered"] == 3 and by_type["webhook"]["batches_sent"] == 0
    assert totals(again)["webhook_events_sent"] == 0 and totals(again)["file_rows_written"] == 0
    assert _state(settings, "select count(*), count(distinct idempotency_key) from webhook_batches") == [
        (3, 3)
    ]


def test_given_a_webhook_that_fails_twice_when_activated_then_the_batch_is_retried_with_one_key(home):
    path, _ = home
    with WebhookServer(script=[503, 429, 200], retry_after="0") as server:
        settings = _settings(path, activation_webhook_url=server.url)
        result = activate(settings, DAY1, "run-1")

    statuses = [r.status for r in server.requests]
    assert statuses == [503, 429, 200, 200, 200]
    first_keys = {r.headers["Idempotency-Key"] for r in server.requests[:3]}
    assert len(first_keys) == 1  # the same batch, the same key, three times
    assert len({r.headers["Idempotency-Key"] for r in server.requests}) == 3
    webhook = next(d for d in result.deliveries if d["type"] == "webhook")
    assert webhook["retries"] == 2 and webhook["batches_sent"] == 3 and webhook["events_sent"] == 6
    assert _state(settings, "select batch_number, attempts, status from webhook_batches order by 1") == [
        (1, 3, "delivered"),
        (2, 1, "delivered"),
        (3, 1, "delivered"),
    ]
    assert _state(settings, "select count(*) from webhook_dead_letters") == [(0,)]
    assert result.warnings == []


def test_given_a_webhook_that_keeps_failing_when_activated_then_dead_letters_and_a_rerun_delivers(
    home,
):
    path, k = home
    with WebhookServer(script=[500]) as failing:
        settings = _settings(path, activation_webhook_url=failing.url, activation_webhook_max_attempts=3)
        result = activate(settings, DAY1, "run-1")
    assert len(failing.requests) == 9  # three batches, three attempts each
    assert any("dead-letter" in w for w in result.warnings) and result.failures == []
    dead = _state(settings, "select attempts, http_status, payload, resolved_at from webhook_dead_letters")
    assert len(dead) == 3 and {(a, s) for a, s, _, _ in dead} == {(3, 500)}
    payload_keys = {e["customer_key"] for _, _, p, _ in dead for e in json.loads(p)["events"]}
    assert payload_keys == {k[f"A{i}"] for i in range(1, 7)}  # nothing lost
    assert {d["status"] for d in result.deliveries if d["type"] == "file"} == {"written"}  # others delivered

    with WebhookServer() as healthy:
        settings = _settings(path, activation_webhook_url=healthy.url)
        retried = activate(settings, DAY1, "run-1-retry")
    assert len(healthy.requests) == 3 and retried.warnings == []
    assert _state(settings, "select count(*) from webhook_dead_letters where resolved_at is null") == [(0,)]
    assert _state(settings, "select distinct status from webhook_batches") == [("delivered",)]


def test_given_no_consent_or_the_contact_cap_when_activated_then_the_customer_is_never_sent(home):
    path, k = home
    with WebhookServer() as server:
        settings = _settings(path, activation_webhook_url=server.url)
        _republish(
            settings,
            DAY1,
            ("set can_contact_email = false where customer_key = ?", [k["A3"]]),
            ("set is_at_contact_cap = true where customer_key = ?", [k["A4"]]),
            ("set is_deleted = true where customer_key = ?", [k["A5"]]),
        )
        result = activate(settings, DAY1, "run-1")
    counts = result.audiences["tier_a"]
    assert (counts["matched"], counts["members"]) == (6, 3)
    assert (counts["excluded_no_consent"], counts["excluded_contact_cap"], counts["excluded_deleted"]) == (
        1,
        1,
        1,
    )
    kept = {k["A1"], k["A2"], k["A6"]}
    assert set(_events(server, DAY1)) == kept
    assert set(_file_keys(settings, DAY1)) == kept


def test_given_an_erasure_after_a_send_when_activated_again_then_the_person_only_exits(home):
    from customer360.privacy.erasure import ErasureRequest, erase

    path, k = home
    settings = _settings(path)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        email = con.execute(
            "select email from restricted.dim_customer_pii where customer_key = ?", [k["A1"]]
        ).fetchone()[0]
    with WebhookServer() as server:
        settings = _settings(path, activation_webhook_url=server.url)
        activate(settings, DAY1, "run-1")
        assert k["A1"] in _events(server, DAY1)

        erase(settings, ErasureRequest.new(email=email), compact=False)
        _republish(settings, DAY2)
        after = activate(settings, DAY2, "run-2")

    assert after.audiences["tier_a"]["exited"] >= 1
    day2 = _events(server, DAY2)
    assert day2[k["A1"]] == {"type": "exited", "customer_key": k["A1"]}  # removal only, no data
    assert k["A1"] not in _file_keys(settings, DAY2)
    assert _state(
        settings,
        "select count(*) from audience_members where run_date = ? and customer_key = ?",
        [DAY2, k["A1"]],
    ) == [(0,)]


def test_given_consent_withdrawn_and_an_erasure_between_computing_and_sending_then_neither_is_sent(
    home, monkeypatch
):
    import customer360.publish.snapshot as snapshot

    path, k = home
    settings = _settings(path)
    computed = current_snapshot(settings)
    # What an erasure (the row gone) and a withdrawn consent look like in the snapshot current at send time.
    at_send = _republish(
        settings,
        DAY1,
        ("set can_contact_email = false where customer_key = ?", [k["A2"]]),
        swap=False,
    )
    with duckdb.connect(str(at_send / SNAPSHOT_DB)) as con:
        con.execute(f"delete from {ATTRIBUTES} where customer_key = ?", [k["A1"]])
    answers = iter([computed, at_send])
    monkeypatch.setattr(snapshot, "current_snapshot", lambda s: next(answers))

    with WebhookServer() as server:
        settings = _settings(path, activation_webhook_url=server.url)
        result = activate(settings, DAY1, "run-1")

    assert result.audiences["tier_a"]["members"] == 6  # computed before: both were members then
    sent = set(_events(server, DAY1))
    assert sent == {k["A3"], k["A4"], k["A5"], k["A6"]}
    assert set(_file_keys(settings, DAY1)) == sent


@pytest.mark.postgres
def test_given_a_postgres_destination_when_members_change_then_the_table_is_upserted_and_deleted(
    home, postgres_database
):
    import psycopg2

    path, k = home
    url = url_from_params(postgres_database)
    settings = _settings(path, activation_postgres_url=url)

    def table() -> dict[str, dict]:
        with psycopg2.connect(url) as connection, connection.cursor() as cur:
            cur.execute("select customer_key, fields from public.audience_list where audience = 'tier_a'")
            return dict(cur.fetchall())

    first = activate(settings, DAY1, "run-1")
    crm = next(d for d in first.deliveries if d["type"] == "postgres")
    assert (crm["upserted"], crm["deleted"]) == (6, 0)
    rows = table()
    assert set(rows) == {k[f"A{i}"] for i in range(1, 7)}
    assert all(r["email"] and r["value_tier"] == "A" for r in rows.values())  # contact fields allowed here

    _republish(settings, DAY2, *_day2_changes(k))
    second = activate(settings, DAY2, "run-2")
    crm = next(d for d in second.deliveries if d["type"] == "postgres")
    assert (crm["upserted"], crm["deleted"]) == (2, 1)  # S1 entered, A2 changed; A1 exited
    rows = table()
    assert k["A1"] not in rows and k["S1"] in rows
    assert rows[k["A2"]]["lifecycle_stage"] == "loyal"

    again = activate(settings, DAY2, "run-2-retry")
    crm = next(d for d in again.deliveries if d["type"] == "postgres")
    assert (crm["upserted"], crm["deleted"], crm["rows"]) == (0, 0, 6)
    assert _state(settings, "select run_id, upserted, deleted from postgres_syncs order by synced_at") == [
        ("run-1", 6, 0),
        ("run-2", 2, 1),
        ("run-2-retry", 0, 0),
    ]


@pytest.mark.postgres
def test_given_an_audience_taken_off_the_postgres_list_when_activated_then_its_rows_are_removed(
    home, postgres_database
):
    import psycopg2

    path, _ = home
    url = url_from_params(postgres_database)
    settings = _settings(path, activation_postgres_url=url)

    def table() -> list[tuple]:
        with psycopg2.connect(url) as connection, connection.cursor() as cur:
            cur.execute("select audience, count(*) from public.audience_list group by 1 order by 1")
            return cur.fetchall()

    activate(settings, DAY1, "run-1")
    assert table() == [("tier_a", 6)]
    settings.activation_file.write_text(
        AUDIENCES.replace("version: 7", "version: 8")
        .replace("[files, hook, crm]", "[files, hook]")
        .replace("    contact_fields: [email]\n", ""),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "CUSTOMER360_HOME": str(path),
        "CUSTOMER360_ACTIVATION_FILE": str(settings.activation_file),
        "CUSTOMER360_ACTIVATION_POSTGRES_URL": url,
        "CUSTOMER360_ACTIVATION_WEBHOOK_URL": "",
    }
    out = subprocess.run(
        [sys.executable, "-m", "customer360.cli", "activate", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert any(
        line.split()[:3] == ["tier_a", "crm", "postgres"]
        and "would remove 6 rows from public.audience_list" in line
        for line in out.stdout.splitlines()
    ), out.stdout
    assert "postgres_removed 6" in out.stdout
    assert table() == [("tier_a", 6)]

    second = activate(settings, DAY1, "run-2")
    assert not second.failures
    assert [(r["audience"], r["destination"], r["status"], r["removed"]) for r in second.removals] == [
        ("tier_a", "crm", "removed", 6)
    ]
    assert totals(second)["postgres_removed"] == 6
    assert table() == []
    assert _state(settings, "select audience, run_id, deleted from postgres_removals") == [
        ("tier_a", "run-2", 6)
    ]
    assert activate(settings, DAY1, "run-3").removals == []
    assert _file_keys(settings, DAY1)  # files already delivered stay


def test_given_a_dry_run_when_run_from_the_cli_then_it_counts_what_would_go_and_sends_nothing(home):
    path, k = home
    with WebhookServer() as server:
        settings = _settings(path, activation_webhook_url=server.url)
        activate(settings, DAY1, "run-1")
        before = len(server.requests)
        _republish(settings, DAY2, *_day2_changes(k))
        env = {
            **os.environ,
            "CUSTOMER360_HOME": str(path),
            "CUSTOMER360_ACTIVATION_FILE": str(settings.activation_file),
            "CUSTOMER360_ACTIVATION_WEBHOOK_URL": server.url,
        }
        out = subprocess.run(
            [sys.executable, "-m", "customer360.cli", "activate", "--dry-run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        assert len(server.requests) == before

    lines = out.stdout.splitlines()
    assert "dry run: nothing sent, no state changed" in lines[0] and DAY2.isoformat() in lines[0]
    tier_a = next(line.split() for line in lines if line.startswith("tier_a ") and len(line.split()) == 9)
    assert tier_a[1:6] == ["6", "6", "1", "1", "1"]  # matched, members, entered, exited, changed
    assert any(
        "hook" in line and "3 events in 2 batches" in line and "would send 2" in line for line in lines
    )
    assert any("files" in line and "6 rows: would write" in line for line in lines)
    assert _state(settings, "select count(*) from audience_runs where run_date = ?", [DAY2]) == [(0,)]
    assert not (settings.outbox_dir / "files" / "tier_a" / DAY2.isoformat()).exists()
