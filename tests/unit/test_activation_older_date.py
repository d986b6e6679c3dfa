"""The daily run's activate task for a date older than the current snapshot: that date was not published
(publish keeps the newer snapshot current unless asked), so nothing is sent and the run does not fail."""

from __future__ import annotations

import json
from datetime import date

from customer360 import pipeline
from customer360.settings import Settings
from tests.support import published_snapshot as fixture


def test_given_a_newer_current_snapshot_when_an_older_date_activates_then_nothing_is_sent(tmp_path):
    # GIVEN the snapshot of 2026-11-24 is current
    settings = Settings(home=tmp_path)
    fixture.publish_fixture_snapshot(settings)
    # WHEN the run of an earlier date reaches its activate task (its publish kept the newer snapshot)
    result = pipeline.activate(date(2026, 11, 20), "older__2026-11-20", settings)
    # THEN nothing is sent, no state or outbox is written, and the run's progress says why
    assert result["totals"] is None
    assert result["warnings"] == [
        "activation: nothing sent for 2026-11-20: it was not published, and the current snapshot "
        "(2026-11-24) was activated by its own run"
    ]
    assert not settings.activation_dir.exists() and not settings.outbox_dir.exists()
    progress = settings.run_dir("2026-11-20") / "progress.jsonl"
    ends = [json.loads(line) for line in progress.read_text(encoding="utf-8").splitlines()]
    ends = [e for e in ends if e.get("stage") == "activate" and e.get("event") == "end"]
    assert ends and ends[-1]["detail"]["warnings"] == result["warnings"]
